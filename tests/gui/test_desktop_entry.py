"""``--install-desktop-entry`` / ``--uninstall-desktop-entry`` through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.app_info import APP_ID

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    return subprocess.run(
        [sys.executable, "-m", "gui", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_places_entry_icons_and_metainfo_then_uninstall_removes_them(
    tmp_path: Path,
) -> None:
    share = tmp_path / "share"
    first = run(tmp_path, "--install-desktop-entry")
    assert first.returncode == 0, first.stderr
    entry = share / "applications" / f"{APP_ID}.desktop"
    expected = [
        entry,
        share / "metainfo" / f"{APP_ID}.metainfo.xml",
        share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg",
        *(share / f"icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in (16, 32, 48, 128, 256)),
    ]
    for path in expected:
        assert path.is_file(), path
        assert f"wrote     {path}" in first.stdout
    lines = entry.read_text(encoding="utf-8").splitlines()
    # Started as `python -m gui`: the menu starts this same interpreter the same way.
    assert f"Exec={sys.executable} -m gui" in lines
    assert f"Icon={APP_ID}" in lines

    again = run(tmp_path, "--install-desktop-entry")
    assert again.returncode == 0
    assert "wrote" not in again.stdout
    assert f"unchanged {entry}" in again.stdout

    removed = run(tmp_path, "--uninstall-desktop-entry")
    assert removed.returncode == 0
    assert not [p for p in expected if p.exists()]
    assert f"removed   {entry}" in removed.stdout
    assert "nothing to remove" in run(tmp_path, "--uninstall-desktop-entry").stdout


def test_an_unwritable_folder_gives_one_line_and_status_1(tmp_path: Path) -> None:
    (tmp_path / "share").write_text("a file where the folder should be", encoding="utf-8")
    done = run(tmp_path, "--install-desktop-entry")
    assert done.returncode == 1
    assert done.stderr.startswith("cw-connector-desk: could not install the desktop entry:")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_help_names_the_folder_the_entry_goes_to_as_xdg_data_home_says(tmp_path: Path) -> None:
    shown = " ".join(run(tmp_path, "--help").stdout.split())  # argparse wraps the lines
    assert f"files under {tmp_path / 'share'} ($XDG_DATA_HOME" in shown

    unset = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    done = subprocess.run(
        [sys.executable, "-m", "gui", "--help"],
        cwd=ROOT,
        env={**unset, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert f"files under {tmp_path / '.local' / 'share'} (" in " ".join(done.stdout.split())
