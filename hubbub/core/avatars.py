"""Avatars drawn locally, so no third-party avatar service learns who reads the site.

- `identicon_svg`: a commenter's small symmetric identicon, inline SVG. The picture comes from a
  further hash of the commenter's `author_key` (an HMAC of the email under the site's secret salt),
  so the page carries neither the email nor a plain hash of it.
- `avatar_svg`: a writer's initials on a colour picked from a hash of their name, a standalone SVG
  file for writers whose profile names no Avatar image. The same name always gets the same colour.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

# -- commenters: identicons ------------------------------------------------------------------------

GRID = 5  # cells per side; the left half (with the middle column) is mirrored to the right


def _seed(author_key: str, fallback: str) -> bytes:
    # Comments without a key (e.g. imported without an email) get a picture from the name instead.
    material = f"key:{author_key}" if author_key else f"name:{fallback.strip().lower()}"
    return hashlib.sha256(b"hubbub-avatar\0" + material.encode("utf-8")).digest()


@lru_cache(maxsize=4096)  # a site has far fewer regular commenters than comments
def identicon_svg(author_key: str, fallback: str = "", size: int = 40) -> Markup:
    """An inline <svg> identicon; the same key always draws the same picture."""
    digest = _seed(author_key, fallback)
    hue = int.from_bytes(digest[0:2], "big") % 360
    saturation = 45 + digest[2] % 25
    lightness = 35 + digest[3] % 20
    cells = []
    half = (GRID + 1) // 2
    bits = int.from_bytes(digest[4:12], "big")
    for row in range(GRID):
        for col in range(half):
            if bits >> (row * half + col) & 1:
                cells.append((col, row))
                if col != GRID - 1 - col:
                    cells.append((GRID - 1 - col, row))
    if not cells:  # never draw an empty square
        cells.append((GRID // 2, GRID // 2))
    path = "".join(f"M{c} {r}h1v1h-1z" for c, r in sorted(cells))
    return Markup(
        f'<svg class="avatar" width="{size}" height="{size}" viewBox="-0.5 -0.5 {GRID + 1} {GRID + 1}" '
        f'aria-hidden="true" focusable="false">'
        f'<rect x="-0.5" y="-0.5" width="{GRID + 1}" height="{GRID + 1}" fill="#eef1f5"/>'
        f'<path fill="hsl({hue},{saturation}%,{lightness}%)" d="{path}"/></svg>'
    )


# -- writers: initials -------------------------------------------------------------------------------

# Every colour keeps white initials above WCAG AA contrast (4.5:1); tests check the ratio.
PALETTE = (
    "#0b5cad",  # blue
    "#1e6b34",  # green
    "#8a4b00",  # brown
    "#a11d2b",  # red
    "#5b3f9e",  # purple
    "#0e6468",  # teal
    "#7a3266",  # plum
    "#37474f",  # slate
)

_LETTERS = re.compile(r"[^\W\d_]+")


def initials(name: str) -> str:
    """Up to two capital letters: the first letters of the first and last words of the name."""
    words = _LETTERS.findall(name)
    if not words:
        stripped = name.strip()
        return stripped[:1].upper() or "?"
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[-1][:1]).upper()


def avatar_colour(name: str) -> str:
    digest = hashlib.sha256(name.strip().lower().encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def avatar_svg(name: str, size: int = 96) -> str:
    """A standalone SVG document (for an <img src>), sized `size` pixels square."""
    label = quoteattr(f"{name.strip()}'s avatar")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96" '
        f'width="{size}" height="{size}" role="img" aria-label={label}>'
        f'<rect width="96" height="96" fill="{avatar_colour(name)}"/>'
        '<text x="48" y="48" dy=".35em" text-anchor="middle" fill="#ffffff" font-size="38" font-weight="600" '
        'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, sans-serif">'
        f"{escape(initials(name))}</text></svg>\n"
    )


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio between two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
