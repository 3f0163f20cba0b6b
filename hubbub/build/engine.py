"""One build of the site: Pelican's run, with everything that did not change left alone.

    sources   every file under the content, theme and template directories, with its stamp;
              nothing changed (and the output as the last build left it) = done, without Pelican
    reading   unchanged sources give back the object read last time (store.py); changed ones go
              through Pelican's reader, whose Markdown output is cached by the file's bytes
    site      Pelican's generators group, sort and paginate as always, and the plugins run
    writing   a page is rendered only when its fingerprint changed, written only when its bytes
              changed (outputs.py); static files are copied only when different. When most of the
              site renders (cold, --full, new settings), renderers on every core do it (parallel.py)
    cleanup   files an earlier build made that this one did not are removed

`--full` (full=True) ignores the store and the recorded fingerprints: everything is read and
rendered, and still only files whose bytes differ are written. Both give the same bytes.
A build interrupted half-way leaves a marker; the next one renders everything again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

from hubbub.core.atomic import atomic_remove, atomic_write, remove_temporaries
from hubbub.core.background import can_fork
from hubbub.core.closing import build_date
from hubbub.core.lock import publish_lock
from hubbub.core.manifest import HUBBUB_DIR

from . import compat, parallel
from .fingerprint import Fingerprinter
from .outputs import BuildWriter, OutputLog, WriteReport
from .store import Store, dumps, loads

log = logging.getLogger(__name__)

RUNNING_NAME = "build-running"
# Settings that only change how pages look, never what a source file reads as: the reader cache
# is shared across them (development and --publish builds read each post once).
PRESENTATION_ONLY = {"SITEURL", "FEED_DOMAIN", "RELATIVE_URLS", "OUTPUT_PATH", "DELETE_OUTPUT_DIRECTORY",
                     "OUTPUT_RETENTION", "COMMENTS_URL", "SITENAME", "SITESUBTITLE", "MENUITEMS", "THEME",
                     "THEME_TEMPLATES_OVERRIDES", "LINKS", "SOCIAL", "HUBBUB_PUBLISH"}


@dataclass
class BuildReport:
    settings: dict
    full: bool
    nothing_changed: bool = False
    changed_sources: list[str] = field(default_factory=list)
    read: int = 0
    reused: int = 0
    rendered: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    kept: int = 0
    removed: list[str] = field(default_factory=list)
    unindexed: list[str] = field(default_factory=list)  # written, with what search indexes of them unchanged
    repaired: bool = False  # the last build stopped half-way: every page was rendered again
    renderers: int = 0  # processes that rendered pages besides the build's own (parallel.py)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.nothing_changed:
            return f"Nothing changed ({self.seconds:.2f} s)"
        mode = "full build" if self.full else "incremental build"
        rendered = f"{len(self.rendered)} page(s) rendered" + (f" by {self.renderers} processes" if self.renderers else "")
        return (f"{mode}: {len(self.changed_sources)} source(s) changed, {self.read} read, {self.reused} reused; "
                f"{rendered}, {len(self.written)} file(s) written, {len(self.removed)} removed ({self.seconds:.2f} s)")


# -- the current build, for plugins --------------------------------------------------------------

_current: SiteBuild | None = None


def current() -> SiteBuild | None:
    """The build running now, or None under a plain `pelican` run (plugins then do all the work)."""
    return _current


# -- fingerprints of the configuration ---------------------------------------------------------------

def _files_digest(paths, root: Path) -> str:
    """The files' names and bytes; names inside the site count relative to it (a moved site keeps
    its digests)."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(set(map(str, paths))):
        inside = relative(path, str(root))
        digest.update((path if inside.startswith("..") else inside).encode())
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(b"-")
    return digest.hexdigest()


SETTINGS_FILES = ("pelicanconf.py", "publishconf.py")


def _environment(root: Path) -> str:
    """Python's version and every installed distribution's (Pelican, Markdown, Jinja2, Pygments,
    nh3, ... and whatever a plugin uses), from the names of the .dist-info and .egg-info
    directories on sys.path: a listing per entry, well under a millisecond, and an upgrade of any
    package that may shape a page counts. The working directory (which `python -m` puts on
    sys.path) and the site's own are left out: how a build is started must not matter, and the
    site's modules count by their bytes (_site_code)."""
    here = {os.path.realpath(os.getcwd()), os.path.realpath(root)}
    names = set()  # a settings file may put an entry on sys.path again at every build
    for entry in filter(None, sys.path):
        if os.path.realpath(entry) in here:
            continue
        try:
            names.update(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            pass  # not a directory (a zip, an import hook's name) or gone
    return "|".join([sys.version, *sorted(names)])


def _site_code(settings: dict, root: Path) -> list[Path]:
    """The Python the site brings, which settings, templates and Markdown run: the modules and
    packages next to its settings (pelicanconf.py, publishconf.py, a Markdown extension, a Jinja
    filter's module) and the plugins it loads, from PLUGIN_PATHS or installed. Their bytes count:
    a function in the settings counts by name only in the pages' fingerprints."""
    import importlib.util
    from importlib.machinery import PathFinder

    files = [*root.glob("*.py"), *chain.from_iterable(p.parent.rglob("*.py") for p in root.glob("*/__init__.py"))]
    plugin_paths = [str(Path(root, d)) for d in settings.get("PLUGIN_PATHS") or ()]
    for plugin in settings.get("PLUGINS") or ():
        name = plugin if isinstance(plugin, str) else getattr(plugin, "__name__", "")
        try:  # where Pelican looks: PLUGIN_PATHS first (the whole package of a dotted name), then installed
            spec = PathFinder.find_spec(name.partition(".")[0], plugin_paths) or importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        for location in spec.submodule_search_locations or ():  # a package: all of it
            files.extend(Path(location).rglob("*.py"))
        if spec.origin and spec.origin.endswith(".py"):
            files.append(Path(spec.origin))
    return files


def _code_files(settings: dict, root: Path) -> list[Path]:
    """The code a build runs besides installed packages: Hubbub itself (with its translation
    catalogs, which change every page's text) and the site's own."""
    import hubbub
    from hubbub.core.i18n import catalog_files

    return [*Path(hubbub.__file__).parent.rglob("*.py"), *catalog_files(), *_site_code(settings, root)]


def imported_code(settings: dict, root: Path) -> dict[str, str]:
    """What a long-running process (serve --reload) keeps running as it first imported it: each
    module of Hubbub's and of the site's (a plugin, a filter next to pelicanconf.py) this process
    imported, by its bytes ('' : the installed packages). The settings files are left out: every
    build reads them again."""
    import hubbub

    homes = tuple(str(Path(d).resolve()) + os.sep for d in (
        Path(hubbub.__file__).parent, root, *(Path(root, p) for p in settings.get("PLUGIN_PATHS") or ())))
    settings_files = {str(root / name) for name in SETTINGS_FILES}
    found = {"": _environment(root)}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if (path and path.endswith(".py") and path.startswith(homes) and path not in settings_files
                and f"{os.sep}site-packages{os.sep}" not in path):  # a venv in the site: installed, counted above
            found[path] = _files_digest([path], root)
    return found


def changed_code(recorded: dict[str, str], root: Path) -> list[str]:
    """The files of `recorded` (imported_code) whose bytes changed since ("installed packages")."""
    return [path or "installed packages" for path, digest in recorded.items()
            if digest != (_environment(root) if path == "" else _files_digest([path], root))]


def settings_digest(settings: dict, root: Path, leave_out=()) -> str:
    """A digest of the settings in which paths inside the site count relative to it, so that a
    site moved or copied elsewhere keeps what its builds saved."""
    prefix = str(root) + os.sep

    def relative(value):
        if isinstance(value, str) and (value == str(root) or value.startswith(prefix)):
            return "<site>" + value[len(str(root)):]
        if type(value) in (list, tuple):
            return type(value)(relative(item) for item in value)
        return value

    chosen = {k: relative(v) for k, v in settings.items() if k.isupper() and k not in leave_out}
    return Fingerprinter().value(chosen)


def config_digest(settings: dict, root: Path) -> str:
    """What every page depends on: a change renders every page again (writing only changed files)."""
    parts = [_environment(root), settings_digest(settings, root, {"OUTPUT_PATH"}),
             _files_digest(_code_files(settings, root), root)]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def reader_digest(settings: dict, root: Path) -> str:
    """What a source reads as besides its bytes (the reader cache's key): the settings that reach
    the readers, the installed packages (Markdown, Pygments, pymdown-extensions, ...) and the
    site's own code (its Markdown extensions, plugins that change the readers). The settings files
    count by their values, so that a new SITENAME does not read every post again (a Markdown
    extension's class written in pelicanconf.py itself counts by name: edit it, then --full)."""
    leave_out = {k for k in settings if k in PRESENTATION_ONLY or k.endswith(("_URL", "_SAVE_AS"))
                 or "FEED" in k}
    code = [p for p in _site_code(settings, root) if p != root / p.name or p.name not in SETTINGS_FILES]
    parts = [_environment(root), settings_digest(settings, root, leave_out), _files_digest(code, root)]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


# -- sources ------------------------------------------------------------------------------------------

def relative(path: str, root: str) -> str:
    """os.path.relpath(path, root), without its cost for the usual case (a plain absolute path
    inside root), which comes thousands of times a build."""
    prefix = root if root.endswith(os.sep) else root + os.sep
    if path.startswith(prefix) and os.path.isabs(prefix) and f"{os.sep}." not in path and os.sep * 2 not in path:
        return path[len(prefix):]
    return os.path.relpath(path, root)


def scan(directories, root: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of every file under these directories (they may be missing).

    Paths inside the site are relative to it (a copied site keeps its record), others absolute."""
    found = {}
    for directory in directories:
        for dirpath, _dirs, files in os.walk(directory, followlinks=True):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                inside = relative(path, str(root))
                found[path if inside.startswith("..") else inside] = (st.st_size, st.st_mtime_ns)
    return found


def source_dirs(settings: dict) -> list[str]:
    """Directories whose files make up the site besides settings and code (a build scans them,
    `serve --reload` watches them)."""
    import hubbub

    dirs = [settings["PATH"], settings["THEME"], *settings.get("THEME_TEMPLATES_OVERRIDES", []), hubbub.TEMPLATES]
    # What plugins read from under PATH may lie out of it ("../threads"): thread files, profiles.
    for name in ("COMMENTS_DIR", "HUB_PROFILES_PATH"):
        if settings.get(name):
            dirs.append(os.path.join(settings["PATH"], settings[name]))
    found = [d for d in dict.fromkeys(os.path.abspath(d) for d in dirs) if os.path.isdir(d)]
    return [d for d in found if not any(d != o and d.startswith(o + os.sep) for o in found)]  # each file once


def _stamp_text(stamp) -> str:
    return f"{stamp[0]}:{stamp[1]}"


class Memory:
    """What `hubbub serve --reload` keeps between builds: the last build's content objects and
    generators (for rendering an edited post's page at once)."""

    def __init__(self):
        self.objects: dict[str, tuple[str, object, dict]] = {}  # source -> (stamp, object, attributes as read)
        self.pelican: LastBuild | None = None
        # Set while saves are watched: a build that finds nothing changed still works the site out
        # once, so that the first save already takes the fast path.
        self.watching = False


class LastBuild:
    """The last build's generators, with what the fast path of `serve --reload` needs from them."""

    def __init__(self, generators, output_path: str, memory: Memory, made=frozenset()):
        self.content_generators = [g for g in generators if isinstance(g, compat._ContentGenerator)]
        self.output_path = output_path
        self.made = frozenset(made)  # the files the build made (output names): a new post must not take one
        # The objects as this build left them (the next build, which may be running while the fast
        # path renders, puts freshly read ones in memory.objects before its plugins attach anything).
        self.objects = dict(memory.objects)

    def read(self, generator, path: str):
        return compat.read_content(generator, path)

    def adopt(self, fresh, old, read: dict) -> None:
        """Give an object read again what plugins attached to the one it replaces (similar posts,
        comments, an author's profile on the author), until the next build works them out anew.
        `read`: the attributes the old object had when it was read, with their values. A plugin may
        have put its own value in place of one (the thread in place of a `Comments:` line, a date
        in the site's language): that one is given too while the file still reads the same there."""
        for name, value in list(vars(old).items()):
            if name not in read or (read[name] is not value and _same(getattr(fresh, name, _ABSENT), read[name])):
                setattr(fresh, name, value)
        _fill_wrappers(fresh, _wrappers(old))

    def adopt_site(self, fresh, generator) -> None:
        """Give a new article's category, tags and authors what plugins attached to the site's."""
        _fill_wrappers(fresh, chain(generator.tags, dict(generator.categories), dict(generator.authors)))


_ABSENT = object()


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot say: not the same
        return False


def _fill_wrappers(content, known) -> None:
    """Give the content's category, tags and authors the attributes their namesakes in `known` have."""
    known = {(type(w), w.slug): w for w in known}
    for wrapper in _wrappers(content):
        former = known.get((type(wrapper), wrapper.slug))
        for name, value in vars(former or wrapper).items():
            if name not in vars(wrapper):
                setattr(wrapper, name, value)


def _wrappers(content) -> list:
    found = []
    for name in ("author", "category"):
        if getattr(content, name, None) is not None:
            found.append(getattr(content, name))
    for name in ("authors", "tags"):
        found.extend(getattr(content, name, None) or ())
    return found


PREREAD_AT_LEAST = 64  # fewer files to read are not worth starting processes for
_PREREAD = None  # (Readers, settings, reader digest) for the forked readers of SiteBuild._preread


def _read_one(path: str) -> tuple[str, bytes | None]:
    """In a forked reader: one Markdown file as the reader cache keeps it (None if it fails:
    the build reads it again and reports the error)."""
    readers, settings, reader = _PREREAD
    with open(path, "rb") as fh:
        key = reader + hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
    try:
        return key, dumps(compat.read_source(readers, path), {"settings": settings})
    except Exception:  # noqa: BLE001 - reported by the build itself, with Pelican's message
        return key, None


class _Source(compat.ContentSource):
    """Content objects for Pelican's generators: reused when their source is unchanged."""

    def __init__(self, build: SiteBuild):
        self.build = build
        self.content_path = Path(build.settings["PATH"])
        self._in_site = relative(str(self.content_path), str(build.root))  # where sources' stamps are kept
        self.shared: dict[str, object] = {"settings": build.settings}
        self.stored = {} if build.full else build.store.contents(build.config)
        self._reader_keys: dict[str, str] = {}

    def bind(self, generator) -> None:
        self.shared["context"] = generator.context  # what every content object shares (store.dumps)

    def _stamp(self, path: str) -> str | None:
        stamp = self.build.sources.get(os.path.normpath(os.path.join(self._in_site, path)))
        return None if stamp is None else _stamp_text(stamp)

    def reuse(self, path: str):
        build = self.build
        if build.full:
            return None
        stamp = self._stamp(path)
        # Always the object as read, from the store: one a build used (even serve --reload's, kept
        # in memory) carries what Pelican and the plugins changed in it, such as a summary's links
        # resolved against that build's URLs, or comments left on a post that became a translation.
        stored = self.stored.get(path)
        if stored is None or stored[0] != stamp:
            return None
        try:
            obj = loads(stored[1], self.shared)
        except Exception:  # a pickle from another version of some class: read the file again
            return None
        due = compat.scheduled_date(obj, build.settings)
        if due is not None and due <= datetime.now(UTC):
            return None  # its date has come: read again, Pelican publishes it now
        obj.source_path = str(self.content_path / path)  # where the site is now (it may have moved)
        build.report.reused += 1
        self._stable(path, stamp, obj)
        return obj

    def _stable(self, path: str, stamp: str, obj) -> None:
        """Tell the fingerprints which attributes the object had as read, with their values (what
        plugins add or put in their place counts apart: a `Comments:` line is the attribute
        `comments` as read, which the comments plugin replaces with the thread), and whether its
        HTML or summary held links to other sources then (Pelican resolves a summary's in place
        before any page is written)."""
        values = dict(vars(obj))
        self.build.stable[id(obj)] = (path, stamp, values, compat.has_intrasite_links(obj))
        due = compat.scheduled_date(obj, self.build.settings)
        if due is not None:
            self.build.valid_until(due)  # a later build publishes it, sources changed or not
        if self.build.memory is not None:
            self.build.memory.objects[path] = (stamp, obj, values)

    def read(self, path: str, content) -> None:
        build = self.build
        build.report.read += 1
        stamp = self._stamp(path) or "0:0"
        for wrapper in (*(getattr(content, "tags", None) or ()), *(getattr(content, "authors", None) or ()),
                        getattr(content, "category", None)):
            getattr(wrapper, "slug", None)  # worked out once and kept: every build groups by it
        build.store.put_content(build.config, path, stamp, dumps(content, self.shared))
        self._stable(path, stamp, content)

    def _reader_key(self, path: str) -> str:
        key = self._reader_keys.get(path)
        if key is None:
            with open(path, "rb") as fh:
                key = self.build.reader + hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
            self._reader_keys[path] = key
        return key

    def reader_get(self, path: str):
        key = self._reader_key(path)
        found = self.build.preread.pop(key, None)  # read on another core a moment ago
        if found is None and not self.build.full:
            found = self.build.store.reader_get(key)
        return None if found is None else loads(found, self.readers_shared)

    def reader_put(self, path: str, value) -> None:
        self.build.store.reader_put(self._reader_key(path), dumps(value, self.readers_shared))

    @property
    def readers_shared(self) -> dict:
        return {"settings": self.build.settings}

    def to_read(self) -> list[str]:
        """Markdown sources this build must read (not reusable, not in the reader cache)."""
        from pelican.readers import MarkdownReader

        build = self.build
        paths = []
        for relative, stamp in build.sources.items():
            path = build.root / relative
            if path.suffix.lstrip(".") not in MarkdownReader.file_extensions or not path.is_relative_to(self.content_path):
                continue
            inside = os.path.relpath(path, self.content_path)
            stored = self.stored.get(inside)
            if not build.full and stored is not None and stored[0] == _stamp_text(stamp):
                continue
            if build.full or build.store.reader_get(self._reader_key(str(path))) is None:
                paths.append(str(path))
        return paths


class SiteBuild:
    def __init__(self, settings: dict, root: Path, *, full: bool = False, memory: Memory | None = None,
                 shown=(), before_writing=None):
        compat.check_version()
        self.settings = settings
        self.root = Path(root).resolve()
        self.full = full
        self.memory = memory
        self.output = Path(settings["OUTPUT_PATH"])
        self.report = BuildReport(settings, full)
        self.config = config_digest(settings, self.root)
        self.reader = reader_digest(settings, self.root)
        self.store = Store(self.root / "cache" / "hubbub")
        # Remembering what unchanged objects' attributes hash to, and keeping unchanged pages before
        # Pelican works on them, is safe with plugins that set what they attach on every build.
        self.reuse_objects = all(str(p).startswith("hubbub.plugins.") for p in settings.get("PLUGINS") or ())
        self.claimed: set[str] = set()
        self.stable: dict[int, tuple] = {}  # id(content object) -> (source path, stamp, attributes as read, links)
        self.sources: dict[str, tuple[int, int]] = {}
        self.preread: dict[str, bytes] = {}  # reader cache entries read on other cores for this build
        # Pages written since the last build by serve --reload's fast path: removed if this build
        # does not make them (a new post renamed or dropped before any build took it in).
        self.shown = {name.replace(os.sep, "/") for name in shown}
        self.expires = None  # see valid_until
        self.before_writing = before_writing  # called once the site is read, before any page is written

    # -- what plugins may ask of the build ---------------------------------------------------------
    def claim(self, name: str) -> None:
        """An output file a plugin wrote or kept on this build (output-relative): not stale."""
        self.claimed.add(name.replace(os.sep, "/"))

    def source_of(self, content) -> tuple[str, str] | None:
        """(source path, stamp) of a content object this build read or reused; None for any other
        (made by a plugin, or a translation Pelican derived)."""
        found = self.stable.get(id(content))
        return None if found is None else found[:2]

    def valid_until(self, when) -> None:
        """The output depends on the date and changes at `when` (an aware datetime: a thread's
        comments close by age): a build after it is never "nothing changed"."""
        if self.expires is None or when < self.expires:
            self.expires = when

    def cache(self, name: str) -> dict:
        """A named dict a plugin keeps from one build to the next (saved at the end)."""
        found = self._caches.get(name)
        if found is None:
            found = self._caches[name] = (None if self.full else self.store.cache_get(name)) or {}
        return found

    # -- the build ---------------------------------------------------------------------------------
    def run(self) -> BuildReport:
        try:
            # One transaction for the whole build: another build of the site (another process) waits
            # before it reads the output's state, so two never work on one output at once.
            with self.store.batch():
                return self._run()
        finally:
            self.store.close()

    def _run(self) -> BuildReport:
        global _current
        started = time.perf_counter()
        self._caches: dict[str, dict] = {}
        self.sources = scan(source_dirs(self.settings), self.root)
        previous_log = OutputLog.load(self.output)
        running = self.output / HUBBUB_DIR / RUNNING_NAME
        interrupted = running.exists()
        if interrupted:
            log.warning("the last build of %s stopped half-way: rendering every page again", self.output)
            self.report.repaired = True
            with publish_lock(self.output):  # a publisher's write in progress keeps its temporary file
                remove_temporaries(self.output)
        built_from = previous_log.sources if previous_log.config == self.config and not self.full else None
        self.report.changed_sources = sorted(
            p for p in set(self.sources) | set(built_from or {})
            if (built_from or {}).get(p) != list(self.sources.get(p) or ()) or p not in self.sources)
        wants_model = self.memory is not None and self.memory.watching and self.memory.pelican is None
        if (built_from is not None and not interrupted and not self.report.changed_sources and not wants_model
                and previous_log.entries and previous_log.all_intact() and not previous_log.expired(build_date())
                and all((self.output / name).exists() for name in previous_log.claimed)):
            self.report.nothing_changed = True
            self.report.seconds = time.perf_counter() - started
            return self.report

        atomic_write(running, f"{os.getpid()}\n".encode(), fsync=False)
        made_before = previous_log  # what earlier builds made: removed at the end if no longer made
        if self.full or interrupted:
            previous_log = OutputLog(self.output)  # no page is assumed up to date
        current_log = OutputLog(self.output)
        writes = WriteReport()
        source = _Source(self)
        build = self

        # Plain attributes of unchanged objects are remembered from one build to the next, which is
        # safe when only Hubbub's plugins run (they never change what was read; see reuse_objects).
        remembered = self.cache("attributes") if self.reuse_objects else {}
        if remembered.get("config") != self.config:
            remembered.clear()
            remembered["config"] = self.config

        def make_writer(output_path, settings, share=None):
            fingerprints = Fingerprinter(build.stable, remembered, str(build.settings["PATH"]))
            return BuildWriter(output_path, settings, fingerprints=fingerprints, epoch=build.config,
                               previous=previous_log, current=current_log, report=writes,
                               skip_early=build.reuse_objects, share=share)

        # Most of the site to render (cold, --full, new settings or code): on every core, when only
        # Hubbub's plugins run (parallel.py knows what theirs do in the build process).
        renders_most = not previous_log.entries or previous_log.config != self.config
        prerender = self._render_everywhere if renders_most and self.reuse_objects else None
        _current = self
        writing = False

        def before_writing():
            nonlocal writing
            if self.before_writing is not None:
                self.before_writing()
            writing = True  # from here on, pages and files may be half-way written

        pelican_run = compat.HubbubPelican(self.settings, source, make_writer, self._copy_file, self.claim, prerender,
                                           before_writing)
        try:
            self._preread(source)
            pelican_run.run()
        except Exception:
            # Stopped while reading (a source Pelican could not read, a post's bad metadata, a
            # plugin's error): nothing was written, and the output is as good as before.
            if not interrupted and not writing:
                atomic_remove(running, fsync=False)
            raise
        finally:
            _current = None
        live = {entry[0] for entry in self.stable.values()}
        if self.memory is not None:
            for path in [p for p in self.memory.objects if p not in live]:
                del self.memory.objects[path]  # deleted or renamed since
            self.memory.pelican = LastBuild(pelican_run.hubbub_generators, str(self.output), self.memory,
                                            set(current_log.entries) | self.claimed)
        self.report.rendered, self.report.kept, self.report.unindexed = writes.rendered, writes.kept, writes.unindexed
        self.report.written = writes.written + self.report.written  # pages and feeds, then static files
        for key in [k for k in remembered if k != "config" and k[0] not in live]:
            del remembered[key]  # sources gone since
        current_log.claimed = sorted(self.claimed)
        current_log.config = self.config
        current_log.sources = {path: list(stamp) for path, stamp in self.sources.items()}
        current_log.expires = self.expires.isoformat() if self.expires else None
        self._remove_stale(made_before, current_log)
        current_log.save()
        for name, value in self._caches.items():
            self.store.cache_put(name, value)
        self.store.keep_configs(self.config)
        if not self.full:
            gone = set(source.stored) - {relative(os.path.join(self.root, p), self.settings["PATH"]) for p in self.sources}
            self.store.forget_contents(self.config, gone)
        atomic_remove(running, fsync=False)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _preread(self, source: _Source) -> None:
        """A build with much Markdown to read (a cold build) reads it on every core first; Pelican
        then finds each file in the reader cache. The reader is the same, so are the bytes."""
        global _PREREAD
        paths = source.to_read()
        workers = parallel.workers()  # HUBBUB_BUILD_WORKERS, as for rendering
        if workers < 2 or len(paths) < PREREAD_AT_LEAST or not can_fork():
            return
        import multiprocessing

        from pelican.readers import Readers

        _PREREAD = (Readers(self.settings), self.settings, self.reader)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for key, data in pool.imap_unordered(_read_one, paths, chunksize=16):
                    if data is not None:
                        self.preread[key] = data
                        self.store.reader_put(key, data)
        finally:
            _PREREAD = None

    def _render_everywhere(self, generators, writer, share_writer) -> None:
        count = parallel.workers()
        contents = sum(len(getattr(g, "articles", ())) + len(getattr(g, "pages", ())) for g in generators)
        if count < 2 or contents < parallel.RENDER_AT_LEAST or not can_fork():
            return
        self.report.renderers = parallel.render_in_workers(generators, writer, share_writer, count)

    def _copy_file(self, source: str, destination: str) -> None:
        """Static files: copied only when the bytes differ, through a rename."""
        data = Path(source).read_bytes()
        target = Path(destination)
        name = os.path.relpath(target, self.output).replace(os.sep, "/")
        self.claim(name)
        try:
            if target.read_bytes() == data:
                return
        except OSError:
            pass
        atomic_write(target, data, fsync=False)
        self.report.written.append(name)

    def _remove_stale(self, previous: OutputLog, current: OutputLog) -> None:
        before = set(previous.entries) | set(previous.claimed) | self.shown
        now = set(current.entries) | set(current.claimed)
        for name in sorted(before - now):
            path = self.output / name
            if atomic_remove(path, fsync=False):
                self.report.removed.append(name)
            parent = path.parent
            while parent != self.output and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
