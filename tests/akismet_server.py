"""A local stand-in for the Akismet REST API, for tests, the benchmark and manual runs.

It speaks what the `akismet` library (25.x) sends and expects:

  POST /1.1/verify-key     key, blog                      -> "valid" | "invalid"
  POST /1.1/comment-check  api_key, blog, user_ip, ...    -> "true" | "false"
                                                             ("true" + X-akismet-pro-tip: discard)
  POST /1.1/submit-spam    the same fields                -> "Thanks for making the web a better place."
  POST /1.1/submit-ham     the same fields                -> the same
  GET  /1.2/usage-limit    api_key                        -> JSON

A path prefix before /1.1/ is accepted, so an endpoint such as http://host:port/akismet works.

Verdicts follow Akismet's documented test triggers: comment_author "akismet-guaranteed-spam"
or comment_author_email "akismet-guaranteed-spam@example.com" -> spam; user_role
"administrator" -> ham. Author "akismet-discard" -> spam with the discard header. The stand-in's
own addition, for edits (where only the text changes): comment_content containing
"akismet-guaranteed-spam" -> spam. Anything else is ham. A key not in `keys`, or a missing blog URL, is invalid: "invalid" with an
X-akismet-debug-help header, as Akismet answers.

Every request is recorded (endpoint, path, parsed form, headers, the mode it met) for
assertions. Fault modes, switchable at runtime with set_mode():

  ok           normal answers (after `latency` seconds, if set)
  refuse       the port stops listening and open connections are closed: connection refused
  503          HTTP 503 Service Unavailable
  hang         wait `hang_seconds` before answering normally; stop() or a mode change releases it
  garbage      HTTP 200 with a body Akismet never sends
  invalid_key  every answer says the key is invalid

Use it as a context manager:

    with AkismetStandIn(keys={"test-key"}) as akismet:
        endpoint = akismet.url          # give this to HUBBUB_AKISMET_ENDPOINT
        akismet.set_mode("503")
        akismet.requests_to("comment-check")

or as a pytest fixture (`akismet = akismet_fixture()` in a test module), or standalone:

    python tests/akismet_server.py --port 8765 --latency 0.3

Standalone, the mode can be switched over HTTP (POST /_control/mode with mode=..., and for
"refuse" seconds=N, after which it listens again); GET /_control/requests lists what was seen.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

MODES = ("ok", "refuse", "503", "hang", "garbage", "invalid_key")

DEFAULT_KEY = "test-key"
SPAM_AUTHOR = "akismet-guaranteed-spam"
SPAM_EMAIL = "akismet-guaranteed-spam@example.com"
DISCARD_AUTHOR = "akismet-discard"
HAM_ROLE = "administrator"
SUBMISSION_RESPONSE = "Thanks for making the web a better place."
GARBAGE_BODY = "<html><body>Akismet is having a nap. Try again later?</body></html>"
INVALID_KEY_HELP = "We were unable to verify your API key or site URL. Check both and try again."

_API_PATH = re.compile(r"/(?P<version>1\.[12])/(?P<endpoint>[a-z-]+)/?$")


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received."""

    method: str
    endpoint: str  # "comment-check", "verify-key", ...; "" for an unknown path
    path: str
    form: dict  # form fields (POST body) or query parameters (GET), last value wins
    headers: dict
    mode: str  # the mode the request met
    received: float  # time.monotonic()

    def get(self, name: str, default=None):
        return self.form.get(name, default)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for a hanging handler on close
    allow_reuse_address = True

    def __init__(self, address, stand_in: AkismetStandIn):
        self.stand_in = stand_in
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        self.stand_in._track(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.stand_in._untrack(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, refuse mode) leaves a broken pipe: not worth a traceback.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API; Content-Length is always sent
    server_version = "AkismetStandIn/1.0"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - quiet by default
        if self.server.stand_in.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _read_form(self, method: str) -> dict:
        if method == "GET":
            return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        return dict(parse_qsl(body, keep_blank_values=True))

    def _dispatch(self, method: str):
        stand_in: AkismetStandIn = self.server.stand_in
        form = self._read_form(method)
        path = urlsplit(self.path).path
        after = None
        if path.startswith("/_control/"):
            status, body, headers, after = stand_in._control(method, path, form)
        else:
            status, body, headers = stand_in._answer(method, path, form, dict(self.headers.items()))
        if status is None:  # refuse: drop the connection without an answer
            self.close_connection = True
            return
        self._send(status, body, headers)
        if after is not None:  # e.g. stop listening, once the control request has its answer
            self.close_connection = True
            self.wfile.flush()
            after()

    def _send(self, status: int, body: str, headers: dict):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "text/plain; charset=utf-8"))
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class AkismetStandIn:
    """A threaded HTTP server on 127.0.0.1 that answers like Akismet and can be told to misbehave."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, keys=(DEFAULT_KEY,), *,
                 latency: float = 0.0, hang_seconds: float = 30.0, max_records: int | None = None,
                 verbose: bool = False):
        self.host = host
        self.port = port
        self.keys = set(keys)
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.verbose = verbose
        self._records = collections.deque(maxlen=max_records)
        self._lock = threading.Lock()
        self._mode = "ok"
        self._release = threading.Event()  # set = hanging requests may answer now
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._refuse_timer: threading.Timer | None = None
        self._stopped = True

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> AkismetStandIn:
        self._stopped = False
        self._release = threading.Event()
        self._listen()
        if self._mode == "refuse":
            self._unlisten()
        return self

    def stop(self) -> None:
        """Stop listening, close every connection and release hanging requests at once."""
        self._stopped = True
        self._cancel_refuse_timer()
        self._release.set()
        self._unlisten()

    def __enter__(self) -> AkismetStandIn:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _listen(self) -> None:
        try:
            server = _Server((self.host, self.port), self)
        except OSError as exc:
            raise RuntimeError(f"Akismet stand-in cannot listen on {self.host}:{self.port}: {exc}") from exc
        self.port = server.server_address[1]  # keep the port: "refuse" then "ok" comes back on it
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"akismet-stand-in:{self.port}", daemon=True)
        self._thread.start()

    def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    @property
    def url(self) -> str:
        """The base URL to use as HUBBUB_AKISMET_ENDPOINT."""
        return f"http://{self.host}:{self.port}"

    # -- modes -------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str, *, hang_seconds: float | None = None) -> None:
        """Switch behaviour at runtime; see the module docstring for the modes."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if hang_seconds is not None:
            self.hang_seconds = hang_seconds
        previous, self._mode = self._mode, mode
        if previous == "hang" and mode != "hang":
            # Requests still hanging answer now, so no server thread outlives the test.
            self._release.set()
        if mode == "hang" and previous != "hang":
            self._release = threading.Event()
        if self._stopped:
            return
        if mode == "refuse" and self._server is not None:
            self._unlisten()
        elif mode != "refuse" and self._server is None:
            self._cancel_refuse_timer()
            self._listen()

    def refuse_for(self, seconds: float) -> None:
        """Refuse connections for `seconds`, then answer normally again (for standalone control)."""
        self.set_mode("refuse")
        self._cancel_refuse_timer()
        self._refuse_timer = threading.Timer(seconds, self._end_refusal)
        self._refuse_timer.daemon = True
        self._refuse_timer.start()

    def _end_refusal(self) -> None:
        if self._mode == "refuse" and not self._stopped:
            self.set_mode("ok")

    def _cancel_refuse_timer(self) -> None:
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
            self._refuse_timer = None

    # -- records -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def wait_for_requests(self, endpoint: str, count: int = 1, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait until `count` requests reached `endpoint` (for background callers); raise if not."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.requests_to(endpoint)
            if len(seen) >= count:
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {endpoint} request(s) within {timeout}s, saw {len(seen)}")
            time.sleep(0.02)

    # -- answers -----------------------------------------------------------------------------

    def _answer(self, method: str, path: str, form: dict, headers: dict):
        match = _API_PATH.search(path)
        endpoint = match["endpoint"] if match else ""
        mode = self._mode
        with self._lock:
            self._records.append(RecordedRequest(method, endpoint, path, form, headers, mode, time.monotonic()))
        if mode == "refuse":  # a request that was already on its way when the port closed
            return None, "", {}
        if mode == "hang":
            self._release.wait(self.hang_seconds)
        elif self.latency:
            time.sleep(self.latency)
        if mode == "503":
            return 503, "Service Unavailable", {}
        if mode == "garbage":
            return 200, GARBAGE_BODY, {"Content-Type": "text/html; charset=utf-8"}
        if match is None:
            return 404, f"Not found: {path}", {}
        version = match["version"]
        if (version, endpoint) == ("1.1", "verify-key") and method == "POST":
            return self._verify_key(form, mode)
        if (version, endpoint) in {("1.1", "comment-check"), ("1.1", "submit-spam"), ("1.1", "submit-ham")} \
                and method == "POST":
            return self._post_api(endpoint, form, mode)
        if (version, endpoint) == ("1.2", "usage-limit") and method == "GET":
            if mode == "invalid_key" or form.get("api_key") not in self.keys:
                return self._invalid()
            body = json.dumps({"limit": "none", "usage": len(self._records), "percentage": "0", "throttled": False})
            return 200, body, {"Content-Type": "application/json"}
        return 405 if method not in ("GET", "POST") else 404, f"Not an Akismet API call: {method} {path}", {}

    def _invalid(self):
        return 200, "invalid", {"X-akismet-debug-help": INVALID_KEY_HELP}

    def _credentials_ok(self, key: str | None, blog: str | None, mode: str) -> bool:
        return mode != "invalid_key" and key in self.keys and bool(blog) and blog.startswith(("http://", "https://"))

    def _verify_key(self, form: dict, mode: str):
        if self._credentials_ok(form.get("key"), form.get("blog"), mode):
            return 200, "valid", {}
        return self._invalid()

    def _post_api(self, endpoint: str, form: dict, mode: str):
        if not self._credentials_ok(form.get("api_key"), form.get("blog"), mode):
            return self._invalid()
        if not form.get("user_ip"):
            return 200, "Missing required field: user_ip.", {"X-akismet-debug-help": "Empty \"user_ip\" value"}
        if endpoint != "comment-check":
            return 200, SUBMISSION_RESPONSE, {}
        headers = {"X-akismet-guid": f"stand-in-{len(self._records)}"}
        if form.get("user_role") == HAM_ROLE:
            return 200, "false", headers
        if form.get("comment_author") == DISCARD_AUTHOR:
            return 200, "true", {**headers, "X-akismet-pro-tip": "discard"}
        if form.get("comment_author") == SPAM_AUTHOR or form.get("comment_author_email") == SPAM_EMAIL \
                or SPAM_AUTHOR in form.get("comment_content", ""):
            return 200, "true", headers
        return 200, "false", headers

    # -- control plane (standalone use) ------------------------------------------------------

    def _control(self, method: str, path: str, form: dict):
        if path == "/_control/requests" and method == "GET":
            body = json.dumps([dataclasses.asdict(r) for r in self.requests])
            return 200, body, {"Content-Type": "application/json"}, None
        if path == "/_control/reset" and method == "POST":
            self.clear()
            return 200, "cleared", {}, None
        if path == "/_control/mode" and method == "POST":
            mode = form.get("mode", "")
            try:
                if "latency" in form:
                    self.latency = float(form["latency"])
                hang = float(form["hang_seconds"]) if "hang_seconds" in form else None
                if mode == "refuse":
                    seconds = float(form.get("seconds", "5"))
                    # Answer first, then close the port (this very connection included).
                    return 200, "refuse", {}, lambda: self.refuse_for(seconds)
                if mode:
                    self.set_mode(mode, hang_seconds=hang)
            except ValueError as exc:
                return 400, str(exc), {}, None
            return 200, mode or self._mode, {}, None
        return 404, f"unknown control request {method} {path}", {}, None


def akismet_fixture(scope: str = "function", **options):
    """A pytest fixture that runs an AkismetStandIn for each test (or module, with scope=)."""
    import pytest

    @pytest.fixture(scope=scope)
    def _akismet():
        with AkismetStandIn(**options) as server:
            yield server

    return _akismet


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run a local Akismet stand-in until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", action="append", help=f"a valid API key (repeatable; default {DEFAULT_KEY})")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before every answer")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--max-records", type=int, default=10000, help="requests kept for /_control/requests")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    server = AkismetStandIn(args.host, args.port, args.key or [DEFAULT_KEY], latency=args.latency,
                            hang_seconds=args.hang_seconds, max_records=args.max_records, verbose=args.verbose)
    with server:
        server.set_mode(args.mode)
        print(f"Akismet stand-in on {server.url} (keys: {', '.join(sorted(server.keys))}; mode {args.mode}); "
              "Ctrl-C stops it", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
