"""The built static site: content, links, feeds, sitemap, reply form, HTML and accessibility basics.

The real project is built once per module into a temp dir with the real Pelican build.
"""

from __future__ import annotations

import gzip
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from site_helpers import (
    ROOT,
    MalformedHTML,
    Post,
    build,
    copy_site,
    feed_links,
    html_pages,
    ids_of,
    join,
    links_of,
    page_url,
    parse_html,
    read_metadata,
    relative_to_site,
    resolve_internal,
    seed_posts,
    sitemap_locs,
    text_of,
)

PAGES = {"about": "about/index.html", "privacy": "privacy/index.html", "404": "404.html"}
LANDMARKS = ("header", "nav", "main", "footer")


@dataclass
class Site:
    output: Path
    settings: dict
    posts: list[Post]

    @property
    def site_url(self) -> str:
        return self.settings["SITEURL"]

    def tree(self, rel: str):
        return parse_html((self.output / rel).read_bytes(), strict=False, name=rel)

    def pages(self) -> list[Path]:
        return html_pages(self.output)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    output = tmp_path_factory.mktemp("site") / "output"
    settings = build(output)
    posts = seed_posts(settings)
    assert len(posts) >= 2, "the seed content should have posts"
    return Site(output, settings, posts)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Site:
    """The same site built with publishconf.py, the comment service on another origin."""
    output = tmp_path_factory.mktemp("published") / "output"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUBBUB_SITEURL", "https://blog.example.org")
        mp.setenv("HUBBUB_COMMENTS_URL", "https://comments.example.net")
        settings = build(output, publish=True)
    return Site(output, settings, seed_posts(settings))


# -- content -----------------------------------------------------------------------------------

def test_every_seed_post_is_built_with_its_metadata(site):
    for post in site.posts:
        assert (site.output / post.output_file).is_file(), f"{post.source.name} was not built at {post.url}"
        tree = site.tree(post.output_file)
        (h1,) = tree.iter("h1")
        assert text_of(h1) == html.unescape(post.title)
        hrefs = {a.attrib.get("href") for a in tree.iter("a")}
        assert f"../../authors/{post.author_slug}/" in hrefs
        assert f"../../category/{post.category_slug}/" in hrefs
        for tag in post.tags:
            assert any(text_of(a) == tag and a.attrib.get("rel") == "tag" for a in tree.iter("a")), \
                f"{post.slug}: tag {tag!r} not linked"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_are_built(site, name):
    meta = read_metadata(ROOT / "content" / "pages" / f"{name}.md")
    rel = PAGES[name]
    assert (site.output / rel).is_file()
    (h1,) = site.tree(rel).iter("h1")
    assert text_of(h1) == meta["title"]


def test_hidden_404_page_is_not_in_the_navigation(site):
    for page in site.pages():
        for nav in site.tree(page.relative_to(site.output).as_posix()).iter("nav"):
            assert not any(a.attrib.get("href", "").endswith("404.html") for a in nav.iter("a")), page


def test_listings_reach_every_post(site):
    """Home (with its pagination), archives, each author and category page list the right posts."""
    def linked_posts(rel: str) -> set[str]:
        base = page_url(site.output, site.output / rel)
        found = set()
        for link in links_of(site.tree(rel), rel):
            resolved = resolve_internal(site.output, join(base, link.value), ())
            if resolved and resolved[0].parent.parent.name == "posts":
                found.add(resolved[0].parent.name)
        return found

    home = set()
    pages = ["index.html"] + sorted(p.relative_to(site.output).as_posix()
                                    for p in (site.output / "page").rglob("index.html"))
    for rel in pages:
        home |= linked_posts(rel)
    everything = {p.slug for p in site.posts}
    assert home == everything
    assert linked_posts("archives/index.html") == everything
    for author in {p.author_slug for p in site.posts}:
        assert linked_posts(f"authors/{author}/index.html") == {p.slug for p in site.posts if p.author_slug == author}
    for category in {p.category_slug for p in site.posts}:
        assert linked_posts(f"category/{category}/index.html") == \
            {p.slug for p in site.posts if p.category_slug == category}
    directory = text_of(site.tree("authors/index.html").find(".//main"))
    for post in site.posts:
        assert post.author in directory


# -- links and assets --------------------------------------------------------------------------

def check_links(site: Site, comments_url: str, origins: tuple[str, ...]) -> list[str]:
    """Every href/src of every page that should land in the output, checked; problems returned."""
    problems = []
    trees = {p.relative_to(site.output).as_posix(): site.tree(p.relative_to(site.output).as_posix())
             for p in site.pages()}
    ids = {rel: set(ids_of(tree)) for rel, tree in trees.items()}
    for rel, tree in trees.items():
        base = page_url(site.output, site.output / rel)
        for link in links_of(tree, rel):
            value = link.value.strip()
            if link.attribute == "action":  # posts go to the comment service; the search box to a page
                if value.startswith(comments_url + "/api/"):
                    continue
                resolved = resolve_internal(site.output, join(base, value), origins)
                if not (resolved and resolved[0].is_file() and resolved[0].name == "index.html"):
                    problems.append(f"{rel}: form action {value!r} is neither the comment service nor a page")
                continue
            scheme = value.split(":", 1)[0].lower() if ":" in value else ""
            if scheme in ("mailto", "tel"):
                continue
            if scheme in ("javascript", "data", "vbscript"):
                problems.append(f"{rel}: {link.tag} {link.attribute}={value!r} is executable")
                continue
            resolved = resolve_internal(site.output, join(base, value), origins)
            if resolved is None:
                continue  # another host
            target, fragment = resolved
            if target.is_relative_to(site.output / "api"):
                continue  # the comment service answers /api/ (e.g. the webmention endpoint), not output/
            if not target.is_file():
                problems.append(f"{rel}: {link.tag} {link.attribute}={value!r} -> missing {target}")
                continue
            if fragment and target.suffix == ".html":
                target_rel = target.relative_to(site.output).as_posix()
                if fragment not in ids.get(target_rel, set()):
                    problems.append(f"{rel}: {value!r} -> no id={fragment!r} in {target_rel}")
    return problems


def test_every_internal_link_resolves(site):
    problems = check_links(site, site.settings["COMMENTS_URL"], (site.site_url,))
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_link_checker_finds_a_broken_link(site, tmp_path):
    """The checker itself can fail: a page with a dead link and a dead anchor is reported."""
    broken = Site(tmp_path, site.settings, site.posts)
    (tmp_path / "index.html").write_text(
        '<!DOCTYPE html><html lang="en"><title>x</title><a href="nowhere/">a</a>'
        '<a href="#nope">b</a><a href="javascript:alert(1)">c</a><a href="https://example.com/">ok</a>'
    )
    problems = check_links(broken, "", ())
    assert len(problems) == 3, problems


def test_assets_are_local_and_present(site):
    """Stylesheets, scripts and images come from the site itself: no CDN, no web fonts."""
    for page in site.pages():
        rel = page.relative_to(site.output).as_posix()
        tree = site.tree(rel)
        base = page_url(site.output, page)
        assets = [(e.attrib["href"]) for e in tree.iter("link") if e.attrib.get("rel") == "stylesheet"]
        assets += [e.attrib["src"] for e in tree.iter() if e.tag in ("script", "img", "source") and "src" in e.attrib]
        assert any("hubbub.css" in a for a in assets), f"{rel} has no stylesheet"
        for asset in assets:
            resolved = resolve_internal(site.output, join(base, asset), ())
            assert resolved is not None, f"{rel}: {asset} is not served by the site"
            assert resolved[0].is_file() and resolved[0].stat().st_size > 0, f"{rel}: {asset} missing"
    css = (site.output / "theme" / "css" / "hubbub.css").read_text()
    assert "@import" not in css
    for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
        assert not re.match(r"(https?:)?//", url), f"hubbub.css loads {url} from elsewhere"
        if not url.startswith("data:"):
            assert (site.output / "theme" / "css" / url).resolve().is_file(), f"hubbub.css: {url} missing"


# -- feeds and sitemap -------------------------------------------------------------------------

def post_urls(site: Site, posts) -> set[str]:
    return {f"{site.site_url}/{p.url}" for p in posts}


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_feeds_list_the_posts(site, kind):
    assert set(feed_links(site.output / "feeds" / f"all.{kind}.xml")) == post_urls(site, site.posts)
    for category in {p.category_slug for p in site.posts}:
        expected = post_urls(site, [p for p in site.posts if p.category_slug == category])
        assert set(feed_links(site.output / "feeds" / "category" / f"{category}.{kind}.xml")) == expected
    for author in {p.author_slug for p in site.posts}:
        expected = post_urls(site, [p for p in site.posts if p.author_slug == author])
        assert set(feed_links(site.output / "feeds" / "author" / f"{author}.{kind}.xml")) == expected


def test_every_feed_parses(site):
    feeds = {p.relative_to(site.output / "feeds").as_posix() for p in (site.output / "feeds").rglob("*.xml")}
    # all, plus one per category and per author, each in Atom and RSS (comment feeds may add more)
    expected = {"all"} | {f"category/{p.category_slug}" for p in site.posts} | \
        {f"author/{p.author_slug}" for p in site.posts}
    post_feeds = {f"{name}.{kind}.xml" for name in expected for kind in ("atom", "rss")}
    assert post_feeds <= feeds
    for feed in sorted(feeds):
        links = feed_links(site.output / "feeds" / feed)  # raises unless it is Atom or RSS XML
        assert links or feed not in post_feeds, f"{feed} lists nothing"


def test_sitemap_lists_every_article_and_page(site):
    locs = sitemap_locs(site.output / "sitemap.xml")
    assert post_urls(site, site.posts) <= set(locs)
    assert {f"{site.site_url}/about/", f"{site.site_url}/privacy/"} <= set(locs)
    assert not any("404" in loc for loc in locs)
    for loc in locs:
        target = site.output / relative_to_site(loc, site.site_url)
        if loc.endswith("/"):
            target = target / "index.html"
        assert target.is_file(), f"sitemap lists {loc}, which is not in the output"


# -- the reply form ----------------------------------------------------------------------------

FIELDS = {"author": ("input", "Name *"), "email": ("input", "Email *"), "url": ("input", "Website"),
          "body": ("textarea", "Comment *")}


def check_reply_form(site: Site, post: Post, comments_url: str) -> None:
    tree = site.tree(post.output_file)
    forms = [f for f in tree.iter("form") if "/comments" in f.attrib.get("action", "")]
    assert len(forms) == 1, f"{post.slug}: expected one reply form"
    form = forms[0]
    assert form.attrib["action"] == f"{comments_url}/api/threads/{post.slug}/comments"
    assert form.attrib.get("method", "").lower() == "post"
    labels = {label.attrib.get("for"): text_of(label) for label in form.iter("label")}
    for name, (tag, label) in FIELDS.items():
        (field,) = [e for e in form.iter(tag) if e.attrib.get("name") == name]
        assert labels.get(field.attrib.get("id")) == label, f"{post.slug}: field {name} is not labelled {label!r}"
    section_text = text_of(tree.find(".//section[@id='respond']"))
    assert "Leave a Reply" in [text_of(h) for h in tree.iter("h2")]
    assert "Your email address will not be published" in section_text
    assert "Required fields are marked *" in section_text
    notice = [p for p in form.iter("p") if "This site uses Akismet to reduce spam." in text_of(p)]
    assert notice, f"{post.slug}: no Akismet notice"
    (link,) = notice[0].iter("a")
    assert text_of(link) == "Learn how your comment data is processed."
    resolved = resolve_internal(site.output, join(page_url(site.output, site.output / post.output_file),
                                                  link.attrib["href"]), (site.site_url,))
    assert resolved and resolved[0] == site.output / "privacy" / "index.html"


def test_reply_form_on_every_article(site):
    assert site.settings["COMMENTS_URL"] == ""
    for post in site.posts:
        check_reply_form(site, post, "")


# -- well-formed HTML --------------------------------------------------------------------------

def test_every_page_is_well_formed_html(site):
    problems = []
    for page in site.pages():
        rel = page.relative_to(site.output).as_posix()
        try:
            tree = parse_html(page.read_bytes(), strict=True, name=rel)
        except AssertionError as exc:
            problems.append(str(exc))
            continue
        ids = ids_of(tree)
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"{rel}: duplicate ids {duplicates}")
        if not page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>"):
            problems.append(f"{rel}: no <!DOCTYPE html>")
    assert not problems, "\n".join(problems)


def test_strict_parser_rejects_broken_markup():
    with pytest.raises(MalformedHTML, match="^bad:1:"):
        parse_html(b"<!DOCTYPE html><html lang=en><title>x</title><main><div><p>x</main></div>", name="bad")


# -- accessibility basics ----------------------------------------------------------------------

def a11y_problems(tree, rel: str) -> list[str]:
    problems = []
    root = tree if tree.tag == "html" else tree.find(".//html")
    if not (root.attrib.get("lang") or "").strip():
        problems.append(f"{rel}: <html> has no lang")
    body = root.find("body")
    links = list(body.iter("a"))
    if not links or links[0].attrib.get("href") != "#main":
        problems.append(f"{rel}: the first link is not a skip link to #main")
    mains = list(body.iter("main"))
    if len(mains) != 1 or mains[0].attrib.get("id") != "main":
        problems.append(f"{rel}: expected one <main id=main>")
    for landmark in LANDMARKS:
        top = list(body.iter(landmark)) if landmark in ("nav", "main") else list(body.findall(landmark))
        if not top:
            problems.append(f"{rel}: no {landmark} landmark")
    h1s = list(body.iter("h1"))
    if len(h1s) != 1:
        problems.append(f"{rel}: {len(h1s)} h1 elements")
    ids = set(ids_of(tree))
    label_for = {label.attrib.get("for") for label in body.iter("label")}
    wrapped = {id(e) for label in body.iter("label") for e in label.iter() if e is not label}
    for control in body.iter():
        if control.tag not in ("input", "textarea", "select"):
            continue
        if control.attrib.get("type") in ("hidden", "submit", "button", "reset", "image"):
            continue
        if not (control.attrib.get("id") in label_for or id(control) in wrapped
                or control.attrib.get("aria-label") or control.attrib.get("aria-labelledby")):
            problems.append(f"{rel}: {control.tag} name={control.attrib.get('name')!r} has no label")
    for element in body.iter():
        for attribute in ("aria-labelledby", "aria-describedby", "aria-controls"):
            for ref in element.attrib.get(attribute, "").split():
                if ref not in ids:
                    problems.append(f"{rel}: {attribute}={ref!r} names no element")
        if element.tag == "label" and element.attrib.get("for") and element.attrib["for"] not in ids:
            problems.append(f"{rel}: label for={element.attrib['for']!r} names no element")
        if element.tag == "img" and "alt" not in element.attrib:
            problems.append(f"{rel}: img {element.attrib.get('src')} has no alt")
        if element.tag == "a" and not text_of(element) and not element.attrib.get("aria-label") \
                and not any(img.attrib.get("alt") for img in element.iter("img")):
            problems.append(f"{rel}: a link to {element.attrib.get('href')} has no text")
    return problems


def test_accessibility_basics_on_every_page(site):
    problems = []
    for page in site.pages():
        rel = page.relative_to(site.output).as_posix()
        problems += a11y_problems(site.tree(rel), rel)
    assert not problems, "\n".join(problems)


def test_a11y_check_can_fail():
    bad = parse_html(b"<!DOCTYPE html><html><head><title>x</title></head><body><main><h1>a</h1><h1>b</h1>"
                     b"<input name=q></main></body></html>", name="bad")
    problems = a11y_problems(bad, "bad")
    assert any("lang" in p for p in problems) and any("2 h1" in p for p in problems)
    assert any("has no label" in p for p in problems) and any("skip link" in p for p in problems)


def test_aria_current_marks_only_the_current_page(site):
    problems = []
    for page in site.pages():
        rel = page.relative_to(site.output).as_posix()
        here = page_url(site.output, page)
        for a in site.tree(rel).iter("a"):
            if a.attrib.get("aria-current") == "page" and join(here, a.attrib["href"]) != here:
                problems.append(f"{rel}: aria-current on a link to {a.attrib['href']}")
    assert not problems, "\n".join(problems)


def test_404_page_works_at_any_depth(site):
    """The 404 page is served for any missing URL, so its links must not depend on its own path."""
    tree = site.tree("404.html")
    problems = []
    for deep in ("http://site.invalid/posts/no-such-post/", "http://site.invalid/a/b/c/d"):
        for link in links_of(tree, "404.html"):
            if link.value.startswith("#"):
                continue  # same document wherever it is served
            resolved = resolve_internal(site.output, join(deep, link.value), (site.site_url,))
            if resolved and not resolved[0].is_file():
                problems.append(f"at {deep}: {link.value} -> missing {resolved[0]}")
    assert not problems, "\n".join(problems)


# -- publishconf -------------------------------------------------------------------------------

def test_publish_build_uses_absolute_urls_and_the_comments_origin(published):
    assert published.site_url == "https://blog.example.org"
    assert published.settings["COMMENTS_URL"] == "https://comments.example.net"
    for page in published.pages():
        rel = page.relative_to(published.output).as_posix()
        tree = published.tree(rel)
        # Links authors wrote in Markdown stay as written; everything the theme makes is absolute.
        authored = {id(e) for div in tree.iter("div") if "content" in div.attrib.get("class", "").split()
                    for e in div.iter()}
        for element in tree.iter():
            if id(element) in authored:
                continue
            for attribute in ("href", "src", "action"):
                value = element.attrib.get(attribute)
                if value is not None:
                    assert value.startswith(("https://", "#", "mailto:")), \
                        f"{rel}: <{element.tag} {attribute}={value!r}> is not absolute in a published build"
    for post in published.posts:
        check_reply_form(published, post, "https://comments.example.net")
    problems = check_links(published, "https://comments.example.net", (published.site_url,))
    assert not problems, "\n".join(problems)
    assert set(feed_links(published.output / "feeds" / "all.atom.xml")) == \
        {f"https://blog.example.org/{p.url}" for p in published.posts}


# -- hostile Markdown --------------------------------------------------------------------------

HOSTILE_POST = """Title: A post with hostile markup
Date: 2012-05-05 10:00
Author: Mallory Example
Category: Networking
Tags: security

Ordinary text before the tricks stays on the page.

<script>alert(1)</script>

<img src=x onerror=alert(1)>

<a href="javascript:alert(1)">x</a>

<p onclick="alert(1)">Click text stays too.</p>

<iframe src="https://evil.example/"></iframe>

[a Markdown link](javascript:alert(1)) and <svg onload=alert(1)></svg>
"""

HOSTILE_METADATA_POST = """Title: Headline <b onmouseover=alert(1)>bold</b>
Date: 2012-05-06 10:00
Author: Mallory Example
Category: Networking
Summary: A summary with <script>alert(1)</script> and <img src=x onerror=alert(1)> in it.

A quiet body.
"""

_EXECUTABLE_SCHEME = re.compile(r"^\s*(javascript|vbscript|data):", re.I)


def executable_parts(tree, allowed_scripts=("theme/js/comments.js", "theme/js/search.js")) -> list[str]:
    found = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "script" and element.attrib.get("type") == "application/ld+json" and not element.attrib.get("src"):
            try:  # data, not code: as long as it is all JSON (nothing broke out of it)
                json.loads(element.text or "")
            except ValueError:
                found.append(f"<script type=ld+json> not JSON: {(element.text or '')[:40]!r}")
            continue
        if element.tag == "script" and not any(element.attrib.get("src", "").endswith(s) for s in allowed_scripts):
            found.append(f"<script> {text_of(element)[:40]!r}")
        if element.tag in ("iframe", "object", "embed", "base"):
            found.append(f"<{element.tag}>")
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"<{element.tag} {name}>")
            if name in ("href", "src", "action", "formaction", "xlink:href") and _EXECUTABLE_SCHEME.match(value):
                found.append(f"<{element.tag} {name}={value!r}>")
    return found


def build_with_post(tmp_path: Path, text: str) -> Site:
    root = copy_site(tmp_path / "site")
    (root / "content" / "posts" / "hostile.md").write_text(text, encoding="utf-8")
    settings = build(root / "output", root=root)
    return Site(root / "output", settings, seed_posts(settings, root))


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Site:
    return build_with_post(tmp_path_factory.mktemp("hostile"), HOSTILE_POST)


def test_hostile_markdown_is_sanitised_everywhere(hostile_site):
    article = "posts/a-post-with-hostile-markup/index.html"
    tree = hostile_site.tree(article)
    content = tree.find(".//div[@class='content']")
    text = text_of(content)
    assert "Ordinary text before the tricks stays on the page." in text
    assert "Click text stays too." in text and "a Markdown link" in text
    assert any(text_of(a) == "x" for a in content.iter("a")), "the link text should stay"
    assert executable_parts(tree) == []
    assert "alert(1)" not in (hostile_site.output / article).read_text()  # script text is dropped too
    # Summaries made from the content (home, author, tag pages) and feeds are clean too.
    for page in hostile_site.pages():
        rel = page.relative_to(hostile_site.output).as_posix()
        assert executable_parts(hostile_site.tree(rel)) == [], rel
    assert feed_problems(hostile_site.output) == []


def feed_problems(output) -> list[str]:
    """Executable parts of the HTML in every feed entry's content, summary or description."""
    problems = []
    for feed in sorted((output / "feeds").rglob("*.xml")):
        for entry_html in re.findall(r"<(?:content|summary|description)[^>]*>(.*?)</", feed.read_text(), re.S):
            fragment = parse_html(html.unescape(entry_html).encode(), strict=False)
            problems += [f"{feed.name}: {p}" for p in executable_parts(fragment)]
    return problems


def test_executable_parts_finds_what_it_looks_for():
    tree = parse_html(b'<p onclick="x()">a</p><script>x()</script><a href=" javascript:x()">b</a>'
                      b'<iframe src="/"></iframe>', strict=False)
    assert len(executable_parts(tree)) == 4


def test_hostile_summary_and_title_metadata_are_sanitised(tmp_path):
    hostile = build_with_post(tmp_path, HOSTILE_METADATA_POST)
    problems = []
    for page in hostile.pages():
        rel = page.relative_to(hostile.output).as_posix()
        problems += [f"{rel}: {p}" for p in executable_parts(hostile.tree(rel))]
    # Feeds too: a plugin asking for the summary before Pelican refreshes it (the JSON-LD does)
    # must not get the metadata as written.
    problems += feed_problems(hostile.output)
    assert not problems, "\n".join(problems)


def test_a_summary_written_in_the_metadata_has_its_links_resolved_everywhere(tmp_path):
    """Pelican resolves a metadata summary's {filename} links only after the plugins ran: one
    asking for the summary earlier (the JSON-LD's description) must not fix it unresolved."""
    site = build_with_post(tmp_path, """Title: Linked summary
Date: 2012-05-06 10:00
Author: Mallory Example
Category: Networking
Summary: Read [the router post]({filename}what-a-router-teaches-about-networking.md) first.

A quiet body.
""")
    target = "/posts/what-a-router-teaches-us-about-networking/"
    feed = (site.output / "feeds" / "all.atom.xml").read_text()
    [summary] = [s for s in re.findall(r"<summary[^>]*>(.*?)</summary>", feed, re.S) if "router post" in s]
    assert target in html.unescape(summary)
    offenders = [p.relative_to(site.output).as_posix() for p in sorted(site.output.rglob("*"))
                 if p.suffix in (".html", ".xml") and "{filename}" in p.read_text(encoding="utf-8")]
    assert offenders == []


# -- the development server serving output/ -----------------------------------------------------

@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    from comments_service import create_app

    tmp = tmp_path_factory.mktemp("devserver")
    root = copy_site(tmp / "site")
    build(root / "output", root=root)
    env = {
        "HUBBUB_SITE_DIR": str(root), "HUBBUB_OUTPUT_DIR": str(root / "output"),
        "HUBBUB_INSTANCE_DIR": str(tmp / "instance"), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp / 'hubbub.db'}",
        "HUBBUB_SECRET_KEY": "test-secret",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        for name in ("PYTHON_AKISMET_API_KEY", "PYTHON_AKISMET_BLOG_URL", "HUBBUB_QUEUE_URL"):
            mp.delenv(name, raising=False)
        app = create_app()
        app.config["TESTING"] = True
        yield app.test_client(), root / "output"
        hub = app.extensions.get("hubbub")
        if hub is not None and hasattr(hub, "stop"):
            hub.stop()


def closing(response):
    """Read the body and release the file Flask streams it from."""
    response.get_data()
    response.close()
    return response


def test_dev_server_serves_the_site(dev_server, site):
    client, output = dev_server
    home = closing(client.get("/"))
    assert home.status_code == 200 and home.data == (output / "index.html").read_bytes()
    post = site.posts[0]
    page = closing(client.get(f"/{post.url}"))
    assert page.status_code == 200 and page.data == (output / post.output_file).read_bytes()
    assert page.mimetype == "text/html"
    css = closing(client.get("/theme/css/hubbub.css"))
    assert css.status_code == 200 and css.mimetype == "text/css"
    feed = closing(client.get("/feeds/all.atom.xml"))
    assert feed.status_code == 200 and b"<feed" in feed.data


@pytest.mark.parametrize("encoding", ["gzip", "br", "gzip, deflate, br"])
def test_dev_server_sends_pages_compressed(dev_server, site, encoding):
    """As nginx does in deploy/: a long thread's page is several times smaller on the wire."""
    import brotli

    client, output = dev_server
    post = site.posts[0]
    answer = closing(client.get(f"/{post.url}", headers={"Accept-Encoding": encoding}))
    chosen = answer.headers["Content-Encoding"]
    assert chosen == encoding.split(", ")[-1]
    assert "Accept-Encoding" in answer.headers["Vary"]
    body = gzip.decompress(answer.data) if chosen == "gzip" else brotli.decompress(answer.data)
    assert body == (output / post.output_file).read_bytes() and len(answer.data) < len(body) / 2
    again = closing(client.get(f"/{post.url}", headers={"Accept-Encoding": encoding,
                                                        "If-None-Match": answer.headers["ETag"]}))
    assert again.status_code == 304 and again.data == b""
    plain = closing(client.get(f"/{post.url}"))
    assert "Content-Encoding" not in plain.headers and plain.data == body


def test_dev_server_answers_a_range_with_the_files_own_bytes(dev_server, site):
    """A 206 counts the file's bytes: it is never compressed, and a compressed answer offers no ranges."""
    import gc
    import warnings

    client, output = dev_server
    post = site.posts[0]
    whole = (output / post.output_file).read_bytes()
    part = closing(client.get(f"/{post.url}", headers={"Accept-Encoding": "gzip", "Range": "bytes=1000-"}))
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.headers["Content-Range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}" and part.data == whole[1000:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        full = closing(client.get(f"/{post.url}", headers={"Accept-Encoding": "gzip"}))
        gc.collect()
    assert full.headers["Content-Encoding"] == "gzip" and "Accept-Ranges" not in full.headers
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]  # the file was closed


def test_dev_server_compresses_only_the_site(dev_server, site):
    client, _ = dev_server
    for path in (f"/api/threads/{site.posts[0].slug}/comments", "/api/openapi.json"):
        answer = closing(client.get(path, headers={"Accept-Encoding": "gzip"}))
        assert answer.status_code == 200 and "Content-Encoding" not in answer.headers, path


def test_dev_server_redirects_to_the_trailing_slash(dev_server, site):
    client, _ = dev_server
    slug = site.posts[0].slug
    answer = client.get(f"/posts/{slug}")
    assert answer.status_code == 301
    assert answer.headers["Location"].endswith(f"/posts/{slug}/")


@pytest.mark.parametrize("path", [
    "/no-such-page/", "/posts/no-such-post/", "/../pelicanconf.py", "/%2e%2e/pelicanconf.py",
    "/posts/%2e%2e/%2e%2e/pelicanconf.py", "/..%2fpelicanconf.py", "/%2e%2e%2fpelicanconf.py",
    "/theme/../../pelicanconf.py", "//etc/passwd",
])
def test_dev_server_answers_404_with_the_site_page(dev_server, path):
    client, output = dev_server
    answer = closing(client.get(path))
    assert answer.status_code == 404
    assert b"Page not found" in answer.data
    assert b"SITEURL" not in answer.data and b"root:" not in answer.data
