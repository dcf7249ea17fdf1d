"""What the wheel ships, where the installed package reads it from, and the desktop entry the
installed launcher puts in the menu (validated by the freedesktop.org tools)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.app_info import APP_ID
from gui.resources import APP_ICON_SIZES, DESKTOP_ENTRY, METAINFO
from tests.installed.conftest import ROOT, Installed, base_env, run, tool

pytestmark = pytest.mark.installed

ASSETS = "gui/assets/"
BUNDLED = [
    "style.qss",
    DESKTOP_ENTRY,
    METAINFO,
    "icons/app.svg",
    *(f"icons/app-{size}.png" for size in APP_ICON_SIZES),
]


def test_wheel_holds_the_assets_and_both_launchers(installed: Installed) -> None:
    names = installed.wheel_names()
    missing = [name for name in BUNDLED if ASSETS + name not in names]
    assert not missing, f"not in {installed.wheel.name}: {missing}"
    for name in BUNDLED:  # the very files of the checkout, byte for byte
        assert installed.wheel_file(ASSETS + name) == (ROOT / "resources" / name).read_bytes()
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = installed.wheel_file(entry_points).decode()
    assert "cw-connector-desk = gui.app:launch" in text
    assert "cw-connector-sandbox = core.sandbox.__main__:launch" in text
    assert installed.desk.is_file() and installed.sandbox.is_file()


def installed_assets(installed: Installed) -> Path:
    """The bundled-files folder as the installed package finds it, imported from ``/``."""
    done = run(
        [
            str(installed.python),
            "-c",
            "import json, core, gui, gui.resources as r; print(json.dumps("
            "{'core': core.__file__, 'gui': gui.__file__, "
            "'qss': str(r.resource_path('style.qss'))}))",
        ],
        env=base_env(installed.home, QT_QPA_PLATFORM="offscreen"),
    )
    where = json.loads(done.stdout)
    site = installed.venv.resolve()
    for name, path in where.items():  # the venv's copy, never the checkout's
        assert Path(path).resolve().is_relative_to(site), f"{name} imported from {path}"
    return Path(where["qss"]).parent


def test_bundled_desktop_entry_and_metainfo_validate(installed: Installed) -> None:
    validate = tool("desktop-file-validate", "desktop-file-utils")
    appstreamcli = tool("appstreamcli", "appstream")
    assets = installed_assets(installed)
    done = run([validate, str(assets / DESKTOP_ENTRY)])
    assert done.stdout.strip() == "", done.stdout
    done = run([appstreamcli, "validate", "--no-net", str(assets / METAINFO)])
    assert "Validation was successful" in done.stdout, done.stdout


def test_desktop_entry_install_reinstall_uninstall(installed: Installed, tmp_path: Path) -> None:
    validate = tool("desktop-file-validate", "desktop-file-utils")
    data = tmp_path / "data"
    env = base_env(installed.home, XDG_DATA_HOME=str(data))
    command = [str(installed.desk), "--install-desktop-entry"]
    icons = data / "icons" / "hicolor"
    expected = {
        data / "applications" / DESKTOP_ENTRY: ASSETS + DESKTOP_ENTRY,
        data / "metainfo" / METAINFO: ASSETS + METAINFO,
        icons / "scalable" / "apps" / f"{APP_ID}.svg": ASSETS + "icons/app.svg",
        **{
            icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png": f"{ASSETS}icons/app-{size}.png"
            for size in APP_ICON_SIZES
        },
    }

    first = run(command, env=env)
    for target in expected:
        assert f"wrote     {target}" in first.stdout.splitlines(), first.stdout
    placed = sorted(p for p in data.rglob("*") if p.is_file())
    assert placed == sorted(expected), "exactly the entry, the metainfo and the icons"
    for target, bundled in expected.items():
        if target.suffix != ".desktop":
            assert target.read_bytes() == installed.wheel_file(bundled), target

    entry = data / "applications" / DESKTOP_ENTRY
    lines = entry.read_text(encoding="utf-8").splitlines()
    assert [ln for ln in lines if ln.startswith("Exec=")] == [f"Exec={installed.desk}"]
    assert f"Icon={APP_ID}" in lines
    bundled_lines = installed.wheel_file(ASSETS + DESKTOP_ENTRY).decode().splitlines()
    assert [ln for ln in lines if not ln.startswith("Exec=")] == [
        ln for ln in bundled_lines if not ln.startswith("Exec=")
    ]
    done = run([validate, str(entry)])
    assert done.stdout.strip() == "", done.stdout

    second = run(command, env=env)
    for target in expected:
        assert f"unchanged {target}" in second.stdout.splitlines(), second.stdout
    assert "wrote" not in second.stdout

    removed = run([str(installed.desk), "--uninstall-desktop-entry"], env=env)
    for target in expected:
        assert f"removed   {target}" in removed.stdout.splitlines(), removed.stdout
    assert [p for p in data.rglob("*") if p.is_file()] == []

    again = run([str(installed.desk), "--uninstall-desktop-entry"], env=env)
    assert "nothing to remove" in again.stdout
