"""The site's language in every page: Hubbub's gettext catalog in the templates, dates in words of
that language (hubbub.core.i18n).

Every generator's Jinja environment gets the i18n extension with the catalog of DEFAULT_LANG (the
fast publisher sets its own up the same way: hubbub.core.render), every article and page a
`locale_date` whose month and day names are in it, and every feed its language. The comments
plugin registers this one too, so any theme that includes Hubbub's comment templates gets their
translations.
"""

from __future__ import annotations

import re

from pelican import signals

from hubbub.core import i18n


def _language(settings: dict) -> str:
    return i18n.site_language(settings.get("DEFAULT_LANG"))


def _generator_init(generator) -> None:
    i18n.install(generator.env, _language(generator.settings))


def _dated(contents, lang: str) -> None:
    for content in contents:
        fmt = getattr(content, "date_format", None) or i18n.DATE_FORMAT
        if getattr(content, "date", None) is not None:
            content.locale_date = i18n.strftime(content.date, fmt, lang)
        if getattr(content, "modified", None) is not None:
            content.locale_modified = i18n.strftime(content.modified, fmt, lang)


def _articles_finalized(generator) -> None:
    lang = _language(generator.settings)
    for name in ("articles", "translations", "hidden_articles", "hidden_translations", "drafts",
                 "drafts_translations"):
        _dated(getattr(generator, name, ()), lang)


def _pages_finalized(generator) -> None:
    lang = _language(generator.settings)
    for name in ("pages", "translations", "hidden_pages", "hidden_translations", "draft_pages",
                 "draft_translations"):
        _dated(getattr(generator, name, ()), lang)


def _feed_generated(context, feed) -> None:
    """A feed says its language (Atom's xml:lang, RSS's <language>): a translations feed the one in
    its name, every other feed the site's."""
    feed.feed["language"] = _translation_language(context, feed.feed["feed_url"]) or context["DEFAULT_LANG"]


def _translation_language(context, feed_url: str) -> str | None:
    """The language of a translations feed: Pelican writes one for each language its posts are in,
    at TRANSLATION_FEED_ATOM/RSS(_URL) made with it. Another feed's address may have the same shape
    (feeds/all.atom.xml beside feeds/{lang}.atom.xml; a SITEURL's last part before {lang}/...):
    what stands in for {lang} counts only when it is a language of the posts."""
    languages = None
    for key in ("TRANSLATION_FEED_ATOM", "TRANSLATION_FEED_ATOM_URL", "TRANSLATION_FEED_RSS", "TRANSLATION_FEED_RSS_URL"):
        pattern = re.escape(str(context.get(key) or ""))
        for placeholder in ("{lang}", "%s"):  # Pelican's, and the one it used to take
            if re.escape(placeholder) in pattern:
                found = re.search("(?:^|/)" + pattern.replace(re.escape(placeholder), "([^/]+)") + "$", feed_url)
                if found:
                    languages = _post_languages(context) if languages is None else languages
                    if found.group(1) in languages:
                        return found.group(1)
    return None


def _post_languages(context) -> set[str]:
    """The languages of the posts: those Pelican writes a translations feed for."""
    languages = set()
    for article in context.get("articles") or ():
        languages.add(article.lang)
        languages.update(translation.lang for translation in getattr(article, "translations", None) or ())
    return languages


def register():
    signals.generator_init.connect(_generator_init)
    signals.feed_generated.connect(_feed_generated)
    signals.article_generator_finalized.connect(_articles_finalized)
    signals.page_generator_finalized.connect(_pages_finalized)
