"""``python -m core.cli``: the same as the ``cwdesk`` command."""

from core.cli.app import launch

launch()
