"""`hubbub serve --reload`: the site kept in memory, each save applied as it happens.

A save goes two ways:
1. the fast path: a post or page that already had a page is read again and its own page
   rendered at once, with what the last build worked out about it (similar posts, comments),
   so the writer sees the edit in milliseconds whatever the size of the site;
2. then an incremental build with the site model kept in memory (no object is read or unpickled
   again unless its file changed) brings every page that depends on the change up to date, the
   post's own page included, exactly as `hubbub build --full` would write it.

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
from .compat import render_alone
from .engine import Memory
from .outputs import DirectWriter

log = logging.getLogger(__name__)


class LiveSite:
    def __init__(self, root: Path, publish: bool = False, notify: Callable[[dict], None] | None = None):
        self.root = Path(root).resolve()
        self.publish = publish
        self.memory = Memory()
        self.notify = notify or (lambda event: None)
        self.lock = threading.Lock()
        self.failed: str | None = None
        self._stop = threading.Event()

    # -- building ----------------------------------------------------------------------------------
    def build(self, changed: set[Path] | None = None) -> None:
        """Apply changes: the fast path for edited posts and pages, then an incremental build."""
        with self.lock:
            started = time.perf_counter()
            if changed:
                try:
                    fast = self._fast(changed)
                except Exception as exc:  # the full build below reports it properly
                    log.debug("fast path skipped: %s", exc)
                    fast = []
                if fast:
                    self.notify({"event": "change", "pages": fast})
                    log.warning("updated %s in %.0f ms; bringing the rest of the site up to date",
                                ", ".join(fast), (time.perf_counter() - started) * 1000)
            try:
                report = run_build(self.root, self.publish, memory=self.memory)
            except BuildError as exc:
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
        written = []
        for path in sorted(changed):
            for generator in state.content_generators:
                relative = os.path.relpath(path, generator.path)
                held = self.memory.objects.get(relative)
                if held is None or not path.is_file():
                    continue
                old = held[1]
                fresh = state.read(generator, relative)
                if fresh is None or fresh.save_as != old.save_as or fresh.status != old.status:
                    continue  # it moves or disappears: the build takes care of it
                state.adopt(fresh, old, held[2])
                writer = DirectWriter(state.output_path, generator.settings)
                render_alone(generator, fresh, writer.write_file)
                written += writer.written
        return written

    # -- watching ------------------------------------------------------------------------------------
    def watched(self) -> list[Path]:
        settings = load_settings(self.root, self.publish)
        import hubbub

        paths = [Path(settings["PATH"]), Path(settings["THEME"]), Path(hubbub.TEMPLATES),
                 *map(Path, settings.get("THEME_TEMPLATES_OVERRIDES", [])),
                 self.root / "pelicanconf.py", self.root / "publishconf.py"]
        return [p for p in dict.fromkeys(paths) if p.exists()]

    def watch(self) -> None:
        """Apply each batch of saved changes until stop() (runs in its own thread)."""
        from watchfiles import watch

        output = Path(load_settings(self.root, self.publish)["OUTPUT_PATH"]).resolve()
        caught_up = False
        # yield_on_timeout: the first (maybe empty) batch says the watcher is running.
        for changes in watch(*self.watched(), debounce=50, step=20, stop_event=self._stop,
                             rust_timeout=1000, yield_on_timeout=True):
            paths = {Path(p).resolve() for _, p in changes}
            paths = {p for p in paths if not p.is_relative_to(output) and not p.name.startswith(".")}
            if paths or not caught_up:
                # Once more when the watcher starts: a save made since the first build (while the
                # service was starting) would otherwise wait for the next save.
                caught_up = True
                self.build(paths or None)

    def stop(self) -> None:
        self._stop.set()
