"""The service's words in the site's language.

The build's manifest carries the site's DEFAULT_LANG (site.lang), so the service speaks the language
the pages speak, and follows it when a build changes it. `_` and `ngettext` translate with the
catalog of hubbub.core.i18n: in a request, in the language of the app's site; in a job, in the
language `speaking(hub)` set (the job runner sets it); elsewhere in English. Strings defined at
import time are marked with `N_` and translated where they are used. Templates get `_`,
`ngettext`, `translated` (a word that comes as data), the `localdate` filter and `lang` (for
<html lang>).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from flask import current_app, g, has_app_context

from hubbub.core import i18n

_current: ContextVar[str | None] = ContextVar("hubbub_language", default=None)


def hub_language(hub) -> str:
    threads = getattr(hub, "threads", None)  # a bare stand-in hub (tests of the job runner) has none
    return i18n.site_language(threads.site().get("lang")) if threads is not None else i18n.SOURCE_LANGUAGE


def language() -> str:
    lang = _current.get()
    if lang is not None:
        return lang
    if has_app_context():
        found = g.get("hubbub_language")  # a page asks for many strings: look once per request
        if found is None:
            hub = current_app.extensions.get("hubbub")
            found = g.hubbub_language = hub_language(hub) if hub is not None else i18n.SOURCE_LANGUAGE
        return found
    return i18n.SOURCE_LANGUAGE


@contextlib.contextmanager
def speaking(hub):
    """Translate into the language of `hub`'s site inside the block (background jobs, commands)."""
    token = _current.set(hub_language(hub))
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str, **values) -> str:
    text = i18n.gettext(language(), message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values) -> str:
    values.setdefault("num", n)
    return i18n.ngettext(language(), singular, plural, n) % values


def N_(message: str) -> str:
    """Marks `message` for the catalog; whoever shows it translates it with _()."""
    return message


def init_app(app) -> None:
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(lambda s: i18n.gettext(language(), s),
                                  lambda s, p, n: i18n.ngettext(language(), s, p, n), newstyle=True)
    env.globals["translated"] = lambda text: i18n.gettext(language(), text)  # data, not a format: no %
    env.filters["localdate"] = lambda value, fmt=i18n.DATE_FORMAT: i18n.strftime(value, fmt, language()) if value else ""
    env.filters["script_words"] = i18n.script_words
    app.context_processor(lambda: {"lang": language()})
