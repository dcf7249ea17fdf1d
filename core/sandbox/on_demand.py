"""The sandbox as the window uses it: its address and secrets at once, its HTTP server from the
first connection on.

A session may never call the sandbox (the user only looks around, or adds a real account), so
the window starts with a plain listening socket, which is cheap, and a thread that waits on it.
When the first client connects, the thread builds the `SandboxServer` on that same socket (the
connection waits in the socket's queue meanwhile) and the HTTP server stack loads then, as
requests does at the first call to a server.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import select
import socket
import threading
from typing import TYPE_CHECKING, Protocol

from core.hosts import API_PATH

if TYPE_CHECKING:
    from core.sandbox.connectwise import ConnectWiseSandbox
    from core.sandbox.events import Delivery
    from core.sandbox.server import SandboxServer

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # as SandboxServer's


class Sandbox(Protocol):
    """What the window needs of a sandbox (`SandboxServer` and `OnDemandSandbox` both are)."""

    user_secret: str
    organization_secret: str

    @property
    def base_url(self) -> str: ...

    def simulate_change(self, instance_id: int, event_type: str = ...) -> list[Delivery]: ...


class OnDemandSandbox:
    """``OnDemandSandbox(log_requests=False)``: listening at once; `stop()` when done."""

    def __init__(self, *, log_requests: bool = False) -> None:
        self.user_secret = secrets.token_urlsafe(24)
        self.organization_secret = secrets.token_urlsafe(24)
        self._log_requests = log_requests
        self._socket = socket.create_server((HOST, 0))
        self._port = int(self._socket.getsockname()[1])
        # The ConnectWise sandbox beside it: its own port, started with it.
        self._cw_socket = socket.create_server((HOST, 0))
        self._cw_port = int(self._cw_socket.getsockname()[1])
        self._connectwise: ConnectWiseSandbox | None = None
        self._wake, self._waker = socket.socketpair()  # stop() writes, the waiting thread wakes
        self._lock = threading.Lock()
        self._server: SandboxServer | None = None
        self._stopped = False
        self._waiter = threading.Thread(
            target=self._start_on_first_client, name="sandbox-on-demand", daemon=True
        )
        self._waiter.start()

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self._port}"

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:PORT/elements/api-v2``."""
        return self.root_url + API_PATH

    @property
    def connectwise_site(self) -> str:
        """The ConnectWise sandbox's address, as typed into Server URL: ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self._cw_port}"

    @property
    def started(self) -> bool:
        """Whether the HTTP server runs (a client connected, or `server()` was called)."""
        return self._server is not None

    def server(self) -> SandboxServer:
        """The running sandbox, started now if it was not. RuntimeError once stopped."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("the sandbox is stopped")
            if self._server is None:
                from core.sandbox.connectwise import ConnectWiseSandbox
                from core.sandbox.server import SandboxServer

                connectwise = ConnectWiseSandbox(
                    listen_socket=self._cw_socket,
                    log_requests=self._log_requests,
                    user_secret=self.user_secret,
                    organization_secret=self.organization_secret,
                )
                server = SandboxServer(
                    self.user_secret,
                    self.organization_secret,
                    listen_socket=self._socket,
                    log_requests=self._log_requests,
                    connectwise=connectwise,
                )
                # Set before it starts: it answers its first client at once, and whoever that
                # client tells must find `started` true.
                self._server = server
                try:
                    connectwise.start()
                    self._connectwise = connectwise
                    server.start()
                except BaseException:
                    self._server = None
                    connectwise.stop()
                    self._connectwise = None
                    raise
            return self._server

    def connectwise(self) -> ConnectWiseSandbox:
        """The running ConnectWise sandbox (started with the other). RuntimeError once stopped."""
        self.server()
        assert self._connectwise is not None  # set whenever the server is
        return self._connectwise

    def simulate_change(self, instance_id: int, event_type: str = "UPDATED") -> list[Delivery]:
        return self.server().simulate_change(instance_id, event_type=event_type)

    def stop(self) -> None:
        """Stop serving (or waiting), close the socket. Idempotent."""
        with self._lock:
            first = not self._stopped
            self._stopped = True
            server, connectwise = self._server, self._connectwise
        if first:
            with contextlib.suppress(OSError):
                self._waker.send(b"\0")
        self._waiter.join(5.0)
        if server is not None:
            server.stop()  # closes the socket too
        if connectwise is not None:
            connectwise.stop()
        self._socket.close()
        self._cw_socket.close()
        self._wake.close()
        self._waker.close()

    def _start_on_first_client(self) -> None:
        try:
            readable, _, _ = select.select([self._socket, self._cw_socket, self._wake], [], [])
        except (OSError, ValueError):  # closed under us: stopping
            return
        if self._wake in readable:
            return
        try:
            self.server()
        except RuntimeError:
            pass  # stopped meanwhile
        except Exception:
            log.exception("The local sandbox could not start")
            self._socket.close()  # waiting clients are refused, and the window says so
            self._cw_socket.close()
