"""A build stopped by a bad source leaves the built site as it was.

- `DELETE_OUTPUT_DIRECTORY = True` (Pelican's own publishconf.py sets it, so existing sites have
  it) let Pelican empty output/ before reading the site: one post with a bad date then left no
  site at all (nor the manifest the comment service finds its threads in), while the build said
  "no page was written or removed".
- A post's bad metadata (`Comments: maybe`) stopped the build before it wrote anything, yet left
  its "build running" mark: the next build warned that the last one "stopped half-way" and
  rendered every page again.
"""

from __future__ import annotations

import pytest

from hubbub.build import BuildError, run_build


@pytest.fixture
def site(tmp_path):
    from hubbub.init_site import init_site

    root = tmp_path / "site"
    init_site(root, "Stops cleanly", "Jane Doe", None)
    return root


def post(site, slug: str, header: str) -> None:
    (site / "content" / "posts" / f"{slug}.md").write_text(f"Title: {slug}\nAuthor: Jane Doe\n{header}\n\nText.\n",
                                                           encoding="utf-8")


def built_files(site) -> set[str]:
    out = site / "output"
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "pagefind" not in p.parts}


def test_a_stopped_build_with_delete_output_directory_leaves_the_site(site):
    with (site / "pelicanconf.py").open("a", encoding="utf-8") as conf:
        conf.write("\nDELETE_OUTPUT_DIRECTORY = True\n")
    run_build(site)
    before = built_files(site)
    assert "posts/welcome/index.html" in before and ".hubbub/manifest.json" in before

    post(site, "broken", "Date: not-a-date")
    with pytest.raises(BuildError, match="no page was written or removed"):
        run_build(site)
    assert built_files(site) >= before - {".hubbub/build-running"}

    (site / "content" / "posts" / "broken.md").unlink()
    post(site, "second", "Date: 2024-05-01")
    run_build(site)
    assert "posts/second/index.html" in built_files(site)
    # What the setting is for still holds: pages of deleted posts go.
    (site / "content" / "posts" / "second.md").unlink()
    run_build(site)
    assert "posts/second/index.html" not in built_files(site)
    assert "posts/welcome/index.html" in built_files(site)


def test_bad_metadata_does_not_make_the_next_build_a_repair(site, caplog):
    run_build(site)
    post(site, "maybe", "Date: 2024-05-01\nComments: maybe")
    with pytest.raises(BuildError, match="'Comments: maybe' is not understood"):
        run_build(site)
    post(site, "maybe", "Date: 2024-05-01\nComments: open")
    report = run_build(site)
    assert not report.repaired
    assert "stopped half-way" not in caplog.text
    assert "posts/maybe/index.html" in built_files(site)
