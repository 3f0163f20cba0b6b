"""Rendering on every core, for builds that render most of the site (cold, --full, new settings).

Pelican's generators work the site out in the build process. Then renderers forked from it each
run the article and page generators' output for a share of the files (by a hash of the file's
name): a renderer renders and writes its share, skips the rest before any work, and sends back
what the writer recorded for each of its files (fingerprints, size and time). The build process
then runs Pelican's output as usual, adopting those records instead of rendering again (outputs.py):
every plugin sees every page through its signals there, as in a one-process build, and the files
are the same bytes, each rendered by the same templates from the same context.

A renderer that fails leaves its share to the build process, which renders it (and reports an
error the way a one-process build does).

HUBBUB_BUILD_WORKERS sets how many renderers, and how many processes read Markdown in a cold
build (default: the cores this process may use, at most 8; 0 or 1: the build process alone).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import zlib

from pelican import signals

log = logging.getLogger(__name__)

RENDER_AT_LEAST = 200  # fewer articles and pages are not worth starting processes for
MAX_WORKERS = 8
# What plugins do once a page is written or a generator is done (their bookkeeping, the files they
# add) happens in the build process's own pass over the site, never in a renderer.
BUILD_PROCESS_ONLY = (signals.content_written, signals.article_writer_finalized, signals.page_writer_finalized)

_JOB = None  # (generators, writer for a share, renderers): what the forked renderers run


def workers() -> int:
    """How many renderers a build that renders most of the site uses (1: none)."""
    wanted = os.environ.get("HUBBUB_BUILD_WORKERS", "").strip()
    if wanted:
        try:
            return max(1, min(int(wanted), MAX_WORKERS))
        except ValueError:
            log.warning("HUBBUB_BUILD_WORKERS=%r is not a number: rendering in one process", wanted)
            return 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(usable, MAX_WORKERS)


def mine(name: str, share: tuple[int, int]) -> bool:
    """Whether output file `name` is in renderer share[0]'s part of share[1] parts."""
    return zlib.crc32(name.encode("utf-8")) % share[1] == share[0]


def render_in_workers(generators, writer, share_writer, count: int) -> int:
    """Render the generators' output in `count` renderers; `writer` (the build process's) adopts
    what they wrote. `share_writer(share)` makes a renderer's writer. Returns the renderers that
    finished their share."""
    global _JOB
    _JOB = (generators, share_writer, count)
    forking = multiprocessing.get_context("fork")
    running = []
    try:
        for index in range(count):
            receiver, sender = forking.Pipe(duplex=False)
            process = forking.Process(target=_renderer, args=(index, sender), daemon=True)
            process.start()
            sender.close()
            running.append((index, process, receiver))
    finally:
        _JOB = None
    results = []
    for index, process, receiver in running:
        try:
            results.append(receiver.recv())
        except (EOFError, OSError):  # it died before answering (killed, out of memory)
            results.append((index, None, "stopped"))
        process.join()
    finished = 0
    for index, done, error in results:
        if done is None:
            log.debug("renderer %d of %d failed (%s): the build renders its share itself", index + 1, count, error)
            continue
        entries, rendered, written = done
        writer.adopted.update(entries)
        writer.report.rendered.extend(rendered)
        writer.report.written.extend(written)
        finished += 1
    return finished


def _renderer(index: int, answer) -> None:
    answer.send(_render_share(index))
    answer.close()


def _render_share(index: int):
    generators, share_writer, count = _JOB
    for signal in BUILD_PROCESS_ONLY:
        signal.send = _send_nothing  # this process only; the build process sends them for every page
    writer = share_writer((index, count))
    try:
        for generator in generators:
            generator.generate_output(writer)
    except Exception as exc:  # noqa: BLE001 - the build process renders this share and reports it
        return index, None, f"{type(exc).__name__}: {exc}"
    return index, (dict(writer.current.entries), list(writer.report.rendered), list(writer.report.written)), None


def _send_nothing(*args, **kwargs) -> list:
    return []
