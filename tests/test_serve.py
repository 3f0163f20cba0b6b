"""`hubbub serve` (without --reload) on Waitress: it keeps a client's connection open between
requests, as a production server does, instead of a new connection and thread per request; it
says so when its port is taken; `--host ::` answers IPv4 clients too, as Werkzeug's server did."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from attack_helpers import fresh_site, hubbub_serve, process_env
from build_helpers import ROOT, make_site


def test_requests_share_one_connection(tmp_path):
    site = fresh_site(tmp_path / "site")
    env = process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
                      HUBBUB_INSTANCE_DIR=tmp_path / "instance", HUBBUB_SECRET_KEY="serve-secret")
    with hubbub_serve(env, site, tmp_path / "serve.log") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            sockets = []
            for path in ("/", "/api/health", "/archives/", "/api/health"):
                conn.request("GET", path)
                answer = conn.getresponse()
                answer.read()
                assert answer.status == 200, (path, answer.status)
                assert answer.getheader("Connection", "").lower() != "close", path
                sockets.append(conn.sock)  # http.client drops a socket the server closes, and reconnects
            assert sockets[0] is not None and all(s is sockets[0] for s in sockets)
        finally:
            conn.close()



def test_a_port_in_use_is_a_message_not_a_traceback(tmp_path):
    site = make_site(tmp_path / "site", posts=1)
    env = {**os.environ, "HUBBUB_SITE_DIR": str(site), "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"),
           "HUBBUB_SECRET_KEY": "test", "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "hubbub", "serve", "--port", str(port)], cwd=site, env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    assert f"{port}" in done.stderr and "in use" in done.stderr, output



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
