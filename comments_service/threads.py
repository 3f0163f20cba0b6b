"""Which threads exist: the manifest of articles that the site build writes.

The service accepts comments only for articles the built site has. The manifest is read through
the publisher's loader (cached until the build replaces the file, and following a moved site),
so a rebuild is seen on the next request.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from hubbub.core.closing import closed_now
from hubbub.core.manifest import ManifestError, load_manifest, manifest_path

from .i18n import _

log = logging.getLogger(__name__)

_EMPTY = {"threads": {}, "site": {}}


class ThreadClosed(Exception):
    """The article takes no more comments or edits (`Comments: closed`, or COMMENTS_CLOSE_AFTER_DAYS)."""

    def __init__(self, slug: str):
        super().__init__(_("Comments are closed on this article: it takes no new comments and no edits."))
        self.slug = slug


class Threads:
    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        self.path = manifest_path(self.output_dir)
        self._last_good: dict = _EMPTY
        self._stamp: tuple[int, int, int] | None = None  # the file version _last_good came from

    def _load(self) -> dict:
        # A request asks several times: one stat each, and the file is read again only when the
        # build has replaced it.
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return _EMPTY  # not built yet: no thread accepts comments
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                self._last_good = load_manifest(self.output_dir)
                self._stamp = stamp
            except ManifestError as exc:
                # The build replaces the manifest by rename, so this is a real fault: keep what we had.
                log.error("%s", exc)
        return self._last_good

    def get(self, slug: str) -> dict | None:
        """The article's manifest entry (url, title, ...), or None if it is not a thread."""
        return self._load()["threads"].get(slug)

    def closed(self, slug: str, now: dt.datetime | None = None) -> bool:
        """Whether the thread takes no more comments: as the build decided, or by its age since."""
        entry = self.get(slug)
        return entry is not None and closed_now(entry, now or dt.datetime.now(dt.UTC))

    def check_open(self, slug: str) -> None:
        if self.closed(slug):
            raise ThreadClosed(slug)

    def site(self) -> dict:
        return self._load()["site"]

    def all(self) -> dict:
        return self._load()["threads"]

    @property
    def available(self) -> bool:
        return self.path.exists()
