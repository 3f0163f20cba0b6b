"""Static search: the Pagefind index `hubbub build` writes, and the theme's search page.

Real builds of copies of the site in temp dirs; the search page runs in chromium, served by the
real service (so under its Content-Security-Policy), searching the real index.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from attack_helpers import PageWatch, browser, serve_app
from publish_helpers import comment, make_site, manifest, save_thread
from site_helpers import seed_posts

from hubbub.build import BuildError, build_site, load_settings, run_build
from hubbub.search import (
    BUNDLE,
    COMMENT_DOCS,
    ENTRY,
    OVERLAY,
    RECORD,
    SHARD_PREFIX,
    SHARDS,
    UNUSED,
    IndexedPages,
    index_globs,
    index_site,
    matches,
    shard_dir,
    shard_of,
)

CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""
WORD = re.compile(r"[a-z]{8,}")


def words_of(path: Path, body_only: bool = False) -> set[str]:
    text = path.read_text(encoding="utf-8").lower()
    if body_only:  # after the metadata header: changing it changes no title, slug or tag
        text = text.split("\n\n", 1)[1]
    return set(WORD.findall(text))


def distinctive_word(content: Path, post: Path) -> str:
    """A word of one post's text that no other post, page or profile uses."""
    others = set()
    for path in content.rglob("*.md"):
        if path != post:
            others |= words_of(path)
    return sorted(words_of(post, body_only=True) - others)[0]


def bundle_files(out: Path) -> dict[str, bytes]:
    root = out / BUNDLE
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def cbor(data: bytes, i: int = 0):
    """The CBOR item at data[i] (the kinds Pagefind's filter files use) and where it ends."""
    major, info = data[i] >> 5, data[i] & 31
    i += 1
    if info >= 24:
        size = 1 << (info - 24)
        info, i = int.from_bytes(data[i:i + size], "big"), i + size
    if major == 0:
        return info, i
    if major in (2, 3):
        value = data[i:i + info]
        return (value.decode() if major == 3 else value), i + info
    if major == 4:
        items = []
        for _ in range(info):
            item, i = cbor(data, i)
            items.append(item)
        return items, i
    raise AssertionError(f"unexpected CBOR major type {major}")


def comparable_index(out: Path) -> dict:
    """The bundles, with what Pagefind writes in a different order on every run put in one order.

    Pagefind 1.5 writes each filter's values in hash-map order, so the filter files, the meta file
    that names them and the entry file that names the meta file differ between two runs over the
    same pages. Everything else (pages, word index) is byte-identical; filters compare by content,
    shard by shard.
    """
    files, filters = {}, {}
    for name, data in bundle_files(out).items():
        shard = name.split("/", 1)[0] if name.startswith(SHARD_PREFIX) else ""
        if name.endswith(".pf_filter"):
            (key, values), _ = cbor(gzip.decompress(data), len(b"pagefind_dcd"))
            filters[shard, key] = sorted((value, tuple(pages)) for value, pages in values)
        elif name.endswith(".pf_meta"):
            continue
        elif name.endswith(ENTRY):
            entry = json.loads(data)
            files[name] = {lang: v["page_count"] for lang, v in entry["languages"].items()}
        else:
            files[name] = data
    return {"files": files, "filters": filters}


def indexed_pages(out: Path) -> int:
    return sum(language["page_count"] for entry in (out / BUNDLE).rglob(ENTRY)
               for language in json.loads(entry.read_text())["languages"].values())


def shard_bundles(out: Path) -> list[str]:
    return json.loads((out / BUNDLE / SHARDS).read_text())["bundles"]


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def app_for(make_app, tmp_path):
    """The real service serving one output directory."""
    def make(site: Path, out: Path):
        return make_app({"HUBBUB_SITE_DIR": str(site), "HUBBUB_OUTPUT_DIR": str(out),
                         "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
                         "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "search-secret",
                         "HUBBUB_DEVELOPMENT": "1"})
    return make


def open_search(page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_selector(".search-results[aria-busy=false]", state="attached")
    page.wait_for_function("() => document.querySelector('.search-status').textContent.length > 0")


def result_titles(page) -> list[str]:
    return page.eval_on_selector_all(".search-result h2 a", "links => links.map(a => a.textContent)")


def csp_violations(page, watch: PageWatch) -> list[str]:
    return page.evaluate("() => window.__csp || []") + [
        t for _kind, t in watch.console if "Content Security Policy" in t or "Refused to" in t]


# -- the index -----------------------------------------------------------------------------------

def test_the_build_indexes_every_post_page_and_profile(built_site_template):
    out = built_site_template / "output"
    content = built_site_template / "content"
    posts = len(seed_posts(load_settings(built_site_template)))
    pages = [p for p in (content / "pages").glob("*.md") if "save_as:" not in p.read_text().lower()]
    profiles = {p.stem for p in (content / "authors").glob("*.md")}
    writers = {post.author_slug for post in seed_posts(load_settings(built_site_template))} | profiles
    assert indexed_pages(out) == posts + len(pages) + len(writers)
    files = bundle_files(out)
    assert "pagefind.js" in files and any(name.startswith("fragment/") for name in files)
    assert not UNUSED & set(files)  # Pagefind's own UIs are not shipped
    assert not (out / COMMENT_DOCS).exists()  # comments are not indexed unless asked


def test_globs_come_from_the_save_as_settings():
    settings = {"ARTICLE_SAVE_AS": "posts/{date:%Y}/{slug}/index.html", "PAGE_SAVE_AS": "{slug}.html",
                "AUTHOR_SAVE_AS": "authors/{slug}/index.html"}
    globs = index_globs(settings)
    assert globs == ["posts/*/*/index.html", "*.html", "authors/*/index.html"]
    assert matches("posts/2010/working/index.html", globs) and matches("about.html", globs)
    assert not matches("tag/networking/index.html", globs) and not matches("authors/x/page/2/index.html", globs)
    assert index_globs({**settings, "SEARCH_INDEX_GLOBS": ["docs/**/*.html"]}) == ["docs/**/*.html"]
    assert matches("docs/a/b/c.html", ["docs/**/*.html"]) and matches("docs/c.html", ["docs/**/*.html"])
    assert matches("x/index.html", ["{x,y}/*.html"]) and not matches("z/index.html", ["{x,y}/*.html"])


def test_a_site_with_nothing_searchable_builds_without_an_index(tmp_path):
    out = tmp_path / "out"
    (out / "pagefind").mkdir(parents=True)
    (out / "pagefind" / ENTRY).write_text("{}")  # an index left from when there were posts
    (out / "index.html").write_text("<html><body><p>No posts yet.</p></body></html>")
    settings = {"OUTPUT_PATH": str(out), "ARTICLE_SAVE_AS": "posts/{slug}/index.html", "PLUGINS": ["hubbub.plugins.search"]}
    result = index_site(settings, out)
    assert result.ran and result.pages == 0 and not (out / BUNDLE).exists()


def test_an_incremental_index_skips_what_is_not_searchable_and_equals_a_full_one(site, tmp_path):
    from pelican import Pelican

    out = tmp_path / "out"
    settings = build_site(site, OUTPUT_PATH=str(out))
    before = bundle_files(out)
    # Pages that are not searchable (listings, feeds) changed: Pagefind does not run at all.
    skipped = index_site(settings, out, ["tags/index.html", "index.html", "feeds/all.atom.xml", "page/2/index.html"])
    assert not skipped.ran and bundle_files(out) == before
    # A post changes: its new words are found, its old ones are gone, and the index is what a full
    # build of the same sources writes, byte for byte.
    post = sorted((site / "content" / "posts").glob("*.md"))[0]
    old = distinctive_word(site / "content", post)
    post.write_text(post.read_text(encoding="utf-8").replace(old, "quokkaesque"), encoding="utf-8")
    settings = load_settings(site, OUTPUT_PATH=str(out))
    Pelican(settings).run()  # the pages only; the index follows with the list of changed pages
    slug = next(s for s, e in manifest(out)["threads"].items() if e["title"] in post.read_text(encoding="utf-8"))
    result = index_site(settings, out, [f"posts/{slug}/index.html", "index.html"])
    assert result.ran and ENTRY in result.written and result.removed
    full = tmp_path / "full"
    build_site(site, OUTPUT_PATH=str(full))
    assert comparable_index(out) == comparable_index(full)
    assert comparable_index(out)["filters"]["", "author"]  # the comparison sees the filters


PAGE = """<!DOCTYPE html><html lang="{lang}"><head><title>{title}</title></head><body>
<nav><a href="/">Home</a></nav>
<article data-pagefind-body><h1 data-pagefind-weight="10">{title}</h1><p>{body}<br>&amp; more</p>
<p data-pagefind-ignore>by <a data-pagefind-filter="author">{author}</a> · {count}</p><img src="a.png" alt=""></article>
<aside><h2>Similar posts</h2><ul><li>{similar}</li></ul></aside><section data-thread="x">{comments}</section>
</body></html>"""


def test_a_rewritten_page_counts_for_search_only_when_what_pagefind_reads_changed():
    fields = {"lang": "en", "title": "Pricing", "body": "Words", "author": "Dana", "similar": "Other post",
              "comments": "2 comments", "count": "2 comments"}
    old = PAGE.format(**fields).encode()
    pages = IndexedPages({"ARTICLE_SAVE_AS": "posts/{slug}/index.html", "PLUGINS": ["hubbub.plugins.search"]})
    # Outside the searchable part, or ignored in it (a comment count): the same for search.
    for name, value in (("similar", "Another post"), ("comments", "3 comments"), ("count", "3 comments")):
        assert pages.unchanged("posts/p/index.html", old, PAGE.format(**{**fields, name: value}).encode()), name
    # What Pagefind reads: the text, the title, a filter (even in an ignored part), the language.
    for name, value in (("body", "Other words"), ("title", "Prices"), ("author", "Lee"), ("lang", "de")):
        assert not pages.unchanged("posts/p/index.html", old, PAGE.format(**{**fields, name: value}).encode()), name
    # Pagefind's automatic image may be any <img> on the page (a commenter's photo after the article).
    pictured = PAGE.format(**{**fields, "comments": '<img src="/photo-1.png" alt="">'}).encode()
    assert not pages.unchanged("posts/p/index.html", pictured, pictured.replace(b"photo-1", b"photo-2"))
    # An ignored <p> left unclosed: where a browser ends it (and Pagefind reads again) is not told.
    unclosed = old.replace(b"</a> \xc2\xb7 2 comments</p>", b"</a> \xc2\xb7 2 comments")
    assert unclosed != old and not pages.unchanged("posts/p/index.html", unclosed, unclosed)
    similar = PAGE.format(**{**fields, "similar": "Another post"}).encode()
    assert not pages.unchanged("index.html", old, similar)  # not a searchable page: the index decides
    assert not pages.unchanged("posts/p/index.html", old.replace(b" data-pagefind-body", b""),
                               similar.replace(b" data-pagefind-body", b""))  # Pagefind takes the whole body
    for off in ({"SEARCH_INDEX": False}, {"PLUGINS": []}):  # no index: every change counts
        assert not IndexedPages({"ARTICLE_SAVE_AS": "posts/{slug}/index.html",
                                 "PLUGINS": ["hubbub.plugins.search"], **off}).unchanged("posts/p/index.html", old, similar)


def bundle_stats(out: Path, bundle: str) -> dict[str, tuple]:
    """Each file of one bundle with what a rewrite would change (inode, time, bytes)."""
    root = out / BUNDLE / bundle
    return {p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file() and not p.relative_to(root).as_posix().startswith(SHARD_PREFIX)
            and p.name != SHARDS}


def test_a_large_index_comes_in_shards_and_an_edit_reindexes_only_its_own(site, tmp_path):
    out = tmp_path / "out"
    build_site(site, OUTPUT_PATH=str(out), SEARCH_SHARD_PAGES=5)
    record = json.loads((out / RECORD).read_text())
    count, documents = record["shards"], record["documents"]
    assert count > 2 and len(documents) <= 5 * count < 2 * len(documents)
    assert not (out / BUNDLE / ENTRY).exists()  # pagefind/ holds the shards and the list of them
    bundles = shard_bundles(out)
    assert bundles == [shard_dir(n, count) for n in sorted({shard_of(d, count) for d in documents})]
    for n in range(count):  # each document in the one shard its path hashes to
        members = sum(shard_of(d, count) == n for d in documents)
        entry = out / BUNDLE / shard_dir(n, count) / ENTRY
        assert (json.loads(entry.read_text())["languages"]["en"]["page_count"] if members else 0) == members
    assert indexed_pages(out) == len(documents)

    # One post's text changes: only the shards of the searchable pages the build wrote are indexed
    # again (the post's; the others stay as they are, not even rewritten).
    posts = sorted(seed_posts(load_settings(site), site), key=lambda p: p.slug)
    edited = posts[0]
    before = {b: bundle_stats(out, b) for b in bundles}
    word = distinctive_word(site / "content", edited.source)
    edited.source.write_text(edited.source.read_text(encoding="utf-8").replace(word, "quokkaesque"), encoding="utf-8")
    report = run_build(site, OUTPUT_PATH=str(out), SEARCH_SHARD_PAGES=5)
    changed = ({*report.written, *report.removed} - {*report.unindexed}) & {*documents}
    touched = {shard_dir(shard_of(d, count), count) for d in changed}
    assert f"posts/{edited.slug}/index.html" in changed and len(touched) < len(bundles), sorted(changed)
    after = {b: bundle_stats(out, b) for b in bundles}
    assert all(after[b] != before[b] for b in touched)
    assert all(after[b] == before[b] for b in bundles if b not in touched)
    # A post is removed: its shards follow (its page and the pages that listed it).
    posts[-1].source.unlink()
    build_site(site, OUTPUT_PATH=str(out), SEARCH_SHARD_PAGES=5)
    assert indexed_pages(out) == len(documents) - 1
    # ... and the index is the one a full build of the same sources writes.
    full = tmp_path / "full"
    build_site(site, OUTPUT_PATH=str(full), SEARCH_SHARD_PAGES=5)
    assert comparable_index(out) == comparable_index(full)

    # A change of SEARCH_SHARD_PAGES re-shards everything; nothing of the old layout is left behind.
    settings = load_settings(site, OUTPUT_PATH=str(out))
    assert index_site(settings, out, []).ran
    assert shard_bundles(out) == [""] and (out / BUNDLE / ENTRY).is_file()
    assert not [p for p in (out / BUNDLE).iterdir() if p.name.startswith(SHARD_PREFIX)]
    assert indexed_pages(out) == len(documents) - 1


def test_pages_rewritten_only_outside_what_search_reads_leave_their_shards_alone(tmp_path):
    """A retitled post shows its new title in its neighbours' "Similar posts": their pages are
    rewritten, but no shard is indexed again for them, and the index still equals a full one."""
    import build_helpers

    site = build_helpers.make_site(tmp_path / "site", posts=40)
    out, shard_pages = site / "output", {"SEARCH_SHARD_PAGES": 6}
    run_build(site, **shard_pages)
    record = json.loads((out / RECORD).read_text())
    count, bundles = record["shards"], shard_bundles(out)
    before = {b: bundle_stats(out, b) for b in bundles}
    build_helpers.write_post(site, 5, title="A title its neighbours show")
    report = run_build(site, **shard_pages)
    edited = "posts/post-5/index.html"
    neighbours = [p for p in report.written if p.startswith("posts/") and p != edited]
    assert neighbours and set(neighbours) <= set(report.unindexed)
    assert edited not in report.unindexed
    indexed = set(report.written) - set(report.unindexed)  # the edited post, and maybe its writer's profile
    spared = ({shard_dir(shard_of(p, count), count) for p in neighbours}
              - {shard_dir(shard_of(p, count), count) for p in indexed if p in record["documents"]})
    assert spared and all(bundle_stats(out, b) == before[b] for b in spared)
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full), **shard_pages)
    assert comparable_index(out) == comparable_index(full)


def test_a_published_comment_reindexes_no_shard(tmp_path):
    """A new comment changes its post's comment count and its writer's profile stats, both in
    parts the search ignores: the pages are rewritten, no shard is indexed again, and the index
    still equals a full one."""
    import build_helpers

    site = build_helpers.make_site(tmp_path / "site", posts=40)
    out, shard_pages = site / "output", {"SEARCH_SHARD_PAGES": 6}
    run_build(site, **shard_pages)
    before = {b: bundle_stats(out, b) for b in shard_bundles(out)}
    build_helpers.write_thread(site, "post-4", [(1, None, "A Reader")])
    report = run_build(site, **shard_pages)
    searchable = set(json.loads((out / RECORD).read_text())["documents"])
    profiles = {p for p in report.written if p.startswith("authors/") and p in searchable}
    assert profiles, report.written  # the writer's profile counts the comments their posts received
    assert {"posts/post-4/index.html", *profiles} <= set(report.unindexed)
    assert {b: bundle_stats(out, b) for b in shard_bundles(out)} == before
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full), **shard_pages)
    assert comparable_index(out) == comparable_index(full)


def test_an_edit_shown_by_serve_reload_at_once_still_reaches_the_index(tmp_path):
    """serve --reload writes an edited post's page before its build; the build then finds the page
    already as it would write it, and the index must still take the edit."""
    import build_helpers

    from hubbub.build.reload import LiveSite

    site = build_helpers.make_site(tmp_path / "site", posts=8)
    live = LiveSite(site)
    live.build()
    edited = site / "content" / "posts" / "post-3.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nA quokkaesque last word.\n", encoding="utf-8")
    live.build({edited.resolve()})  # the fast path, then the build
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full))
    assert comparable_index(site / "output") == comparable_index(full)


def test_pages_a_failed_build_or_index_wrote_reach_the_index_later(tmp_path, monkeypatch):
    """A build that reports an error has written pages all the same, and an index may fail: the
    next build's index takes those pages in, even when it writes them again only outside what
    Pagefind reads, or not at all."""
    import build_helpers

    import hubbub.search

    site = build_helpers.make_site(tmp_path / "site", posts=8)
    run_build(site)
    build_helpers.write_post(site, 99, title="A quokkaesque new post", date="2031-01-01 10:00")
    broken = site / "content" / "posts" / "post-3.md"
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text.replace("Date: ", "Date: not a date "), encoding="utf-8")
    with pytest.raises(BuildError):
        run_build(site)
    broken.write_text(text, encoding="utf-8")
    run_build(site)
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full))
    assert comparable_index(site / "output") == comparable_index(full)

    edited = site / "content" / "posts" / "post-5.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nA flabbergasting last word.\n", encoding="utf-8")

    def pagefind_fails(*args):
        raise hubbub.search.SearchError("Pagefind could not run (the test)")

    with monkeypatch.context() as patched:
        patched.setattr(hubbub.search, "_run_pagefind", pagefind_fails)
        with pytest.raises(BuildError, match="the test"):
            run_build(site)
    assert run_build(site).nothing_changed  # the pages are built; the index still follows
    run_build(site, full=True, OUTPUT_PATH=str(full))
    assert comparable_index(site / "output") == comparable_index(full)


def test_a_thread_with_new_comments_reindexes_the_shard_of_its_comment_document(site, tmp_path):
    out = tmp_path / "out"
    options = {"OUTPUT_PATH": str(out), "SEARCH_SHARD_PAGES": 5, "SEARCH_INDEX_COMMENTS": True}
    build_site(site, **options)
    count = json.loads((out / RECORD).read_text())["shards"]
    slug = sorted(manifest(out)["threads"])[0]
    doc = f"{COMMENT_DOCS}/{slug}.html"
    before = {b: bundle_stats(out, b) for b in shard_bundles(out)}
    save_thread(site, slug, [comment(site, 1, author="Quinn", html="<p>A thoroughly flabbergasting idea.</p>")])
    report = run_build(site, **options)
    documents = json.loads((out / RECORD).read_text())["documents"]
    assert doc in documents and json.loads((out / RECORD).read_text())["shards"] == count
    # The thread's document is new; searchable pages the build rewrote where search reads them are
    # indexed again too (not the article: its comments are no part of it); every other shard stays.
    changed = {doc, *report.written} - set(report.unindexed)
    touched = {shard_dir(shard_of(d, count), count) for d in changed & {*documents}}
    after = {b: bundle_stats(out, b) for b in shard_bundles(out)}
    assert len(touched) < len(after) and all(after[b] != before.get(b) for b in touched)
    assert all(after[b] == before[b] for b in after if b not in touched)
    full = tmp_path / "full"
    build_site(site, **{**options, "OUTPUT_PATH": str(full)})
    assert comparable_index(out) == comparable_index(full)


def fragments(out: Path, bundle: str) -> dict[str, str]:
    """Pagefind's page hash -> the address it indexed, for one bundle."""
    found = {}
    for path in (out / BUNDLE / bundle / "fragment").glob("*.pf_fragment"):
        data = gzip.decompress(path.read_bytes())
        assert data.startswith(b"pagefind_dcd")
        found[path.name.removesuffix(".pf_fragment")] = json.loads(data[len(b"pagefind_dcd"):])["url"]
    return found


def what_search_shows(out: Path) -> list[str]:
    """Every address the search page can show: each bundle's pages less those hubbub-shards.json
    hides (search.js hides a result by its page hash, whichever bundle it comes from), with an
    address shown twice listed twice."""
    listing = json.loads((out / BUNDLE / SHARDS).read_text())
    hidden = {page for pages in listing.get("hidden", {}).values() for page in pages}
    shown = []
    for n, bundle in enumerate(listing["bundles"]):
        found = fragments(out, bundle)
        assert set(listing.get("hidden", {}).get(str(n), ())) <= set(found)  # an older copy in that very bundle
        shown += [url for page, url in found.items() if page not in hidden]
    return sorted(shown)


def document_addresses(out: Path) -> list[str]:
    addresses = []
    for path in json.loads((out / RECORD).read_text())["documents"]:
        addresses.append("/" + path.removesuffix("index.html") if path.endswith("index.html") else "/" + path)
    return sorted(addresses)


def test_a_fragments_address_is_read_from_its_start_or_else_from_the_whole_of_it():
    from hubbub.search import _fragment_url

    for body, url in ((b'{"url":"/caf\\u00e9/a\\"b/","content":"' + b"x" * 5000 + b'"}', '/caf\u00e9/a"b/'),
                      (b'{"content":"' + b"y" * 5000 + b'","url":"/later/"}', "/later/")):
        assert _fragment_url(gzip.compress(b"pagefind_dcd" + body)) == url


@pytest.mark.parametrize("shard_pages", [6, 0], ids=["shards", "one-bundle"])
def test_edits_go_to_the_overlay_until_it_is_full_then_to_their_shards(tmp_path, shard_pages):
    """On a large site an edit indexes only what changed (the overlay bundle) and hides the shard's
    older copy: no shard is indexed again, and the search shows every document exactly once, as it
    is now. Past SEARCH_OVERLAY_PAGES the shards holding the overlay's documents are indexed again,
    the overlay goes, and the index equals a full one."""
    import build_helpers

    site = build_helpers.make_site(tmp_path / "site", posts=40)
    out = site / "output"
    options = {"SEARCH_SHARD_PAGES": shard_pages, "SEARCH_OVERLAY_PAGES": 3, "SEARCH_INDEX_COMMENTS": True}
    run_build(site, **options)
    bases = shard_bundles(out)
    before = {b: bundle_stats(out, b) for b in bases}
    assert what_search_shows(out) == document_addresses(out)

    def record():
        return json.loads((out / RECORD).read_text())

    build_helpers.write_post(site, 5, title="A quokkaesque title")
    run_build(site, **options)
    assert record()["overlay"] == record()["hidden"] == ["posts/post-5/index.html"]
    assert shard_bundles(out) == [*bases, OVERLAY] and indexed_pages(out) == len(record()["documents"]) + 1
    assert {b: bundle_stats(out, b) for b in bases} == before  # no shard indexed again
    assert what_search_shows(out) == document_addresses(out)
    assert "A quokkaesque title" in gzip.decompress(
        next((out / BUNDLE / OVERLAY / "fragment").glob("*.pf_fragment")).read_bytes()).decode()

    # A thread's first comments (a new document: nothing to hide) join it.
    build_helpers.write_thread(site, "post-4", [(1, None, "A Reader")])
    run_build(site, **options)
    assert record()["overlay"] == [f"{COMMENT_DOCS}/post-4.html", "posts/post-5/index.html"]
    assert record()["hidden"] == ["posts/post-5/index.html"]
    assert {b: bundle_stats(out, b) for b in bases} == before
    assert what_search_shows(out) == document_addresses(out)

    # A removed post: its copy is hidden, and nothing replaces it.
    (site / "content" / "posts" / "post-7.md").unlink()
    run_build(site, **options)
    assert "posts/post-7/index.html" in record()["hidden"] and "posts/post-7/index.html" not in record()["overlay"]
    assert what_search_shows(out) == document_addresses(out)
    assert "/posts/post-7/" not in what_search_shows(out)

    # Two more edits: more than the overlay holds. Their shards are indexed again; the overlay goes.
    for n in (1, 2):
        build_helpers.write_post(site, n, title=f"A flabbergasting title {n}")
    run_build(site, **options)
    assert record()["overlay"] == record()["hidden"] == []
    assert shard_bundles(out) == [b for b in shard_bundles(out) if b != OVERLAY]
    assert not (out / BUNDLE / OVERLAY).exists()
    assert what_search_shows(out) == document_addresses(out)
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full), **options)
    assert comparable_index(out) == comparable_index(full)


def test_an_edit_undone_while_in_the_overlay_stays_searchable(tmp_path):
    """Undone, the edit leaves the overlay's copy identical to the shard's, with the same page
    hash, which the search page would hide in both bundles: the document leaves the overlay."""
    import build_helpers

    site = build_helpers.make_site(tmp_path / "site", posts=40)
    out = site / "output"
    options = {"SEARCH_SHARD_PAGES": 6, "SEARCH_OVERLAY_PAGES": 3}
    run_build(site, **options)
    post = site / "content" / "posts" / "post-5.md"
    original = post.read_text(encoding="utf-8")
    post.write_text(original.replace("Title: ", "Title: Quokkaesque "), encoding="utf-8")
    build_helpers.write_post(site, 7, title="Another quokkaesque title")  # (stays in the overlay)
    run_build(site, **options)
    assert "posts/post-5/index.html" in json.loads((out / RECORD).read_text())["overlay"]
    post.write_text(original, encoding="utf-8")
    run_build(site, **options)
    record = json.loads((out / RECORD).read_text())
    assert "posts/post-5/index.html" not in record["overlay"] + record["hidden"]
    assert "posts/post-7/index.html" in record["overlay"]
    assert what_search_shows(out) == document_addresses(out)


def filter_counts(out: Path, shown_only: bool) -> dict[tuple[str, str], int]:
    """(filter, value) -> how many documents of the bundles hold it (shown_only: those the search
    page shows, hidden copies left out)."""
    listing = json.loads((out / BUNDLE / SHARDS).read_text())
    hidden = {page for pages in listing.get("hidden", {}).values() for page in pages}
    counts: dict[tuple[str, str], int] = {}
    for bundle in listing["bundles"]:
        for path in (out / BUNDLE / bundle / "fragment").glob("*.pf_fragment"):
            if shown_only and path.name.removesuffix(".pf_fragment") in hidden:
                continue
            data = gzip.decompress(path.read_bytes())
            for name, values in json.loads(data[len(b"pagefind_dcd"):]).get("filters", {}).items():
                for value in values:
                    counts[name, value] = counts.get((name, value), 0) + 1
    return counts


def test_the_filter_lists_leave_out_what_only_hidden_copies_hold(tmp_path):
    """Pagefind counts a hidden copy's filter values in; hubbub-shards.json says how many to take
    off, so a tag no current page has is not offered."""
    import build_helpers

    site = build_helpers.make_site(tmp_path / "site", posts=40)
    out = site / "output"
    options = {"SEARCH_SHARD_PAGES": 6, "SEARCH_OVERLAY_PAGES": 3}
    build_helpers.write_post(site, 5, tags=["quokkas"])
    run_build(site, **options)
    build_helpers.write_post(site, 5)  # its usual tags again
    run_build(site, **options)
    assert "posts/post-5/index.html" in json.loads((out / RECORD).read_text())["hidden"]
    stale = json.loads((out / BUNDLE / SHARDS).read_text())["hidden_filters"]
    assert stale["tag"]["quokkas"] == 1
    taken_off = {key: count - stale.get(key[0], {}).get(key[1], 0) for key, count in filter_counts(out, False).items()}
    assert {key: count for key, count in taken_off.items() if count} == filter_counts(out, True)


def test_a_site_no_larger_than_the_overlay_reindexes_its_shards_directly(tmp_path):
    import build_helpers

    site = build_helpers.make_site(tmp_path / "site", posts=8)
    run_build(site, SEARCH_OVERLAY_PAGES=100)
    build_helpers.write_post(site, 5, title="A quokkaesque title")
    run_build(site, SEARCH_OVERLAY_PAGES=100)
    record = json.loads((site / "output" / RECORD).read_text())
    assert record["overlay"] == [] and shard_bundles(site / "output") == [""]


def test_shards_take_pages_whose_paths_hold_glob_characters(tmp_path):
    out = tmp_path / "out"
    for name in ("a,b", "c[1]", "d{2}", "e(3)", "f*g", "plain"):
        page = out / "posts" / name / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f'<html lang="en"><body><main data-pagefind-body><h1>{name}</h1></main></body></html>')
    settings = {"OUTPUT_PATH": str(out), "ARTICLE_SAVE_AS": "posts/{slug}/index.html", "SEARCH_SHARD_PAGES": 1,
                "PLUGINS": ["hubbub.plugins.search"]}
    assert index_site(settings, out).pages == 6
    assert indexed_pages(out) == 6 and len(shard_bundles(out)) > 1


def test_search_can_be_turned_off(site, tmp_path):
    out = tmp_path / "out"
    build_site(site, OUTPUT_PATH=str(out))
    assert (out / BUNDLE / ENTRY).is_file()
    build_site(site, OUTPUT_PATH=str(out), SEARCH_INDEX=False)
    assert not (out / BUNDLE).exists()
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'class="site-search"' not in home and "SearchAction" not in home


# -- in the browser ------------------------------------------------------------------------------

@pytest.mark.browser
def test_search_finds_filters_and_follows_an_incremental_build_in_chromium(site, tmp_path, app_for):
    from pelican import Pelican

    out = tmp_path / "out"
    build_site(site, OUTPUT_PATH=str(out))
    posts = {p.slug: p for p in seed_posts(load_settings(site), site)}
    slug, post = next(iter(sorted(posts.items())))
    word = distinctive_word(site / "content", post.source)
    app = app_for(site, out)
    with serve_app(app) as base, browser() as b:
        context = b.new_context()
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        watch = PageWatch(page)
        # The header's box on any page leads to the search page with the results.
        page.goto(base + "/", wait_until="load")
        page.fill("#site-search-q", word)
        page.press("#site-search-q", "Enter")
        page.wait_for_url(re.compile(r".*/search/\?q=" + word))
        page.wait_for_selector(".search-result")
        assert result_titles(page) == [post.title]
        assert page.get_attribute(".search-result h2 a", "href").endswith(f"/posts/{slug}/")
        # A word many posts share, then one writer: only their posts (and their profile) remain.
        open_search(page, base + "/search/?q=networking")
        everyone = len(result_titles(page))
        writer = sorted({p.author for p in posts.values()})[0]
        page.select_option("#search-author", writer)
        page.wait_for_function("(n) => document.querySelector('.search-status').textContent.includes('with these')", arg=None)
        page.wait_for_selector(".search-results[aria-busy=false]", state="attached")
        narrowed = page.eval_on_selector_all(".search-result .meta", "ps => ps.map(p => p.textContent)")
        assert 0 < len(narrowed) < everyone and all(writer in m for m in narrowed), narrowed
        assert "author=" in page.url  # the filters are in the address, to share or go back to
        # Keyboard: from the box, Tab reaches the results (after the filters).
        page.focus("#search-q")
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("() => !!document.activeElement.closest('.search-results')"):
                break
        assert page.evaluate("() => document.activeElement.closest('.search-result') !== null")
        # The post changes and only the changed page is re-indexed: its new word is found.
        post.source.write_text(post.source.read_text(encoding="utf-8").replace(word, "quokkaesque"), encoding="utf-8")
        settings = load_settings(site, OUTPUT_PATH=str(out))
        Pelican(settings).run()
        assert index_site(settings, out, [f"posts/{slug}/index.html"]).ran
        open_search(page, base + "/search/?q=quokkaesque")
        assert result_titles(page) == [post.title]
        open_search(page, base + f"/search/?q={word}")  # (other pages may share its stem)
        assert post.title not in result_titles(page)
        open_search(page, base + "/search/?q=zzyzxqv")
        assert result_titles(page) == [] and "No results" in page.inner_text(".search-status")
        problems = csp_violations(page, watch)
        context.close()
    assert problems == [] and watch.errors == [] and watch.console_errors() == []


@pytest.mark.browser
def test_search_over_shards_finds_posts_in_every_shard_and_filters_by_author(site, tmp_path, app_for):
    out = tmp_path / "out"
    posts = {p.slug: p for p in seed_posts(load_settings(site), site)}
    unique = posts[sorted(posts)[-1]]  # gets a word no other page has, nor any longer word starting with it
    unique.source.write_text(unique.source.read_text(encoding="utf-8") + "\nA quokkaesque idea.\n", encoding="utf-8")
    build_site(site, OUTPUT_PATH=str(out), SEARCH_SHARD_PAGES=5)
    count = json.loads((out / RECORD).read_text())["shards"]
    in_shard = {}
    for slug, post in sorted(posts.items()):
        in_shard.setdefault(shard_of(f"posts/{slug}/index.html", count), post)
    assert len(in_shard) > 2
    with serve_app(app_for(site, out)) as base, browser() as b:
        context = b.new_context()
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        watch = PageWatch(page)
        for post in in_shard.values():  # a word of one post only: found, whichever shard holds it
            open_search(page, base + f"/search/?q={distinctive_word(site / 'content', post.source)}")
            assert post.title in result_titles(page)  # (other pages may share its stem)
        # Results of all shards, ranked together; filtering by writer narrows them in every shard.
        open_search(page, base + "/search/?q=networking")
        merged = sorted(result_titles(page))
        assert len({shard_of(f"posts/{s}/index.html", count) for s, p in posts.items() if p.title in merged}) > 1
        writer = sorted({p.author for p in posts.values()})[0]
        page.wait_for_function("() => document.querySelectorAll('#search-author option').length > 1")
        page.select_option("#search-author", writer)
        page.wait_for_function("() => document.querySelector('.search-status').textContent.includes('with these')")
        page.wait_for_selector(".search-results[aria-busy=false]", state="attached")
        narrowed = page.eval_on_selector_all(".search-result .meta", "ps => ps.map(p => p.textContent)")
        assert 0 < len(narrowed) < len(merged) and all(writer in m for m in narrowed), narrowed
        # A word only one shard holds narrows the query in every shard (Pagefind's own merge would
        # let the other shards drop the word and answer "networking" alone).
        both = "quokkaesque networking"
        open_search(page, base + f"/search/?q={both}")
        narrow = sorted(result_titles(page))
        assert narrow in ([], [unique.title])
        # The same results as one bundle of the whole site gives.
        index_site(load_settings(site, OUTPUT_PATH=str(out)), out, [])
        assert shard_bundles(out) == [""]
        open_search(page, base + "/search/?q=networking")
        assert sorted(result_titles(page)) == merged
        open_search(page, base + f"/search/?q={both}")
        assert sorted(result_titles(page)) == narrow
        problems = csp_violations(page, watch)
        context.close()
    assert problems == [] and watch.errors == [] and watch.console_errors() == []


@pytest.mark.browser
def test_search_shows_overlay_edits_and_hides_the_older_copies_in_chromium(site, tmp_path, app_for):
    """Edits in the overlay: the new words find the post once, its old words and a removed post's
    find nothing, and every search answers as the full index of the same pages does."""
    out = tmp_path / "out"
    options = {"OUTPUT_PATH": str(out), "SEARCH_SHARD_PAGES": 5, "SEARCH_OVERLAY_PAGES": 3}
    build_site(site, **options)
    posts = [p for _, p in sorted((p.slug, p) for p in seed_posts(load_settings(site), site))]
    edited, removed = posts[0], posts[-1]
    old_word = distinctive_word(site / "content", edited.source)
    gone_word = distinctive_word(site / "content", removed.source)
    edited.source.write_text(edited.source.read_text(encoding="utf-8").replace(old_word, "quokkaesque"),
                             encoding="utf-8")
    removed.source.unlink()
    build_site(site, **options)
    record = json.loads((out / RECORD).read_text())
    assert f"posts/{edited.slug}/index.html" in record["overlay"] and OVERLAY in shard_bundles(out)
    assert {f"posts/{edited.slug}/index.html", f"posts/{removed.slug}/index.html"} <= set(record["hidden"])
    queries = ["quokkaesque", "networking", "quokkaesque networking", old_word, gone_word]
    with serve_app(app_for(site, out)) as base, browser() as b:
        context = b.new_context()
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        watch = PageWatch(page)
        def answer(query):
            """How many results, and which (ranks may differ from a full index's: the first ten
            shown are compared only when they are all of them)."""
            open_search(page, base + f"/search/?q={query}")  # the status comes once the first ten are shown
            return page.inner_text(".search-status"), sorted(result_titles(page))

        answers = {query: answer(query) for query in queries}
        assert answers["quokkaesque"][1] == [edited.title]
        assert answers["quokkaesque networking"][1] in ([], [edited.title])
        assert edited.title not in answers[old_word][1] and removed.title not in answers[gone_word][1]
        index_site(load_settings(site, **options), out)  # the whole index again: no overlay
        assert OVERLAY not in shard_bundles(out)
        # (A word no page holds any more gets Pagefind's near matches, which depend on the layout.)
        for query in queries[:3]:
            status, titles = answer(query)
            assert status == answers[query][0], query
            assert titles == answers[query][1] or len(titles) == 10, query
        problems = csp_violations(page, watch)
        context.close()
    assert problems == [] and watch.errors == [] and watch.console_errors() == []


def test_the_search_form_is_there_from_the_first_paint(built_site_template):
    """Shown by the script instead, the form would push the results and the footer down as it
    appeared (Lighthouse counted a layout shift of 0.44 on a slow phone); without JavaScript a
    stylesheet in <noscript> hides it (the next test sees it hidden)."""
    page = (built_site_template / "output" / "search" / "index.html").read_text(encoding="utf-8")
    form = re.search(r"<form class=\"search-form\"[^>]*>", page).group(0)
    assert " hidden" not in form
    head = page.split("</head>", 1)[0]
    assert re.search(r'<noscript><link rel="stylesheet" href="[^"]*/theme/css/search-nojs.css"></noscript>', head)
    nojs = built_site_template / "output" / "theme" / "css" / "search-nojs.css"
    assert ".search-form { display: none; }" in nojs.read_text(encoding="utf-8")


@pytest.mark.browser
def test_an_edit_undone_is_still_found_in_chromium(site, tmp_path, app_for):
    out = tmp_path / "out"
    options = {"OUTPUT_PATH": str(out), "SEARCH_SHARD_PAGES": 5, "SEARCH_OVERLAY_PAGES": 3}
    build_site(site, **options)
    edited = sorted(seed_posts(load_settings(site), site), key=lambda p: p.slug)[0]
    word = distinctive_word(site / "content", edited.source)
    original = edited.source.read_text(encoding="utf-8")
    edited.source.write_text(original.replace(word, "quokkaesque"), encoding="utf-8")
    build_site(site, **options)
    edited.source.write_text(original, encoding="utf-8")
    build_site(site, **options)
    with serve_app(app_for(site, out)) as base, browser() as b:
        page = b.new_context().new_page()
        open_search(page, base + f"/search/?q={word}")
        found = result_titles(page)
        open_search(page, base + "/search/?q=quokkaesque")
        gone = result_titles(page)
    assert edited.title in found and edited.title not in gone


@pytest.mark.browser
def test_a_tag_only_a_hidden_copy_holds_is_not_offered_in_chromium(tmp_path, app_for):
    import build_helpers

    site = build_helpers.make_site(tmp_path / "site", posts=40)
    out = site / "output"
    options = {"SEARCH_SHARD_PAGES": 6, "SEARCH_OVERLAY_PAGES": 3}
    build_helpers.write_post(site, 5, tags=["quokkas", "events"])
    run_build(site, **options)
    build_helpers.write_post(site, 5)
    run_build(site, **options)
    with serve_app(app_for(site, out)) as base, browser() as b:
        page = b.new_context().new_page()
        page.goto(base + "/search/", wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('#search-tag option').length > 1")
        offered = page.eval_on_selector_all("#search-tag option", "options => options.map(o => o.value)")
    assert "events" in offered and "quokkas" not in offered


@pytest.mark.browser
def test_without_javascript_the_search_box_leads_somewhere_useful(built_site_template, app_for):
    out = built_site_template / "output"
    with serve_app(app_for(built_site_template, out)) as base, browser() as b:
        context = b.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(base + "/archives/", wait_until="load")
        page.fill("#site-search-q", "networking")
        page.press("#site-search-q", "Enter")
        page.wait_for_url(re.compile(r".*/search/\?q=networking"))
        assert "needs JavaScript" in page.inner_text("main")
        assert not page.is_visible(".search-form")  # no control that cannot work
        page.click("main a[href$='archives/']")
        page.wait_for_url(re.compile(r".*/archives/$"))
        assert page.locator(".archive li").count() > 0
        context.close()


@pytest.mark.browser
def test_published_comments_are_searchable_under_their_thread_when_asked(site, tmp_path, app_for):
    from test_attack_xss import VECTORS

    from comments_service.markup import render

    out = tmp_path / "out"
    build_site(site, OUTPUT_PATH=str(out))
    slug, entry = sorted(manifest(out)["threads"].items())[0]
    hostile = [comment(site, 100 + n, author=v[:100], html=render(v)) for n, v in enumerate(VECTORS[:40])]
    save_thread(site, slug, [comment(site, 1, author="Quinn", html="<p>A thoroughly flabbergasting idea.</p>"),
                             *hostile])
    build_site(site, OUTPUT_PATH=str(out))
    assert not (out / COMMENT_DOCS).exists()
    build_site(site, OUTPUT_PATH=str(out), SEARCH_INDEX_COMMENTS=True)
    assert (out / COMMENT_DOCS / f"{slug}.html").is_file()
    with serve_app(app_for(site, out)) as base, browser() as b:
        context = b.new_context()
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        watch = PageWatch(page)
        open_search(page, base + "/search/?q=flabbergasting")
        assert result_titles(page) == [f"Comments on “{entry['title']}”"]
        sub = page.locator(".search-subresults a").first
        assert sub.inner_text() == "Comment by Quinn"
        assert sub.get_attribute("href").endswith(f"/posts/{slug}/#comment-1")
        # The hostile comments are searchable text, never markup.
        for word in ("alert", "script", "onerror"):
            open_search(page, base + f"/search/?q={word}")
        problems = csp_violations(page, watch)
        context.close()
    assert watch.dialogs == [] and watch.errors == [] and problems == []


def test_only_the_search_page_and_its_bundle_may_compile_webassembly(built_site_template, app_for):
    from comments_service.security import CSP, SEARCH_CSP

    assert SEARCH_CSP.replace(" 'wasm-unsafe-eval'", "") == CSP and "'unsafe-eval'" not in SEARCH_CSP
    client = app_for(built_site_template, built_site_template / "output").test_client()
    for path in ("/search/", "/search/?q=networking", "/pagefind/pagefind.js", "/pagefind/pagefind-worker.js"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["Content-Security-Policy"] == SEARCH_CSP, path
    for path in ("/", "/posts/social-media-and-network-marketing/", "/archives/", "/api/health", "/searching/"):
        assert client.get(path).headers["Content-Security-Policy"] == CSP, path
    # nginx serves the built site in production: the same two policies, in the same places.
    conf = (Path(__file__).resolve().parents[1] / "deploy" / "hubbub.conf").read_text()
    assert f'add_header Content-Security-Policy "{CSP}" always;' in conf
    assert conf.count(f'add_header Content-Security-Policy "{SEARCH_CSP}" always;') == 2
