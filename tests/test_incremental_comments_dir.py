"""Thread files kept outside the content directory (COMMENTS_DIR = "../threads") are sources too.

COMMENTS_DIR is relative to PATH and may lead out of it, to keep what the comment service writes
apart from what writers write. An incremental build must see a thread file changed there: "Nothing
changed" would keep the old comments on the post's page, its feeds and its writer's profile until
`hubbub build --full`.
"""

from __future__ import annotations

import json
import shutil

from build_helpers import assert_same_as_full, build, make_site


def test_a_thread_file_outside_the_content_directory_is_a_source(tmp_path):
    site = make_site(tmp_path / "site", posts=6)
    shutil.move(site / "content" / "comments", site / "threads")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + '\nCOMMENTS_DIR = "../threads"\n', encoding="utf-8")
    build(site)
    page = site / "output" / "posts" / "post-3" / "index.html"
    assert "Comment 1 by" in page.read_text(encoding="utf-8")
    thread = site / "threads" / "post-3.json"
    data = json.loads(thread.read_text(encoding="utf-8"))
    data["comments"][0]["html"] = "<p>A brand new text.</p>"
    thread.write_text(json.dumps(data), encoding="utf-8")
    report = assert_same_as_full(site, tmp_path)
    assert not report.nothing_changed
    assert "A brand new text." in page.read_text(encoding="utf-8")
