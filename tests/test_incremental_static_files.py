"""A static file deleted while a post still links to it with {static} leaves the output.

Pelican turns every {static} link into a static file to copy, whether or not the file is still
there; a build from scratch then has no copy of it (Pelican copies nothing, but makes its
directory). An incremental build must not keep the copy an earlier build made: a picture taken
down must not stay published until the next `hubbub build --full`.
"""

from __future__ import annotations

from build_helpers import assert_same_as_full, build, make_site


def test_an_image_deleted_while_a_post_links_to_it_is_removed(tmp_path):
    site = make_site(tmp_path / "site", posts=10)
    post = site / "content" / "posts" / "post-5.md"
    post.write_text(post.read_text(encoding="utf-8") + "\n![A logo]({static}../images/logo.svg)\n",
                    encoding="utf-8")
    build(site)
    assert (site / "output" / "images" / "logo.svg").is_file()
    (site / "content" / "images" / "logo.svg").unlink()
    report = assert_same_as_full(site, tmp_path)
    assert "images/logo.svg" in report.removed
    assert not (site / "output" / "images").exists()
    # Back again, it is copied again.
    (site / "content" / "images" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    report = assert_same_as_full(site, tmp_path)
    assert "images/logo.svg" in report.written
