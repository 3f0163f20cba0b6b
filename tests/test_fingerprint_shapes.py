"""Templates that read a value alike share one usage in a build's fingerprints (the article lists of
the index, tag, category and author pages), so what is worked out of a post for one list serves
the others; a template that walks a tree (a comment's replies) still fingerprints every level."""

from __future__ import annotations

from types import SimpleNamespace

from jinja2 import DictLoader, Environment

from hubbub.build.fingerprint import Fingerprinter

LIST = "{% for a in articles %}<a href='{{ a.url }}'>{{ a.title }}</a>{% endfor %}"
TREE = ("{% macro show(items) %}{% for c in items %}<p>{{ c.text }}</p>{{ show(c.replies) }}{% endfor %}"
        "{% endmacro %}{{ show(comments) }}")
ENV = Environment(loader=DictLoader({
    "index.html": "<h1>{{ SITENAME }}</h1>" + LIST,
    "tag.html": "<h1>{{ tag }}</h1>" + LIST,
    "other.html": "{% for a in articles %}{{ a.title }}{% endfor %}",
    "tree.html": TREE,
}))


def test_lists_read_alike_share_one_usage_and_others_do_not():
    prints = Fingerprinter()
    index, _ = prints.template(ENV.get_template("index.html"))
    tag, _ = prints.template(ENV.get_template("tag.html"))
    other, _ = prints.template(ENV.get_template("other.html"))
    assert index["articles"] is tag["articles"]
    assert other["articles"] is not index["articles"]  # reads the title only, not the URL


def test_a_tree_of_any_depth_counts_at_every_level():
    template = ENV.get_template("tree.html")

    def thread(deepest: str):
        leaf = SimpleNamespace(text=deepest, replies=[])
        return [SimpleNamespace(text="top", replies=[SimpleNamespace(text="middle", replies=[leaf])])]

    first = Fingerprinter().page(template, "tree.html", {"comments": thread("a")})
    assert first == Fingerprinter().page(template, "tree.html", {"comments": thread("a")})
    assert first != Fingerprinter().page(template, "tree.html", {"comments": thread("b")})
