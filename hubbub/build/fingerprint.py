"""Fingerprints of what a page is rendered from, so an unchanged page is never rendered again.

A page's fingerprint hashes its template (with every template it extends, includes or imports),
its output name, and exactly the parts of its context those templates read (usage.py: which
attributes of which variables, how the elements of a list are used). A part read whole is hashed
deeply:

- a content object (article, page, static file) by all its attributes, and the attributes of the
  content objects it refers to (an article's similar posts, its translations) one level down;
  farther references count by their source path. Content holding intra-site links ({filename},
  {static}, ...) also counts by its links resolved, so a linked post's new URL changes it;
- taxonomy objects (tags, categories, authors) by name, slug and whatever plugins attached (an
  author's profile);
- lists, dicts, dataclasses and other objects by their contents.

A template whose includes cannot be read statically (a name computed at render time) makes the
fingerprint cover the whole page context: slower, never wrong. Within one build every object is
hashed at most once per way of reading it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import types
from collections.abc import Mapping

from jinja2 import Environment
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper

from .compat import has_intrasite_links
from .usage import Usage, template_usage

# Attributes that are the whole site rather than a property of one object.
SKIPPED_ATTRIBUTES = frozenset({"_context", "settings"})
_NOT_USED = object()
_CODE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)


_PLAIN = (str, int, float, bool, complex, dt.datetime, dt.date, dt.time, dt.timedelta)
_MISSING = object()
_SHALLOW = (Page, Paginator)  # their whole value lists their articles by identity only


def _lookup(obj, key):
    """What Jinja finds for obj.key / obj[key] (attribute first, then item); _MISSING if nothing."""
    if isinstance(key, str):
        try:
            return getattr(obj, key)
        except Exception:  # noqa: BLE001 - Jinja, too, turns any failure into "undefined"
            pass
    try:
        return obj[key]
    except Exception:  # noqa: BLE001
        return _MISSING


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _reads(*names: str, **nested: Usage) -> Usage:
    usage = Usage()
    for name in names:
        usage.item(name).whole = True
    usage.items.update(nested)
    return usage


# What Pelican's writer reads of each article it puts in a feed (Writer._add_item_to_the_feed).
FEED_ITEM = _reads("title", "url", "summary", "content", "date", "modified",
                   category=_reads("name"), author=_reads("name"), tags=Usage(elements=_reads("name")))


class Fingerprinter:
    """Hashes render inputs for one build; every object is hashed once (objects live for the build)."""

    def __init__(self, env: Environment):
        self.env = env
        self._memo: dict[tuple[int, int], str] = {}
        self._keep: list = []  # keeps hashed objects alive, so their ids stay unique for the build
        self._templates: dict[str, tuple[dict | None, str]] = {}

    def template(self, name: str) -> tuple[dict | None, str]:
        """(how the template uses each context variable, or None for all of it; its sources' hash)"""
        found = self._templates.get(name)
        if found is None:
            usage = template_usage(self.env, name)
            sources = _digest("\n".join(f"{n}:{_digest(s)}" for n, _f, s in sorted(usage.sources)))
            found = self._templates[name] = (usage.roots, sources)
        return found

    def page(self, template_name: str, output: str, context: Mapping) -> str:
        """The fingerprint of rendering `template_name` with `context` into `output`."""
        roots, sources = self.template(template_name)
        parts = [sources, output]
        if roots is None:
            parts += [f"{name}={self.value(context[name])}" for name in sorted(context)]
        else:
            for name in sorted(roots):
                value = context.get(name, _NOT_USED)
                parts.append(f"{name}={'-' if value is _NOT_USED else self.used(value, roots[name])}")
        return _digest("\x1f".join(parts))

    def used(self, obj, usage: Usage) -> str:
        """The fingerprint of the parts of `obj` that `usage` says a template reads."""
        if obj is None or isinstance(obj, _PLAIN) or (usage.whole and not isinstance(obj, _SHALLOW)):
            return self.value(obj)
        key = (id(obj), id(usage))
        found = self._memo.get(key)
        if found is not None:
            return found
        self._keep.append(obj)
        # A paginator page "whole" is its numbers and whom it lists; what is shown of those it
        # lists counts through the parts the template reads (object_list elements).
        parts = [self.value(obj) if usage.whole else type(obj).__qualname__]
        if usage.truth:
            try:
                parts.append(f"?{bool(obj)}")
            except Exception:  # noqa: BLE001 - as Jinja would fail on it too
                parts.append("?!")
        if usage.text:
            try:
                parts.append("'" + _digest(str(obj)))
            except Exception:  # noqa: BLE001 - the render fails the same way
                parts.append("'!")
        if usage.length:
            try:
                parts.append(f"#{len(obj)}")
            except TypeError:
                parts.append("#?")
        for name, sub in sorted(usage.items.items(), key=lambda item: repr(item[0])):
            parts.append(f"{name!r}={self.used(_lookup(obj, name), sub)}")
        if usage.elements is not None:
            try:
                items = list(obj)
            except TypeError:
                items = None
            parts.append("*" if items is None else "[" + ",".join(self.used(i, usage.elements) for i in items) + "]")
        found = self._memo[key] = _digest("\x1f".join(parts))
        return found

    def feed(self, output: str, parameters: list, items: list) -> str:
        """The fingerprint of a feed of `items` (content objects) written to `output`."""
        parts = [output, *map(repr, parameters), *(self.used(item, FEED_ITEM) for item in items)]
        return _digest("\x1f".join(parts))

    def value(self, obj, depth: int = 0) -> str:
        kind = type(obj)
        if obj is _MISSING:
            return "missing"
        if obj is None or kind in (bool, int, float, complex):
            return repr(obj)
        if isinstance(obj, str):
            return "s" + (obj if len(obj) < 48 else _digest(obj))
        if isinstance(obj, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            return f"t{obj!r}"
        key = (id(obj), depth)
        found = self._memo.get(key)
        if found is not None:
            return found
        self._memo[key] = "cycle"  # a structure that contains itself hashes the inner mention as this
        self._keep.append(obj)
        result = _digest(self._describe(obj, depth))
        self._memo[key] = result
        return result

    def _describe(self, obj, depth: int) -> str:
        if isinstance(obj, Content):
            return self._content(obj, depth)
        if isinstance(obj, (Page, Paginator)):
            # Its methods (has_next, ...) and links depend on numbers and names; the articles it
            # holds count by identity here, and by what is shown of them where they are listed.
            listed = ",".join(self._ref(item) for item in obj.object_list)
            extra = (f"{obj.number}:{obj.base_name}:{obj.base_url}:{self.value(obj.paginator)}" if isinstance(obj, Page)
                     else f"{obj.url}:{obj.per_page}:{obj.orphans}:{obj.num_pages}")
            return f"p{type(obj).__name__}:{obj.name}:{extra}:[{listed}]"
        if isinstance(obj, URLWrapper):
            return f"u{type(obj).__name__}:{obj.name}:{obj.slug}:{self._attributes(obj, depth)}"
        if isinstance(obj, Mapping):
            items = sorted((self.value(k, depth), self.value(v, depth)) for k, v in obj.items())
            return "d" + ",".join(f"{k}:{v}" for k, v in items)
        if isinstance(obj, (list, tuple)):
            return "l" + ",".join(self.value(item, depth) for item in obj)
        if isinstance(obj, (set, frozenset)):
            return "e" + ",".join(sorted(self.value(item, depth) for item in obj))
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            fields = ",".join(f"{f.name}={self.value(getattr(obj, f.name), depth)}" for f in dataclasses.fields(obj))
            return f"c{type(obj).__qualname__}:{fields}"
        if isinstance(obj, _CODE):
            return f"f{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"
        if hasattr(obj, "__dict__"):
            return f"o{type(obj).__qualname__}:{self._attributes(obj, depth)}"
        return f"r{type(obj).__qualname__}:{obj!r}"

    def _ref(self, obj) -> str:
        return f"ref:{obj.source_path}" if isinstance(obj, Content) else self.value(obj, 2)

    def _attributes(self, obj, depth: int) -> str:
        return ",".join(f"{k}={self.value(v, depth)}" for k, v in sorted(vars(obj).items())
                        if k not in SKIPPED_ATTRIBUTES)

    def _content(self, obj: Content, depth: int) -> str:
        if depth >= 2:  # farther than the objects a page shows: the reference itself
            return f"ref:{obj.source_path}"
        parts = [f"C{type(obj).__name__}:{obj.source_path}"]
        for name, value in sorted(vars(obj).items()):
            if name not in SKIPPED_ATTRIBUTES:
                parts.append(f"{name}={self.value(value, depth + 1)}")
        if has_intrasite_links(obj):
            # The HTML with its links resolved: a linked post's new URL changes this page too.
            parts.append(f"content={self.value(obj.get_content(''), depth + 1)}")
            parts.append(f"summary={self.value(obj.get_summary(''), depth + 1)}")
        return "|".join(parts)
