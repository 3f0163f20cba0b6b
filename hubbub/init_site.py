"""`hubbub init DIR`: a new site from the starter files that come with the package (hubbub/starter/).

The starter files hold [[name]] placeholders; `name_py` values are Python literals (for the
settings files, named *.py.in so that no tool takes them for Python), the others plain text.
The owner's profile is written by `hubbub new author`'s own code, and the privacy page is filled
from the comment service's settings at this moment.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
from pathlib import Path

from .core.weburl import safe_url
from .scaffold import AUTHOR_TEMPLATE, ScaffoldError, slug

STARTER = Path(__file__).with_name("starter")
PLACEHOLDER = re.compile(r"\[\[(\w+)\]\]")
# Starter files whose installed name differs (a dotfile is easily lost when packaging).
RENAMED = {"gitignore": ".gitignore"}
DEFAULT_URL = "https://example.org"


class InitError(Exception):
    """The site cannot be made as asked; nothing was written. The message says what to do."""


def _one_line(value: str, what: str, option: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise InitError(f"the {what} is empty: give one with {option}")
    return value


def _site_url(url: str | None) -> str:
    if not url:
        return DEFAULT_URL
    clean = safe_url(url.strip())
    if not clean:
        raise InitError(f"--url {url!r} is not a web address: use the site's public address, e.g. https://blog.example.org")
    return clean.rstrip("/")


def _days(n: int, unit: str = "day") -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


def _privacy(env) -> dict:
    from comments_service.config import ConfigError, retention

    try:
        kept = retention(env)
    except ConfigError as exc:
        raise InitError(f"{exc} (the new site's privacy page states it)") from exc
    if (env.get("PYTHON_AKISMET_API_KEY") or "").strip():
        spam = ("Before a comment is published it is checked for spam by **Akismet**, a service of "
                "Automattic Inc.: it receives your comment, name, email, website, IP address, user agent "
                "and referrer. Its privacy policy is at akismet.com/privacy. When a moderator marks a "
                "comment as spam or not spam, it is sent to Akismet again to improve its filter.")
    else:
        spam = ("Comments are not sent to any spam-checking service: a moderator reads every comment "
                "before it is published.")
    if (env.get("HUBBUB_SMTP_HOST") or "").strip():
        email = ("If you tick \"Notify me of replies\", your email address is used to tell you when your "
                 "comment is published and when someone replies. Every such email has a one-click "
                 "unsubscribe link.")
    else:
        email = "This site sends no email: your address is only used to link your comments to your profile."
    return {
        "ip_days": _days(kept["ip_retention_days"]),
        "spam_days": _days(kept["spam_retention_days"]),
        "discard_hours": _days(kept["discard_retention_hours"], "hour"),
        "spam_checks": spam,
        "email": email,
    }


def _fill(text: str, values: dict, where: str) -> str:
    def value(match: re.Match) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise InitError(f"starter file {where} asks for [[{match.group(1)}]], which init does not know") from None

    return PLACEHOLDER.sub(value, text)


def _check_empty(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise InitError(f"{target} is a file: choose a new directory for the site")
    if target.is_dir() and any(target.iterdir()):
        raise InitError(f"{target} is not empty: choose a new or empty directory (init never overwrites files)")


def init_site(target: Path | str, title: str = "My Hubbub", author: str | None = None, url: str | None = None,
              env=None, now: dt.datetime | None = None) -> list[Path]:
    """Write a new site into `target` (missing or empty); returns the files written."""
    env = os.environ if env is None else env
    target = Path(target).resolve()
    title = _one_line(title, "title", "--title")
    author = _one_line(author or _login_name(), "author's name", "--author")
    try:
        author_slug = slug(author)
    except ScaffoldError:
        raise InitError(f"--author {author!r} has no letters or digits to name the profile file after") from None
    site_url = _site_url(url)
    _check_empty(target)
    now = now or dt.datetime.now()
    values = {
        "title": title, "title_py": repr(title), "author": author, "author_py": repr(author),
        "author_sh": shlex.quote(author), "author_slug": author_slug,
        "author_file": f"`content/authors/{author_slug}.md`", "url_py": repr(site_url),
        "date": now.strftime("%Y-%m-%d %H:%M"), "day": now.strftime("%Y-%m-%d"), **_privacy(env),
    }
    files = {}
    for source in sorted(STARTER.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            rel = source.relative_to(STARTER).as_posix()
            name = RENAMED.get(rel, rel.removesuffix(".in"))
            files[name] = _fill(source.read_text(encoding="utf-8"), values, rel)
    files[f"content/authors/{author_slug}.md"] = AUTHOR_TEMPLATE.format(name=author, joined=now.date().isoformat())
    existed = target.exists()
    written = []
    try:
        for rel, text in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as fh:  # "x": never replace a file
                fh.write(text)
            written.append(path)
        (target / "content" / "images").mkdir(exist_ok=True)
    except OSError as exc:
        _undo(target, existed)
        raise InitError(f"cannot write into {target} ({exc.strerror or exc})") from exc
    return written


def _undo(target: Path, existed: bool) -> None:
    """Remove what init wrote (the directory was empty, or not there, before)."""
    import shutil

    if not existed:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _login_name() -> str:
    """The person running init: their full name from the system, else their login."""
    import getpass

    try:
        import pwd

        full = pwd.getpwuid(os.getuid()).pw_gecos.split(",")[0].strip()
    except (ImportError, KeyError):
        full = ""
    return full or getpass.getuser()
