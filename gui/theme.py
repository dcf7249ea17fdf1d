"""Light and dark: follow the system's colour scheme, and style the state colours for it.

The scheme comes from, in order: the ``CW_COLOR_SCHEME`` environment variable (``light`` or
``dark``), the system's setting (`QStyleHints.colorScheme`, followed at run time through
``colorSchemeChanged``), and, when the system does not say, the lightness of the palette it
gives. A platform whose theme has no dark palette (X11 without a desktop, offscreen) still
gets a readable dark window: this module installs its own (`dark_palette`), and drops it again
when the scheme turns light. The stylesheet (``resources/style.qss``) is one file whose
``$name`` colour tokens are filled in per scheme; hint and error colours are then nudged until
they reach `MIN_CONTRAST` against the window colour of the palette in use, so a platform's own
palette (whatever its greys) keeps them readable too. Palette changes re-apply the sheet.
"""

from __future__ import annotations

import os
from enum import StrEnum
from string import Template

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from gui.resources import stylesheet

ENV_OVERRIDE = "CW_COLOR_SCHEME"
# WCAG AA asks 4.5:1 for body text; a little more, so anti-aliased glyph edges stay clear of it.
MIN_CONTRAST = 5.0


class Scheme(StrEnum):
    LIGHT = "light"
    DARK = "dark"


# Colours the palette cannot give: banner backgrounds and their text, the error red. Each text
# is at least 6:1 on its own background (measured by tests/gui/test_contrast.py).
TOKENS: dict[Scheme, dict[str, str]] = {
    Scheme.LIGHT: {
        "error": "#b3121d",
        "invalid_border": "#d1242f",
        "sandbox_bg": "#fff4ce",
        "sandbox_text": "#5c4400",
        "warning_bg": "#ffebe9",
        "warning_text": "#82071e",
        "ok_bg": "#dafbe1",
        "ok_text": "#116329",
    },
    Scheme.DARK: {
        "error": "#ff8f87",
        "invalid_border": "#f85149",
        "sandbox_bg": "#3b2f05",
        "sandbox_text": "#f5d77a",
        "warning_bg": "#4d1b1f",
        "warning_text": "#ffbdb8",
        "ok_bg": "#123d22",
        "ok_text": "#8fe3a8",
    },
}
# Hints are the window's text colour faded this far towards the window colour, then made
# stronger until they reach MIN_CONTRAST.
HINT_FADE = 0.35


def luminance(color: QColor) -> float:
    """WCAG relative luminance of an opaque colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.red())
        + 0.7152 * channel(color.green())
        + 0.0722 * channel(color.blue())
    )


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved the fraction `t` of the way towards `b`."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def readable(color: QColor, backgrounds: list[QColor], minimum: float = MIN_CONTRAST) -> QColor:
    """`color`, or the nearest colour towards black or white (away from the backgrounds) that
    reaches `minimum` contrast on every one of `backgrounds`."""
    dark = sum(luminance(b) for b in backgrounds) / len(backgrounds) <= 0.18
    target = QColor("#ffffff") if dark else QColor("#000000")
    for step in range(21):
        candidate = _mix(color, target, step / 20)
        if min(contrast(candidate, b) for b in backgrounds) >= minimum:
            return candidate
    return target


def palette_scheme(palette: QPalette) -> Scheme:
    """Dark when the window is darker than its text (vorta's `uses_dark_mode`)."""
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return Scheme.DARK if window.lightness() < text.lightness() else Scheme.LIGHT


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style, for platforms whose theme gives none."""
    role = QPalette.ColorRole
    palette = QPalette()
    colors = {
        role.Window: "#2d2d2d",
        role.WindowText: "#e8e8e8",
        role.Base: "#1f1f1f",
        role.AlternateBase: "#363636",
        role.ToolTipBase: "#3a3a3a",
        role.ToolTipText: "#e8e8e8",
        role.PlaceholderText: "#a3a3a3",
        role.Text: "#e8e8e8",
        role.Button: "#3a3a3a",
        role.ButtonText: "#e8e8e8",
        role.BrightText: "#ff8f87",
        role.Light: "#4a4a4a",
        role.Midlight: "#404040",
        role.Mid: "#6e6e6e",
        role.Dark: "#1a1a1a",
        role.Shadow: "#0d0d0d",
        role.Highlight: "#2f65a8",
        role.HighlightedText: "#ffffff",
        role.Link: "#8ab4f8",
        role.LinkVisited: "#c58af9",
    }
    for which, name in colors.items():
        palette.setColor(which, QColor(name))
    disabled = QPalette.ColorGroup.Disabled
    for which in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, which, QColor("#7f7f7f"))
    palette.setColor(disabled, role.Base, QColor("#2a2a2a"))
    palette.setColor(disabled, role.Highlight, QColor("#4a4a4a"))
    return palette


def themed_stylesheet(scheme: Scheme, palette: QPalette) -> str:
    """The stylesheet with its colour tokens filled in for `scheme` on `palette`."""
    role = QPalette.ColorRole
    window = palette.color(role.Window)
    # Hints and errors sit on the window, on group boxes and on tab pages, which styles paint
    # with these roles (Fusion's tab page is close to Light).
    grounds = [palette.color(r) for r in (role.Window, role.Button, role.Light, role.Midlight)]
    tokens = dict(TOKENS[scheme])
    tokens["error"] = readable(QColor(tokens["error"]), grounds).name()
    faded = _mix(palette.color(role.WindowText), window, HINT_FADE)
    tokens["hint"] = readable(faded, grounds).name()
    return Template(stylesheet()).substitute(tokens)


def _env_override() -> Scheme | None:
    value = os.environ.get(ENV_OVERRIDE, "").strip().lower()
    return Scheme(value) if value in {s.value for s in Scheme} else None


def _from_qt(scheme: Qt.ColorScheme) -> Scheme | None:
    return {Qt.ColorScheme.Dark: Scheme.DARK, Qt.ColorScheme.Light: Scheme.LIGHT}.get(scheme)


class Theme(QObject):
    """Keeps the application's palette and stylesheet in step with the colour scheme."""

    def __init__(self, app: QApplication, *, override: Scheme | None = None) -> None:
        super().__init__(app)
        self._app = app
        self._override = override
        self._system = _from_qt(QGuiApplication.styleHints().colorScheme())
        self._own_palette: Scheme | None = None  # the scheme of the palette we installed
        self._busy = False
        self._applied: tuple[str, int] | None = None  # the stylesheet and palette last applied
        self.scheme = Scheme.LIGHT
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_changed)
        # The signal, not an event filter: a filter on the application is called for every
        # event of every object, and each call makes Python wrappers (measured: 2.5 MB and
        # a tenth of the start-up). Qt 6 marks the signal deprecated in favour of that event,
        # but still emits it for every application palette change, the platform's included.
        app.paletteChanged.connect(self._palette_changed)
        self.update()

    def set_override(self, scheme: Scheme | None) -> None:
        """Use `scheme` whatever the system says; None follows the system again."""
        self._override = scheme
        self.update()

    def _system_changed(self, scheme: Qt.ColorScheme) -> None:
        self._system = _from_qt(scheme)
        self.update()

    def _palette_changed(self, _palette: QPalette) -> None:
        if not self._busy:
            self.update()

    def update(self) -> None:
        """Work out the scheme, install or drop our own palette, and apply the stylesheet."""
        if self._busy:
            return
        self._busy = True
        try:
            wanted = self._override or self._system
            if self._own_palette is not None and self._own_palette != wanted:
                self._app.setPalette(QPalette())  # back to the platform's palette
                self._own_palette = None
            scheme = wanted or palette_scheme(self._app.palette())
            if palette_scheme(self._app.palette()) != scheme:
                palette = (
                    dark_palette() if scheme is Scheme.DARK else self._app.style().standardPalette()
                )
                self._app.setPalette(palette)
                self._own_palette = scheme
            self.scheme = scheme
            palette = self._app.palette()
            applied = (themed_stylesheet(scheme, palette), palette.cacheKey())
            # Also when only the palette changed: widgets the stylesheet polished keep the
            # palette they were polished with until it is applied again.
            if applied != self._applied:
                self._app.setStyleSheet(applied[0])
                self._applied = applied
        finally:
            self._busy = False

    def close(self) -> None:
        """Stop following (tests): the system palette and no stylesheet again."""
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(self._system_changed)
        self._app.paletteChanged.disconnect(self._palette_changed)
        if self._own_palette is not None:
            self._app.setPalette(QPalette())
        self._app.setStyleSheet("")
        self.setParent(None)


def follow_system(app: QApplication) -> Theme:
    """Style `app` for the system's colour scheme (or ``CW_COLOR_SCHEME``) and keep following."""
    return Theme(app, override=_env_override())
