"""`hubbub serve` (without --reload) on Waitress: it keeps a client's connection open between
requests, as a production server does, instead of a new connection and thread per request; it
says so when its port is taken; `--host ::` answers IPv4 clients too, as Werkzeug's server did;
a body far over the size limit is refused before it is read."""

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
from conftest import first_article


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



def _answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and whole answer the server sends on `sock` before it closes or goes quiet."""
    answer = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while data := sock.recv(65536):
            answer += data
    return (int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0), answer


def test_a_body_far_over_the_limit_is_refused_unread(tmp_path):
    """Waitress reads a body whole before the app sees it: one claiming 50 MB is refused at once,
    while the client has sent next to nothing (the read would otherwise wait for the rest and time
    out), and one a little over HUBBUB_MAX_BODY_BYTES still gets the app's own answer."""
    site = fresh_site(tmp_path / "site")
    env = process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
                      HUBBUB_INSTANCE_DIR=tmp_path / "instance", HUBBUB_SECRET_KEY="serve-secret")
    path = f"/api/threads/{first_article(site)}/comments"

    def head(length: int) -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()

    with hubbub_serve(env, site, tmp_path / "serve.log") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head(50_000_000) + b'{"author": "')
            status, answer = _answer(sock)
        assert status == 413, answer[:300]
        body = b'{"body": "' + b"x" * 300_000 + b'"}'  # over the default 256 KiB
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head(len(body)) + body)
            status, answer = _answer(sock)
        assert status == 413 and b'"error"' in answer and b"HUBBUB_MAX_BODY_BYTES" in answer, answer[:300]



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
        assert f"http://[::]:{port}/" in (tmp_path / "serve.log").read_text()  # an address a browser takes
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
