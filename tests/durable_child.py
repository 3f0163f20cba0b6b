"""The child process of test_durable_ack.py: the real app on a real database, posting comments from
several threads, cut short by os._exit at one chosen step of a commit.

    python durable_child.py SETTINGS_JSON ACKS_FILE POINT NTH

Every 202 is appended to ACKS_FILE (one JSON line, fsynced) before the thread sends its next
comment, so the parent knows which comments were promised (an answer may also be cut before it is
written down). The process dies with status DIED at the NTH time it reaches POINT (see FAULTS),
first writing the bodies of the comments the cut transaction had inserted to ACKS_FILE.cut;
status 3 means the point was never reached.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time

from sqlalchemy import event

DIED = 86
THREADS = 4
MAX_POSTS = 400  # per thread; far more than any fault point needs
SLUG = "social-media-and-network-marketing"
FAULTS = ("before-begin", "after-insert", "before-commit", "after-commit", "before-answer", "batched-commit")


BODY = re.compile(r"^Comment \d+ of writer \d+\.$")


def install(app, point: str, nth: int, cut_path: str) -> None:
    """Make the process die at the nth time it reaches `point` in a comment's write transaction.

    Read sessions run beside the writer (they take no write lock), so what a transaction inserted is
    kept per connection, and only write transactions count."""
    hub = app.extensions["hubbub"]
    engine = hub.engine
    seen = {"n": 0}
    lock = threading.Lock()

    def inserted(conn) -> list[str]:  # bodies the connection's open transaction inserted
        return conn.info.setdefault("comment_bodies", [])

    def writing(conn) -> bool:
        options = conn.get_execution_options()
        return not (options.get("hubbub_read_only") or options.get("postgresql_readonly"))

    @event.listens_for(engine, "begin")
    def _(conn):
        conn.info["comment_bodies"] = []

    @event.listens_for(engine, "after_cursor_execute")
    def _(conn, cursor, statement, parameters, *args):
        if statement.lstrip().upper().startswith("INSERT INTO COMMENTS"):
            values = parameters.values() if isinstance(parameters, dict) else parameters
            inserted(conn).extend(v for v in values if isinstance(v, str) and BODY.match(v))

    def reached(bodies: list[str]) -> None:
        """`bodies`: what the transaction being cut had inserted, for the parent to look for."""
        with lock:
            seen["n"] += 1
            if seen["n"] >= nth:
                with open(cut_path, "w") as fh:
                    json.dump(bodies, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                os._exit(DIED)

    if point == "before-begin":  # first of the begin listeners: before BEGIN IMMEDIATE is sent
        event.listen(engine, "begin", lambda conn: reached([]) if writing(conn) else None, insert=True)
    elif point == "after-insert":
        @event.listens_for(engine, "after_cursor_execute")
        def _(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("INSERT INTO COMMENTS"):
                reached(inserted(conn))
    elif point == "before-commit":  # the engine's commit event comes before the database's COMMIT
        event.listen(engine, "commit", lambda conn: reached(inserted(conn)) if inserted(conn) else None)
    elif point == "after-commit":  # committed, waiters not yet told (a SAVEPOINT's release does not count)
        committing = threading.local()  # the engine's commit event and the session's after_commit share a thread

        @event.listens_for(engine, "commit")
        def _(conn):
            committing.bodies = list(inserted(conn))

        @event.listens_for(hub.write_sessions, "after_commit")
        def _(session):
            if not session.in_nested_transaction() and getattr(committing, "bodies", None):
                reached(committing.bodies)
    elif point == "before-answer":
        @app.after_request
        def _(response):
            if response.status_code == 202:
                reached([])
            return response
    elif point == "batched-commit":  # die in the COMMIT of a transaction holding several comments
        @event.listens_for(engine, "commit")
        def _(conn):
            if len(inserted(conn)) >= 2:
                reached(inserted(conn))
            else:  # hold this commit until others queue up behind it: the next one is a batch
                deadline = time.monotonic() + 10
                while hub.group_commit.waiting() < 2 and time.monotonic() < deadline:
                    time.sleep(0.001)
    else:
        raise SystemExit(f"unknown fault point {point!r}: one of {', '.join(FAULTS)}")


def main() -> None:
    settings_json, acks_path, point, nth = sys.argv[1:5]
    from comments_service import create_app

    app = create_app(None, env=json.loads(settings_json), run_jobs=False)
    app.extensions["hubbub_limiter"].enabled = False  # its counts are commits too; only comments' count here
    install(app, point, int(nth), acks_path + ".cut")
    acks = os.open(acks_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    ack_lock = threading.Lock()

    def writer(n: int) -> None:
        client = app.test_client()
        for i in range(MAX_POSTS):
            body = f"Comment {i} of writer {n}."
            r = client.post(f"/api/threads/{SLUG}/comments",
                            json={"author": f"W{n}", "email": f"w{n}@example.org", "body": body})
            if r.status_code != 202:
                print(r.status_code, r.get_data(as_text=True), file=sys.stderr)
                os._exit(4)
            line = json.dumps({"id": r.get_json()["id"], "body": body}) + "\n"
            with ack_lock:
                os.write(acks, line.encode())
                os.fsync(acks)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os._exit(3)  # the fault point was never reached


if __name__ == "__main__":
    main()
