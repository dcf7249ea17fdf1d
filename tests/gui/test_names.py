"""Hosts and names a person can tell apart, and ConnectWise addresses, as the Add account dialog
and the Create form say them: values typed (or pasted) by keys, the message read beside the
field, nothing saved or sent while it is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLineEdit
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from gui.accounts.dialog import CUSTOM_HOST, AccountDialog
from gui.main_window import MainWindow
from gui.settings import Preferences, SavedAccount
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.helpers import (
    SEED_FORM,
    choose_account_action,
    error_text,
    fill,
    paste_into,
    type_text_into,
    widget,
)
from tests.gui.modals import (
    ModalHandler,
    dialog_button,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)

pytestmark = pytest.mark.usefixtures("modal_watchdog")

LOOK_ALIKE_HOST = "api.openconnectors.us2.ext.h\u0430na.ondemand.com"  # Cyrillic а
LOOK_ALIKE_PUNYCODE = "api.openconnectors.us2.ext.xn--hna-6cd.ondemand.com"
RLO_SAYS = (
    "must not contain U+202E RIGHT-TO-LEFT OVERRIDE: it is invisible and can make a name look "
    "like another or read backwards. Type the name again without it."
)


# --- the Add account dialog ----------------------------------------------------------------------


def in_account_dialog(
    qtbot: QtBot, window: MainWindow, fill_in: Callable[[AccountDialog], None]
) -> dict[str, Any]:
    """Account ▸ Add account…, `fill_in` types into it; then Save is pressed (if it can be)
    and what the dialog showed is returned: each field's message, whether Save was enabled,
    whether the dialog stayed open."""
    seen: dict[str, Any] = {}

    def act(dialog: AccountDialog) -> None:
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        fill_in(dialog)
        save = dialog_button(dialog, QDialogButtonBox.StandardButton.Save)
        seen["save enabled"] = save.isEnabled()
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        seen["open"] = dialog.isVisible()
        for key, label in dialog.errors.items():
            seen[key] = label.text() if label.isVisible() else ""
        if dialog.isVisible():
            press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(AccountDialog, act)
    choose_account_action(window, "add_account")
    handler.wait(qtbot)
    return seen


def custom_host(qtbot: QtBot, dialog: AccountDialog, host: str) -> None:
    combo = dialog.findChild(QComboBox, "account_host")
    assert combo is not None
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_End)  # the last entry: a custom address
    assert combo.currentText() == CUSTOM_HOST
    type_text_into(qtbot, dialog, "account_custom_host", host)


def secrets(qtbot: QtBot, dialog: AccountDialog) -> None:
    type_text_into(qtbot, dialog, "user_secret", "user-1")
    type_text_into(qtbot, dialog, "organization_secret", "org-1")


def test_a_look_alike_account_host_is_refused_with_its_punycode_beside(
    qtbot: QtBot, window: MainWindow, keyring_backend: MemoryKeyring
) -> None:
    def fill_in(dialog: AccountDialog) -> None:
        type_text_into(qtbot, dialog, "account_name", "Production")
        custom_host(qtbot, dialog, LOOK_ALIKE_HOST)
        secrets(qtbot, dialog)

    seen = in_account_dialog(qtbot, window, fill_in)
    assert seen["custom"] == (
        "The host has letters outside ASCII, which can pass for others: “а” (U+0430 CYRILLIC "
        f"SMALL LETTER A). Its real address is {LOOK_ALIKE_PUNYCODE} (type that if you mean "
        "it); otherwise type the address again in plain ASCII."
    )
    assert seen["save enabled"] is False and seen["open"] is True
    assert keyring_backend.entries == {}


def test_an_account_name_with_a_right_to_left_override_is_refused(
    qtbot: QtBot, window: MainWindow, keyring_backend: MemoryKeyring
) -> None:
    def fill_in(dialog: AccountDialog) -> None:
        type_text_into(qtbot, dialog, "account_name", "Prod\u202enoitcudorp")
        custom_host(qtbot, dialog, "api.example.com")
        secrets(qtbot, dialog)

    seen = in_account_dialog(qtbot, window, fill_in)
    assert seen["name"] == f"Account name {RLO_SAYS}"
    assert seen["save enabled"] is False and keyring_backend.entries == {}


@pytest.mark.parametrize("typed", ["production", "PRODUCTION ", "Productio\u0301n"])
def test_an_account_name_differing_only_in_case_or_form_is_taken(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    settings: Any,
    typed: str,
) -> None:
    Preferences(settings).set_accounts([SavedAccount("Production", "https://api.example.com")])
    window = make_window(sandbox)

    def fill_in(dialog: AccountDialog) -> None:
        type_text_into(qtbot, dialog, "account_name", typed)
        custom_host(qtbot, dialog, "api.example.org")
        secrets(qtbot, dialog)

    seen = in_account_dialog(qtbot, window, fill_in)
    if "\u0301" in typed:  # "ó" as o + combining accent: another name, the accent is seen
        assert seen["name"] == "" and seen["open"] is False
        return
    assert seen["name"] == "An account is already named “Production”: choose another name."
    assert seen["open"] is True


def test_an_account_host_on_this_machine_without_a_scheme_is_saved_with_http(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, settings: Any
) -> None:
    netloc = sandbox.base_url.split("://", 1)[1].split("/", 1)[0]

    def fill_in(dialog: AccountDialog) -> None:
        type_text_into(qtbot, dialog, "account_name", "Here")
        custom_host(qtbot, dialog, netloc)
        type_text_into(qtbot, dialog, "user_secret", sandbox.user_secret)
        type_text_into(qtbot, dialog, "organization_secret", sandbox.organization_secret)

    seen = in_account_dialog(qtbot, window, fill_in)
    assert seen["open"] is False
    combo = widget(window, "account")
    assert isinstance(combo, QComboBox)
    qtbot.waitUntil(lambda: combo.currentText().startswith("Here — "), timeout=5000)
    assert combo.currentText() == f"Here — http://{netloc}/elements/api-v2"
    assert [a.api_root for a in Preferences(settings).accounts()] == [sandbox.base_url]


# --- the Create form -----------------------------------------------------------------------------

HTTPS_ONLY = (
    "Server URL must start with https://: ConnectWise answers plain http:// with “SSL is "
    "required.” (http:// only for this machine)."
)


def create_button_enabled(window: MainWindow) -> bool:
    return widget(window, "create_button").isEnabled()


def in_front(qtbot: QtBot, window: MainWindow) -> MainWindow:
    """As a person clicking into it: keys go to the active window, and leaving a field (which
    shows its message) happens only there."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    return window


@pytest.mark.parametrize(
    ("field", "typed", "said"),
    [
        ("name", "invoice\u202egpj.exe", f"Name {RLO_SAYS}"),
        (
            "name",
            "Acme\u200b",
            "Name must not contain U+200B ZERO WIDTH SPACE: it is invisible and can make a "
            "name look like another or read backwards. Type the name again without it.",
        ),
        ("server_url", "http://api-na.myconnectwise.net", HTTPS_ONLY),
        (
            "server_url",
            "api-na.myc\u043ennectwise.net",
            "Server URL has letters outside ASCII, which can pass for others: “о” (U+043E "
            "CYRILLIC SMALL LETTER O). Its real address is api-na.xn--mycnnectwise-6fk.net "
            "(type that if you mean it); otherwise type the address again in plain ASCII.",
        ),
    ],
    ids=["rlo-name", "zero-width-name", "plain-http-site", "look-alike-site"],
)
def test_a_value_a_person_cannot_tell_apart_is_said_beside_its_field(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, field: str, typed: str, said: str
) -> None:
    fill(qtbot, in_front(qtbot, window), SEED_FORM)
    assert create_button_enabled(window)
    type_text_into(qtbot, window, field, typed)
    assert error_text(window, field) == said
    assert not create_button_enabled(window)
    assert not any(r.method == "POST" for r in sandbox.request_log())


def test_a_nul_pasted_into_the_password_has_its_own_message(
    qtbot: QtBot, window: MainWindow
) -> None:
    fill(qtbot, in_front(qtbot, window), SEED_FORM)
    paste_into(qtbot, window, "password", "pass\x00word")
    assert error_text(window, "password") == "Password must not contain a NUL character (\\0)."
    assert not create_button_enabled(window)


def test_a_server_url_on_this_machine_without_a_scheme_shows_its_http_on_leaving(
    qtbot: QtBot, window: MainWindow
) -> None:
    fill(qtbot, in_front(qtbot, window), SEED_FORM)
    type_text_into(qtbot, window, "server_url", "127.0.0.1:8765")
    edit = widget(window, "server_url")
    assert isinstance(edit, QLineEdit)
    assert edit.text() == "http://127.0.0.1:8765"
    assert error_text(window, "server_url") == ""
