"""core/storage/atomic.py: the one writer, and every file the app writes goes through it: the
temporary file fsynced, renamed over the target, the folder fsynced, 0600 whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.batch import RowResult, RowStatus, write_results
from core.sandbox.home import Claim, SandboxHome
from core.sandbox.store import InstanceStore
from core.storage.atomic import atomic_write
from core.storage.records import InstanceRecord, RecordsStore

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """What was fsynced, in order: ("file", its name) or ("folder", its path)."""
    seen: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        where = os.readlink(f"/proc/self/fd/{fd}")
        seen.append(("folder" if stat.S_ISDIR(mode) else "file", where))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    yield seen


def _writes(tmp_path: Path) -> dict[str, tuple[Callable[[], object], Path]]:
    """Each writer of the app, and the file it writes."""
    state = tmp_path / "sandbox" / "state.json"
    state.parent.mkdir()
    results = tmp_path / "results.csv"
    row = RowResult(row=2, name="A", status=RowStatus.CREATED, instance_id="7")

    def claim_and_announce() -> Claim:
        claim = SandboxHome(state.parent).claim()
        assert claim is not None
        claim.announce(8000, 8001)
        return claim  # released once the file is looked at (release removes it)

    return {
        "records": (
            lambda: RecordsStore(tmp_path).put(InstanceRecord("1", "A", "connectwisehd", "h")),
            tmp_path / "instances.json",
        ),
        "sandbox state": (lambda: InstanceStore(state).save(), state),
        "sandbox serving": (claim_and_announce, state.with_name("state.json.serving")),
        "batch results": (lambda: write_results(results, [row]), results),
    }


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("writer", ["records", "sandbox state", "sandbox serving", "batch results"])
def test_every_writer_fsyncs_the_new_file_then_its_folder(
    tmp_path: Path, fsyncs: list[tuple[str, str]], writer: str
) -> None:
    write, target = _writes(tmp_path)[writer]
    written = write()
    assert target.is_file()
    if isinstance(written, Claim):
        written.release()
    folder_synced = fsyncs.index(("folder", str(target.parent)))
    files_before = [name for kind, name in fsyncs[:folder_synced] if kind == "file"]
    # The temporary file's name, since renamed over the target.
    assert any(Path(name).name.startswith(f".{target.name}.") for name in files_before), fsyncs
    leftovers = [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@posix_only
@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "strict"])
def test_a_written_file_is_0600_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    target = tmp_path / "file.json"
    previous = os.umask(mask)
    try:
        atomic_write(target, b"first")
        atomic_write(target, b"second")  # replaced: still 0600, and still writable next time
    finally:
        os.umask(previous)
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.json"
    atomic_write(target, b"old")

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]
