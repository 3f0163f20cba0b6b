"""The build's writer: render only pages whose inputs changed, write only files whose bytes changed.

Pelican's own Writer decides what each page is (its context, its pagination, its file name);
this subclass wraps the template so that rendering starts only when the page's fingerprint differs
from the one recorded for that file by the last build, and replaces Pelican's file opening so that
a file is replaced through a temporary file and a rename, and only when its bytes differ. Either
way Pelican goes on as if it had written the page (the `content_written` signal included), so
plugins see every page of the site on every build.

What was written is recorded in <output>/.hubbub/outputs.json: per file its fingerprint and the
size and time it had when written, so a file changed or removed behind the build's back is
written again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feedgenerator.django.utils.xmlutils import UnserializableContentError
from pelican import signals
from pelican.utils import get_relative_path, path_to_url, sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from hubbub.core.atomic import atomic_write, write_if_changed
from hubbub.core.manifest import HUBBUB_DIR, dump_json
from hubbub.core.threadfile import xml_text
from hubbub.search import IndexedPages

from . import BuildError
from .fingerprint import Fingerprinter
from .parallel import mine

LOG_NAME = "outputs.json"
LOG_VERSION = 2


class _Unchanged(str):
    """What a guarded template renders when the page need not be rendered again."""


UNCHANGED = _Unchanged("")
_HANDLED = ("handled",)  # a file another renderer rendered, or whose record was adopted from one
EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed without posts (see _create_new_feed)


def _stamp(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


@dataclass
class OutputLog:
    """Per output file (relative to output/): [fingerprint, quick fingerprint, size, mtime_ns]."""

    output_dir: Path
    entries: dict[str, list] = field(default_factory=dict)
    claimed: list[str] = field(default_factory=list)  # files plugins and static copies made
    config: str = ""  # the configuration the output was built with
    sources: dict[str, list] = field(default_factory=dict)  # source file -> [size, mtime_ns] it was built from
    # Per paginated write (its first file's name): [quick group fingerprint, the files it made].
    groups: dict[str, list] = field(default_factory=dict)
    expires: str | None = None  # ISO time when the output changes with the date alone (SiteBuild.valid_until)

    @property
    def path(self) -> Path:
        return self.output_dir / HUBBUB_DIR / LOG_NAME

    @classmethod
    def load(cls, output_dir: Path) -> OutputLog:
        log = cls(Path(output_dir))
        try:
            data = json.loads(log.path.read_bytes())
        except (FileNotFoundError, ValueError):
            return log
        if isinstance(data, dict) and data.get("version") == LOG_VERSION:
            log.entries = data.get("outputs", {})
            log.claimed = data.get("claimed", [])
            log.config = data.get("config", "")
            log.sources = data.get("sources", {})
            log.groups = data.get("groups", {})
            log.expires = data.get("expires")
        return log

    def save(self) -> None:
        data = {"version": LOG_VERSION, "outputs": self.entries, "claimed": self.claimed, "config": self.config,
                "sources": self.sources, "groups": self.groups, "expires": self.expires}
        atomic_write(self.path, dump_json(data), fsync=False)

    def expired(self, now) -> bool:
        """Whether the output has changed with the date since it was built (`now`: aware)."""
        return self.expires is not None and now >= datetime.fromisoformat(self.expires)

    def intact(self, name: str, fingerprint: str | None = None) -> bool:
        """Whether the file is still what the last build wrote (with this fingerprint, if given)."""
        entry = self.entries.get(name)
        if entry is None or (fingerprint is not None and entry[0] != fingerprint):
            return False
        return _stamp(self.output_dir / name) == entry[2:]

    def quick_intact(self, name: str, quick: str | None) -> bool:
        """Whether the file is what the last build wrote for this quick fingerprint."""
        entry = self.entries.get(name)
        return quick is not None and entry is not None and entry[1] == quick and self.intact(name)

    def all_intact(self) -> bool:
        return all(self.intact(name) for name in self.entries)


@dataclass
class WriteReport:
    rendered: list[str] = field(default_factory=list)  # fingerprint changed: rendered again
    written: list[str] = field(default_factory=list)  # bytes changed: replaced on disk
    unindexed: list[str] = field(default_factory=list)  # written, but what search indexes of them is the same
    kept: int = 0  # fingerprint unchanged and the file intact: not rendered


class _OutputFile:
    """What Pelican writes a page or feed into: compared with the file, then swapped in whole."""

    def __init__(self, writer: BuildWriter, path: str):
        self.writer, self.path, self.parts = writer, path, []

    def write(self, text: str | bytes) -> None:
        self.parts.append(text)  # pages write text; feedgenerator writes encoded bytes

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.writer._finish(self.path, self.parts)
        return False


class _GuardedTemplate:
    """A template that renders only when the page's fingerprint changed."""

    def __init__(self, template, writer: BuildWriter):
        self.template, self.writer = template, writer
        self.name = template.name

    def render(self, context):
        return self.writer._render(self.template, context)


def _unserializable(elements) -> str:
    """The source of the first post a feed cannot carry (a character XML 1.0 forbids)."""
    for element in elements:
        texts = [getattr(element, name, None) for name in ("title", "summary", "category", "author", "_content")]
        texts += [*(getattr(element, "tags", None) or ()), *(getattr(element, "authors", None) or ())]
        if any(xml_text(str(t)) != str(t) for t in texts if t is not None):
            return element.source_path
    return "A post"


class BuildWriter(Writer):
    """Pelican's Writer, rendering and writing only what changed (see the module docstring)."""

    def __init__(self, output_path, settings, *, fingerprints: Fingerprinter, epoch: str, previous: OutputLog,
                 current: OutputLog, report: WriteReport, skip_early: bool = False,
                 share: tuple[int, int] | None = None):
        super().__init__(output_path, settings=settings)
        # A renderer's (share set) pages all count as changed for the search index: parallel.py
        # hands back what it wrote, not this comparison, so a renderer does not make it.
        self.indexed = IndexedPages(settings) if share is None else None
        self.fingerprints, self.epoch = fingerprints, epoch
        if not skip_early:
            self.keep_unchanged = None  # generators then go through write_file for every page
        self.previous, self.current, self.report = previous, current, report
        self._pending: dict[str, tuple] = {}  # output name -> fingerprints, between render and write
        # Rendering on every core (parallel.py): a renderer's writer handles only its share of the
        # files; the build process's writer adopts what the renderers recorded for theirs.
        self.share = share
        self.adopted: dict[str, list] = {}
        self._group: list[str] | None = None  # the files of the write in progress

    def _elsewhere(self, name: str) -> bool:
        """Whether another renderer renders this file."""
        return self.share is not None and not mine(name, self.share)

    def _adopt(self, name: str) -> bool:
        """Take a renderer's record of a file it wrote, if there is one."""
        entry = self.adopted.pop(name, None)
        if entry is not None:
            self.current.entries[name] = entry
        return entry is not None

    def _name(self, path: str) -> str:
        return os.path.relpath(path, self.output_path).replace(os.sep, "/")

    # Pages -------------------------------------------------------------------------------------
    def write_file(self, name, template, context, relative_urls=False, paginated=None, template_name=None,
                   override_output=False, url=None, **kwargs):
        """Pelican's write, skipped whole when the quick group fingerprint of all the pages it makes
        (a tag's pages, the home page's) is unchanged and their files are intact: then Pelican's
        per-page work (paginators, contexts) is not done either."""
        group = self._group_fingerprint(name, template, context, relative_urls, paginated, template_name,
                                        override_output, url, kwargs)
        if group is not None and self._keep_group(name, group, context, relative_urls, kwargs):
            return
        self._group = made = []
        try:
            super().write_file(name, _GuardedTemplate(template, self), context, relative_urls, paginated,
                               template_name, override_output, url, **kwargs)
        finally:
            self._group = None
        if override_output:  # the file holds this write's page now, not a group's
            self.current.groups = {key: record for key, record in self.current.groups.items() if name not in record[1]}
        if group is not None and not self._overridden(made):
            self.current.groups[name] = [group, made]

    def _overridden(self, pages) -> bool:
        """Whether another write overrode one of these files (Pelican's override_output)."""
        return any(sanitised_join(self.output_path, page) in self._overridden_files for page in pages)

    def _group_fingerprint(self, name, template, context, relative_urls, paginated, template_name, override_output,
                           url, kwargs) -> str | None:
        if self.keep_unchanged is None or self.share is not None or override_output or not name:
            return None  # (another plugin may need each page's own context; a renderer's share is not all)
        if paginated is None:  # as Pelican's write_file
            paginated = {key: value for key, value in kwargs.items() if key in ("articles", "dates")}
        if not paginated or template_name not in self.settings["PAGINATED_TEMPLATES"]:
            return None  # one page: its own quick fingerprint is as cheap
        return self.fingerprints.quick_group(template, f"{self.epoch}:{name}", {**context, **kwargs}, paginated,
                                             [relative_urls, url, template_name, sorted(paginated)])

    def _keep_group(self, name, group: str, context, relative_urls, kwargs) -> bool:
        """Count every file of an unchanged group as kept (with Pelican's bookkeeping and the
        `content_written` signal, whose context has what plugins read: not the pagination)."""
        record = self.previous.groups.get(name)
        if (record is None or record[0] != group or self._overridden(record[1])
                or not all(self.previous.intact(page) for page in record[1])):
            return False
        for page in record[1]:
            self._keep(page, tuple(self.previous.entries[page][:2]))
            path = sanitised_join(self.output_path, page)
            self._written_files.add(path)
            signals.content_written.send(path, context=_PageContext(context, page, relative_urls, kwargs))
        self.current.groups[name] = record
        return True

    def _render(self, template, context) -> str:
        name = context["output_file"]
        if self._group is not None:
            self._group.append(name)
        if self._elsewhere(name) or self._adopt(name):
            self._pending[name] = _HANDLED
            return UNCHANGED
        key = f"{self.epoch}:{name}"
        # Worked out on every build, a cold one too: the next build compares against it.
        quick = self.fingerprints.quick_page(template, key, context)
        if self.previous.quick_intact(name, quick):
            self._pending[name] = (self.previous.entries[name][0], quick)
            return UNCHANGED
        fingerprint = self.fingerprints.page(template, key, context)  # None: rendered every build
        self._pending[name] = (fingerprint, quick)
        if fingerprint is not None and self.previous.intact(name, fingerprint):
            return UNCHANGED
        self.report.rendered.append(name)
        return template.render(context)

    def keep_unchanged(self, name, template, context, relative_urls, **kwargs) -> bool:
        """Before Pelican does anything for a page: if its quick fingerprint shows it unchanged,
        count it as kept (Pelican's bookkeeping and its `content_written` signal included); a page
        a renderer wrote is adopted the same way, and a renderer skips other renderers' pages."""
        if self._elsewhere(name):
            return True
        local = _PageContext(context, name, relative_urls, kwargs)
        if not self._adopt(name):
            if name not in self.previous.entries:
                return False
            quick = self.fingerprints.quick_page(template, f"{self.epoch}:{name}", local)
            if not self.previous.quick_intact(name, quick):
                return False
            self._keep(name, (self.previous.entries[name][0], quick))
        path = sanitised_join(self.output_path, name)
        self._written_files.add(path)
        signals.content_written.send(path, context=local)
        return True

    # Feeds -------------------------------------------------------------------------------------
    def _create_new_feed(self, feed_type, feed_title, context):
        feed = super()._create_new_feed(feed_type, feed_title, context)
        # An empty feed (a writer who has not published yet) has no post to date it by: feedgenerator
        # would date it at the build's time, and no two builds would write it alike.
        latest = feed.latest_post_date
        feed.latest_post_date = lambda: EMPTY_FEED_DATE if not feed.items else latest()
        return feed

    def write_feed(self, elements, context, path=None, url=None, feed_type="atom", override_output=False,
                   feed_title=None):
        if path:
            items = elements[: self.settings["FEED_MAX_ITEMS"]]
            name = path.replace(os.sep, "/")
            if self._elsewhere(name):
                return None
            if self._adopt(name):
                self._open_w(os.path.join(self.output_path, path), "utf-8", override_output)  # Pelican's bookkeeping
                return None
            key, parameters = f"{self.epoch}:{path}", [url, feed_type, feed_title]
            quick = self.fingerprints.quick_feed(key, parameters, items)
            if self.previous.quick_intact(name, quick):
                fingerprints = (self.previous.entries[name][0], quick)
            else:
                fingerprints = (self.fingerprints.feed(key, parameters, items), quick)
            if self.previous.intact(name, fingerprints[0]):
                self._open_w(os.path.join(self.output_path, path), "utf-8", override_output)  # Pelican's bookkeeping
                self._keep(name, fingerprints)
                return None
            self._pending[name] = fingerprints
            self.report.rendered.append(name)
        try:
            return super().write_feed(elements, context, path, url, feed_type, override_output, feed_title)
        except UnserializableContentError as exc:
            raise BuildError(f"{path}: {exc}. {_unserializable(elements)} has a control character in its "
                             "title, summary, tags, category, author or text: remove it.") from exc

    # Files -------------------------------------------------------------------------------------
    def _open_w(self, filename, encoding, override=False):
        # Pelican's rules for a file written twice, then our file instead of open(filename, "w").
        if filename in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(f'Failed to overwrite "{filename}" a second time '
                                               "(was previously overwritten)")
            return _Discard()
        if filename in self._written_files and not override:
            raise FileOverwriteFailedError(
                f"{os.path.relpath(filename, self.output_path)} would be written twice: two posts or pages "
                "have the same slug or address (the warnings above name their files); give one of them "
                "another `Slug:`")
        if override:
            self._overridden_files.add(filename)
        self._written_files.add(filename)
        return _OutputFile(self, filename)

    def _finish(self, path: str, parts: list[str]) -> None:
        name = self._name(path)
        fingerprints = self._pending.pop(name, (None, None))
        if len(parts) == 1 and parts[0] is UNCHANGED:
            if fingerprints is not _HANDLED:
                self._keep(name, fingerprints)
            return
        data = b"".join(part if isinstance(part, bytes) else part.encode("utf-8") for part in parts)
        target = Path(path)
        try:
            old = target.read_bytes()
        except OSError:
            old = None
        if old != data:
            atomic_write(target, data, fsync=False)
            self.report.written.append(name)
            if old is not None and self.indexed is not None and self.indexed.unchanged(name, old, data):
                self.report.unindexed.append(name)
        self.current.entries[name] = [*fingerprints, *_stamp(target)]

    def _keep(self, name: str, fingerprints: tuple) -> None:
        self.report.kept += 1
        self.current.entries[name] = [*fingerprints, *self.previous.entries[name][2:]]


class DirectWriter(Writer):
    """Pelican's Writer writing each file through a rename, and only when its bytes change (no
    fingerprints: for the pages `hubbub serve --reload` renders at once)."""

    def __init__(self, output_path, settings, written: list[str] | None = None):
        super().__init__(output_path, settings=settings)
        self.written: list[str] = [] if written is None else written  # output names, as each is written

    def _open_w(self, filename, encoding, override=False):
        return _DirectFile(self, filename)


class FirstPageWriter(DirectWriter):
    """A DirectWriter that writes only the first page of each paginated list it is given."""

    def write_file(self, name, template, context, *args, **kwargs):
        try:
            super().write_file(name, _FirstPageTemplate(template, name), context, *args, **kwargs)
        except _AfterFirstPage:
            pass  # Pelican's loop stops before it writes the second page or tells plugins of it


class _AfterFirstPage(Exception):
    pass


class _FirstPageTemplate:
    def __init__(self, template, first: str):
        self.template, self.first = template, first
        self.name = template.name

    def render(self, context):
        if context["output_file"] != self.first:
            raise _AfterFirstPage
        return self.template.render(context)


class _DirectFile(_OutputFile):
    def __exit__(self, kind, value, traceback):
        if kind is None:
            data = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in self.parts)
            if write_if_changed(Path(self.path), data):
                self.writer.written.append(os.path.relpath(self.path, self.writer.output_path).replace(os.sep, "/"))
        return False


class _PageContext(Mapping):
    """The context a page would be rendered with (Writer._get_localcontext), without copying the
    site's whole context for a page that is not rendered."""

    def __init__(self, context, name: str, relative_urls: bool, extra: dict):
        self.context, self.extra = context, {"output_file": name, **extra}
        if relative_urls:
            relative = path_to_url(get_relative_path(name))
            self.extra.update(SITEURL=relative, localsiteurl=relative)
        else:
            self.extra.setdefault("localsiteurl", context.get("localsiteurl"))

    def __getitem__(self, key):
        return self.extra[key] if key in self.extra else self.context[key]

    def get(self, key, default=None):  # Mapping's goes through a KeyError for every missing name
        return self.extra[key] if key in self.extra else self.context.get(key, default)

    def __iter__(self):
        return iter({**self.context, **self.extra})

    def __len__(self) -> int:
        return len({**self.context, **self.extra})


class _Discard:
    """A second write to an overridden file goes nowhere, as in Pelican."""

    def write(self, text):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
