"""``cw-connector-sandbox`` / ``python -m core.sandbox``: run the sandbox until Ctrl+C (SIGINT)
or SIGTERM."""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import HOST, SandboxServer

MODULE_COMMAND = "python -m core.sandbox"


def _prog() -> str:
    """The command as typed: the console script's name, or ``python -m core.sandbox``.

    With ``-m``, ``sys.argv[0]`` is the full path of this ``__main__.py``.
    """
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not name or name == "__main__.py":
        return MODULE_COMMAND
    return name


def _start_error(prog: str, port: int, state: str | None, exc: OSError | ValueError) -> str:
    """One line saying why the sandbox could not start."""
    if isinstance(exc, OSError) and exc.filename is None:  # the socket, not the state file
        if exc.errno == errno.EADDRINUSE:
            return (
                f"{prog}: port {port} on {HOST} is already in use; choose another with "
                "--port, or --port 0 for any free port"
            )
        if exc.errno == errno.EACCES:
            return (
                f"{prog}: not allowed to listen on port {port} on {HOST}; choose a port "
                "above 1023 with --port, or --port 0 for any free port"
            )
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename is None:
            return f"{prog}: cannot start: {exc.strerror}"
        if state is not None:  # the only file the sandbox writes
            return f"{prog}: cannot write the state file {state}: {exc.strerror} ({exc.filename})"
        return f"{prog}: cannot start: {exc.strerror}: {exc.filename}"
    return f"{prog}: cannot start: {exc}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="Local sandbox of the Open Connectors instance API (127.0.0.1 only).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="keep instances (and the secrets) in this JSON file across runs; it holds "
        "tokens and secrets in plain text: use it for test data only",
    )
    parser.add_argument("--user-secret", metavar="S", help="default: generated (or from --state)")
    parser.add_argument(
        "--organization-secret", metavar="S", help="default: generated (or from --state)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.user_secret is None) != (args.organization_secret is None):
        parser.error("give both --user-secret and --organization-secret, or neither")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Handlers go in before the URL is printed: a caller may signal as soon as it reads it.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server = SandboxServer(
                args.user_secret,
                args.organization_secret,
                state_file=args.state,
                port=args.port,
                log_requests=not args.quiet,
            )
            server.start()
        except (OSError, ValueError) as exc:
            print(
                _start_error(parser.prog, args.port, args.state, exc), file=sys.stderr, flush=True
            )
            return 1
        try:
            auth = shlex.quote(f"Authorization: {server.authorization}")
            print(f"Open Connectors sandbox listening on {server.base_url}")
            print(f"User secret:         {server.user_secret}")
            print(f"Organization secret: {server.organization_secret}")
            print(f"Try: curl -i -H {auth} {server.base_url}/elements/connectwisehd")
            print("Stop with Ctrl+C.", flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
        print("sandbox: stopped", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    raise SystemExit(main())
