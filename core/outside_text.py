"""Text from outside (servers, files, events, settings), made safe for where it goes.

The one home of the trust boundary's text rules (docs/reliability-and-security.md):
- `for_terminal`: control characters (C0, DEL, C1), bidi controls and zero-width characters
  become visible escapes (``\\x1b``, ``\\u202e``), so a server's words cannot move the cursor,
  set the clipboard (OSC 52), retitle the terminal or reorder what is shown.
- `marked`: the same characters as visible markers (``[U+202E]``) for a window, where a
  right-to-left override would otherwise reverse a name on screen.
- `capped`: at most `limit` characters, an ellipsis standing for the rest.
- `name_key`: the one same-name rule: markup stripped as the platform stores names,
  NFC-normalised, casefolded, spaces collapsed.
- `csv_cell`: a CSV cell a spreadsheet will not run as a formula (OWASP CSV injection).
- `shell_word`: a value placed into a command the user is told to paste, quoted.
- `is_visible_ascii`: a value that must be one printable ASCII word (an instance id or token):
  anything else is an unusable answer, neither stored nor printed.
"""

from __future__ import annotations

import re
import shlex
import unicodedata

from core.validation import strip_markup

# Characters that change how the text around them is laid out, not what it says: the bidi
# embeddings, overrides and isolates, the directional marks, and zero-width characters.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
ZERO_WIDTH = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")
INVISIBLE = BIDI_CONTROLS | ZERO_WIDTH

# C0 controls, DEL and C1 controls: a terminal acts on them.
_CONTROL = "\x00-\x1f\x7f-\x9f"
_UNSAFE = re.compile("[" + _CONTROL + "".join(sorted(INVISIBLE)) + "]")
_UNSAFE_KEEP_NEWLINES = re.compile(
    "[" + "\x00-\x09\x0b-\x1f\x7f-\x9f" + "".join(sorted(INVISIBLE)) + "]"
)

ELLIPSIS = "…"

# A formula in a spreadsheet starts with one of these (OWASP: CSV injection); tab and carriage
# return too, because some spreadsheets skip them before reading the first character.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _marker(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\t":
        return " "
    return f"[U+{ord(char):04X}]"


def for_terminal(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every character a terminal would act on shown as an escape instead."""
    pattern = _UNSAFE_KEEP_NEWLINES if keep_newlines else _UNSAFE
    return pattern.sub(_escape, text)


def marked(text: str, *, keep_newlines: bool = False) -> str:
    """`text` for a widget: controls, bidi controls and zero-width characters as visible
    markers (a tab as a space), so two names that look alike on screen are told apart."""
    pattern = _UNSAFE_KEEP_NEWLINES if keep_newlines else _UNSAFE
    return pattern.sub(_marker, text)


def has_invisible(text: str) -> bool:
    """True when `text` holds a control, bidi control or zero-width character."""
    return _UNSAFE.search(text) is not None


def capped(text: str, limit: int) -> str:
    """At most `limit` characters: longer text is cut and ends with an ellipsis."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def name_key(name: str) -> str:
    """The one key under which two instance or account names are "the same": as the platform
    stores them (markup removed), NFC-normalised, casefolded, runs of spaces made one."""
    stored = strip_markup(name)
    return " ".join(unicodedata.normalize("NFC", stored).casefold().split())


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading '."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def shell_word(value: str) -> str:
    """`value` as one word of a POSIX shell command, whatever it holds."""
    return shlex.quote(value)


_VISIBLE_ASCII = frozenset(chr(c) for c in range(0x21, 0x7F))


def is_visible_ascii(value: str) -> bool:
    """True when `value` is non-empty printable ASCII without spaces: what an instance id or
    token must be to travel in a URL, a header or a pasted command and print as it is."""
    return bool(value) and _VISIBLE_ASCII.issuperset(value)
