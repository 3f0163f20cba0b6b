"""Generated author avatars: the author's initials on a colour picked from a hash of their name.

Used for writers whose profile names no Avatar image (or who have no profile at all). The picture
is a small local SVG file, so no third-party avatar service learns who reads the site, and the
same name always gets the same colour from one build to the next.
"""

from __future__ import annotations

import hashlib
import re
from xml.sax.saxutils import escape, quoteattr

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
