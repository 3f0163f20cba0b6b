"""Hubbub: a static community blog with moderated comments.

Three layers, each depending only on the ones below it:
- `hubbub.core`: the publishing core (thread files, comment tree, rendering with the theme, feeds,
  manifest, atomic writes, locks). No Flask, no SQLAlchemy: the site build and the comment service
  both use it.
- `hubbub.plugins` (Pelican adapters: signals to the core) and `comments_service` (the Flask
  service, which calls the core to publish).
- `hubbub.cli`: the `hubbub` command.
"""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("hubbub")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

# The theme and the comment templates that any theme can include ({% include "hubbub/comments.html" %}).
THEME = str(Path(__file__).with_name("theme"))
TEMPLATES = str(Path(__file__).with_name("templates"))
# The stylesheet of those templates, for themes other than Hubbub's.
STATIC = str(Path(__file__).with_name("static"))
