"""Which threads exist: the manifest of articles that the site build writes.

The service accepts comments only for articles the built site has. The manifest is read through
the publisher's loader (cached until the build replaces the file, and following a moved site),
so a rebuild is seen on the next request.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hubbub.core.manifest import ManifestError, load_manifest, manifest_path

log = logging.getLogger(__name__)

_EMPTY = {"threads": {}, "site": {}}


class Threads:
    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        self.path = manifest_path(self.output_dir)
        self._last_good: dict = _EMPTY

    def _load(self) -> dict:
        if not self.path.exists():
            return _EMPTY  # not built yet: no thread accepts comments
        try:
            self._last_good = load_manifest(self.output_dir)
        except ManifestError as exc:
            # The build replaces the manifest by rename, so this is a real fault: keep what we had.
            log.error("%s", exc)
        return self._last_good

    def get(self, slug: str) -> dict | None:
        """The article's manifest entry (url, title, ...), or None if it is not a thread."""
        return self._load()["threads"].get(slug)

    def site(self) -> dict:
        return self._load()["site"]

    def all(self) -> dict:
        return self._load()["threads"]

    @property
    def available(self) -> bool:
        return self.path.exists()
