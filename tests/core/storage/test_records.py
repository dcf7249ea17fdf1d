"""core/storage/records.py: round trip, damaged files set aside, atomic writes (killed for real), 0600,
shared files (two stores, two processes, a held lock), bounded reads (size, pipes, devices)."""

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
import pytest

from core.storage.records import (
    DATA_DIR_ENV,
    SCHEMA_VERSION,
    InstanceRecord,
    RecordsError,
    RecordsStore,
)

REPO = Path(__file__).resolve().parents[3]
HOST = "api.example.test"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and signals")
_T = TypeVar("_T")


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
        (
            b'{"schema": 1, "instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "is damaged (JSON nested deeper than 64 levels)",
        ),
    ],
    ids=[
        "truncated",
        "empty",
        "not-utf8",
        "array",
        "no-schema",
        "newer-schema",
        "no-name",
        "no-id",
        "bool-id",
        "deep",
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

    monkeypatch.setattr(os, "replace", no_moving_aside)
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

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(RecordsError) as caught:
        store.put(_record("2"))
    assert caught.value.message == (
        f"Could not save the instance list to {tmp_path / 'instances.json'}: "
        "No space left on device."
    )
    assert (tmp_path / "instances.json").read_bytes() == before
    assert [r.id for r in store.records()] == ["1"]  # memory does not claim the lost write
    # The temp file is removed; the lock file stays (it is never removed, see core.storage.records).
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

    monkeypatch.setattr(os, "replace", spy)
    old_umask = os.umask(0)
    try:
        store = RecordsStore(tmp_path / "share" / "data")  # a first start: no folder yet
        store.put(_record("1"))
        store.put(_record("2"))
    finally:
        os.umask(old_umask)
    assert temp_modes == [0o600, 0o600]
    data = tmp_path / "share" / "data"
    assert stat.S_IMODE((data / "instances.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "instances.json.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(data.parent.stat().st_mode) == 0o700  # the parent it made, too


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
    from core.storage.records import InstanceRecord, RecordsStore

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
    from core.storage.records import InstanceRecord, RecordsStore

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


def save_from_two_processes(tmp_path: Path, count: int) -> Path:
    """Two processes, both having read the records, save `count` records each at once; the
    records folder. Each process must end cleanly within the bound."""
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(data), tag, str(count)],
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
    return data


def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    data = save_from_two_processes(tmp_path, 200)
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


# -- bounded reads: depth, pipes, devices, size -----------------------------------------------


def test_records_of_a_file_nested_100000_levels_deep_sets_it_aside(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    content = b"[" * 100_000 + b"]" * 100_000  # 200 KB
    path.write_bytes(content)
    store = RecordsStore(tmp_path)
    assert store.records() == ()  # not a RecursionError
    assert store.last_load is not None and store.last_load.set_aside is not None
    assert store.last_load.problem is not None
    assert "is damaged (JSON nested deeper than 64 levels)" in store.last_load.problem
    assert store.last_load.set_aside.read_bytes() == content
    store.put(_record())
    assert RecordsStore(tmp_path).records() == (_record(),)


_LOAD_IN_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB: no machine-wide harm
    from core.storage.records import InstanceRecord, RecordsError, RecordsStore

    def peak_rss_mb():
        # VmHWM, not ru_maxrss: after exec, ru_maxrss still counts the parent's memory.
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None

    store = RecordsStore(sys.argv[1])
    result = store.load()
    refused = None
    try:
        store.put(InstanceRecord(id="1", name="n", connector="connectwisehd", host="h"))
    except RecordsError as exc:
        refused = exc.message
    print(json.dumps({
        "records": len(result.records),
        "set_aside": str(result.set_aside) if result.set_aside else None,
        "problem": result.problem,
        "refused": refused,
        "peak_rss_mb": peak_rss_mb(),
    }))
    """
)


def _load_in_child(data: Path) -> dict[str, Any]:
    """`load()` in a process of its own, limited to 1 GiB and 30 s: a hang or a runaway read
    fails the test instead of the machine."""
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_CHILD, str(data)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@posix_only
def test_a_named_pipe_in_the_files_place_neither_hangs_nor_is_moved(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    os.mkfifo(path)
    started = time.monotonic()
    result = _load_in_child(tmp_path)
    assert time.monotonic() - started < 30
    assert result["records"] == 0 and result["set_aside"] is None
    assert result["problem"] == (
        f"The instance list {path} is a named pipe (FIFO), not a file. It was left as it is "
        "and nothing was read from it. Nothing will be saved until it is moved away. "
        "Tokens in the password manager are untouched."
    )
    assert result["refused"] == (
        f"The instance list {path} is a named pipe (FIFO), not a file. It was left as it is "
        "and nothing was read from it."
    )
    assert stat.S_ISFIFO(os.lstat(path).st_mode)  # still there, never written over
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instances.json", "instances.json.lock"]


def _within(seconds: float, call: Callable[[], _T], *, unblock: Path) -> _T:
    """`call()` on a thread given `seconds`; if it hangs on the pipe `unblock`, a writer that
    opens and closes it ends the read, so the test fails instead of waiting for ever."""
    outcome: list[_T] = []
    thread = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        os.close(os.open(unblock, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail(f"still reading the named pipe after {seconds} s")
    assert outcome, "the call raised (see the thread's traceback above)"
    return outcome[0]


@posix_only
def test_a_named_pipe_blocks_writes_until_it_is_moved_away(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    os.mkfifo(path)
    store = RecordsStore(tmp_path)
    assert _within(10, store.records, unblock=path) == ()
    with pytest.raises(RecordsError, match="is a named pipe"):
        store.put(_record())
    assert stat.S_ISFIFO(os.lstat(path).st_mode)
    path.unlink()  # the user moved it away: saving works again, no restart needed
    store.put(_record())
    assert RecordsStore(tmp_path).records() == (_record(),)


@posix_only
def test_a_link_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    path.symlink_to("/dev/zero")
    result = _load_in_child(tmp_path)
    assert result["records"] == 0 and result["set_aside"] is None
    assert result["problem"].startswith(
        f"The instance list {path} is a link to a device (/dev/zero), not a file. "
        "It was left as it is and nothing was read from it."
    )
    assert result["refused"] is not None
    assert result["peak_rss_mb"] is None or result["peak_rss_mb"] < 200
    assert os.readlink(path) == "/dev/zero"


def test_a_folder_in_the_files_place_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    path.mkdir()
    (path / "mine.txt").write_text("the user's", encoding="utf-8")
    store = RecordsStore(tmp_path)
    result = store.load()
    assert result.records == () and result.set_aside is None
    assert result.problem is not None
    assert result.problem.startswith(f"The instance list {path} is a folder, not a file.")
    with pytest.raises(RecordsError, match="is a folder"):
        store.put(_record())
    assert (path / "mine.txt").read_text(encoding="utf-8") == "the user's"


@posix_only
def test_a_500_mb_file_is_set_aside_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    with path.open("wb") as handle:
        handle.truncate(500 * 1024 * 1024)  # sparse: nothing is really written
    result = _load_in_child(tmp_path)
    assert result["records"] == 0
    assert result["set_aside"] is not None
    aside = Path(result["set_aside"])
    assert result["problem"] == (
        f"The instance list {path} is too big (500.0 MB; an instance list is at most "
        f"16.0 MB). It was moved aside to {aside} and a new list was started. "
        "Tokens in the password manager are untouched."
    )
    assert aside.stat().st_size == 500 * 1024 * 1024  # kept as it was
    # Not read (before: 2.7 GB at its peak without a limit).
    assert result["peak_rss_mb"] is None or result["peak_rss_mb"] < 200


def test_a_file_just_over_the_cap_is_set_aside_and_one_at_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecordsStore(tmp_path)
    store.put(_record("1"))
    size = store.path.stat().st_size
    monkeypatch.setattr("core.storage.records.MAX_FILE_BYTES", size)
    assert RecordsStore(tmp_path).load().records == (_record("1"),)
    monkeypatch.setattr("core.storage.records.MAX_FILE_BYTES", size - 1)
    result = RecordsStore(tmp_path).load()
    assert result.set_aside is not None and result.problem is not None
    assert f"is too big ({size / 1024 / 1024:.1f} MB; an instance list is at most" in result.problem


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_a_file_that_grows_past_the_cap_while_read_is_not_read_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "instances.json"
    path.symlink_to("/proc/self/status")  # a regular file that says its size is 0
    assert path.stat().st_size == 0
    monkeypatch.setattr("core.storage.records.MAX_FILE_BYTES", 100)
    result = RecordsStore(tmp_path).load()
    assert result.set_aside is not None and result.problem is not None
    assert "is too big (an instance list is at most 0.0 MB)" in result.problem
    assert os.readlink(result.set_aside) == "/proc/self/status"  # the link moved, not its target


def _full_record_json(n: int) -> dict[str, object]:
    return _record(
        str(100_000 + n),
        name=f"ConnectWise instance {n} for Customer Name, Ltd. [main]",  # commas and brackets
        host="api.openconnectors.us2.ext.hana.ondemand.com",
        callback_url="https://hooks.example.com/connectwise/events/abcdef",
    ).to_json()


def test_ten_thousand_records_are_far_inside_every_bound(tmp_path: Path) -> None:
    entries = [_full_record_json(n) for n in range(10_000)]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"schema": 1, "instances": entries}, indent=2), encoding="utf-8")
    assert path.stat().st_size < 16 * 1024 * 1024 / 3
    result = RecordsStore(tmp_path).load()
    assert result.problem is None and len(result.records) == 10_000


@posix_only
@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (b"{}", "more than 200,000 objects and lists, far more than any list holds"),
        (b"[]", "more than 200,000 objects and lists, far more than any list holds"),
        (b"0", "more than 2,000,000 values, far more than any list holds"),
    ],
    ids=["objects", "lists", "numbers"],
)
def test_16_mb_of_tiny_items_is_set_aside_in_bounded_memory(
    tmp_path: Path, item: bytes, reason: str
) -> None:
    """Inside the size cap, but millions of objects: 5.6 million dicts took 830 MB and 14 s."""
    head, tail = b'{"schema": 1, "instances": [', b"]}"
    count = (16 * 1024 * 1024 - len(head) - len(tail)) // (len(item) + 1)
    path = tmp_path / "instances.json"
    path.write_bytes(head + b",".join([item] * count) + tail)
    started = time.monotonic()
    result = _load_in_child(tmp_path)
    assert time.monotonic() - started < 30
    assert result["set_aside"] is not None
    assert result["problem"].startswith(f"The instance list {path} is damaged ({reason}).")
    assert result["peak_rss_mb"] is None or result["peak_rss_mb"] < 200
