"""The style guide: the design tokens of ``static/bont.css`` with the contrast of each colour, and every component
with a live example, for whoever builds a page. Open to every signed-in role; it holds no patient data.

The colours are read from the stylesheet itself, so the page documents what the app draws; the contrast ratios
are computed here as WCAG 2.2 defines them (relative luminance, success criterion 1.4.3:
https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from importlib.resources import files

from csp.constants import NONCE
from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.web.access import STAFF, require_role

TEXT_MINIMUM = Decimal("4.5")  # WCAG 2.2 AA, 1.4.3: normal text
NON_TEXT_MINIMUM = Decimal("3")  # WCAG 2.2 AA, 1.4.11: UI components and large text
WHITE = "#ffffff"

_TOKEN = re.compile(r"^\s*--(bont-[a-z0-9-]+):\s*([^;]+);", re.MULTILINE)

# What each colour is for, and what it must stand out against. A tint is the background of its state colour;
# a state colour is checked on white and on its tint.
_COLOURS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bont-ink": ("body text", ("bont-surface", "bont-page")),
    "bont-muted": ("secondary text", ("bont-surface", "bont-page", "bont-neutral-surface")),
    "bont-accent": ("links, primary buttons", ("bont-surface", "bont-page", "bont-accent-surface")),
    "bont-ok": ("done, within limits", ("bont-surface", "bont-ok-surface")),
    "bont-warn": ("a warning to acknowledge", ("bont-surface", "bont-warn-surface")),
    "bont-stop": ("a stop: a block, an error", ("bont-surface", "bont-stop-surface")),
    "bont-focus": ("the focus ring", ("bont-surface", "bont-page")),
    "bont-line": ("borders between things (decorative)", ()),
    "bont-surface": ("cards, tables, fields", ()),
    "bont-page": ("the page behind the cards", ()),
    "bont-accent-surface": ("an information alert", ()),
    "bont-ok-surface": ("behind ok text", ()),
    "bont-warn-surface": ("behind warning text", ()),
    "bont-stop-surface": ("behind stop text", ()),
    "bont-neutral-surface": ("a neutral pill, a disabled control", ()),
}
_FOCUS = "bont-focus"  # a ring, not text: 3:1 suffices


@dataclass(frozen=True)
class Contrast:
    """One colour against one background, with the WCAG ratio and the minimum it must meet."""

    background: str
    ratio: Decimal
    minimum: Decimal

    @property
    def meets(self) -> bool:
        return self.ratio >= self.minimum


@dataclass(frozen=True)
class Swatch:
    token: str
    value: str
    role: str
    contrast_on_white: Decimal
    checks: tuple[Contrast, ...]


def relative_luminance(colour: str) -> float:
    """The relative luminance of a ``#rrggbb`` colour (sRGB), as WCAG defines it."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> Decimal:
    """The contrast ratio of two colours, rounded down to two places: a ratio shown as 4.50 does meet 4.5."""
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return Decimal((lighter + 0.05) / (darker + 0.05)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


@cache
def design_tokens() -> dict[str, str]:
    """Every ``--bont-*`` custom property of the stylesheet's ``:root``, by name, in the order written."""
    stylesheet = (files("bont.web") / "static" / "bont.css").read_text(encoding="utf-8")
    root = stylesheet[stylesheet.index(":root {") : stylesheet.index("}", stylesheet.index(":root {"))]
    return {name: value.strip() for name, value in _TOKEN.findall(root)}


def swatches(tokens: dict[str, str]) -> list[Swatch]:
    found = []
    for token, (role, backgrounds) in _COLOURS.items():
        minimum = NON_TEXT_MINIMUM if token == _FOCUS else TEXT_MINIMUM
        checks = tuple(
            Contrast(background, contrast_ratio(tokens[token], tokens[background]), minimum)
            for background in backgrounds
        )
        found.append(Swatch(token, tokens[token], role, contrast_ratio(tokens[token], WHITE), checks))
    return found


@require_role(*STAFF)
@csp_update({"style-src": [NONCE]})  # the swatches' colours, drawn from the tokens in a <style> of the page
def style_guide(request: HttpRequest) -> HttpResponse:
    tokens = design_tokens()
    colours = swatches(tokens)
    measures = [(name, value) for name, value in tokens.items() if not value.startswith("#")]
    return render(
        request,
        "web/style.html",
        {
            "text_colours": [s for s in colours if s.checks],
            "surfaces": [s for s in colours if not s.checks],
            "measures": measures,
            "text_minimum": TEXT_MINIMUM,
            "non_text_minimum": NON_TEXT_MINIMUM,
        },
    )
