"""Alt-letters for a set of widgets shown together, none used twice.

A window has 26 letters and the Create tab shows more labels and buttons than that: so the
tab's letters are worked out whenever its fields change (the connector decides them), around
the letters the menus, tabs and account bar keep, most important widget first. A widget left
without a letter still has Tab and, where it matters, its own shortcut (Ctrl+Shift+C, Esc).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

Target = QLabel | QAbstractButton | QGroupBox


def letter_of(text: str) -> str:
    """The Alt-letter `text` gives, upper case ("" when none)."""
    sequence = QKeySequence.mnemonic(text)
    return sequence.toString().rsplit("+", 1)[-1].upper() if not sequence.isEmpty() else ""


def plain(text: str) -> str:
    """`text` without its mnemonic marker ("&&" stays a literal "&")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&&")


def _candidates(text: str) -> list[str]:
    """Letters of `text` a person would look for first: word initials, then the rest."""
    words = plain(text).split()
    initials = [w[0].upper() for w in words if w[:1].isalpha()]
    rest = [c.upper() for c in plain(text) if c.isalpha()]
    return list(dict.fromkeys(initials + rest))


def choose(texts: Sequence[str], taken: set[str]) -> list[str]:
    """One letter per text where one can be found (else ""), most important text first: an
    earlier text may move to another of its letters so a later one gets one, never lose it."""
    owner: dict[str, int] = {}
    chosen: dict[int, str] = {}
    options = [_candidates(t) for t in texts]

    def place(i: int, seen: set[str]) -> bool:
        for c in options[i]:
            if c in taken or c in seen:
                continue
            seen.add(c)
            if c not in owner or place(owner[c], seen):
                owner[c] = i
                chosen[i] = c
                return True
        return False

    for i in range(len(texts)):
        place(i, set())
    return [chosen.get(i, "") for i in range(len(texts))]


def marked(text: str, letter: str) -> str:
    """`text` with `letter` (the first time it appears, initials first) marked with '&'."""
    base = plain(text)
    if not letter:
        return base
    starts = [
        i for i, c in enumerate(base) if c.upper() == letter and (i == 0 or base[i - 1] == " ")
    ]
    anywhere = [i for i, c in enumerate(base) if c.upper() == letter]
    at = (starts or anywhere)[0]
    return base[:at] + "&" + base[at:]


def _text(widget: Target) -> str:
    return widget.title() if isinstance(widget, QGroupBox) else widget.text()


def _set_text(widget: Target, text: str) -> None:
    if isinstance(widget, QGroupBox):
        widget.setTitle(text)
    else:
        widget.setText(text)


def assign(widgets: Sequence[Target], taken: set[str], *, before: Sequence[str] = ()) -> None:
    """Give `widgets` (most important first) letters not in `taken` nor used twice.

    `before`: texts chosen for first though not shown here, so the widgets get the letters
    they get where those texts are shown with them (the Create form's fields in the
    Re-authenticate dialog: the same letters as on the Create tab, under its Create button)."""
    letters = choose([*before, *(_text(w) for w in widgets)], taken)[len(before) :]
    for widget, letter in zip(widgets, letters, strict=True):
        _set_text(widget, marked(_text(widget), letter))


def letters_in(widgets: Sequence[QWidget], *, window: QWidget | None = None) -> set[str]:
    """The letters these widgets keep for themselves; given `window`, only those in it (a
    dialog that is a child of one of them has letters of its own window)."""
    found: set[str] = set()
    for widget in widgets:
        if window is not None and widget.window() is not window:
            continue
        letter = letter_of(_text(widget)) if isinstance(widget, Target) else ""
        if letter:
            found.add(letter)
    return found


def letter_buttons(window: QWidget, buttons: Sequence[QAbstractButton]) -> None:
    """Give a dialog's own buttons (Save, Cancel, Close: a button box's standard buttons have
    no letter) letters none of its other widgets uses."""
    others = [w for w in window.findChildren(QWidget) if w not in buttons]
    assign(buttons, letters_in(others, window=window))
