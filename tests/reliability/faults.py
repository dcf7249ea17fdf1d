"""The fault matrix: one table of server and network faults, and the one runner that drives the
real window through each of them.

Both the pytest suite (`test_fault_matrix.py`) and the table printer (`matrix.py`, which runs
that suite) use what is defined here, so there is one definition of every fault and check.

Each fault is made for real where a socket can make it: the sandbox's fault injection (status,
body, headers, delay, drop before/after), a relay in front of the sandbox (TCP reset, a slowly
dribbled answer), a loopback port that refuses, https to a plain-HTTP loopback port. Only what
needs the outside world (DNS, a connect timeout, a certificate failure) is raised by
`responses` in the exact shape requests raises it; those target a `.invalid` host, so even a
mistake could not reach a real address.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
import responses
import urllib3.exceptions
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from pytestqt.exceptions import TimeoutError as QtWaitTimeout
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.spec.models import Account
from core.workspace import Workspace
from gui.main_window import MainWindow
from gui.settings import Preferences, SavedAccount
from tests.gui.helpers import SEED_FORM
from tests.reliability.loopback import ConnectionRecorder, RelayProxy, refused_port

NAME = "Fault matrix help desk"
# Sentinel secrets: none may ever show in what the window says.
FORM: dict[str, Any] = {
    **SEED_FORM,
    "name": NAME,
    "password": "pw-SENTINEL-7781",
    "signature_key": "sig-SENTINEL-key-4410",
}
SECRET_FIELDS = ("password", "signature_key")
# (connect, read): short, so the timeout faults stay quick. A whole answer must arrive within
# their sum.
CLIENT_TIMEOUT = (1.0, 1.5)
LATE = 3.0  # seconds a "late" sandbox waits before handling: past the read timeout
TICK_MS = 5
MAX_GAP_MS = 250.0
SETTLE_MS = 12_000  # the longest a fault may take to show its outcome
INVALID_ROOT = "https://api.fault-matrix.invalid/elements/api-v2"
ROW_PROPERTY = "fault_matrix_row"  # how a test hands its table row to matrix.py
CREATE_PATH = r"/instances$"

Target = Literal["sandbox", "relay", "refused", "tls", "mock"]


# --- the environment a fault is set up in -------------------------------------------------------


@dataclass
class Env:
    sandbox: SandboxServer
    stack: contextlib.ExitStack  # what a fault starts, it stops through this
    root: str = ""  # the API root the window's account uses
    relay: RelayProxy | None = None
    recorder: ConnectionRecorder | None = None
    mock: responses.RequestsMock | None = None

    def add_fault(self, **rule: Any) -> None:
        self.sandbox.faults.add("POST", CREATE_PATH, times=1, **rule)


Arrange = Callable[[Env], None]


@dataclass(frozen=True)
class Fault:
    id: str  # pytest id
    label: str  # the table's first column
    target: Target
    arrange: Arrange
    outcome: Literal["error", "created"]
    says: tuple[str, ...]  # each must appear (case-insensitive) in what the window shows
    instances: int | None  # instances named NAME on the server afterwards; None: no server
    posts: int  # create requests the server (sandbox or mock) received: never more than one
    lookup: bool = False  # the app must look the instance up after the POST (outcome unknown)
    check: Callable[[Env], str | None] | None = None  # one more check; returns a problem


# --- how each fault is made -------------------------------------------------------------------


def _nothing(env: Env) -> None:
    return None


def _status(
    status: int,
    body: Any = None,
    *,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> Arrange:
    """Answer the create with `status`; a dict body is sent as JSON, a str body as is."""

    def arrange(env: Env) -> None:
        rule: dict[str, Any] = {"status": status, "headers": headers or {}}
        if isinstance(body, dict):
            rule.update(body=json.dumps(body), content_type="application/json")
        elif body is not None:
            rule.update(body=body, content_type=content_type)
        env.add_fault(**rule)

    return arrange


def _drop(when: Literal["before", "after"], delay: float = 0.0) -> Arrange:
    return lambda env: env.add_fault(drop=when, delay=delay)


def _late(env: Env) -> None:
    env.add_fault(delay=LATE)


def _relay(mode: Literal["reset", "dribble"]) -> Arrange:
    def arrange(env: Env) -> None:
        assert env.relay is not None
        env.relay.add_rule("POST", CREATE_PATH, mode, interval=0.05)

    return arrange


AnswerMode = Literal["drip-all", "continue", "truncate"]
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class AnswerRelay(RelayProxy):
    """The relay, whose dribbled answer can also be made hostile before the status line.

    The create still reaches the sandbox (the instance is made); then its answer is
    - ``drip-all``: one ``100 Continue`` at once, then the status line, headers and body one
      byte a second;
    - ``continue``: ``100 Continue`` after ``100 Continue``, a byte every 2 ms (thousands of
      them: more than any deadline waits for);
    - ``truncate``: announced with a Content-Length 1,000 bytes longer than what is sent
      before the connection closes.
    Without a mode it is the plain relay.
    """

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.mode: AnswerMode | None = None

    def _forward(self, request: bytes) -> bytes:
        answer = super()._forward(request)
        if self.mode is None or not request.startswith(b"POST "):
            return answer
        if self.mode == "drip-all":
            return CONTINUE + answer
        if self.mode == "continue":
            return CONTINUE * 10_000 + answer
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = [
            b"Content-Length: %d" % (len(body) + 1000)
            if line.lower().startswith(b"content-length:")
            else line
            for line in head.split(b"\r\n")
        ]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _answer(mode: AnswerMode, interval: float) -> Arrange:
    def arrange(env: Env) -> None:
        assert isinstance(env.relay, AnswerRelay)
        env.relay.mode = mode
        env.relay.add_rule("POST", CREATE_PATH, "dribble", interval=interval)

    return arrange


def _raises(make: Callable[[str], BaseException]) -> Arrange:
    def arrange(env: Env) -> None:
        assert env.mock is not None
        url = f"{env.root}/instances"
        env.mock.add(responses.POST, url, body=make(url))

    return arrange


def _max_retry(url: str, reason: Exception) -> urllib3.exceptions.MaxRetryError:
    return urllib3.exceptions.MaxRetryError(None, url, reason)  # type: ignore[arg-type]


def _dns_error(url: str) -> BaseException:
    # What requests raises when getaddrinfo fails (EAI_NONAME).
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    reason = urllib3.exceptions.NameResolutionError("api.fault-matrix.invalid", None, gai)  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(_max_retry(url, reason))


def _connect_timeout(url: str) -> BaseException:
    reason = urllib3.exceptions.ConnectTimeoutError(
        None, "Connection to api.fault-matrix.invalid timed out. (connect timeout=1.0)"
    )
    return requests.exceptions.ConnectTimeout(_max_retry(url, reason))


def _certificate_error(url: str) -> BaseException:
    cause = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    return requests.exceptions.SSLError(_max_retry(url, urllib3.exceptions.SSLError(cause)))


def _redirect(env: Env) -> None:
    env.recorder = ConnectionRecorder().start()
    env.stack.callback(env.recorder.stop)
    location = f"http://127.0.0.1:{env.recorder.port}/elements/api-v2/instances"
    env.add_fault(status=307, headers={"Location": location})


def _redirect_target_untouched(env: Env) -> str | None:
    assert env.recorder is not None
    if env.recorder.connections:
        return f"the redirect target got {env.recorder.connections} connection(s)"
    return None


def _instance(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 4242,
        "name": NAME,
        "token": "TOKEN-FROM-A-FORCED-ANSWER",
        "createdDate": "2026-11-28T10:00:00Z",
        "element": {"id": 117, "key": "connectwisehd"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head>"
    "<body><h1>Corporate proxy</h1><p>Please sign in to continue.</p></body></html>"
)
HUGE = 20 * 1024 * 1024
ERROR_400_PROVIDER = {
    "requestId": "req-400-a",
    "message": "Failed to authenticate the instance with ConnectWise.",
    "providerMessage": "invalid username or password",
}
ERROR_400 = {
    "requestId": "req-400-b",
    "message": "Missing required configuration entries: helpdesk.connectwise.company",
}
ERROR_401 = {
    "requestId": "req-401",
    "message": "Invalid Organization or User secret, or invalid Element token provided.",
}
ERROR_409 = {"requestId": "req-409", "message": f"An instance named '{NAME}' already exists."}
ERROR_HUGE = {"requestId": "req-500", "message": "Internal failure: " + "x" * (6 * 1024 * 1024)}
# What the window must say (each piece, case-insensitive), by kind of outcome.
REFUSED = ("could not reach", "refused the connection")
SERVER_TROUBLE = ("open connectors had a problem", "try again in a few minutes")
ODD_STATUS = ("unexpected answer", "check the host address")
NOT_MADE = ("no instance was made", "safe to press create again")
NOT_YET = (
    f"did not answer within {CLIENT_TIMEOUT[1]:g} s",
    "may still be creating",
    "before pressing create",
)
FOUND = ("nothing was sent twice",)
# A success (2xx) whose answer could not be used: the instance probably exists.
UNREADABLE_2XX = (
    "unreadable answer: the outcome is unknown",
    "the status was 200 (success)",
    "answered as if it had made it",
    "before pressing create again",
)
DEEP_JSON = "[" * 100_000 + "]" * 100_000  # 200 KB
# A gateway's 502/504 on a create: the platform behind it may still make the instance.
GATEWAY = ("a gateway stopped waiting", "may still be creating", "before pressing create")

# fmt: off
FAULTS: tuple[Fault, ...] = (
    # --- the network: id, row label, target, fault, outcome, says, instances, posts ----------
    Fault("refused", "connection refused (closed loopback port)", "refused", _nothing,
          "error", REFUSED, None, 0),
    Fault("dns", "DNS failure (.invalid host, responses)", "mock", _raises(_dns_error),
          "error", ("could not reach", "could not be found (dns)"), None, 1),
    Fault("connect-timeout", "connect timeout (responses)", "mock", _raises(_connect_timeout),
          "error", ("could not reach", "did not accept a connection in time"), None, 1),
    Fault("tls-cert", "TLS certificate rejected (responses)", "mock", _raises(_certificate_error),
          "error", ("secure connection", "certificate or tls problem"), None, 1),
    Fault("tls-handshake", "TLS handshake fails (https to plain HTTP)", "tls", _nothing,
          "error", ("did not answer over https://", "this address speaks plain http",
                    "use http://127.0.0.1:"), 0, 0),
    Fault("drop-before", "closed before handling (drop before)", "sandbox", _drop("before"),
          "error", ("broke after the request was sent", *NOT_MADE), 0, 1, lookup=True),
    Fault("drop-after", "closed after handling (drop after)", "sandbox", _drop("after"),
          "created", FOUND, 1, 1, lookup=True),
    Fault("timeout-late", "read timeout, created later (delay 3 s)", "sandbox", _late,
          "error", NOT_YET, 1, 1, lookup=True),
    Fault("timeout-dropped", "read timeout, then dropped (delay+drop)", "sandbox",
          _drop("before", delay=LATE), "error", NOT_YET, 0, 1, lookup=True),
    Fault("reset-after-send", "TCP reset after handling (relay)", "relay", _relay("reset"),
          "created", FOUND, 1, 1, lookup=True),
    Fault("dribble", "answer dribbled past the deadline (relay)", "relay", _relay("dribble"),
          "created", FOUND, 1, 1, lookup=True),
    # --- every documented status ------------------------------------------------------------
    Fault("400-provider", "400 with providerMessage", "sandbox", _status(400, ERROR_400_PROVIDER),
          "error", ("instance not created", "failed to authenticate",
                    "connectwise said: invalid username or password", "request id: req-400-a"),
          0, 1),
    Fault("400-plain", "400 without providerMessage", "sandbox", _status(400, ERROR_400),
          "error", ("instance not created", "missing required configuration entries",
                    "check the values"), 0, 1),
    Fault("401", "401", "sandbox", _status(401, ERROR_401),
          "error", ("secrets not accepted", "user secret and organization secret"), 0, 1),
    Fault("403", "403", "sandbox", _status(403),
          "error", ("not allowed", "may lack the right"), 0, 1),
    Fault("404", "404", "sandbox", _status(404),
          "error", ("not found", "host address", "offers this connector"), 0, 1),
    Fault("405", "405", "sandbox", _status(405), "error", ODD_STATUS, 0, 1),
    Fault("406", "406", "sandbox", _status(406), "error", ODD_STATUS, 0, 1),
    Fault("409", "409", "sandbox", _status(409, ERROR_409),
          "error", ("already exists", "choose another name"), 0, 1),
    Fault("415", "415", "sandbox", _status(415), "error", ODD_STATUS, 0, 1),
    Fault("429", "429 with Retry-After: 120", "sandbox",
          _status(429, headers={"Retry-After": "120"}),
          "error", ("too many requests", "wait 2 minutes"), 0, 1),
    Fault("500", "500", "sandbox", _status(500), "error", SERVER_TROUBLE, 0, 1),
    Fault("502", "502", "sandbox", _status(502), "error", GATEWAY, 0, 1, lookup=True),
    Fault("503", "503", "sandbox", _status(503), "error", SERVER_TROUBLE, 0, 1),
    Fault("504", "504", "sandbox", _status(504), "error", GATEWAY, 0, 1, lookup=True),
    # --- answers that are not what they should be -------------------------------------------
    Fault("html-200", "HTML page with 200", "sandbox", _status(200, HTML_PAGE),
          "error", (*UNREADABLE_2XX, "not json", "proxy"), 0, 1, lookup=True),
    Fault("html-502", "HTML page with 502", "sandbox", _status(502, HTML_PAGE),
          "error", (*GATEWAY, "answered 502 bad gateway", "not from open connectors"),
          0, 1, lookup=True),
    Fault("empty-200", "empty body with 200", "sandbox",
          _status(200, "", content_type="application/json"),
          "error", (*UNREADABLE_2XX, "answered 200 with an empty body"), 0, 1, lookup=True),
    Fault("no-id", "200 without id", "sandbox", _status(200, _instance(id=None)),
          "error", (*UNREADABLE_2XX, "no instance id"), 0, 1, lookup=True),
    Fault("no-token", "200 without token", "sandbox", _status(200, _instance(token=None)),
          "error", (*UNREADABLE_2XX, "sent no token"), 0, 1, lookup=True),
    Fault("token-type", "token of the wrong type (a number)", "sandbox",
          _status(200, _instance(token=12345)),
          "error", (*UNREADABLE_2XX, "token that is not text"), 0, 1, lookup=True),
    Fault("huge-body", "20 MB answer with 200", "sandbox",
          _status(200, '{"id": 1, "pad": "' + "a" * HUGE + '"}', content_type="application/json"),
          "error", (*UNREADABLE_2XX, "larger than 8 mb"), 0, 1, lookup=True),
    Fault("huge-message", "500 whose JSON message is 6 MB", "sandbox", _status(500, ERROR_HUGE),
          "error", (*SERVER_TROUBLE, "internal failure: xxx"), 0, 1),
    Fault("redirect", "307 redirect to another host:port", "sandbox", _redirect,
          "error", ("redirected to 127.0.0.1", "not followed", "secrets were not sent"), 0, 1,
          check=_redirect_target_untouched),
    # --- answers that never end, or end too soon: the whole exchange has one deadline -------
    Fault("head-drip", "status line and headers, 1 byte a second (relay)", "relay",
          _answer("drip-all", 1.0), "created", FOUND, 1, 1, lookup=True),
    Fault("endless-continue", "endless 100 Continue (relay)", "relay",
          _answer("continue", 0.002), "created", FOUND, 1, 1, lookup=True),
    Fault("truncated-200", "200 cut short of its Content-Length (relay)", "relay",
          _answer("truncate", 0.0005), "created", FOUND, 1, 1, lookup=True),
    Fault("deep-200", "200 with JSON nested 100,000 levels", "sandbox",
          _status(200, DEEP_JSON, content_type="application/json"),
          "error", (*UNREADABLE_2XX, "nested too deeply"), 0, 1, lookup=True),
    Fault("deep-400", "400 with JSON nested 100,000 levels", "sandbox",
          _status(400, DEEP_JSON, content_type="application/json"),
          "error", ("instance not created", "nested too deeply", "check the values"), 0, 1),
)
# fmt: on


# --- what happened --------------------------------------------------------------------------------


@dataclass
class Observation:
    settled: bool = False
    kind: str = "nothing"  # "error" | "created" | "nothing"
    texts: dict[str, str] = field(default_factory=dict)
    max_gap_ms: float = 0.0
    form_changes: list[str] = field(default_factory=list)
    form_locked: bool = False
    instances: int | None = None
    posts: int = 0
    looked_up: bool = False
    extra_problem: str | None = None
    leaked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def shown(self) -> str:
        return " ".join(t for t in self.texts.values() if t)

    def summary(self, width: int = 64) -> str:
        if not self.settled:
            return "(no outcome shown)"
        if self.kind == "created":
            note = " — found by lookup" if self.texts.get("note") else ""
            text = f"Created #{self.texts.get('id', '?')}{note}"
        else:
            text = f"{self.texts.get('title', '')}: {self.texts.get('message', '')}"
        text = " ".join(text.split())
        return text if len(text) <= width else text[: width - 1] + "…"


def problems(fault: Fault, seen: Observation) -> list[str]:
    """Everything about the attempt that is not as it must be; empty = survived."""
    found: list[str] = []
    if not seen.settled:
        found.append(f"no outcome shown within {SETTLE_MS / 1000:g} s")
    if seen.max_gap_ms > MAX_GAP_MS:
        found.append(f"the window froze for {seen.max_gap_ms:.0f} ms")
    if seen.settled and seen.kind != fault.outcome:
        found.append(f"showed {seen.kind!r}, expected {fault.outcome!r}")
    text = seen.shown.lower()
    missing = [word for word in fault.says if word.lower() not in text]
    if seen.settled and missing:
        found.append(f"the message does not say {missing}: {seen.shown!r}")
    if seen.kind == "created" and not seen.texts.get("storage", "").startswith("Saved in "):
        found.append(f"the token was not stored: {seen.texts.get('storage')!r}")
    if seen.form_changes:
        found.append(f"form values changed: {seen.form_changes}")
    if seen.settled and seen.form_locked:
        found.append("the form is still locked")
    if seen.instances != fault.instances:
        found.append(f"{seen.instances} instance(s) named {NAME!r}, expected {fault.instances}")
    if seen.instances is not None and seen.instances > 1:
        found.append("duplicate instances")
    if seen.posts > 1:
        found.append(f"the create was sent {seen.posts} times")
    elif seen.posts != fault.posts:
        found.append(f"{seen.posts} create request(s) arrived, expected {fault.posts}")
    if seen.looked_up != fault.lookup:
        found.append("no lookup after the unknown outcome" if fault.lookup else "unexpected lookup")
    if seen.leaked:
        found.append(f"a secret is shown: {seen.leaked}")
    if seen.dialogs:
        found.append(f"a modal window opened: {seen.dialogs}")
    if seen.extra_problem:
        found.append(seen.extra_problem)
    return found


def row(fault: Fault, seen: Observation, verdict: str) -> dict[str, str]:
    return {
        "fault": fault.label,
        "saw": seen.summary(),
        "gap": f"{seen.max_gap_ms:.0f}",
        "instances": "-" if seen.instances is None else str(seen.instances),
        "verdict": verdict,
    }


# --- the runner ---------------------------------------------------------------------------------


class TickRecorder:
    """A timer on the GUI thread: the longest gap between its ticks is how long the window froze."""

    def __init__(self) -> None:
        self._ticks: list[float] = []
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(lambda: self._ticks.append(time.monotonic()))

    def start(self) -> None:
        self._ticks = [time.monotonic()]
        self._timer.start()

    def stop(self) -> float:
        self._ticks.append(time.monotonic())
        self._timer.stop()
        return max(b - a for a, b in itertools.pairwise(self._ticks)) * 1000


class ModalGuard:
    """Closes any modal window and notes it. A modal runs its own event loop: one nobody
    answers would hang the run (at the latest when teardown closes a still busy window and
    the window asks whether to quit), so it must fail the fault instead."""

    def __init__(self, parent: QWidget) -> None:
        self.seen: list[str] = []
        self._timer = QTimer(parent)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._check)
        self._timer.start()

    def _check(self) -> None:
        widget = QApplication.activeModalWidget()
        if widget is None:
            return
        self.seen.append(widget.windowTitle() or type(widget).__name__)
        yes = (
            widget.button(QMessageBox.StandardButton.Yes)
            if isinstance(widget, QMessageBox)
            else None
        )
        if yes is not None:
            yes.click()
        elif isinstance(widget, QDialog):
            widget.reject()
        else:
            widget.close()


def _wait(qtbot: QtBot, condition: Callable[[], bool], timeout_ms: int) -> bool:
    try:
        qtbot.waitUntil(condition, timeout=timeout_ms)
    except QtWaitTimeout:
        return False
    return True


@contextlib.contextmanager
def _environment(fault: Fault, sandbox: SandboxServer) -> Iterator[Env]:
    with contextlib.ExitStack() as stack:
        env = Env(sandbox, stack)
        if fault.target == "sandbox":
            env.root = sandbox.base_url
        elif fault.target == "relay":
            env.relay = stack.enter_context(AnswerRelay(sandbox.port))
            env.root = env.relay.base_url
        elif fault.target == "refused":
            port = stack.enter_context(refused_port())
            env.root = f"http://127.0.0.1:{port}/elements/api-v2"
        elif fault.target == "tls":
            env.root = f"https://127.0.0.1:{sandbox.port}/elements/api-v2"
        elif fault.target == "mock":
            env.mock = stack.enter_context(
                responses.RequestsMock(assert_all_requests_are_fired=False)
            )
            env.root = INVALID_ROOT
        yield env


def _open_window(
    fault: Fault,
    env: Env,
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    workspace: Workspace,
    settings: QSettings,
) -> MainWindow:
    if fault.target == "sandbox":
        window = make_window(env.sandbox)
    else:
        account = Account(
            name="Fault target",
            api_root=env.root,
            user_secret=env.sandbox.user_secret,
            organization_secret=env.sandbox.organization_secret,
        )
        workspace.save_account(account)
        Preferences(settings).set_accounts([SavedAccount(account.name, account.api_root)])
        window = make_window(None)
    assert _wait(qtbot, lambda: window.create_tab.account is not None, 5000), "no account"
    assert window.create_tab.account is not None
    assert window.create_tab.account.api_root == env.root
    return window


def _texts(window: MainWindow) -> tuple[str, dict[str, str]]:
    tab = window.create_tab
    if tab.error_panel.isVisible():
        panel = tab.error_panel
        labels = {
            "title": panel.title_label,
            "message": panel.message,
            "provider": panel.provider,
            "request_id": panel.request_id,
            "next_step": panel.next_step,
        }
        return "error", {k: v.text() for k, v in labels.items()}
    if tab.result_panel.isVisible():
        result = tab.result_panel
        labels = {
            "name": result.name,
            "id": result.id,
            "note": result.note,
            "storage": result.storage,
        }
        return "created", {k: v.text() for k, v in labels.items()}
    return "nothing", {}


def _server_facts(env: Env) -> tuple[int, bool]:
    """Create requests the server saw, and whether the window looked instances up."""
    if env.mock is not None:
        calls = [(c.request.method, c.request.url or "") for c in env.mock.calls]
    else:
        calls = [(r.method, r.path) for r in env.sandbox.request_log()]
    # The sandbox logs a request when it answers it, so a late create comes after the lookup
    # it caused: order says nothing here. The window sends no other GET /instances.
    creates = sum(1 for m, p in calls if m == "POST" and _is_instances(p))
    looked_up = creates > 0 and any(m == "GET" and _is_instances(p) for m, p in calls)
    return creates, looked_up


def _is_instances(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith("/instances")


def run_fault(
    fault: Fault,
    *,
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    workspace: Workspace,
    settings: QSettings,
) -> Observation:
    """Create an instance through the window while `fault` happens; report what came of it."""
    seen = Observation()
    with _environment(fault, sandbox) as env:
        window = _open_window(fault, env, qtbot, make_window, workspace, settings)
        tab = window.create_tab
        guard = ModalGuard(window)
        tab.form.set_values(FORM)
        before = tab.form.values()
        assert tab.create_button.isEnabled(), tab.create_button.toolTip()
        fault.arrange(env)

        ticks = TickRecorder()
        ticks.start()
        qtbot.mouseClick(tab.create_button, Qt.MouseButton.LeftButton)
        seen.settled = _wait(
            qtbot,
            lambda: not tab.busy and (tab.error_panel.isVisible() or tab.result_panel.isVisible()),
            SETTLE_MS,
        )
        _wait(qtbot, lambda: window.runner.pending == 0, 5000)
        if fault.posts and fault.target in ("sandbox", "relay"):
            # A late or dropped request is logged when the sandbox is done with it: count
            # the instances only then.
            _wait(qtbot, lambda: _server_facts(env)[0] >= fault.posts, 8000)
        seen.max_gap_ms = ticks.stop()

        seen.kind, seen.texts = _texts(window)
        after = tab.form.values()
        seen.form_changes = sorted(k for k in before if before[k] != after.get(k))
        seen.form_locked = not tab.form.isEnabled()
        if fault.target != "refused" and fault.target != "mock":
            seen.instances = sum(1 for i in sandbox.instances() if i.name == NAME)
        seen.posts, seen.looked_up = _server_facts(env)
        secrets = [FORM[k] for k in SECRET_FIELDS] + [
            sandbox.user_secret,
            sandbox.organization_secret,
        ]
        seen.leaked = [f"…{s[-4:]}" for s in secrets if s and s in seen.shown]
        if fault.check is not None:
            seen.extra_problem = fault.check(env)
    # The fault's servers are gone now, so whatever still runs ends soon: let it, so the window
    # closes idle. (Should it not, the guard answers the "quit anyway?" question.)
    _wait(qtbot, lambda: not tab.busy and window.runner.pending == 0, SETTLE_MS)
    seen.dialogs = list(guard.seen)
    return seen
