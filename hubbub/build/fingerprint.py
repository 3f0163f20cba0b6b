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
fingerprint cover the whole page context: slower, never wrong. A template whose own source cannot be read
has no fingerprint: its pages are rendered on every build. Within one build every object is
hashed at most once per way of reading it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import os
import types
from collections.abc import Mapping

from jinja2 import Environment, Template
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper

from .compat import has_intrasite_links
from .usage import Usage, template_usage

# Attributes that are the whole site rather than a property of one object.
SKIPPED_ATTRIBUTES = frozenset({"_context", "settings"})
_NOT_USED = object()
# Code counts by name here; its source counts in the build's configuration digest (engine.py),
# whose change renders every page again.
_CODE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)


_PLAIN = (str, int, float, bool, complex, dt.datetime, dt.date, dt.time, dt.timedelta)
_MISSING = object()
_SHALLOW = (Page, Paginator)  # their whole value lists their articles by identity only
# Properties of Pelican's content objects computed from what was read and the settings alone.
_PURE_PROPERTIES = frozenset({"url", "save_as", "summary", "content", "locale_date", "date_format",
                              "relative_source_path", "status", "template"})


def _holds(value, kind: type, depth: int = 0) -> bool:
    """Whether a page may reach a `kind` (a content object, a taxonomy object) through this value:
    one itself, or a structure holding one (lists, tuples, dicts, dataclasses, a few levels down)."""
    if isinstance(value, kind):
        return True
    if depth > 3 or value is None or isinstance(value, _PLAIN):
        return False
    if isinstance(value, Mapping):
        value = list(value.values())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, f.name) for f in dataclasses.fields(value)]
    return isinstance(value, (list, tuple)) and any(_holds(item, kind, depth + 1) for item in value)


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


_WHOLE = Usage(whole=True)


def _element_usages(usage: Usage, found: list[Usage]) -> bool:
    """Add how a template reads the elements of a paginated list through one of its pages or its
    paginator (their object_list, iterated or by position) to `found`. Whatever else it reads of a
    page is worked out from the list, the page's position and the settings. False when the page is
    read in a way this cannot follow (iterated itself, its list printed or compared, a method of it)."""
    if usage.elements is not None:
        return False
    for key, sub in usage.items.items():
        if key != "object_list":
            if not _element_usages(sub, found):
                return False
            continue
        if sub.text or sub.compared or any(not isinstance(k, int) for k in sub.items):
            return False
        if sub.whole:
            found.append(_WHOLE)
        if sub.elements is not None:
            found.append(sub.elements)
        found.extend(sub.items.values())
    return True


class Fingerprinter:
    """Hashes render inputs for one build; every object is hashed once (objects live for the build)."""

    def __init__(self, stable: dict | None = None, remembered: dict | None = None, content_root: str = "/"):
        self.content_root = content_root  # source paths count relative to it: a moved site keeps its fingerprints
        # Content objects as read from their source (id -> (path, version, attributes set when read
        # with their values, whether its HTML or summary linked to other sources then))
        # and, from earlier builds, the digests of their plain attributes by (path, name):
        # an unchanged post's title, URL and summary are not worked out again.
        self.stable = stable or {}
        self.remembered = {} if remembered is None else remembered
        self._lookups: dict[tuple[int, object], object] = {}
        self._memo: dict[tuple[int, int], str] = {}
        self._keep: list = []  # keeps hashed objects alive, so their ids stay unique for the build
        self._templates: dict[tuple[Environment, str], tuple[dict | None, str] | None] = {}
        self._usage_items: dict[int, tuple[Usage, list]] = {}
        self._shapes: dict[tuple, Usage] = {}  # how a value is read -> the build's first usage read so
        self._shape_of: dict[int, tuple] = {}  # id(usage) -> its shape (the usage kept in _shapes' values or _keep)
        self._held: dict[tuple, bool] = {}  # (id(obj), attribute, kind) -> _holds of the attribute's value
        self._as_read: dict[int, frozenset] = {}

    def template(self, template: Template) -> tuple[dict | None, str] | None:
        """(how the template uses each context variable, or None for all of it; its sources' hash),
        or None when its source cannot be read: then nothing is known of what its pages show.

        Read through the template's own environment: a page is rendered from that environment's
        templates (Pelican's template pages come through a loader only theirs has)."""
        key = (template.environment, template.name)
        if key not in self._templates:
            usage = template_usage(*key)
            if usage is None:
                self._templates[key] = None
            else:
                sources = _digest("\n".join(f"{n}:{_digest(s)}" for n, _f, s in sorted(usage.sources)))
                roots = None if usage.roots is None else {  # in the order pages hash them
                    name: self._canonical(root) for name, root in sorted(usage.roots.items())}
                self._templates[key] = (roots, sources)
        return self._templates[key]

    def _canonical(self, usage: Usage) -> Usage:
        """The build's one usage of this shape: templates that read a value alike (the article lists
        of the index, tag, category and author pages) then share what is worked out of it."""
        return self._shapes.setdefault(self._shape(usage, ()), usage)

    def _shape(self, usage: Usage, path: tuple) -> tuple:
        """What a usage reads, as a value (equal shapes read alike); its parts are made canonical on
        the way. A usage that contains itself (a template walking a comment's replies) names the
        repeated part by identity."""
        found = self._shape_of.get(id(usage))
        if found is not None:
            return found
        if id(usage) in path:
            return ("again", id(usage))
        path = (*path, id(usage))
        items = []
        for key, sub in sorted(usage.items.items(), key=lambda item: repr(item[0])):
            shape = self._shape(sub, path)
            usage.items[key] = self._shapes.setdefault(shape, sub)
            items.append((repr(key), shape))
        elements = None
        if usage.elements is not None:
            elements = self._shape(usage.elements, path)
            usage.elements = self._shapes.setdefault(elements, usage.elements)
        found = (usage.whole, usage.length, usage.truth, usage.text, usage.compared, tuple(items), elements)
        self._keep.append(usage)  # named by id in other shapes: its id must stay its own
        self._shape_of[id(usage)] = found
        return found

    def page(self, template: Template, output: str, context: Mapping) -> str | None:
        """The fingerprint of rendering `template` with `context` into `output`; None when the
        template's source cannot be read (the page is rendered every build)."""
        known = self.template(template)
        if known is None:
            return None
        roots, sources = known
        parts = [sources, output]
        if roots is None:
            parts += [f"{name}={self.value(context[name])}" for name in sorted(context)]
        else:
            for name in roots:
                value = context.get(name, _NOT_USED)
                parts.append(f"{name}={'-' if value is _NOT_USED else self.used(value, roots[name])}")
        return _digest("\x1f".join(parts))

    def quick_page(self, template: Template, output: str, context: Mapping) -> str | None:
        """A cheaper fingerprint with the same guarantee: equal quick fingerprints mean equal
        fingerprints. Content objects read from sources count by their version (version()) and
        the parts of their taxonomies that are read, so an unchanged post costs a lookup. None when
        the templates' reads are not known."""
        roots, sources = self.template(template) or (None, None)
        if roots is None or not self.stable:
            return None
        parts = [sources, output]
        for name, usage in roots.items():
            value = context.get(name, _NOT_USED)
            parts.append(f"{name}={'-' if value is _NOT_USED else self.used(value, usage, quick=True)}")
        return _digest("\x1f".join(parts))

    def quick_group(self, template: Template, output: str, context: Mapping, lists: Mapping, fixed: list) -> str | None:
        """A quick fingerprint of every page one paginated write makes of `lists` (Pelican's
        `paginated`: name -> articles) with `template` into `output` and the pages after it:
        equal quick group fingerprints mean each of those pages has an equal quick fingerprint.
        A page differs from the next only in what Pelican works out from the list, its position and
        the settings (its paginator, pages, their numbers and names, its output_file and relative
        SITEURL): so the group counts each list by whom it holds, in order, and how the pages read
        each element. `fixed`: the other arguments of the write (URL, relative URLs, ...).
        None when the templates' reads are not known."""
        roots, sources = self.template(template) or (None, None)
        if roots is None or not self.stable:
            return None
        derived = {f"{key}_{part}": key for key in lists for part in ("paginator", "page", "previous_page", "next_page")}
        per_page = {"output_file", "SITEURL", "localsiteurl"} if fixed[0] else {"output_file"}  # fixed[0]: relative URLs
        element_usages: dict[str, list[Usage]] = {key: [] for key in lists}
        parts = [sources, output, *map(repr, fixed)]
        for name in roots:
            if name in derived:
                if not _element_usages(roots[name], element_usages[derived[name]]):
                    return None
            elif name not in per_page:
                value = context.get(name, _NOT_USED)
                parts.append(f"{name}={'-' if value is _NOT_USED else self.used(value, roots[name], quick=True)}")
        for key in sorted(lists):
            items = list(lists[key])
            parts.append(f"{key}:[{','.join(self._identity(item) for item in items)}]")
            for usage in element_usages[key]:
                parts.append("[" + ",".join(self.used(item, usage, quick=True) for item in items) + "]")
        return _digest("\x1f".join(parts))

    def quick_feed(self, output: str, parameters: list, items: list) -> str | None:
        if not self.stable:
            return None
        parts = [output, *map(repr, parameters), *(self.used(item, FEED_ITEM, quick=True) for item in items)]
        return _digest("\x1f".join(parts))

    def read(self, obj: Content) -> frozenset:
        """The attributes of an object read from a source that still hold the value they were read
        with: the source's stamp stands for those. One a plugin set in place of what was read
        (the comments plugin's `comments` on a post with a `Comments:` line) counts as attached."""
        found = self._as_read.get(id(obj))
        if found is None:
            now = vars(obj)
            found = self._as_read[id(obj)] = frozenset(
                name for name, value in self.stable[id(obj)][2].items() if now.get(name, _MISSING) is value)
        return found

    def version(self, obj: Content) -> str | None:
        """What an object read from a source is, as far as any page can tell, but for its
        taxonomies (wrapped()): its source's stamp (everything read, and what Pelican works out
        from it and the settings), what plugins attached since (content objects in there by source
        path), and its links resolved. None if not from a source."""
        stable = self.stable.get(id(obj))
        if stable is None:
            return None
        key = (id(obj), "version")
        found = self._memo.get(key)
        if found is not None:
            return found
        path, stamp, _values, links = stable
        read = self.read(obj)
        parts = [path, stamp]
        for name, value in sorted(vars(obj).items()):
            if name not in read and name not in SKIPPED_ATTRIBUTES:
                parts.append(f"{name}={self.value(value, 2)}")
        if links:
            parts.append(self.value(obj.get_content(""), 2))
            parts.append(self.value(obj.get_summary(""), 2))
        found = self._memo[key] = _digest("\x1f".join(parts))
        return found

    def wrapped(self, obj: Content) -> str:
        """The taxonomies an object was read with (category, tags, authors, and the metadata that
        holds them too), with what plugins attached to them since (an author's profile, whose stats
        follow every comment): kept out of version(), so a page that shows only a writer's name
        does not change with them."""
        key = (id(obj), "wrapped")
        found = self._memo.get(key)
        if found is None:
            read = self.read(obj)
            found = self._memo[key] = _digest("\x1f".join(
                f"{name}={self.value(value, 2)}" for name, value in sorted(vars(obj).items())
                if name in read and _holds(value, URLWrapper)))
        return found

    def _quick_content(self, obj: Content, usage: Usage) -> str | None:
        version = self.version(obj)
        if version is None:
            return None
        read = self.read(obj)
        parts = [version]
        if usage.text:
            parts.append("'" + _digest(str(obj)))
        if usage.whole:  # everything it holds: the versions of the content it refers to as well
            parts.append(self.wrapped(obj))
            for name, value in sorted(vars(obj).items()):
                if name not in read and name not in SKIPPED_ATTRIBUTES:
                    parts.append(f"{name}={self._versions(value)}")
        # What was attached after reading may lead to other content objects (similar posts,
        # translations): follow those; and the parts of its taxonomies that are read. Everything
        # else it holds is in its version.
        for name, sub in self._items(usage):
            if name in _PURE_PROPERTIES:
                continue
            attached = name not in read
            if not attached and usage.whole:
                continue
            kind = Content if attached else URLWrapper
            key = (id(obj), name, kind)
            holds = self._held.get(key)
            if holds is None:  # the same for every way a build's pages read this object
                holds = self._held[key] = _holds(self.lookup(obj, name), kind)
            if holds:
                parts.append(f"{name!r}={self.used(self.lookup(obj, name), sub, quick=True)}")
        return _digest("\x1f".join(parts))

    def _items(self, usage: Usage) -> list:
        """What a usage reads of an object, in a fixed order."""
        found = self._usage_items.get(id(usage))
        if found is None:  # (the usage is kept with it, so its id stays its own)
            found = self._usage_items[id(usage)] = (usage, sorted(usage.items.items(), key=lambda item: repr(item[0])))
        return found[1]

    def _versions(self, value) -> str:
        if isinstance(value, Content):
            version = self.version(value)
            return self.value(value, 1) if version is None else version + self.wrapped(value)
        if isinstance(value, (list, tuple)):
            return "l" + ",".join(self._versions(item) for item in value)
        return self.value(value, 2)

    def used(self, obj, usage: Usage, quick: bool = False) -> str:
        """The fingerprint of the parts of `obj` that `usage` says a template reads."""
        if obj is None or obj is _MISSING or isinstance(obj, _PLAIN):
            return self.value(obj)
        # Pelican makes a taxonomy object per article: those with one name and slug read alike.
        key = ((type(obj), obj.name, obj.slug, id(usage), quick) if isinstance(obj, URLWrapper)
               else (id(obj), id(usage), quick))
        found = self._memo.get(key)
        if found is not None:
            return found
        if quick and isinstance(obj, Content):
            found = self._quick_content(obj, usage)
            if found is not None:
                self._keep.append(obj)
                self._memo[key] = found
                return found
        if usage.whole and not isinstance(obj, _SHALLOW):
            return self.value(obj)
        self._keep.append(obj)
        # A paginator page "whole" is its numbers and whom it lists; what is shown of those it
        # lists counts through the parts the template reads (object_list elements).
        parts = [self.value(obj) if usage.whole else type(obj).__qualname__]
        if usage.truth:
            try:
                parts.append(f"?{bool(obj)}")
            except Exception:  # noqa: BLE001 - as Jinja would fail on it too
                parts.append("?!")
        if usage.compared:
            parts.append("=" + self._identity(obj))
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
        stable = self.stable.get(id(obj))
        for name, sub in self._items(usage):
            found = (self.used(self.lookup(obj, name), sub, quick=True) if quick
                     else self._item(obj, name, sub, stable))
            parts.append(f"{name!r}={found}")
        if usage.elements is not None:
            try:
                items = list(obj)
            except TypeError:
                items = None
            parts.append("*" if items is None else "[" + ",".join(self.used(i, usage.elements, quick) for i in items) + "]")
        found = self._memo[key] = _digest("\x1f".join(parts))
        return found

    def _item(self, obj, name, usage: Usage, stable) -> str:
        """used() of obj.name, remembered across builds when it is a plain value of an unchanged object."""
        if stable is not None and (name in self.read(obj) or name in _PURE_PROPERTIES) and not (
                name in ("content", "summary") and stable[3]):
            key = (stable[0], name)
            known = self.remembered.get(key)
            if known is not None and known[0] == stable[1]:
                return known[1]
            value = self.lookup(obj, name)
            digest = self.used(value, usage)
            if value is None or isinstance(value, _PLAIN):
                self.remembered[key] = (stable[1], digest)
            return digest
        return self.used(self.lookup(obj, name), usage)

    def lookup(self, obj, name):
        """_lookup, once per object and name in a build (Pelican's URLs are worked out on each access).

        Pelican makes a taxonomy object per article: those with one name and slug share answers."""
        key = (type(obj), obj.name, obj.slug, name) if isinstance(obj, URLWrapper) else (id(obj), name)
        try:
            return self._lookups[key]
        except KeyError:
            self._keep.append(obj)  # its id must not pass to another object while the build runs
            value = self._lookups[key] = _lookup(obj, name)
            return value

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
        # Pelican makes a taxonomy object per article: those with one name and slug hash alike.
        key = (type(obj), obj.name, obj.slug, depth) if isinstance(obj, URLWrapper) else (id(obj), depth)
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
            # Pelican's URLWrapper.as_dict() copies name and slug into the object's own attributes
            # whenever a URL is worked out: whether they are there says nothing about the object.
            attributes = ",".join(f"{k}={self.value(v, depth)}" for k, v in sorted(vars(obj).items())
                                  if k not in SKIPPED_ATTRIBUTES and k not in ("name", "slug"))
            return f"u{type(obj).__name__}:{obj.name}:{obj.slug}:{attributes}"
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

    def source(self, obj: Content) -> str:
        stable = self.stable.get(id(obj))
        if stable is not None:
            return stable[0]
        key = (id(obj), "source")
        found = self._memo.get(key)
        if found is None:
            path = obj.source_path or ""
            found = os.path.relpath(path, self.content_root) if os.path.isabs(path) else path
            self._keep.append(obj)
            self._memo[key] = found
        return found

    def _identity(self, obj) -> str:
        """What == compares: content objects by identity (their source), taxonomies by slug."""
        if isinstance(obj, Content):
            return f"ref:{self.source(obj)}"
        if isinstance(obj, URLWrapper):
            return f"{type(obj).__name__}:{obj.slug}"
        return self.value(obj)

    def _ref(self, obj) -> str:
        return f"ref:{self.source(obj)}" if isinstance(obj, Content) else self.value(obj, 2)

    def _attributes(self, obj, depth: int) -> str:
        return ",".join(f"{k}={self.value(v, depth)}" for k, v in sorted(vars(obj).items())
                        if k not in SKIPPED_ATTRIBUTES)

    def _content(self, obj: Content, depth: int) -> str:
        if depth >= 2:  # farther than the objects a page shows: the reference itself
            return f"ref:{self.source(obj)}"
        parts = [f"C{type(obj).__name__}:{self.source(obj)}"]
        for name, value in sorted(vars(obj).items()):
            if name not in SKIPPED_ATTRIBUTES and name != "source_path":
                parts.append(f"{name}={self.value(value, depth + 1)}")
        stable = self.stable.get(id(obj))
        if has_intrasite_links(obj) if stable is None else stable[3]:
            # The HTML with its links resolved: a linked post's new URL changes this page too.
            parts.append(f"content={self.value(obj.get_content(''), depth + 1)}")
            parts.append(f"summary={self.value(obj.get_summary(''), depth + 1)}")
        return "|".join(parts)
