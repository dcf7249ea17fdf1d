"""Where the local sandbox keeps itself between runs, and who serves it now.

The window's "Local sandbox" and ``cwdesk --sandbox`` share one sandbox per data folder:

- ``<data folder>/sandbox/state.json``: its instances (tokens and configuration included), its
  account secrets, its id and the ports it last served on. The ``--state`` file of
  ``python -m core.sandbox``, written atomically, mode 0600 in a folder made 0700. Everything in
  it is a test value that works only against this sandbox on 127.0.0.1.
- ``state.json.lock``: held (``flock``) by the one process that serves the state, for as long as
  it runs; the kernel drops it when that process dies. Only the holder writes the state file.
- ``state.json.serving``: the holder's ports, written once it listens and removed when it stops.
  Another process (``cwdesk --sandbox`` while the window runs) reads it and talks to the holder.

Ports: the sandbox takes, in order, the port ``CW_CONNECTOR_DESK_SANDBOX_PORT`` names, the
one it served on last time, and this user's own port (`user_port`, when the variable is not
set), each if free, else any free port; its ConnectWise stand-in the same with the next port.
``CW_CONNECTOR_DESK_SANDBOX_PORT=0`` leaves out the fixed ports (tests: no two runs fight over
one).

Records and tokens of the sandbox's instances are filed under ``local-sandbox-<id>``
(`core.openconnectors.hosts.sandbox_host`), a name that does not change with the port, so they follow the
sandbox wherever it listens.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import socket
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.storage.atomic import atomic_write
from core.storage.file_lock import LockError, let_go, try_hold
from core.storage.json_file import set_aside
from core.storage.paths import default_data_dir
from core.storage.private_files import private_folder

from .store import (
    MAX_STATE_BYTES,
    STATE_FORMAT,
    InstanceStore,
    parse_ports,
    parse_sandbox_id,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
PORT_ENV = "CW_CONNECTOR_DESK_SANDBOX_PORT"
FOLDER_NAME = "sandbox"
STATE_NAME = "state.json"
# This user's port: PORT_BASE + 2 × (uid mod PORT_SLOTS), below Linux's ephemeral range
# (32768-60999), so an outgoing connection never holds it; the ConnectWise stand-in takes the next.
PORT_BASE = 24100
PORT_SLOTS = 800
MAX_SERVING_BYTES = 4096
# A process that holds the lock writes its ports within moments of taking it.
SERVING_WAIT_SECONDS = 3.0


class SandboxUnavailable(Exception):
    """The sandbox's state is held by another process that does not say where it serves."""


def user_port(uid: int | None = None) -> int:
    """This user's sandbox port: the same on every run, another for another user."""
    if uid is None:
        getuid = getattr(os, "getuid", None)
        if getuid is not None:
            uid = int(getuid())
        else:  # Windows: no uid; the user name is as stable
            import getpass

            uid = zlib.crc32(getpass.getuser().encode("utf-8"))
    return PORT_BASE + 2 * (uid % PORT_SLOTS)


def first_choice(environ: Mapping[str, str] | None = None) -> int | None:
    """The port `PORT_ENV` names: None when unset, 0 for "no fixed port". A value that is not a
    port is ignored, with a warning."""
    raw = (os.environ if environ is None else environ).get(PORT_ENV, "").strip()
    if not raw:
        return None
    if raw.isdecimal() and int(raw) < 65535:
        return int(raw)
    log.warning("%s=%r is not a port (0-65534): ignored", PORT_ENV, raw[:20])
    return None


def port_choices(
    last: int | None, *, offset: int = 0, environ: Mapping[str, str] | None = None
) -> list[int]:
    """The ports to try, best first (then any free one): the chosen one, the last one, this
    user's. `offset` 1 gives the ConnectWise stand-in's."""
    chosen = first_choice(environ)
    ordered = [
        chosen + offset if chosen else None,
        last,
        user_port() + offset if chosen is None else None,
    ]
    return list(dict.fromkeys(p for p in ordered if p and 0 < p < 65536))


def listen_on_first_free(ports: Iterable[int]) -> socket.socket:
    """A socket listening on 127.0.0.1 on the first of `ports` that is free, else any port."""
    for port in ports:
        try:
            return socket.create_server((HOST, port))
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise
            log.info("Sandbox port %d is taken; trying the next", port)
    return socket.create_server((HOST, 0))


def port_of(listening: socket.socket) -> int:
    return int(listening.getsockname()[1])


@dataclass(frozen=True)
class Serving:
    """Where the process holding the state serves it. `connectwise` 0: no ConnectWise stand-in."""

    api: int
    connectwise: int
    pid: int


def lock_path(state_file: Path) -> Path:
    return state_file.with_name(state_file.name + ".lock")


def serving_path(state_file: Path) -> Path:
    return state_file.with_name(state_file.name + ".serving")


class Claim:
    """The lock on a state file, held until `release`: its holder alone serves and writes it."""

    def __init__(self, state_file: Path, fd: int) -> None:
        self.state_file = state_file
        self._fd: int | None = fd

    def announce(self, api: int, connectwise: int) -> None:
        """Say where this process serves (atomically: a reader sees all of it or nothing)."""
        data = json.dumps({"api": api, "connectwise": connectwise, "pid": os.getpid()})
        atomic_write(serving_path(self.state_file), data.encode("utf-8"))

    def release(self) -> None:
        """Stop saying where it serves, then let the lock go. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            serving_path(self.state_file).unlink(missing_ok=True)
        let_go(fd)


def claim(state_file: Path) -> Claim | None:
    """The state file's lock if no other process holds it (None then). OSError when its folder
    cannot be made or the lock file opened."""
    private_folder(state_file.parent)
    path = lock_path(state_file)
    try:
        fd = try_hold(path)
    except LockError as exc:  # a lock error other than "held elsewhere"
        raise OSError(errno.ENOLCK, f"Could not lock {path}: {exc.reason}.") from None
    return None if fd is None else Claim(state_file, fd)


def read_serving(state_file: Path) -> Serving | None:
    """The holder's ports, if it said (None while it starts, or when nobody serves)."""
    path = serving_path(state_file)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SERVING_BYTES + 1)
        if len(raw) > MAX_SERVING_BYTES:
            return None
        data = json.loads(raw)
        serving = Serving(int(data["api"]), int(data["connectwise"]), int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return serving if 0 < serving.api < 65536 and 0 <= serving.connectwise < 65536 else None


def wait_for_serving(state_file: Path, timeout: float = SERVING_WAIT_SECONDS) -> Serving:
    """The holder's ports, waiting a little while it starts; SandboxUnavailable after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = read_serving(state_file)
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise SandboxUnavailable(
                f"The local sandbox's state ({state_file}) is held by another program that "
                "does not say where it serves. Close it (or the other window) and try again."
            )
        time.sleep(0.05)


def _secret(value: object) -> bool:
    """Whether a stored account secret can travel in the Authorization header."""
    return (
        isinstance(value, str) and bool(value) and all("!" <= c <= "~" and c != "," for c in value)
    )


@dataclass(frozen=True)
class StateHead:
    """What a state file says of the sandbox itself, without its instances."""

    sandbox_id: str
    user_secret: str = field(repr=False)
    organization_secret: str = field(repr=False)
    ports: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxHome:
    """The persistent sandbox's folder (default ``<data folder>/sandbox``)."""

    folder: Path

    @classmethod
    def default(cls) -> SandboxHome:
        return cls(default_data_dir() / FOLDER_NAME)

    @property
    def state_file(self) -> Path:
        return self.folder / STATE_NAME

    def claim(self) -> Claim | None:
        return claim(self.state_file)

    def serving(self) -> Serving | None:
        return read_serving(self.state_file)

    def head(self) -> StateHead | None:
        """The state's id, secrets and ports, its instances left unread (the window opens the
        sandbox on its GUI thread: 3 ms for 1,000 instances where loading them takes 35 ms).
        None when there is no state, it lacks one of them, or it cannot be read."""
        try:
            if not self.state_file.is_file():  # never open a pipe put in its place
                return None
            with self.state_file.open("rb") as handle:
                raw = handle.read(MAX_STATE_BYTES + 1)
            data = json.loads(raw) if len(raw) <= MAX_STATE_BYTES else None
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            return None
        try:
            sandbox_id = parse_sandbox_id(data.get("sandboxId"))
        except ValueError:
            return None
        user, organization = data.get("userSecret"), data.get("organizationSecret")
        if not (sandbox_id and _secret(user) and _secret(organization)):
            return None
        assert isinstance(user, str) and isinstance(organization, str)
        return StateHead(sandbox_id, user, organization, parse_ports(data.get("ports")))

    def prepare(self) -> StateHead:
        """The head, made when the state has none: the holder of the claim only. A state that
        cannot be read is set aside (``state.json.broken-<time>``) and the sandbox starts empty."""
        found = self.head()
        if found is not None:
            return found
        store = self._load()
        store.sandbox_id = store.sandbox_id or secrets.token_hex(4)
        store.user_secret = store.user_secret or secrets.token_urlsafe(24)
        store.organization_secret = store.organization_secret or secrets.token_urlsafe(24)
        store.save()
        return StateHead(
            store.sandbox_id, store.user_secret, store.organization_secret, dict(store.ports)
        )

    def remember_ports(self, ports: dict[str, int]) -> None:
        """Keep the ports served on for the next run (the holder of the claim only)."""
        store = self._load()
        store.ports = dict(ports)
        store.save()

    def start_over(self, head: StateHead, problem: str) -> Path:
        """The state could not be loaded (`problem`): set aside, and a fresh one with the same id,
        secrets and ports in its place (the holder of the claim only). Where it went."""
        aside = self._set_aside()
        log.warning("%s; it was moved to %s and the sandbox starts empty", problem, aside)
        fresh = InstanceStore(self.state_file)
        fresh.sandbox_id, fresh.ports = head.sandbox_id, dict(head.ports)
        fresh.user_secret, fresh.organization_secret = head.user_secret, head.organization_secret
        fresh.save()
        return aside

    def _load(self) -> InstanceStore:
        store = InstanceStore(self.state_file)
        try:
            store.load()
        except ValueError as exc:
            aside = self._set_aside()
            log.warning("%s; it was moved to %s and the sandbox starts empty", exc, aside)
            store = InstanceStore(self.state_file)
        return store

    def _set_aside(self) -> Path:
        return set_aside(self.state_file, "broken")
