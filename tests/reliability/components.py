"""The fault matrix's second table: faults met by the parts behind the window — the events
receiver, the records file, the vault, the sandbox — each driven for real (loopback sockets,
files, processes), each row saying what the caller saw.

A row's `run` performs the fault in a fresh folder and returns what the caller saw; it raises
`AssertionError` when the part did not survive (froze, lost something, leaked a secret, or
answered with anything but its clear, typed message).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from core.client import NEXT_PAGE_HEADER, OpenConnectorsClient
from core.errors import InvalidSecretError, TooManyInstancesError
from core.vault import Vault, VaultError, VaultErrorKind
from tests.core.fake_keyrings import HangingKeyring, RawValueKeyring, UnprintableErrorKeyring

ROOT = Path(__file__).resolve().parents[2]
COMPONENT_ROW_PROPERTY = "component_fault_row"
COMMAND_TIMEOUT = 30.0


@dataclass(frozen=True)
class ComponentFault:
    id: str
    part: str  # client, receiver, records, vault, sandbox
    label: str  # the fault, as the user meets it
    run: Callable[[Path], str]


@contextmanager
def _taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _sandbox_command(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.sandbox", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def sandbox_port_taken(tmp: Path) -> str:
    state = tmp / "state" / "sandbox.json"
    with _taken_port() as port:
        done = _sandbox_command("--port", str(port), "--state", str(state), "--quiet")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done
    assert len(lines) == 1 and "already in use" in lines[0], done.stderr
    assert not state.exists(), "a state file of generated secrets was left behind"
    return f"exit 1: {lines[0]}"


def _one_line_exit(done: subprocess.CompletedProcess[str], status: int) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == status, f"exit {done.returncode}: {done.stderr[-300:]}"
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-300:]
    return f"exit {status}: {lines[0]}"


def sandbox_secret_with_newline(tmp: Path) -> str:
    secret = SECRET + "\n, Element x"
    env = {"CW_SANDBOX_USER_SECRET": secret, "CW_SANDBOX_ORGANIZATION_SECRET": SECRET}
    done = _sandbox_command("--quiet", env=env)
    assert SECRET not in done.stdout + done.stderr, "the secret was echoed"
    return _one_line_exit(done, 2)


def sandbox_state_is_a_fifo(tmp: Path) -> str:
    fifo = tmp / "state.json"
    os.mkfifo(fifo)
    return _one_line_exit(_sandbox_command("--state", str(fifo), "--quiet"), 1)


def sandbox_state_too_deep(tmp: Path) -> str:
    state = tmp / "state.json"
    state.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return _one_line_exit(_sandbox_command("--state", str(state), "--quiet"), 1)


class _EndlessList(BaseHTTPRequestHandler):
    """``GET /instances`` that always has another page (each with a new next-page token)."""

    served = 0

    def do_GET(self) -> None:
        type(self).served += 1
        n = type(self).served
        body = json.dumps(
            [
                {"id": n * 1000 + i, "name": f"i{n}-{i}", "element": {"key": "connectwisehd"}}
                for i in range(200)
            ]
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header(NEXT_PAGE_HEADER, f"page-{n}")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def client_endless_list(tmp: Path) -> str:
    _EndlessList.served = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EndlessList)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_address[1]}/elements/api-v2"
        with OpenConnectorsClient(root, user_secret="u", organization_secret="o") as client:
            try:
                client.list_instances()
            except TooManyInstancesError as err:
                message = err.message
            else:
                raise AssertionError("the list never stopped")
    finally:
        server.shutdown()
        server.server_close()
    assert _EndlessList.served <= 101, f"{_EndlessList.served} pages fetched"
    return f"after {_EndlessList.served} requests: {message}"


def client_secret_not_a_header(tmp: Path) -> str:
    root = "https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2"
    try:
        OpenConnectorsClient(root, user_secret=SECRET + "€, Element x", organization_secret="o")
    except InvalidSecretError as err:
        _no_secret(err)
        return err.message
    raise AssertionError("the secret was accepted")


SECRET = "SENTINEL-token-4f1c"
HOST = "127.0.0.1:9"


def _no_secret(err: BaseException) -> None:
    texts = [str(err), repr(err), *(str(a) for a in err.args)]
    texts += [str(getattr(err, n, "")) for n in ("message", "next_step", "detail")]
    assert not [t for t in texts if SECRET in t], "the secret is in the error's text"
    assert err.__cause__ is None and err.__context__ is None, "the backend's error is attached"


def _vault_error(call: Callable[[], object]) -> VaultError:
    try:
        call()
    except VaultError as err:
        _no_secret(err)
        return err
    raise AssertionError("no VaultError")


def vault_unusable_value(tmp: Path) -> str:
    err = _vault_error(lambda: Vault(RawValueKeyring(b"SENTINEL")).load_instance_token(HOST, 7))
    assert err.kind is VaultErrorKind.UNUSABLE, err.kind
    return err.message


def vault_unprintable_error(tmp: Path) -> str:
    vault = Vault(UnprintableErrorKeyring())
    err = _vault_error(lambda: vault.save_instance_token(HOST, 7, SECRET))
    assert err.kind is VaultErrorKind.REFUSED, err.kind
    return f"{err.message} ({err.detail})"


def vault_hung_backend(tmp: Path) -> str:
    backend = HangingKeyring()
    vault = Vault(backend, timeout=0.05)
    before = threading.active_count()
    try:
        errors = [
            _vault_error(partial(vault.save_instance_token, HOST, i, SECRET)) for i in range(20)
        ]
        extra = threading.active_count() - before
    finally:
        backend.release()
    assert extra <= 1, f"{extra} threads held by 20 calls"
    assert all(e.kind is VaultErrorKind.TIMED_OUT for e in errors)
    return f"20 calls: each “{errors[-1].message}”; {extra} thread held"


COMPONENT_FAULTS: tuple[ComponentFault, ...] = (
    ComponentFault(
        "client-endless-list",
        "client",
        "a server whose instance list never ends (new page token each time)",
        client_endless_list,
    ),
    ComponentFault(
        "client-secret-not-a-header",
        "client",
        "a user secret with “€” and “, Element x” in it (Python API)",
        client_secret_not_a_header,
    ),
    ComponentFault(
        "sandbox-port-taken",
        "sandbox",
        "sandbox command on a port already in use",
        sandbox_port_taken,
    ),
    ComponentFault(
        "sandbox-secret-newline",
        "sandbox",
        "sandbox secret from the environment with a line break and a comma",
        sandbox_secret_with_newline,
    ),
    ComponentFault(
        "sandbox-state-fifo",
        "sandbox",
        "sandbox --state naming a FIFO",
        sandbox_state_is_a_fifo,
    ),
    ComponentFault(
        "sandbox-state-deep",
        "sandbox",
        "sandbox --state file nested 100,000 levels deep",
        sandbox_state_too_deep,
    ),
    ComponentFault(
        "vault-unusable-value",
        "vault",
        "password manager returns bytes for a token",
        vault_unusable_value,
    ),
    ComponentFault(
        "vault-unprintable-error",
        "vault",
        "password manager fails with an error that cannot be printed",
        vault_unprintable_error,
    ),
    ComponentFault(
        "vault-hung",
        "vault",
        "password manager hangs (20 calls)",
        vault_hung_backend,
    ),
)
