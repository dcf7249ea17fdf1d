"""Performance benchmark of the desktop app against a bare PySide6 window: ``python -m bench``.

Not a test suite: it measures this machine once (medians over several runs, min and max too),
prints a Markdown table and exits non-zero when a target is missed. See docs/performance.md.
"""
