"""`hubbub serve --host ::`, every address of the machine: IPv4 clients too, as with Werkzeug's
server (a dual-stack socket). Waitress makes its IPv6 sockets IPv6-only."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from build_helpers import ROOT, make_site


def _free_port() -> int:
    with socket.socket(socket.AF_INET6) as s6, socket.socket() as s4:
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s6.bind(("::", 0))
        port = s6.getsockname()[1]
        s4.bind(("0.0.0.0", port))  # free on both
        return port


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
def test_host_all_ipv6_addresses_answers_ipv4_clients_too(tmp_path):
    site = make_site(tmp_path / "site", posts=1)
    env = {**os.environ, "HUBBUB_SITE_DIR": str(site), "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"),
           "HUBBUB_SECRET_KEY": "test", "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    port = _free_port()
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hubbub", "serve", "--host", "::", "--port", str(port)],
                                cwd=site, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://[::1]:{port}/api/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
