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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from core.connectwise.check import (
    CheckKind,
    CompanyInfo,
    ConnectWiseCheckError,
    CredentialCheck,
    check_rest_credentials,
    company_info,
)
from core.events.receiver import EventReceiver
from core.openconnectors.client import NEXT_PAGE_HEADER, OpenConnectorsClient
from core.openconnectors.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidSecretError,
    NetworkError,
    OpenConnectorsError,
    OutcomeUnknownError,
    ServerError,
    TooManyInstancesError,
)
from core.openconnectors.hosts import normalize_host
from core.openconnectors.instance import HealthState
from core.sandbox import connectwise_values as cw_values
from core.sandbox.connectwise import ConnectWiseFailure, ConnectWiseSandbox
from core.sandbox.server import SandboxServer
from core.spec.models import Account, InstanceDraft
from core.storage.records import InstanceRecord, RecordsStore
from core.storage.vault import Vault, VaultError, VaultErrorKind
from core.workspace import KEPT_AS_BEFORE, Workspace
from tests.core.fake_keyrings import (
    HangingKeyring,
    MemoryKeyring,
    RawValueKeyring,
    UnprintableErrorKeyring,
)
from tests.core.storage.test_records import _load_in_child, save_from_two_processes
from tests.leaks import exception_texts
from tests.reliability.batch_faults import batch_answer_lost, batch_rate_limited, batch_stopped
from tests.reliability.loopback import ConnectionRecorder, refused_port

ROOT = Path(__file__).resolve().parents[2]
COMPONENT_ROW_PROPERTY = "component_fault_row"
COMMAND_TIMEOUT = 30.0


@dataclass(frozen=True)
class ComponentFault:
    id: str
    part: str  # batch, client, receiver, records, vault, sandbox, cw check
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


_HOST_LINE = b"Host: 127.0.0.1\r\n"


def _raw_exchange(port: int, request: bytes, *, close_early: bool = False) -> bytes:
    """Send `request` over one connection, its Host line naming the port it goes to (the
    servers answer only their own address and port); the answer's bytes (b"" when closed)."""
    request = request.replace(_HOST_LINE, f"Host: 127.0.0.1:{port}\r\n".encode(), 1)
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.sendall(request)
        if close_early:
            return b""
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def _post(path: str, body: bytes, extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    return (head + extra + "\r\n").encode() + body


def _status(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def _receiver_refuses(request: bytes, expected: str) -> str:
    with EventReceiver() as receiver:
        status = _status(_raw_exchange(receiver.port, request))
        time.sleep(0.2)  # an event, had one been made, is recorded after the answer
        listed = receiver.received_count
    assert expected in status, f"answered {status!r}"
    assert listed == 0, f"{listed} events listed"
    return f"{status}; no event listed"


def receiver_chunk_size_not_hex(tmp: Path) -> str:
    body = b"0x2\r\n{}\r\n0\r\n\r\n"
    return _receiver_refuses(_post("/events", body, "Transfer-Encoding: chunked\r\n"), " 400 ")


def receiver_two_content_lengths(tmp: Path) -> str:
    extra = "Content-Length: 2\r\nContent-Length: 3\r\n"
    return _receiver_refuses(_post("/events", b"{} ", extra), " 400 ")


def receiver_deep_json(tmp: Path) -> str:
    body = b"[" * 100_000 + b"]" * 100_000
    return _receiver_refuses(_post("/events", body, f"Content-Length: {len(body)}\r\n"), " 400 ")


def receiver_half_request(tmp: Path) -> str:
    with EventReceiver() as receiver:
        request = _post("/events", b'{"message": ', "Content-Length: 500\r\n")
        _raw_exchange(receiver.port, request, close_early=True)
        time.sleep(0.5)
        listed = receiver.received_count
    assert listed == 0, f"{listed} events listed"
    return "sender closed mid-body: no event listed"


def receiver_flood(tmp: Path) -> str:
    """200 senders dripping their headers, then one real delivery."""
    before = threading.active_count()
    with EventReceiver() as receiver:
        conns = []
        try:
            for _ in range(200):
                conn = socket.create_connection(("127.0.0.1", receiver.port), timeout=5)
                conn.sendall(
                    f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{receiver.port}\r\n".encode()
                )
                conns.append(conn)
            peak = threading.active_count() - before
            body = b'{"message": {"events": []}}'
            answer = _raw_exchange(
                receiver.port, _post("/events", body, f"Content-Length: {len(body)}\r\n")
            )
            listed = receiver.received_count
        finally:
            for conn in conns:
                conn.close()
    assert peak <= 40, f"{peak} threads for 200 senders"
    assert " 200 " in _status(answer) and listed == 1, _status(answer)
    return f"200 dripping senders held {peak} threads; a real delivery: {_status(answer)}"


def receiver_kept_bytes(tmp: Path) -> str:
    body = b'{"message": {"events": [], "pad": "' + b"x" * 900_000 + b'"}}'
    with EventReceiver(max_bytes=8 << 20) as receiver:
        request = _post("/events", body, f"Content-Length: {len(body)}\r\n")
        for _ in range(30):
            _raw_exchange(receiver.port, request)
        kept, dropped = receiver.kept_bytes, receiver.dropped_count
    assert kept <= 8 << 20 and dropped > 0, (kept, dropped)
    return f"30 posts of 0.9 MB: {kept / 2**20:.1f} MiB kept (cap 8 MiB), {dropped} dropped"


def sandbox_idle_connections(tmp: Path) -> str:
    before = threading.active_count()
    with SandboxServer(log_requests=False) as server:
        port = int(server.base_url.split(":")[2].split("/")[0])
        conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
        try:
            time.sleep(0.5)
            peak = threading.active_count() - before
            auth = f"Authorization: {server.authorization}\r\n"
            answer = _raw_exchange(
                port,
                f"GET /elements/api-v2/elements/connectwisehd HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n{auth}\r\n".encode(),
            )
        finally:
            for conn in conns:
                conn.close()
    assert peak <= 40, f"{peak} threads for 200 idle connections"
    assert " 200 " in _status(answer), _status(answer)
    return f"200 idle connections held {peak} threads; an API call: {_status(answer)}"


def sandbox_deep_json(tmp: Path) -> str:
    body = b"[" * 100_000 + b"]" * 100_000
    with SandboxServer(log_requests=False) as server:
        port = int(server.base_url.split(":")[2].split("/")[0])
        extra = f"Authorization: {server.authorization}\r\nContent-Length: {len(body)}\r\n"
        answer = _raw_exchange(port, _post("/elements/api-v2/instances", body, extra))
    status, message = _status(answer), json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"]
    assert " 400 " in status and "nested deeper" in message, answer[-300:]
    return f"{status}: {message}"


def _rec(ident: str) -> InstanceRecord:
    return InstanceRecord(id=ident, name="n", connector="connectwisehd", host="api.example.test")


def records_two_stores(tmp: Path) -> str:
    a, b = RecordsStore(tmp), RecordsStore(tmp)
    a.records()
    b.put(_rec("777"))
    a.put(_rec("888"))  # A read the file before B saved
    ids = sorted(r.id for r in RecordsStore(tmp).records())
    assert ids == ["777", "888"], ids
    return "A loaded, B saved 777, A saved 888: the list holds 777 and 888"


def records_two_processes(tmp: Path) -> str:
    kept = len(RecordsStore(save_from_two_processes(tmp, 100)).records())
    assert kept == 200, f"{kept} of 200 kept"
    return f"two processes saved 100 each at once: {kept} of 200 kept"


def _records_problem(tmp: Path) -> str:
    result = _load_in_child(tmp)
    assert result["records"] == 0 and result["problem"], result
    assert result["peak_rss_mb"] is None or result["peak_rss_mb"] < 200, result["peak_rss_mb"]
    return str(result["problem"]).replace(str(tmp), "…")


def records_fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "instances.json")
    return _records_problem(tmp)


def records_dev_zero(tmp: Path) -> str:
    (tmp / "instances.json").symlink_to("/dev/zero")
    return _records_problem(tmp)


def records_500_mb(tmp: Path) -> str:
    with (tmp / "instances.json").open("wb") as handle:
        handle.truncate(500 * 1024 * 1024)  # sparse
    return _records_problem(tmp)


def records_too_deep(tmp: Path) -> str:
    (tmp / "instances.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    return _records_problem(tmp)


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


# --- the ConnectWise checks (core.connectwise.check) against the ConnectWise sandbox ---------------

CW_TIMEOUT = (1.0, 1.0)  # connect, read: the whole answer within 2 s


def _cw_check(run: Callable[[ConnectWiseSandbox], object], kind: CheckKind) -> str:
    """Run a check against a fresh ConnectWise sandbox; the typed outcome it must end in."""
    with ConnectWiseSandbox() as cw:
        started = time.monotonic()
        try:
            run(cw)
        except ConnectWiseCheckError as err:
            outcome = err.outcome
            texts = exception_texts(err)
        else:
            raise AssertionError("the check passed")
        took = time.monotonic() - started
    assert outcome.kind is kind, f"{outcome.kind}: {outcome.message}"
    assert cw_values.PRIVATE_KEY not in texts, "the private key is in the error's text"
    assert took < sum(CW_TIMEOUT) + 1.0, f"took {took:.1f} s"
    return f"{outcome.kind.value} in {took:.1f} s: {outcome.message}"


def _cw_keys(
    cw: ConnectWiseSandbox,
    *,
    codebase: str = cw_values.CODEBASE,
    client_id: str = cw_values.CLIENT_ID,
) -> CredentialCheck:
    return check_rest_credentials(
        cw.site,
        codebase,
        cw_values.COMPANY,
        cw_values.PUBLIC_KEY,
        cw_values.PRIVATE_KEY,
        client_id,
        timeout=CW_TIMEOUT,
    )


def _cw_company(cw: ConnectWiseSandbox) -> CompanyInfo:
    return company_info(cw.site, cw_values.COMPANY, timeout=CW_TIMEOUT)


def cw_site_refused(tmp: Path) -> str:
    with refused_port() as port:
        return _cw_check(
            lambda cw: company_info(f"http://127.0.0.1:{port}", "x", timeout=CW_TIMEOUT),
            CheckKind.SITE_NOT_FOUND,
        )


def cw_html_page(tmp: Path) -> str:
    return _cw_check(
        lambda cw: (cw.inject(ConnectWiseFailure.HTML), _cw_company(cw)),
        CheckKind.NOT_CONNECTWISE,
    )


def cw_ssl_required(tmp: Path) -> str:
    return _cw_check(
        lambda cw: (cw.inject(ConnectWiseFailure.SSL_REQUIRED), _cw_keys(cw)),
        CheckKind.NEEDS_API_PREFIX,
    )


def cw_slow_answer(tmp: Path) -> str:
    return _cw_check(
        lambda cw: (cw.faults.add("GET", "system/info", delay=10.0), _cw_keys(cw)),
        CheckKind.TIMEOUT,
    )


def cw_huge_answer(tmp: Path) -> str:
    body = '{"version": "' + "x" * (20 << 20) + '"}'
    return _cw_check(
        lambda cw: (cw.faults.add("GET", "system/info", status=200, body=body), _cw_keys(cw)),
        CheckKind.NOT_CONNECTWISE,
    )


def cw_retired_codebase(tmp: Path) -> str:
    return _cw_check(lambda cw: _cw_keys(cw, codebase="v2019_3/"), CheckKind.CODEBASE_RETIRED)


def cw_wrong_client_id(tmp: Path) -> str:
    return _cw_check(lambda cw: _cw_keys(cw, client_id="someone-else"), CheckKind.CLIENT_ID_REFUSED)


def cw_redirect_with_keys(tmp: Path) -> str:
    recorder = ConnectionRecorder().start()
    try:
        target = f"http://127.0.0.1:{recorder.port}/steal"
        saw = _cw_check(
            lambda cw: (
                cw.faults.add("GET", "system/info", status=307, headers={"Location": target}),
                _cw_keys(cw),
            ),
            CheckKind.NOT_CONNECTWISE,
        )
    finally:
        recorder.stop()
    assert recorder.connections == 0, "the redirect was followed"
    return saw + " (redirect target: 0 connections)"


# --- after the create: each new action under each server fault, through the workspace ---------

ACTION_PASSWORD = "SENTINEL-reauth-password-77"
# action → (method, path regex) of the one request the fault hits
ACTION_REQUESTS = {
    "reauthenticate": ("PUT", r"/instances/\d+$"),
    "enable": ("PUT", r"/instances/enabled$"),
    "disable": ("DELETE", r"/instances/enabled$"),
    "ping": ("GET", r"/hubs/helpdesk/ping$"),
    "configuration": ("GET", r"/configuration$"),
}
# fault → the rule's arguments; "unknown": the connection closes once the request is in
# (dropped before it is handled, so the lookup finds it not done: the outcome stays unknown).
ACTION_FAULTS: dict[str, dict[str, object]] = {
    "unknown": {"drop": "before"},
    "401": {"status": 401},
    "403": {"status": 403},
    "5xx": {"status": 503},
}
# What each fault must end in, for the actions that raise.
ACTION_ERRORS: dict[str, type[OpenConnectorsError]] = {
    "unknown": OutcomeUnknownError,
    "401": AuthenticationError,
    "403": ForbiddenError,
    "5xx": ServerError,
}
PING_STATES = {
    "unknown": HealthState.UNREACHABLE,
    "401": HealthState.INVALID_CREDENTIALS,
    "403": HealthState.DISABLED,
    "5xx": HealthState.FAILING,
}


def _action_draft(name: str) -> InstanceDraft:
    return InstanceDraft(
        connector="connectwisehd",
        name=name,
        server_url="https://api-na.myconnectwise.net",
        company="acme",
        username="integrator",
        password=ACTION_PASSWORD,
    )


def _action_under_fault(action: str, fault: str, tmp: Path) -> str:
    """Run `action` on a fresh instance with `fault` on its request; what the caller saw.

    Survived when: the typed error (or health) for that fault; a change sent once; the
    record and the stored token as before (a failed change leaves them, and says so for a
    re-authentication); no password or token in anything the error shows.
    """
    method, path = ACTION_REQUESTS[action]
    with SandboxServer() as server:
        account = Account(
            name="Local",
            api_root=server.base_url,
            user_secret=server.user_secret,
            organization_secret=server.organization_secret,
        )
        ws = Workspace(
            Vault(MemoryKeyring(), timeout=2.0),
            RecordsStore(tmp),
            client_options={"backoff": 0.01, "timeout": (1.0, 2.0)},
        )
        made = ws.create(account, _action_draft("Fault row")).instance
        ident, token = str(made.id), made.token or ""
        host = normalize_host(account.api_root)
        if action == "enable":
            ws.set_enabled(account, ident, False)  # something to enable
        record_before = ws.records.get(host, ident)
        server.faults.add(method, path, **ACTION_FAULTS[fault])  # type: ignore[arg-type]
        sent_before = sum(1 for r in server.request_log() if r.method == method)

        outcome: str
        try:
            if action == "reauthenticate":
                ws.reauthenticate(account, ident, _action_draft("Fault row, renewed"))
            elif action in ("enable", "disable"):
                ws.set_enabled(account, ident, action == "enable")
            elif action == "ping":
                health = ws.check_health(account, ident)
                assert health.state is PING_STATES[fault], f"ping said {health.state}"
                assert token not in repr(health) and token not in health.summary
                outcome = f"health {health.state.value}: {health.summary}"
            else:
                ws.configuration(account, ident)
        except OpenConnectorsError as exc:
            expected: type[OpenConnectorsError] = ACTION_ERRORS[fault]
            if action == "configuration" and fault == "unknown":
                expected = NetworkError  # a read: it never changes anything, so not "unknown"
            assert isinstance(exc, expected), f"{type(exc).__name__}: {exc.message}"
            texts = exception_texts(exc)
            assert ACTION_PASSWORD not in texts and token not in texts, "a secret in the error"
            if action == "reauthenticate":
                assert KEPT_AS_BEFORE in exc.next_step, "it does not say what was kept"
            outcome = f"{type(exc).__name__}: {exc.message}"
        else:
            if action != "ping":
                raise AssertionError(f"{action} succeeded under {fault}")
        sent = sum(1 for r in server.request_log() if r.method == method) - sent_before
        if method != "GET":
            assert sent == 1, f"{method} sent {sent} times"
        assert ws.records.get(host, ident) == record_before, "the record changed"
        assert ws.token(account, ident) == token, "the stored token changed"
    return f"{outcome} ({sent} {method}; record and token as before)"


ACTION_ROWS: tuple[ComponentFault, ...] = tuple(
    ComponentFault(
        f"action-{action}-{fault}",
        "action",
        f"{action}: {'no answer after sending' if fault == 'unknown' else fault}",
        partial(_action_under_fault, action, fault),
    )
    for action in ACTION_REQUESTS
    for fault in ACTION_FAULTS
)


COMPONENT_FAULTS: tuple[ComponentFault, ...] = (
    ComponentFault(
        "batch-429",
        "batch",
        "a batch of 12 rows meets three 429s (Retry-After 0.5 s), then runs again",
        batch_rate_limited,
    ),
    ComponentFault(
        "batch-answer-lost",
        "batch",
        "mid-batch, one create's answer is lost and another never arrives; then runs again",
        batch_answer_lost,
    ),
    ComponentFault(
        "batch-stopped",
        "batch",
        "a batch stopped after its third row, then run again",
        batch_stopped,
    ),
    ComponentFault(
        "records-two-stores", "records", "two windows share the records folder", records_two_stores
    ),
    ComponentFault(
        "records-two-processes",
        "records",
        "two processes save instances at once",
        records_two_processes,
    ),
    ComponentFault(
        "records-fifo", "records", "a named pipe in place of instances.json", records_fifo
    ),
    ComponentFault(
        "records-dev-zero", "records", "instances.json is a link to /dev/zero", records_dev_zero
    ),
    ComponentFault("records-500-mb", "records", "a 500 MB instances.json", records_500_mb),
    ComponentFault(
        "records-too-deep",
        "records",
        "instances.json nested 100,000 levels deep",
        records_too_deep,
    ),
    ComponentFault(
        "receiver-flood",
        "receiver",
        "200 local senders dripping their headers at the events receiver",
        receiver_flood,
    ),
    ComponentFault(
        "receiver-half-request",
        "receiver",
        "a sender that sends half a request and closes",
        receiver_half_request,
    ),
    ComponentFault(
        "receiver-chunk-not-hex",
        "receiver",
        "a chunk size written 0x2",
        receiver_chunk_size_not_hex,
    ),
    ComponentFault(
        "receiver-two-lengths",
        "receiver",
        "two different Content-Length headers",
        receiver_two_content_lengths,
    ),
    ComponentFault(
        "receiver-deep-json",
        "receiver",
        "an event body nested 100,000 levels deep",
        receiver_deep_json,
    ),
    ComponentFault(
        "receiver-kept-bytes",
        "receiver",
        "more event bytes than the receiver keeps",
        receiver_kept_bytes,
    ),
    ComponentFault(
        "sandbox-idle-connections",
        "sandbox",
        "200 idle connections to the sandbox",
        sandbox_idle_connections,
    ),
    ComponentFault(
        "sandbox-deep-json",
        "sandbox",
        "a create body nested 100,000 levels deep sent to the sandbox",
        sandbox_deep_json,
    ),
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
    ComponentFault(
        "cw-site-refused", "cw check", "ConnectWise site refuses the connection", cw_site_refused
    ),
    ComponentFault("cw-html", "cw check", "ConnectWise site answers an HTML page", cw_html_page),
    ComponentFault(
        "cw-ssl-required", "cw check", 'ConnectWise answers "SSL is required."', cw_ssl_required
    ),
    ComponentFault("cw-slow", "cw check", "ConnectWise answers after 10 s", cw_slow_answer),
    ComponentFault("cw-huge", "cw check", "ConnectWise answers 20 MB", cw_huge_answer),
    ComponentFault(
        "cw-retired-codebase",
        "cw check",
        "REST keys checked on a retired codebase",
        cw_retired_codebase,
    ),
    ComponentFault(
        "cw-client-id", "cw check", "REST keys checked with a wrong clientId", cw_wrong_client_id
    ),
    ComponentFault(
        "cw-redirect",
        "cw check",
        "ConnectWise redirects the keys to another address",
        cw_redirect_with_keys,
    ),
    *ACTION_ROWS,
)
