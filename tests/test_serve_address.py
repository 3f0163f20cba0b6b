"""`hubbub serve` tells the address it really serves on, and only once it does.

`--port 0` (any free port) used to announce "Hubbub on http://127.0.0.1:0/", an address nobody can
open; a port in use announced the site as served before saying it was not.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from build_helpers import new_built_site

BANNER = re.compile(r"Hubbub on http://127\.0\.0\.1:(\d+)/")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return new_built_site(tmp_path_factory.mktemp("serve") / "site", "Served")


def serve(site, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HUBBUB_SITE_DIR": str(site), "HUBBUB_SECRET_KEY": "x" * 32}
    return subprocess.Popen([sys.executable, "-m", "hubbub", "serve", *args], cwd=site, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_port_zero_announces_the_port_it_got(site):
    server = serve(site, "--port", "0")
    try:
        line = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not line.startswith("Hubbub on"):
            line = server.stdout.readline()
            assert line or server.poll() is None, server.stderr.read()
        found = BANNER.match(line)
        assert found, line
        port = int(found.group(1))
        assert port != 0, line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_port_in_use_is_the_only_message(site):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = serve(site, "--port", str(port))
        out, err = server.communicate(timeout=60)
    assert server.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use by another program" in err
    assert "Hubbub on" not in out, out
