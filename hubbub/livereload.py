"""Live reload for `hubbub serve --reload`: an open page reloads itself when its file changes, and
shows a build error (and hides it once the site builds again).

The dev server adds one external script to each HTML page it serves from output/ (nothing in the
built files, nothing in production); the script listens to server-sent events at
/__hubbub/events. It is plain JavaScript under the site's Content-Security-Policy.
"""

from __future__ import annotations

import json
import queue
import threading
import time

from flask import Blueprint, Flask, Response, request

SCRIPT_PATH = "/__hubbub/livereload.js"
EVENTS_PATH = "/__hubbub/events"
TAG = f'<script src="{SCRIPT_PATH}" defer></script>'.encode()

SCRIPT = """(() => {
  "use strict";
  const path = decodeURIComponent(location.pathname).replace(/^\\/+/, "");
  const file = path === "" || path.endsWith("/") ? path + "index.html" : path;
  let box = null;
  function showError(message) {
    if (!box) {
      box = document.createElement("pre");
      box.id = "hubbub-build-error";
      box.setAttribute("role", "alert");
      Object.assign(box.style, {position: "fixed", left: "0", right: "0", bottom: "0", maxHeight: "50vh",
        overflow: "auto", margin: "0", padding: "1rem", background: "#4a0d0d", color: "#fff",
        font: "14px/1.4 monospace", whiteSpace: "pre-wrap", zIndex: "2147483647"});
      document.body.appendChild(box);
    }
    box.textContent = "Build failed (the last good version is shown):\\n\\n" + message;
  }
  const events = new EventSource("__EVENTS__");
  events.addEventListener("change", (event) => {
    const pages = JSON.parse(event.data).pages || [];
    // This page, or a stylesheet or script it may use: reload.
    if (pages.includes(file) || pages.some((p) => /\\.(css|js)$/.test(p))) location.reload();
  });
  events.addEventListener("failure", (event) => showError(JSON.parse(event.data).message));
  events.addEventListener("recovered", () => { if (box) { box.remove(); box = null; } });
})();
""".replace("__EVENTS__", EVENTS_PATH)


_CLOSED = object()
KEEPALIVE = 15.0  # seconds between comments on a quiet stream: proxies and browsers keep it open
GONE_CHECK = 1.0  # seconds between looks at whether the page went away (a reload, a closed tab)
FULL_RETRY_MS = 5000  # a page that finds every stream taken asks again this much later


class Events:
    """Build events, fanned out to every open page (each a queue), at most `limit` pages at once:
    each holds a server thread, and the rest must stay free for requests."""

    def __init__(self, limit: int | None = None):
        self.limit = limit
        self._listeners: list[queue.Queue] = []
        self._lock = threading.Lock()
        self.failure: str | None = None  # told to pages that open while the site does not build
        self.closed = False

    def close(self) -> None:
        """End every page's stream, so that the server stopping need not wait for their threads."""
        with self._lock:
            self.closed = True
            for listener in self._listeners:
                listener.put(_CLOSED)

    def publish(self, event: dict) -> None:
        if event.get("event") == "failure":
            self.failure = event.get("message")
        elif event.get("event") == "recovered":
            self.failure = None
        with self._lock:
            for listener in self._listeners:
                listener.put(event)

    def listen(self, gone=None):
        """One page's events. `gone()` says whether the page went away (Waitress's
        waitress.client_disconnected): its stream then ends at once and gives its server thread
        back, where a write would only find out at the next keepalive, or the one after."""
        listener: queue.Queue = queue.Queue()
        with self._lock:
            full = self.limit is not None and len(self._listeners) >= self.limit
            if not full:
                self._listeners.append(listener)
        if full:  # the browser opens the stream again later; from then on its page follows the changes
            yield f"retry: {FULL_RETRY_MS}\n\n"
            return
        try:
            yield "retry: 1000\n\n"
            if self.failure:
                yield _format({"event": "failure", "message": self.failure})
            last = time.monotonic()
            while not self.closed:
                try:
                    event = listener.get(timeout=GONE_CHECK if gone is not None else KEEPALIVE)
                except queue.Empty:
                    if gone is not None and gone():
                        return
                    if time.monotonic() - last >= KEEPALIVE:
                        last = time.monotonic()
                        yield ": still here\n\n"  # keeps proxies and the browser from closing the stream
                    continue
                if event is _CLOSED:
                    return
                last = time.monotonic()
                yield _format(event)
        finally:
            with self._lock:
                self._listeners.remove(listener)


def _format(event: dict) -> str:
    data = {k: v for k, v in event.items() if k != "event"}
    return f"event: {event['event']}\ndata: {json.dumps(data)}\n\n"


def install(app: Flask, events: Events) -> None:
    """Serve the script and the events, and add the script to the site's HTML pages."""
    bp = Blueprint("livereload", __name__)

    @bp.get(SCRIPT_PATH)
    def script():
        return Response(SCRIPT, mimetype="text/javascript", headers={"Cache-Control": "no-store"})

    @bp.get(EVENTS_PATH)
    def stream():
        return Response(events.listen(request.environ.get("waitress.client_disconnected")), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    app.register_blueprint(bp)  # fixed paths: Werkzeug prefers them to the site's catch-all route

    @app.after_request
    def add_script(response):
        # A missing page too: a post not built yet, or gone with an error, shows once it is there.
        if (request.endpoint == "static_site.page" and response.status_code in (200, 404)
                and response.mimetype == "text/html"):
            response.direct_passthrough = False
            body = response.get_data()
            at = body.rfind(b"</body>")
            response.set_data(body[:at] + TAG + body[at:] if at >= 0 else body + TAG)
            response.headers["Cache-Control"] = "no-store"
        return response
