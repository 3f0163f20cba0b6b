"""Who wrote a comment, without ever publishing their email.

Each site has a secret salt (content/comments/.salt). A commenter is known in published data only
by `author_key`: an HMAC of their normalised email under that salt. The key is stable for one
site, so avatars and "same commenter" hints work, yet it cannot be reversed or matched against
a list of known emails without the salt (which, unlike a plain hash, is never published).

Importable from Pelican plugins: it depends on the standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SALT_FILE = Path("content") / "comments" / ".salt"


class SaltError(Exception):
    """The site salt file exists but cannot be used; the message says which file and why."""


def salt_path(site_root: Path) -> Path:
    return Path(site_root) / SALT_FILE


def _read_salt(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        salt = bytes.fromhex(text)
    except ValueError as exc:
        raise SaltError(f"{path} must hold hex text (64 hex digits); fix or delete it") from exc
    if len(salt) < 16:
        raise SaltError(f"{path} holds a salt of {len(salt)} bytes; need at least 16. Delete it to regenerate.")
    return salt


def create_once(path: Path, text: str) -> None:
    """Create `path` holding `text` (mode 0600) unless it exists, atomically and exactly once
    even when several processes race: the text is written to a temporary file, fsynced, and
    hard-linked into place, which fails if another process got there first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:
            # No hard links on this filesystem: a rename is still atomic, only not exclusive.
            if not path.exists():
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def site_salt(site_root: Path) -> bytes:
    """The site's salt, creating content/comments/.salt (32 random bytes as hex) on first use."""
    path = salt_path(site_root)
    if not path.exists():
        create_once(path, secrets.token_hex(32) + "\n")
    return _read_salt(path)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def author_key(email: str, salt: bytes) -> str:
    """Hex HMAC-SHA256 of the stripped, lower-cased email under the site salt."""
    return hmac.new(salt, normalise_email(email).encode("utf-8"), hashlib.sha256).hexdigest()
