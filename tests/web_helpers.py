"""Other websites for the webmention tests: real HTTP servers on free ports of 127.0.0.1 (or ::1).

A `Site` answers each path with a `Route` (status, headers, body, an optional delay or a slow
drip) and records every request it receives, so a test can prove that a refused address was
never contacted. It also takes webmentions (a POST to /webmention is recorded and answered 202).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Route:
    body: bytes | str = b""
    status: int = 200
    headers: dict = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between bytes of the body (a slow source)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    form: dict


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class IPv6Server(_Server):
    address_family = socket.AF_INET6


class Site:
    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
                site.requests.append(Seen(self.command, self.path, dict(self.headers), form))
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    route = Route(b"not found", 404, {"Content-Type": "text/plain"})
                if route.delay:
                    time.sleep(route.delay)
                body = route.body.encode() if isinstance(route.body, str) else route.body
                try:
                    self.send_response(route.status)
                    for name, value in route.headers.items():
                        for one in value if isinstance(value, list) else [value]:
                            self.send_header(name, one)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    if route.drip:
                        for i in range(len(body)):
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should on a slow or huge answer

            do_GET = do_POST = do_HEAD = _answer

        cls = IPv6Server if ":" in host else _Server
        self.server = cls((host, 0), Handler)
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, body: bytes | str, **route) -> str:
        """Serve `body` at `path`; returns the page's address."""
        self.routes[path] = Route(body, **route)
        return self.url(path)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def h_entry(target: str, *, kind: str = "in-reply-to", author: str = "Alice Example",
            author_url: str = "https://alice.example/", photo: str = "https://alice.example/me.jpg",
            content: str = "<p>Great post, I agree.</p>", published: str = "2026-11-20T09:30:00+00:00",
            extra: str = "") -> str:
    """A page whose h-entry replies to / likes / reposts / bookmarks `target` (or just mentions it)."""
    relation = (f'<a class="u-{kind}" href="{target}">the post</a>' if kind != "mention"
                else f'<a href="{target}">this post</a>')
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>A reply</title></head>
<body>
<article class="h-entry">
  <span class="p-author h-card"><img class="u-photo" src="{photo}" alt=""><a class="p-name u-url" href="{author_url}">{author}</a></span>
  <time class="dt-published" datetime="{published}">20 November</time>
  <p>About {relation}:</p>
  <div class="e-content">{content}</div>
  {extra}
</article>
</body></html>"""
