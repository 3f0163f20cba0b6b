"""Everything the build reaches inside Pelican, in one place.

Hubbub's build is a Pelican run whose parts are swapped for faster ones that give the same
result: generators that reuse the content objects of unchanged sources and read changed ones
through a reader cache, a writer that skips pages whose inputs did not change, a static generator
that tells the build every file it puts in the output, two list scans of Pelican's that grow with
the square of the site made linear, and a path every URL asks for remembered.
tests/test_pelican_compat.py checks each assumption made here, so a Pelican release that changes
them fails loudly; the supported range is pinned in pyproject.toml (SUPPORTED below must agree).
"""

from __future__ import annotations

import inspect
import logging
import os
from datetime import datetime
from functools import lru_cache, partial
from itertools import chain, groupby
from operator import attrgetter

import pelican
from pelican import Pelican, generators, signals, utils
from pelican.contents import Article, Content, Page
from pelican.generators import ArticlesGenerator, PagesGenerator, StaticGenerator
from pelican.writers import Writer

log = logging.getLogger(__name__)

SUPPORTED = ((4, 11), (4, 12))  # major.minor releases of Pelican this module was checked against


class PelicanVersionError(RuntimeError):
    """This Pelican is outside the range the build was checked against."""


def check_version() -> None:
    version = tuple(int(part) for part in pelican.__version__.split(".")[:2])
    if version not in SUPPORTED:
        supported = ", ".join(".".join(map(str, v)) for v in SUPPORTED)
        raise PelicanVersionError(
            f"Pelican {pelican.__version__} is installed, but Hubbub's build supports {supported}: "
            f"install a supported Pelican (pip install 'pelican>=4.11,<4.13')")


# -- Pelican's two quadratic scans, made linear ----------------------------------------------------

def process_translations(content_list, translation_id=None):
    """pelican.utils.process_translations with the final membership test by identity set.

    Same grouping, same warnings (Pelican's own get_original_items), same order of results."""
    if not translation_id:
        return content_list, []
    if isinstance(translation_id, str):
        translation_id = {translation_id}
    key = attrgetter(*translation_id)
    try:
        content_list.sort(key=key)
    except (TypeError, AttributeError):
        return _pelican_process_translations(content_list, translation_id)  # its own clear errors
    index = []
    for id_vals, items in groupby(content_list, key):
        id_vals = (id_vals,) if len(translation_id) == 1 else id_vals
        with_str = "with" + ", ".join([' {} "{{}}"'] * len(translation_id)).format(*translation_id).format(*id_vals)
        items = list(items)
        index.extend(utils.get_original_items(items, with_str))
        for item in items:
            item.translations = [other for other in items if other is not item]
    originals = {id(item) for item in index}
    return index, [item for item in content_list if id(item) not in originals]


_pelican_process_translations = utils.process_translations


class MemberList(list):
    """A list whose `in` is a set lookup by identity: Pelican tests membership of every article
    in each tag's, category's and author's list, which is quadratic on plain lists."""

    def __init__(self, items=()):
        super().__init__(items)
        self._ids = {id(item) for item in self}

    def __contains__(self, item) -> bool:
        return id(item) in self._ids


def _with_member_lists(groups):
    if isinstance(groups, dict):
        return {key: MemberList(value) for key, value in groups.items()}
    return [(key, MemberList(value)) for key, value in groups]


# -- a content object's source path relative to the content directory, once per file ----------------

def relative_source_path(self, source_path=None):
    """Content.get_relative_source_path, remembered: every URL and file name of a post asks for it
    (six times an article in a build), and its answer depends on the two paths alone."""
    if not source_path:
        source_path = self.source_path
    if source_path is None:
        return None
    return _relative_source_path(self.settings["PATH"], source_path, os.getcwd())


@lru_cache(maxsize=1 << 16)
def _relative_source_path(content_path: str, source_path: str, cwd: str) -> str:
    return utils.posixize_path(os.path.relpath(os.path.abspath(os.path.join(content_path, source_path)),
                                               os.path.abspath(content_path)))


_pelican_relative_source_path = Content.get_relative_source_path


# -- content objects: reuse and reading ----------------------------------------------------------

class ContentSource:
    """Where generators get content objects: `reuse(path)` gives the object of an unchanged source
    (or None to read it), `read(path, content)` learns the object read from a source, and
    `reader_get`/`reader_put` cache what the Markdown reader returns. `bind(generator)` is called
    as each generator starts (the shared context and the Jinja environment are known then)."""

    def bind(self, generator) -> None:
        pass

    def reuse(self, path: str):
        return None

    def read(self, path: str, content) -> None:
        pass

    def reader_get(self, path: str):
        return None

    def reader_put(self, path: str, value) -> None:
        pass


def _sorted_files(files) -> list[str]:
    # Pelican walks files into a set; its order then varies between processes, and with it the
    # order of articles with equal dates. Sorted, every build sees them in one order.
    return sorted(files)


class _ContentGenerator:
    """What Hubbub's article and page generators add to Pelican's."""

    source: ContentSource

    def _hubbub_init(self, source: ContentSource) -> None:
        self.source = source
        # The reader cache sits where Pelican's own reader-level cache would.
        self.readers.get_cached_data = lambda path, default=None: source.reader_get(path) or default
        self.readers.cache_data = source.reader_put

    def get_files(self, paths, exclude=None, extensions=None):
        return _sorted_files(super().get_files(paths, exclude, extensions))

    def get_cached_data(self, filename, default=None):
        content = self.source.reuse(filename)
        if content is None:
            return default
        content._context = self.context  # reused objects point at this build's shared context
        return content

    def cache_data(self, filename, data):
        self.source.read(filename, data)

    def save_cache(self):
        pass  # the build keeps its own store


class HubbubArticlesGenerator(_ContentGenerator, ArticlesGenerator):
    def generate_output(self, writer):
        self._hubbub_writer = writer
        tags, categories, authors = self.tags, self.categories, self.authors
        self.tags, self.categories, self.authors = map(_with_member_lists, (tags, categories, authors))
        try:
            super().generate_output(writer)
        finally:
            self.tags, self.categories, self.authors = tags, categories, authors


    def generate_articles(self, write):
        """Pelican's loop, asking the writer first whether an article's page is unchanged: then
        Pelican's per-page work (URLs, context, pagination checks) is skipped too."""
        keep = getattr(self._hubbub_writer, "keep_unchanged", None)
        if keep is None:
            return super().generate_articles(write)
        relative_urls = self.settings["RELATIVE_URLS"]
        for article in chain(self.translations, self.articles, self.hidden_translations, self.hidden_articles):
            signals.article_generator_write_article.send(self, content=article)
            template = self.get_template(article.template)
            category = getattr(article, "category", None)
            override = hasattr(article, "override_save_as")
            name = article.save_as
            if not override and keep(name, template, self.context, relative_urls, article=article, category=category,
                                     blog=True):
                continue
            write(name, template, self.context, article=article, category=category, override_output=override,
                  url=article.url, blog=True)


class HubbubPagesGenerator(_ContentGenerator, PagesGenerator):
    pass


class HubbubStaticGenerator(StaticGenerator):
    """Pelican's, claiming every static file it puts in the output however it does: copied (through
    copy_file), left alone as unmodified (STATIC_CHECK_IF_MODIFIED) or linked (STATIC_CREATE_LINKS).
    A file not claimed would be removed as stale, or never removed once its source is gone."""

    hubbub_claim = None  # claim(output-relative name), set by HubbubPelican

    def generate_output(self, writer):
        super().generate_output(writer)
        for static in self.context["staticfiles"]:
            # (no save_as: Pelican puts nothing in the output for it; nor for a file gone, see below)
            if static.save_as and self._hubbub_exists(static):
                self.hubbub_claim(static.save_as)

    def _hubbub_exists(self, static) -> bool:
        return os.path.exists(os.path.join(self.path, static.source_path))

    def _file_update_required(self, staticfile):
        # A file a post or page still links to with {static} after it was deleted is in the
        # staticfiles too: nothing to copy (Pelican would make its directory in the output all
        # the same), and its copy from an earlier build is removed as any file no longer made.
        if not self._hubbub_exists(staticfile):
            log.warning("%s does not exist, but a post or page links to it with {static}: the link is broken",
                        staticfile.source_path)
            return False
        return super()._file_update_required(staticfile)


class HubbubPelican(Pelican):
    """Pelican with Hubbub's generators and writer; `run()` is Pelican's own."""

    def __init__(self, settings, source: ContentSource, writer_factory, copy_file, claim, prerender=None,
                 before_writing=None):
        self.hubbub_source = source
        self.hubbub_before_writing = before_writing  # may stop the run once the site is read
        # writer_factory(output_path, settings, share=None); prerender(content generators,
        # writer, writer for a share) may render pages elsewhere before Pelican's own output pass.
        self.hubbub_writer_factory = writer_factory
        self.hubbub_prerender = prerender
        # (source, destination): static files and the theme's are copied through it, so it can
        # skip files whose bytes did not change and copy the others through a rename.
        self.hubbub_copy_file = copy_file
        self.hubbub_claim = claim  # (output-relative name): a file this build made, whether copied or not
        super().__init__(settings)
        # DELETE_OUTPUT_DIRECTORY (Pelican's publishconf.py sets it) would empty output/ before the
        # site is read: a build stopped by one bad post would leave no site (and no manifest for
        # the comment service), and every build would write every file again. The build removes
        # what earlier builds made and this one does not (engine._remove_stale), which is what the
        # setting is for.
        self.delete_outputdir = False

    def _get_generator_classes(self):
        swap = {ArticlesGenerator: HubbubArticlesGenerator, PagesGenerator: HubbubPagesGenerator,
                StaticGenerator: HubbubStaticGenerator}
        return [swap.get(cls, cls) for cls in super()._get_generator_classes()]

    def run(self):
        source = self.hubbub_source

        self.hubbub_generators = made = []

        def prepare(generator):
            made.append(generator)
            if isinstance(generator, _ContentGenerator):
                generator._hubbub_init(source)
            if isinstance(generator, HubbubStaticGenerator):
                generator.hubbub_claim = self.hubbub_claim
            source.bind(generator)

        signals.generator_init.connect(prepare)
        generators.process_translations = process_translations
        utils.copy_file = self.hubbub_copy_file
        Content.get_relative_source_path = relative_source_path
        clear_memoized_html()
        try:
            super().run()
        finally:
            generators.process_translations = _pelican_process_translations
            utils.copy_file = _pelican_copy_file
            Content.get_relative_source_path = _pelican_relative_source_path
            signals.generator_init.disconnect(prepare)

    def _get_writer(self):
        # Pelican asks for its writer once every generator has read the site, before any output.
        if self.hubbub_before_writing is not None:
            self.hubbub_before_writing()
        # Plugins read posts' HTML before the pages and static files were known: what Pelican
        # memoised then holds links to those unresolved, and pages would show it.
        clear_memoized_html()
        writer = self.hubbub_writer_factory(self.output_path, self.settings)
        if self.hubbub_prerender is not None:
            content = [g for g in self.hubbub_generators if isinstance(g, _ContentGenerator)]
            self.hubbub_prerender(content, writer, lambda share: self.hubbub_writer_factory(
                self.output_path, self.settings, share))
        return writer


_pelican_copy_file = utils.copy_file


def read_content(generator, path: str):
    """Read one article or page afresh with the generator's readers, as generate_context does
    (its signals included); None if it is not valid content."""
    articles = isinstance(generator, ArticlesGenerator)
    readers = generator.readers
    cached = readers.get_cached_data, readers.cache_data
    readers.get_cached_data, readers.cache_data = (lambda p, default=None: default), (lambda p, v: None)
    try:
        content = readers.read_file(
            base_path=generator.path, path=path, content_class=Article if articles else Page, context=generator.context,
            preread_signal=signals.article_generator_preread if articles else signals.page_generator_preread,
            preread_sender=generator,
            context_signal=signals.article_generator_context if articles else signals.page_generator_context,
            context_sender=generator)
    finally:
        readers.get_cached_data, readers.cache_data = cached
    return content if isinstance(content, (Article, Page)) and content.is_valid() else None


def read_source(readers, path: str):
    """What Pelican's reader for this file returns ((html, metadata)), as Readers.read_file caches it."""
    from pelican.readers import _filter_discardable_metadata
    from pelican.utils import file_suffix

    content, metadata = readers.readers[file_suffix(path)].read(path)
    return content, _filter_discardable_metadata(metadata)


def render_alone(generator, content, write_file) -> None:
    """Write one article's or page's own page as the generator's generate_output writes it."""
    common = {"relative_urls": generator.settings["RELATIVE_URLS"],
              "override_output": hasattr(content, "override_save_as"), "url": content.url}
    template = generator.get_template(content.template)
    if isinstance(generator, ArticlesGenerator):
        write_file(content.save_as, template, generator.context, article=content, category=content.category,
                   blog=True, **common)
    else:
        write_file(content.save_as, template, generator.context, page=content, **common)


def new_article(generator, path: str):
    """The article a new source file adds to the generator's site, read as generate_context reads
    it; None when it is not a plain new published article (not an article source, a draft, or a
    translation or replacement of one the generator has: the build sorts those out)."""
    if not isinstance(generator, ArticlesGenerator):
        return None
    settings = generator.settings
    if path not in generator.get_files(settings["ARTICLE_PATHS"], exclude=settings["ARTICLE_EXCLUDES"]):
        return None
    article = read_content(generator, path)
    if article is None or article.status != "published":
        return None
    known = chain(generator.articles, generator.translations, generator.hidden_articles,
                  generator.hidden_translations, generator.drafts, generator.drafts_translations)
    if any(other.slug == article.slug or other.save_as == article.save_as for other in known):
        return None
    return article


def render_first_pages(generator, article, write_file) -> None:
    """Write the first page of each list a new article joins, as generate_pages would write it with
    the article: the paginated direct templates (the home page), its category's, tags' and authors'
    pages. `write_file` renders only the first page of each; the build brings the rest up to date."""
    settings = generator.settings
    articles = utils.order_content([*generator.articles, article], settings["ARTICLE_ORDER_BY"])
    dates = sorted(articles, key=attrgetter("date"), reverse=generator.context["NEWEST_FIRST_ARCHIVES"])
    context = {**generator.context, "articles": articles, "dates": dates}
    write = partial(write_file, relative_urls=settings["RELATIVE_URLS"])
    for template in settings["DIRECT_TEMPLATES"]:
        save_as = settings.get(f"{template.upper()}_SAVE_AS", f"{template}.html")
        if save_as and template in settings["PAGINATED_TEMPLATES"]:
            write(save_as, generator.get_template(template), context, articles=articles, dates=dates, blog=True,
                  template_name=template, page_name=os.path.splitext(save_as)[0],
                  url=settings.get(f"{template.upper()}_URL", f"{template}.html"))
    groups = [("category", dict(generator.categories), [article.category] if hasattr(article, "category") else []),
              ("tag", generator.tags, getattr(article, "tags", [])),
              ("author", dict(generator.authors), getattr(article, "authors", []))]
    for kind, lists, wrappers in groups:
        for wrapper in wrappers:
            if not wrapper.save_as:
                continue
            members = {id(a) for a in lists.get(wrapper, ())} | {id(article)}
            listed = [a for a in articles if id(a) in members]
            write(wrapper.save_as, generator.get_template(kind), context, url=wrapper.url, **{kind: wrapper},
                  articles=listed, dates=[a for a in dates if id(a) in members], template_name=kind, blog=True,
                  page_name=wrapper.page_name, all_articles=articles)


def clear_memoized_html() -> None:
    """Forget the HTML Pelican memoised per content object (it never does): a reused object's
    links may have been resolved against the last build's URLs."""
    for name in ("get_content", "get_summary"):
        vars(Content)[name].cache.clear()


def scheduled_date(content: Content, settings: dict):
    """When a post that Pelican holds back as a draft for its date (Article.__init__, with
    WITH_FUTURE_DATES = False) is due, as an aware datetime; None for any other object."""
    if (settings.get("WITH_FUTURE_DATES", True) or not isinstance(content, Article) or content.status != "draft"
            or str(content.metadata.get("status", "")).lower() == "draft"):
        return None
    date = getattr(content, "date", None)
    if date is None or date.year == datetime.max.year:  # Pelican's date for a draft without one
        return None
    return date if date.tzinfo else date.astimezone()  # a date without a zone is local time, as for Pelican


def has_intrasite_links(content: Content) -> bool:
    """Whether the object's HTML or summary holds {filename}, {static}, ... links."""
    pattern = content._get_intrasite_link_regex()
    return any(isinstance(text, str) and pattern.search(text)
               for text in (getattr(content, "_content", None), getattr(content, "_summary", None)))


def fresh_summary(content: Content) -> str:
    """content.summary, worked out without Pelican's memo (Content.get_summary is memoized per
    object and site URL). Plugins run before Pelican resolves the {filename} links of a summary
    written in the metadata (refresh_metadata_intersite_links): a summary memoized then would
    keep those links unresolved on every page and feed."""
    return inspect.getattr_static(type(content), "get_summary").func(content, content.get_siteurl())


__all__ = ["ContentSource", "HubbubPelican", "MemberList", "Writer", "check_version", "fresh_summary",
           "has_intrasite_links", "process_translations", "scheduled_date"]
