"""One loopback HTTP service's life: start, stop, port, address, ``with``.

The events receiver (`core.events.receiver`), the Open Connectors sandbox
(`core.sandbox.server`) and the ConnectWise sandbox (`core.sandbox.connectwise`) are each a
`LoopbackService`: a `core.net.loopback.LoopbackHTTPServer` on 127.0.0.1, served on a thread
of its own, whose handler class they name.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, ClassVar, Self

from core.net.loopback import (
    ErrorBody,
    Limits,
    LoopbackHandler,
    LoopbackHTTPServer,
    json_error_body,
)
from core.net.service import HOST, LocalService

# How often the serving thread looks whether to stop: stop() waits for one poll.
_POLL_SECONDS = 0.05


class LoopbackService(LocalService):
    """A `LoopbackHTTPServer` on ``127.0.0.1``, served on a thread of its own.

    Subclasses name their `handler_class` (made with ``service=self`` for each request), and
    may act once the port is theirs (`_on_listening`, which may refuse the start by raising)
    and after the server stopped (`_on_stopped`). A `restartable` service starts again after
    `stop()` and forgets its port meanwhile; any other starts once, and its port stays
    readable after it stopped. ``listen_socket``: serve on this socket, already bound to
    127.0.0.1 and listening, instead of opening one on ``port``. `stopping` is set by
    `stop()`: a handler's waits (a fault's delay) end on it.
    """

    handler_class: ClassVar[type[LoopbackHandler]]
    name: ClassVar[str]  # its threads' name, and its log lines'
    description: ClassVar[str]  # e.g. "the events receiver", in "... is not running"
    restartable: ClassVar[bool] = False

    def __init__(
        self,
        *,
        limits: Limits,
        port: int = 0,
        listen_socket: socket.socket | None = None,
        error_body: ErrorBody = json_error_body,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        self._limits = limits
        self._port = port
        self._listen_socket = listen_socket
        self._error_body = error_body
        self.stopping = threading.Event()
        self._lifecycle = threading.Lock()
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _on_listening(self) -> None:
        """The port is this service's, nothing is served yet."""

    def _on_stopped(self) -> None:
        """The server stopped (or never started); called by every `stop()`."""

    def start(self) -> Self:
        """Listen and serve. OSError when the port is taken. While running: nothing more for
        a restartable service, else (and once stopped) RuntimeError."""
        with self._lifecycle:
            if self._thread is not None or (self.stopping.is_set() and not self.restartable):
                if self.restartable:
                    return self
                raise RuntimeError(f"a {type(self).__name__} can only be started once")
            self.stopping.clear()
            adopt = self._listen_socket
            httpd = LoopbackHTTPServer(
                (HOST, self._port) if adopt is None else adopt.getsockname(),
                self._handler,
                limits=self._limits,
                server_version=self.handler_class.server_version,
                error_body=self._error_body,
                name=self.name,
                bind_and_activate=adopt is None,
            )
            if adopt is not None:
                httpd.adopt(adopt)
            try:
                self._on_listening()
            except BaseException:
                httpd.server_close()
                raise
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": _POLL_SECONDS},
                name=self.name,
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stop serving (connections still open get 2 s to end). Idempotent."""
        with self._lifecycle:
            self.stopping.set()
            httpd, thread = self._httpd, self._thread
            self._thread = None
            if self.restartable:
                self._httpd = None
            if httpd is not None and thread is not None:
                httpd.shutdown()
                httpd.server_close()
                thread.join()
            self._on_stopped()

    def _handler(self, request: Any, client_address: Any, server: Any) -> LoopbackHandler:
        return self.handler_class(request, client_address, server, service=self)

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        """The port it listens on (RuntimeError before it listens)."""
        if self._httpd is not None:
            return int(self._httpd.server_address[1])
        if self._listen_socket is not None:
            return int(self._listen_socket.getsockname()[1])
        raise RuntimeError(f"{self.description} is not running")

    def __enter__(self) -> Self:
        return self.start()
