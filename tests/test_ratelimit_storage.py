"""The rate-limit storage in the service's database (comments_service/ratelimit_storage.py), on
SQLite and PostgreSQL: what it counts, when entries leave the window, who cleans up, and that
racing takers never get more than the limit. Time is moved by replacing the storage's clock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select

from comments_service import db
from comments_service.models import RateLimitHit
from comments_service.ratelimit_storage import DatabaseStorage, purge_expired


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(database_url, tmp_path):
    engine = db.make_engine(database_url)
    db.migrate(engine, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def storage(engine):
    storage = DatabaseStorage("hubbub-db://", engine=engine)
    storage.clock = Clock()
    return storage


def hits(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(RateLimitHit))


def test_it_counts_up_to_the_limit_and_says_when_the_next_slot_frees(storage):
    clock = storage.clock
    assert storage.get_moving_window("k", 3, 60) == (clock.now, 0)
    for _ in range(3):
        assert storage.acquire_entry("k", 3, 60)
        clock.now += 10
    assert not storage.acquire_entry("k", 3, 60)
    start, count = storage.get_moving_window("k", 3, 60)
    assert count == 3 and start == pytest.approx(clock.now - 30)  # the oldest of the three
    assert storage.acquire_entry("other", 3, 60)  # keys count apart
    assert not storage.acquire_entry("new", 2, 60, amount=3)  # more than the limit at once
    assert storage.acquire_entry("new", 3, 60, amount=2) and not storage.acquire_entry("new", 3, 60, amount=2)


def test_entries_leave_the_window_one_by_one(storage):
    clock = storage.clock
    for _ in range(2):
        assert storage.acquire_entry("k", 2, 60)
        clock.now += 20
    assert not storage.acquire_entry("k", 2, 60)
    clock.now += 20.5  # the first entry is now 60.5 s old, the second 40.5 s
    assert storage.get_moving_window("k", 2, 60)[1] == 1
    assert storage.acquire_entry("k", 2, 60)
    assert not storage.acquire_entry("k", 2, 60)
    clock.now += 61
    assert storage.get_moving_window("k", 2, 60)[1] == 0


def test_the_limits_strategy_and_clear_and_reset_work_on_it(storage, engine):
    limiter = MovingWindowRateLimiter(storage)
    item = parse("2/minute")
    assert limiter.hit(item, "addr") and limiter.hit(item, "addr") and not limiter.hit(item, "addr")
    stats = limiter.get_window_stats(item, "addr")
    assert stats.remaining == 0 and stats.reset_time == pytest.approx(storage.clock.now + 60)
    limiter.clear(item, "addr")
    assert limiter.hit(item, "addr")
    assert storage.check()
    assert storage.reset() == 1 and hits(engine) == 0


def test_long_keys_fit(storage):
    key = "LIMITER/account:" + "a" * 254 + "@example.org/login-account/10/1/minute"
    other = key.replace("aaaa@", "aaab@")
    assert storage.acquire_entry(key, 1, 60) and not storage.acquire_entry(key, 1, 60)
    assert storage.acquire_entry(other, 1, 60)


def test_hits_that_left_their_window_are_purged_and_live_ones_kept(storage, engine):
    clock = storage.clock
    storage.acquire_entry("minute", 5, 60)
    storage.acquire_entry("day", 5, 86400)
    with engine.begin() as conn:
        assert purge_expired(conn, clock.now + 59) == 0
        assert purge_expired(conn, clock.now + 61) == 1
    assert storage.get_moving_window("day", 5, 86400)[1] == 1
    with engine.begin() as conn:
        assert purge_expired(conn, clock.now + 86401) == 1
    assert hits(engine) == 0


def test_the_retention_job_purges_them(make_app, service_env):
    import datetime as dt

    from comments_service.moderation.retention import run_retention

    app = make_app(service_env)
    hub = app.extensions["hubbub"]
    storage = DatabaseStorage("hubbub-db://", engine=hub.engine)
    storage.acquire_entry("old", 5, 60)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    assert run_retention(hub, now=later)["rate_limit_hits_deleted"] == 1
    assert hits(hub.engine) == 0


def test_racing_takers_on_separate_engines_get_exactly_the_limit(database_url, tmp_path):
    """Like gunicorn's workers: each has its own engine (pool, SQLite write gate); 40 takers at once."""
    engines = [db.make_engine(database_url) for _ in range(4)]
    db.migrate(engines[0], tmp_path)
    storages = [DatabaseStorage("hubbub-db://", engine=e) for e in engines]
    start = threading.Barrier(40)

    def take(i: int) -> bool:
        start.wait(10)
        return storages[i % 4].acquire_entry("race", 5, 60)

    try:
        with ThreadPoolExecutor(40) as pool:
            taken = list(pool.map(take, range(40)))
        assert taken.count(True) == 5, taken
        assert storages[0].get_moving_window("race", 5, 60)[1] == 5
    finally:
        for e in engines:
            e.dispose()


def test_a_count_skips_its_own_fsync_and_the_connection_goes_back_synchronous(engine, storage):
    """Counts are not worth a wait for the disk (they share the database with comments, whose
    commits are synchronous); the connection must not carry that into the next comment's commit."""
    sqlite = engine.dialect.name == "sqlite"
    setting = "PRAGMA synchronous" if sqlite else "SHOW synchronous_commit"
    with db.unsynced_transaction(engine) as conn:
        assert str(conn.exec_driver_sql(setting).scalar()) == ("1" if sqlite else "off")  # 1: NORMAL
    assert storage.acquire_entry("k", 5, 60)
    with engine.connect() as conn:  # SQLite: the pool's one connection, used by both writes above
        assert str(conn.exec_driver_sql(setting).scalar()) == ("2" if sqlite else "on")  # 2: FULL
