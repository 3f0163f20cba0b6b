"""`hubbub serve --reload`: the site kept in memory, each save applied as it happens.

A save goes two ways:
1. the fast path: a post or page that already had a page is read again and its own page
   rendered at once, with what the last build worked out about it (similar posts, comments),
   so the writer sees the edit in milliseconds whatever the size of the site; a new post gets
   its page and the first page of each list it joins (the home page, its tags' pages, ...);
2. then an incremental build (only changed files are read again; the others come from the build's
   store as they were read) brings every page that depends on the change up to date, the post's
   own page included, exactly as `hubbub build --full` would write it.
Builds run in a thread of their own, one after another, so a save made while one runs still takes
the fast path at once (from what the last finished build left), and the next build takes it in.

Listeners (the dev server's live-reload events) hear which output files changed, and about build
errors, which leave the last good output in place.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import BuildError, load_settings, run_build
from .compat import new_article, render_alone, render_first_pages
from .engine import Memory, changed_code, imported_code, source_dirs
from .outputs import DirectWriter, FirstPageWriter

log = logging.getLogger(__name__)


class LiveSite:
    def __init__(self, root: Path, publish: bool = False, notify: Callable[[dict], None] | None = None):
        self.root = Path(root).resolve()
        self.publish = publish
        self.memory = Memory()
        self.notify = notify or (lambda event: None)
        self.lock = threading.Lock()  # one build at a time
        self._fast_lock = threading.Lock()  # one fast path at a time
        self.failed: str | None = None
        self._stop = threading.Event()
        # Saves the watcher has seen since the builder thread last started a build.
        self._asked = threading.Condition()
        self._build_wanted = False
        self._saved_during: set[Path] = set()
        # Pages the fast path wrote that no build has handed to the search index yet.
        self._shown: set[str] = set()
        self._code: dict[str, str] = {}  # the Python this process imported (engine.imported_code)

    # -- building ----------------------------------------------------------------------------------
    def build(self, changed: set[Path] | None = None) -> None:
        """Apply changes now: the fast path for edited posts and pages, then an incremental build."""
        if changed:
            self._apply_fast(changed)
        self._rebuild()

    def _apply_fast(self, changed: set[Path]) -> None:
        started = time.perf_counter()
        with self._fast_lock:
            fast = self._fast(changed)
        if fast:
            with self._asked:
                self._shown.update(fast)
            self.notify({"event": "change", "pages": fast})
            log.warning("updated %s in %.0f ms; bringing the rest of the site up to date",
                        ", ".join(fast), (time.perf_counter() - started) * 1000)

    def _changed_code(self) -> list[str]:
        """Modules this process imported (a plugin, a filter next to pelicanconf.py, Hubbub itself)
        or installed packages that changed since: a build now would run the old code and record the
        new, and later builds would keep what it wrote."""
        return changed_code(self._code, self.root)

    def _rebuild(self) -> None:
        with self.lock:
            with self._asked:
                shown, self._shown = self._shown, set()
            try:
                changed = self._changed_code()
                if changed:
                    raise BuildError(f"{', '.join(changed)} changed since `hubbub serve` started, which runs the code "
                                     "as it was then: stop it and start it again to build with the new code")
                report = run_build(self.root, self.publish, memory=self.memory, shown=shown)
                # What this build imported for the first time (a plugin added since) counts from now.
                self._code = {**imported_code(report.settings, self.root), **self._code}
            except Exception as exc:
                with self._asked:
                    self._shown |= shown  # the next build hands them to the index
                if not isinstance(exc, BuildError):
                    raise
                self.failed = str(exc)
                log.error("%s\nThe last good output is still served.", exc)
                self.notify({"event": "failure", "message": str(exc)})
                return
            if self.failed:
                self.failed = None
                self.notify({"event": "recovered"})
            pages = sorted(set(report.written) | set(report.removed))
            if pages:
                self.notify({"event": "change", "pages": pages})
            log.warning("%s", report.summary())

    def _fast(self, changed: set[Path]) -> list[str]:
        """Render the pages of edited posts and pages straight away (see the module docstring)."""
        state = self.memory.pelican
        if state is None:
            return []
        written: list[str] = []  # filled as pages are written: a later file failing keeps them
        for path in sorted(changed):
            for generator in state.content_generators:
                try:
                    self._fast_one(state, generator, path, written)
                except Exception as exc:  # the build that follows reports it properly
                    log.debug("fast path skipped for %s: %s", path, exc)
        return written

    def _fast_one(self, state, generator, path: Path, written: list[str]) -> None:
        relative = os.path.relpath(path, generator.path)
        held = state.objects.get(relative)
        if not path.is_file():
            return
        if held is None:
            self._fast_new(state, generator, relative, written)
            return
        old = held[1]
        fresh = state.read(generator, relative)
        if fresh is None or fresh.save_as != old.save_as or fresh.status != old.status:
            return  # it moves or disappears: the build takes care of it
        state.adopt(fresh, old, held[2])
        writer = DirectWriter(state.output_path, generator.settings, written)
        render_alone(generator, fresh, writer.write_file)

    def _fast_new(self, state, generator, relative: str, written: list[str]) -> None:
        """A new post: its page, and the first page of the home page and of its category's, tags'
        and authors' lists, so the writer sees it where readers will."""
        fresh = new_article(generator, relative)
        if fresh is None or fresh.save_as.replace(os.sep, "/") in state.made:
            return  # a page or file of the site already there (the build reports a clash)
        state.adopt_site(fresh, generator)
        render_alone(generator, fresh, DirectWriter(state.output_path, generator.settings, written).write_file)
        render_first_pages(generator, fresh, FirstPageWriter(state.output_path, generator.settings, written).write_file)

    # -- watching ------------------------------------------------------------------------------------
    def watched(self) -> list[Path]:
        settings = load_settings(self.root, self.publish)
        paths = [*map(Path, source_dirs(settings)), self.root / "pelicanconf.py", self.root / "publishconf.py",
                 *(self.root / directory for directory in settings.get("PLUGIN_PATHS") or ())]
        return [p for p in dict.fromkeys(paths) if p.exists()]

    def watch(self) -> None:
        """Apply each batch of saved changes until stop() (runs in its own thread). A save gets the
        fast path at once, even while a build runs; builds run one after another in a thread of
        their own, each taking every save made before it started."""
        from watchfiles import watch

        self.memory.watching = True
        builder = threading.Thread(target=self._build_when_asked, name="hubbub-rebuild", daemon=True)
        builder.start()
        output = Path(load_settings(self.root, self.publish)["OUTPUT_PATH"]).resolve()
        caught_up = False
        try:
            # yield_on_timeout: the first (maybe empty) batch says the watcher is running.
            for changes in watch(*self.watched(), debounce=50, step=20, stop_event=self._stop,
                                 rust_timeout=1000, yield_on_timeout=True):
                paths = {Path(p).resolve() for _, p in changes}
                paths = {p for p in paths if not p.is_relative_to(output) and not p.name.startswith(".")}
                if paths or not caught_up:
                    # Once more when the watcher starts: a save made since the first build (while the
                    # service was starting) would otherwise wait for the next save.
                    caught_up = True
                    if paths:
                        self._apply_fast(paths)
                    with self._asked:
                        self._build_wanted = True
                        self._saved_during |= paths
                        self._asked.notify()
        finally:
            self._stop.set()
            with self._asked:
                self._asked.notify()
            builder.join()

    def _build_when_asked(self) -> None:
        while True:
            with self._asked:
                while not self._build_wanted and not self._stop.is_set():
                    self._asked.wait()
                if self._stop.is_set():
                    return
                self._build_wanted = False
                self._saved_during = set()
            try:
                self._rebuild()
            except Exception:  # a bug, not a build error: say so, and keep applying saves
                log.exception("the build after a save failed unexpectedly")
            with self._asked:
                later = set(self._saved_during)
            if later:
                # This build read those files before they were saved and may have written their
                # pages as they were: their saved version again at once (the next build follows).
                self._apply_fast(later)

    def stop(self) -> None:
        self._stop.set()
