"""Which threads exist: the manifest of articles that the site build writes.

The service accepts comments only for articles the built site has. The manifest is re-read
whenever the build replaces it (checked by modification time and size, cheaply, per request).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST = Path(".hubbub") / "manifest.json"


class Threads:
    def __init__(self, output_dir: Path):
        self.path = Path(output_dir) / MANIFEST
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._data: dict = {"threads": {}, "site": {}}

    def _load(self) -> dict:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._stamp is not None:
                log.warning("thread manifest %s is gone: no thread accepts comments until the site is built", self.path)
            self._stamp, self._data = None, {"threads": {}, "site": {}}
            return self._data
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return self._data
        with self._lock:
            if stamp != self._stamp:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    data.setdefault("threads", {})
                    data.setdefault("site", {})
                except (OSError, ValueError) as exc:
                    # A manifest being replaced is renamed atomically, so this is a real fault.
                    log.error("cannot read thread manifest %s (%s): rebuild the site", self.path, exc)
                    return self._data
                self._data, self._stamp = data, stamp
        return self._data

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
