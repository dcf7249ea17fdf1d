"""One window per user: a second launch brings the running window to the front and exits.

The running app listens on a local socket (QLocalServer: a Unix socket, a named pipe on
Windows). A launch first asks that socket to raise the window:

- it answers ``raised`` within `ANSWER_TIMEOUT_MS`: the launch exits 0 (`HandedOver`);
- nothing listens there (no socket, or one left by a run that crashed or was killed, which
  refuses connections): this launch listens there itself, in place of what was left (Qt on
  Linux replaces a stale socket file; where listening fails on it, it is removed first with
  `QLocalServer.removeServer`), and starts normally;
- something accepts the connection but does not answer in time (the window is frozen or the
  process is stopped): starting a second window beside it would defeat the point, so the
  launch says so on standard error and exits 1 (`HandedOver` with status 1).

The name is per user and per place the app keeps its files: APP_ID, the user id and a hash
of the settings file and the records folder. Runs with their own ``XDG_CONFIG_HOME`` (tests,
a second profile) never meet each other or a person's real window. On Linux the socket is in
``$XDG_RUNTIME_DIR`` (private to the user) when that is set, else in the temporary folder,
and it accepts only the same user either way.

Every wait is bounded: connecting `CONNECT_TIMEOUT_MS` (1 s), the answer `ANSWER_TIMEOUT_MS`
(2 s) — a second launch gives up within 3 s. The running app drops a connection that sends
no complete request within `ANSWER_TIMEOUT_MS`, and reads at most 64 bytes from it.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

from core.app_info import APP_ID

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1000
ANSWER_TIMEOUT_MS = 2000
REQUEST = b"raise\n"
ANSWER = b"raised\n"
_MAX_REQUEST = 64
_MAX_SOCKET_PATH = 100  # sun_path holds 104 bytes on macOS, 108 on Linux


def _user_id() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else getpass.getuser()


def server_name(settings_file: str, data_dir: str) -> str:
    """The socket's name for this user and these files (a full path where it fits)."""
    digest = hashlib.sha256("\0".join((_user_id(), settings_file, data_dir)).encode()).hexdigest()
    name = f"{APP_ID}.{digest[:16]}"
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform != "win32" and runtime and os.path.isdir(runtime):
        path = os.path.join(runtime, name)
        if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
            return path
    return name  # Qt puts it in the temporary folder (a named pipe on Windows)


@dataclass(frozen=True)
class HandedOver:
    """Another window runs: this launch ends with `status` (0 when it was raised)."""

    status: int


def _ask_running_window(name: str) -> HandedOver | None:
    """None when no app listens on `name`; else what came of asking it to raise its window."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(CONNECT_TIMEOUT_MS):
        return None
    sock.write(REQUEST)
    deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
    answer = b""
    sock.waitForBytesWritten(ANSWER_TIMEOUT_MS)
    while ANSWER not in answer:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0 or not sock.waitForReadyRead(left_ms):
            break
        answer += sock.read(_MAX_REQUEST).data()
    sock.abort()
    if ANSWER in answer:
        log.info("The app is already running: its window was brought to the front.")
        return HandedOver(0)
    message = (
        "The app is already running, but its window did not answer within "
        f"{ANSWER_TIMEOUT_MS // 1000} seconds (it may be frozen or stopped). Close it, or end "
        "that process, and start the app again."
    )
    log.error(message)  # on standard error and in the log file
    return HandedOver(1)


class WindowServer(QObject):
    """The running app's end: raises `window` when another launch asks."""

    def __init__(self, server: QLocalServer | None) -> None:
        super().__init__()
        self._server = server
        self._window: QWidget | None = None
        if server is not None:
            server.setParent(self)
            server.newConnection.connect(self._accept)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def attach(self, window: QWidget) -> None:
        self._window = window

    def close(self) -> None:
        if self._server is not None:
            self._server.close()  # also removes the socket file
            self._server = None

    def _accept(self) -> None:
        assert self._server is not None
        while (sock := self._server.nextPendingConnection()) is not None:
            self._serve(sock)

    def _serve(self, sock: QLocalSocket) -> None:
        received = bytearray()
        # A connection that never sends its request is dropped; the timer dies with it.
        timer = QTimer(sock)
        timer.setSingleShot(True)
        timer.timeout.connect(lambda: sock.abort())
        timer.start(ANSWER_TIMEOUT_MS)
        sock.disconnected.connect(sock.deleteLater)

        def read() -> None:
            received.extend(sock.read(_MAX_REQUEST - len(received)).data())
            if bytes(received).startswith(REQUEST):
                timer.stop()
                self.raise_window()
                sock.write(ANSWER)
                sock.flush()
                sock.disconnectFromServer()
            elif len(received) >= _MAX_REQUEST or b"\n" in received:
                sock.abort()

        sock.readyRead.connect(read)
        if sock.bytesAvailable():
            read()

    def raise_window(self) -> None:
        """Bring the window to the front. On X11 a window manager's focus-stealing prevention
        may only flash the taskbar entry instead."""
        log.info("Another launch of the app asked for this window: brought it to the front.")
        window = self._window
        if window is None:
            return  # still being built: it is shown in front when it is ready
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.setWindowState(
            (window.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        window.raise_()
        window.activateWindow()


def claim(name: str) -> WindowServer | HandedOver:
    """Become the one window for `name`, or hand over to the one already running."""
    answer = _ask_running_window(name)
    if answer is not None:
        return answer
    server = QLocalServer()
    server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
    if server.listen(name):
        return WindowServer(server)
    if server.serverError() is QAbstractSocket.SocketError.AddressInUseError:
        answer = _ask_running_window(name)  # another launch may have started meanwhile
        if answer is not None:
            return answer
        log.info("Removing the window socket a run that ended abruptly left behind.")
        QLocalServer.removeServer(name)
        if server.listen(name):
            return WindowServer(server)
    log.warning(
        "Could not listen for other launches (%s): a second launch will open a second window.",
        server.errorString(),
    )
    server.deleteLater()
    return WindowServer(None)
