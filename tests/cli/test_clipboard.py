"""`cwdesk token --copy` on a real X clipboard (a private Xvfb display, the real xclip): the
copy is the token; the clipboard tool that stays behind serving it, and the helper that clears
it later, hold none of the app's secrets in their environment or command line; the copy is
cleared after the window's delay unless something else was copied meanwhile, or --keep."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app_info import APP_NAME, ORGANIZATION
from core.clipboard import MIN_CLEAR_SECONDS
from core.sandbox import SandboxServer
from tests.cli.test_process import cli_env, cwdesk
from tests.installed.conftest import tool, virtual_display
from tests.leaks import Spawned, spawned_with
from tests.seed import SEED_BODY

WAIT = MIN_CLEAR_SECONDS + 15.0  # the delay, and time for a loaded machine


@pytest.fixture
def display() -> Iterator[str]:
    tool("xclip", "xclip")
    with virtual_display("640x480x24") as name:
        yield name
        end_helpers(name)


def end_helpers(display: str) -> None:
    """Teardown: a helper this test started stops waiting (by its pid), so none is left to
    meet a later display of the same number."""
    for process in helpers(display):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


def env_for(tmp_path: Path, server: SandboxServer, display: str) -> dict[str, str]:
    env = cli_env(tmp_path, server)
    env["DISPLAY"] = display
    env.pop("WAYLAND_DISPLAY", None)
    # The window's own setting, at its shortest: the command line uses the same delay.
    settings = Path(env["XDG_CONFIG_HOME"]) / ORGANIZATION / f"{APP_NAME}.conf"
    settings.parent.mkdir(parents=True)
    settings.write_text(f"[clipboard]\nclear_seconds={MIN_CLEAR_SECONDS}\n", encoding="utf-8")
    return env


def clipboard(display: str) -> str | None:
    done = subprocess.run(
        ["xclip", "-selection", "clipboard", "-out"],
        env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return done.stdout if done.returncode == 0 else None


def copy_mine(display: str, text: str) -> None:
    subprocess.run(
        ["xclip", "-selection", "clipboard", "-in"],
        input=text,
        env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        timeout=5,
        check=True,
    )


def helpers(display: str) -> list[Spawned]:
    return [p for p in spawned_with("DISPLAY", display) if "core.clipboard" in p.argv]


def wait_for_helpers_to_end(display: str) -> None:
    deadline = time.monotonic() + WAIT
    while helpers(display):
        assert time.monotonic() < deadline, "the clearing helper did not end in time"
        time.sleep(0.1)


def copied(tmp_path: Path, server: SandboxServer, display: str, *extra: str) -> str:
    instance = server.add_instance("Acme", SEED_BODY["configuration"])
    env = env_for(tmp_path, server, display)
    done = cwdesk(
        "token", str(instance.id), "--copy", "--api-root", server.base_url, *extra, env=env
    )
    assert done.returncode == 0, done.stderr
    assert instance.token is not None
    return done.stdout + "\n" + instance.token


def test_the_copy_is_cleared_after_the_window_s_delay_by_a_helper_without_secrets(
    tmp_path: Path, server: SandboxServer, display: str
) -> None:
    said, token = copied(tmp_path, server, display).rsplit("\n", 1)

    assert f"it is cleared in {MIN_CLEAR_SECONDS} s unless something else" in said
    assert clipboard(display) == token
    spawned = spawned_with("DISPLAY", display)
    assert {Path(p.argv[0]).name for p in spawned} >= {"xclip"}
    assert helpers(display), "no helper waits to clear the copy"
    secrets = [server.user_secret, server.organization_secret, token]
    for process in spawned:
        assert not [s for s in secrets if s in process.texts], process.argv
        assert not [k for k in process.environ if k.startswith("CWDESK_")], process.argv

    wait_for_helpers_to_end(display)

    assert clipboard(display) in ("", None)


def test_something_copied_meanwhile_is_left_alone(
    tmp_path: Path, server: SandboxServer, display: str
) -> None:
    copied(tmp_path, server, display)
    assert helpers(display), "no helper waits to clear the copy"
    copy_mine(display, "the user's own words")

    wait_for_helpers_to_end(display)

    assert clipboard(display) == "the user's own words"


def test_keep_leaves_the_copy_and_starts_no_helper(
    tmp_path: Path, server: SandboxServer, display: str
) -> None:
    said, token = copied(tmp_path, server, display, "--keep").rsplit("\n", 1)
    assert "it stays there until something else is copied" in said
    assert clipboard(display) == token and helpers(display) == []
