"""The app's log file: what the window logs, kept in the user's log folder (`core.storage.paths`).

- Bounded: a rotating file of at most `MAX_BYTES` (1 MB), with `BACKUP_COUNT` (3) older files
  beside it (``….log.1`` … ``….log.3``): at most 4 MB on disk, whatever the run does.
- Private: the file is created 0600 and its folder, with any parent it makes, 0700 (it names
  instances and hosts).
- Never a secret: it gets the same records as standard error, and nothing the app logs holds a
  secret (the secret-leak tests search this file too).
- Never in the way: a folder that cannot be written is one warning on standard error, and the
  app runs without a log file.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path

from core.storage.paths import LOG_FILE_NAME, default_log_dir
from core.storage.private_files import private_folder

MAX_BYTES = 1024 * 1024
BACKUP_COUNT = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger(__name__)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files (the first and each one after a rotation) are 0600."""

    def _open(self) -> io.TextIOWrapper:
        stream = open(  # noqa: SIM115 - the handler owns and closes it
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=_private_opener,
        )
        assert isinstance(stream, io.TextIOWrapper)
        return stream


@dataclass
class LogFile:
    """The log file of this run: where it is, and its handler on the root logger (None when
    it could not be opened, with the reason)."""

    path: Path
    handler: PrivateRotatingFileHandler | None
    error: str = ""
    previous_level: int | None = None  # the root logger's, put back on closing

    def close(self) -> None:
        if self.handler is not None:
            root = logging.getLogger()
            root.removeHandler(self.handler)
            self.handler.close()
            self.handler = None
            if self.previous_level is not None:
                root.setLevel(self.previous_level)


def start_log_file(
    directory: Path | None = None,
    *,
    level: int = logging.INFO,
    max_bytes: int = MAX_BYTES,
    backup_count: int = BACKUP_COUNT,
) -> LogFile:
    """Send the root logger's records at `level` and above to the log file in `directory`
    (default: the user's log folder) as well."""
    folder = directory if directory is not None else default_log_dir()
    path = folder / LOG_FILE_NAME
    try:
        private_folder(folder)
        handler = PrivateRotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        log.warning("No log file this run: %s could not be opened (%s).", path, reason)
        return LogFile(path, None, reason)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    if previous == logging.NOTSET or previous > level:
        root.setLevel(level)
    return LogFile(path, handler, previous_level=previous)


def active_log_file() -> Path | None:
    """The log file this process writes, if one was started."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrivateRotatingFileHandler):
            return Path(handler.baseFilename)
    return None
