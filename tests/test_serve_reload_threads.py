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


def test_more_open_pages_than_streams_leave_requests_their_threads(tmp_path):
    """Pages past RELOAD_STREAMS are told to try again later (their stream ends at once) rather
    than holding a thread each: with every stream taken and more pages open, pages are served."""
    from hubbub.cli import RELOAD_STREAMS, REQUEST_THREADS
    from hubbub.livereload import EVENTS_PATH, FULL_RETRY_MS

    with serving(tmp_path) as (_, base, log, _proc):
        parts = urlsplit(base)
        request = f"GET {EVENTS_PATH} HTTP/1.1\r\nHost: {parts.hostname}\r\nAccept: text/event-stream\r\n\r\n"
        held = []
        try:
            for _ in range(RELOAD_STREAMS + REQUEST_THREADS + 2):
                s = socket.create_connection((parts.hostname, parts.port), timeout=20)
                held.append(s)
                s.sendall(request.encode())
                data = b""
                while b"retry:" not in data:
                    chunk = s.recv(4096)
                    assert chunk, data
                    data += chunk
            answer = httpx.get(f"{base}/posts/post-3/", timeout=20)
            assert answer.status_code == 200, log.read_text()
            # The last page was told when to try again, and its stream is over (chunked: a last chunk).
            while not data.endswith(b"0\r\n\r\n"):
                chunk = held[-1].recv(4096)
                assert chunk, data
                data += chunk
            assert f"retry: {FULL_RETRY_MS}".encode() in data
        finally:
            for s in held:
                s.close()
