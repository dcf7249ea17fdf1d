"""The installed ``cwdesk`` console script, run from ``/``: its help loads no heavy library,
``python -m core.cli`` is the same command, and a batch on the embedded sandbox stores every
token in the real Secret Service and writes a results file with no secret in it."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from tests.batch_files import password_of, soap_rows, write_csv
from tests.installed.conftest import Installed, base_env, run, unavailable

pytestmark = pytest.mark.installed

HEAVY = ("PySide6", "requests", "pydantic", "keyring")


def test_the_wheel_installs_cwdesk_and_its_package(installed: Installed) -> None:
    names = installed.wheel_names()
    assert {"core/cli/__init__.py", "core/cli/app.py", "core/cli/batch.py"} <= names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "cwdesk = core.cli.app:launch" in installed.wheel_file(entry_points).decode()
    assert installed.bin("cwdesk").is_file()


def test_installed_help_imports_no_heavy_library(installed: Installed) -> None:
    # -X importtime names every module the console script imported, on standard error.
    done = run(
        [str(installed.python), "-X", "importtime", str(installed.bin("cwdesk")), "--help"],
        env=base_env(installed.home),
    )
    assert done.stdout.startswith("usage: cwdesk")
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert imported & set(HEAVY) == set()
    module = run([str(installed.python), "-m", "core.cli", "--help"], env=base_env(installed.home))
    assert module.stdout == done.stdout


def test_installed_batch_on_the_sandbox_stores_every_token(
    installed: Installed, tmp_path: Path
) -> None:
    if "DBUS_SESSION_BUS_ADDRESS" not in os.environ:
        unavailable("no D-Bus session with a Secret Service (scripts/test.sh starts one)")
    source = write_csv(tmp_path / "customers.csv", soap_rows(12))
    env = base_env(installed.home, XDG_CONFIG_HOME=str(tmp_path / "config"))
    env["CW_CONNECTOR_DESK_DATA_DIR"] = str(tmp_path / "data")
    env["CW_CONNECTOR_DESK_SANDBOX_PORT"] = "0"  # never this user's fixed port in a test

    done = run([str(installed.bin("cwdesk")), "batch", str(source), "--sandbox"], env=env)

    assert done.stdout.splitlines()[-1].startswith("12 rows: 12 created in ")
    with (tmp_path / "customers.results.csv").open(encoding="utf-8", newline="") as handle:
        results = list(csv.DictReader(handle))
    assert [r["status"] for r in results] == ["created"] * 12
    assert all(r["message"] == "" for r in results)  # no "token not stored"
    seen = done.stdout + done.stderr + (tmp_path / "customers.results.csv").read_text("utf-8")
    assert all(password_of(n) not in seen for n in range(1, 13))
