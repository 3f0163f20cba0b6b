"""Published comments in the static site.

Reads each article's thread file (content/comments/<slug>.json, written by the comment service),
and gives every article `comments` (a tree for threaded display), `comment_count` and
`structured_data` (its JSON-LD, which lists the comments: core/structured_data.py); the theme's
hubbub/comments.html, hubbub/comment_count.html and hubbub/structured_data.html draw them. After the pages are written it
writes the comment feeds (site-wide and per article, Atom and RSS, via feedgen) and
<OUTPUT_PATH>/.hubbub/manifest.json: the threads the service accepts comments for, and what the
fast publisher (comments_service.publish) needs to update pages in place, e.g. which pages show
which article's comment count. The fast publisher renders with the same code, so a publish and a
full build give the same bytes.

Settings (defaults in DEFAULTS below): COMMENTS_DIR (relative to PATH), COMMENTS_MAX_DEPTH,
COMMENTS_DATE_FORMAT, COMMENT_FEED_ATOM / _RSS (per article, "{slug}"), COMMENT_FEED_ALL_ATOM /
_RSS, COMMENT_FEED_MAX_ITEMS (site-wide feed), COMMENT_FEEDS_PARALLEL, WEBMENTION_REMOTE_PHOTOS;
a feed setting of None turns that feed off. COMMENTS_CLOSE_AFTER_DAYS (None = never) closes threads
by age, and a post's `Comments: closed` metadata closes its thread (`Comments: open` keeps it open);
see hubbub.core.closing. A closed thread keeps its published comments; the form gives way to
"Comments are closed." (articles get `comments_closed` and `comments_closes_at`). COMMENTS_AKISMET
and COMMENTS_EMAIL (True) say whether the form tells readers of Akismet and offers email
notifications.

Build time: per-article feeds are rewritten only when their inputs changed (a key per thread in
.hubbub/threads.json; `hubbub build --full` goes through them all, writing those whose bytes
differ), and on a fresh output they are written by a forked child while Pelican writes the pages.
The manifest copies the build's JSON-safe settings (for rendering the partials outside Pelican)
except any whose name looks like a credential.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup
from pelican import signals
from pelican.contents import Article

from hubbub import STATIC, TEMPLATES, THEME
from hubbub.build import claim_output, current_build
from hubbub.build.compat import fresh_summary, has_intrasite_links
from hubbub.core import i18n
from hubbub.core.atomic import write_if_changed
from hubbub.core.background import ChildTask
from hubbub.core.closing import build_date, close_after_days, meta_value, thread_closing
from hubbub.core.feeds import (
    FEED_KEY_ENTRY,
    absolute,
    feed_key_context,
    site_feed_files,
    thread_feed_files,
    thread_feed_key,
)
from hubbub.core.lock import publish_lock
from hubbub.core.manifest import MANIFEST_VERSION, manifest_path, write_json
from hubbub.core.outlinks import content_digest, external_links
from hubbub.core.publish_state import (
    keep_for,
    newest_comments,
    thread_states,
    write_recent,
    write_thread_states,
)
from hubbub.core.render import find_count_threads
from hubbub.core.structured_data import article_region, posting
from hubbub.core.threadfile import ThreadFileError, check_slug, conversation, read_thread, thread_slugs
from hubbub.core.tree import DEFAULT_DATE_FORMAT, DEFAULT_MAX_DEPTH, comment_tree, reaction_rows
from hubbub.plugins import languages

logger = logging.getLogger(__name__)

DEFAULTS = {
    "COMMENTS_DIR": "comments",
    "COMMENTS_MAX_DEPTH": DEFAULT_MAX_DEPTH,
    "COMMENTS_DATE_FORMAT": DEFAULT_DATE_FORMAT,
    "COMMENTS_SECTION_TEMPLATE": "hubbub/comments.html",
    "COMMENTS_COUNT_TEMPLATE": "hubbub/comment_count.html",
    "COMMENT_FEED_ATOM": "feeds/comments/{slug}.atom.xml",
    "COMMENT_FEED_RSS": "feeds/comments/{slug}.rss.xml",
    "COMMENT_FEED_ALL_ATOM": "feeds/comments.atom.xml",
    "COMMENT_FEED_ALL_RSS": "feeds/comments.rss.xml",
    "COMMENT_FEED_MAX_ITEMS": 50,
    # Write the per-article feeds in a forked child while Pelican writes pages (single-threaded
    # builds only; elsewhere they are written inline).
    "COMMENT_FEEDS_PARALLEL": True,
    # Webmention authors' photos are other sites' images: showing them tells those sites who
    # reads the page. Off: everyone gets a locally drawn avatar.
    "WEBMENTION_REMOTE_PHOTOS": False,
    "COMMENTS_CLOSE_AFTER_DAYS": None,
    # What the reply form tells readers; keep them true to the service's settings (hubbub doctor
    # compares): Akismet checks comments (PYTHON_AKISMET_API_KEY), email goes out (HUBBUB_SMTP_HOST).
    "COMMENTS_AKISMET": True,
    "COMMENTS_EMAIL": True,
    # Where hubbub/thread.html finds comments.css and comments.js in the output; None: not written.
    "COMMENTS_ASSETS_PATH": "hubbub",
    # The reply form links to the site's privacy page here; None leaves the link out.
    "COMMENTS_PRIVACY_URL": "privacy/",
}

# The assets of hubbub/thread.html: a stylesheet for any theme, and the theme's own script.
ASSETS = {
    "comments.css": Path(STATIC) / "comments.css",
    "comments.js": Path(THEME) / "static" / "js" / "comments.js",
}


class _Build:
    """What one Pelican run learns, from reading threads to writing the manifest."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.threads: dict[str, dict] = {}  # slug → manifest entry
        self.comments: dict[str, list] = {}  # slug → [Comment]
        self.digests: dict[str, str] = {}
        self.pages: dict[str, str] = {}  # output-relative page → its SITEURL
        self.count_pages: dict[str, set[str]] = {}  # slug → pages showing its count
        self.site: dict | None = None
        self.feed_keys: dict[str, str] = {}
        self.feeds_task: ChildTask | None = None
        self.close_after_days = close_after_days(settings["COMMENTS_CLOSE_AFTER_DAYS"])
        self.built = build_date()


_build: _Build | None = None


def comments_dir(settings: dict) -> Path:
    return Path(settings["PATH"]) / settings["COMMENTS_DIR"]


def _initialized(pelican) -> None:
    global _build
    if _build is not None and _build.feeds_task is not None:
        try:
            _build.feeds_task.wait()  # reap the child of a build that failed half-way
        except RuntimeError:
            pass  # that build already failed; this one starts afresh
    for key, value in DEFAULTS.items():
        pelican.settings.setdefault(key, value)
    # Any theme can {% include "hubbub/comments.html" %}: the comment templates come with the package,
    # after the site's own overrides (so a site may replace them) and before the theme.
    overrides = pelican.settings.setdefault("THEME_TEMPLATES_OVERRIDES", [])
    if TEMPLATES not in overrides:
        overrides.append(TEMPLATES)
    _exclude_comments_dir(pelican.settings)
    _build = _Build(pelican.settings)


def _exclude_comments_dir(settings: dict) -> None:
    """Thread files and the site's salt are never content, nor static files copied into output/,
    whatever ARTICLE_PATHS or STATIC_PATHS a site uses (e.g. STATIC_PATHS = [""])."""
    directory = settings["COMMENTS_DIR"]
    for key in ("ARTICLE_EXCLUDES", "PAGE_EXCLUDES", "STATIC_EXCLUDES"):
        excludes = list(settings.get(key) or [])
        if directory not in excludes:
            settings[key] = [*excludes, directory]


def _check_thread_slug(content) -> None:
    """A post's slug names its comment thread (file, API address): refused as the post is read,
    so Pelican names the file, before any plugin looks for the thread."""
    if not isinstance(content, Article) or not getattr(content, "slug", None):
        return
    try:
        check_slug(content.slug)
    except ThreadFileError as exc:
        from pelican.utils import slugify

        raise ThreadFileError(
            f"its slug {content.slug!r} cannot name a comment thread, which takes ASCII letters, digits, "
            f"'.', '_' and '-': set e.g. `Slug: {slugify(content.slug, use_unicode=False) or 'my-post'}`") from exc


def _attach(article, tree, count, reactions=(), closed: bool = False, closes_at: str | None = None) -> None:
    article.comments = tree
    article.comment_count = count
    article.reactions = list(reactions)
    article.comments_closed = closed
    article.comments_closes_at = closes_at


def _tree(settings, comments):
    return comment_tree(
        comments, settings["COMMENTS_MAX_DEPTH"], settings["COMMENTS_DATE_FORMAT"], settings.get("TIMEZONE"),
        i18n.site_language(settings.get("DEFAULT_LANG")),
    )


def _share_image(article, settings) -> str:
    """The article's own image (`Image:` metadata), else the site's share card (SHARE_IMAGE)."""
    return getattr(article, "image", None) or settings.get("SHARE_IMAGE") or ""


def _feed_paths(settings, slug) -> dict:
    return {
        "atom": settings["COMMENT_FEED_ATOM"].format(slug=slug) if settings["COMMENT_FEED_ATOM"] else None,
        "rss": settings["COMMENT_FEED_RSS"].format(slug=slug) if settings["COMMENT_FEED_RSS"] else None,
    }


def _articles_finalized(generator) -> None:
    """Read every article's thread file (a broken one stops the build, naming the file)."""
    build = _build
    settings = generator.settings
    directory = comments_dir(settings)
    base = settings.get("SITEURL", "")
    canonical = settings.get("CANONICAL_SITEURL") or base
    links_cache = _kept("outbound-links")
    known_links = dict(links_cache)
    links_cache.clear()  # what this build uses, found again or parsed now
    data_cache = _kept("structured-data")
    known_data = dict(data_cache)
    data_cache.clear()
    for article in generator.articles:
        thread = read_thread(directory, article.slug)  # raises ThreadFileError naming the file
        # Pelican put a `Comments:` line on the article as `comments`, which _attach replaces.
        meta = meta_value(article.metadata.get("comments"), getattr(article, "source_path", article.slug))
        closing = thread_closing(meta, getattr(article, "date", None), build.built, build.close_after_days)
        if closing.closes_at is not None and not closing.closed and (running := current_build()) is not None:
            running.valid_until(closing.closes_at)  # its page changes then, sources or not
        fields = closing.manifest_fields()
        _attach(article, _tree(settings, thread.comments), len(conversation(thread.comments)),
                reaction_rows(thread.comments), closing.closed, fields["closes_at"])
        fixed, article.structured_data = _structured_data(
            article, thread, known_data, data_cache, canonical, settings.get("SITENAME", ""),
            _share_image(article, settings))
        build.comments[article.slug] = thread.comments
        build.digests[article.slug] = thread.digest
        absolute_url = absolute(base, article.url)
        build.threads[article.slug] = {
            "url": article.url,
            "absolute_url": absolute_url,
            "title": str(article.title),
            "date": article.date.isoformat() if getattr(article, "date", None) else None,
            "lang": getattr(article, "lang", "") or "",
            "author": str(getattr(article, "author", "") or ""),
            "author_slug": getattr(getattr(article, "author", None), "slug", "") or "",
            "save_as": article.save_as,
            "feeds": _feed_paths(settings, article.slug),
            # For sending webmentions: the post's links to other sites, and whether it changed.
            "links": _links(known_links, links_cache, article.content, absolute_url, base),
            "content_digest": content_digest(article.content),
            **fields,
            "posting": fixed,
        }
    # Translations, hidden articles and drafts are not threads, but templates may still ask.
    others = [*generator.translations, *getattr(generator, "hidden_articles", []), *generator.drafts]
    for article in others:
        if not hasattr(article, "comment_count"):
            _attach(article, [], 0)
    for slug in thread_slugs(directory):
        if slug not in build.threads:
            logger.warning("%s: no published article has the slug %r; its comments are not shown",
                           directory / f"{slug}.json", slug)


def _kept(name: str) -> dict:
    """A cache the build keeps between runs (a plain dict under a plain `pelican` run)."""
    build = current_build()
    return build.cache(name) if build is not None else {}


def _structured_data(article, thread, known: dict, used: dict, *fixed_args) -> tuple[dict, Markup]:
    """The article's posting() and JSON-LD region, kept from the last build while its source, its
    thread and the configuration are unchanged (5,000 summaries to parse and JSON texts to make
    would cost more than a second on every build)."""
    build = current_build()
    source = build.source_of(article) if build is not None else None
    if source is None or has_intrasite_links(article):  # links in its summary follow other posts
        fixed = posting(article, fresh_summary(article), *fixed_args)
        return fixed, article_region(article.slug, fixed, conversation(thread.comments))
    path, stamp = source
    key = [stamp, build.config, thread.digest, *fixed_args]
    found = known.get(path)
    if found is None or found[0] != key:
        fixed = posting(article, fresh_summary(article), *fixed_args)
        found = (key, fixed, str(article_region(article.slug, fixed, conversation(thread.comments))))
    used[path] = found
    return found[1], Markup(found[2])


def _links(known: dict, used: dict, html: str, page_url: str, site_url: str) -> list[str]:
    """external_links, parsed once per version of a post (parsing every post's HTML on every
    build would cost seconds on a big site)."""
    key = (content_digest(html), page_url, site_url)
    found = known.get(key)
    if found is None:
        found = external_links(html, page_url, site_url)
    used[key] = found
    return found


def _content_written(path, context=None) -> None:
    """Note which pages show which counts, and the SITEURL each was rendered with."""
    build = _build
    if build is None or context is None or not str(path).endswith(".html"):
        return
    name = context.get("output_file")
    if not name:
        return
    article = context.get("article")
    own_page = article is not None and getattr(article, "save_as", None) == name
    is_thread_page = own_page and build.threads.get(article.slug, {}).get("save_as") == name
    slugs = _count_threads(path)
    if own_page and not is_thread_page:
        # A translation, draft or hidden post shares its original's slug but shows its own count
        # (none): the publisher must not put the thread's there.
        slugs.discard(article.slug)
    if slugs or is_thread_page:
        build.pages[name] = context.get("SITEURL", "")
    for slug in slugs:
        build.count_pages.setdefault(slug, set()).add(name)


def _count_threads(path) -> set[str]:
    """The threads whose counts a written page shows; a page unchanged since the last build is not
    read again (hubbub build keeps what it found by the file's size and time)."""
    known = _kept("comment-count-pages")
    st = os.stat(path)
    stamp = (st.st_size, st.st_mtime_ns)
    found = known.get(str(path))
    if found is not None and found[0] == stamp:
        return set(found[1])
    with open(path, "rb") as fh:
        slugs = find_count_threads(fh.read())
    known[str(path)] = (stamp, tuple(sorted(slugs)))
    return slugs


# output/.hubbub/ may end up public: never copy a setting that looks like a credential into it.
_SECRET = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL", re.I)


def _json_safe(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None, False
    return value, True


def _jinja_options(settings: dict) -> dict:
    options = {}
    for key, value in settings.get("JINJA_ENVIRONMENT", {}).items():
        if key == "extensions":
            value = [v if isinstance(v, str) else f"{v.__module__}.{v.__qualname__}" for v in value]
        value, ok = _json_safe(value)
        if ok:
            options[key] = value
        else:
            logger.warning("JINJA_ENVIRONMENT[%r] cannot be recorded for the fast publisher; "
                           "comment sections it renders may differ until the next build", key)
    return options


def _site(settings: dict) -> dict:
    theme_templates = os.path.join(settings["THEME"], "templates")
    context = {}
    for key, value in settings.items():
        if key.isupper() and not _SECRET.search(key):
            value, ok = _json_safe(value)
            if ok:
                context[key] = value
    return {
        "sitename": settings.get("SITENAME", ""),
        "siteurl": settings.get("SITEURL", ""),
        "feed_domain": settings.get("FEED_DOMAIN") or settings.get("SITEURL", ""),
        "lang": settings.get("DEFAULT_LANG", ""),
        "comments_url": settings.get("COMMENTS_URL", ""),
        "relative_urls": bool(settings.get("RELATIVE_URLS")),
        "publish": settings.get("HUBBUB_PUBLISH"),  # None: built by `pelican` itself
        "content_path": str(settings["PATH"]),
        "comments_dir": str(comments_dir(settings)),
        "output_path": str(settings["OUTPUT_PATH"]),
        "templates": {
            # Pelican finds relative override paths from the working directory; the publisher
            # may run elsewhere, so it gets them absolute.
            "paths": [*map(os.path.abspath, settings.get("THEME_TEMPLATES_OVERRIDES", [])), theme_templates],
            "theme": theme_templates,
            "jinja_environment": _jinja_options(settings),
            "section": settings["COMMENTS_SECTION_TEMPLATE"],
            "count": settings["COMMENTS_COUNT_TEMPLATE"],
        },
        "comments": {
            "max_depth": settings["COMMENTS_MAX_DEPTH"],
            "date_format": settings["COMMENTS_DATE_FORMAT"],
            "timezone": settings.get("TIMEZONE"),
            "close_after_days": settings["COMMENTS_CLOSE_AFTER_DAYS"] or None,
        },
        "feeds": {
            "all_atom": settings["COMMENT_FEED_ALL_ATOM"],
            "all_rss": settings["COMMENT_FEED_ALL_RSS"],
            "thread_atom": settings["COMMENT_FEED_ATOM"],
            "thread_rss": settings["COMMENT_FEED_RSS"],
            "max_items": settings["COMMENT_FEED_MAX_ITEMS"],
        },
        "context": context,
    }


def _write_feeds(output: Path, site: dict, threads: dict, comments: dict, slugs: list[str]) -> None:
    # Only changed bytes are written: --full goes through every thread, and an unchanged feed keeps its time.
    for slug in slugs:
        for rel, data in thread_feed_files(site, slug, threads[slug], comments[slug]).items():
            write_if_changed(output / rel, data)


def _all_generators_finalized(generators) -> None:
    """Start writing the per-article comment feeds that changed since the last build."""
    build = _build
    if build is None:
        return
    settings = build.settings
    output = Path(settings["OUTPUT_PATH"])
    build.site = site = _site(settings)
    engine = current_build()
    # A build stopped half-way may have written feeds that the saved thread states do not know of;
    # --full trusts nothing earlier builds left (a feed edited by hand is written again).
    previous = {} if engine is not None and (engine.full or engine.report.repaired) else thread_states(output)
    known_keys, keys = _kept("feed-keys"), {}
    site_part = feed_key_context(site)
    todo = []
    for slug, entry in build.threads.items():
        # thread_feed_key hashes JSON: on a big site worth remembering between builds.
        material = (site_part, slug, build.digests[slug], *(repr(entry.get(k)) for k in FEED_KEY_ENTRY))
        key = known_keys.get(material) or thread_feed_key(site, slug, entry, build.digests[slug])
        build.feed_keys[slug] = keys[material] = key
        files = [p for p in entry["feeds"].values() if p]
        for rel in files:
            claim_output(output, output / rel)
        if previous.get(slug, {}).get("feed_key") != key or not all((output / p).exists() for p in files):
            todo.append(slug)
    known_keys.clear()
    known_keys.update(keys)
    if todo:
        build.feeds_task = ChildTask(
            lambda: _write_feeds(output, site, build.threads, build.comments, todo),
            "writing the comment feeds",
            parallel=settings["COMMENT_FEEDS_PARALLEL"],
        )


def _finalized(pelican) -> None:
    """Collect the feeds, then write the site-wide feed, the publisher's state and the manifest."""
    build = _build
    if build is None or build.site is None:
        return
    if build.feeds_task is not None:
        task, build.feeds_task = build.feeds_task, None
        task.wait()
    settings = pelican.settings
    output = Path(settings["OUTPUT_PATH"])
    site = build.site
    for slug, entry in build.threads.items():
        entry["count_pages"] = sorted(build.count_pages.get(slug, ()))
    manifest = {
        "version": MANIFEST_VERSION,
        "generated": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "build_date": build.built.replace(microsecond=0).isoformat(),  # what closed threads were judged by
        "site": site,
        "threads": build.threads,
        "pages": build.pages,
    }
    keep = keep_for(settings["COMMENT_FEED_MAX_ITEMS"])
    recent, floor = newest_comments({s: conversation(c) for s, c in build.comments.items()}, keep)
    states = {s: {"digest": build.digests[s], "feed_key": build.feed_keys[s]} for s in build.threads}
    with publish_lock(output):
        for rel, data in site_feed_files(site, build.threads, recent).items():
            write_if_changed(output / rel, data)
            claim_output(output, output / rel)
        _write_assets(output, settings["COMMENTS_ASSETS_PATH"])
        write_recent(output, recent, floor)
        write_thread_states(output, states)
        write_json(manifest_path(output), manifest, fsync=False)  # rebuilt by any build


def _write_assets(output: Path, where: str | None) -> None:
    if not where:
        return
    for name, source in ASSETS.items():
        target = output / where / name
        write_if_changed(target, source.read_bytes())
        claim_output(output, target)


def register():
    languages.register()  # the comment templates speak the site's language in any theme
    signals.initialized.connect(_initialized)
    signals.content_object_init.connect(_check_thread_slug)
    signals.article_generator_finalized.connect(_articles_finalized)
    signals.all_generators_finalized.connect(_all_generators_finalized)
    signals.content_written.connect(_content_written)
    signals.finalized.connect(_finalized)
