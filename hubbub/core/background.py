"""Run a piece of a build on the machine's other core while Pelican renders pages.

Writing one comment feed per article is independent of the pages, so the comments plugin hands it
to a forked child at the start of page writing and collects it at the end. Forking is only safe in
a single-threaded process: anywhere else (or where fork does not exist) the work runs inline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class BackgroundError(RuntimeError):
    """The background part of the build failed; the message carries the child's error."""


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


class ChildTask:
    """`work()` in a forked child when possible, else right away; `wait()` reports failure."""

    def __init__(self, work: Callable[[], None], description: str, parallel: bool = True):
        self.description = description
        self.pid: int | None = None
        self._fd: int | None = None
        if not (parallel and can_fork()):
            work()
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: do the work, report an error through the pipe, never return
            os.close(read_fd)
            code = 0
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
                os.write(write_fd, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:8000])
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
        self.pid, self._fd = pid, read_fd

    def wait(self) -> None:
        if self.pid is None:
            return
        chunks = []
        while chunk := os.read(self._fd, 65536):
            chunks.append(chunk)
        os.close(self._fd)
        _, status = os.waitpid(self.pid, 0)
        self.pid = self._fd = None
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            message = b"".join(chunks).decode("utf-8", "replace") or f"exit status {code}"
            raise BackgroundError(f"{self.description} failed: {message}")
