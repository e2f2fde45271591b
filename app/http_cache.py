"""Conditional GETs: the dataset version drives ETag, Last-Modified and 304s.

The version is read inside the request's own transaction (app.deps.snapshot), so the headers and the
body always describe the same data.

The version lives in the database (written by every import), so any number of
API processes behind a load balancer agree on it without coordination.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import DatasetState

VERSION_HEADER = "X-Dataset-Version"
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


def etag_for(version: str, request: Request) -> str:
    """A strong validator per dataset version *and* representation (URL + negotiated type)."""
    variant = f"{request.url.path}?{request.url.query}|{request.headers.get('accept', '')}"
    return f'"{version}-{hashlib.sha256(variant.encode()).hexdigest()[:12]}"'


def not_modified(request: Request, etag: str, last_modified: dt.datetime) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:  # RFC 9110: If-None-Match takes precedence over If-Modified-Since
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in candidates or etag in candidates
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return last_modified <= since
    return False


class NotModified(Exception):
    """Raised by the snapshot dependency when the client's copy is current: answered with a 304."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("not modified")
        self.headers = headers


def validators(request: Request, version: str, updated: dt.datetime) -> dict[str, str]:
    """The cache headers of a GET served from dataset ``version``; raises :class:`NotModified` when the
    request's conditional headers show the client's copy is current."""
    etag = etag_for(version, request)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(updated, usegmt=True),
        VERSION_HEADER: version,
        "Cache-Control": "public, max-age=0, must-revalidate",
    }
    if request.method in ("GET", "HEAD") and not_modified(request, etag, updated):
        raise NotModified(headers)
    return headers


def install_not_modified(app: FastAPI) -> None:
    @app.exception_handler(NotModified)
    async def _not_modified(request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers=exc.headers)
