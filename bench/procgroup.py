"""The live processes of a process group, from /proc (a server's master and workers)."""

from __future__ import annotations

import os
from collections.abc import Iterator


def members(pgid: int) -> Iterator[tuple[str, list[str]]]:
    """(pid, the fields of /proc/PID/stat after the command name) of each process in the group."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            yield entry, fields
