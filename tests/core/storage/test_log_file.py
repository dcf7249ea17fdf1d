"""The log file: written where `core.storage.paths` says, private, rotated at its cap, never in the way."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.storage.log_file import BACKUP_COUNT, MAX_BYTES, LogFile, active_log_file, start_log_file
from core.storage.paths import LOG_FILE_NAME, default_log_dir

log = logging.getLogger("log-file-test")


@pytest.fixture
def started() -> Iterator[list[LogFile]]:
    files: list[LogFile] = []
    yield files
    for f in files:
        f.close()


def test_the_log_lives_in_the_user_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_log_dir() == tmp_path / "state" / "cw-connector-desk" / "log"


def test_the_folders_it_makes_are_private_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[LogFile]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    previous = os.umask(0)  # the widest modes a folder could get
    try:
        started.append(log_file := start_log_file())
    finally:
        os.umask(previous)
    assert stat.S_IMODE(log_file.path.stat().st_mode) == 0o600
    made = [log_file.path.parent, *log_file.path.parent.parents][:3]  # log, app, state
    assert [p.name for p in made] == ["log", "cw-connector-desk", "state"]
    assert [stat.S_IMODE(p.stat().st_mode) for p in made] == [0o700, 0o700, 0o700]


def test_records_are_written_to_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[LogFile]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    started.append(log_file := start_log_file())
    assert log_file.path == default_log_dir() / LOG_FILE_NAME
    assert active_log_file() == log_file.path
    log.info("the window started")
    log.debug("not at INFO")
    assert log_file.handler is not None
    log_file.handler.flush()
    text = log_file.path.read_text(encoding="utf-8")
    assert "INFO log-file-test: the window started" in text
    assert "not at INFO" not in text
    assert stat.S_IMODE(log_file.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_file.path.parent.stat().st_mode) == 0o700

    log_file.close()
    assert active_log_file() is None
    log.info("after closing")
    assert "after closing" not in log_file.path.read_text(encoding="utf-8")


def test_the_log_is_rotated_at_its_cap_and_keeps_three_older_files(
    tmp_path: Path, started: list[LogFile]
) -> None:
    assert (MAX_BYTES, BACKUP_COUNT) == (1024 * 1024, 3)  # what the docs promise
    cap = 4096
    started.append(log_file := start_log_file(tmp_path, max_bytes=cap))
    for n in range(2000):  # about 90 bytes a line: 44 caps' worth
        log.info("line %05d %s", n, "x" * 40)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [LOG_FILE_NAME] + [f"{LOG_FILE_NAME}.{i}" for i in (1, 2, 3)]
    for p in tmp_path.iterdir():
        assert p.stat().st_size <= cap
        assert stat.S_IMODE(p.stat().st_mode) == 0o600  # the files made by rotation too
    assert "line 01999" in log_file.path.read_text(encoding="utf-8")


def test_a_folder_that_cannot_be_written_means_no_log_file_and_no_failure(
    tmp_path: Path, started: list[LogFile], caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    started.append(log_file := start_log_file(blocker / "log"))
    assert log_file.handler is None and log_file.error
    assert active_log_file() is None
    assert "No log file this run" in caplog.text
