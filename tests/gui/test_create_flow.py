"""The Create tab, driven like a user: typing, tabbing, clicking, keyboard shortcuts."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPlainTextEdit, QPushButton
from pytestqt.qtbot import QtBot

from core.spec.models import Account
from core.workspace import Workspace
from gui.main_window import MainWindow
from gui.settings import Preferences, SavedAccount
from tests.core.fake_keyrings import LockableKeyring, MemoryKeyring
from tests.gui.helpers import SEED_FORM, error_text, fill, idle, label_text, type_into, widget
from tests.seed import SEED_BODY

ROOT = "https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2"
US, OS = "SENTINEL-US-GUI-1", "SENTINEL-OS-GUI-2"
TOKEN = "BUIWhN8NTPaeyYo7Kblo91CJ1tCG6PUonwnV/XJjy2A="
ACCOUNT = Account(name="Production", api_root=ROOT, user_secret=US, organization_secret=OS)


def created_body(instance_id: int = 12345, name: str = "API Instance") -> dict[str, Any]:
    return {
        "id": instance_id,
        "name": name,
        "token": TOKEN,
        "createdDate": "2026-11-28T10:00:00Z",
        "element": {"id": 117, "key": "connectwisehd"},
        "tags": ["Docs"],
        "configuration": {"event.notification.callback.url": "https://mycoolapp.com/events"},
        "eventsEnabled": True,
    }


@pytest.fixture
def saved_account_window(
    qtbot: QtBot, make_window: Callable[..., MainWindow], workspace: Workspace, settings: Any
) -> Callable[..., MainWindow]:
    """A window whose saved production account (secrets in the keyring) is selected."""

    def make(ws: Workspace | None = None) -> MainWindow:
        (ws or workspace).save_account(ACCOUNT)
        Preferences(settings).set_accounts([SavedAccount(ACCOUNT.name, ACCOUNT.api_root)])
        window = make_window(None, ws)
        qtbot.waitUntil(lambda: window.create_tab.account is not None, timeout=5000)
        return window

    return make


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def create_button(window: MainWindow) -> QPushButton:
    button = widget(window, "create_button")
    assert isinstance(button, QPushButton)
    return button


def test_seed_values_send_the_seed_body_store_and_copy_the_token(
    qtbot: QtBot,
    saved_account_window: Callable[..., MainWindow],
    mocked: responses.RequestsMock,
    keyring_backend: MemoryKeyring,
) -> None:
    mocked.post(f"{ROOT}/instances", json=created_body())
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    assert create_button(window).isEnabled()
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)

    posts = [c for c in mocked.calls if c.request.method == "POST"]
    assert len(posts) == 1
    body = posts[0].request.body
    assert body is not None and json.loads(body) == SEED_BODY
    assert posts[0].request.headers["Authorization"] == f"User {US}, Organization {OS}"

    result_id = widget(window, "result_id")
    assert isinstance(result_id, QLabel) and result_id.text() == "12345"
    token_edit = widget(window, "token")
    assert isinstance(token_edit, QLineEdit)
    assert token_edit.echoMode() == QLineEdit.EchoMode.Password
    storage = widget(window, "token_storage")
    assert isinstance(storage, QLabel) and storage.text().startswith("Saved in ")
    assert TOKEN in keyring_backend.entries.values()

    qtbot.mouseClick(widget(window, "copy_token_button"), Qt.MouseButton.LeftButton)
    clipboard = QApplication.clipboard()
    assert clipboard.text() == TOKEN
    assert clipboard.mimeData().data("x-kde-passwordManagerHint").data() == b"secret"
    assert "clears in" in window.status.text()
    qtbot.waitUntil(lambda: clipboard.text() == "", timeout=3000)


def test_clipboard_is_not_cleared_when_the_user_copied_something_else(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow], mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{ROOT}/instances", json=created_body())
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    clipboard = QApplication.clipboard()
    assert clipboard.text() == TOKEN
    clipboard.setText("something the user copied")
    qtbot.wait(600)  # twice the shortened clearing delay
    assert clipboard.text() == "something the user copied"


def test_create_stays_disabled_until_valid_and_errors_show_under_the_field(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow]
) -> None:
    window = saved_account_window()
    button = create_button(window)
    assert not button.isEnabled()
    assert "Name" in button.toolTip() and "Password" in button.toolTip()
    assert error_text(window, "server_url") == ""  # not shown before the field is left

    type_into(qtbot, window, "server_url", "not a host/with/path")
    assert error_text(window, "server_url") == "Server URL must not contain spaces."
    type_into(qtbot, window, "server_url", "api-na.myconnectwise.net/path")
    assert error_text(window, "server_url") == (
        "Server URL must be just the site address, without a path."
    )
    fill(qtbot, window, {k: v for k, v in SEED_FORM.items() if k != "company"})
    assert not button.isEnabled()
    assert button.toolTip() == "Still needed: Company"
    type_into(qtbot, window, "company", "acme")
    assert button.isEnabled()

    type_into(qtbot, window, "signature_key", "short")
    assert error_text(window, "signature_key") == "Signature key must be at least 16 characters."
    assert not button.isEnabled()
    assert error_text(window, "company") == ""


def test_pasted_login_address_shows_the_extracted_path(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow]
) -> None:
    window = saved_account_window()
    type_into(
        qtbot,
        window,
        "wsdl_path",
        "https://na.myconnectwise.net/v2019_4/ConnectWise.aspx?locale=en_US",
    )
    # Left (Tab), the field shows the path taken from the address, and says so.
    edit = widget(window, "wsdl_path")
    assert isinstance(edit, QLineEdit) and edit.text() == "/v2019_4/apis/2.0/"
    hint = widget(window, "wsdl_path_hint")
    assert isinstance(hint, QLabel) and hint.isVisible()
    assert hint.text().startswith("Path taken from the address you pasted")


def test_request_preview_shows_the_masked_body_as_the_form_changes(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow]
) -> None:
    window = saved_account_window()
    tab = window.create_tab
    assert window.findChild(QPlainTextEdit, "request_preview") is None  # built when first shown
    qtbot.mouseClick(widget(window, "preview_toggle"), Qt.MouseButton.LeftButton)
    preview = widget(window, "request_preview")
    assert isinstance(preview, QPlainTextEdit) and preview.isVisible()
    assert preview.toPlainText().startswith("The form is not complete yet:")

    fill(qtbot, window, SEED_FORM)
    body = json.loads(preview.toPlainText())
    assert body["name"] == SEED_BODY["name"]
    password = body["configuration"]["helpdesk.connectwise.password"]
    assert password != SEED_FORM["password"] and set(password) == {"*"}

    qtbot.mouseClick(widget(window, "preview_toggle"), Qt.MouseButton.LeftButton)
    assert not preview.isVisible() and tab.preview is preview


def test_switching_connector_changes_the_fields_and_keeps_shared_values(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow]
) -> None:
    from tests.gui.helpers import choose

    window = saved_account_window()
    type_into(qtbot, window, "company", "acme")
    assert window.findChild(QLineEdit, "server_url") is not None
    choose(qtbot, window, "connector", "connectwisecrmrest")
    qtbot.waitUntil(lambda: window.findChild(QLineEdit, "server_url") is None, timeout=2000)
    for name in ("base_url", "public_key", "private_key", "client_id"):
        assert window.findChild(QLineEdit, name) is not None, name
    company = widget(window, "company")
    assert isinstance(company, QLineEdit) and company.text() == "acme"


def test_server_error_keeps_the_form_and_shows_message_provider_and_request_id(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow], mocked: responses.RequestsMock
) -> None:
    mocked.post(
        f"{ROOT}/instances",
        status=400,
        json={
            "requestId": "5a1b-req-77",
            "message": "Failed to connect to the API URL. Validate that you are using the correct WSDL path.",
            "providerMessage": "404 Not Found",
        },
    )
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)
    texts = {
        n: label_text(window, n)
        for n in ("error_message", "error_provider", "error_request_id", "error_next_step")
    }
    assert "WSDL path" in texts["error_message"]
    assert texts["error_provider"] == "ConnectWise said: 404 Not Found"
    assert texts["error_request_id"] == "Request ID: 5a1b-req-77"
    assert "ConnectWise.aspx" in texts["error_next_step"]
    panel = window.create_tab.error_panel
    assert panel.title() == "Problem"  # Qt's own QGroupBox.title(), not the label inside
    assert panel.title_label.text() == label_text(window, "error_title") != ""
    for name, value in SEED_FORM.items():
        if isinstance(value, str) and name != "tags":
            edit = widget(window, name)
            assert isinstance(edit, QLineEdit) and edit.text() == value, name
    assert create_button(window).isEnabled()
    assert not widget(window, "result_panel").isVisible()


def test_double_click_and_ctrl_return_send_one_request(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow], mocked: responses.RequestsMock
) -> None:
    gate = threading.Event()

    def slow(_request: Any) -> tuple[int, dict[str, str], str]:
        gate.wait(5)
        return 200, {}, json.dumps(created_body())

    mocked.add_callback(responses.POST, f"{ROOT}/instances", callback=slow)
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    button = create_button(window)
    qtbot.mouseDClick(button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not button.isEnabled()
    assert widget(window, "busy_indicator").isVisible()
    assert not widget(window, "name").isEnabled()  # the form is locked while it runs
    gate.set()
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    assert len([c for c in mocked.calls if c.request.method == "POST"]) == 1
    assert widget(window, "name").isEnabled()


def test_ctrl_return_creates_but_qt_create_only_sets_the_widget_up(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow], mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{ROOT}/instances", json=created_body())
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    tab = window.create_tab
    tab.create()  # QWidget.create(): Qt's native window set-up, which must send nothing
    idle(qtbot, window)
    assert not [c for c in mocked.calls if c.request.method == "POST"]
    assert not widget(window, "result_panel").isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    assert len([c for c in mocked.calls if c.request.method == "POST"]) == 1


def test_unknown_outcome_looks_the_instance_up_instead_of_resending(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow], mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{ROOT}/instances", body=requests.exceptions.ReadTimeout("read timed out"))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    found = {**created_body(777), "createdDate": now}
    mocked.get(f"{ROOT}/instances", json=[found, {**created_body(5), "name": "API Instance 2"}])
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    assert label_text(window, "result_id") == "777"
    assert "nothing was sent twice" in label_text(window, "result_note")
    methods = [c.request.method for c in mocked.calls]
    assert methods.count("POST") == 1
    assert "GET" in methods


def test_unknown_outcome_with_nothing_found_says_so_and_sends_nothing_more(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow], mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{ROOT}/instances", body=requests.exceptions.ReadTimeout("read timed out"))
    mocked.get(f"{ROOT}/instances", status=404, json={"message": "No instances found"})
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)
    assert (
        label_text(window, "error_next_step")  # a timeout: the server may still be working
        == "What to do: Wait a minute, then refresh the Instances tab (F5) before pressing Create "
        "again: press it only if the instance is not there."
    )
    assert [c.request.method for c in mocked.calls].count("POST") == 1


def test_locked_keyring_still_shows_and_copies_the_token_and_retry_stores_it(
    qtbot: QtBot,
    saved_account_window: Callable[..., MainWindow],
    mocked: responses.RequestsMock,
    tmp_path: Any,
) -> None:
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault

    backend = LockableKeyring()  # unlocked while the account secrets are saved
    ws = Workspace(Vault(backend, timeout=1.0), RecordsStore(tmp_path / "locked"))
    mocked.post(f"{ROOT}/instances", json=created_body())
    window = saved_account_window(ws)
    backend.locked = True
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    storage = widget(window, "token_storage")
    assert isinstance(storage, QLabel)
    assert storage.text().startswith("Not saved:")
    assert "locked" in storage.text().lower()
    retry = widget(window, "retry_store_button")
    assert retry.isVisible()
    qtbot.mouseClick(widget(window, "copy_token_button"), Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == TOKEN

    backend.locked = False
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: storage.text().startswith("Saved in "), timeout=5000)
    assert not retry.isVisible()
    assert TOKEN in backend.entries.values()


def test_window_stays_responsive_while_a_create_is_slow(
    qtbot: QtBot, saved_account_window: Callable[..., MainWindow], mocked: responses.RequestsMock
) -> None:
    def slow(_request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(1.5)
        return 200, {}, json.dumps(created_body())

    mocked.add_callback(responses.POST, f"{ROOT}/instances", callback=slow)
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 50  # the timer kept firing through the 1.5 s request
    assert max(gaps) < 0.25


# --- a success whose answer cannot be used: the instance probably exists --------------------

DEEP = "[" * 100_000 + "]" * 100_000


def shown_texts(window: MainWindow) -> str:
    labels = ("error_title", "error_message", "error_next_step")
    return " ".join([*(label_text(window, n) for n in labels), window.status.text()])


def test_a_success_without_a_token_finds_the_instance_instead_of_saying_nothing_was_made(
    qtbot: QtBot,
    saved_account_window: Callable[..., MainWindow],
    mocked: responses.RequestsMock,
    keyring_backend: MemoryKeyring,
) -> None:
    no_token = {k: v for k, v in created_body(777).items() if k != "token"}
    mocked.post(f"{ROOT}/instances", json=no_token)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    mocked.get(f"{ROOT}/instances", json=[{**no_token, "createdDate": now}])
    mocked.get(f"{ROOT}/instances/777", json={**created_body(777), "createdDate": now})
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)

    assert label_text(window, "result_id") == "777"
    assert label_text(window, "result_note") == (
        "The server's answer could not be read, but the instance was found: nothing was sent twice."
    )
    assert TOKEN in keyring_backend.entries.values()
    assert window.status.text() == "Created “API Instance” (ID 777)."
    assert [c.request.method for c in mocked.calls].count("POST") == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("<html><body>Signed in</body></html>", "not JSON"),
        (DEEP, "nested too deeply"),
        ('{"id": 777, "name": "API Instance", "tok', "not JSON"),  # cut short
        ("", "with an empty body"),
    ],
    ids=["html", "deep", "cut-short", "empty"],
)
def test_an_unreadable_success_never_says_nothing_was_made(
    qtbot: QtBot,
    saved_account_window: Callable[..., MainWindow],
    mocked: responses.RequestsMock,
    body: str,
    words: str,
) -> None:
    mocked.post(f"{ROOT}/instances", body=body, content_type="application/json")
    mocked.get(f"{ROOT}/instances", status=404, json={"message": "No instances found"})
    window = saved_account_window()
    fill(qtbot, window, SEED_FORM)
    statuses: list[str] = []
    window.create_tab.status_message.connect(statuses.append)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)

    assert label_text(window, "error_title") == "Unreadable answer: the outcome is unknown"
    message = label_text(window, "error_message")
    assert words in message
    assert (
        "No instance named “API Instance” is listed yet, but the server answered as if it "
        "had made it." in message
    )
    assert label_text(window, "error_next_step") == (
        "What to do: Wait a minute, then refresh the Instances tab (F5) before pressing Create "
        "again: press it only if the instance is not there."
    )
    assert statuses[-1] == "Outcome unknown: check the Instances tab before retrying."
    said = (shown_texts(window) + " ".join(statuses)).lower()
    for untrue in ("was not created", "nothing was made", "safe to press", "try again"):
        assert untrue not in said
    methods = [c.request.method for c in mocked.calls]
    assert methods.count("POST") == 1 and "GET" in methods  # looked up, never resent


def test_a_failure_that_is_not_the_server_s_answer_does_not_claim_nothing_was_made(
    qtbot: QtBot,
    saved_account_window: Callable[..., MainWindow],
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: Any) -> Any:
        raise RuntimeError("the records folder vanished")

    window = saved_account_window()
    monkeypatch.setattr(workspace, "create", broken)
    fill(qtbot, window, SEED_FORM)
    statuses: list[str] = []
    window.create_tab.status_message.connect(statuses.append)
    qtbot.mouseClick(create_button(window), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)

    assert statuses[-1] == "Create failed: check the Instances tab before retrying."
