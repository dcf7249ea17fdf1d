"""One window per user: a second launch brings the running window to the front and exits.

The running app listens on a local socket: a Unix socket made with Python's own `socket`
module and watched by a QSocketNotifier (QtNetwork, about 2.5 MB and a few milliseconds at
start, is loaded only on Windows, where QLocalServer gives a named pipe). A launch first asks
that socket to raise the window:

- it answers ``raised`` within `ANSWER_TIMEOUT_MS`: the launch exits 0 (`HandedOver`);
- nothing listens there (no socket, or one left by a run that crashed or was killed, which
  refuses connections): this launch listens there itself, in place of what was left (a
  stale socket file is removed first), and starts normally;
- something accepts the connection but does not answer in time (the window is frozen or the
  process is stopped): starting a second window beside it would defeat the point, so the
  launch says so on standard error and exits 1 (`HandedOver` with status 1);
- the listener is another user's (its process's uid, `SO_PEERCRED` on Linux, or the socket
  file's owner differs from ours): nothing is said to it and its answer is never trusted; the
  log warns, and this launch opens its own window (without listening: the path is taken).

The name is per user and per place the app keeps its files: APP_ID, the user id and a hash
of the settings file and the records folder. Runs with their own ``XDG_CONFIG_HOME`` (tests,
a second profile) never meet each other or a person's real window. On Linux the socket is in
``$XDG_RUNTIME_DIR`` when it is what the XDG spec asks (a folder of this user's, mode 0700),
else in a private folder of this user's, ``<temporary folder>/cw-connector-desk-<uid>``
(made 0700; the socket's path must fit in about 100 bytes, which a folder in the home may
not). A folder for the socket that is not this user's alone (another owner, other users may
enter it, a link) is not used: the log warns and the window opens without the socket. The
socket file is made 0600 either way.

Every wait is bounded: connecting `CONNECT_TIMEOUT_MS` (1 s), the answer `ANSWER_TIMEOUT_MS`
(2 s) — a second launch gives up within 3 s. The running app drops a connection that sends
no complete request within `ANSWER_TIMEOUT_MS`, and reads at most 64 bytes from it.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import hashlib
import logging
import os
import socket
import stat
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSocketNotifier, Qt, QTimer
from PySide6.QtWidgets import QWidget

from core.app_info import APP_ID, APP_NAME

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalSocket

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1000
ANSWER_TIMEOUT_MS = 2000
REQUEST = b"raise\n"
ANSWER = b"raised\n"
_MAX_REQUEST = 64
_MAX_SOCKET_PATH = 100  # sun_path holds 104 bytes on macOS, 108 on Linux
_MAX_OPEN = 16  # launches being answered at once


def _user_id() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else getpass.getuser()


def _folder_problem(path: str) -> str | None:
    """What keeps `path` from being a folder of this user's alone; None when it is one."""
    try:
        found = os.lstat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISLNK(found.st_mode):
        return "is a link"
    if not stat.S_ISDIR(found.st_mode):
        return "is not a folder"
    if found.st_uid != os.getuid():
        return f"belongs to another user (uid {found.st_uid})"
    if stat.S_IMODE(found.st_mode) & 0o077:
        return f"is open to other users (mode {stat.S_IMODE(found.st_mode):04o})"
    return None


def _runtime_dir() -> str | None:
    """``$XDG_RUNTIME_DIR`` when it is a folder of this user's alone, as the XDG spec asks."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if not (runtime and os.path.isabs(runtime)):
        return None
    problem = _folder_problem(runtime)
    if problem is not None:
        log.warning("XDG_RUNTIME_DIR %s %s: not used for the window socket.", runtime, problem)
        return None
    return runtime


def _private_temp_folder() -> str:
    """``<temporary folder>/cw-connector-desk-<uid>``, made 0700 when missing (whether it is
    usable, `claim` checks: another user may have made it first)."""
    folder = os.path.join(tempfile.gettempdir(), f"{APP_NAME}-{os.getuid()}")
    with contextlib.suppress(OSError):  # there already, or cannot be: `claim` says which
        os.mkdir(folder, 0o700)  # the umask can only take bits away
    return folder


def server_name(settings_file: str, data_dir: str) -> str:
    """The socket's name for this user and these files (a full path on Unix)."""
    digest = hashlib.sha256("\0".join((_user_id(), settings_file, data_dir)).encode()).hexdigest()
    name = f"{APP_ID}.{digest[:16]}"
    if sys.platform == "win32":
        return name  # a named pipe: QLocalServer's
    runtime = _runtime_dir()
    if runtime is not None:
        path = os.path.join(runtime, name)
        if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
            return path
    return os.path.join(_private_temp_folder(), name)


def _peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process listening at the other end (Linux); None where not known."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def _foreign_owner(sock: socket.socket, path: str) -> int | None:
    """The uid of the other user behind a connected socket: the listener's (`SO_PEERCRED`),
    else the socket file's owner; None when both are this user."""
    mine = os.getuid()
    peer = _peer_uid(sock)
    if peer is not None and peer != mine:
        return peer
    try:
        owner = os.lstat(path).st_uid
    except OSError:
        return None
    return owner if owner != mine else None


@dataclass(frozen=True)
class _Foreign:
    """Another user listens at the socket's path: never trusted, never talked to."""

    uid: int


@dataclass(frozen=True)
class HandedOver:
    """Another window runs: this launch ends with `status` (0 when it was raised)."""

    status: int


def _handed_over(answered: bool) -> HandedOver:
    if answered:
        log.info("The app is already running: its window was brought to the front.")
        return HandedOver(0)
    message = (
        "The app is already running, but its window did not answer within "
        f"{ANSWER_TIMEOUT_MS // 1000} seconds (it may be frozen or stopped). Close it, or end "
        "that process, and start the app again."
    )
    log.error(message)  # on standard error and in the log file
    return HandedOver(1)


def _ask_running_window(name: str) -> HandedOver | _Foreign | None:
    """None when no app listens on `name`; `_Foreign` when another user's process does;
    else what came of asking it to raise its window."""
    if sys.platform == "win32":
        return _ask_over_qt(name)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT_MS / 1000)
        connect_by = time.monotonic() + CONNECT_TIMEOUT_MS / 1000
        while True:
            try:
                sock.connect(name)
                break
            except (TimeoutError, BlockingIOError):
                # It listens, but its queue is full: try again until the bound, then treat it
                # as a window that does not answer (never as a stale socket to replace).
                if time.monotonic() >= connect_by:
                    return _handed_over(False)
                time.sleep(0.05)
            except OSError:  # no socket file, a stale one (refused), not a socket
                return None
        foreign = _foreign_owner(sock, name)
        if foreign is not None:
            return _Foreign(foreign)
        deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
        answer = b""
        with contextlib.suppress(OSError):  # timed out, reset: no answer
            sock.settimeout(ANSWER_TIMEOUT_MS / 1000)
            sock.sendall(REQUEST)
            while ANSWER not in answer and len(answer) < _MAX_REQUEST:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                chunk = sock.recv(_MAX_REQUEST)
                if not chunk:
                    break
                answer += chunk
    finally:
        sock.close()
    return _handed_over(ANSWER in answer)


class WindowServer(QObject):
    """The running app's end: raises `window` when another launch asks."""

    def __init__(self) -> None:
        super().__init__()
        self._window: QWidget | None = None
        self._stop: Callable[[], None] | None = None  # the listener's close, while it listens

    @property
    def listening(self) -> bool:
        return self._stop is not None

    def attach(self, window: QWidget) -> None:
        self._window = window

    def close(self) -> None:
        if self._stop is not None:
            self._stop()  # also removes the socket file
            self._stop = None

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


class _Connection(QObject):
    """One launch asking: read its request (at most 64 bytes, within ANSWER_TIMEOUT_MS)."""

    def __init__(
        self, sock: socket.socket, server: WindowServer, done: Callable[[_Connection], None]
    ) -> None:
        super().__init__(server)
        self._sock = sock
        self._server = server
        self._done = done
        self._received = b""
        self._dropped = False
        sock.setblocking(False)
        self._notifier = QSocketNotifier(sock.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)
        self._timer = QTimer(self)  # a connection that never sends its request is dropped
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.drop)
        self._timer.start(ANSWER_TIMEOUT_MS)

    def _read(self) -> None:
        try:
            chunk = self._sock.recv(_MAX_REQUEST - len(self._received))
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        self._received += chunk
        if self._received.startswith(REQUEST):
            self._server.raise_window()
            with contextlib.suppress(OSError):  # a few bytes: a fresh socket's buffer takes them
                self._sock.send(ANSWER)
            self.drop()
        elif not chunk or len(self._received) >= _MAX_REQUEST or b"\n" in self._received:
            self.drop()

    def drop(self) -> None:
        if self._dropped:
            return
        self._dropped = True
        self._timer.stop()
        self._notifier.setEnabled(False)
        self._sock.close()
        self._done(self)
        self.deleteLater()


class _UnixListener(QObject):
    """The Unix socket the running app listens on, watched from the event loop."""

    def __init__(self, sock: socket.socket, path: str, server: WindowServer) -> None:
        super().__init__(server)
        self._sock = sock
        self._path = path
        self._server = server
        self._identity = _identity(path)
        self._open: set[_Connection] = set()
        sock.setblocking(False)
        self._notifier = QSocketNotifier(sock.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._accept)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("Could not take a launch's connection: %s", exc.strerror)
                return
            if len(self._open) >= _MAX_OPEN:
                conn.close()  # a flood: the launches that matter are one at a time
                continue
            self._open.add(_Connection(conn, self._server, self._open.discard))

    def close(self) -> None:
        self._notifier.setEnabled(False)
        for connection in list(self._open):
            connection.drop()
        self._sock.close()
        # Only our own socket file: a later launch may already have put its own there.
        if _identity(self._path) == self._identity:
            with contextlib.suppress(OSError):
                os.unlink(self._path)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.lstat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISSOCK(found.st_mode) else None


def _listen_unix(path: str, server: WindowServer) -> bool | None:
    """Listen on `path`: True; False when something is there (ask again); None on failure."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # the socket file is made 0600: only this user may connect
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return False
        log.warning("Could not listen on %s: %s", path, exc.strerror)
        return None
    finally:
        os.umask(old_umask)
    sock.listen(32)
    listener = _UnixListener(sock, path, server)
    server._stop = listener.close
    return True


def _ignored(name: str, foreign: _Foreign) -> WindowServer:
    log.warning(
        "The window socket %s is held by another user (uid %d): ignored. This window opens on "
        "its own, without the socket: a second launch will open a second window.",
        name,
        foreign.uid,
    )
    return WindowServer()


def claim(name: str) -> WindowServer | HandedOver:
    """Become the one window for `name`, or hand over to the one already running."""
    if sys.platform != "win32":
        problem = _folder_problem(os.path.dirname(name))
        if problem is not None:
            log.warning(
                "The folder of the window socket, %s, %s: not used. This window opens without "
                "the socket: a second launch will open a second window.",
                os.path.dirname(name),
                problem,
            )
            return WindowServer()
    answer = _ask_running_window(name)
    if isinstance(answer, _Foreign):
        return _ignored(name, answer)
    if answer is not None:
        return answer
    if sys.platform == "win32":
        return _claim_over_qt(name)
    server = WindowServer()
    listening = _listen_unix(name, server)
    if listening is False:
        answer = _ask_running_window(name)  # another launch may have started meanwhile
        if isinstance(answer, _Foreign):
            return _ignored(name, answer)
        if answer is not None:
            return answer
        if _identity(name) is not None:  # a socket nobody listens on: a crashed run's
            log.info("Removing the window socket a run that ended abruptly left behind.")
            with contextlib.suppress(OSError):
                os.unlink(name)
            listening = _listen_unix(name, server)
    if not listening:
        log.warning(
            "Could not listen for other launches: a second launch will open a second window."
        )
    return server


# --- Windows: a named pipe, through QtNetwork (loaded only there) ----------------------------


def _ask_over_qt(name: str) -> HandedOver | None:
    from PySide6.QtNetwork import QLocalSocket

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
    return _handed_over(ANSWER in answer)


def _claim_over_qt(name: str) -> WindowServer | HandedOver:
    from PySide6.QtNetwork import QLocalServer

    window_server = WindowServer()
    local = QLocalServer(window_server)
    local.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
    if not local.listen(name):
        answer = _ask_running_window(name)
        if isinstance(answer, _Foreign):
            return _ignored(name, answer)
        if answer is not None:
            return answer
        QLocalServer.removeServer(name)
        if not local.listen(name):
            log.warning(
                "Could not listen for other launches (%s): a second launch will open a second "
                "window.",
                local.errorString(),
            )
            return window_server

    def accept() -> None:
        while (sock := local.nextPendingConnection()) is not None:
            _serve_qt(sock, window_server)

    local.newConnection.connect(accept)
    window_server._stop = local.close
    return window_server


def _serve_qt(sock: QLocalSocket, server: WindowServer) -> None:
    received = bytearray()
    timer = QTimer(sock)  # a connection that never sends its request is dropped
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: sock.abort())
    timer.start(ANSWER_TIMEOUT_MS)
    sock.disconnected.connect(sock.deleteLater)

    def read() -> None:
        received.extend(sock.read(_MAX_REQUEST - len(received)).data())
        if bytes(received).startswith(REQUEST):
            timer.stop()
            server.raise_window()
            sock.write(ANSWER)
            sock.flush()
            sock.disconnectFromServer()
        elif len(received) >= _MAX_REQUEST or b"\n" in received:
            sock.abort()

    sock.readyRead.connect(read)
    if sock.bytesAvailable():
        read()
