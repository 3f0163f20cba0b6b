"""Render the theme's comment templates outside Pelican, exactly as the build renders them.

The build includes hubbub/comments.html and hubbub/comment_count.html in its pages; the fast
publisher renders the same two files with a Jinja environment configured like Pelican's (same
template search path, JINJA_ENVIRONMENT options, Pelican's own filters and tests) and a context
rebuilt from the manifest: the build's settings, the page's own SITEURL, and an `article` that
carries what these partials may use (slug, title, url, save_as, date, lang, comments,
comment_count, reactions, comments_closed, comments_closes_at: the build's verdict, kept in the
manifest, so a publish renders a closed thread as a build would, closed by age since included). Filters added by
other plugins or JINJA_FILTERS are not available here: keep
these two partials to Pelican's and Jinja's own.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from html import escape, unescape

import jinja2

from . import i18n
from .closing import build_date, closed_now

BEGIN = "<!-- hubbub:comments begin {slug} -->"
END = "<!-- hubbub:comments end {slug} -->"


class RenderError(Exception):
    """A comment template could not be rendered or placed; the message says where."""


@dataclass
class ThreadArticle:
    """The part of a Pelican Article that the comment partials use."""

    slug: str
    title: str
    url: str
    save_as: str
    date: datetime | None
    lang: str
    comments: list = field(default_factory=list)
    comment_count: int = 0
    reactions: list = field(default_factory=list)
    comments_closed: bool = False
    comments_closes_at: str | None = None

    def __str__(self) -> str:
        return self.title

    @classmethod
    def from_manifest(cls, slug: str, entry: dict) -> ThreadArticle:
        date = entry.get("date")
        return cls(
            slug=slug,
            title=entry.get("title", slug),
            url=entry.get("url", ""),
            save_as=entry.get("save_as", ""),
            date=datetime.fromisoformat(date) if date else None,
            lang=entry.get("lang", ""),
            # The build's verdict, or closed by age since: a build today would render it closed too.
            comments_closed=closed_now(entry, build_date()),
            comments_closes_at=entry.get("closes_at"),
        )


def _simple_templates() -> str:
    import pelican

    return os.path.join(os.path.dirname(os.path.abspath(pelican.__file__)), "themes", "simple", "templates")


def make_environment(site: dict) -> jinja2.Environment:
    """A Jinja environment set up like Pelican's generators set theirs up."""
    from pelican.plugins._utils import plugin_enabled
    from pelican.utils import DateFormatter

    templates = site["templates"]
    simple = jinja2.FileSystemLoader(_simple_templates())
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(templates["paths"]),
            simple,
            jinja2.PrefixLoader({"!simple": simple, "!theme": jinja2.FileSystemLoader(templates["theme"])}),
        ]
    )
    env = jinja2.Environment(loader=loader, **templates.get("jinja_environment", {}))
    env.filters["strftime"] = DateFormatter()
    env.tests["plugin_enabled"] = partial(plugin_enabled, plugin_list=site["context"].get("PLUGINS", []))
    i18n.install(env, i18n.site_language(site.get("lang")))  # as plugins/languages.py does for Pelican's
    return env


class Renderer:
    """Renders one site's comment section and count element; built once per manifest."""

    def __init__(self, site: dict):
        self.site = site
        self.env = make_environment(site)
        self.context = dict(site.get("context", {}))

    def _render(self, name: str, siteurl: str, article: ThreadArticle, output_file: str) -> str:
        ctx = dict(self.context)
        ctx.update(
            SITEURL=siteurl,
            localsiteurl=siteurl if self.site.get("relative_urls") else None,
            output_file=output_file,
            article=article,
        )
        try:
            return self.env.get_template(name).render(ctx)
        except jinja2.TemplateError as exc:
            raise RenderError(f"theme template {name}: {exc}") from exc

    def section(self, article: ThreadArticle, siteurl: str) -> str:
        """The comment section of `article` from its begin marker to its end marker inclusive."""
        name = self.site["templates"]["section"]
        html = self._render(name, siteurl, article, article.save_as)
        begin, end = BEGIN.format(slug=article.slug), END.format(slug=article.slug)
        start, stop = html.find(begin), html.find(end)
        if start < 0 or stop < start:
            raise RenderError(f"theme template {name} must wrap the section in {begin} ... {end}")
        return html[start : stop + len(end)]

    def count(self, article: ThreadArticle, siteurl: str, output_file: str) -> str:
        return self._render(self.site["templates"]["count"], siteurl, article, output_file)


def replace_section(page: str, slug: str, section: str, where: str) -> str:
    begin, end = BEGIN.format(slug=slug), END.format(slug=slug)
    start = page.find(begin)
    stop = page.find(end, start + 1) if start >= 0 else -1
    if start < 0 or stop < 0:
        raise RenderError(f"{where} has no comment section for {slug!r}: rebuild the site (hubbub build)")
    return page[:start] + section + page[stop + len(end) :]


def count_pattern(slug: str) -> re.Pattern:
    """The count element of one thread: <TAG class="comment-count" data-thread="slug" ...>...</TAG>."""
    return re.compile(
        r'<([a-zA-Z][a-zA-Z0-9]*) class="comment-count" data-thread="'
        + re.escape(escape(slug))
        + r'"[^>]*>.*?</\1>',
        re.S,
    )


COUNT_SCAN = re.compile(rb'class="comment-count" data-thread="([^"]*)"')


def find_count_threads(page: bytes) -> set[str]:
    """Which threads' counts a page (as written, UTF-8) shows: the build indexes pages with it."""
    return {unescape(s.decode("utf-8")) for s in set(COUNT_SCAN.findall(page))}


def replace_counts(page: str, slug: str, element: str) -> tuple[str, int]:
    """`page` with every count element of `slug` replaced by `element`, and how many there were."""
    return count_pattern(slug).subn(lambda _m: element, page)
