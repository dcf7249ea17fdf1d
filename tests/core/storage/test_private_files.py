"""Private files and folders: 0600 and 0700 from the first byte under any umask; narrowing an
older file never reaches through a link or into another user's file."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.storage.private_files import private_file, private_folder
from tests.other_user import NOBODY, needs_root

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's")


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@posix_only
@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277], ids=["000", "022", "277"])
def test_made_private_and_usable_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    folder = tmp_path / "a" / "b" / "c"
    with umask(mask):
        private_folder(folder)
        private_file(folder / "f.conf")
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", folder)] == [0o700] * 3
    assert mode(folder / "f.conf") == 0o600  # not 0400 under 277: still writable
    (folder / "f.conf").write_text("written", encoding="utf-8")


@posix_only
def test_what_exists_is_left_unless_asked_to_narrow(tmp_path: Path) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    folder.chmod(0o755)
    path = folder / "f.conf"
    path.write_text("kept", encoding="utf-8")
    path.chmod(0o644)
    private_folder(folder)
    private_file(path)
    assert (mode(folder), mode(path)) == (0o755, 0o644)
    private_folder(folder, tighten=True)
    private_file(path, tighten=True)
    assert (mode(folder), mode(path)) == (0o700, 0o600)
    assert path.read_text(encoding="utf-8") == "kept"


@posix_only
def test_narrowing_never_follows_a_link(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "f.conf"
    target.parent.mkdir()
    target.write_text("the user's own arrangement", encoding="utf-8")
    target.chmod(0o644)
    link = tmp_path / "f.conf"
    link.symlink_to(target)
    private_file(link, tighten=True)
    assert mode(target) == 0o644 and link.is_symlink()


@needs_root
def test_another_users_file_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "f.conf"
    path.write_text("theirs", encoding="utf-8")
    path.chmod(0o644)
    os.chown(path, NOBODY, NOBODY)
    private_file(path, tighten=True)
    assert mode(path) == 0o644 and path.stat().st_uid == NOBODY
