"""One writer at a time for the publishing files of an output directory.

The fast publisher (possibly several worker processes) and the end of a full build both rewrite
pages, feeds and the publisher's state in .hubbub/; an exclusive flock on <output>/.hubbub/publish.lock serialises them.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .manifest import lock_path


@contextmanager
def publish_lock(output_dir: Path) -> Iterator[None]:
    path = lock_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
