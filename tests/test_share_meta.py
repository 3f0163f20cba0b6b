"""Share cards and structured data: canonical links, Open Graph, Twitter cards, favicon, robots.txt
and JSON-LD, read from real builds the way a crawler reads them (html5lib, json).

The article's JSON-LD lists its published comments, so the fast publisher rewrites it: a publish
must leave the same bytes a full build writes, and no comment text may break out of the script.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from publish_helpers import all_files, build, comment, make_site, manifest, save_thread
from site_helpers import parse_html, seed_posts, text_of
from test_attack_xss import VECTORS

from comments_service.markup import render
from hubbub.build import load_settings
from hubbub.core.publisher import publish_thread

SITEURL = "https://hubbub.example.org"
EMAIL = "distinctive.commenter@example.net"


def head_meta(tree) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = meta.attrib.get("property") or meta.attrib.get("name")
        if key:
            found.setdefault(key, []).append(meta.attrib.get("content", ""))
    return found


def links(tree, rel: str) -> list[str]:
    return [e.attrib["href"] for e in tree.iter("link") if rel in e.attrib.get("rel", "").split()]


def json_ld(tree) -> list[dict]:
    """Every JSON-LD block, parsed (raises if one is not JSON)."""
    return [json.loads(s.text or "") for s in tree.iter("script") if s.attrib.get("type") == "application/ld+json"]


def scripts(tree) -> list:
    return list(tree.iter("script"))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The site built for production (absolute SITEURL) with one thread of comments."""
    tmp = tmp_path_factory.mktemp("share")
    site = make_site(tmp)
    out = tmp / "out"
    build(site, out, SITEURL=SITEURL, RELATIVE_URLS=False)
    slug = sorted(manifest(out)["threads"])[0]
    save_thread(site, slug, [comment(site, 1, author="Ana", html="<p>First <em>reply</em> &amp; more.</p>", email=EMAIL),
                             comment(site, 2, 1, author="Ben")])
    settings = build(site, out, SITEURL=SITEURL, RELATIVE_URLS=False)
    return site, out, slug, settings


def page_tree(out: Path, rel: str):
    return parse_html((out / rel).read_bytes(), name=rel)


def test_every_page_has_a_canonical_link_and_a_share_card(published):
    _site, out, _slug, _settings = published
    pages = [p.relative_to(out).as_posix() for p in out.rglob("*.html")
             if not p.relative_to(out).as_posix().startswith((".hubbub/", "pagefind/"))]
    assert len(pages) > 30
    for rel in pages:
        tree = page_tree(out, rel)
        meta = head_meta(tree)
        canonical = links(tree, "canonical")
        if rel == "404.html":  # served at any address: no canonical one
            assert canonical == [] and "og:url" not in meta
        else:
            path = rel[: -len("index.html")] if rel.endswith("index.html") else rel
            assert canonical == [f"{SITEURL}/{path}"], rel
            assert meta["og:url"] == canonical, rel
        for key in ("og:title", "og:type", "og:site_name", "og:image", "twitter:card", "twitter:title"):
            assert meta.get(key) and meta[key][0].strip(), (rel, key)
        for key in ("og:image", "twitter:image"):
            parts = urlsplit(meta[key][0])
            assert parts.scheme == "https" and parts.netloc == "hubbub.example.org", (rel, key, meta[key])
            assert (out / parts.path.lstrip("/")).is_file(), (rel, key)  # the image exists
        icons = links(tree, "icon")
        assert icons and all(href.endswith((".svg", ".ico")) for href in icons), rel
        assert EMAIL not in (out / rel).read_text(encoding="utf-8")


def test_articles_and_profiles_say_what_they_are(published):
    site, out, slug, settings = published
    posts = {p.slug: p for p in seed_posts(load_settings(site), site)}
    tree = page_tree(out, f"posts/{slug}/index.html")
    meta = head_meta(tree)
    assert meta["og:type"] == ["article"] and meta["og:title"] == [posts[slug].title]
    assert meta["twitter:card"] == ["summary_large_image"]
    assert meta["article:author"] == [f"{SITEURL}/authors/{posts[slug].author_slug}/"]
    assert meta["article:tag"] == posts[slug].tags and meta["article:published_time"]
    profile = page_tree(out, f"authors/{posts[slug].author_slug}/index.html")
    assert head_meta(profile)["og:type"] == ["profile"]


def test_favicon_and_robots(published):
    _site, out, _slug, _settings = published
    ico = (out / "favicon.ico").read_bytes()
    assert ico[:4] == b"\x00\x00\x01\x00" and b"PNG" in ico[:64]  # an icon holding a PNG
    assert (out / "theme/images/favicon.svg").read_text().startswith("<svg")
    robots = (out / "robots.txt").read_text().splitlines()
    assert "User-agent: *" in robots and f"Sitemap: {SITEURL}/sitemap.xml" in robots
    assert (out / "sitemap.xml").is_file()


def test_json_ld_of_articles_profiles_and_the_site(published):
    site, out, slug, _settings = published
    posts = {p.slug: p for p in seed_posts(load_settings(site), site)}
    post = posts[slug]
    url = f"{SITEURL}/posts/{slug}/"
    [posting] = json_ld(page_tree(out, f"posts/{slug}/index.html"))
    assert posting["@context"] == "https://schema.org" and posting["@type"] == "BlogPosting"
    assert posting["url"] == posting["mainEntityOfPage"] == url and posting["headline"] == post.title
    assert posting["author"] == [{"@type": "Person", "name": post.author, "url": f"{SITEURL}/authors/{post.author_slug}/"}]
    assert posting["datePublished"] and posting["keywords"] == post.tags and posting["articleSection"] == post.category
    # Static comments are data too: the count and every published comment, replies linked to parents.
    assert posting["commentCount"] == 2
    first, second = posting["comment"]
    assert first == {"@type": "Comment", "@id": f"{url}#comment-1", "url": f"{url}#comment-1",
                     "author": {"@type": "Person", "name": "Ana"}, "datePublished": "2026-11-20T10:01:00+00:00",
                     "text": "First reply & more."}
    assert second["parentItem"] == {"@id": f"{url}#comment-1"} and second["author"]["name"] == "Ben"
    # Every comment's anchor exists on the page.
    ids = {e.attrib.get("id") for e in page_tree(out, f"posts/{slug}/index.html").iter()}
    assert {"comment-1", "comment-2"} <= ids
    # Profiles: ProfilePage about a Person; never an email.
    [profile] = json_ld(page_tree(out, f"authors/{post.author_slug}/index.html"))
    assert profile["@type"] == "ProfilePage" and profile["mainEntity"]["@type"] == "Person"
    assert profile["mainEntity"]["name"] == post.author and profile["mainEntity"]["url"].startswith(SITEURL)
    assert "email" not in json.dumps(profile).lower()
    # The home page: the site and its search.
    [website] = json_ld(page_tree(out, "index.html"))
    assert website["@type"] == "WebSite" and website["url"] == f"{SITEURL}/"
    target = website["potentialAction"]["target"]["urlTemplate"]
    assert target == f"{SITEURL}/search/?q={{search_term_string}}"
    assert (out / "search" / "index.html").is_file()
    assert json_ld(page_tree(out, "tags/index.html")) == []  # only where it belongs


def test_no_comment_breaks_out_of_the_json_ld_and_publish_equals_a_full_build(tmp_path):
    """100 comments, each of the XSS corpus as author and text (rendered as the service renders
    it), published through the fast path: one JSON-LD script holding exactly them, no other
    script, the same bytes as a full build."""
    site = make_site(tmp_path)
    fast = tmp_path / "fast"
    build(site, fast)
    slug = sorted(manifest(fast)["threads"])[0]
    vectors = (VECTORS * 2)[:100]
    thread = [comment(site, n + 1, (n // 2) if n % 2 else None, author=v[:100].strip() or "x", html=render(v))
              for n, v in enumerate(vectors)]
    result = publish_thread(site, fast, slug, thread)
    assert not result.problems
    full = tmp_path / "full"
    build(site, full)
    # Profile pages show stats only a build derives (as in test_publish_fast.py); the index is compared
    # in test_search.py.
    skip = (".hubbub/", "pagefind/", "authors/")
    ours = {n: d for n, d in all_files(fast).items() if not n.startswith(skip)}
    theirs = {n: d for n, d in all_files(full).items() if not n.startswith(skip)}
    assert ours.keys() == theirs.keys()
    assert [n for n in ours if ours[n] != theirs[n]] == []
    tree = page_tree(fast, f"posts/{slug}/index.html")
    [posting] = json_ld(tree)
    assert posting["commentCount"] == 100 and len(posting["comment"]) == 100
    assert [c["author"]["name"] for c in posting["comment"]] == [c["author"] for c in thread]
    # Each text is what a reader sees of that comment (spacing aside): the markup is gone, the words stay.
    seen = ["".join(text_of(parse_html(f"<div>{c['html']}</div>".encode(), strict=False).find(".//div")).split())
            for c in thread]
    assert ["".join(c["text"].split()) for c in posting["comment"]] == seen
    assert any("<script>" in c["text"] for c in posting["comment"])  # hostile text is kept, as text
    # Only the theme's own script file and the JSON-LD: nothing a comment brought.
    kinds = sorted((s.attrib.get("type", ""), s.attrib.get("src", "").rsplit("/", 1)[-1]) for s in scripts(tree))
    assert kinds == [("", "comments.js"), ("application/ld+json", "")]
    raw = (fast / "posts" / slug / "index.html").read_text(encoding="utf-8")
    region = raw[raw.index("<!-- hubbub:jsonld begin"):raw.index("<!-- hubbub:jsonld end")]
    assert region.count("</script") == 1 and region.count("<script") == 1 and "<!--" not in region[4:]
