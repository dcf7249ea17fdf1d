"""Rows of the "text and neighbours from outside" table: see `__init__.py`.

Hosts and names a person can tell apart, and ConnectWise addresses: a look-alike host typed as
an account (window and `cwdesk`), an international ConnectWise site, a right-to-left override
in a name, two names the same but for their Unicode form and case, plain http:// to a remote
ConnectWise site (batch file and form), a NUL in a password, https:// to a plain-http server
on this machine. Each is typed or pasted by keys into a real window offscreen, or given to a
real `cwdesk` process, against a real loopback sandbox; each returns what the user was told.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from gui.accounts.dialog import AccountDialog
from gui.main_window import MainWindow
from tests.batch_files import soap_rows, write_csv
from tests.cli.test_process import cli_env, cwdesk
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.helpers import SEED_FORM, error_text, fill, paste_into, type_text_into, widget
from tests.gui.modals import ModalHandler
from tests.gui.test_names import (
    LOOK_ALIKE_HOST,
    LOOK_ALIKE_PUNYCODE,
    custom_host,
    in_account_dialog,
    in_front,
)
from tests.gui.test_names import secrets as type_secrets
from tests.reliability.outside import OutsideRow

AREA = "names"


def _window(request: pytest.FixtureRequest) -> tuple[QtBot, MainWindow, SandboxServer]:
    qtbot: QtBot = request.getfixturevalue("qtbot")
    sandbox: SandboxServer = request.getfixturevalue("sandbox")
    window: MainWindow = request.getfixturevalue("make_window")(sandbox)
    return qtbot, in_front(qtbot, window), sandbox


def _posts(sandbox: SandboxServer) -> int:
    return sum(r.method == "POST" for r in sandbox.request_log())


def _said_beside(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, field: str, typed: str
) -> str:
    """The form filled with good values, then `field` typed: what is said beside it; Create
    must be off and nothing sent."""
    fill(qtbot, window, SEED_FORM)
    type_text_into(qtbot, window, field, typed)
    said = error_text(window, field)
    assert said, f"nothing said beside {field}"
    assert not widget(window, "create_button").isEnabled(), "Create can still be pressed"
    assert _posts(sandbox) == 0, "something was sent"
    return said


def look_alike_host_in_the_dialog(request: pytest.FixtureRequest) -> str:
    qtbot, window, _ = _window(request)
    keyring: MemoryKeyring = request.getfixturevalue("keyring_backend")

    def fill_in(dialog: AccountDialog) -> None:
        type_text_into(qtbot, dialog, "account_name", "Production")
        custom_host(qtbot, dialog, LOOK_ALIKE_HOST)
        type_secrets(qtbot, dialog)

    seen = in_account_dialog(qtbot, window, fill_in)
    said = str(seen["custom"])
    assert LOOK_ALIKE_PUNYCODE in said, said
    assert seen["save enabled"] is False and seen["open"] is True, "the account could be saved"
    assert keyring.entries == {}, "secrets reached the password manager"
    return f"Save off; beside the field: {said}"


def look_alike_host_in_cwdesk(request: pytest.FixtureRequest) -> str:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    env = {**cli_env(tmp_path), "CWDESK_USER_SECRET": "u-1", "CWDESK_ORGANIZATION_SECRET": "o-1"}
    done = cwdesk("accounts", "add", "Production", "--host", LOOK_ALIKE_HOST, env=env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, f"exit {done.returncode}: {done.stderr[-300:]}"
    assert len(lines) == 1 and LOOK_ALIKE_PUNYCODE in lines[0], done.stderr[-300:]
    assert not (tmp_path / "keyring.json").exists(), "secrets reached the password manager"
    listed = cwdesk("accounts", "list", env=env)
    assert listed.stdout.startswith("No saved accounts."), listed.stdout[-300:]
    return f"exit 2: {lines[0]}"


def international_connectwise_site(request: pytest.FixtureRequest) -> str:
    qtbot, window, sandbox = _window(request)
    said = _said_beside(qtbot, window, sandbox, "server_url", "api-na.myc\u043ennectwise.net")
    assert "api-na.xn--mycnnectwise-6fk.net" in said, said
    return f"Create off; beside Server URL: {said}"


def right_to_left_override_in_a_name(request: pytest.FixtureRequest) -> str:
    qtbot, window, sandbox = _window(request)
    said = _said_beside(qtbot, window, sandbox, "name", "invoice\u202egpj.exe")
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in said, said
    return f"Create off; beside Name: {said}"


def same_name_but_for_form_and_case(request: pytest.FixtureRequest) -> str:
    """ "Café Desk" made (é as one character), then "CAFE\u0301 DESK" typed (e + combining
    accent, capitals): a person sees the same name, so the window asks first."""
    qtbot, window, sandbox = _window(request)
    fill(qtbot, window, SEED_FORM)
    type_text_into(qtbot, window, "name", "Café Desk")
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    result_name = widget(window, "result_name")
    assert isinstance(result_name, QLabel)
    qtbot.waitUntil(
        lambda: result_name.text() == "Café Desk" and not window.create_tab.busy, timeout=5000
    )
    assert _posts(sandbox) == 1
    asked: list[str] = []

    def answer_no(box: QMessageBox) -> None:
        asked.append(box.windowTitle() + " " + box.text())
        no = box.button(QMessageBox.StandardButton.No)
        assert no is not None
        qtbot.mouseClick(no, Qt.MouseButton.LeftButton)

    handler = ModalHandler(QMessageBox, answer_no, timeout=5.0)
    type_text_into(qtbot, window, "name", "CAFE\u0301 DESK")
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)
    qtbot.waitUntil(lambda: not window.create_tab.busy, timeout=5000)
    assert asked and "Create another with the same name?" in asked[0], "not asked"
    assert _posts(sandbox) == 1, "a second instance was sent"
    return "asked: " + asked[0].replace("\n", " ") + " → No: nothing sent"


HTTP_SITE = "http://api-na.myconnectwise.net"


def plain_http_site_in_a_batch_file(request: pytest.FixtureRequest) -> str:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    sandbox: SandboxServer = request.getfixturevalue("sandbox")
    rows = soap_rows(2)
    rows[1]["server_url"] = HTTP_SITE
    source = write_csv(tmp_path / "rows.csv", rows)
    done = cwdesk(
        "batch",
        str(source),
        "--api-root",
        sandbox.base_url,
        "--results",
        str(tmp_path / "results.csv"),
        env=cli_env(tmp_path, sandbox),
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, f"exit {done.returncode}: {done.stderr[-300:]}"
    assert lines and "row 3, server_url: Server URL must start with https://" in lines[0], lines
    assert _posts(sandbox) == 0, "rows were sent"
    return f"exit 2, nothing sent: {lines[0]}"


def plain_http_site_in_the_form(request: pytest.FixtureRequest) -> str:
    qtbot, window, sandbox = _window(request)
    said = _said_beside(qtbot, window, sandbox, "server_url", HTTP_SITE)
    assert "SSL is required." in said, said
    return f"Create off; beside Server URL: {said}"


def nul_in_a_password(request: pytest.FixtureRequest) -> str:
    qtbot, window, sandbox = _window(request)
    fill(qtbot, window, SEED_FORM)
    paste_into(qtbot, window, "password", "pass\x00word")
    said = error_text(window, "password")
    assert said == "Password must not contain a NUL character (\\0).", said
    assert not widget(window, "create_button").isEnabled()
    assert _posts(sandbox) == 0
    return f"Create off; beside Password: {said}"


def https_to_a_plain_http_server_here(request: pytest.FixtureRequest) -> str:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    sandbox: SandboxServer = request.getfixturevalue("sandbox")
    netloc = sandbox.base_url.split("://", 1)[1].split("/", 1)[0]
    done = cwdesk("list", "--api-root", f"https://{netloc}", env=cli_env(tmp_path, sandbox))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, f"exit {done.returncode}: {done.stderr[-300:]}"
    assert len(lines) == 1 and f"use http://{netloc}" in lines[0], done.stderr[-300:]
    return f"exit 1: {lines[0]}"


# Labels fit the table's 52 characters; a character a person cannot see is written as \uXXXX.
ROWS: list[OutsideRow] = [
    OutsideRow(
        "names-look-alike-host-window",
        AREA,
        "account host …hаna.ondemand.com (Cyrillic а), window",
        look_alike_host_in_the_dialog,
    ),
    OutsideRow(
        "names-look-alike-host-cwdesk",
        AREA,
        "that host to `cwdesk accounts add --host`",
        look_alike_host_in_cwdesk,
    ),
    OutsideRow(
        "names-international-connectwise-site",
        AREA,
        "Server URL mycоnnectwise.net (Cyrillic о), form",
        international_connectwise_site,
    ),
    OutsideRow(
        "names-right-to-left-override",
        AREA,
        "instance name invoice\\u202egpj.exe typed",
        right_to_left_override_in_a_name,
    ),
    OutsideRow(
        "names-same-but-unicode-form-and-case",
        AREA,
        "“Café Desk” made, then “CAFE\\u0301 DESK” created",
        same_name_but_for_form_and_case,
    ),
    OutsideRow(
        "names-plain-http-site-batch",
        AREA,
        "batch row: Server URL http://api-na.… (cwdesk)",
        plain_http_site_in_a_batch_file,
    ),
    OutsideRow(
        "names-plain-http-site-form",
        AREA,
        "Server URL http://api-na.… typed in the form",
        plain_http_site_in_the_form,
    ),
    OutsideRow(
        "names-nul-in-password",
        AREA,
        "a NUL pasted into the form's Password",
        nul_in_a_password,
    ),
    OutsideRow(
        "names-https-to-plain-http-here",
        AREA,
        "cwdesk --api-root https://<sandbox> (speaks http)",
        https_to_a_plain_http_server_here,
    ),
]
