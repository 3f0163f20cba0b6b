"""Settings from the environment (names in CONTRACT.md), with defaults and validation.

Every problem is reported as ConfigError naming the variable and what to put in it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from hubbub.build import site_dir as default_site_dir
from hubbub.core.identity import create_once


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says how to fix it."""


def shown_url(url: str) -> str:
    """A database or Redis address as it may be printed or logged: without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: nothing of it is shown
        return "(the configured address)"


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value: use 1 or 0")


def _number(env: dict, name: str, default: float, kind=int, minimum: float = 0):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number: use e.g. {default}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _networks(env: dict, name: str) -> tuple:
    raw = env.get(name, "") or ""
    nets = []
    for part in raw.replace(",", " ").split():
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name} has {part!r}, which is not an IP address or network: "
                "use a comma-separated list such as 127.0.0.1,10.0.0.0/8"
            ) from None
    return tuple(nets)


def _rate_limit(env: dict, name: str, default: str) -> str:
    from limits import parse_many

    raw = (env.get(name) or default).strip()
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a rate limit: use e.g. '5/minute' or '5/minute;50/day'") from None
    return raw


def _secret_key(env: dict, instance: Path, create: bool = True) -> str:
    """HUBBUB_SECRET_KEY, or a key generated once and kept in instance/secret_key ("" when there is
    none yet and `create` is False)."""
    if env.get("HUBBUB_SECRET_KEY"):
        return env["HUBBUB_SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        if not create:
            return ""
        create_once(path, secrets.token_hex(32))  # several workers may start at once
    return path.read_text().strip()


@dataclass(frozen=True)
class Config:
    site_dir: Path
    output_dir: Path
    instance_dir: Path
    database_url: str
    queue_url: str | None
    secret_key: str
    akismet_key: str | None
    akismet_blog_url: str | None
    akismet_endpoint: str
    akismet_timeout: float
    rate_limit: str
    trusted_proxies: tuple = field(default_factory=tuple)
    # Room for a 10,000-character comment in any script, however a client encodes it (a 4-byte
    # character is 12 bytes percent-encoded or as a JSON surrogate pair): about 127 kB at most.
    max_body_bytes: int = 256 * 1024
    max_links: int = 3
    trust_returning: bool = True
    discard_retention_hours: int = 24
    spam_retention_days: int = 15
    ip_retention_days: int = 30
    blocklist_file: Path | None = None
    moderation_words_file: Path | None = None
    development: bool = False
    deploy_command: str | None = None
    rebuild_delay: float = 30.0
    rebuild_after_publish: float = 2.0  # seconds; 0 = no incremental build after an in-place publish
    queue_stalled_after: float = 120.0  # seconds a due job may wait before /api/health says "stalled"
    # Moderation: login throttling, emails (SMTP off when no host), links in emails.
    login_rate_limit: str = "10/minute;100/day"
    public_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "Hubbub <hubbub@localhost>"
    smtp_timeout: float = 10.0
    digest_hours: int = 24
    # Webmentions: fetch loopback/private addresses too (tests, intranets); send for our posts' links.
    webmention_allow_private: bool = False
    webmention_send: bool = True
    # Commenters may edit or delete their own comment for this many seconds (0 = never).
    edit_window: float = 900.0

    @property
    def akismet_enabled(self) -> bool:
        return bool(self.akismet_key)

    def flask_settings(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "MAX_CONTENT_LENGTH": self.max_body_bytes,
            "HUBBUB_SITE_DIR": str(self.site_dir),
            "HUBBUB_OUTPUT_DIR": str(self.output_dir),
        }


def load_config(env: dict | None = None, *, create_secret_key: bool = True) -> Config:
    """Read and check every setting; raises ConfigError on the first bad one.

    `create_secret_key=False` (hubbub doctor) writes nothing: a missing generated key reads as "".
    """
    env = dict(os.environ if env is None else env)
    site = Path(env["HUBBUB_SITE_DIR"]).resolve() if env.get("HUBBUB_SITE_DIR") else default_site_dir()
    if not site.is_dir():
        raise ConfigError(f"HUBBUB_SITE_DIR={site} is not a directory: point it at the site project")
    instance = Path(env.get("HUBBUB_INSTANCE_DIR") or site / "instance")
    output = Path(env.get("HUBBUB_OUTPUT_DIR") or site / "output")

    database_url = env.get("HUBBUB_DATABASE_URL") or f"sqlite:///{instance / 'hubbub.db'}"
    if not database_url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ConfigError(
            f"HUBBUB_DATABASE_URL={database_url!r} is not supported: "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db"
        )
    if database_url.startswith("postgresql:"):
        database_url = "postgresql+psycopg:" + database_url[len("postgresql:"):]

    queue_url = env.get("HUBBUB_QUEUE_URL") or None
    if queue_url and not queue_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"HUBBUB_QUEUE_URL={queue_url!r} is not a Redis URL: use redis://host:6379/0, or unset it")

    key = (env.get("PYTHON_AKISMET_API_KEY") or "").strip() or None
    blog_url = (env.get("PYTHON_AKISMET_BLOG_URL") or "").strip() or None
    if key and not blog_url:
        raise ConfigError("PYTHON_AKISMET_API_KEY is set but PYTHON_AKISMET_BLOG_URL is not: set it to your site's URL")
    if blog_url and not blog_url.startswith(("http://", "https://")):
        raise ConfigError(f"PYTHON_AKISMET_BLOG_URL={blog_url!r} must be a full http(s) URL")
    endpoint = (env.get("HUBBUB_AKISMET_ENDPOINT") or "https://rest.akismet.com").rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"HUBBUB_AKISMET_ENDPOINT={endpoint!r} must be an http(s) URL")

    def site_file(name: str, default: str) -> Path:
        return Path(env.get(name) or site / default)

    return Config(
        site_dir=site,
        output_dir=output,
        instance_dir=instance,
        database_url=database_url,
        queue_url=queue_url,
        secret_key=_secret_key(env, instance, create_secret_key),
        akismet_key=key,
        akismet_blog_url=blog_url,
        akismet_endpoint=endpoint,
        akismet_timeout=_number(env, "HUBBUB_AKISMET_TIMEOUT", 5.0, float, 0.1),
        rate_limit=_rate_limit(env, "HUBBUB_RATE_LIMIT", "5/minute;60/day"),
        trusted_proxies=_networks(env, "HUBBUB_TRUSTED_PROXIES"),
        max_body_bytes=_number(env, "HUBBUB_MAX_BODY_BYTES", 256 * 1024, int, 1024),
        max_links=_number(env, "HUBBUB_MAX_LINKS", 3),
        trust_returning=_bool(env, "HUBBUB_TRUST_RETURNING", True),
        **retention(env),
        blocklist_file=site_file("HUBBUB_BLOCKLIST_FILE", "comment-blocklist.txt"),
        moderation_words_file=site_file("HUBBUB_MODERATION_WORDS_FILE", "comment-moderation.txt"),
        development=_bool(env, "HUBBUB_DEVELOPMENT", False),
        deploy_command=(env.get("HUBBUB_DEPLOY_COMMAND") or "").strip() or None,
        rebuild_delay=_number(env, "HUBBUB_REBUILD_DELAY", 30.0, float, 0),
        rebuild_after_publish=_number(env, "HUBBUB_REBUILD_AFTER_PUBLISH", 2.0, float, 0),
        queue_stalled_after=_number(env, "HUBBUB_QUEUE_STALLED_AFTER", 120.0, float, 1),
        login_rate_limit=_rate_limit(env, "HUBBUB_LOGIN_RATE_LIMIT", "10/minute;100/day"),
        public_url=_public_url(env, "HUBBUB_PUBLIC_URL"),
        **_smtp(env),
        digest_hours=_number(env, "HUBBUB_DIGEST_HOURS", 24, int, 1),
        webmention_allow_private=_bool(env, "HUBBUB_WEBMENTION_ALLOW_PRIVATE", False),
        webmention_send=_bool(env, "HUBBUB_WEBMENTION_SEND", True),
        edit_window=_duration(env, "HUBBUB_EDIT_WINDOW", 900.0),
    )


_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600}


def _duration(env: dict, name: str, default: float) -> float:
    """Seconds, written as a number of seconds or with a unit: 900, 15m, 1h."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    number, unit = raw, "s"
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if raw.endswith(suffix):
            number, unit = raw[: -len(suffix)].strip(), suffix
            break
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a duration: use seconds (900) or minutes (15m), or 0 for never") \
            from None
    if not 0 <= value <= 7 * 86400:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 7 days: use e.g. 15m")
    return value
def retention(env: dict | None = None) -> dict:
    """How long the service keeps what (the privacy page of a new site states it)."""
    env = os.environ if env is None else env
    return {
        "discard_retention_hours": _number(env, "HUBBUB_DISCARD_RETENTION_HOURS", 24),
        "spam_retention_days": _number(env, "HUBBUB_SPAM_RETENTION_DAYS", 15),
        "ip_retention_days": _number(env, "HUBBUB_IP_RETENTION_DAYS", 30),
    }


def _public_url(env: dict, name: str) -> str | None:
    raw = (env.get(name) or "").strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={raw!r} must be the service's public http(s) URL, e.g. https://comments.example.org")
    return raw or None


def _smtp(env: dict) -> dict:
    """HUBBUB_SMTP_*: where moderator and commenter emails go out; no host = no emails."""
    host = (env.get("HUBBUB_SMTP_HOST") or "").strip() or None
    port = _number(env, "HUBBUB_SMTP_PORT", 25, int, 1)
    if port > 65535:
        raise ConfigError(f"HUBBUB_SMTP_PORT={port} is not a port: use 25, 465, 587 or your server's")
    user = (env.get("HUBBUB_SMTP_USER") or "").strip() or None
    password = env.get("HUBBUB_SMTP_PASSWORD") or None
    if user and not password:
        raise ConfigError("HUBBUB_SMTP_USER is set but HUBBUB_SMTP_PASSWORD is not: set both, or neither")
    sender = (env.get("HUBBUB_SMTP_FROM") or "").strip() or "Hubbub <hubbub@localhost>"
    if "@" not in sender:
        raise ConfigError(f"HUBBUB_SMTP_FROM={sender!r} is not an email address: use e.g. 'Hubbub <comments@example.org>'")
    return {
        "smtp_host": host,
        "smtp_port": port,
        "smtp_user": user,
        "smtp_password": password,
        "smtp_starttls": _bool(env, "HUBBUB_SMTP_STARTTLS", port == 587),
        "smtp_from": sender,
        "smtp_timeout": _number(env, "HUBBUB_SMTP_TIMEOUT", 10.0, float, 0.1),
    }
