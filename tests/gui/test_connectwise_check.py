"""The form's ConnectWise check, as a person meets it: type a site and company, leave the field,
see the WSDL path filled and the version named; a wrong client ID is said before creating.
Against the ConnectWise sandbox over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.sandbox import connectwise_values as cw
from core.sandbox.connectwise import ConnectWiseFailure, ConnectWiseSandbox
from core.sandbox.on_demand import OnDemandSandbox
from gui.main_window import MainWindow
from tests.gui.helpers import choose, fill, label_text, type_into, widget

PASSWORD = "pw-SENTINEL-2207"
PRIVATE = "priv-SENTINEL-3318"
WAIT_MS = 8000


def activate(qtbot: QtBot, window: MainWindow) -> MainWindow:
    """Give it the keyboard, as the window a person works in has: a field is left (and
    checked) when focus moves on, and only an active window moves focus."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    return window


@pytest.fixture
def window(
    make_window: Callable[..., MainWindow], sandbox: SandboxServer, qtbot: QtBot
) -> MainWindow:
    return activate(qtbot, make_window(sandbox))


@pytest.fixture
def cw_site() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox(private_key=PRIVATE) as site:
        yield site


def hint(window: MainWindow, name: str) -> QLabel:
    label = widget(window, f"{name}_hint")
    assert isinstance(label, QLabel)
    return label


def shown_hint(window: MainWindow, name: str) -> str:
    label = hint(window, name)
    return label.text() if label.isVisible() else ""


def line(window: MainWindow, name: str) -> QLineEdit:
    edit = widget(window, name)
    assert isinstance(edit, QLineEdit)
    return edit


def status(window: MainWindow) -> str:
    label = widget(window, "connectwise_status")
    assert isinstance(label, QLabel)
    return label.text() if label.isVisible() else ""


def soap_site(qtbot: QtBot, window: MainWindow, site: str, company: str = cw.COMPANY) -> None:
    type_into(qtbot, window, "server_url", site)
    type_into(qtbot, window, "company", company)  # leaving it starts the look-up


def test_leaving_the_company_fills_the_wsdl_path_and_names_the_version(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    fill(qtbot, window, {"name": "Acme", "username": "integrator"})
    soap_site(qtbot, window, cw_site.site)
    wsdl = line(window, "wsdl_path")
    qtbot.waitUntil(lambda: wsdl.text() == "/v2025_1/apis/2.0/", timeout=WAIT_MS)
    assert cw.VERSION_NUMBER in shown_hint(window, "wsdl_path")
    assert "Sandbox Company" in shown_hint(window, "company")
    assert status(window) == f"Found on ConnectWise (version {cw.VERSION_NUMBER})."
    # The password was typed, but a check never sends it (nor anything to authenticate).
    type_into(qtbot, window, "password", PASSWORD)
    qtbot.mouseClick(widget(window, "check_connectwise_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(cw_site.seen) == 2, timeout=WAIT_MS)
    assert all(PASSWORD not in r.text() for r in cw_site.seen)
    assert all("authorization" not in r.text().lower() for r in cw_site.seen)
    assert [r.target for r in cw_site.seen] == ["/login/companyinfo/sandbox"] * 2


def test_ctrl_z_in_the_filled_field_brings_back_what_was_there(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    soap_site(qtbot, window, cw_site.site)
    wsdl = line(window, "wsdl_path")
    qtbot.waitUntil(lambda: wsdl.text() == "/v2025_1/apis/2.0/", timeout=WAIT_MS)
    wsdl.setFocus()
    qtbot.keyClick(wsdl, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert wsdl.text() == ""


def test_a_typed_wsdl_path_is_kept_and_the_right_one_offered_with_one_click(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    type_into(qtbot, window, "wsdl_path", "/v2024_1/apis/2.0/")
    soap_site(qtbot, window, cw_site.site)
    use = widget(window, "use_suggestion_button")
    assert isinstance(use, QPushButton)
    qtbot.waitUntil(use.isVisible, timeout=WAIT_MS)
    wsdl = line(window, "wsdl_path")
    assert wsdl.text() == "/v2024_1/apis/2.0/"  # never overwritten
    assert "/v2025_1/apis/2.0/" in shown_hint(window, "wsdl_path")
    assert hint(window, "wsdl_path").property("state") == "problem"
    assert use.text() == "Use /v2025_1/apis/2.0/"
    qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
    assert wsdl.text() == "/v2025_1/apis/2.0/"
    qtbot.waitUntil(lambda: "Matches" in shown_hint(window, "wsdl_path"), timeout=WAIT_MS)
    assert not use.isVisible()


def test_an_unknown_company_is_said_beside_it_and_create_stays_possible(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    fill(qtbot, window, {"name": "Acme", "username": "integrator", "password": PASSWORD})
    soap_site(qtbot, window, cw_site.site, company="nosuchco")
    qtbot.waitUntil(lambda: "nosuchco" in shown_hint(window, "company"), timeout=WAIT_MS)
    assert hint(window, "company").property("state") == "problem"
    assert status(window) == "ConnectWise check: see Company."
    assert widget(window, "create_button").isEnabled()  # information, never a block


def test_ssl_required_is_said_beside_the_server_url(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    cw_site.inject(ConnectWiseFailure.SSL_REQUIRED)
    soap_site(qtbot, window, cw_site.site)
    qtbot.waitUntil(lambda: "SSL is required" in shown_hint(window, "server_url"), timeout=WAIT_MS)
    assert hint(window, "server_url").property("state") == "problem"
    assert line(window, "wsdl_path").text() == ""


def rest_form(qtbot: QtBot, window: MainWindow, site: str, client_id: str) -> None:
    choose(qtbot, window, "connector", "connectwisecrmrest")
    qtbot.waitUntil(lambda: widget(window, "base_url").isVisible(), timeout=2000)
    fill(
        qtbot,
        window,
        {
            "name": "Acme REST",
            "base_url": site,
            "company": cw.COMPANY,
            "public_key": cw.PUBLIC_KEY,
            "private_key": PRIVATE,
            "client_id": client_id,
        },
    )


def test_a_wrong_client_id_is_told_before_creating(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    rest_form(qtbot, window, cw_site.site, client_id="not-our-client-id")
    qtbot.waitUntil(lambda: "client ID" in shown_hint(window, "client_id"), timeout=WAIT_MS)
    assert "refused" in shown_hint(window, "client_id")
    assert hint(window, "client_id").property("state") == "problem"
    assert status(window) == "ConnectWise check: see Client ID."
    assert line(window, "base_url").text() == cw_site.site + "/v2025_1/apis/3.0"
    assert widget(window, "create_button").isEnabled()
    keys = [r for r in cw_site.seen if "system/info" in r.target]
    assert keys and all(dict(r.headers)["clientId"] == "not-our-client-id" for r in keys)
    assert PRIVATE not in status(window) + shown_hint(window, "client_id")


def test_right_keys_are_confirmed(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    rest_form(qtbot, window, cw_site.site, client_id=cw.CLIENT_ID)
    qtbot.waitUntil(lambda: "accepted the keys" in status(window), timeout=WAIT_MS)
    assert hint(window, "client_id").property("state") != "problem"


def test_an_answer_to_values_since_changed_is_dropped(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    cw_site.faults.add("GET", r"/login/companyinfo/", delay=1.0, times=1)
    soap_site(qtbot, window, cw_site.site)
    qtbot.waitUntil(lambda: "Checking" in status(window), timeout=WAIT_MS)
    company = line(window, "company")
    company.setFocus()
    qtbot.keyClicks(company, "x")  # "sandboxx": the running look-up no longer stands
    qtbot.wait(1500)
    assert line(window, "wsdl_path").text() == ""
    assert shown_hint(window, "company") == ""


def test_the_shortcut_checks_from_anywhere_in_the_form(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    line(window, "server_url").setText(cw_site.site)  # pasted: no look-up on its own
    line(window, "company").setText(cw.COMPANY)
    name = line(window, "name")
    name.setFocus()
    qtbot.keyClick(
        name, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    qtbot.waitUntil(lambda: line(window, "wsdl_path").text() != "", timeout=WAIT_MS)


def test_on_the_local_sandbox_the_form_says_where_its_connectwise_is(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    sandbox = OnDemandSandbox()
    try:
        window = activate(qtbot, make_window(sandbox))
        assert sandbox.connectwise_site in label_text(window, "connectwise_sandbox_hint")
        soap_site(qtbot, window, sandbox.connectwise_site)
        wsdl = line(window, "wsdl_path")
        qtbot.waitUntil(lambda: wsdl.text() == "/v2025_1/apis/2.0/", timeout=WAIT_MS)
        assert cw.VERSION_NUMBER in shown_hint(window, "wsdl_path")
    finally:
        sandbox.stop()


def test_typing_the_keys_keeps_what_the_look_up_found_and_drops_what_was_said_of_them(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    rest_form(qtbot, window, cw_site.site, client_id="not-our-client-id")
    qtbot.waitUntil(lambda: "refused" in shown_hint(window, "client_id"), timeout=WAIT_MS)
    client = line(window, "client_id")
    client.setFocus()
    qtbot.keyClick(client, Qt.Key.Key_Backspace)
    assert "refused" not in shown_hint(window, "client_id")
    assert "Sandbox Company" in shown_hint(window, "company")  # the look-up still stands
    type_into(qtbot, window, "client_id", cw.CLIENT_ID)
    qtbot.waitUntil(lambda: "accepted the keys" in status(window), timeout=WAIT_MS)


def test_a_wsdl_path_typed_while_the_look_up_runs_is_kept_and_the_right_one_offered(
    qtbot: QtBot, window: MainWindow, cw_site: ConnectWiseSandbox
) -> None:
    cw_site.faults.add("GET", r"/login/companyinfo/", delay=1.0, times=1)
    soap_site(qtbot, window, cw_site.site)
    qtbot.waitUntil(lambda: "Checking" in status(window), timeout=WAIT_MS)
    type_into(qtbot, window, "wsdl_path", "/v2024_1/apis/2.0/")  # typed while it runs
    use = widget(window, "use_suggestion_button")
    qtbot.waitUntil(use.isVisible, timeout=WAIT_MS)
    assert line(window, "wsdl_path").text() == "/v2024_1/apis/2.0/"
    assert "/v2025_1/apis/2.0/" in shown_hint(window, "wsdl_path")
