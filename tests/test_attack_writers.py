"""Writers are many and not all careful: what they put in a post's metadata (title, tags, category,
author, summary) is shown as text on every page, feed and card, never run as markup. The XSS corpus
goes into each field of a generated site's posts; the built site is scanned like the comment pages
of test_attack_xss.py."""

from __future__ import annotations

import pytest
from attack_helpers import executable_problems, feed_problems, load_vectors, scan_output
from build_helpers import build, make_site

from hubbub.build import BuildError
from hubbub.core.threadfile import xml_text

# One line of metadata each; a comma would split the tags, a vector with one gets a field without.
VECTORS = [v.strip() for v in load_vectors() if v.strip() and "\n" not in v and "\r" not in v]


def hostile_post(n: int, vector: str) -> str:
    # Titles and summaries lose the characters XML forbids; names keep them (they make the slug), so
    # a name with one fails the build: test_a_control_character_in_a_name_names_the_file.
    name = xml_text(vector)
    tag = name.replace(",", " ")
    return (f"Title: Post {n} {vector}\nDate: 2020-01-01 10:{n % 60:02d}\nAuthor: Writer {n % 3} {name}\n"
            f"Category: Cat {n % 5} {tag}\nTags: tag {n}, {tag}\nSummary: Summary {n} {vector}\nSlug: hostile-{n}\n\n"
            f"Body of post {n}.\n")


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("writers") / "site", posts=3)
    for n, vector in enumerate(VECTORS):
        (site / "content" / "posts" / f"hostile-{n}.md").write_text(hostile_post(n, vector), encoding="utf-8")
    for n, vector in enumerate(VECTORS[:20]):  # pages: a title and a menu label each
        (site / "content" / "pages" / f"hostile-{n}.md").write_text(
            f"Title: Page {n} {vector}\nMenulabel: Menu {n} {xml_text(vector)}\nSlug: page-{n}\n\nText.\n",
            encoding="utf-8")
    build(site)
    return site / "output"


def test_the_corpus_reached_every_field():
    assert len(VECTORS) >= 150
    assert executable_problems(f"<html><body><h1>{hostile_post(1, '<img src=x onerror=alert(1)>')}</h1></body></html>")


def test_no_page_or_feed_runs_what_a_writer_typed(hostile_site):
    problems, pages, feeds = scan_output(hostile_site)
    assert problems == [], "\n".join(problems[:30])
    assert pages > len(VECTORS) and feeds > 10
    assert [p for f in sorted((hostile_site / "feeds").rglob("*.xml")) for p in feed_problems(f)] == []


def test_what_a_writer_typed_is_shown_as_text(hostile_site):
    n = VECTORS.index("<script>alert(1)</script>")
    page = (hostile_site / "posts" / f"hostile-{n}" / "index.html").read_text(encoding="utf-8")
    shown = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<title>Post {n} {shown} ·" in page  # the title keeps its words, not just the safe ones
    assert f"Post {n} {shown}</h1>" in page
    assert f"Writer {n % 3} {shown}</a>" in page and f"Cat {n % 5} {shown}</a>" in page
    assert f'rel="tag" data-pagefind-filter="tag">{shown}</a>' in page


def test_a_title_keeps_inline_formatting_and_a_word_in_angle_brackets(tmp_path):
    site = make_site(tmp_path / "site", posts=2)
    (site / "content" / "posts" / "tricks.md").write_text(
        "Title: Ten <Tricks> for <em>fast</em> & <b onclick=x>safe</b> SEO\nDate: 2020-01-01 10:00\n"
        "Category: SEO & more\nTags: Q&A\nSlug: tricks\n\nBody.\n", encoding="utf-8")
    with (site / "pelicanconf.py").open("a", encoding="utf-8") as fh:
        fh.write("\nSITENAME = 'The <Growth> & \"Reach\" Hub'\n")  # as `hubbub init --title` writes it
    build(site)
    page = (site / "output" / "posts" / "tricks" / "index.html").read_text(encoding="utf-8")
    assert "Ten &lt;Tricks&gt; for <em>fast</em> &amp; <b>safe</b> SEO</h1>" in page
    assert "<title>Ten &lt;Tricks&gt; for fast &amp; safe SEO · The &lt;Growth&gt; &amp; &#34;Reach&#34; Hub</title>" in page
    home = (site / "output" / "index.html").read_text(encoding="utf-8")
    site_name = "The &lt;Growth&gt; &amp; &#34;Reach&#34; Hub"
    assert f'<meta property="og:site_name" content="{site_name}">' in home
    assert f'<meta property="og:title" content="{site_name}">' in home
    assert '"name": "The \\u003cGrowth\\u003e \\u0026 \\"Reach\\" Hub"' in home  # the JSON-LD, whole
    assert "SEO &amp; more</a>" in page and ">Q&amp;A</a>" in page


def test_a_control_character_in_a_name_names_the_file(tmp_path):
    site = make_site(tmp_path / "site", posts=2)
    post = site / "content" / "posts" / "pasted.md"
    post.write_text("Title: Pasted\x0b from a word processor\nDate: 2020-01-01 10:00\nCategory: SEO\n"
                    "Tags: fine, pasted\x0bto\nSlug: pasted\n\nBody\x0b text.\n", encoding="utf-8")
    with pytest.raises(BuildError) as failure:
        build(site)
    assert f"{post} has a control character" in str(failure.value) and "remove it" in str(failure.value)
    post.write_text(post.read_text(encoding="utf-8").replace("pasted\x0bto", "pasted"), encoding="utf-8")
    build(site)  # the title and the text lose theirs
    page = (site / "output" / "posts" / "pasted" / "index.html").read_text(encoding="utf-8")
    assert "Pasted from a word processor</h1>" in page and "\x0b" not in page
