"""The dataset version: what ETag, Last-Modified and X-Dataset-Version are made of (app.representation).

The version is read inside the request's own transaction (app.deps.Snapshot), so the headers and the
body always describe the same data. It lives in the database (written by every import and every curated
write), so any number of API processes behind a load balancer agree on it without coordination.

On SQLite each pooled connection remembers the version it last read, with the connection's
`PRAGMA data_version` (which changes when another connection commits) and its own count of changes
(`total_changes`, which moves when it writes itself): while both stand still the remembered version is the
one in the database, so a request costs one PRAGMA instead of a query. The PRAGMA is the transaction's
first read, so it opens the snapshot every later statement of the request sees (as the version query
does on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.models import DatasetState

EMPTY_VERSION = "empty"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Key of the remembered version in a pooled SQLite connection's `info` (it lives as long as the connection).
_REMEMBERED = "dipevents.dataset_version"


_VERSION = select(DatasetState.version, DatasetState.updated_at).where(DatasetState.id == 1)


def read_version(session: Session) -> tuple[str, dt.datetime]:
    """(dataset version, when it last changed, UTC) as seen by ``session``'s transaction: read first
    in a request, it opens the snapshot every later statement of the request sees, so the version
    labels exactly the data served. ("empty", epoch) before any import."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return _query_version(connection)
    pooled = connection.connection
    driver: Any = pooled.dbapi_connection
    # Read first (it begins the read snapshot), then compared with what this connection saw last time.
    marker = (driver.execute("PRAGMA data_version").fetchone()[0], driver.total_changes)
    remembered = pooled.info.get(_REMEMBERED)
    if remembered is not None and remembered[0] == marker:
        found: tuple[str, dt.datetime] = remembered[1]
        return found
    found = _query_version(connection)
    pooled.info[_REMEMBERED] = (marker, found)
    return found


def _query_version(connection: Connection) -> tuple[str, dt.datetime]:
    # Core on the session's connection: the ORM's identity-map machinery costs more than this query.
    state = connection.execute(_VERSION).first()
    if state is None:
        return EMPTY_VERSION, _EPOCH
    updated = state.updated_at
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL hands back the session's time zone.
    updated = updated.replace(tzinfo=dt.UTC) if updated.tzinfo is None else updated.astimezone(dt.UTC)
    return state.version, updated
