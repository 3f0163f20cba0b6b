"""`hubbub init DIR`: a new site from the starter files that come with the package (hubbub/starter/).

The starter files hold [[name]] placeholders; `name_py` values are Python literals (for the
settings files, named *.py.in so that no tool takes them for Python), the others plain text.
The owner's profile is written by `hubbub new author`'s own code, and the privacy page is filled
from the comment service's settings at this moment. The pages are in the site's language: English
in starter/, the others in starter-translations/<lang>/, file for file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
from pathlib import Path

from .core.i18n import N_, SOURCE_LANGUAGE, languages, translations
from .core.weburl import safe_url
from .scaffold import ScaffoldError, author_profile, slug

STARTER = Path(__file__).with_name("starter")
TRANSLATED = Path(__file__).with_name("starter-translations")
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


def _privacy(env, lang: str) -> dict:
    from comments_service.config import ConfigError, retention

    try:
        kept = retention(env)
    except ConfigError as exc:
        raise InitError(f"{exc} (the new site's privacy page states it)") from exc
    catalog = translations(lang)
    _, ngettext = catalog.gettext, catalog.ngettext
    akismet = bool((env.get("PYTHON_AKISMET_API_KEY") or "").strip())
    mail = bool((env.get("HUBBUB_SMTP_HOST") or "").strip())
    spam = _(SPAM_CHECKED) if akismet else _(SPAM_NOT_CHECKED)
    email = _(EMAIL_SENT) if mail else _(EMAIL_NOT_SENT)
    days = kept["ip_retention_days"], kept["spam_retention_days"], kept["discard_retention_hours"]
    return {
        "ip_days": ngettext("%(num)s day", "%(num)s days", days[0]) % {"num": days[0]},
        "spam_days": ngettext("%(num)s day", "%(num)s days", days[1]) % {"num": days[1]},
        "discard_hours": ngettext("%(num)s hour", "%(num)s hours", days[2]) % {"num": days[2]},
        "spam_checks": spam, "akismet_py": repr(akismet), "email_py": repr(mail),
        "email": email,
    }


# The privacy page's paragraphs that follow the service's settings (the catalogs translate them).
SPAM_CHECKED = N_(
    "Before a comment is published it is checked for spam by **Akismet**, a service of Automattic Inc.: it "
    "receives your comment, name, email, website, IP address, user agent and referrer. Its privacy policy is "
    "at akismet.com/privacy. When a moderator marks a comment as spam or not spam, it is sent to Akismet "
    "again to improve its filter.")
SPAM_NOT_CHECKED = N_(
    "Comments are not sent to any spam-checking service: a moderator reads every comment before it is published.")
EMAIL_SENT = N_(
    "If you tick \"Notify me of replies\", your email address is used to tell you when your comment is "
    "published and when someone replies. Every such email has a one-click unsubscribe link.")
EMAIL_NOT_SENT = N_("This site sends no email: your address is only used to link your comments to your profile.")


def _starter_files(lang: str) -> dict[str, Path]:
    """Installed name -> starter file: the English starter, its pages replaced by `lang`'s."""
    files = {}
    for root in (STARTER, TRANSLATED / lang):
        for source in sorted(root.rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts:
                rel = source.relative_to(root).as_posix()
                files[RENAMED.get(rel, rel.removesuffix(".in"))] = source
    return files


def _language(lang: str | None) -> str:
    lang = (lang or SOURCE_LANGUAGE).strip().lower()
    if lang not in languages():
        raise InitError(f"--lang {lang!r}: Hubbub's pages come in {', '.join(languages())}; choose one of them "
                        "(README, \"Adding a language\", says how to add another)")
    return lang


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
              env=None, now: dt.datetime | None = None, lang: str | None = None) -> list[Path]:
    """Write a new site into `target` (missing or empty), its pages in `lang` (default English);
    returns the files written."""
    env = os.environ if env is None else env
    lang = _language(lang)
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
        "date": now.strftime("%Y-%m-%d %H:%M"), "day": now.strftime("%Y-%m-%d"), "lang_py": repr(lang),
        **_privacy(env, lang),
    }
    files = {name: _fill(source.read_text(encoding="utf-8"), values, name)
             for name, source in _starter_files(lang).items()}
    files[f"content/authors/{author_slug}.md"] = author_profile(author, now.date(), lang)
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
