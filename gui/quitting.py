"""What quitting asks about, and which windows are the main window's: the dialogs and
message boxes it opened (each gets the Quit shortcut too), those with typed work that quitting
would lose, and the questions asked over the one in front."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget


def ours(window: QWidget, main: QWidget) -> bool:
    """A window `main` opened (a dialog, a message box), however deep."""
    parent = window.parentWidget()
    while parent is not None:
        if parent is main:
            return True
        parent = parent.parentWidget()
    return False


def open_dialog_widgets(main: QWidget) -> list[tuple[QDialog, str]]:
    """The dialogs of `main` on screen, oldest first, with their titles."""
    return [
        (widget, widget.windowTitle())
        for widget in QApplication.topLevelWidgets()
        if isinstance(widget, QDialog) and widget.isVisible() and ours(widget, main)
    ]


def open_dialogs(main: QWidget) -> list[tuple[str, Callable[[], object] | None]]:
    """Each open dialog's title and its `unsaved_work` (what typed in it is lost), if any."""
    return [(title, getattr(d, "unsaved_work", None)) for d, title in open_dialog_widgets(main)]


def typed_in(main: QWidget) -> list[str]:
    """The titles of the open dialogs holding typed work."""
    return [title for title, what in open_dialogs(main) if callable(what) and what()]


def close_dialogs(main: QWidget) -> None:
    """Quitting: every dialog of `main` goes (one waiting for an answer as well: its work is
    bounded and its answer is no longer shown)."""
    for dialog in reversed([d for d, _ in open_dialog_widgets(main)]):
        dialog.done(QDialog.DialogCode.Rejected)


def ask(main: QWidget, title: str, text: str) -> bool:
    """A Yes/No question about quitting, over the dialog in front if one is: True for Yes."""
    modal = QApplication.activeModalWidget()
    answer = QMessageBox.question(modal if modal is not None else main, title, text)
    return answer == QMessageBox.StandardButton.Yes
