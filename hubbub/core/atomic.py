"""Atomic file replacement: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import errno
import os
import re
import secrets
from pathlib import Path

# The disk, not the data: full, over quota, read-only or failing. Worth retrying later as is.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


def storage_fault(exc: BaseException) -> bool:
    """Whether `exc` is the storage failing (retry later) rather than a missing or bad file."""
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


# The names atomic_write gives its temporary files.
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")


def atomic_write(path: Path, data: bytes, *, fsync: bool = True, mode: int = 0o644) -> None:
    """Write `data` to `path` through a temporary file in the same directory and a rename.

    The temporary file is fsynced before the rename (and the directory after it) so that after a
    crash the path holds either the old or the new content, whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(path.parent)


def write_if_changed(path: Path, data: bytes, *, fsync: bool = False) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly that. True if written.

    Files of the built site are written this way: an unchanged file keeps its time, so a deploy
    that copies by time copies only what changed."""
    path = Path(path)
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    atomic_write(path, data, fsync=fsync)
    return True


def atomic_remove(path: Path, *, fsync: bool = True) -> bool:
    """Remove `path` if it exists (a rename-free delete is already atomic). True if it existed."""
    path = Path(path)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    if fsync:
        fsync_dir(path.parent)
    return True


def remove_temporaries(root: Path) -> int:
    """Remove the temporary files that writers killed mid-write left under `root`. Returns how many.

    Only call it while no writer can be running there (the caller holds the publish lock)."""
    removed = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if _TEMPORARY.fullmatch(name):
                Path(directory, name).unlink(missing_ok=True)
                removed += 1
    return removed


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename itself is still atomic
    finally:
        os.close(fd)
