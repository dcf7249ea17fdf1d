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
- `strip_markup`: a name or tag as Open Connectors stores it (HTML tags removed).
- `unsafe_in_name`: the first character a name a person types must not hold (bidi controls,
  zero-width characters), for the field's message.
- `host_problem`: why a host with letters outside ASCII is refused, its punycode form shown
  beside (the form it would go over the wire in), as browsers show a look-alike host.
- `csv_cell`: a CSV cell a spreadsheet will not run as a formula (OWASP CSV injection).
- `shell_word`: a value placed into a command the user is told to paste, quoted.
- `is_visible_ascii`: a value that must be one printable ASCII word (an instance id or token):
  anything else is an unusable answer, neither stored nor printed.
"""

from __future__ import annotations

import re
import shlex
import unicodedata

import idna

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

# An HTML tag as Open Connectors removes it from instance names and tags: "<" up to the next
# ">", attributes and all. A "<" with no ">" after it is left alone.
_MARKUP = re.compile(r"<[^<>]*>")

# The joiners some scripts need inside a word (ZWNJ inside Persian words, ZWJ after a virama
# in Indic scripts and inside emoji sequences): allowed between two characters that are not
# ASCII, never next to ASCII, a space or the ends, where they only hide a difference.
_JOINERS = frozenset("\u200c\u200d")
_C1 = re.compile("[\x80-\x9f]")


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


def strip_markup(text: str) -> str:
    """A name or tag as Open Connectors stores it: HTML tags removed, the rest kept as sent
    (its own test suite: ``<a href="#">churros-xss</a>`` is stored as ``churros-xss``)."""
    return _MARKUP.sub("", text)


def char_name(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character a person cannot see, named."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def _word_char(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char)[0] in "LMS"


def unsafe_in_name(name: str) -> str | None:
    """The first character a typed name must not hold, or None: a bidi control (it reorders
    what is shown: ``invoice\\u202egpj.exe`` reads "invoiceexe.jpg"), a zero-width character
    (two names that look the same would differ) or a C1 control. ZWNJ and ZWJ are let through
    between two letters, marks or symbols outside ASCII, where scripts and emoji need them."""
    for index, char in enumerate(name):
        if char in _JOINERS:
            before = name[index - 1] if index > 0 else " "
            after = name[index + 1] if index + 1 < len(name) else " "
            if _word_char(before) and _word_char(after):
                continue
            return char
        if char in INVISIBLE or _C1.match(char):
            return char
    return None


def punycode(host: str) -> str:
    """`host` as it goes over the wire: IDNA 2008 with the UTS 46 mapping, as requests encodes
    a host. A label IDNA refuses is shown in raw punycode (``xn--`` and its encoding), as a
    browser shows a host it does not trust."""
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        labels = []
        for label in host.split("."):
            if label.isascii():
                labels.append(label)
            else:
                labels.append("xn--" + label.encode("punycode").decode("ascii"))
        return ".".join(labels)


MAX_CHARS_NAMED = 3  # a message names the first few characters outside ASCII, not all


def host_problem(host: str, label: str) -> str | None:
    """Why `host` cannot be used as typed, or None when it is plain ASCII.

    Hosts the app calls (Open Connectors API roots, ConnectWise sites) are ASCII; a letter
    from another script that looks like a Latin one (Cyrillic "а" in ``hаna.ondemand.com``)
    would send the account's secrets to someone else's site while the address reads as the
    real one. So, as browsers do for hosts they cannot vouch for, the message shows the
    punycode form the host really has, and names the characters that are not ASCII. A person
    who does mean an international name types that punycode form, which is ASCII."""
    if host.isascii():
        return None
    odd: list[str] = []
    for char in host:
        if not char.isascii() and char not in odd:
            odd.append(char)
    shown = ", ".join(f"“{marked(c)}” ({char_name(c)})" for c in odd[:MAX_CHARS_NAMED])
    if len(odd) > MAX_CHARS_NAMED:
        shown += f" and {len(odd) - MAX_CHARS_NAMED} more"
    real = punycode(host)
    return (
        f"{label} has letters outside ASCII, which can pass for others: {shown}. Its real "
        f"address is {real} (type that if you mean it); otherwise type the address again "
        "in plain ASCII."
    )


def name_key(name: str) -> str:
    """The one key under which two instance or account names are "the same": as the platform
    stores them (markup removed), NFC-normalised, casefolded, runs of spaces made one."""
    stored = strip_markup(name)
    return " ".join(unicodedata.normalize("NFC", stored).casefold().split())


def stored_name(name: str) -> str:
    """`name` as the platform keeps it: markup removed, NFC-normalised. Not a same-name rule:
    after an unknown outcome it tells *our* instance (named exactly what we sent) from one a
    person named alike ("API INSTANCE" is not "API Instance")."""
    return unicodedata.normalize("NFC", strip_markup(name))


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
