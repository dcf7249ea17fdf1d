"""core.clipboard without a display: which tool is used, what of the environment it is given,
and the delay both the window and `cwdesk token --copy` read from the window's settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.clipboard import (
    DEFAULT_CLEAR_SECONDS,
    MIN_CLEAR_SECONDS,
    clear_seconds,
    find_tool,
    tool_environment,
)
from core.storage.window_settings import load_clear_seconds


def programs(folder: Path, *names: str) -> str:
    folder.mkdir()
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
        path.chmod(0o755)
    return str(folder)


def test_the_tool_sees_the_display_and_locale_and_none_of_the_app_s_variables() -> None:
    env = {
        "PATH": "/usr/bin",
        "DISPLAY": ":5",
        "XAUTHORITY": "/home/u/.Xauthority",
        "LANG": "C.UTF-8",
        "CWDESK_USER_SECRET": "user-secret",
        "CWDESK_ORGANIZATION_SECRET": "org-secret",
        "CWDESK_PASSWORD": "pw",
        "AWS_SECRET_ACCESS_KEY": "other",
    }
    assert tool_environment(env) == {
        "PATH": "/usr/bin",
        "DISPLAY": ":5",
        "XAUTHORITY": "/home/u/.Xauthority",
        "LANG": "C.UTF-8",
    }


def test_wayland_comes_first_then_x11_and_every_program_a_tool_needs_must_be_there(
    tmp_path: Path,
) -> None:
    both = programs(tmp_path / "both", "wl-copy", "wl-paste", "xclip")
    no_paste = programs(tmp_path / "no-paste", "wl-copy", "xclip")
    session = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}

    wayland = find_tool({**session, "PATH": both})
    x11 = find_tool({**session, "PATH": no_paste})

    assert wayland is not None and wayland.name == "wl-copy"
    assert wayland.copy == (os.path.join(both, "wl-copy"), "--type", "text/plain")
    assert x11 is not None and x11.name == "xclip"  # wl-paste missing: wl-copy is not used
    assert find_tool({"PATH": both}) is None  # no display at all


@pytest.mark.parametrize(
    ("stored", "seconds"),
    [(45, 45), ("45", 45), (2, MIN_CLEAR_SECONDS), ("soon", DEFAULT_CLEAR_SECONDS), (None, 30)],
)
def test_the_delay_is_read_by_one_rule(stored: object, seconds: int) -> None:
    assert clear_seconds(stored) == seconds


def test_the_command_line_reads_the_window_s_delay(tmp_path: Path) -> None:
    settings = tmp_path / "settings.conf"
    assert load_clear_seconds(settings) == DEFAULT_CLEAR_SECONDS  # no file yet
    settings.write_text(
        '[General]\naccounts="[]"\n\n[clipboard]\nclear_seconds=12\n', encoding="utf-8"
    )
    assert load_clear_seconds(settings) == 12
