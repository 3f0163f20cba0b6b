"""Code changes the incremental build must see: the site's own Python (a function in pelicanconf.py,
a plugin under PLUGIN_PATHS, a Markdown extension next to the settings) renders every page again,
as a changed template or setting does, and gives what `hubbub build --full` writes.

The builds run as `hubbub build` does, in a process of their own started in the site's directory:
that is how the site's modules are found (Markdown imports an extension by name), and a module
imported once stays as it was in the process that imported it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from build_helpers import ROOT, WRITERS, build, make_site, private_copy, tree_differences, write_thread

import hubbub

SETTINGS = '''
import os

def shout(text):
    return str(text).upper()

JINJA_FILTERS = {"shout": shout}
THEME_TEMPLATES_OVERRIDES = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")]
PLUGIN_PATHS = ["plugins"]
PLUGINS = [*PLUGINS, "stamp"]
MARKDOWN["extension_configs"]["mdext"] = {}
'''

PLUGIN = '''from pelican import signals


def stamp(generator):
    for article in generator.articles:
        article.stamp = "plugin-one"


def register():
    signals.article_generator_finalized.connect(stamp)
'''

EXTENSION = '''from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor


class Signed(Postprocessor):
    def run(self, text):
        return text + "\\n<p>extension-one</p>"


class SignedExtension(Extension):
    def extendMarkdown(self, md):
        md.postprocessors.register(Signed(md), "signed", 0)


def makeExtension(**kwargs):
    return SignedExtension(**kwargs)
'''


def cli_build(site: Path, *args: str) -> str:
    """`hubbub build ARGS` run in the site's directory; its report line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "hubbub", "build", *args], cwd=site, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()[0]


def assert_cli_same_as_full(site: Path, tmp: Path) -> str:
    """An incremental build, then one from scratch elsewhere: the two outputs must be identical."""
    report = cli_build(site)
    full = tmp / f"full-{len(list(tmp.glob('full-*')))}"
    cli_build(site, "--full", "--output", str(full))
    problems = tree_differences(site / "output", full)
    assert not problems, "incremental build differs from --full:\n  " + "\n  ".join(problems[:30])
    shutil.rmtree(full)
    return report


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def built_template(tmp_path_factory) -> Path:
    """A built site whose pages show what its own code makes: a filter defined in pelicanconf.py,
    an attribute a PLUGIN_PATHS plugin sets, and a paragraph a site-local Markdown extension adds."""
    site = make_site(tmp_path_factory.mktemp("code") / "site", posts=12)
    with open(site / "pelicanconf.py", "a", encoding="utf-8") as fh:
        fh.write(SETTINGS)
    (site / "plugins").mkdir()
    (site / "plugins" / "stamp.py").write_text(PLUGIN, encoding="utf-8")
    (site / "mdext.py").write_text(EXTENSION, encoding="utf-8")
    partials = site / "templates" / "partials"
    partials.mkdir(parents=True)
    meta = (Path(hubbub.THEME) / "templates" / "partials" / "article_meta.html").read_text(encoding="utf-8")
    (partials / "article_meta.html").write_text(
        meta + '<p class="code">{{ article.title|shout }} {{ article.stamp }}</p>\n', encoding="utf-8")
    cli_build(site)
    page = (site / "output" / "posts" / "post-1" / "index.html").read_text(encoding="utf-8")
    assert "POST NUMBER 1" in page and "plugin-one" in page and "extension-one" in page
    return site


@pytest.fixture
def site(built_template, tmp_path) -> Path:
    return private_copy(built_template, tmp_path)


def test_a_changed_function_in_pelicanconf_renders_again(site, tmp_path):
    edit(site / "pelicanconf.py", "return str(text).upper()", "return str(text).lower()")
    report = assert_cli_same_as_full(site, tmp_path)
    assert "Nothing changed" not in report
    assert "post number 1" in (site / "output" / "posts" / "post-1" / "index.html").read_text(encoding="utf-8")


def test_a_changed_plugin_under_plugin_paths_renders_again(site, tmp_path):
    edit(site / "plugins" / "stamp.py", '"plugin-one"', '"plugin-two"')
    report = assert_cli_same_as_full(site, tmp_path)
    assert "Nothing changed" not in report
    assert "plugin-two" in (site / "output" / "posts" / "post-1" / "index.html").read_text(encoding="utf-8")


def test_a_changed_site_markdown_extension_reads_every_post_again(site, tmp_path):
    """The reader cache keeps each post's HTML by its bytes: the extension's code is part of its key."""
    edit(site / "mdext.py", "extension-one", "extension-two")
    report = assert_cli_same_as_full(site, tmp_path)
    assert "Nothing changed" not in report
    page = (site / "output" / "posts" / "post-1" / "index.html").read_text(encoding="utf-8")
    assert "extension-two" in page and "extension-one" not in page


def test_a_moved_site_with_its_own_code_still_has_nothing_to_do(built_template, tmp_path):
    """Paths of the site's code count relative to it: a copy elsewhere keeps its cache."""
    moved = tmp_path / "elsewhere" / "renamed-site"
    shutil.copytree(built_template, moved, symlinks=True)
    assert cli_build(moved).startswith("Nothing changed")


def test_a_full_build_repairs_a_comment_feed_edited_by_hand(tmp_path):
    site = make_site(tmp_path / "site", posts=6)
    write_thread(site, "post-1", [(1, None, WRITERS[0])])
    build(site)
    feeds = site / "output" / "feeds" / "comments"
    edited, untouched = feeds / "post-0.atom.xml", feeds / "post-1.rss.xml"
    original = edited.read_bytes()
    edited.write_bytes(original.replace(b"</feed>", b"<!-- edited by hand --></feed>"))
    past = time.time_ns() - 3_600 * 10**9
    os.utime(untouched, ns=(past, past))
    build(site, full=True)
    assert edited.read_bytes() == original
    assert untouched.stat().st_mtime_ns == past  # the same bytes: not written again


def test_an_upgraded_package_changes_what_pages_and_reading_depend_on(tmp_path, monkeypatch):
    """Pygments, nh3, Jinja2, Markdown, ...: any installed distribution's version counts."""
    from hubbub.build import load_settings
    from hubbub.build.engine import config_digest, reader_digest

    site = make_site(tmp_path / "site", posts=1)
    settings = load_settings(site)
    before = config_digest(settings, site), reader_digest(settings, site)
    packages = tmp_path / "packages"
    (packages / "Pygments-99.0.dist-info").mkdir(parents=True)
    monkeypatch.syspath_prepend(packages)
    after = config_digest(settings, site), reader_digest(settings, site)
    assert before[0] != after[0] and before[1] != after[1]


def test_how_a_build_is_started_does_not_matter(site):
    """`python -m hubbub` puts the working directory on sys.path, the `hubbub` script does not:
    a site that holds a distribution's metadata (a site installed with `pip install -e .`) must
    not look changed from one to the other."""
    (site / "mysite.egg-info").mkdir()
    assert cli_build(site).startswith("Nothing changed")
    script = Path(sys.executable).parent / "hubbub"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([str(script), "build"], cwd=site, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0 and done.stdout.startswith("Nothing changed"), done.stdout + done.stderr


def test_a_new_setting_keeps_what_posts_read_as_and_unused_plugin_files_do_not_count(site, tmp_path):
    """A settings file counts by its values for reading: a new SITENAME renders every page again
    but reads no post again. A file under PLUGIN_PATHS no plugin loads changes nothing."""
    from hubbub.build import load_settings
    from hubbub.build.engine import config_digest, reader_digest

    (site / "plugins" / "unused.py").write_text("VALUE = 1\n", encoding="utf-8")
    before = load_settings(site)
    edit(site / "pelicanconf.py", "PLUGIN_PATHS", "SITENAME = 'A new name'\nPLUGIN_PATHS")
    after = load_settings(site)
    assert reader_digest(before, site) == reader_digest(after, site)
    assert config_digest(before, site) != config_digest(after, site)
    edit(site / "pelicanconf.py", "SITENAME = 'A new name'\n", "")
    (site / "plugins" / "unused.py").write_text("VALUE = 2\n", encoding="utf-8")
    assert cli_build(site).startswith("Nothing changed")


def test_full_collections_resume_after_a_build_that_fails(site):
    import gc

    from hubbub.build import BuildError, run_build

    thresholds = gc.get_threshold()
    (site / "templates" / "partials" / "article_meta.html").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(BuildError):
        run_build(site)
    assert gc.get_threshold() == thresholds and gc.isenabled()
