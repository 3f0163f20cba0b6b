"""`hubbub serve --reload` on Waitress: a page that is reloaded or closed must give back the thread
its reload events held. Every saved change reloads the open pages, each opening a new event
stream; the old streams' threads must not pile up until the server answers nothing."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
from test_serve_reload import serving


def open_and_drop_stream(host: str, port: int) -> None:
    """What a reloaded tab does: its EventSource opens the stream, then the page goes away."""
    from hubbub.livereload import EVENTS_PATH

    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"GET {EVENTS_PATH} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        data = b""
        while b"retry:" not in data:  # a server thread is on it
            chunk = s.recv(4096)
            assert chunk, data
            data += chunk


def test_reloaded_pages_give_their_stream_threads_back(tmp_path):
    from hubbub.cli import RELOAD_STREAMS, REQUEST_THREADS

    with serving(tmp_path) as (_, base, log, _proc):
        parts = urlsplit(base)
        for _ in range(REQUEST_THREADS + RELOAD_STREAMS + 4):  # a few saves with a few tabs open
            open_and_drop_stream(parts.hostname, parts.port)
        # Held streams would keep every thread for 30-45 s: the request would time out waiting.
        answer = httpx.get(f"{base}/posts/post-3/", timeout=20)
        assert answer.status_code == 200, log.read_text()
