"""The sandbox as the window (and ``cwdesk --sandbox``) uses it: its address and secrets at
once, its HTTP server from the first connection on, and, given a `SandboxHome`, the same
instances, secrets and ports from run to run.

A session may never call the sandbox (the user only looks around, or adds a real account), so
the window starts with a plain listening socket, which is cheap, and a thread that waits on it.
When the first client connects, the thread builds the `SandboxServer` on that same socket (the
connection waits in the socket's queue meanwhile) and the HTTP server stack loads then, as
requests does at the first call to a server.

With a home, one process at a time serves its state (`core.sandbox.home`): the first to claim
it. Another one (cwdesk while the window runs, a second window) uses the holder's address and
secrets; a window doing so takes over, on the same ports, once the holder is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import select
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.net.service import HOST, LocalService
from core.openconnectors.hosts import API_PATH

if TYPE_CHECKING:
    from core.sandbox.connectwise import ConnectWiseSandbox
    from core.sandbox.events import Delivery
    from core.sandbox.home import Claim, SandboxHome, StateHead
    from core.sandbox.server import SandboxServer
    from core.spec.models import Account

log = logging.getLogger(__name__)

TAKE_OVER_POLL_SECONDS = 0.25  # how often a sandbox used through another process looks to serve
REMOTE_TIMEOUT = 10.0  # a simulate asked of the process that serves
MAX_REMOTE_ANSWER = 64 * 1024


class Sandbox(Protocol):
    """What the window needs of a sandbox (`SandboxServer` and `OnDemandSandbox` both are)."""

    user_secret: str
    organization_secret: str

    @property
    def base_url(self) -> str: ...

    def simulate_change(self, instance_id: int, event_type: str = ...) -> list[Delivery]: ...


def sandbox_account(sandbox: Sandbox) -> Account:
    """The "Local sandbox" account on `sandbox`: its records and tokens filed under the
    sandbox's own name when it has one (`OnDemandSandbox.files_as`), else under its host."""
    from core.spec.models import Account
    from core.storage.accounts import SANDBOX_ACCOUNT

    return Account(
        name=SANDBOX_ACCOUNT,
        api_root=sandbox.base_url,
        user_secret=sandbox.user_secret,
        organization_secret=sandbox.organization_secret,
        files_as=getattr(sandbox, "files_as", ""),
    )


class OnDemandSandbox(LocalService):
    """``OnDemandSandbox(log_requests=False, home=None)``: listening at once; `stop()` when done.

    Without a home: new secrets and any free ports, nothing kept. With one: the home's state,
    served here when this process claims it, else used through the process that does
    (`attached`); `take_over` (the window) serves it here once that process is gone.
    """

    def __init__(
        self,
        *,
        log_requests: bool = False,
        home: SandboxHome | None = None,
        take_over: bool = True,
    ) -> None:
        self._log_requests = log_requests
        self._home = home
        self._lock = threading.Lock()
        self._server: SandboxServer | None = None
        self._connectwise: ConnectWiseSandbox | None = None
        self._stopped = False
        self._claim: Claim | None = None
        self._head: StateHead | None = None  # the home's state: id, secrets, ports
        self._serving_here = home is None  # else once the home's state is claimed
        self._socket: socket.socket | None = None
        self._cw_socket: socket.socket | None = None
        self._port = 0
        self._cw_port = 0
        # The name the app files this sandbox's records and tokens under ("" for its host).
        self.files_as = ""
        if home is None:
            self.user_secret = secrets.token_urlsafe(24)
            self.organization_secret = secrets.token_urlsafe(24)
            self._listen(0, 0)
        else:
            self._open(home)
        self._wake, self._waker = socket.socketpair()  # stop() writes, the waiting thread wakes
        wait: Callable[[], None] | None = self._start_on_first_client
        if self.attached:
            wait = self._take_over if take_over else None
        self._waiter = threading.Thread(target=wait, name="sandbox-on-demand", daemon=True)
        if wait is not None:
            self._waiter.start()

    def _open(self, home: SandboxHome) -> None:
        from core.openconnectors.hosts import sandbox_host
        from core.sandbox.home import SandboxUnavailable, wait_for_serving

        claim = home.claim()
        if claim is None:
            # Served by another process: its address, and the secrets it keeps in the state.
            serving = wait_for_serving(home.state_file)
            head = home.head()
            if head is None:
                raise SandboxUnavailable(
                    f"The local sandbox's state ({home.state_file}) is unreadable."
                )
            self._port, self._cw_port = serving.api, serving.connectwise
        else:
            try:
                head = home.prepare()
                self._serve_state(claim, head)
            except BaseException:
                self._close_sockets()
                claim.release()
                raise
        self._head = head
        self.user_secret = head.user_secret
        self.organization_secret = head.organization_secret
        self.files_as = sandbox_host(head.sandbox_id)

    def _serve_state(
        self, claim: Claim, head: StateHead, *, ports: tuple[int, int] | None = None
    ) -> None:
        """Listen for the claimed state: on `ports` exactly (taking over), else the best free
        ones; remember them in the state and say where this process serves."""
        from core.sandbox.home import listen_on_first_free, port_choices, port_of

        assert self._home is not None
        if ports is not None:
            self._listen(*ports)
        else:
            self._socket = listen_on_first_free(port_choices(head.ports.get("api")))
            self._port = port_of(self._socket)
            cw_choices = port_choices(head.ports.get("connectwise"), offset=1)
            self._cw_socket = listen_on_first_free(p for p in cw_choices if p != self._port)
            self._cw_port = port_of(self._cw_socket)
        served = {"api": self._port, "connectwise": self._cw_port}
        if head.ports != served:  # the next run tries these first
            self._home.remember_ports(served)
        claim.announce(self._port, self._cw_port)
        self._claim, self._head = claim, head
        self._serving_here = True

    def _listen(self, port: int, cw_port: int) -> None:
        self._socket = socket.create_server((HOST, port))
        try:
            # The ConnectWise sandbox beside it: its own port, started with it.
            self._cw_socket = socket.create_server((HOST, cw_port))
        except BaseException:
            self._close_sockets()
            raise
        self._port = int(self._socket.getsockname()[1])
        self._cw_port = int(self._cw_socket.getsockname()[1])

    def _close_sockets(self) -> None:
        for listening in (self._socket, self._cw_socket):
            if listening is not None:
                listening.close()

    @property
    def state_file(self) -> Path | None:
        """Where its instances are kept between runs (None: nowhere, this run only)."""
        return self._home.state_file if self._home is not None else None

    @property
    def attached(self) -> bool:
        """Whether another process serves this sandbox's state (this one uses its address)."""
        return not self._serving_here

    @property
    def port(self) -> int:
        """The Open Connectors sandbox's port (listening from the start)."""
        return self._port

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:PORT/elements/api-v2``."""
        return self.root_url + API_PATH

    @property
    def connectwise_site(self) -> str:
        """The ConnectWise sandbox's address, as typed into Server URL: ``http://127.0.0.1:PORT``
        ("" when the process serving the state runs none)."""
        return f"http://{HOST}:{self._cw_port}" if self._cw_port else ""

    @property
    def started(self) -> bool:
        """Whether the HTTP server runs here (a client connected, or `server()` was called)."""
        return self._server is not None

    def server(self) -> SandboxServer:
        """The running sandbox, started now if it was not. RuntimeError once stopped, or while
        another process serves it."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("the sandbox is stopped")
            if self.attached:
                raise RuntimeError("the local sandbox is served by another process")
            if self._server is None:
                from core.sandbox.connectwise import ConnectWiseSandbox
                from core.sandbox.server import SandboxServer

                connectwise = ConnectWiseSandbox(
                    listen_socket=self._cw_socket,
                    log_requests=self._log_requests,
                    user_secret=self.user_secret,
                    organization_secret=self.organization_secret,
                )

                def make() -> SandboxServer:
                    return SandboxServer(
                        self.user_secret,
                        self.organization_secret,
                        state_file=self.state_file,
                        listen_socket=self._socket,
                        log_requests=self._log_requests,
                        connectwise=connectwise,
                    )

                try:
                    server = make()
                except ValueError as exc:  # its instances cannot be read: start empty
                    if self._home is None or self._head is None:
                        raise
                    self._home.start_over(self._head, str(exc))
                    server = make()
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
        """Send a change event for the instance (asked of the serving process when that is
        another one: then its deliveries are not listed here)."""
        if self.attached:
            self._simulate_there(instance_id, event_type)
            return []
        return self.server().simulate_change(instance_id, event_type=event_type)

    def _simulate_there(self, instance_id: int, event_type: str) -> None:
        import urllib.error
        import urllib.request

        from core.sandbox.instances import SandboxError

        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 address
            f"{self.base_url}/instances/{int(instance_id)}/simulate",
            data=json.dumps({"eventType": event_type}).encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"User {self.user_secret}, Organization {self.organization_secret}",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        try:
            with opener.open(request, timeout=REMOTE_TIMEOUT) as answer:
                answer.read(MAX_REMOTE_ANSWER)
        except urllib.error.HTTPError as exc:
            message = f"The sandbox answered {exc.code}."
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                said = json.loads(exc.read(MAX_REMOTE_ANSWER)).get("message")
                message = str(said)[:500] if said else message
            raise SandboxError(exc.code, message) from None
        except OSError as exc:
            raise SandboxError(
                503, f"The local sandbox at {self.base_url} did not answer ({type(exc).__name__})."
            ) from None

    def stop(self) -> None:
        """Stop serving (or waiting), close the sockets, let the state go. Idempotent."""
        with self._lock:
            first = not self._stopped
            self._stopped = True
            server, connectwise = self._server, self._connectwise
        if first:
            with contextlib.suppress(OSError):
                self._waker.send(b"\0")
        if self._waiter.is_alive():
            self._waiter.join(5.0)
        if server is not None:
            server.stop()  # closes the socket too
        if connectwise is not None:
            connectwise.stop()
        with self._lock:
            self._close_sockets()
            claim, self._claim = self._claim, None
        if claim is not None:
            claim.release()
        self._wake.close()
        self._waker.close()

    def _start_on_first_client(self) -> None:
        listening = [s for s in (self._socket, self._cw_socket) if s is not None]
        try:
            readable, _, _ = select.select([*listening, self._wake], [], [])
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
            for closing in listening:  # waiting clients are refused, and the window says so
                closing.close()

    def _take_over(self) -> None:
        """While another process serves the state: serve it here, on its ports, once it is gone
        (its address, the one this window shows, stays right)."""
        home = self._home
        assert home is not None
        told = False
        while True:
            try:
                readable, _, _ = select.select([self._wake], [], [], TAKE_OVER_POLL_SECONDS)
            except (OSError, ValueError):
                return
            if readable:
                return
            try:
                claim = home.claim()
            except OSError:
                continue
            if claim is None:
                continue
            try:
                with self._lock:
                    if self._stopped:
                        claim.release()
                        return
                    self._serve_state(claim, home.prepare(), ports=(self._port, self._cw_port))
            except (OSError, ValueError) as exc:
                claim.release()
                self._close_sockets()
                self._socket = self._cw_socket = None
                if not told:
                    told = True
                    log.warning("The local sandbox's ports are taken: %s", exc)
                continue
            log.info("The local sandbox is served here now, at %s", self.base_url)
            self._start_on_first_client()
            return
