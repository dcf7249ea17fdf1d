"""``python -m core.sandbox``: run the sandbox until Ctrl+C (SIGINT) or SIGTERM."""

from __future__ import annotations

import argparse
import shlex
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from .server import SandboxServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.sandbox",
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
    args = _parser().parse_args(argv)
    if (args.user_secret is None) != (args.organization_secret is None):
        _parser().error("give both --user-secret and --organization-secret, or neither")
    if not 0 <= args.port <= 65535:
        _parser().error("--port must be between 0 and 65535")

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
            print(f"sandbox: cannot start: {exc}", flush=True)
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
