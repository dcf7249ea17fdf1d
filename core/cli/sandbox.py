"""``cwdesk sandbox``: the local sandbox that the window's "Local sandbox" and ``--sandbox``
use, served here until Ctrl+C (or shown, while another program serves it), with both its
addresses and the values to type; with ``--port`` or ``--state``, a sandbox of one's own as
``cw-connector-sandbox`` runs it."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import threading
from typing import TYPE_CHECKING

from core.cli.console import FAILED, OK, CliError, Console, OutputClosed

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

    from core.sandbox.on_demand import OnDemandSandbox

# The ConnectWise fields "Fill with sandbox values" types in, in the form's order.
CONNECTWISE_FIELDS = (
    "server_url",
    "base_url",
    "wsdl_path",
    "company",
    "username",
    "password",
    "public_key",
    "private_key",
    "client_id",
)
WAIT_SECONDS = 0.5  # how often the wait for Ctrl+C wakes (signals are handled between waits)


def sandbox_command(args: argparse.Namespace, console: Console) -> int:
    if args.port is not None or args.state is not None:
        return _one_of_its_own(args)
    from core.cli.where import open_local_sandbox
    from core.sandbox.home import SandboxHome

    with _until_stopped() as stopped, open_local_sandbox() as sandbox:
        if sandbox.attached:
            serving = SandboxHome.default().serving()
            pid = f" (process {serving.pid})" if serving is not None else ""
            _describe(console, sandbox, f"served by another program{pid}")
            console.say("It stops when that program (the window, or another cwdesk) quits.")
            return OK
        try:
            sandbox.server()  # at once: a state it cannot read is said now, not later
        except OSError as exc:
            raise CliError(
                f"The local sandbox could not start: {exc.strerror or exc}.", FAILED
            ) from None
        _describe(console, sandbox, "served here")
        console.say(
            "Stop it with Ctrl+C. Its instances stay for the next run, the window's and "
            "cwdesk --sandbox's."
        )
        while not stopped.wait(WAIT_SECONDS):
            pass
    console.say("Stopped; its instances are kept.")
    return OK


def _describe(console: Console, sandbox: OnDemandSandbox, how: str) -> None:
    """Where the sandbox is, the secrets and values to type, and a command to try."""
    from core.sandbox import connectwise_values as cw

    api = sandbox.base_url
    auth = f"Authorization: User {sandbox.user_secret}, Organization {sandbox.organization_secret}"
    console.say(f"The local sandbox that the window and cwdesk --sandbox use, {how}.")
    console.say(f"Kept in: {sandbox.state_file}")
    console.say()
    console.say(f"Open Connectors API:  {api}")
    # Its own test values, kept in the state file: they open this sandbox on 127.0.0.1 only.
    console.say(f"  User secret:          {sandbox.user_secret}")
    console.say(f"  Organization secret:  {sandbox.organization_secret}")
    console.say(f"  Try: curl -i -H {shlex.quote(auth)} {api}/instances")
    console.say()
    site = sandbox.connectwise_site
    if not site:
        console.say("ConnectWise stand-in: none (the program serving the sandbox runs none).")
        return
    console.say(f"ConnectWise stand-in: {site}")
    values = cw.form_values(CONNECTWISE_FIELDS, site)
    labels = _labels()
    width = max(len(labels[name]) + len(name) for name in values) + 4
    for name, value in values.items():
        console.say(f"  {labels[name]} ({name})".ljust(width + 2) + f"  {value}")
    console.say(
        f"  Try: CWDESK_PASSWORD={cw.PASSWORD} cwdesk create --sandbox --name Test "
        f"--set server_url={site} --set company={cw.COMPANY} --set username={cw.USERNAME}"
    )
    console.say("  (Account ▸ Fill with sandbox values types these into the window's form.)")
    console.say()


def _labels() -> dict[str, str]:
    """Each field's label in the window, by its name in --set."""
    from core.spec.connectors import CONNECTORS

    labels: dict[str, str] = {}
    for spec in CONNECTORS.values():
        for fs in spec.fields:
            labels.setdefault(fs.name, fs.label)
    return labels


@contextlib.contextmanager
def _until_stopped() -> Iterator[threading.Event]:
    """An event set by Ctrl+C (SIGINT) or SIGTERM, the normal end of the command: handlers in
    before the address is printed, as a caller may signal as soon as it reads it."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped  # signals reach the main thread only (an in-process caller's thread)
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopped
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _one_of_its_own(args: argparse.Namespace) -> int:
    """``--port`` / ``--state``: what ``cw-connector-sandbox`` runs with them."""
    port = 0 if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise CliError("--port must be between 0 and 65535.")
    from core.sandbox.__main__ import main as sandbox_main

    argv = ["--port", str(port)]
    if args.state is not None:
        argv += ["--state", args.state]
    try:
        return sandbox_main(argv)
    except BrokenPipeError:  # its own lines, printed to our standard output
        raise OutputClosed from None
