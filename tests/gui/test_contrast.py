"""Every text is readable in the light and the dark scheme: WCAG AA contrast, measured from the
pixels the window paints.

Each surface (the main window on each tab, the dialogs, the panels and banners in each state)
is grabbed as a person sees it, with the app's own palette and stylesheet (`gui.theme`). For
each visible, enabled text widget (labels, buttons, check boxes, line edits, combo boxes, tabs)
the background is the colour most of its pixels have and the text colour is the pixel furthest
from it in luminance; their WCAG contrast ratio must be at least 4.5:1. Disabled widgets are
exempt, as WCAG allows.
"""

from __future__ import annotations

import array
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.sandbox.connectwise import ConnectWiseSandbox
from gui.accounts.dialog import AddAccountDialog
from gui.dialogs.batch import BatchDialog
from gui.events.verify_dialog import VerifyDialog
from gui.instances.dialogs import DetailsDialog, ReauthDialog, RenameDialog
from gui.instances.events_dialog import EventsDialog
from gui.main_window import MainWindow
from gui.theme import Scheme, Theme, contrast, dark_palette, follow_system, luminance
from tests.gui.helpers import (
    SEED_FORM,
    choose_account_action,
    fill,
    type_into,
    widget,
)
from tests.gui.modals import (
    ModalHandler,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)
from tests.gui.test_instances_tab import (
    create_via_form,
    press_refresh,
    select_instance,
    show_instances_tab,
)

pytestmark = pytest.mark.usefixtures("modal_watchdog")

AA = 4.5  # WCAG 2 AA, normal-size text
INSET = 3  # px kept off the edges of buttons, edits and combo boxes: their frames, not text


@pytest.fixture(params=[Scheme.LIGHT, Scheme.DARK], ids=["light", "dark"])
def scheme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[Scheme]:
    """The app styled for the scheme, as `gui.app` styles it; the plain app again after."""
    theme = Theme(qapp, override=request.param)
    assert theme.scheme is request.param
    yield request.param
    theme.close()


# --- measuring -----------------------------------------------------------------------------


def _texts(top: QWidget) -> Iterator[tuple[str, QWidget, QRect]]:
    """(description, widget, rectangle in `widget`) for each piece of text shown in `top`."""
    for child in top.findChildren(QWidget):
        if not child.isVisible() or not child.isEnabled():
            continue
        name = f"{type(child).__name__} {child.objectName() or '(unnamed)'}"
        if isinstance(child, QLabel) and child.text().strip():
            yield f"{name} “{child.text()[:50]}”", child, child.contentsRect()
        elif isinstance(child, QAbstractButton) and child.text().strip():
            yield (
                f"{name} “{child.text()}”",
                child,
                child.rect().adjusted(INSET, INSET, -INSET, -INSET),
            )
        elif (
            isinstance(child, QLineEdit)
            and child.text()
            and child.echoMode() == QLineEdit.EchoMode.Normal
        ):
            yield (
                f"{name} “{child.text()[:50]}”",
                child,
                child.rect().adjusted(INSET, INSET, -INSET, -INSET),
            )
        elif isinstance(child, QComboBox) and child.currentText():
            yield (
                f"{name} “{child.currentText()[:50]}”",
                child,
                child.rect().adjusted(INSET, INSET, -INSET, -INSET),
            )
        elif isinstance(child, QTabBar):
            for i in range(child.count()):
                if child.isTabEnabled(i):
                    yield (
                        f"tab “{child.tabText(i)}”",
                        child,
                        child.tabRect(i).adjusted(INSET, INSET, -INSET, -INSET),
                    )


def low_contrast(top: QWidget) -> list[str]:
    """What `top` shows with less than AA contrast, each with its two colours."""
    QApplication.processEvents()  # pending layouts and polish, as before a real paint
    image = top.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    ratio = image.devicePixelRatio()
    width = image.bytesPerLine() // 4
    bits = array.array("I", bytes(image.constBits()))
    failures: list[str] = []
    measured = 0
    for what, child, rect in _texts(top):
        visible = rect & child.visibleRegion().boundingRect()
        if visible.width() < 2 or visible.height() < 2:
            continue
        origin = child.mapTo(top, visible.topLeft())
        area = (
            QRect(
                QPoint(round(origin.x() * ratio), round(origin.y() * ratio)),
                visible.size() * ratio,
            )
            & image.rect()
        )
        counts: Counter[int] = Counter()
        for y in range(area.top(), area.bottom() + 1):
            start = y * width + area.left()
            counts.update(bits[start : start + area.width()])
        background = QColor.fromRgb(counts.most_common(1)[0][0])
        base = luminance(background)
        text = max((QColor.fromRgb(p) for p in counts), key=lambda c: abs(luminance(c) - base))
        measured += 1
        if contrast(text, background) < AA:
            failures.append(
                f"{what}: text {text.name()} on {background.name()} is "
                f"{contrast(text, background):.2f}:1"
            )
    assert measured, f"no text measured in {top}"
    return failures


def assert_readable(top: QWidget, where: str) -> None:
    failures = low_contrast(top)
    assert not failures, f"below {AA}:1 in {where}:\n" + "\n".join(failures)


def show_tab(qtbot: QtBot, window: MainWindow, index: int) -> None:
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.tabs.currentIndex() == index


# --- the surfaces --------------------------------------------------------------------------


def test_create_tab_with_hints_errors_and_the_sandbox_banner(
    qtbot: QtBot, window: MainWindow, scheme: Scheme
) -> None:
    type_into(qtbot, window, "server_url", "na.myconnectwise.net")  # the "api-" hint
    type_into(
        qtbot,
        window,
        "wsdl_path",
        "https://na.myconnectwise.net/v2019_4/ConnectWise.aspx?locale=en_US",
    )  # "Path taken from the address"
    type_into(qtbot, window, "name", "x")
    type_into(qtbot, window, "name", "")  # "Name is required."
    for name in ("server_url_hint", "wsdl_path_hint", "name_error"):
        qtbot.waitUntil(widget(window, name).isVisible, timeout=2000)
    assert widget(window, "account_status").property("state") == "sandbox"
    assert_readable(window, f"the Create tab ({scheme})")


def test_result_panel_token_banner_and_the_tested_account(
    qtbot: QtBot, window: MainWindow, scheme: Scheme
) -> None:
    create_via_form(qtbot, window, "Acme help desk")
    assert widget(window, "token_storage").property("state") == "ok"
    assert_readable(window, f"the result panel ({scheme})")
    choose_account_action(window, "test_connection")
    status = widget(window, "account_status")
    assert isinstance(status, QLabel)
    qtbot.waitUntil(lambda: status.text().startswith("Connection works"), timeout=5000)
    assert status.property("state") == "ok"
    assert_readable(window, f"the account bar after a connection test ({scheme})")


def test_error_panel_with_the_provider_message(
    qtbot: QtBot, window: MainWindow, scheme: Scheme
) -> None:
    fill(qtbot, window, {**SEED_FORM, "username": "reject"})
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(widget(window, "error_panel").isVisible, timeout=5000)
    qtbot.waitUntil(widget(window, "error_provider").isVisible, timeout=2000)
    assert_readable(window, f"the error panel ({scheme})")


def test_no_account_warning_banner(
    qtbot: QtBot, make_window: Callable[..., MainWindow], scheme: Scheme
) -> None:
    window = make_window(None)
    status = widget(window, "account_status")
    assert status.property("state") == "warning"
    assert_readable(window, f"the window without an account ({scheme})")


def test_instances_tab_and_the_change_events_dialog(
    qtbot: QtBot, window: MainWindow, scheme: Scheme
) -> None:
    instance_id = create_via_form(qtbot, window, "Acme help desk")
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    select_instance(qtbot, window, instance_id)
    assert_readable(window, f"the Instances tab ({scheme})")

    def act(dialog: QDialog) -> None:
        assert_readable(dialog, f"the Change events dialog ({scheme})")
        callback = dialog.findChild(QLineEdit, "dialog_callback_url")
        assert callback is not None
        callback.setFocus()
        callback.selectAll()
        qtbot.keyClicks(callback, "http://example.com/events")  # not https: an error
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        error = dialog.findChild(QLabel, "dialog_error")
        assert error is not None
        qtbot.waitUntil(error.isVisible, timeout=2000)
        assert_readable(dialog, f"the Change events dialog with its error ({scheme})")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(EventsDialog, act)
    qtbot.mouseClick(widget(window, "change_events_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)


def test_events_tab_and_the_verify_dialog(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, scheme: Scheme
) -> None:
    show_tab(qtbot, window, 2)
    assert_readable(window, f"the Events tab ({scheme})")

    def act(dialog: QDialog) -> None:
        body = dialog.findChild(QWidget, "verify_body")
        assert body is not None
        body.setFocus()
        qtbot.keyClicks(body, '{"message": "hello"}')
        verdict = dialog.findChild(QLabel, "verify_result")
        assert verdict is not None and verdict.text()
        assert_readable(dialog, f"the Verify a signature dialog ({scheme})")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Close)

    handler = ModalHandler(VerifyDialog, act)
    qtbot.mouseClick(widget(window, "verify_signature_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)


def test_add_account_dialog_with_its_help_and_errors(
    qtbot: QtBot, window: MainWindow, scheme: Scheme
) -> None:
    def act(dialog: QDialog) -> None:
        assert_readable(dialog, f"the Add account dialog ({scheme})")
        # A secret typed, rubbed out again and the field left: its error shows.
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        secret = dialog.findChild(QLineEdit, "user_secret")
        assert secret is not None
        secret.setFocus()
        qtbot.keyClicks(secret, "x")
        qtbot.keyClick(secret, Qt.Key.Key_Backspace)
        qtbot.keyClick(secret, Qt.Key.Key_Tab)
        error = dialog.findChild(QLabel, "account_user_secret_error")
        assert error is not None
        qtbot.waitUntil(error.isVisible, timeout=2000)
        assert_readable(dialog, f"the Add account dialog with its errors ({scheme})")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(AddAccountDialog, act)
    choose_account_action(window, "add_account")
    handler.wait(qtbot)


def test_a_connectwise_check_with_notes_and_a_problem(
    qtbot: QtBot, window: MainWindow, scheme: Scheme
) -> None:
    with ConnectWiseSandbox() as site:
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        type_into(qtbot, window, "wsdl_path", "/v2024_1/apis/2.0/")  # offered another: a problem
        type_into(qtbot, window, "server_url", site.site)
        type_into(qtbot, window, "company", "sandbox")
        hint = widget(window, "wsdl_path_hint")
        qtbot.waitUntil(lambda: hint.property("state") == "problem", timeout=5000)
        qtbot.waitUntil(widget(window, "company_hint").isVisible, timeout=2000)
        assert_readable(window, f"the Create tab after a ConnectWise check ({scheme})")


def test_batch_dialog_with_rows_checked(
    qtbot: QtBot, window: MainWindow, scheme: Scheme, tmp_path: Path
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "name,server_url,company,username,password\n"
        "Good,https://api-na.myconnectwise.net,acme,integrator,pw\n"
        "Bad,https://api-na.myconnectwise.net,acme,integrator,\n",
        encoding="utf-8",
    )
    window.open_batch()
    dialog = window.findChild(BatchDialog, "batch_dialog")
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.load(str(path))
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
    assert_readable(dialog, f"the Batch create dialog ({scheme})")
    dialog.close()


# --- following the system ------------------------------------------------------------------


@pytest.fixture
def following(qapp: QApplication) -> Iterator[Theme]:
    """The theme as `gui.app` starts it: following the system, no override."""
    theme = Theme(qapp)
    yield theme
    theme.close()
    qapp.setPalette(QPalette())  # whatever a test gave as the platform's palette


def window_colour() -> str:
    return QApplication.palette().color(QPalette.ColorRole.Window).name()


def test_the_scheme_follows_the_system_when_it_changes(
    qtbot: QtBot, following: Theme, window: MainWindow
) -> None:
    type_into(qtbot, window, "server_url", "na.myconnectwise.net")
    qtbot.waitUntil(widget(window, "server_url_hint").isVisible, timeout=2000)
    assert following.scheme is Scheme.LIGHT  # offscreen: no setting, a light palette
    hints = QGuiApplication.styleHints()
    # What the platform says when the user switches their desktop to dark (offscreen has no
    # setting of its own to switch, so the test says it for the platform).
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert following.scheme is Scheme.DARK
    assert luminance(QColor(window_colour())) < 0.05  # a dark window, though offscreen has none
    assert_readable(window, "the window switched to dark")
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert following.scheme is Scheme.LIGHT
    assert luminance(QColor(window_colour())) > 0.5
    assert_readable(window, "the window switched back to light")


def test_a_dark_palette_from_the_platform_restyles_the_hints(
    qtbot: QtBot, following: Theme, window: MainWindow, qapp: QApplication
) -> None:
    """The tester's desktop: a dark palette (window #3e3e3e) and no colour-scheme setting."""
    type_into(qtbot, window, "server_url", "na.myconnectwise.net")
    qtbot.waitUntil(widget(window, "server_url_hint").isVisible, timeout=2000)
    platform = dark_palette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#3e3e3e"),
        (QPalette.ColorRole.Button, "#464646"),
    ):
        platform.setColor(role, QColor(colour))
    qapp.setPalette(platform)
    qtbot.waitUntil(lambda: following.scheme is Scheme.DARK, timeout=2000)
    assert window_colour() == "#3e3e3e"  # the platform's own palette is kept
    assert_readable(window, "the window on the platform's dark palette")


def test_the_environment_variable_overrides_the_system(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_COLOR_SCHEME", "dark")
    theme = follow_system(qapp)
    try:
        assert theme.scheme is Scheme.DARK
        assert luminance(QColor(window_colour())) < 0.05
        # The system saying "light" does not undo what the user asked for.
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert theme.scheme is Scheme.DARK
        theme.set_override(None)  # following the system again
        assert theme.scheme is Scheme.LIGHT
        assert luminance(QColor(window_colour())) > 0.5
    finally:
        theme.close()


def test_instances_tab_problem_and_result_panels_and_the_instance_dialogs(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, scheme: Scheme
) -> None:
    instance_id = create_via_form(qtbot, window, "Acme help desk")
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    tab = window.instances_tab
    sandbox.invalidate(int(instance_id))
    select_instance(qtbot, window, instance_id)
    qtbot.mouseClick(widget(window, "test_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(tab.error_panel.isVisible, timeout=5000)
    assert_readable(window, f"the Instances tab with a problem ({scheme})")

    def reauth(dialog: ReauthDialog) -> None:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # password missing
        assert_readable(dialog, f"the Re-authenticate dialog with its errors ({scheme})")
        password = dialog.form.input("password")
        assert isinstance(password, QLineEdit)
        password.setFocus()
        qtbot.keyClicks(password, SEED_FORM["password"])
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    handler = ModalHandler(ReauthDialog, reauth)
    tab.reauth_action.trigger()
    handler.wait(qtbot)
    qtbot.waitUntil(tab.result_panel.isVisible, timeout=5000)
    assert_readable(window, f"the Instances tab with a re-authenticated instance ({scheme})")

    def details(dialog: DetailsDialog) -> None:
        assert_readable(dialog, f"the Details dialog ({scheme})")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Close)

    handler_details = ModalHandler(DetailsDialog, details)
    tab.details_action.trigger()
    handler_details.wait(qtbot)

    def rename(dialog: RenameDialog) -> None:
        name = dialog.findChild(QLineEdit, "rename_name")
        assert name is not None
        name.setFocus()
        qtbot.keyClicks(name, "<b>x</b>")  # the markup hint shows
        assert_readable(dialog, f"the Rename dialog with its hint ({scheme})")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler_rename = ModalHandler(RenameDialog, rename)
    tab.rename_action.trigger()
    handler_rename.wait(qtbot)
