"""Comment feeds (Atom and RSS) written with feedgen: one per article and one for the whole site.

Only what the page already shows goes in: author name, website link target, the sanitised HTML
and the time. Never an email or address. Feed times come from the comments themselves (not the
clock) so the build and the fast publisher write identical files for identical data.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from feedgen.feed import FeedGenerator
from markupsafe import Markup

from .i18n import N_, gettext, site_language
from .threadfile import Comment, conversation, xml_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedEntry:
    comment: Comment
    article_title: str  # plain text
    article_url: str  # absolute


@dataclass(frozen=True)
class FeedInfo:
    title: str
    subtitle: str
    page_url: str  # absolute URL of the page the feed follows
    atom_url: str  # absolute; "" when that format is not written
    rss_url: str
    lang: str
    fallback_updated: datetime = EPOCH  # when there are no entries
    words: str = "en"  # the language of the feed's own words (its entries' titles)


# The feeds' own words, translated into the site's language (hubbub.core.i18n).
WORDS = {
    "entry": N_("%(name)s on “%(title)s”"),
    "thread": N_("Comments on “%(title)s”"),
    "thread_about": N_("Published comments on “%(title)s” at %(site)s"),
    "site": N_("%(site)s: recent comments"),
    "site_about": N_("The latest published comments at %(site)s"),
}


def plain_title(title: str) -> str:
    """An article title as text: Pelican titles may hold inline HTML and entities."""
    return Markup(title).striptags()


def absolute(base: str, path: str) -> str:
    if not path:
        return ""
    if "://" in path:
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


def _generator(info: FeedInfo, entries: list[FeedEntry]) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)  # RSS names an author only by email; dc:creator by name
    fg.id(info.atom_url or info.rss_url or info.page_url)
    fg.title(xml_text(info.title))
    fg.subtitle(xml_text(info.subtitle))  # also the RSS description, which RSS requires
    if info.lang:
        fg.language(info.lang)
    newest = max((e.comment.created for e in entries), default=info.fallback_updated)
    fg.updated(newest)
    fg.lastBuildDate(newest)
    for e in entries:
        c = e.comment
        link = f"{e.article_url}#comment-{c.id}"
        fe = fg.add_entry(order="append")
        fe.id(link)
        fe.guid(link, permalink=True)
        author = xml_text(c.author)
        fe.title(gettext(info.words, WORDS["entry"]) % {"name": author, "title": xml_text(e.article_title)})
        fe.link(href=link)
        fe.author(name=author)
        fe.dc.dc_creator(author)
        fe.content(xml_text(c.html), type="html")
        fe.published(c.created)
        fe.updated(c.created)
    return fg


def _links(fg: FeedGenerator, info: FeedInfo, self_url: str) -> None:
    # feedgen uses the last link as RSS's <link>: the page; the self link goes first.
    fg.link([{"href": self_url, "rel": "self"}, {"href": info.page_url, "rel": "alternate"}], replace=True)


def render_feeds(info: FeedInfo, entries: list[FeedEntry]) -> tuple[bytes | None, bytes | None]:
    """(Atom bytes, RSS bytes), newest entry first; None for a format without a URL."""
    entries = sorted(entries, key=lambda e: (e.comment.created, e.comment.id), reverse=True)
    fg = _generator(info, entries)
    atom = rss = None
    if info.atom_url:
        _links(fg, info, info.atom_url)
        atom = fg.atom_str(pretty=True)
    if info.rss_url:
        _links(fg, info, info.rss_url)
        # Readers show RSS's <description> as HTML (Atom's subtitle is text): a title's "<" stays text.
        fg.subtitle(html.escape(xml_text(info.subtitle), quote=False))
        rss = fg.rss_str(pretty=True)
    return atom, rss


# What the build and the fast publisher write: the same functions, from the manifest's data.

def _lang(site: dict, entry: dict | None = None) -> str:
    return (entry or {}).get("lang") or site.get("lang") or ""


def thread_feed_files(site: dict, slug: str, entry: dict, comments: list[Comment]) -> dict[str, bytes]:
    """{output-relative path: bytes} of one article's comment feeds (none when disabled)."""
    feeds = entry.get("feeds") or {}
    if not (feeds.get("atom") or feeds.get("rss")):
        return {}
    base = site["feed_domain"]
    title = plain_title(entry.get("title", slug))
    date = entry.get("date")
    words = site_language(site.get("lang"))
    info = FeedInfo(
        title=gettext(words, WORDS["thread"]) % {"title": title},
        subtitle=gettext(words, WORDS["thread_about"]) % {"title": title,
                                                                                  "site": site.get("sitename", "")},
        words=words,
        page_url=entry["absolute_url"],
        atom_url=absolute(base, feeds.get("atom") or ""),
        rss_url=absolute(base, feeds.get("rss") or ""),
        lang=_lang(site, entry),
        fallback_updated=datetime.fromisoformat(date) if date else EPOCH,
    )
    items = [FeedEntry(c, title, entry["absolute_url"]) for c in conversation(comments)]
    atom, rss = render_feeds(info, items)
    out = {}
    if atom is not None:
        out[feeds["atom"]] = atom
    if rss is not None:
        out[feeds["rss"]] = rss
    return out


def site_feed_files(site: dict, threads: dict, recent: list[dict]) -> dict[str, bytes]:
    """The site-wide feeds of recent comments; `recent` holds state entries (newest first)."""
    spec = site.get("feeds") or {}
    if not (spec.get("all_atom") or spec.get("all_rss")):
        return {}
    base = site["feed_domain"]
    limit = spec.get("max_items") or len(recent)
    items = []
    for r in recent[:limit]:
        entry = threads.get(r["thread"])
        if entry is None:
            continue  # the article is gone since; its thread is no longer on the site
        comment = Comment(
            id=r["id"], parent=r.get("parent"), author=r["author"], url=r.get("url", ""),
            html=r["html"], created=datetime.fromisoformat(r["created"]), author_key="",
        )
        items.append(FeedEntry(comment, plain_title(entry.get("title", r["thread"])), entry["absolute_url"]))
    # Only an empty feed needs a date from elsewhere: the newest article's.
    dates = [] if items else [datetime.fromisoformat(t["date"]) for t in threads.values() if t.get("date")]
    sitename = site.get("sitename", "")
    words = site_language(site.get("lang"))
    info = FeedInfo(
        title=gettext(words, WORDS["site"]) % {"site": sitename},
        subtitle=gettext(words, WORDS["site_about"]) % {"site": sitename},
        words=words,
        page_url=absolute(base, "/"),
        atom_url=absolute(base, spec.get("all_atom") or ""),
        rss_url=absolute(base, spec.get("all_rss") or ""),
        lang=_lang(site),
        fallback_updated=max(dates, default=EPOCH),
    )
    atom, rss = render_feeds(info, items)
    out = {}
    if atom is not None:
        out[spec["all_atom"]] = atom
    if rss is not None:
        out[spec["all_rss"]] = rss
    return out


FEEDS_FORMAT = 1  # bump when the feed layout changes, so every build rewrites every feed


@lru_cache(maxsize=1)
def _feedgen_version() -> str:
    from importlib.metadata import version

    return version("feedgen")


# What of a thread's manifest entry, and of the site, its feeds are made of.
FEED_KEY_ENTRY = ("title", "absolute_url", "date", "lang", "feeds")
FEED_KEY_SITE = ("sitename", "feed_domain", "lang")


def _feed_words(site: dict) -> list[str]:
    """The feeds' own words in the site's language: a changed translation changes the feeds."""
    lang = site_language(site.get("lang"))
    return [gettext(lang, w) for w in WORDS.values()]


def feed_key_context(site: dict) -> str:
    """Everything besides the thread that its feed key depends on (a cache of keys must include it)."""
    return repr([FEEDS_FORMAT, _feedgen_version(), *(site.get(k) for k in FEED_KEY_SITE), _feed_words(site)])


def thread_feed_key(site: dict, slug: str, entry: dict, digest: str) -> str:
    """What a thread's feeds are made of; equal keys mean identical feed files, so a build can
    keep the files it (or the publisher) already wrote instead of regenerating them."""
    material = [
        FEEDS_FORMAT, _feedgen_version(), slug, digest,
        {k: entry.get(k) for k in FEED_KEY_ENTRY},
        {k: site.get(k) for k in FEED_KEY_SITE},
        _feed_words(site),
    ]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
