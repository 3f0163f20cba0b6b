"""Build errors, and where they are: the line of a settings file, of a source, of a template.

A writer fixes what an error names, so each says the file and the line where it can be told.
"""

from __future__ import annotations

import ast
import linecache
import logging
import re
import sys
import traceback
from pathlib import Path


class BuildError(Exception):
    """The site did not build; the message says why and what to fix."""


class SettingsError(BuildError):
    """The settings file does not load: `problem` says where and why, `fix` what to do."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem}\nTo fix it: {fix}")
        self.problem, self.fix = problem, fix


class ReadFailed(BuildError):
    """Sources could not be read: the build stopped before writing anything."""


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


class ErrorCounter(logging.Handler):
    """The errors Pelican and Hubbub log during a build, each with its reason and, where it can
    be told, its source's line."""

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
            line = source_line(self.content / str(record.args[0]), str(exc))
            if line:
                message = f"{message}, line {line}"
        if exc is not None and str(exc) not in message:
            message = f"{message}: {exc}"
        self.messages.append(message)


def source_line(path: Path, reason: str) -> int | None:
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


_TEMPLATE = re.compile(r"\.(?:html|xml|txt|j2|jinja2?)$")  # a template's file, as Jinja names its frames


def template_location(exc: BaseException) -> str:
    """"FILE line N" of the template an error comes from, or "": Jinja's syntax errors carry it,
    and Jinja rewrites a render's traceback so that its frames are the template's lines. (A share
    of pages that fails in a renderer process is rendered again, and fails, in the build's own.)"""
    import jinja2

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
            return f"{exc.filename or exc.name} line {exc.lineno}"
        frames = [f"{frame.f_code.co_filename} line {line}" for frame, line in traceback.walk_tb(exc.__traceback__)
                  if _TEMPLATE.search(frame.f_code.co_filename)]
        if frames:
            return frames[-1]  # the innermost: an included template's line, not the page's
        exc = exc.__cause__ or exc.__context__
    return ""
