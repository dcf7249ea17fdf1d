"""At 800×600: the window fits, every text can be read, the form keeps room, outcomes go away.

A tester on a real 800×600 screen saw the form squeezed to two rows by the Created instance and
Problem panels, which could not be closed, a success left under a later failure, and messages
cut off mid-sentence. These tests look at the window at that size the way that tester did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import keyring.backends.fail
import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QScreen
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMenu,
    QScrollArea,
    QTabWidget,
)
from pytestqt.qtbot import QtBot

from core.outcomes import InstanceRow
from core.sandbox import SandboxServer
from core.spec.connectors import CONNECTORS
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from gui.accounts.dialog import AddAccountDialog
from gui.instances.events_dialog import EventsDialog
from gui.main_window import MainWindow
from gui.widgets.basic import FRAME_ALLOWANCE, fit_to_screen
from tests.gui.clipping import assert_readable, clipped_controls
from tests.gui.helpers import (
    SEED_FORM,
    choose,
    fill,
    idle,
    label_text,
    set_checked,
    tip_text,
    type_into,
    widget,
)
from tests.gui.test_contrast import scheme  # noqa: F401 - the fixture: both schemes

SMALL = QSize(800, 600)
# What the form's scroll area must keep at 800×600 with an outcome shown: several rows.
FORM_MIN_HEIGHT = 150


@pytest.fixture
def no_keyring_window(
    make_window: Callable[..., MainWindow], sandbox: SandboxServer, tmp_path: Path
) -> MainWindow:
    """The sandbox window with no password manager: the longest messages the app shows."""
    ws = Workspace(Vault(keyring.backends.fail.Keyring(), timeout=1.0), RecordsStore(tmp_path))
    window = make_window(sandbox, ws)
    window.resize(SMALL)
    return window


def form_height(window: MainWindow) -> int:
    scroll = window.create_tab.form.parentWidget()
    assert scroll is not None
    area = scroll.parentWidget()
    assert isinstance(area, QScrollArea)
    return area.viewport().height()


def click_tab(qtbot: QtBot, window: MainWindow, index: int) -> None:
    tabs = window.findChild(QTabWidget, "tabs")
    assert tabs is not None
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: tabs.currentIndex() == index, timeout=1000)


def create(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.create_tab.busy, timeout=5000)


def create_success_then_failure(qtbot: QtBot, window: MainWindow) -> None:
    fill(qtbot, window, SEED_FORM)
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    type_into(qtbot, window, "name", "Second instance")
    type_into(qtbot, window, "username", "reject")  # the sandbox's ConnectWise refuses it
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)


def test_the_window_fits_a_small_screen(
    make_window: Callable[..., MainWindow], sandbox: SandboxServer
) -> None:
    window = make_window(sandbox)
    available = window.screen().availableGeometry()
    # The first size (980×860) is cut to the screen (the offscreen screen is 800×800).
    assert window.width() <= available.width()
    assert window.height() <= available.height()
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert minimum.width() <= SMALL.width() and minimum.height() <= SMALL.height()
    window.resize(SMALL)
    assert window.size() == SMALL


def test_every_text_can_be_read_at_800x600(qtbot: QtBot, no_keyring_window: MainWindow) -> None:
    window = no_keyring_window
    for index in (1, 2, 0):
        click_tab(qtbot, window, index)
        assert_readable(qtbot, window)

    fill(qtbot, window, SEED_FORM)
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    assert "No password manager is available" in label_text(window, "token_storage")
    assert_readable(qtbot, window)
    assert form_height(window) >= FORM_MIN_HEIGHT
    # The whole message is also in the tooltip, for when it is cut anyway.
    storage = widget(window, "token_storage")
    assert tip_text(storage.toolTip()) == label_text(window, "token_storage")

    type_into(qtbot, window, "name", "Second instance")  # a new name: no same-name question
    type_into(qtbot, window, "username", "reject")
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)
    assert "ConnectWise rejected the login" in label_text(window, "error_provider")
    assert_readable(qtbot, window)
    assert form_height(window) >= FORM_MIN_HEIGHT

    for index in (1, 2):
        click_tab(qtbot, window, index)
        assert_readable(qtbot, window)


def test_a_failure_after_a_success_shows_only_the_failure(
    qtbot: QtBot, no_keyring_window: MainWindow
) -> None:
    window = no_keyring_window
    create_success_then_failure(qtbot, window)
    assert widget(window, "error_panel").isVisible()
    assert not widget(window, "result_panel").isVisible()


def test_a_success_after_a_failure_shows_only_the_success(
    qtbot: QtBot, no_keyring_window: MainWindow
) -> None:
    window = no_keyring_window
    fill(qtbot, window, {**SEED_FORM, "username": "reject"})
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)
    type_into(qtbot, window, "username", "integrator")
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    assert not widget(window, "error_panel").isVisible()


def test_the_close_buttons_dismiss_the_panels(qtbot: QtBot, no_keyring_window: MainWindow) -> None:
    window = no_keyring_window
    fill(qtbot, window, SEED_FORM)
    create(qtbot, window)
    result = widget(window, "result_panel")
    qtbot.waitUntil(result.isVisible, timeout=5000)
    before = form_height(window)
    close = widget(window, "result_close_button")
    assert close.accessibleName() == "Close the result"
    assert "Esc" in close.toolTip()
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not result.isVisible()
    qtbot.waitUntil(lambda: form_height(window) > before, timeout=1000)  # the form gets it back

    type_into(qtbot, window, "name", "Second instance")  # a new name: no same-name question
    type_into(qtbot, window, "username", "reject")
    create(qtbot, window)
    error = widget(window, "error_panel")
    qtbot.waitUntil(error.isVisible, timeout=5000)
    close = widget(window, "error_close_button")
    assert close.accessibleName() == "Close the problem"
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not error.isVisible()
    assert not widget(window, "outcome_area").isVisible()


def test_esc_in_a_panel_dismisses_it_and_only_there(
    qtbot: QtBot, no_keyring_window: MainWindow
) -> None:
    window = no_keyring_window
    fill(qtbot, window, SEED_FORM)
    create(qtbot, window)
    result = widget(window, "result_panel")
    qtbot.waitUntil(result.isVisible, timeout=5000)
    name = widget(window, "name")
    name.setFocus()
    qtbot.keyClick(name, Qt.Key.Key_Escape)  # focus in the form: the result stays
    assert result.isVisible()
    copy_id = widget(window, "copy_id_button")
    copy_id.setFocus()
    qtbot.waitUntil(copy_id.hasFocus, timeout=1000)
    qtbot.keyClick(copy_id, Qt.Key.Key_Escape)
    assert not result.isVisible()

    type_into(qtbot, window, "name", "Second instance")  # a new name: no same-name question
    type_into(qtbot, window, "username", "reject")
    create(qtbot, window)
    error = widget(window, "error_panel")
    qtbot.waitUntil(error.isVisible, timeout=5000)
    message = widget(window, "error_message")
    qtbot.mouseClick(message, Qt.MouseButton.LeftButton)  # a selectable label takes focus
    qtbot.waitUntil(message.hasFocus, timeout=1000)
    qtbot.keyClick(message, Qt.Key.Key_Escape)
    assert not error.isVisible()


def test_a_new_create_hides_the_last_outcome(qtbot: QtBot, no_keyring_window: MainWindow) -> None:
    window = no_keyring_window
    create_success_then_failure(qtbot, window)
    type_into(qtbot, window, "name", "Third instance")
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    # Pressed: until the answer comes, neither the old failure nor an old success is shown.
    assert window.create_tab.busy
    assert not widget(window, "error_panel").isVisible()
    assert not widget(window, "result_panel").isVisible()
    qtbot.waitUntil(lambda: not window.create_tab.busy, timeout=5000)


# A context menu is a popup: the offscreen platform says it cannot raise it or grab the keyboard
# for it (real platforms can), which says nothing about this code.
@pytest.mark.qt_log_ignore(
    r"This plugin does not support raise\(\)", "This plugin does not support grabbing"
)
def test_copy_message_copies_the_whole_text(qtbot: QtBot, no_keyring_window: MainWindow) -> None:
    window = no_keyring_window
    fill(qtbot, window, {**SEED_FORM, "username": "reject"})
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)
    clipboard = QApplication.clipboard()
    clipboard.clear()
    qtbot.mouseClick(widget(window, "error_copy_button"), Qt.MouseButton.LeftButton)
    copied = clipboard.text()
    for name in ("error_title", "error_message", "error_provider", "error_request_id"):
        assert label_text(window, name) in copied

    # Right-click on a message: "Copy message" copies that one message.
    message = widget(window, "error_message")
    assert isinstance(message, QLabel)
    clipboard.clear()
    menus: list[QMenu] = []

    def pick() -> bool:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            return False
        menus.append(menu)
        (action,) = [a for a in menu.actions() if a.text().replace("&", "") == "Copy message"]
        menu.setActiveAction(action)
        qtbot.keyClick(menu, Qt.Key.Key_Return)
        return True

    def answer() -> None:
        if not pick():
            QTimer.singleShot(10, answer)

    QTimer.singleShot(0, answer)
    # What the platform sends for a right-click (QTest's clicks go to the widget directly,
    # past the window that turns a right-click into a context-menu event).
    where = QPoint(5, 5)
    QApplication.sendEvent(
        message,
        QContextMenuEvent(QContextMenuEvent.Reason.Mouse, where, message.mapToGlobal(where)),
    )
    qtbot.waitUntil(lambda: clipboard.text() == message.text(), timeout=3000)
    assert menus


def test_add_account_dialog_grows_with_its_errors(qtbot: QtBot) -> None:
    dialog = AddAccountDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(dialog.minimumSizeHint())  # as small as the person can make it
    dialog.activateWindow()  # keys go to the active window; leaving a field shows its error
    qtbot.waitUntil(dialog.isActiveWindow, timeout=1000)
    choose(qtbot, dialog, "account_host", "")
    type_into(qtbot, dialog, "account_custom_host", "http://example.com/elements/api-v2")
    qtbot.waitUntil(lambda: widget(dialog, "account_custom_error").isVisible(), timeout=1000)
    assert_readable(qtbot, dialog)
    for name in ("account_name", "account_custom_host", "user_secret", "organization_secret"):
        field = widget(dialog, name)
        assert field.height() >= field.minimumSizeHint().height(), f"{name} squeezed"


def test_change_events_dialog_grows_with_its_error(qtbot: QtBot) -> None:
    row = InstanceRow(
        id="1",
        name="API Instance",
        connector="connectwisehd",
        events_enabled=False,
        callback_url=None,
        created=None,
        token_stored=True,
        on_server=True,
        remembered=True,
    )
    dialog = EventsDialog(row)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(dialog.minimumSizeHint())
    set_checked(qtbot, dialog, "dialog_events_enabled", True)
    type_into(qtbot, dialog, "dialog_callback_url", "http://example.com/events", leave=False)
    qtbot.keyClick(widget(dialog, "dialog_callback_url"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: widget(dialog, "dialog_error").isVisible(), timeout=1000)
    assert_readable(qtbot, dialog)
    for name in ("dialog_callback_url", "dialog_signature_key"):
        field = widget(dialog, name)
        assert field.height() >= field.minimumSizeHint().height(), f"{name} squeezed"


def test_the_window_comes_back_at_the_size_it_was_closed_at_cut_to_the_screen(
    make_window: Callable[..., MainWindow], sandbox: SandboxServer, settings: QSettings
) -> None:
    first = make_window(sandbox)
    first.resize(QSize(760, 600))
    first.close()
    second = make_window(sandbox)
    assert second.size() == QSize(760, 600)
    second.resize(QSize(780, 610))
    second.close()
    settings.setValue("window/size", "5000x4000")  # saved on a bigger screen
    third = make_window(sandbox)
    available = third.screen().availableGeometry()
    assert third.width() <= available.width() and third.height() <= available.height()
    settings.setValue("window/size", "garbage")  # a hand-edited file: the first size again
    fourth = make_window(sandbox)
    assert fourth.size() == fit_to_screen(fourth, QSize(980, 860))


# --- every dialog at 800×600, in both schemes ----------------------------------------------

# What a dialog's contents get on an 800×600 screen: the screen less the window frame.
SMALL_DIALOG = SMALL - FRAME_ALLOWANCE
# A title bar's own room beside the title: the window menu and the buttons at its ends.
TITLE_ROOM = 160
LONG_NAME = "Acme Widgets International — help desk for the northern region"

ROW = InstanceRow(
    id="12345",
    name=LONG_NAME,
    connector="connectwisehd",
    events_enabled=True,
    callback_url="https://example.com/events",
    created=None,
    token_stored=True,
    on_server=True,
    remembered=True,
)


def make_dialog(kind: str, window: MainWindow, tmp_path: Path) -> QDialog:
    from gui.dialogs.about import AboutDialog
    from gui.dialogs.batch import BatchDialog
    from gui.events.verify_dialog import VerifyDialog
    from gui.instances.dialogs import DetailsDialog, ReauthDialog, RenameDialog
    from gui.settings import SavedAccount

    account = window.account_bar.account
    assert account is not None
    if kind == "add account":
        return AddAccountDialog(window)
    if kind == "edit account":
        return AddAccountDialog(window, editing=SavedAccount("Production", account.api_root))
    if kind.startswith("re-authenticate"):
        connector = kind.split()[-1]
        row = replace(ROW, connector=connector)
        values = {"connector": connector, "name": LONG_NAME, "events_enabled": True}
        held = frozenset({"signature_key"}) if connector != "connectwisecrmrest" else frozenset()
        return ReauthDialog(row, values, account, window.runner, window, held=held)
    if kind == "details":
        text = "\n".join(f"key.{n} = value {n}" for n in range(40))
        return DetailsDialog(f"Configuration of “{LONG_NAME}”", text, lambda _t: None, window)
    if kind == "rename":
        return RenameDialog(ROW, window)
    if kind == "events":
        return EventsDialog(ROW, window)
    if kind == "verify":
        return VerifyDialog(window)
    if kind == "about":
        return AboutDialog(window.menus.locations(), lambda _t: None, window)
    if kind == "batch":
        dialog = BatchDialog(window.workspace, window.runner, account, window)
        path = tmp_path / "customers.csv"
        rows = ["name,tags,server_url,company,username,password\n"]
        rows += [
            f"{LONG_NAME} {n},a,https://api-na.myconnectwise.net,acme,u,p\n" for n in range(30)
        ]
        rows.append(f"{LONG_NAME} bad,,https://api-na.myconnectwise.net,acme,u,\n")
        path.write_text("".join(rows), encoding="utf-8")
        dialog.load(str(path))
        return dialog
    raise AssertionError(kind)


DIALOGS = [
    "add account",
    "edit account",
    *(f"re-authenticate {key}" for key in CONNECTORS),
    "details",
    "rename",
    "events",
    "verify",
    "about",
    "batch",
]


@pytest.mark.usefixtures("scheme")  # each dialog in the light and the dark scheme
@pytest.mark.parametrize("kind", DIALOGS)
def test_every_dialog_fits_800x600_with_every_control_readable_and_reachable(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    window = make_window(sandbox)
    # The screen the dialogs size themselves for (`fit_to_screen`): 800×600.
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _screen: QRect(QPoint(0, 0), SMALL))
    dialog = make_dialog(kind, window, tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    idle(qtbot, window)  # a batch file read
    # Opened wide enough for its title (within the small screen), not tiny.
    title = dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()) + TITLE_ROOM
    assert dialog.width() >= min(title, SMALL_DIALOG.width()), f"{kind}: title cut"
    opened = dialog.size()
    assert opened.width() <= SMALL_DIALOG.width(), f"{kind}: opens wider than the screen"
    assert opened.height() <= SMALL_DIALOG.height(), f"{kind}: opens taller than the screen"
    minimum = dialog.minimumSize().expandedTo(dialog.minimumSizeHint())
    assert minimum.width() <= SMALL_DIALOG.width(), f"{kind}: cannot be narrow enough"
    assert minimum.height() <= SMALL_DIALOG.height(), f"{kind}: cannot be short enough"
    assert_readable(qtbot, dialog)
    with contextlib.suppress(qtbot.TimeoutError):
        qtbot.waitUntil(lambda: not clipped_controls(dialog), timeout=1000)
    assert clipped_controls(dialog) == [], kind
    dialog.close()
