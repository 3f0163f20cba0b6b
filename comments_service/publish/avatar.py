"""Avatars drawn locally: a small symmetric identicon as inline SVG.

The picture comes from a further hash of the commenter's `author_key` (itself an HMAC of the
email under the site's secret salt), so the page carries neither the email nor a plain hash of
it, and no third party sees who reads which comments.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from markupsafe import Markup

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
