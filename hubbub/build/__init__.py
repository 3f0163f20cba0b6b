"""Build the Pelican site of a Hubbub project: the one place that knows how `hubbub build` runs.

The build is incremental (engine.py): it re-reads, re-renders and rewrites only what changed since
the last build; `full=True` (`hubbub build --full`) starts from scratch. Both write the same bytes.
"""

from __future__ import annotations

import ast
import json
import linecache
import logging
import os
import re
import sys
import traceback
from pathlib import Path

from hubbub.core.atomic import atomic_remove, atomic_write
from hubbub.core.manifest import HUBBUB_DIR


class BuildError(Exception):
    """The site did not build; the message says why and what to fix."""


class SettingsError(BuildError):
    """The settings file does not load: `problem` says where and why, `fix` what to do."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem}\nTo fix it: {fix}")
        self.problem, self.fix = problem, fix


def site_dir() -> Path:
    """The site project: HUBBUB_SITE_DIR, or the current directory."""
    return Path(os.environ.get("HUBBUB_SITE_DIR") or os.getcwd()).resolve()


def settings_file(root: Path, publish: bool = False) -> Path:
    path = root / ("publishconf.py" if publish else "pelicanconf.py")
    if not path.is_file():
        raise BuildError(
            f"{path} not found: run this command in a Hubbub site project, "
            "or point HUBBUB_SITE_DIR at one."
        )
    return path


def load_settings(root: Path | None = None, publish: bool = False, **override) -> dict:
    """Pelican settings for the site, with overrides such as OUTPUT_PATH for tests."""
    from pelican.settings import read_settings

    root = root or site_dir()
    path = settings_file(root, publish)
    try:
        # HUBBUB_PUBLISH tells the service which settings made output/, for the builds it runs itself.
        settings = read_settings(str(path), override={"HUBBUB_PUBLISH": publish, **override})
        return site_relative_paths(settings, root)
    except Exception as exc:  # the file is Python, and Pelican then works on its values: anything can come out
        raise settings_error(path, exc) from exc


def settings_error(path: Path, exc: Exception) -> SettingsError:
    """What is wrong in a settings file, at the line of the site's settings where it went wrong:
    where Python stopped, or (an error inside Pelican) the setting that is not the text it expects."""
    what = f"{type(exc).__name__}: {exc.msg if isinstance(exc, SyntaxError) else exc}"
    where = _failing_line(path, exc)
    if where is None:
        where, why = _mistyped_setting(path)
        what = f"Pelican cannot use its settings ({what})" + (f"; {why}" if why else "")
        if where is None:
            return SettingsError(f"{path} does not load: {what}",
                                 f"check the values in {path.name} against Pelican's settings "
                                 "(https://docs.getpelican.com/en/latest/settings.html)")
    file, line = where
    linecache.checkcache(str(file))  # `serve --reload` lives on while the file is edited
    source = linecache.getline(str(file), line).strip()
    fix = f"correct line {line} of {file}"
    if isinstance(exc, ImportError):
        fix += ", or install what it imports where Hubbub runs"
    place = f"line {line}" if file.resolve() == path.resolve() else f"{file} line {line}"
    return SettingsError(f"{path} does not load: {place}" + (f" ({source})" if source else "") + f": {what}", fix)


def _failing_line(path: Path, exc: Exception) -> tuple[Path, int] | None:
    """The innermost line of the site's own settings files (beside `path`) where exc was raised."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return Path(exc.filename), exc.lineno
    found = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        file = Path(frame.f_code.co_filename)
        if file.suffix == ".py" and file.parent.resolve() == path.parent.resolve():
            found = (file, line)
    return found


def _mistyped_setting(path: Path) -> tuple[tuple[Path, int] | None, str]:
    """A setting the file sets to something else than the text Pelican's default is (the usual
    cause of an error inside Pelican, e.g. DEFAULT_LANG = 5), with where it is set."""
    from pelican.settings import DEFAULT_CONFIG, get_settings_from_file

    try:
        values = get_settings_from_file(str(path))
    except Exception:
        return None, ""
    for name, value in values.items():
        default = DEFAULT_CONFIG.get(name)
        if isinstance(default, str) and value is not None and not isinstance(value, str):
            why = f"{name} is {value!r}, where Pelican expects text such as {default!r}"
            # publishconf.py usually takes its settings from pelicanconf.py
            for file in (path, path.parent / "pelicanconf.py"):
                line = _assigned_at(file, name)
                if line:
                    return (file, line), why
            return None, why
    return None, ""


def _assigned_at(file: Path, name: str) -> int | None:
    """The line of the last top-level `NAME = ...` in a settings file."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    lines = [node.lineno for node in tree.body if isinstance(node, ast.Assign)
             and any(isinstance(target, ast.Name) and target.id == name for target in node.targets)]
    return lines[-1] if lines else None


def site_relative_paths(settings: dict, root: Path) -> dict:
    """Pelican resolves PATH and OUTPUT_PATH against the working directory when the settings file
    leaves them out (as many sites' do); a site's are its own directory's, wherever hubbub runs."""
    for key in ("PATH", "OUTPUT_PATH"):
        if not os.path.isabs(settings[key]):
            settings[key] = str(root / settings[key])
    return settings


class _ErrorCounter(logging.Handler):
    def __init__(self, content: Path):
        super().__init__(level=logging.ERROR)
        self.content = content
        self.messages: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        # Pelican logs a source it could not read without the reason (unless DEBUG): add it, and
        # the line of the source holding the value the reason quotes.
        exc = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if exc is not None and record.msg == "Could not process %s" and record.args:
            line = _quoted_line(self.content / str(record.args[0]), str(exc))
            if line:
                message = f"{message}, line {line}"
        if exc is not None and str(exc) not in message:
            message = f"{message}: {exc}"
        self.messages.append(message)


def _quoted_line(path: Path, reason: str) -> int | None:
    """The first line of a source that holds a value the reason quotes ("'2026-02-30' is not a
    valid date"), or None."""
    quoted = [q for q in re.findall(r"'([^'\n]+)'", reason) if q.strip()]
    if not quoted:
        return None
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((n for n, text in enumerate(lines, 1) if any(q in text for q in quoted)), None)


def run_build(root: Path | None = None, publish: bool = False, *, full: bool = False, memory=None,
              shown=(), **override):
    """Build the site: incrementally (only what changed since the last build), or from scratch with
    full=True; both write the same bytes. Returns the BuildReport; raises BuildError on any error.
    `shown`: pages written since the last build by other means (serve --reload's fast path), which
    the search index has not taken in yet."""
    from .engine import SiteBuild

    root = Path(root or site_dir()).resolve()
    settings = load_settings(root, publish, **override)
    errors = _ErrorCounter(Path(settings["PATH"]))
    loggers = [logging.getLogger(name) for name in ("pelican", "hubbub")]
    for logger in loggers:
        logger.addHandler(errors)

    def before_writing():
        # A source Pelican could not read would count as deleted: its pages would go. Stop first.
        if errors.messages:
            raise ReadFailed("site build reported errors (no page was written or removed):\n  "
                             + "\n  ".join(errors.messages))

    try:
        report = SiteBuild(settings, root, full=full, memory=memory, shown=shown, before_writing=before_writing).run()
    except BuildError:
        raise
    except Exception as exc:  # Pelican and plugins raise many kinds; report them as one.
        where = template_location(exc)
        raise BuildError(f"site build failed: {where + ': ' if where else ''}{exc}") from exc
    finally:
        for logger in loggers:
            logger.removeHandler(errors)
    # The search index follows the pages that changed (None: all of them).
    changed = None if full or report.repaired else (
        {*report.written, *report.removed} - set(report.unindexed) | set(shown))
    if errors.messages:
        owe_search(report.settings, changed)  # pages written all the same: the next index takes them in
        raise BuildError("site build reported errors:\n  " + "\n  ".join(errors.messages))
    if not report.nothing_changed or shown or owed_search(report.settings) != set():
        index_search(report.settings, changed)
    return report


class ReadFailed(BuildError):
    """Sources could not be read: the build stopped before writing anything."""


_TEMPLATE_FRAME = re.compile(r'File "([^"]+\.(?:html|xml|txt|j2|jinja2?))", line (\d+)')


def template_location(exc: BaseException) -> str:
    """"FILE line N" of the template an error comes from, or "": Jinja's syntax errors carry it,
    and Jinja rewrites a render's traceback so that its frames are the template's lines (a page
    rendered in another process brings its traceback as text)."""
    import jinja2

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
            return f"{exc.filename or exc.name} line {exc.lineno}"
        frames = [f"{frame.f_code.co_filename} line {line}" for frame, line in traceback.walk_tb(exc.__traceback__)
                  if _TEMPLATE_FRAME.match(f'File "{frame.f_code.co_filename}", line {line}')]
        frames += [f"{m.group(1)} line {m.group(2)}" for m in _TEMPLATE_FRAME.finditer(str(getattr(exc, "tb", "")))]
        if frames:
            return frames[-1]  # the innermost: an included template's line, not the page's
        exc = exc.__cause__ or exc.__context__
    return ""


def build_site(root: Path | None = None, publish: bool = False, *, full: bool = False, **override) -> dict:
    """run_build, returning the settings used (what most callers need)."""
    return run_build(root, publish, full=full, **override).settings


def current_build():
    """The build running in this process (for plugins), or None under a plain `pelican` run."""
    from .engine import current

    return current()


def claim_output(output_dir, path) -> None:
    """A plugin wrote (or kept) this file in output/ on this build: it is part of the site, and an
    incremental build removes it once no build claims it any more. Outside a Hubbub build: nothing."""
    build = current_build()
    if build is not None:
        build.claim(os.path.relpath(path, output_dir))


OWED = f"{HUBBUB_DIR}/search-owed.json"  # pages written that the search index has not taken in


def index_search(settings: dict, changed_pages=None) -> None:
    """The search index (hubbub.search) after Pelican wrote the site; `changed_pages` as there,
    with those earlier builds left to it (owe_search)."""
    from hubbub.search import SearchError, index_site

    owed = owed_search(settings)
    if changed_pages is not None and owed is not None:
        changed_pages = sorted({*changed_pages, *owed})
    else:
        changed_pages = None
    owe_search(settings, changed_pages)  # until the index has them: it may fail, or be cut short
    try:
        index_site(settings, settings["OUTPUT_PATH"], changed_pages)
    except SearchError as exc:
        raise BuildError(f"search index: {exc}") from exc
    atomic_remove(Path(settings["OUTPUT_PATH"]) / OWED, fsync=False)


def owed_search(settings: dict) -> set[str] | None:
    """Pages earlier builds wrote that the search index has not taken in (their index failed, or
    the build reported errors after writing them); None: the whole site."""
    try:
        owed = json.loads((Path(settings["OUTPUT_PATH"]) / OWED).read_bytes())
    except FileNotFoundError:
        return set()
    except (OSError, ValueError):
        return None
    if not isinstance(owed, dict) or owed.get("all") or not isinstance(owed.get("pages"), list):
        return None  # unreadable: the whole site, to be safe
    return set(owed["pages"])


def owe_search(settings: dict, pages) -> None:
    """Add pages (None: the whole site) to what the search index owes."""
    owed = owed_search(settings)
    everything = pages is None or owed is None
    data = {"all": True} if everything else {"pages": sorted({*owed, *pages})}
    atomic_write(Path(settings["OUTPUT_PATH"]) / OWED, json.dumps(data).encode(), fsync=False)
