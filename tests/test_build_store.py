"""The build cache (cache/hubbub/build.sqlite): shared by two builds of one site at once, e.g.
`hubbub build --full` in a terminal while `hubbub serve --reload` rebuilds after a save."""

from __future__ import annotations

import threading

from hubbub.build.store import Store


def test_a_second_build_waits_for_the_first_instead_of_failing_half_way(tmp_path, caplog):
    first, second = Store(tmp_path), Store(tmp_path)
    first.reader_put("old", b"0")
    done = threading.Event()
    failures = []

    def other_build():
        try:
            with second.batch():
                second.reader_put("theirs", b"2")
        except Exception as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)
        done.set()

    with first.batch():
        assert first.reader_get("old") == b"0"  # the first build has read...
        other = threading.Thread(target=other_build)
        other.start()
        # ...and the other build, started meanwhile, waits for it rather than committing under it.
        assert not done.wait(0.5)
        first.reader_put("mine", b"1")  # a deferred transaction failed here: "database is locked"
    other.join(30)
    assert failures == [] and done.is_set()
    assert (first.reader_get("mine"), first.reader_get("theirs")) == (b"1", b"2")
    assert "another build of this site" in caplog.text
    first.close()
    second.close()


def test_development_and_publish_builds_read_each_post_once(tmp_path):
    """The reader cache is shared by every configuration that reads sources alike: settings that
    only change how pages look (the site's address, HUBBUB_PUBLISH) leave its key alone."""
    from build_helpers import make_site

    from hubbub.build import load_settings
    from hubbub.build.engine import reader_digest

    site = make_site(tmp_path / "site", posts=2)
    (site / "publishconf.py").write_text("from pelicanconf import *\nSITEURL = 'https://example.org'\n",
                                         encoding="utf-8")
    development, production = load_settings(site), load_settings(site, publish=True)
    assert development["HUBBUB_PUBLISH"] is False and production["HUBBUB_PUBLISH"] is True
    assert reader_digest(development, site) == reader_digest(production, site)
