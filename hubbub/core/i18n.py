"""The languages of Hubbub's text: gettext catalogs, the site's language, dates in that language.

One gettext domain, "hubbub", holds everything readers and moderators read: the theme, the
comment templates, the strings comments.js shows (the page hands them over), and the comment
service's messages, pages and emails. The catalogs are hubbub/locale/<lang>/LC_MESSAGES/hubbub.po;
they are compiled in memory when first used (and again when the file changes), so there is no
.mo file to forget. The site's DEFAULT_LANG picks the language; the comment service reads it from
the build's manifest. A language without a catalog falls back to English with a warning.

Dates: formats go through the catalog too ("%-d %B %Y" is German "%-d. %B %Y"), and the month and
day names come from Babel's locale data, so a date reads the same whatever locale the build or the
service runs in.
"""

from __future__ import annotations

import io
import logging
import re
import time
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

from babel.core import Locale, UnknownLocaleError
from babel.dates import get_day_names, get_month_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

DOMAIN = "hubbub"
LOCALE_DIR = Path(__file__).parents[1] / "locale"
SOURCE_LANGUAGE = "en"


def N_(text: str) -> str:
    """gettext's marker: `text` goes into the catalog and is translated where it is used."""
    return text


# Hubbub's own date formats (hubbub.settings, hubbub.core.tree, the theme): the catalogs translate them.
# TRANSLATORS: a date (strftime), e.g. 5 March 2026; %B is the month's name.
DATE_FORMAT = N_("%-d %B %Y")
# TRANSLATORS: when a comment was written (strftime), e.g. 5 March 2026 at 14:30.
COMMENT_DATE_FORMAT = N_("%-d %B %Y at %H:%M")
# TRANSLATORS: a month (strftime), e.g. March 2026, as in "Member since March 2026".
MONTH_FORMAT = N_("%B %Y")


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def languages() -> tuple[str, ...]:
    """The languages with a catalog in hubbub/locale (shipped with the package: looked up once)."""
    return tuple(sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


def catalog_files() -> list[Path]:
    """Every catalog: the build counts them as code, so a changed translation re-renders the site."""
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def site_language(value) -> str:
    """The shipped language a DEFAULT_LANG names ("de", "de_DE", "de-AT" → "de"); English, with a
    warning, for one Hubbub has no catalog for."""
    text = str(value or "").strip()
    code = re.split(r"[-_.@]", text, maxsplit=1)[0].lower()
    if code in languages():
        return code
    if text:
        _warn_unknown(text)
    return SOURCE_LANGUAGE


@cache
def _warn_unknown(text: str) -> None:
    log.warning("DEFAULT_LANG = %r: Hubbub has no catalog for it (it has %s), so its text stays English; "
                "see \"Adding a language\" in the README to add one", text, ", ".join(languages()))


_checked: dict[str, tuple[float, Translations]] = {}
RECHECK_SECONDS = 2.0  # how soon an edited catalog is noticed (a page asks for many strings)


def translations(lang: str) -> Translations:
    """The compiled catalog of a shipped language (site_language() first)."""
    now = time.monotonic()
    checked = _checked.get(lang)
    if checked is not None and now - checked[0] < RECHECK_SECONDS:
        return checked[1]
    path = catalog_path(lang)
    try:
        found = _compile(lang, str(path), path.stat().st_mtime_ns)
    except OSError:
        found = Translations()  # English without a catalog: the messages themselves
    _checked[lang] = (now, found)
    return found


@lru_cache(maxsize=16)
def _compile(lang: str, path: str, _stamp: int) -> Translations:
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation yet
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


@lru_cache(maxsize=16)
def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE_LANGUAGE)


@lru_cache(maxsize=64)
def _calendar_names(lang: str, code: str):
    """Month (B, b) or day (A, a) names in `lang`, looked up once (Babel's lookups cost more than
    formatting a date)."""
    locale = _locale(lang)
    width = "wide" if code in "BA" else "abbreviated"
    names = get_month_names if code in "Bb" else get_day_names
    return dict(names(width, "format", locale))


def strftime(value: date | datetime, fmt: str, lang: str) -> str:
    """`value` formatted by `fmt` (strftime, the format translated by the catalog when it is one of
    Hubbub's defaults), with month and day names in `lang`."""
    fmt = gettext(lang, fmt)

    def name(match: re.Match) -> str:
        code = match.group(1)
        if code == "%":
            return match.group(0)
        text = _calendar_names(lang, code)[value.month if code in "Bb" else value.weekday()]
        return text.replace("%", "%%")

    return value.strftime(re.sub(r"%([%BbAa])", name, fmt))


def install(env, lang: str) -> None:
    """Give a Jinja environment gettext (`_`, `gettext`, `ngettext`, `{% trans %}`) in `lang`, and
    the `localdate` filter: {{ value|localdate }} or {{ value|localdate("%B %Y") }}."""
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations(lang), newstyle=True)
    # translated(value): a word that comes as data (a menu label, an accolade) when the catalog has it;
    # unlike _() it is never a format string, so a "%" in a site's own label is harmless.
    env.globals["translated"] = translations(lang).gettext
    env.filters["localdate"] = lambda value, fmt=DATE_FORMAT: strftime(value, fmt, lang) if value else ""
    env.globals["MONTH_FORMAT"] = MONTH_FORMAT
    env.filters["og_locale"] = og_locale
    env.filters["script_words"] = script_words


def script_words(words: dict) -> dict:
    """The words a page's script needs from it: those the catalog translates. The script shows the
    English key itself for the others, so an English page carries none."""
    return {key: text for key, text in words.items() if text != key}


def og_locale(value) -> str:
    """A language as Open Graph's og:locale writes it, language_TERRITORY: "de" → "de_DE" (the
    territory CLDR takes for the language), "de-AT" → "de_AT"; English when unset."""
    from babel.core import LOCALE_ALIASES

    text = str(value or "").strip().replace("-", "_") or SOURCE_LANGUAGE
    return text if "_" in text else LOCALE_ALIASES.get(text.lower(), text)
