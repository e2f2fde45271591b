"""The dataset version: what ETag, Last-Modified and X-Dataset-Version are made of (app.representation).

The version is read inside the request's own transaction (app.deps.snapshot), so the headers and the
body always describe the same data. It lives in the database (written by every import), so any number of
API processes behind a load balancer agree on it without coordination.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import DatasetState

EMPTY_VERSION = "empty"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


_VERSION = select(DatasetState.version, DatasetState.updated_at).where(DatasetState.id == 1)


def read_version(session: Session) -> tuple[str, dt.datetime]:
    """(dataset version, when it last changed, UTC) as seen by ``session``'s transaction: read first
    in a request, it opens the snapshot every later statement of the request sees, so the version
    labels exactly the data served. ("empty", epoch) before any import."""
    # Core on the session's connection: the ORM's identity-map machinery costs more than this query.
    state = session.connection().execute(_VERSION).first()
    if state is None:
        return EMPTY_VERSION, _EPOCH
    updated = state.updated_at
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL hands back the session's time zone.
    updated = updated.replace(tzinfo=dt.UTC) if updated.tzinfo is None else updated.astimezone(dt.UTC)
    return state.version, updated
