"""Shared service state kept in the database, so every process (and the banner) agrees on it."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import ServiceState, utcnow


def get(session: Session, name: str) -> dict:
    row = session.get(ServiceState, name)
    return dict(row.value) if row else {}


def put(session: Session, name: str, **value) -> None:
    """Merge `value` into the named state; an upsert, so concurrent first writers cannot collide."""
    row = session.get(ServiceState, name)
    merged = {**(row.value if row else {}), **value}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ServiceState).values(name=name, value=merged, updated=utcnow())
    session.execute(stmt.on_conflict_do_update(
        index_elements=["name"], set_={"value": stmt.excluded.value, "updated": stmt.excluded.updated}))
    if row is not None:
        session.expire(row)  # the next get() reads what was just written
