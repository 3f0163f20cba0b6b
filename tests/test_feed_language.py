"""Post feeds' language (hubbub.plugins.languages): only a translations feed takes the language of
its name. A feed whose address merely has the shape of the TRANSLATION_FEED_* pattern (the site's
main feed beside `feeds/{lang}.atom.xml`, or any feed under a SITEURL/FEED_DOMAIN when the pattern
starts with `{lang}/`) is in the site's language."""

from __future__ import annotations

import re

import pytest
from build_helpers import assert_same_as_full, build, make_site


def feed_lang(text: str) -> str:
    found = re.search(r'<feed [^>]*xml:lang="([^"]*)"', text) or re.search(r"<language>([^<]*)</language>", text)
    return found.group(1) if found else ""


@pytest.mark.parametrize("settings, french", [
    ('TRANSLATION_FEED_ATOM = "feeds/{lang}.atom.xml"\n', "feeds/fr.atom.xml"),
    ('TRANSLATION_FEED_RSS = "feeds/{lang}.rss.xml"\n', "feeds/fr.rss.xml"),
    ('TRANSLATION_FEED_ATOM = "{lang}/feeds/all.atom.xml"\nSITEURL = "https://example.org/blog"\n'
     'FEED_DOMAIN = SITEURL\n', "fr/feeds/all.atom.xml"),
], ids=["lang-file-name", "rss-lang-file-name", "lang-directory-under-siteurl"])
def test_only_translations_feeds_take_the_language_in_their_name(tmp_path, settings, french):
    site = make_site(tmp_path / "site", posts=3)
    with open(site / "pelicanconf.py", "a", encoding="utf-8") as fh:
        fh.write("\n" + settings)
    head = "Date: 2015-03-01 10:00\nAuthor: Lee Marsh\nCategory: Networking\nSlug: post-0\n"
    (site / "content" / "posts" / "post-0-fr.md").write_text(f"Title: Une traduction\n{head}Lang: fr\n\nMots.\n",
                                                             encoding="utf-8")
    build(site, full=True)
    assert_langs(site / "output", french)
    # An incremental build writes what a full one does.
    (site / "content" / "posts" / "post-0-fr.md").write_text(f"Title: Traduite\n{head}Lang: fr\n\nAutres mots.\n",
                                                             encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    assert_langs(site / "output", french)


def assert_langs(out, french: str) -> None:
    langs = {}
    for path in sorted(out.rglob("*.xml")):
        text = path.read_text(encoding="utf-8")
        if "<feed " in text[:500] or "<rss " in text[:500]:
            langs[path.relative_to(out).as_posix()] = feed_lang(text)
    assert langs.get(french) == "fr", langs
    assert {name: lang for name, lang in langs.items() if name != french and lang != "en"} == {}
