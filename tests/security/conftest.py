"""The window fixtures, shared with the GUI tests."""

from tests.gui.conftest import keyring_backend, make_window, settings, workspace  # noqa: F401
