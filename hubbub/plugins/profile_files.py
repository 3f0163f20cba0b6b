"""Read and check author profile files: content/authors/<slug>.md.

A profile is Pelican-style metadata lines ("Field: value", up to the first blank line), then a
Markdown bio. Every field is checked here, once, so that a mistake stops the build with a message
naming the file and the field and saying how to fix it, instead of a broken link on the site.
The Email field is kept only to match the author's comments; it is never put on a page.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nh3

from hubbub.core.weburl import is_web_address

# Link fields and the label each gets on the page; HUB_PROFILE_LINKS in pelicanconf.py replaces it
# (add ("instagram", "Instagram") there to allow an Instagram: line, for example).
DEFAULT_LINK_FIELDS = (
    ("website", "Website"),
    ("linkedin", "LinkedIn"),
    ("twitter", "X (Twitter)"),
    ("facebook", "Facebook"),
    ("hubpages", "HubPages"),
)
BASIC_FIELDS = ("name", "email", "avatar", "tagline", "location", "joined")
AVATAR_TYPES = {".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif"}

_FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):[ \t]*(.*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")


class ProfileError(ValueError):
    """A profile file that cannot be published; the message names the file, the field and the fix."""


@dataclass(frozen=True)
class ProfileLink:
    field: str
    label: str
    url: str


@dataclass
class ProfileFile:
    path: str  # as shown in messages, e.g. content/authors/alan-whitaker.md
    slug: str
    name: str
    email: str | None = None  # never rendered: used only to recognise the author's comments
    avatar: str | None = None  # site-relative URL, e.g. images/avatars/alan-whitaker.svg
    tagline: str = ""
    location: str = ""
    joined: dt.date | None = None
    links: list[ProfileLink] = field(default_factory=list)
    bio_html: str = ""


def split_metadata(text: str) -> tuple[list[tuple[int, str, str]], str]:
    """(line number, field as written, value) for each metadata line, and the Markdown body.

    Like Pelican, metadata ends at the first blank line or the first line that is not
    "Field: value"; an indented line continues the value above it.
    """
    lines = text.lstrip("\ufeff").splitlines()
    fields: list[tuple[int, str, str]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            break
        match = _FIELD_LINE.match(line)
        if match:
            fields.append((index + 1, match.group(1), match.group(2).strip()))
        elif fields and line[:1] in (" ", "\t"):
            number, name, value = fields[-1]
            fields[-1] = (number, name, f"{value} {line.strip()}".strip())
        else:
            break
        index += 1
    return fields, "\n".join(lines[index:])


def _web_address(value: str, where: str) -> str:
    if not is_web_address(value):
        raise ProfileError(
            f"{where}: {value!r} is not a web address; write it in full with http:// or https://, "
            "e.g. https://www.example.org/"
        )
    return value


def _twitter(value: str, where: str) -> str:
    handle = _HANDLE.match(value)
    if handle:
        return f"https://x.com/{handle.group(1)}"
    return _web_address(value, where)


def _joined(value: str, where: str) -> dt.date:
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ProfileError(f"{where}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2009-06-15") from None


def _avatar(value: str, where: str, images_dir: Path) -> str:
    relative = value.removeprefix("{static}").lstrip("/").removeprefix("images/")
    parts = PurePosixPath(relative).parts
    if not relative or ".." in parts or PurePosixPath(relative).suffix.lower() not in AVATAR_TYPES:
        raise ProfileError(
            f"{where}: {value!r} is not an image path under content/images/; write e.g. "
            f"avatars/your-name.svg (one of {', '.join(sorted(AVATAR_TYPES))})"
        )
    if not (images_dir / relative).is_file():
        shown = f"{images_dir.parent.name}/{images_dir.name}/{relative}"
        raise ProfileError(f"{where}: {shown} does not exist; add the image there or leave Avatar empty")
    return "images/" + PurePosixPath(relative).as_posix()


def bio_markdown(settings: dict):
    """A Markdown converter configured like Pelican's reader (MARKDOWN setting), without `meta`."""
    import markdown

    config = copy.deepcopy(settings.get("MARKDOWN", {}))
    config.setdefault("extension_configs", {})
    extensions = list(config.get("extensions", []))
    extensions += [name for name in config["extension_configs"] if name not in extensions]
    config["extensions"] = [e for e in extensions if e != "markdown.extensions.meta"]
    return markdown.Markdown(**config)


def read_profile(path: Path, shown_as: str, settings: dict, slug_of, md) -> ProfileFile:
    """Parse and check one profile file. `slug_of(name)` gives the slug Pelican gives that author."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{shown_as}: not UTF-8 text ({exc}); save the file as UTF-8") from exc
    fields, body = split_metadata(text)
    link_labels = dict(settings.get("HUB_PROFILE_LINKS", DEFAULT_LINK_FIELDS))
    known = set(BASIC_FIELDS) | set(link_labels)
    values: dict[str, tuple[str, str]] = {}
    for number, written, value in fields:
        key = written.lower()
        where = f"{shown_as}, line {number}: field {written}"
        if key not in known:
            allowed = ", ".join(f.capitalize() for f in (*BASIC_FIELDS, *link_labels))
            raise ProfileError(
                f"{where} is not a profile field; use one of {allowed} "
                "(more links can be allowed with HUB_PROFILE_LINKS in pelicanconf.py)"
            )
        if key in values:
            raise ProfileError(f"{where} appears twice; keep one")
        values[key] = (where, value)

    def value(key):
        return values.get(key, ("", ""))[1]

    name = value("name")
    if not name:
        raise ProfileError(f"{shown_as}: field Name is missing or empty; add a line such as 'Name: Alan Whitaker'")
    slug = path.stem
    if slug_of(name) != slug:
        raise ProfileError(
            f"{values['name'][0]}: {name!r} has the slug {slug_of(name)!r} but the file is {path.name!r}; "
            f"rename the file to {slug_of(name)}.md so posts by {name} find their profile"
        )
    profile = ProfileFile(path=shown_as, slug=slug, name=name, tagline=value("tagline"), location=value("location"))
    if value("email"):
        if not _EMAIL.match(value("email")):
            raise ProfileError(f"{values['email'][0]}: {value('email')!r} is not an email address")
        profile.email = value("email")
    if value("avatar"):
        images_dir = Path(settings["PATH"]) / "images"
        profile.avatar = _avatar(value("avatar"), values["avatar"][0], images_dir)
    if value("joined"):
        profile.joined = _joined(value("joined"), values["joined"][0])
    for key, label in link_labels.items():
        if value(key):
            check = _twitter if key == "twitter" else _web_address
            profile.links.append(ProfileLink(key, label, check(value(key), values[key][0])))
    md.reset()
    profile.bio_html = nh3.clean(md.convert(body)) if body.strip() else ""
    return profile


def read_profiles(directory: Path, settings: dict, slug_of, shown_root: Path) -> dict[str, ProfileFile]:
    """Every content/authors/*.md, by slug; an absent directory means no profiles."""
    if not directory.is_dir():
        return {}
    md = bio_markdown(settings)
    profiles = {}
    for path in sorted(directory.glob("*.md")):
        if path.name.startswith("."):
            continue
        try:
            shown_as = path.relative_to(shown_root).as_posix()
        except ValueError:
            shown_as = str(path)
        profiles[path.stem] = read_profile(path, shown_as, settings, slug_of, md)
    return profiles
