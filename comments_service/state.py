"""Shared service state kept in the database, so every process (and the banner) agrees on it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import ServiceState, utcnow


def get(session: Session, name: str) -> dict:
    row = session.get(ServiceState, name)
    return dict(row.value) if row else {}


def put(session: Session, name: str, **value) -> None:
    row = session.get(ServiceState, name)
    if row is None:
        session.add(ServiceState(name=name, value=value, updated=utcnow()))
    else:
        row.value = {**row.value, **value}
        row.updated = utcnow()
