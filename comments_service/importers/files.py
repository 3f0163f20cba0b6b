"""Write an import's posts, pages and author profile stubs into content/.

A file that already holds exactly what the import would write is left alone (a second run
touches nothing). A file that differs, because someone edited it since or because another post
has the slug, is kept unless `overwrite` is given: an import never destroys a person's work.
Author profiles that exist are never overwritten.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .plan import AuthorStub, ImportPlan

_PROFILE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # what the profile reader accepts


@dataclass
class FileReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # existed with other content; not replaced
    authors_written: list[str] = field(default_factory=list)
    authors_kept: list[str] = field(default_factory=list)


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def author_profile(stub: AuthorStub) -> str:
    email = stub.email if _PROFILE_EMAIL.match(stub.email or "") else ""
    joined = stub.joined.isoformat() if stub.joined else ""
    return (
        f"Name: {stub.name}\n"
        f"Email: {email}\n"
        "Avatar:\n"
        "Tagline:\n"
        "Location:\n"
        "Website:\n"
        f"Joined: {joined}\n"
        "\n"
        f"{stub.name} wrote for this site before it moved from {stub.source}. "
        "Add a few words about them here; the Email above is never shown.\n"
    )


def write_files(site_root: Path, plan: ImportPlan, overwrite: bool = False) -> FileReport:
    content = Path(site_root) / "content"
    report = FileReport()
    for doc in plan.documents:
        path = content / doc.relpath
        shown = f"content/{doc.relpath}"
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current == doc.text:
            report.unchanged.append(shown)
            continue
        if current is not None and not overwrite:
            report.kept.append(shown)
            continue
        atomic_write_text(path, doc.text)
        report.written.append(shown)
    for stub in plan.authors:
        path = content / "authors" / f"{stub.slug}.md"
        shown = f"content/authors/{stub.slug}.md"
        if path.exists():
            report.authors_kept.append(shown)
            continue
        atomic_write_text(path, author_profile(stub))
        report.authors_written.append(shown)
    return report
