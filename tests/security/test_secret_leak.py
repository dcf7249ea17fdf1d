"""The whole flow with sentinel secrets and DEBUG logging: no secret may appear in any file
the app wrote, nor on stdout/stderr. And account secrets no header can carry (a line break,
"€", "”", a comma, ", Element x"), given to the Python API and to the window: refused with
our own message, which, like every log line and every exception linked to it, holds no
part of them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from core.openconnectors.client import OpenConnectorsClient
from core.openconnectors.errors import InvalidSecretError
from core.sandbox import SandboxServer
from core.spec.models import Account, InstanceDraft, field_errors
from core.storage.log_file import start_log_file
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from gui.accounts.dialog import AddAccountDialog
from gui.main_window import MainWindow
from gui.settings import Preferences, SavedAccount
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.helpers import fill, widget
from tests.leaks import exception_texts

USER = "SENTINELuserSecret4711"
ORG = "SENTINELorgSecret0815"
PASSWORD = "SENTINEL-cw-password-1234"
SIGNATURE = "SENTINEL-signature-key-abcdef"


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """The app's own log file (what `gui.app.main` starts), at DEBUG."""
    log_file = start_log_file(tmp_path / "log", level=logging.DEBUG)
    assert log_file.handler is not None, log_file.error
    yield log_file.path
    log_file.close()


def _accept_next_box() -> None:
    """Answer the next modal question with Yes, as the user would."""

    def press() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            QTimer.singleShot(20, press)

    QTimer.singleShot(20, press)


def test_no_secret_reaches_disk_logs_or_output(
    qtbot: QtBot,
    tmp_path: Path,
    make_window: Callable[..., MainWindow],
    debug_log: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "data"
    settings_path = tmp_path / "settings.ini"
    keyring = MemoryKeyring()
    workspace = Workspace(Vault(keyring), RecordsStore(data_dir))
    with SandboxServer(user_secret=USER, organization_secret=ORG) as sandbox:
        account = Account(
            name="Leak test", api_root=sandbox.base_url, user_secret=USER, organization_secret=ORG
        )
        workspace.save_account(account)
        settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
        Preferences(settings).set_accounts([SavedAccount(account.name, account.api_root)])
        window = make_window(None, workspace)
        window.prefs = Preferences(settings)  # the window writes its preferences into this file
        qtbot.waitUntil(lambda: window.create_tab.account is not None, timeout=5000)

        fill(
            qtbot,
            window,
            {
                "name": "Leak check",
                "tags": "leak",
                "server_url": "api-na.myconnectwise.net",
                "company": "acme",
                "username": "integrator",
                "password": PASSWORD,
                "events_enabled": True,
                "callback_url": window.events_tab.receiver.url,
                "signature_key": SIGNATURE,
            },
        )
        window.create_tab.preview_toggle.click()  # the preview is shown, masked
        preview = window.create_tab.preview
        assert preview is not None and PASSWORD not in preview.toPlainText()
        qtbot.mouseClick(widget(window, "copy_curl_button"), Qt.MouseButton.LeftButton)
        curl = QApplication.clipboard().text()
        assert PASSWORD not in curl and SIGNATURE not in curl and USER not in curl

        qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
        (instance,) = sandbox.instances()
        token = instance.token
        qtbot.mouseClick(widget(window, "copy_token_button"), Qt.MouseButton.LeftButton)
        assert QApplication.clipboard().text() == token

        sandbox.simulate_change(instance.id)
        sandbox.wait_for_deliveries()
        window.show_tab(window.instances_tab)
        qtbot.mouseClick(widget(window, "refresh_button"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.instances_tab.model.rowCount() == 1, timeout=5000)
        window.instances_tab.view.selectRow(0)
        _accept_next_box()
        qtbot.mouseClick(widget(window, "delete_button"), Qt.MouseButton.LeftButton)
        # What the user sees first: the server's state changes before its answer is sent.
        qtbot.waitUntil(lambda: window.instances_tab.model.rowCount() == 0, timeout=5000)
        assert sandbox.instances() == []
        window.close()
        settings.sync()

    out, err = capfd.readouterr()
    sentinels = {
        "user secret": USER,
        "organization secret": ORG,
        "password": PASSWORD,
        "signature key": SIGNATURE,
        "token": token,
    }
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert settings_path in written and debug_log in written
    assert debug_log.name == "cw-connector-desk.log"  # the app's log file is searched too
    assert any(p.name == "instances.json" for p in written)
    assert debug_log.stat().st_size > 0  # DEBUG logging really ran
    hits = [
        f"{what} in {place}"
        for place, text in [
            *((str(p), p.read_bytes().decode("utf-8", "replace")) for p in written),
            ("stdout", out),
            ("stderr", err),
        ]
        for what, value in sentinels.items()
        if value in text
    ]
    assert hits == []


# --- account secrets no header can carry ----------------------------------------------------

BAD = "SENTINELbadSecret9931"  # the part of every input below that must show nowhere
BAD_INPUTS = {
    "line-break": f"{BAD}\nrest",
    "euro": f"{BAD}€",
    "curly-quote": f"{BAD}”",
    "comma": f"{BAD},rest",
    "element-part": f"{BAD}, Element x",
}


@pytest.mark.parametrize("which", ["user", "organization"])
@pytest.mark.parametrize("secret", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_a_secret_no_header_can_carry_is_refused_without_a_trace_of_it(
    qtbot: QtBot,
    debug_log: Path,
    capfd: pytest.CaptureFixture[str],
    secret: str,
    which: str,
) -> None:
    log = logging.getLogger("leak-check")
    shown: list[str] = []
    user, org = (secret, ORG) if which == "user" else (USER, secret)
    with SandboxServer(user_secret=USER, organization_secret=ORG) as sandbox:
        # The Python API: refused where it enters, before anything is sent.
        with pytest.raises(InvalidSecretError) as info:
            OpenConnectorsClient(sandbox.base_url, user, org)
        log.error("could not connect: %s", info.value)
        log.exception("could not connect", exc_info=info.value)
        shown.append(exception_texts(info.value))
        assert sandbox.request_log() == []

        # The window's model, and the Add account dialog built on it.
        with pytest.raises(ValidationError) as invalid:
            Account(api_root=sandbox.base_url, user_secret=user, organization_secret=org)
        log.error("account refused: %s", invalid.value)
        shown += [exception_texts(invalid.value), repr(invalid.value.errors())]
        dialog = AddAccountDialog()
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        dialog.host.setCurrentIndex(dialog.host.count() - 1)  # custom address
        # Pasted, as a secret is; then each field is left, as a person moves on.
        for edit, text in (
            (dialog.custom, sandbox.base_url),
            (dialog.user.edit, user),
            (dialog.organization.edit, org),
        ):
            edit.setFocus()
            edit.setText(text)
            qtbot.keyClick(edit, Qt.Key.Key_Tab)
        save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
        assert not save.isEnabled()  # checked as typed: nothing to save
        assert dialog.account is None
        messages = [label.text() for label in dialog.findChildren(QLabel)]
        field = f"{which}_secret"
        assert dialog.errors[field].text() == field_errors(invalid.value)[field] != ""
        shown += messages

    out, err = capfd.readouterr()
    logged = debug_log.read_text(encoding="utf-8")
    assert "could not connect" in logged  # the log really got the errors
    for place, text in [*(("shown", t) for t in shown), ("log", logged), ("out", out + err)]:
        assert BAD not in text, f"the secret is in the {place}: {text[:300]!r}"


def test_a_secret_with_its_file_s_newline_works_and_leaves_no_trace(
    debug_log: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    draft = InstanceDraft(
        name="Newline check",
        server_url="api-na.myconnectwise.net",
        company="acme",
        username="integrator",
        password=PASSWORD,
    )
    with SandboxServer(user_secret=USER, organization_secret=ORG) as sandbox:
        with OpenConnectorsClient(sandbox.base_url, USER + "\n", " " + ORG + "\r\n") as client:
            instance = client.create_instance(draft)
        account = Account(
            api_root=sandbox.base_url, user_secret=USER + "\n", organization_secret=ORG
        )
        assert account.user_secret.get_secret_value() == USER
        assert [i.id for i in sandbox.instances()] == [instance.id]

    out, err = capfd.readouterr()
    written = debug_log.read_text(encoding="utf-8") + out + err
    assert "POST /instances" in written  # DEBUG logging ran
    for value in (USER, ORG, PASSWORD, instance.token or "no token"):
        assert value not in written


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_leaves_no_secret_in_its_output_files_or_results(
    tmp_path: Path,
) -> None:
    """`cwdesk` as its own process, through accounts, create, list, token and a batch that
    meets a 429, a lost answer and an invalid row: no secret or token in anything it printed
    or wrote (the batch file, which holds the passwords, is the user's own)."""
    import os
    import subprocess
    import sys

    from tests.batch_files import CREATE_PATH, write_csv

    root = Path(__file__).resolve().parents[2]
    written_here = tmp_path / "written"
    outside = tmp_path / "outside"
    outside.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "XDG_CONFIG_HOME": str(written_here / "config"),
        "XDG_STATE_HOME": str(written_here / "state"),
        "CW_CONNECTOR_DESK_DATA_DIR": str(written_here / "data"),
        "PYTHON_KEYRING_BACKEND": "tests.core.fake_keyrings.FileKeyring",
        "TEST_KEYRING_FILE": str(outside / "keyring.json"),  # the password manager's store
        "CWDESK_USER_SECRET": USER,
        "CWDESK_ORGANIZATION_SECRET": ORG,
        "CWDESK_PASSWORD": PASSWORD,
        "CWDESK_SIGNATURE_KEY": SIGNATURE,
    }
    outputs: list[str] = []

    def cwdesk(*argv: str) -> int:
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", *argv],
            cwd=written_here,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        outputs.extend([done.stdout, done.stderr])
        return done.returncode

    rows = [
        {
            "name": f"Leak {n}",
            "server_url": "https://api-na.myconnectwise.net",
            "company": "acme",
            "username": "u",
            "password": f"{PASSWORD}-{n}",
            "events_enabled": "yes",
            "callback_url": "https://example.com/events",
            "signature_key": f"{SIGNATURE}-{n}" if n != 3 else "short",
        }
        for n in range(1, 7)
    ]
    written_here.mkdir()
    source = write_csv(outside / "batch.csv", rows, tuple(rows[0]))
    with SandboxServer(USER, ORG) as sandbox:
        assert cwdesk("accounts", "add", "Leaky", "--host", sandbox.base_url) == 0
        assert cwdesk("accounts", "test", "Leaky") == 0
        created = cwdesk(
            "create",
            "--account",
            "Leaky",
            "--name",
            "One",
            "--set",
            "server_url=https://api-na.myconnectwise.net",
            "--set",
            "company=acme",
            "--set",
            "username=u",
            "--set",
            "events_enabled=on",
            "--set",
            "callback_url=https://example.com/events",
        )
        assert created == 0, outputs
        assert cwdesk("list", "--account", "Leaky") == 0
        assert cwdesk("list", "--account", "Leaky", "--json") == 0
        assert cwdesk("token", str(sandbox.instances()[0].id), "--account", "Leaky") == 0
        assert cwdesk("batch", str(source), "--account", "Leaky", "--dry-run") == 2
        results = written_here / "results.csv"
        sandbox.faults.add(
            method="POST", path=CREATE_PATH, status=429, headers={"Retry-After": "0.2"}, times=1
        )
        sandbox.faults.add(method="POST", path=CREATE_PATH, drop="after", times=1)
        assert (
            cwdesk(
                "batch",
                str(source),
                "--account",
                "Leaky",
                "--skip-invalid",
                "--results",
                str(results),
            )
            == 1
        )
        assert cwdesk("list", "--api-root", sandbox.base_url) == 0
        tokens = [i.token for i in sandbox.instances()]
        assert len(tokens) == 6  # one create, five valid rows (one found after its lost answer)
    assert "answer was lost" in results.read_text(encoding="utf-8")  # the lookup path ran
    sentinels = [USER, ORG, PASSWORD, SIGNATURE, *tokens]
    written = [p for p in written_here.rglob("*") if p.is_file()]
    assert results in written and any(p.name == "accounts.json" for p in written)
    hits = [
        f"{value[:8]}… in {place}"
        for place, text in [
            *((str(p), p.read_bytes().decode("utf-8", "replace")) for p in written),
            *(("output", o) for o in outputs),
        ]
        for value in sentinels
        if value in text
    ]
    assert hits == []


def test_the_clipboard_tool_and_its_clearer_hold_no_secret(tmp_path: Path) -> None:
    """`cwdesk token --copy` on a real X display: the xclip left serving the copy and the
    helper that clears it later are read in ``/proc/<pid>/environ`` and ``cmdline``, as any
    process of the same user can, for every secret the command had in its environment."""
    import os
    import signal
    import subprocess
    import sys

    from tests.installed.conftest import tool, virtual_display
    from tests.leaks import spawned_with
    from tests.seed import SEED_BODY

    tool("xclip", "xclip")
    root = Path(__file__).resolve().parents[2]
    with virtual_display("640x480x24") as display, SandboxServer(USER, ORG) as sandbox:
        instance = sandbox.add_instance("Leak", SEED_BODY["configuration"])
        env = {
            **os.environ,
            "DISPLAY": display,
            "PYTHONPATH": str(root),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "PYTHON_KEYRING_BACKEND": "tests.core.fake_keyrings.FileKeyring",
            "TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
            "CWDESK_USER_SECRET": USER,
            "CWDESK_ORGANIZATION_SECRET": ORG,
            "CWDESK_PASSWORD": PASSWORD,
            "CWDESK_SIGNATURE_KEY": SIGNATURE,
        }
        env.pop("WAYLAND_DISPLAY", None)
        command = ["token", str(instance.id), "--copy", "--api-root", sandbox.base_url]
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        spawned = spawned_with("DISPLAY", display)
        names = {Path(p.argv[0]).name for p in spawned} | {a for p in spawned for a in p.argv}
        assert "xclip" in names and "core.clipboard" in names  # the tool and its clearer
        token = instance.token or "no token"
        hits = [
            f"{what} in process {p.pid} ({Path(p.argv[0]).name})"
            for p in spawned
            for what, value in {
                "user secret": USER,
                "organization secret": ORG,
                "password": PASSWORD,
                "signature key": SIGNATURE,
                "token": token,
            }.items()
            if value in p.texts
        ]
        for process in spawned:  # ours, by pid: none is left waiting to clear the copy
            if "core.clipboard" in process.argv:
                os.kill(process.pid, signal.SIGTERM)
        assert hits == []
        assert token not in done.stdout + done.stderr
