"""API keys for writes: created, listed and revoked by `dipevents keys …`, checked on every write request.

A key is a random token shown once, at creation; the database keeps only its SHA-256 (a fast hash is enough: the
token has 256 bits of entropy, nothing to guess), so a copy of the database yields no usable key. Tokens are never
logged. There is no default key: until an operator creates one, nothing can write through the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import cast

from sqlalchemy import String, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.models import ApiKey

SCOPES = ("write", "admin")
PREFIX = "dpk_"  # recognisable in a leaked-secrets scan
# Last use is written at most this often per key, so a busy curator does not add a write to every request.
TOUCH_EVERY = dt.timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(session: Session, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """A new key (in the session's transaction) and its token, which is not stored anywhere. ValueError for an
    unknown scope, an empty name or one longer than the column holds."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)} (got {', '.join(unknown) or 'none'})")
    if not name.strip():
        raise ValueError("a key needs a name (who or what uses it)")
    limit = cast(String, ApiKey.__table__.c.name.type).length or 0
    if len(name.strip()) > limit:
        raise ValueError(f"a key's name may have at most {limit} characters (got {len(name.strip())})")
    token = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(),
        token_sha256=token_hash(token),
        scopes=sorted(set(scopes)),
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    session.add(key)
    session.flush()
    return key, token


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


class KeyNotRevoked(Exception):
    """Revoking failed: no key has the id, or the key was revoked before (the message says which, on one line)."""


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key (from now on it is refused). :class:`KeyNotRevoked` if there is no such key or it is revoked
    already (its revocation time stays the first one)."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise KeyNotRevoked(f"no key {key_id}")
    if key.revoked_at is not None:
        raise KeyNotRevoked(f"key {key_id} ({key.name}) was already revoked at {key.revoked_at.isoformat()}")
    key.revoked_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return key


def find_key(session: Session, token: str) -> ApiKey | None:
    """The live (unrevoked) key of ``token``, or None."""
    key = session.scalars(select(ApiKey).where(ApiKey.token_sha256 == token_hash(token))).first()
    return key if key is not None and key.revoked_at is None else None


def due_for_use_record(key: ApiKey) -> bool:
    """Whether ``key``'s last use is older than TOUCH_EVERY (or it was never used)."""
    last = key.last_used_at
    if last is None:
        return True
    last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC) - last >= TOUCH_EVERY


def record_use(session: Session, key: ApiKey) -> None:
    """Note that ``key`` was used now."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))


def key_of_bearer(sessions: sessionmaker[Session], authorization: str | None) -> int | None:
    """The id of the live key an `Authorization: Bearer …` header carries, or None (no header, another scheme, an
    unknown or revoked key): whom app.guards counts a request against."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with sessions() as session:
        key = find_key(session, token.strip())
        return key.id if key is not None else None
