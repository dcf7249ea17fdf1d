"""The fault matrix's rows for the form's ConnectWise check: each fault made for real against
the ConnectWise sandbox (or a refusing port), through the real window. A person leaves the
Company field (or the REST form's last key) and must see, within a bound, a note beside the
right field; the window never freezes, Create stays possible, no secret shows.

`test_check_faults.py` runs them; `matrix.py` prints them as a table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from core.sandbox import connectwise_values as cw
from core.sandbox.connectwise import ConnectWiseFailure, ConnectWiseSandbox
from gui.main_window import MainWindow
from tests.gui.helpers import choose, fill
from tests.reliability.faults import MAX_GAP_MS, TickRecorder
from tests.reliability.loopback import refused_port

CHECK_ROW_PROPERTY = "check_fault_row"
# The window's check, shortened so the timeout fault stays quick: the whole answer in 2.5 s.
CHECK_TIMEOUT = (1.0, 1.5)
SETTLE_MS = 8000
PASSWORD = "pw-SENTINEL-6620"
PRIVATE = "priv-SENTINEL-9043"
SOAP_FORM = {"name": "Check faults", "username": "integrator", "password": PASSWORD}

Arrange = Callable[[ConnectWiseSandbox], None]


@dataclass(frozen=True)
class CheckFault:
    id: str
    label: str
    arrange: Arrange
    field: str  # where the note must show
    rest: bool = False  # the REST form (its keys checked) rather than the help desk one
    site: str = ""  # another site than the sandbox's ("refused": a port that refuses)
    public_key: str = cw.PUBLIC_KEY
    client_id: str = cw.CLIENT_ID


def _nothing(_site: ConnectWiseSandbox) -> None:
    pass


def _inject(failure: ConnectWiseFailure) -> Arrange:
    def arrange(site: ConnectWiseSandbox) -> None:
        site.inject(failure)

    return arrange


def _rule(path: str, **rule: Any) -> Arrange:
    def arrange(site: ConnectWiseSandbox) -> None:
        site.faults.add("GET", path, **rule)

    return arrange


COMPANY_INFO = r"/login/companyinfo/"

CHECK_FAULTS: list[CheckFault] = [
    CheckFault("refused", "site refuses the connection", _nothing, "server_url", site="refused"),
    CheckFault("html", "site answers an HTML page", _inject(ConnectWiseFailure.HTML), "server_url"),
    CheckFault(
        "ssl",
        'site answers "SSL is required."',
        _inject(ConnectWiseFailure.SSL_REQUIRED),
        "server_url",
    ),
    CheckFault("5xx", "site answers 500", _inject(ConnectWiseFailure.SERVER_ERROR), "server_url"),
    CheckFault("slow", "look-up answered after 5 s", _rule(COMPANY_INFO, delay=5.0), "server_url"),
    CheckFault(
        "drop",
        "connection dropped before the answer",
        _rule(COMPANY_INFO, drop="before"),
        "server_url",
    ),
    CheckFault(
        "huge",
        "look-up answers 20 MB",
        _rule(COMPANY_INFO, status=200, body=b"{" + b" " * (20 * 1024 * 1024) + b"}"),
        "server_url",
    ),
    CheckFault("company", "unknown company", _nothing, "company"),
    CheckFault(
        "client-id",
        "REST: wrong client ID",
        _nothing,
        "client_id",
        rest=True,
        client_id="not-our-client-id",
    ),
    CheckFault(
        "keys",
        "REST: keys refused (401)",
        _nothing,
        "private_key",
        rest=True,
        public_key="someone-else",
    ),
    CheckFault(
        "role",
        "REST: member without a role (403)",
        _nothing,
        "public_key",
        rest=True,
        public_key=cw.NO_ROLE_PUBLIC_KEY,
    ),
    CheckFault(
        "keys-slow",
        "REST: keys check answered after 5 s",
        _rule("system/info", delay=5.0),
        "base_url",
        rest=True,
    ),
]


@dataclass
class CheckSeen:
    note: str  # beside the fault's field ("" when none showed)
    problem: bool  # shown as a problem
    gap_ms: float
    create_enabled: bool
    wsdl_filled: str
    texts: str  # every text the window shows


@contextlib.contextmanager
def _site(fault: CheckFault) -> Iterator[tuple[ConnectWiseSandbox, str]]:
    with ConnectWiseSandbox() as site:
        fault.arrange(site)
        if fault.site == "refused":
            with refused_port() as port:
                yield site, f"http://127.0.0.1:{port}"
        else:
            yield site, site.site


def _line(window: QWidget, name: str) -> QLineEdit:
    found = window.findChild(QLineEdit, name)
    assert found is not None, name
    return found


def _texts(window: MainWindow) -> str:
    parts = [w.text() for w in window.findChildren(QLabel) if w.isVisible()]
    parts += [w.toolTip() for w in window.findChildren(QWidget) if w.toolTip()]
    parts.append(window.windowTitle())
    return "\n".join(parts)


def run_check_fault(fault: CheckFault, *, qtbot: QtBot, window: MainWindow) -> CheckSeen:
    window.create_tab.connectwise.timeout = CHECK_TIMEOUT
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    with _site(fault) as (_, address):
        company = "nosuchco" if fault.id == "company" else cw.COMPANY
        if fault.rest:
            choose(qtbot, window, "connector", "connectwisecrmrest")
            qtbot.waitUntil(lambda: _line(window, "base_url").isVisible(), timeout=2000)
            values: dict[str, Any] = {
                "name": "Check faults REST",
                "base_url": address + "/v2025_1/apis/3.0",
                "company": company,
                "public_key": fault.public_key,
                "private_key": PRIVATE,
            }
            fill(qtbot, window, values)
            last = {"client_id": fault.client_id}
        else:
            fill(qtbot, window, {**SOAP_FORM, "server_url": address})
            last = {"company": company}
        hint = window.findChild(QLabel, f"{fault.field}_hint")
        assert hint is not None
        ticks = TickRecorder()
        ticks.start()
        fill(qtbot, window, last)  # leaving it starts the check
        with contextlib.suppress(Exception):  # a note that never shows is reported, not raised
            qtbot.waitUntil(lambda: hint.isVisible() and hint.text() != "", timeout=SETTLE_MS)
        qtbot.waitUntil(lambda: not window.create_tab.connectwise.running, timeout=SETTLE_MS)
        gap = ticks.stop()
        return CheckSeen(
            note=hint.text() if hint.isVisible() else "",
            problem=hint.property("state") == "problem",
            gap_ms=gap,
            create_enabled=window.create_tab.create_button.isEnabled(),
            wsdl_filled="" if fault.rest else _line(window, "wsdl_path").text(),
            texts=_texts(window),
        )


def check_problems(fault: CheckFault, seen: CheckSeen) -> list[str]:
    found = []
    if not seen.note:
        found.append(f"no note beside {fault.field}")
    elif not seen.problem:
        found.append(f"the note beside {fault.field} is not shown as a problem: {seen.note}")
    if seen.gap_ms > MAX_GAP_MS:
        found.append(f"the window froze for {seen.gap_ms:.0f} ms")
    if not seen.create_enabled:
        found.append("Create was blocked by a check")
    if seen.wsdl_filled:
        found.append(f"a failed check filled the WSDL path: {seen.wsdl_filled}")
    for secret in (PASSWORD, PRIVATE):
        if secret in seen.texts:
            found.append("a secret shows in the window")
    return found


def check_row(fault: CheckFault, seen: CheckSeen, verdict: str) -> dict[str, str]:
    return {
        "fault": fault.label,
        "field": fault.field,
        "saw": seen.note or "(nothing)",
        "gap": f"{seen.gap_ms:.0f}",
        "create": "yes" if seen.create_enabled else "no",
        "verdict": verdict,
    }
