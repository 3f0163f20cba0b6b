"""Author profiles (plugins/hub_profiles.py): real Pelican builds of tiny sites and of the project."""

from __future__ import annotations

import importlib
import logging
import re

import pytest
from profiles_helpers import (
    build,
    links,
    make_site,
    plugin_module,
    read,
    section,
    text_of,
    write_post,
    write_profile,
    write_thread,
)

from hubbub.build import BuildError
from hubbub.core import identity

ADA_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def community(tmp_path_factory):
    """A site with a full profile (Ada), a missing one (Ben), a commenter (Fay), a newcomer (Cara)."""
    site = make_site(tmp_path_factory.mktemp("community"), "DEFAULT_PAGINATION = 4")
    (site / "content" / "images" / "avatars" / "ada-writer.svg").write_text(ADA_SVG)
    write_profile(site, "ada-writer", {
        "Name": "Ada Writer",
        "Email": "Ada@Example.org",  # matched after normalising, like the comment service does
        "Avatar": "avatars/ada-writer.svg",
        "Tagline": "Writes <about> craft & tools",
        "Location": "Bath",
        "Website": "https://ada.example.org/",
        "Twitter": "@adawrites",
        "HubPages": "https://hubpages.example.com/@ada",
        "Joined": "2010-03-14",
    }, bio="I write **bold** things.\n\n<script>alert('bio')</script>")
    write_profile(site, "fay-talker", {"Name": "Fay Talker", "Email": "fay@example.org", "Joined": "2009-01-01"})
    write_profile(site, "cara-newbie", {"Name": "Cara Newbie", "Tagline": "Just arrived", "Joined": "2012-01-01"})
    for n in range(1, 7):
        tags = ["writing"] + (["craft"] if n <= 3 else []) + (["tools"] if n == 4 else [])
        write_post(site, f"ada-{n}", f"Ada post {n}", "Ada Writer", f"2011-0{n}-01 10:00", tags)
    write_post(site, "ben-1", "Ben post", "Ben Poster", "2008-05-05 10:00", ["misc"])
    write_post(site, "fay-1", "Fay post", "Fay Talker", "2009-02-02 10:00", ["misc"])

    salt = identity.site_salt(site)
    ada, fay = identity.author_key("ada@example.org", salt), identity.author_key("fay@example.org", salt)
    readers = [
        {"author": f"Reader {n}", "html": f"<p>Comment number {n}</p>", "author_key": f"{n:064x}",
         "created": f"2025-01-{n:02d}T09:00:00+00:00"}
        for n in range(1, 12)
    ]
    write_thread(site, "ada-1", readers + [
        {"author": "Ada Writer", "html": "<p>Thanks all!</p>", "author_key": ada,
         "created": "2025-02-01T09:00:00+00:00"},
        {"author": "Fay Talker", "html": "<p>Fay says <em>hello</em> &amp; goodbye</p>", "author_key": fay,
         "created": "2026-01-02T09:00:00+00:00"},
    ])
    long_tail = " ".join(["word"] * 60)
    write_thread(site, "ada-2", [
        {"author": "<b>Eve</b> & co", "created": "2025-12-31T23:00:00+00:00", "author_key": "e" * 64,
         "html": f'<p>First paragraph.</p><p>Second <a href="https://x.example.org">link</a> {long_tail}</p>'},
    ])
    write_thread(site, "ben-1", [
        {"author": "Ada Writer", "html": "<p>Nice one, Ben.</p>", "author_key": ada,
         "created": "2024-06-01T09:00:00+00:00"},
    ])

    records = _Records()
    logger = logging.getLogger("hubbub.profiles")
    logger.addHandler(records)
    try:
        out = build(site)
    finally:
        logger.removeHandler(records)
    return site, out, records.messages


def stat(html: str, name: str) -> int:
    return int(re.search(rf'data-stat="{name}">(\d+)<', html).group(1))


def test_profile_page_shows_profile_links_bio_and_feed(community):
    _, out, _ = community
    page = read(out, "authors/ada-writer/index.html")
    header = section(page, "profile-header")
    assert "Ada Writer" in header
    assert "Writes &lt;about&gt; craft &amp; tools" in header  # tagline escaped
    assert "Bath" in header and "Member since" in header and "March 2010" in header
    assert '<img class="avatar u-photo" src="../../images/avatars/ada-writer.svg"' in header
    profile_links = {text: href for href, text in links(header)}
    assert profile_links["Website"] == "https://ada.example.org/"
    assert profile_links["X (Twitter)"] == "https://x.com/adawrites"
    assert profile_links["HubPages"] == "https://hubpages.example.com/@ada"
    assert 'rel="me noopener"' in header
    feed = profile_links["Atom feed of their posts"]
    assert feed.endswith("/feeds/author/ada-writer.atom.xml")
    assert (out / "feeds/author/ada-writer.atom.xml").is_file()
    bio = section(page, "profile-bio")
    assert "<strong>bold</strong>" in bio
    assert "<script" not in bio and "alert(" not in page


def test_stats_count_posts_comments_received_and_written(community):
    _, out, _ = community
    ada = read(out, "authors/ada-writer/index.html")
    # 11 readers + Fay on ada-1, Eve on ada-2; Ada's own reply on her post is not "received".
    assert (stat(ada, "posts"), stat(ada, "comments-received"), stat(ada, "comments-written")) == (6, 13, 2)
    fay = read(out, "authors/fay-talker/index.html")
    assert (stat(fay, "posts"), stat(fay, "comments-received"), stat(fay, "comments-written")) == (1, 0, 1)
    ben = read(out, "authors/ben-poster/index.html")  # no profile, so no email: nothing is "written"
    assert (stat(ben, "posts"), stat(ben, "comments-received"), stat(ben, "comments-written")) == (1, 1, 0)


def test_accolades_follow_the_stats_and_are_explained(community):
    _, out, _ = community
    page = read(out, "authors/ada-writer/index.html")
    earned = text_of(section(page, "accolades"))
    assert "Writer, level 2 of 4 · Posts published: 6 · Next: Prolific writer at 20" in earned
    assert "Conversation starter, level 2 of 4 · Comments readers left on their posts: 13" in earned
    names = re.findall(r"<strong>(.*?)</strong>", section(page, "accolades"))
    assert names == ["Regular writer", "Good conversation starter", "Joined the conversation"]
    help_text = text_of(section(page, "accolades-help"))
    assert "How accolades work" in help_text
    assert "Great conversation starter: 50 or more" in help_text and "Hub veteran: 50 or more" in help_text
    newcomer = read(out, "authors/cara-newbie/index.html")
    assert 'class="accolades"' not in newcomer


def test_top_tags_most_used_first(community):
    _, out, _ = community
    tags = links(section(read(out, "authors/ada-writer/index.html"), "profile-tags"))
    assert [text for _, text in tags] == ["writing", "craft", "tools"]
    assert tags[0][0] == "../../tag/writing/"


def test_latest_comments_received_newest_first_escaped_and_linked(community):
    _, out, _ = community
    block = section(read(out, "authors/ada-writer/index.html"), "profile-comment-list")
    items = re.findall(r"<li class=\"profile-comment\">(.*?)</li>", block, re.S)
    assert len(items) == 5
    commenters = [re.search(r'class="commenter">(.*?)</bdi>', item).group(1) for item in items]
    assert commenters == ["Fay Talker", "&lt;b&gt;Eve&lt;/b&gt; &amp; co", "Reader 11", "Reader 10", "Reader 9"]
    assert "Fay says hello &amp; goodbye" in items[0]  # HTML stripped to text, then escaped
    eve = text_of(items[1])
    assert "First paragraph. Second link word" in eve and eve.endswith("…")
    assert "<a href=\"https://x.example.org\"" not in items[1]
    assert links(items[0])[0] == ("../../posts/ada-1/#comment-13", "Ada post 1")
    assert "Thanks all!" not in block  # her own reply is not a comment she received


def test_posts_are_paginated_newest_first_with_the_profile_on_page_one(community):
    _, out, _ = community
    first = read(out, "authors/ada-writer/index.html")
    second = read(out, "authors/ada-writer/page/2/index.html")

    def titles(page):
        return re.findall(r'rel="bookmark">(Ada post \d)</a>', section(page, "profile-posts"))

    assert titles(first) == ["Ada post 6", "Ada post 5", "Ada post 4", "Ada post 3"]
    assert titles(second) == ["Ada post 2", "Ada post 1"]
    assert "page 2 of 2" in second and 'rel="prev"' in second
    assert "data-stat" in first and "data-stat" not in second  # stats and bio once, on the profile page
    assert "profile-header" in second  # but readers still see whose posts these are


def test_missing_profile_gets_full_page_generated_avatar_and_warning(community):
    _, out, messages = community
    page = read(out, "authors/ben-poster/index.html")
    assert '<img class="avatar u-photo" src="../../authors/ben-poster/avatar.svg"' in page
    assert "has not written a bio yet" in page and "Member since" in page and "May 2008" in page
    svg = read(out, "authors/ben-poster/avatar.svg")
    assert svg.startswith("<svg") and ">BP</text>" in svg
    warnings = [m for m in messages if "content/authors/ben-poster.md" in m]
    assert len(warnings) == 1 and "Ben Poster" in warnings[0]
    assert not [m for m in messages if "ada-writer.md" in m or "fay-talker.md" in m]


def test_profile_without_avatar_uses_generated_one(community):
    _, out, _ = community
    assert 'src="../../authors/fay-talker/avatar.svg"' in read(out, "authors/fay-talker/index.html")
    assert ">FT</text>" in read(out, "authors/fay-talker/avatar.svg")
    assert not (out / "authors/ada-writer/avatar.svg").exists()  # Ada has her own picture
    assert (out / "images/avatars/ada-writer.svg").is_file()


def test_profile_without_posts_still_has_a_page(community):
    _, out, _ = community
    page = read(out, "authors/cara-newbie/index.html")
    assert "Cara Newbie" in page and "Just arrived" in page
    assert "Cara Newbie has not published a post yet." in page
    assert "January 2012" in page


def test_directory_lists_every_author_by_recent_activity(community):
    _, out, _ = community
    page = read(out, "authors/index.html")
    cards = re.findall(r'<article class="profile-card" aria-labelledby="card-([\w-]+)">', page)
    # Fay commented in 2026, Ada replied in 2025 (after her last post), Ben posted in 2008, Cara never.
    assert cards == ["fay-talker", "ada-writer", "ben-poster", "cara-newbie"]
    ada = text_of(section(page, "profile-card\" aria-labelledby=\"card-ada-writer"))
    assert "Writes <about> craft & tools" in ada
    assert "6 posts · 13 comments received · 2 comments written" in ada
    assert "Regular writer" in ada
    assert 'src="../images/avatars/ada-writer.svg"' in page and 'src="../authors/ben-poster/avatar.svg"' in page


def test_article_shows_author_card(community):
    _, out, _ = community
    card = section(read(out, "posts/ada-3/index.html"), "author-card")
    assert '<img class="avatar" src="../../images/avatars/ada-writer.svg"' in card
    assert "Writes &lt;about&gt; craft &amp; tools" in card
    assert ("../../authors/ada-writer/", "Ada Writer") in links(card)
    ben_card = section(read(out, "posts/ben-1/index.html"), "author-card")
    assert "../../authors/ben-poster/avatar.svg" in ben_card and "Ben Poster" in ben_card


def test_emails_are_never_published(community):
    _, out, _ = community
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            assert b"ada@example.org" not in data and b"fay@example.org" not in data, path


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("Joined", "last summer", "YYYY-MM-DD"),
        ("Website", "www.ada.example.org", "not a web address"),
        ("Instagrm", "https://instagram.example.com/ada", "not a profile field"),
        ("Avatar", "avatars/nobody.svg", "does not exist"),
        ("Email", "ada-at-example", "not an email address"),
        ("Twitter", "not a handle!", "not a web address"),
        ("Name", "Ada Writes", "rename the file to ada-writes.md"),
    ],
)
def test_bad_profile_metadata_fails_the_build_naming_file_and_field(tmp_path, field, value, expected):
    site = make_site(tmp_path)
    write_post(site, "hello", "Hello", "Ada Writer", "2020-01-01 10:00")
    fields = {"Name": "Ada Writer", "Joined": "2019-01-01", field: value}
    write_profile(site, "ada-writer", fields)
    with pytest.raises(BuildError) as failure:
        build(site)
    message = str(failure.value)
    assert "content/authors/ada-writer.md" in message
    assert f"field {field}" in message
    assert expected in message


def test_extra_link_fields_can_be_allowed_in_settings(tmp_path):
    site = make_site(tmp_path, 'HUB_PROFILE_LINKS = (("website", "Website"), ("instagram", "Instagram"))')
    write_post(site, "hello", "Hello", "Ada Writer", "2020-01-01 10:00")
    write_profile(site, "ada-writer", {"Name": "Ada Writer", "Instagram": "https://instagram.example.com/ada"})
    out = build(site)
    assert ("https://instagram.example.com/ada", "Instagram") in links(read(out, "authors/ada-writer/index.html"))


def test_a_scaffolded_profile_builds(tmp_path):
    """`hubbub new author` writes a file this plugin accepts (empty optional fields included)."""
    from hubbub.scaffold import new_author

    site = make_site(tmp_path)
    write_post(site, "hello", "Hello", "Zoë Smith", "2020-01-01 10:00")
    path = new_author(site, "Zoë Smith")
    assert path.name == "zoe-smith.md"
    page = read(build(site), "authors/zoe-smith/index.html")
    assert "Zoë Smith" in page and "has not written a bio yet" not in page


def test_malformed_thread_file_fails_the_build_naming_the_file(tmp_path):
    site = make_site(tmp_path)
    write_post(site, "hello", "Hello", "Ada Writer", "2020-01-01 10:00")
    (site / "content" / "comments" / "hello.json").write_text('{"thread": "hello", "comments": [{"id": "one"}]}')
    with pytest.raises(BuildError, match=r"hello\.json"):
        build(site)


def test_templates_still_render_without_the_plugins(tmp_path):
    site = make_site(tmp_path)
    write_post(site, "hello", "Hello", "Ada Writer", "2020-01-01 10:00")
    out = build(site, PLUGINS=["hubbub.plugins.safe_content"])
    assert "Posts by Ada Writer" in read(out, "authors/ada-writer/index.html")
    assert "Written by" in read(out, "posts/hello/index.html")
    assert "Ada Writer" in read(out, "authors/index.html")


def test_the_project_site_has_a_profile_for_every_author(built_site_template):
    """The project's own content (built once per session by conftest, in a copy of the site)."""
    out = built_site_template / "output"
    emails = [line.split(":", 1)[1].strip().lower().encode()
              for path in (built_site_template / "content" / "authors").glob("*.md")
              for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("Email:")]
    assert len(emails) == 5
    directory = read(out, "authors/index.html")
    for slug in ("alan-whitaker", "gerry-cooper", "dana-okafor", "priya-raman", "marco-silva"):
        page = read(out, f"authors/{slug}/index.html")
        assert "About " in page and "has not written a bio yet" not in page
        assert f'aria-labelledby="card-{slug}"' in directory
    assert (out / "authors/marco-silva/avatar.svg").is_file()  # the one writer without a picture
    assert not (out / "authors/alan-whitaker/avatar.svg").exists()
    assert (out / "images/avatars/alan-whitaker.svg").is_file()
    assert "HubPages" in read(out, "authors/gerry-cooper/index.html")
    for path in out.rglob("*"):  # pages, feeds, the manifest: the profile emails are nowhere
        if path.is_file():
            data = path.read_bytes().lower()
            assert not any(email in data for email in emails), path


# Pure functions behind the pages: cheap checks of the rules the builds above rely on.

def test_generated_avatar_is_stable_readable_and_escaped():
    avatars = importlib.import_module("hubbub.core.avatars")
    assert avatars.initials("Alan Whitaker") == "AW"
    assert avatars.initials("José María de la Cruz") == "JC"
    assert avatars.initials("madonna") == "M"
    assert avatars.initials("  ") == "?"
    assert avatars.avatar_svg("Alan Whitaker") == avatars.avatar_svg("Alan Whitaker")
    assert len({avatars.avatar_colour(f"Writer {n}") for n in range(40)}) > 4
    svg = avatars.avatar_svg('<Evil> "Name" & Co')
    assert "<Evil>" not in svg and "&lt;Evil&gt;" in svg
    for colour in avatars.PALETTE:
        assert avatars.contrast_ratio("#ffffff", colour) >= 4.5, colour


def test_excerpt_strips_html_and_cuts_at_a_word():
    profiles = plugin_module("hub_profiles")
    assert profiles.excerpt("<p>One</p><p>Two &amp; <b>three</b></p>", 100) == "One Two & three"
    cut = profiles.excerpt("<p>" + "alpha beta " * 40 + "</p>", 30)
    assert cut.endswith("…") and len(cut) <= 31 and not cut[:-1].endswith(" ")


def test_accolade_levels_and_settings_are_checked():
    profiles = plugin_module("hub_profiles")
    rules = profiles.accolade_rules({})
    earned = profiles.earned_accolades({"posts": 20, "comments_received": 9, "comments_written": 0}, rules)
    assert [(a.name, a.level) for a in earned] == [("Prolific writer", 3), ("Conversation opener", 1)]
    with pytest.raises(profiles.ProfileError, match="HUB_ACCOLADES entry 1"):
        profiles.accolade_rules({"HUB_ACCOLADES": [{"stat": "likes", "levels": [(1, "x")]}]})
    with pytest.raises(profiles.ProfileError, match="counts rising"):
        profiles.accolade_rules({"HUB_ACCOLADES": [{"stat": "posts", "levels": [(5, "a"), (2, "b")]}]})
