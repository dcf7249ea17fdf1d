"""core/records.py: round trip, damaged files set aside, atomic writes (killed for real), 0600,
shared files (two stores, two processes, a held lock)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from core.records import (
    DATA_DIR_ENV,
    SCHEMA_VERSION,
    InstanceRecord,
    RecordsError,
    RecordsStore,
)

REPO = Path(__file__).resolve().parents[2]
HOST = "api.example.test"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and signals")


def _record(ident: str = "12345", **changes: object) -> InstanceRecord:
    base = InstanceRecord(
        id=ident,
        name="API Instance",
        connector="connectwisehd",
        host=HOST,
        tags=("Docs", "ünïcode"),
        events_enabled=True,
        callback_url="https://hooks.example.test/events",
        created_date="2017-08-07T18:46:38+00:00",
        token_stored=True,
        account="main",
    )
    return InstanceRecord(**{**base.__dict__, **changes})


def test_round_trip(tmp_path: Path) -> None:
    store = RecordsStore(tmp_path)
    first, second = _record("1"), _record("2", name="Other", tags=(), created_date=None)
    store.put(first)
    store.put(second)
    store.put(_record("2", name="Renamed"))  # same host and id: replaced, not added

    loaded = RecordsStore(tmp_path).load()
    assert loaded.set_aside is None and loaded.problem is None
    assert loaded.records == (first, _record("2", name="Renamed"))

    data = json.loads((tmp_path / "instances.json").read_text(encoding="utf-8"))
    assert data["schema"] == SCHEMA_VERSION
    assert data["instances"][0]["id"] == "1"

    assert store.remove(HOST, 1) is True
    assert store.remove(HOST, 1) is False
    assert RecordsStore(tmp_path).records() == (_record("2", name="Renamed"),)


def test_same_id_on_two_hosts_are_two_records(tmp_path: Path) -> None:
    store = RecordsStore(tmp_path)
    store.put(_record("7"))
    store.put(_record("7", host="api.other.test"))
    assert len(RecordsStore(tmp_path).records()) == 2
    assert store.get("api.other.test", 7) == _record("7", host="api.other.test")


def test_numeric_ids_in_the_file_are_read_as_text(tmp_path: Path) -> None:
    entry = _record().to_json() | {"id": 12345}
    (tmp_path / "instances.json").write_text(
        json.dumps({"schema": 1, "instances": [entry]}), encoding="utf-8"
    )
    assert RecordsStore(tmp_path).get(HOST, "12345") == _record()


def test_update_changes_fields_and_keeps_the_key(tmp_path: Path) -> None:
    store = RecordsStore(tmp_path)
    store.put(_record(token_stored=False))
    assert store.update(HOST, 12345, token_stored=True).token_stored is True
    assert RecordsStore(tmp_path).get(HOST, 12345) == _record(token_stored=True)
    with pytest.raises(KeyError):
        store.update(HOST, 999, token_stored=True)
    with pytest.raises(ValueError):
        store.update(HOST, 12345, id="other")


def test_location_env_var_and_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "portable"))
    assert RecordsStore().path == tmp_path / "portable" / "instances.json"
    assert RecordsStore(tmp_path / "arg").path == tmp_path / "arg" / "instances.json"
    monkeypatch.delenv(DATA_DIR_ENV)
    expected = Path(platformdirs.user_data_dir("cw-connector-desk", appauthor=False))
    assert RecordsStore().path == expected / "instances.json"  # computed only, nothing written


def test_missing_file_is_an_empty_list(tmp_path: Path) -> None:
    result = RecordsStore(tmp_path / "not-yet").load()
    assert result.records == () and result.set_aside is None and result.problem is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"schema": 1, "instances": [', "is damaged (not valid JSON: Expecting value at line 1)"),
        (b"", "is damaged (not valid JSON: Expecting value at line 1)"),
        (b"\xff\xfe garbage", "is damaged (it is not UTF-8 text)"),
        (b"[]", "is damaged (it is not a JSON object)"),
        (b'{"instances": []}', "is damaged (it has no schema version)"),
        (
            b'{"schema": 99, "instances": []}',
            "was written by a newer version of the app (schema 99)",
        ),
        (b'{"schema": 1, "instances": [{"id": "1"}]}', "is damaged (entry 1: name must be text)"),
        (b'{"schema": 1, "instances": [{"name": "x"}]}', "is damaged (an entry has no valid id)"),
        (b'{"schema": 1, "instances": [{"id": true}]}', "is damaged (an entry has no valid id)"),
    ],
)
def test_damaged_file_is_set_aside_and_reported(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "instances.json"
    path.write_bytes(content)
    store = RecordsStore(tmp_path)
    result = store.load()

    assert result.records == ()
    assert result.set_aside is not None
    assert re.fullmatch(r"instances\.json\.corrupt-\d{8}T\d{6}Z", result.set_aside.name)
    assert result.set_aside.read_bytes() == content  # kept as it was, for the user to inspect
    assert not path.exists()
    assert result.problem == (
        f"The instance list {path} {reason}. It was moved aside to "
        f"{result.set_aside} and a new list was started. "
        "Tokens in the password manager are untouched."
    )

    store.put(_record())  # a fresh list; the set-aside file stays
    assert RecordsStore(tmp_path).records() == (_record(),)
    assert result.set_aside.read_bytes() == content


def test_lazy_load_also_reports_the_set_aside_file(tmp_path: Path) -> None:
    (tmp_path / "instances.json").write_text("{oops", encoding="utf-8")
    store = RecordsStore(tmp_path)
    assert store.records() == ()
    assert store.last_load is not None and store.last_load.set_aside is not None


def test_two_damaged_files_in_one_second_keep_both(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    path.write_text("first", encoding="utf-8")
    first = RecordsStore(tmp_path).load().set_aside
    path.write_text("second", encoding="utf-8")
    second = RecordsStore(tmp_path).load().set_aside
    assert first is not None and second is not None and first != second
    assert {first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")} == {
        "first",
        "second",
    }


def test_damaged_file_that_cannot_be_moved_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "instances.json"
    path.write_text("{damaged", encoding="utf-8")

    real_replace = os.replace

    def no_moving_aside(src: str | Path, dst: str | Path) -> None:
        if ".corrupt-" in str(dst):  # moving it aside fails; writing a new list would work
            raise PermissionError(13, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr("core.records.os.replace", no_moving_aside)
    store = RecordsStore(tmp_path)
    result = store.load()
    assert result.set_aside is None
    assert result.problem is not None
    assert "could not be moved aside (Permission denied)" in result.problem
    assert result.problem.endswith("Nothing will be saved until you move or fix that file.")
    with pytest.raises(RecordsError) as caught:
        store.put(_record())
    assert "is damaged" in caught.value.message
    assert path.read_text(encoding="utf-8") == "{damaged"

    monkeypatch.undo()  # movable again: the next change moves it aside, then saves
    store.put(_record())
    assert store.last_load is not None and store.last_load.set_aside is not None
    assert store.last_load.set_aside.read_text(encoding="utf-8") == "{damaged"
    assert RecordsStore(tmp_path).records() == (_record(),)


def test_failed_write_keeps_the_old_file_and_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecordsStore(tmp_path)
    store.put(_record("1"))
    before = (tmp_path / "instances.json").read_bytes()

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("core.records.os.replace", disk_full)
    with pytest.raises(RecordsError) as caught:
        store.put(_record("2"))
    assert caught.value.message == (
        f"Could not save the instance list to {tmp_path / 'instances.json'}: "
        "No space left on device."
    )
    assert (tmp_path / "instances.json").read_bytes() == before
    assert [r.id for r in store.records()] == ["1"]  # memory does not claim the lost write
    # The temp file is removed; the lock file stays (it is never removed, see core.records).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instances.json", "instances.json.lock"]


@posix_only
def test_file_is_0600_from_creation_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp_modes: list[int] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        temp_modes.append(stat.S_IMODE(os.stat(src).st_mode))
        real_replace(src, dst)

    monkeypatch.setattr("core.records.os.replace", spy)
    old_umask = os.umask(0)
    try:
        store = RecordsStore(tmp_path / "data")
        store.put(_record("1"))
        store.put(_record("2"))
    finally:
        os.umask(old_umask)
    assert temp_modes == [0o600, 0o600]
    assert stat.S_IMODE((tmp_path / "data" / "instances.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data" / "instances.json.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


def test_threads_do_not_lose_writes(tmp_path: Path) -> None:
    store = RecordsStore(tmp_path)

    def writer(n: int) -> None:
        for i in range(20):
            store.put(_record(f"{n}-{i}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(RecordsStore(tmp_path).load().records) == 120


_WRITER = textwrap.dedent(
    """
    import sys
    from core.records import InstanceRecord, RecordsStore

    store = RecordsStore(sys.argv[1])
    pad = "x" * 400  # large writes make a torn file likely if writes were not atomic
    n = 0
    print("ready", flush=True)
    while True:
        store.put(InstanceRecord(id=str(n), name=pad, connector="connectwisehd",
                                 host="api.example.test", tags=(str(n),)))
        n += 1
    """
)


@posix_only
@pytest.mark.parametrize("iteration", range(4))
def test_writer_killed_mid_write_leaves_a_loadable_file(tmp_path: Path, iteration: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 10
        while not (tmp_path / "instances.json").exists():
            assert time.monotonic() < deadline, "writer never wrote"
            time.sleep(0.01)
        time.sleep(0.2 + 0.13 * iteration)  # let it write hundreds of times, then kill
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout and proc.stdout.close()
        proc.stderr and proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    result = RecordsStore(tmp_path).load()
    assert result.set_aside is None, result.problem
    ids = sorted(int(r.id) for r in result.records)
    assert len(ids) > 10
    assert ids == list(range(len(ids)))  # a consistent prefix of the writer's history
    leftovers = [
        p.name
        for p in tmp_path.iterdir()
        if p.name not in ("instances.json", "instances.json.lock")
    ]
    assert all(re.fullmatch(r"\.instances\.json\..+\.tmp", name) for name in leftovers)


# -- one file, several stores and processes ---------------------------------------------------


def test_two_stores_in_one_process_keep_each_others_records(tmp_path: Path) -> None:
    a = RecordsStore(tmp_path)
    b = RecordsStore(tmp_path)
    assert a.load().records == ()
    b.put(_record("777"))
    a.put(_record("888"))  # A read the file before B saved: it must not write B's away
    assert sorted(r.id for r in RecordsStore(tmp_path).records()) == ["777", "888"]
    assert sorted(r.id for r in a.records()) == ["777", "888"]
    assert sorted(r.id for r in b.records()) == ["777", "888"]  # B sees A's save too


def test_reads_follow_changes_made_by_another_store(tmp_path: Path) -> None:
    a = RecordsStore(tmp_path)
    b = RecordsStore(tmp_path)
    assert a.get(HOST, "5") is None
    b.put(_record("5"))
    assert a.get(HOST, "5") == _record("5")
    b.update(HOST, "5", name="Renamed")
    assert a.records() == (_record("5", name="Renamed"),)
    b.remove(HOST, "5")
    assert a.get(HOST, "5") is None


def test_deletes_merge_too(tmp_path: Path) -> None:
    RecordsStore(tmp_path).put(_record("1"))
    RecordsStore(tmp_path).put(_record("2"))
    a = RecordsStore(tmp_path)
    b = RecordsStore(tmp_path)
    assert len(a.load().records) == len(b.load().records) == 2

    assert a.remove(HOST, "1") is True
    b.put(_record("3"))  # B's memory still holds 1: it must not come back
    assert sorted(r.id for r in RecordsStore(tmp_path).records()) == ["2", "3"]
    assert b.remove(HOST, "1") is False  # already gone: nothing written, nothing lost

    b.remove(HOST, "2")
    a.remove(HOST, "3")  # A never saw 3 in memory before this change: it is still removed
    assert RecordsStore(tmp_path).records() == ()
    with pytest.raises(KeyError):
        b.update(HOST, "3", name="gone")  # an update does not bring a deleted record back
    assert RecordsStore(tmp_path).records() == ()


def test_two_stores_on_threads_lose_nothing(tmp_path: Path) -> None:
    stores = [RecordsStore(tmp_path), RecordsStore(tmp_path)]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(40):
                stores[n % 2].put(_record(f"{n}-{i}"))
                if i % 4 == 3:
                    stores[(n + 1) % 2].remove(HOST, f"{n}-{i}")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    expected = {f"{n}-{i}" for n in range(4) for i in range(40) if i % 4 != 3}
    assert {r.id for r in RecordsStore(tmp_path).records()} == expected


_SAVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.records import InstanceRecord, RecordsStore

    folder, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = RecordsStore(folder)
    store.records()  # both read the (empty) file before either saves
    (folder.parent / f"ready-{tag}").touch()
    deadline = time.monotonic() + 30
    while not (folder.parent / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("never told to start")
        time.sleep(0.001)
    for i in range(count):
        store.put(InstanceRecord(id=f"{tag}-{i}", name="n", connector="connectwisehd",
                                 host="api.example.test"))
    """
)


def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(data), tag, "200"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for tag in ("a", "b")
    ]
    try:
        deadline = time.monotonic() + 30
        while not all((tmp_path / f"ready-{tag}").exists() for tag in ("a", "b")):
            assert all(p.poll() is None for p in procs), "a saver ended before starting"
            assert time.monotonic() < deadline, "the savers never got ready"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate(timeout=10)
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err.decode(errors="replace")
    result = RecordsStore(data).load()
    assert result.problem is None
    ids = {r.id for r in result.records}
    assert len(ids) == 400
    assert ids == {f"{tag}-{i}" for tag in ("a", "b") for i in range(200)}


_LOCK_HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    open(sys.argv[2], "w").close()  # says: held
    time.sleep(120)
    """
)


@contextlib.contextmanager
def _lock_held_by_another_process(lock_path: Path, scratch: Path) -> Iterator[None]:
    """Another process holds the records' lock until the block ends; then it is killed."""
    held = scratch / "held"
    holder = subprocess.Popen([sys.executable, "-c", _LOCK_HOLDER, str(lock_path), str(held)])
    try:
        deadline = time.monotonic() + 30
        while not held.exists():
            assert holder.poll() is None and time.monotonic() < deadline, "holder never locked"
            time.sleep(0.01)
        yield
    finally:
        holder.kill()  # killed while holding it: the kernel releases the lock
        holder.wait(10)


@posix_only
def test_a_lock_held_too_long_is_a_clear_error_and_a_killed_holder_frees_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    store = RecordsStore(data, lock_timeout=0.5)
    store.put(_record("1"))
    before = store.path.read_bytes()
    with _lock_held_by_another_process(store.lock_path, tmp_path):
        started = time.monotonic()
        with pytest.raises(RecordsError) as caught:
            store.put(_record("2"))
        waited = time.monotonic() - started
        assert 0.5 <= waited < 0.5 + 2
        assert caught.value.message == (
            f"The instance list {store.path} is being changed by another program: its lock "
            f"({data / 'instances.json.lock'}) was not free within 0.5 seconds. Nothing was "
            "saved. Try again; if this keeps happening, close other copies of the app."
        )
        assert store.path.read_bytes() == before
        assert [r.id for r in store.records()] == ["1"]  # reads need no lock
    store.put(_record("2"))  # the lock file is still there, and free
    assert sorted(r.id for r in RecordsStore(data).records()) == ["1", "2"]


@posix_only
def test_a_damaged_file_is_not_moved_aside_without_the_lock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "instances.json").write_text("{damaged", encoding="utf-8")
    store = RecordsStore(data, lock_timeout=0.5)
    with _lock_held_by_another_process(store.lock_path, tmp_path):
        result = store.load()
        assert result.set_aside is None and result.records == ()
        assert result.problem == (
            f"The instance list {store.path} is damaged (not valid JSON: Expecting property "
            "name enclosed in double quotes at line 1) and could not be moved aside (its lock "
            "was held elsewhere for more than 0.5 s). Nothing will be saved until you move or "
            "fix that file."
        )
        assert store.records() == ()  # bounded: reads do not wait for the lock again
        assert store.path.read_text(encoding="utf-8") == "{damaged"
    store.put(_record())  # the lock is free: the change moves it aside, then saves
    assert store.last_load is not None and store.last_load.set_aside is not None
    assert store.last_load.set_aside.read_text(encoding="utf-8") == "{damaged"
    assert RecordsStore(data).records() == (_record(),)
