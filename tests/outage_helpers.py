"""Parts that fail on purpose, for the outage tests (tests/test_outage_*.py).

- a private PostgreSQL cluster on a free port (initdb run as the `postgres` user), stopped and
  started again at will;
- a private redis-server on a free port, killed and started again;
- a read-only bind mount and a small tmpfs over a directory (we run as root; skipped with the
  reason when this machine does not allow mounting);
- injected ENOSPC for the files written under one directory, at the layer that writes them.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from attack_helpers import free_port, wait_until


# PostgreSQL ------------------------------------------------------------------------------------
def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip(f"no PostgreSQL {name} under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return found[-1]


def _as_postgres(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, **kw)


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, so the test may stop it without harming others."""

    def __init__(self):
        self.port = free_port()
        # Not under pytest's tmp_path: the postgres user cannot enter root's 0700 directories.
        self.root = Path(tempfile.mkdtemp(prefix="hubbub-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/hubbub"

    def __enter__(self) -> PrivatePostgres:
        initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        shutil.chown(self.root, "postgres", "postgres")
        done = _as_postgres(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                            "--no-sync")
        if done.returncode != 0:
            shutil.rmtree(self.root, ignore_errors=True)
            pytest.skip(f"initdb as the postgres user failed: {done.stderr.strip()[-300:]}")
        self.start()
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE hubbub")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = _as_postgres(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start",
                            timeout=60)
        assert done.returncode == 0, f"pg_ctl start failed: {done.stderr}\n{self.log.read_text()[-2000:]}"

    def stop(self) -> None:
        """A fast shutdown: connections are cut, transactions in flight roll back."""
        done = _as_postgres(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        assert done.returncode == 0, f"pg_ctl stop failed: {done.stderr}"

    def __exit__(self, *exc) -> None:
        _as_postgres(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


# Redis -------------------------------------------------------------------------------------------
class PrivateRedis:
    """A redis-server of the test's own (nothing saved to disk), killed and restarted at will."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
        from redis import Redis

        def answers():
            try:
                return Redis.from_url(self.url, socket_timeout=1).ping()
            except Exception:
                return False

        wait_until(answers, 20, f"redis-server on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


# Mounts ------------------------------------------------------------------------------------------
def _mount(*argv: str) -> None:
    done = subprocess.run(["mount", *argv], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the test mount ({' '.join(argv)}): {done.stderr.strip()}")


def _umount(directory: Path) -> None:
    for _ in range(50):  # a file the service still holds open keeps the mount busy a moment
        if subprocess.run(["umount", str(directory)], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", str(directory)], capture_output=True)


@contextlib.contextmanager
def read_only(directory: Path):
    """`directory` read-only (a read-only bind mount over itself) for the block; writable after."""
    _mount("--bind", str(directory), str(directory))
    try:
        done = subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], capture_output=True, text=True)
        assert done.returncode == 0, f"remounting {directory} read-only failed: {done.stderr}"
        yield
    finally:
        _umount(directory)


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: str):
    """A tmpfs of `size` mounted on `directory` (emptied first: the caller fills it)."""
    directory.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory))
    try:
        yield directory
    finally:
        _umount(directory)


def fill(directory: Path) -> Path:
    """Fill the filesystem of `directory` to the last byte; remove the returned file to free it."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                fh.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0")
    return filler


# Injected ENOSPC --------------------------------------------------------------------------------
class DiskFull:
    """Files written under `root` whose name ends with one of `suffixes` fail with ENOSPC halfway
    through, as on a full disk, while `full` is True. The core writes files through os.fdopen
    (hubbub.core.atomic, the site salt), which is where this injects."""

    def __init__(self, monkeypatch, root: Path, suffixes: tuple[str, ...] = ("",)):
        from hubbub.core import atomic

        self.root, self.suffixes, self.full, self.failures = str(root), suffixes, True, []
        real_fdopen = os.fdopen

        def fdopen(fd, *args, **kw):
            fh = real_fdopen(fd, *args, **kw)
            path = os.readlink(f"/proc/self/fd/{fd}")
            # The temporary file is ".<name>.<random>.tmp": match the name it will get.
            final = path.rsplit(".", 2)[0] if path.endswith(".tmp") else path
            if self.full and path.startswith(self.root) and final.endswith(self.suffixes):
                return _HalfWriter(fh, self, final)
            return fh

        monkeypatch.setattr(atomic.os, "fdopen", fdopen)


class _HalfWriter:
    def __init__(self, fh, disk: DiskFull, name: str):
        self.fh, self.disk, self.name = fh, disk, name

    def write(self, data: bytes) -> int:
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()  # half of it really is on disk, in the temporary file
        self.disk.failures.append(self.name)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()
