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
    char_name,
    csv_cell,
    for_terminal,
    has_invisible,
    host_problem,
    marked,
    name_key,
    punycode,
    shell_word,
    strip_markup,
    unsafe_in_name,
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


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("invoice\u202egpj.exe", "\u202e"),  # right-to-left override: reads "invoiceexe.jpg"
        ("Acme\u2066Corp", "\u2066"),
        ("Acme\u200b", "\u200b"),  # zero-width space
        ("\ufeffAcme", "\ufeff"),
        ("Ac\u00adme", "\u00ad"),  # soft hyphen: invisible unless the line breaks there
        ("Acme\u200dProd", "\u200d"),  # a joiner between ASCII letters only hides a difference
        ("\u200cAcme", "\u200c"),
        ("Acme\x85", "\x85"),  # C1 control (next line)
    ],
)
def test_a_typed_name_may_not_hold_an_invisible_character(name, unsafe):
    assert unsafe_in_name(name) == unsafe


@pytest.mark.parametrize(
    "name",
    [
        "Acme GmbH",
        "Zürich — café ✓",
        "日本語の名前",
        "می\u200cخواهم",  # Persian needs ZWNJ inside the word
        "क्\u200dष",  # ZWJ after a virama (Devanagari)
        "👨\u200d👩\u200d👧",  # an emoji family is joined by ZWJ
    ],
)
def test_names_in_any_script_pass(name):
    assert unsafe_in_name(name) is None


def test_a_character_is_named_by_its_code_point_and_unicode_name():
    assert char_name("\u202e") == "U+202E RIGHT-TO-LEFT OVERRIDE"
    assert char_name("\x85") == "U+0085"  # control characters have no name


def test_punycode_is_the_form_a_host_goes_over_the_wire_in():
    assert punycode("api.openconnectors.us2.ext.h\u0430na.ondemand.com") == (
        "api.openconnectors.us2.ext.xn--hna-6cd.ondemand.com"
    )
    assert punycode("müller-it.de") == "xn--mller-it-65a.de"
    assert punycode("☃.example.com").startswith("xn--")  # refused by IDNA 2008: raw punycode


def test_a_host_with_a_look_alike_letter_is_named_with_its_punycode_form():
    problem = host_problem("api.openconnectors.us2.ext.h\u0430na.ondemand.com", "The host")
    assert problem == (
        "The host has letters outside ASCII, which can pass for others: “а” (U+0430 CYRILLIC "
        "SMALL LETTER A). Its real address is api.openconnectors.us2.ext.xn--hna-6cd."
        "ondemand.com (type that if you mean it); otherwise type the address again in plain "
        "ASCII."
    )
    assert host_problem("api.openconnectors.us2.ext.hana.ondemand.com", "The host") is None
    assert host_problem("xn--mller-it-65a.de", "Server URL") is None  # punycode is ASCII


def test_a_host_with_many_odd_letters_names_the_first_few():
    problem = host_problem("абвгд.example.com", "Server URL")
    assert problem is not None
    assert "“а” (U+0430 CYRILLIC SMALL LETTER A), “б”" in problem
    assert "and 2 more" in problem and "xn--" in problem


def test_markup_is_stripped_as_the_platform_stores_names():
    assert strip_markup('<a href="#">churros-xss</a>') == "churros-xss"
    assert strip_markup("a < b") == "a < b"
