"""Helpers for the upgrade and restore tests: representative rows of every table, written with
plain SQL so that they fit any schema revision, and checks that the service still finds them all.

SEED holds rows for the tables that keep what people wrote or set up; `seed` inserts the ones
whose table exists in the database, with the columns that exist there. A migration that adds a required column (NOT NULL,
no server default) to a seeded table makes `seed` fail until SEED gives it a value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from moderation_helpers import PASSWORD, login, published_ids
from service_helpers import PERIODIC, hub_of, run_jobs
from sqlalchemy import inspect, text

SLUG = "social-media-and-network-marketing"  # a real article of the project's site
OTHER = "local-seo-for-small-businesses-start-with-the-map"
EMAIL = "keeper@example.org"
TOKEN = "hubbub_upgrade-test-token"
T = dt.datetime(2026, 11, 1, 12, 0)  # naive UTC, as the database stores times


def _comment(id, status, thread=SLUG, parent_id=None, **extra):
    return {"id": id, "thread": thread, "parent_id": parent_id, "author": f"Reader {id}", "email": f"r{id}@example.org",
            "url": "", "body": f"Comment {id}, {status}", "html": f"<p>Comment {id}, {status}</p>",
            "created": T + dt.timedelta(minutes=id), "updated": T + dt.timedelta(minutes=id),
            "published_at": T + dt.timedelta(minutes=id) if status == "published" else None,
            "remote_addr": "192.0.2.1", "user_agent": "test", "referrer": "", "status": status,
            "akismet": {"spam": "spam", "pending": "unchecked"}.get(status, "ham"), "guard_reasons": "[]",
            "check_attempts": 0, "notify": False, "source": "web", "kind": "comment", **extra}


SEED: dict[str, list[dict]] = {
    "comments": [
        _comment(1, "published"),
        _comment(2, "published", parent_id=1),  # a reply
        _comment(3, "pending", parent_id=1),
        _comment(4, "rejected"),
        _comment(5, "spam", thread=OTHER),
        _comment(6, "published", thread=OTHER, source="import", import_key="wordpress:old.example:6"),
    ],
    "jobs": [  # a publish nobody ran yet, the service must run it (its id clear of the periodic jobs)
        {"id": 1001, "kind": "publish", "key": SLUG, "payload": json.dumps({"thread": SLUG}), "due_at": T,
         "attempts": 0, "generation": 0, "locked_by": None, "locked_until": None, "last_error": None, "created": T},
    ],
    "service_state": [{"name": "akismet", "value": json.dumps({"state": "ok"}), "updated": T}],
    "moderators": [  # the password hash is filled in by `seed` (argon2, PASSWORD)
        {"id": 1, "email": EMAIL, "password_hash": None, "role": "admin", "disabled": False, "author_slug": None,
         "notify": "off", "last_digest_at": None, "last_login": T, "created": T},
    ],
    "api_tokens": [
        {"id": 1, "moderator_id": 1, "name": "upgrade", "token_hash": hashlib.sha256(TOKEN.encode()).hexdigest(),
         "prefix": TOKEN[:10], "created": T, "last_used": None, "revoked": None},
    ],
    "audit_log": [
        {"id": 1, "comment_id": 4, "moderator": EMAIL, "action": "reject", "from_status": "pending",
         "to_status": "rejected", "at": T, "detail": ""},
    ],
    "sent_notifications": [
        {"id": 1, "kind": "pending", "comment_id": 3, "recipient": "a" * 64, "sent_at": T},
    ],
    "subscriptions": [  # not yet confirmed: the upgrade sends nobody email
        {"id": 1, "thread": SLUG, "email": "sub@example.org", "created": T, "comment_id": None,
         "confirm_sent_at": T, "confirmed_at": None},
    ],
    "email_link_uses": [
        {"nonce": "n" * 32, "comment_id": 4, "moderator": EMAIL, "action": "reject", "used_at": T},
    ],
    "webmentions": [
        {"id": 1, "key": "k" * 64, "token": "t" * 32, "source": "https://other.example/post",
         "target": f"https://blog.example/{SLUG}/", "thread": SLUG, "status": "rejected",
         "reason": "no link to the target", "comment_id": None, "remote_addr": "192.0.2.7", "user_agent": "wm",
         "attempts": 1, "received": T, "checked": T, "created": T},
    ],
    "sent_webmentions": [
        {"id": 1, "key": "s" * 64, "thread": SLUG, "source": f"https://blog.example/{SLUG}/",
         "target": "https://other.example/", "linked": True, "sent_digest": "d" * 64, "wanted_digest": "d" * 64,
         "status": "sent", "endpoint": "https://other.example/webmention", "response": "202", "sent_at": T,
         "updated": T},
    ],
}

# What the service must show for the seeded comments, by status.
BY_STATUS = {status: sorted(c["id"] for c in SEED["comments"] if c["status"] == status)
             for status in ("pending", "published", "rejected", "spam")}


def _key(table: str) -> str:
    return "nonce" if table == "email_link_uses" else "name" if table == "service_state" else "id"


def seed(conn, tables=SEED) -> dict[str, list[dict]]:
    """Insert SEED's rows into the tables the database has, with the columns it has; returns them."""
    from comments_service.moderation.auth import hash_password

    schema = inspect(conn)
    present = set(schema.get_table_names())
    written: dict[str, list[dict]] = {}
    for table in tables:
        rows = SEED[table]
        if table not in present:
            continue
        columns = {c["name"]: c for c in schema.get_columns(table)}
        needed = {name for name, c in columns.items() if not c["nullable"] and c.get("default") is None}
        written[table] = []
        for row in rows:
            row = {k: v for k, v in row.items() if k in columns}
            if table == "moderators":
                row["password_hash"] = hash_password(PASSWORD)
            missing = needed - set(row)
            assert not missing, f"SEED has no value for {table}.{', '.join(sorted(missing))}: add one"
            names = ", ".join(row)
            conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in row)})"), row)
            written[table].append(row)
    if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table, rows in written.items():
            if _key(table) == "id" and rows:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    return written


def assert_rows_kept(engine, written: dict[str, list[dict]]) -> None:
    """Every seeded row is still there with the values it was given (times aside: their
    representation differs between the drivers)."""
    with engine.connect() as conn:
        for table, rows in written.items():
            key = _key(table)
            stored = {r[key]: r for r in conn.execute(text(f"SELECT * FROM {table}")).mappings()}
            for row in rows:
                assert row[key] in stored, f"{table} {row[key]} was lost"
                kept = stored[row[key]]
                for name, value in row.items():
                    if not isinstance(value, dt.datetime):
                        assert kept[name] == value, f"{table} {row[key]}: {name} is {kept[name]!r}, was {value!r}"


def api_ids(client, token: str = TOKEN) -> dict[str, list[int]]:
    """The comment ids the moderation API lists, by status."""
    found = {}
    for status in ("pending", "published", "rejected", "spam"):
        r = client.get(f"/api/moderation/comments?status={status}&limit=500",
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.get_data(as_text=True)
        found[status] = sorted(c["id"] for c in r.get_json()["comments"])
    return found


def waiting_jobs(app) -> list[tuple[str, str | int]]:
    """(kind, what it is for) of every job waiting to run but the periodic ones."""
    from sqlalchemy import select

    from comments_service.models import Job

    with hub_of(app).sessions() as s:
        return [(j.kind, j.key or j.payload.get("comment"))
                for j in s.scalars(select(Job).where(Job.kind.not_in(PERIODIC)).order_by(Job.id))]


def assert_service_finds_everything(app, written: dict[str, list[dict]], posted: tuple[int, ...] = ()) -> None:
    """The service started on the database shows every seeded comment (and the `posted` ones,
    waiting for their check), lets the seeded moderator in (password and token), runs the waiting
    jobs, and moderates and publishes as usual.

    A database from before there were accounts gets its first one now, as its owner would."""
    if "moderators" not in written:
        with hub_of(app).engine.begin() as conn:
            seed(conn, ["moderators", "api_tokens"])
    client = app.test_client()
    assert api_ids(client) == {**BY_STATUS, "pending": sorted(BY_STATUS["pending"] + list(posted))}
    login(client, EMAIL)
    waiting = {("publish", SLUG)} | {("check", i) for i in posted}
    assert waiting <= set(waiting_jobs(app))
    run_jobs(app)
    assert not waiting & set(waiting_jobs(app)), waiting_jobs(app)  # they ran (a rebuild they ask for may wait)
    listed = api_ids(client)
    assert set(posted) <= {i for ids in listed.values() for i in ids}  # checked, not lost
    assert sorted(published_ids(app, SLUG)) == [1, 2]  # the seeded job published the thread
    r = client.post("/api/moderation/comments/3/approve", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.get_json()["status"] == "published", r.get_data(as_text=True)
    run_jobs(app)
    assert sorted(published_ids(app, SLUG)) == [1, 2, 3]
