"""`hubbub serve` (without --reload): the server keeps a client's connection open between
requests, as a production server does, instead of a new connection and thread per request."""

from __future__ import annotations

import http.client

from attack_helpers import fresh_site, hubbub_serve, process_env


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
