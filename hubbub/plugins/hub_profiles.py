"""Hub-style author profiles: profile pages, The Hub directory, author cards and accolades.

Registered on two Pelican signals:
- article_generator_finalized: read content/authors/*.md (hub_profile_files), compute each
  author's community stats from their posts and the published comment threads,
  and put `hub_profiles` (slug -> AuthorProfile), `hub_directory` (profiles by recent activity)
  and `hub_accolade_rules` into the template context. Authors with posts but no profile file get a
  complete page with a generated avatar and a warning naming the missing file; a profile file
  with bad metadata raises ProfileError, which stops the build with the file and field named.
- article_writer_finalized: write the generated avatars (hubbub.core.avatars) into the output.

Settings (all optional; defaults in DEFAULTS): HUB_PROFILES_PATH, HUB_PROFILE_LINKS,
HUB_AVATAR_URL, HUB_AVATAR_SAVE_AS, HUB_TOP_TAGS, HUB_LATEST_COMMENTS, HUB_COMMENT_EXCERPT_LENGTH,
HUB_COMMENT_ANCHOR, HUB_ACCOLADES. Thread files are read from COMMENTS_DIR (the comments plugin's
setting, default "comments" under PATH).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from pelican import signals
from pelican.urlwrappers import Author

from hubbub.build import claim_output
from hubbub.core import identity
from hubbub.core.atomic import write_if_changed
from hubbub.core.avatars import avatar_svg
from hubbub.core.plaintext import text_of
from hubbub.core.threadfile import conversation, read_thread

from . import profile_files

log = logging.getLogger("hubbub.profiles")


def _read_threads(comments_dir: Path, slugs) -> dict:
    """Published comments of the articles that have any (raises ThreadFileError naming a bad file)."""
    # Likes and reposts are not comments: profiles count the conversation only.
    threads = {slug: conversation(read_thread(comments_dir, slug).comments) for slug in slugs}
    return {slug: comments for slug, comments in threads.items() if comments}


ProfileError = profile_files.ProfileError

def N_(text: str) -> str:
    """gettext's marker: the text goes into the catalog; the theme translates it where it shows it."""
    return text


# Levels are earned at the given counts. Each track explains itself on the profile page.
DEFAULT_ACCOLADES = (
    {
        "stat": "posts",
        "track": N_("Writer"),
        "measure": N_("posts published"),
        "levels": ((1, N_("Published writer")), (5, N_("Regular writer")), (20, N_("Prolific writer")), (50, N_("Hub veteran"))),
    },
    {
        "stat": "comments_received",
        "track": N_("Conversation starter"),
        "measure": N_("comments readers left on their posts"),
        "levels": (
            (1, N_("Conversation opener")),
            (10, N_("Good conversation starter")),
            (50, N_("Great conversation starter")),
            (200, N_("Talk of the Hub")),
        ),
    },
    {
        "stat": "comments_written",
        "track": N_("Community voice"),
        "measure": N_("comments written on the site"),
        "levels": ((1, N_("Joined the conversation")), (10, N_("Community regular")), (50, N_("Pillar of the community"))),
    },
)

DEFAULTS = {
    "HUB_PROFILES_PATH": "authors",  # under PATH
    "HUB_PROFILE_LINKS": profile_files.DEFAULT_LINK_FIELDS,
    "HUB_AVATAR_URL": "authors/{slug}/avatar.svg",
    "HUB_AVATAR_SAVE_AS": "authors/{slug}/avatar.svg",
    "HUB_TOP_TAGS": 5,
    "HUB_LATEST_COMMENTS": 5,
    "HUB_COMMENT_EXCERPT_LENGTH": 160,
    "HUB_COMMENT_ANCHOR": "comment-{id}",
    "HUB_ACCOLADES": DEFAULT_ACCOLADES,
}
STATS = ("posts", "comments_received", "comments_written")


def setting(settings: dict, name: str):
    return settings.get(name, DEFAULTS[name])


@dataclass(frozen=True)
class Accolade:
    track: str
    name: str
    level: int  # 1-based
    levels: int
    measure: str
    count: int
    threshold: int
    next_name: str | None
    next_threshold: int | None


@dataclass(frozen=True)
class ReceivedComment:
    author: str  # as the commenter typed it: escape it in templates
    excerpt: str  # plain text
    created: dt.datetime
    article_title: str
    url: str  # site-relative, to the comment on the article page


@dataclass
class AuthorProfile:
    """What the templates show about one author; never holds the email."""

    name: str
    slug: str
    url: str
    avatar_url: str
    avatar_generated: bool
    has_file: bool
    source: str  # the profile file, or where it should be
    tagline: str = ""
    location: str = ""
    bio_html: str = ""
    links: list = field(default_factory=list)
    joined: dt.date | None = None
    posts: int = 0
    comments_received: int = 0
    comments_written: int = 0
    top_tags: list = field(default_factory=list)  # (Tag, count), most used first
    latest_comments: list = field(default_factory=list)  # ReceivedComment, newest first
    first_post: dt.datetime | None = None
    latest_post: dt.datetime | None = None
    latest_comment_written: dt.datetime | None = None
    accolades: list = field(default_factory=list)

    @property
    def member_since(self) -> dt.date | None:
        return self.joined or (self.first_post.date() if self.first_post else None)

    @property
    def last_active(self) -> dt.datetime | None:
        times = [t for t in (self.latest_post, self.latest_comment_written) if t is not None]
        return max(times) if times else None


def accolade_rules(settings: dict) -> list[dict]:
    """HUB_ACCOLADES, checked: a mistake there is reported with the setting's name."""
    rules = []
    for number, rule in enumerate(setting(settings, "HUB_ACCOLADES"), 1):
        where = f"HUB_ACCOLADES entry {number}"
        if not isinstance(rule, dict) or rule.get("stat") not in STATS:
            raise ProfileError(f"{where}: needs 'stat', one of {', '.join(STATS)}")
        levels = [(int(count), str(name)) for count, name in rule.get("levels", ())]
        if not levels or any(a[0] >= b[0] for a, b in zip(levels, levels[1:], strict=False)) or levels[0][0] < 1:
            raise ProfileError(f"{where}: 'levels' must be (count, name) pairs with counts rising from 1 or more")
        rules.append({"stat": rule["stat"], "track": str(rule.get("track", rule["stat"])),
                      "measure": str(rule.get("measure", rule["stat"])), "levels": levels})
    return rules


def earned_accolades(stats: dict[str, int], rules: list[dict]) -> list[Accolade]:
    """The highest level reached on each track (tracks with no level reached are left out)."""
    earned = []
    for rule in rules:
        count = stats[rule["stat"]]
        reached = [i for i, (threshold, _) in enumerate(rule["levels"]) if count >= threshold]
        if not reached:
            continue
        i = reached[-1]
        following = rule["levels"][i + 1] if i + 1 < len(rule["levels"]) else (None, None)
        earned.append(Accolade(rule["track"], rule["levels"][i][1], i + 1, len(rule["levels"]), rule["measure"],
                               count, rule["levels"][i][0], following[1], following[0]))
    return earned


def excerpt(html: str, limit: int) -> str:
    """Plain text of sanitised comment HTML, cut at a word boundary near `limit` characters."""
    text = text_of(html)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:.-–—") + "…"


def _comment_keys(settings: dict, emails: dict[str, str]) -> dict[str, str]:
    """slug -> author_key of the profile's email, when the site has a salt (else nobody matches)."""
    if not emails:
        return {}
    site_root = Path(settings["PATH"]).parent
    if not identity.salt_path(site_root).exists():
        log.info("no %s yet: comments cannot be matched to profiles", identity.salt_path(site_root))
        return {}
    salt = identity.site_salt(site_root)
    return {slug: identity.author_key(email, salt) for slug, email in emails.items()}


def _author_profile(author, articles, file, settings) -> AuthorProfile:
    if file is None:
        source = f"{Path(settings['PATH']).name}/{setting(settings, 'HUB_PROFILES_PATH')}/{author.slug}.md"
    else:
        source = file.path
    avatar = file.avatar if file and file.avatar else None
    profile = AuthorProfile(
        name=file.name if file else author.name,
        slug=author.slug,
        url=author.url,
        avatar_url=avatar or setting(settings, "HUB_AVATAR_URL").format(slug=author.slug),
        avatar_generated=avatar is None,
        has_file=file is not None,
        source=source,
    )
    if file:
        profile.tagline, profile.location, profile.bio_html = file.tagline, file.location, file.bio_html
        profile.links, profile.joined = list(file.links), file.joined
    profile.posts = len(articles)
    if articles:
        dates = [a.date for a in articles]
        profile.first_post, profile.latest_post = min(dates), max(dates)
    tags = Counter(tag for article in articles for tag in getattr(article, "tags", []))
    profile.top_tags = sorted(tags.items(), key=lambda item: (-item[1], item[0].name.lower()))[
        : setting(settings, "HUB_TOP_TAGS")
    ]
    return profile


def _add_comment_stats(profiles, authors, threads, keys, settings) -> None:
    anchor = setting(settings, "HUB_COMMENT_ANCHOR")
    limit = setting(settings, "HUB_COMMENT_EXCERPT_LENGTH")
    written = Counter()
    latest_written: dict[str, dt.datetime] = {}
    for comments in threads.values():
        for comment in comments:
            if comment.author_key:
                written[comment.author_key] += 1
                previous = latest_written.get(comment.author_key)
                latest_written[comment.author_key] = max(previous, comment.created) if previous else comment.created
    for author, articles in authors:
        profile = profiles[author.slug]
        own_key = keys.get(author.slug)
        if own_key:
            profile.comments_written = written.get(own_key, 0)
            profile.latest_comment_written = latest_written.get(own_key)
        received = [
            (comment, article)
            for article in articles
            for comment in threads.get(article.slug, ())
            if not (own_key and comment.author_key == own_key)  # replies on one's own posts do not count
        ]
        profile.comments_received = len(received)
        received.sort(key=lambda pair: pair[0].created, reverse=True)
        profile.latest_comments = [
            ReceivedComment(
                author=comment.author,
                excerpt=excerpt(comment.html, limit),
                created=comment.created,
                article_title=article.title,
                url=f"{article.url}#{anchor.format(id=comment.id)}",
            )
            for comment, article in received[: setting(settings, "HUB_LATEST_COMMENTS")]
        ]


def _activity_order(profile: AuthorProfile):
    last = profile.last_active
    return (last is None, -last.timestamp() if last else 0.0, profile.name.lower())


def build_profiles(generator) -> None:
    """Handler of article_generator_finalized: profiles, stats and the directory, into the context."""
    settings = generator.settings
    content = Path(settings["PATH"])
    rules = accolade_rules(settings)
    files = profile_files.read_profiles(
        content / setting(settings, "HUB_PROFILES_PATH"),
        settings,
        lambda name: Author(name, settings).slug,
        content.parent,
    )
    known = {author.slug for author, _ in generator.authors}
    for slug, file in files.items():
        if slug not in known:  # a writer who has not published yet still has a page in The Hub
            generator.authors.append((Author(file.name, settings), []))
    generator.authors.sort()

    profiles = {}
    for author, articles in generator.authors:
        file = files.get(author.slug)
        profiles[author.slug] = profile = _author_profile(author, articles, file, settings)
        if file is None:
            log.warning(
                "%s has posts but no profile file %s: their page shows a generated avatar and no bio; "
                'create it with `hubbub new author "%s"`',
                author.name, profile.source, author.name,
            )
    # COMMENTS_DIR is the comments plugin's setting: one place says where the thread files live.
    threads = _read_threads(content / settings.get("COMMENTS_DIR", "comments"), [a.slug for a in generator.articles])
    if threads:
        emails = {slug: f.email for slug, f in files.items() if f.email}
        _add_comment_stats(profiles, generator.authors, threads, _comment_keys(settings, emails), settings)
    for profile in profiles.values():
        profile.accolades = earned_accolades({s: getattr(profile, s) for s in STATS}, rules)

    # Every Author object Pelican made (one per article, drafts and hidden translations too)
    # carries its profile, for other plugins: objects with one name and slug must read alike.
    lists = ("articles", "translations", "hidden_articles", "hidden_translations", "drafts", "drafts_translations")
    for article in chain.from_iterable(getattr(generator, name, ()) for name in lists):
        for author in getattr(article, "authors", ()):
            author.profile = profiles.get(author.slug)
    for author, _ in generator.authors:
        author.profile = profiles[author.slug]

    generator.context["hub_profiles"] = profiles
    generator.context["hub_directory"] = sorted(profiles.values(), key=_activity_order)
    generator.context["hub_accolade_rules"] = rules
    generator.hub_generated_avatars = [p for p in profiles.values() if p.avatar_generated]


def write_avatars(generator, writer) -> None:
    """Handler of article_writer_finalized: the generated SVG avatars, beside the profile pages."""
    save_as = setting(generator.settings, "HUB_AVATAR_SAVE_AS")
    for profile in getattr(generator, "hub_generated_avatars", ()):
        path = Path(writer.output_path) / save_as.format(slug=profile.slug)
        write_if_changed(path, avatar_svg(profile.name).encode("utf-8"))
        claim_output(writer.output_path, path)


def register():
    signals.article_generator_finalized.connect(build_profiles)
    signals.article_writer_finalized.connect(write_avatars)
