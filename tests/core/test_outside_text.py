"""The trust boundary's text rules (`core.outside_text`): what a terminal, a window, a CSV
file and a shell receive of text from outside."""

from __future__ import annotations

import csv
import io
import shlex
import subprocess

import pytest

from core.outside_text import (
    capped,
    csv_cell,
    for_terminal,
    has_invisible,
    marked,
    name_key,
    shell_word,
)

HOSTILE = "ok\x1b]52;c;aGk=\x07\x1b[2J\x9b31m\u202etxt.exe\u200b\x7f"


def test_terminal_text_has_no_character_a_terminal_acts_on():
    shown = for_terminal(HOSTILE)
    assert shown == "ok\\x1b]52;c;aGk=\\x07\\x1b[2J\\x9b31m\\u202etxt.exe\\u200b\\x7f"
    assert all(0x20 <= ord(c) < 0x7F for c in shown)


def test_terminal_text_keeps_newlines_only_when_asked():
    assert for_terminal("a\nb") == "a\\x0ab"
    assert for_terminal("a\nb\r", keep_newlines=True) == "a\nb\\x0d"


def test_plain_and_non_ascii_text_is_untouched():
    for text in ("Acme GmbH", "Zürich — café ✓", "日本語の名前", ""):
        assert for_terminal(text) == text
        assert marked(text) == text
        assert not has_invisible(text)


def test_window_text_marks_bidi_and_zero_width_characters():
    assert marked("invoice\u202egpj.exe") == "invoice[U+202E]gpj.exe"
    assert marked("a\u200bb\ufeff") == "a[U+200B]b[U+FEFF]"
    assert marked("tab\there") == "tab here"
    assert has_invisible("x\u2066y")


def test_capped_keeps_short_text_and_ends_long_text_with_an_ellipsis():
    assert capped("short", 10) == "short"
    cut = capped("x" * 1_000_000, 200)
    assert len(cut) == 200 and cut.endswith("…")
    with pytest.raises(ValueError):
        capped("x", 0)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme", "acme"),
        ("Acme  Corp ", " acme corp"),
        ("<b>Acme</b>", "Acme"),
        ("Cafe\u0301", "Café"),  # decomposed and composed é
        ("STRASSE", "straße"),
    ],
)
def test_names_that_are_the_same_share_one_key(a, b):
    assert name_key(a) == name_key(b)


def test_different_names_keep_different_keys():
    assert name_key("Acme") != name_key("Acme 2")
    assert name_key("acme") != name_key("аcme")  # Cyrillic а: a different name


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_would_run_as_a_formula_is_text(start):
    cell = csv_cell(start + "1+1")
    assert cell == "'" + start + "1+1"
    row = next(csv.reader(io.StringIO(_row([cell]))))
    assert row == [cell]


def test_ordinary_cells_are_kept():
    assert csv_cell("inst-42") == "inst-42"
    assert csv_cell("12345") == "12345"
    assert csv_cell("") == ""


def _row(cells):
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def test_a_quoted_value_reaches_the_shell_as_one_inert_word(tmp_path):
    planted = tmp_path / "planted"
    value = f"1; touch {planted} $(touch {planted}) `touch {planted}`"
    command = "printf %s " + shell_word(value)
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    assert out.stdout == value
    assert not planted.exists()
    assert shlex.split(shell_word(value)) == [value]
