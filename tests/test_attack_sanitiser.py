"""Property tests (hypothesis) on the comment sanitiser: comments_service.markup.render / sanitise.

Inputs are built from the pieces XSS payloads are made of (tags, event handlers, URL schemes,
entities, Markdown link syntax, Unicode tricks) mixed with arbitrary text, so that the search
spends its examples where a sanitiser breaks. The output is parsed as a browser parses it.
Bounded: a fixed number of examples per property, derandomised so CI runs are reproducible.
"""

from __future__ import annotations

import pytest
from attack_helpers import href_scheme
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comments_service.markup import ALLOWED_TAGS, LINK_REL, render, sanitise

EXAMPLES = 1000
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

PIECES = [
    "<", ">", "</", "/>", "=", '"', "'", "`", "&", "&#", "&#x", ";", " ", "\n", "\n\n", "\t", "\x0b", "\x0c",
    "<script>", "</script>", "<script", "script", "<SCRIPT SRC=//evil.example/x.js>", "alert(1)",
    "<img src=x onerror=alert(1)>", "<svg", "<svg/onload=alert(1)>", "onload=", "onerror=", " onclick=", "on",
    "<a href=", "<a ", "</a>", "href=", "src=", "xlink:href=", "formaction=", "style=", "expression(",
    "<style>", "</style>", "<iframe", "<object", "<embed", "<base", "<meta http-equiv=refresh content=0;url=",
    "<math>", "<mtext>", "<table>", "<mglyph>", "<noscript>", "</noscript>", "<textarea>", "</title>",
    "<template>", "<form>", "<button", "<input autofocus onfocus=alert(1)>", "<details open ontoggle=alert(1)>",
    "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>",
    "javascript:", "JaVaScRiPt:", "java\tscript:", "java\nscript:", "&#106;avascript:", "&#x6A;avascript:",
    "jav&#x09;ascript:", "javascript&colon;", "data:text/html,", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:", "livescript:", "mailto:", "http://", "https://x.example/", "//evil.example/", "\x01",
    "[", "]", "(", ")", "![", "](", "[x](", "]: ", "<https://", "*", "**", "_", "__", "`", "```", "~~~",
    "    ", "> ", "- ", "* ", "1. ", "# ", "---", "\\", "&lt;", "&gt;", "&amp;", "&quot;", "&#60;", "&#x3c;",
    "&#0000060", "\u202e", "\u202d", "\u200b", "\u200d", "\ufeff", "\uff1c", "\uff1e", "\u3008", "\u2028",
    "<p>", "<b>", "<br>", "<em>", "<code>", "<pre>", "<blockquote>", "<ul>", "<li>", "<hr>", "<del>",
    " title=", " rel=", " class=", " id=", "x", "y", "0",
]

fragments = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=40).map("".join)
# Markdown links with hostile targets and titles, the way commenters write links.
links = st.builds(
    lambda text, target, title: f"[{text}]({target}{title})",
    st.sampled_from(["x", "<b>x</b>", "click", ""]),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join),
    st.sampled_from(["", ' "t"', " 'a\" onmouseover=\"alert(1)'", ' "t\\" onclick=\\"alert(1)"']),
)
sources = st.one_of(fragments, links, st.lists(st.one_of(fragments, links), max_size=4).map("\n".join))


def parse(html: str):
    return BeautifulSoup(f"<div id=root>{html}</div>", "html5lib").find(id="root")


def assert_safe(html: str) -> None:
    root = parse(html)
    for el in root.find_all(True):
        assert el.name in ALLOWED_TAGS, f"<{el.name}> in {html!r}"
        allowed = {"href", "title", "rel"} if el.name == "a" else set()
        for attr, _value in el.attrs.items():
            assert not attr.lower().startswith("on"), f"event handler {attr} in {html!r}"
            assert attr in allowed, f"attribute {attr} on <{el.name}> in {html!r}"
        if el.name == "a":
            assert el.get("rel") == LINK_REL.split(), f"rel {el.get('rel')} in {html!r}"
            if el.get("href") is not None:
                assert href_scheme(el["href"]) in ("", "http", "https", "mailto"), f"href {el['href']!r}"


@PROPERTY
@given(sources)
def test_render_never_raises_and_emits_only_safe_markup(source):
    html = render(source)
    assert isinstance(html, str)
    assert_safe(html)


@PROPERTY
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=60).map("".join))
def test_sanitise_of_any_html_is_safe(html):
    """Editing a comment re-sanitises HTML: whatever goes in, only the allowed set comes out."""
    assert_safe(sanitise(html))


@PROPERTY
@given(sources)
def test_sanitising_is_idempotent(source):
    """What is stored is a fixed point: sanitising it again (an edit, a re-publish) changes nothing."""
    once = render(source)
    assert sanitise(once) == once
    twice = sanitise(sanitise(source))
    assert sanitise(twice) == twice


@PROPERTY
@given(st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>",
                        "<iframe src=javascript:alert(1)>", '<a href="javascript:alert(1)">x</a>']),
       fragments)
def test_raw_html_is_shown_as_text_not_dropped(payload, around):
    """A commenter who writes HTML sees it as text: the dangerous tag is escaped, never parsed."""
    html = render(f"{around}\n\n{payload}")
    assert_safe(html)
    assert "&lt;" in html


def test_every_link_in_a_realistic_comment_is_nofollow():
    html = render("See [my post](https://a.example/p), <https://b.example> and [mail](mailto:c@example.org).")
    anchors = parse(html).find_all("a")
    assert [a["href"] for a in anchors] == ["https://a.example/p", "https://b.example", "mailto:c@example.org"]
    assert all(a["rel"] == ["nofollow", "ugc", "noopener"] for a in anchors)


@pytest.mark.parametrize("bad", [
    "<script>alert(1)</script>", '<a href="javascript:alert(1)" rel="nofollow ugc noopener">x</a>',
    '<p onclick="alert(1)">x</p>', '<a href="https://x.example">no rel</a>', "<svg><animate onbegin=alert(1)>",
    '<a href=" java\tscript:alert(1)" rel="nofollow ugc noopener">x</a>', "<math><mi>x</mi></math>",
])
def test_the_checker_itself_catches_unsafe_markup(bad):
    """The properties above can fail: the checker rejects what a broken sanitiser would let out."""
    with pytest.raises(AssertionError):
        assert_safe(bad)


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3), fragments)
def test_render_never_raises_on_lone_surrogates(surrogates, around):
    assert_safe(render(around + surrogates))


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(sources, st.sampled_from(["[r]: https://evil.example/ 'x'", "[r]", "```\ncode", "~~~"])),
                min_size=2, max_size=5))
def test_the_reused_parser_renders_each_comment_as_a_fresh_one_would(comments):
    """render() keeps a parser per thread: nothing of one comment (a reference definition, an open
    fence, a stash) may reach the next."""
    from comments_service.markup import _markdown

    for source in comments:
        fresh = sanitise(_markdown().convert(source.encode("utf-8", "replace").decode("utf-8"))).strip()
        assert render(source) == fresh
