"""Curation bookkeeping: the change log (history and change feed), retired ids (renames, deletes) and API keys.
Written only by :mod:`app.curation` (the one write path)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import SLUG, Base


class Change(Base):
    """One committed change to one record: a revision in its history and an entry of the change feed.

    ``seq`` orders the feed. Writers hold the write lock (app.curation.store.write_transaction) from before
    they take a ``seq`` until they commit, so sequence order is commit order and a reader following
    ``seq`` can never skip a change that commits later with a smaller number."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_resource_record", "resource", "record_id", "seq"),)

    # BigInteger on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(String(20))  # "events", "actors", … (as in the URL)
    record_id: Mapped[str] = mapped_column(SLUG)  # the id after the change
    op: Mapped[str] = mapped_column(String(10))  # create | update | delete
    previous_id: Mapped[str | None] = mapped_column(SLUG)  # an update that renamed the record: its old id
    replaced_by: Mapped[str | None] = mapped_column(SLUG)  # a delete naming the record that replaces it
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the record's document (bundle form)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    key_id: Mapped[int | None] = mapped_column(Integer)  # the API key that wrote it; None: the command line
    author: Mapped[str] = mapped_column(String(200))  # the key's name, or "cli"
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    dataset_version: Mapped[str] = mapped_column(String(64), index=True)  # the version this commit produced


class RetiredId(Base):
    """An id that no longer names a live record: renamed (``successor`` is the new id, GET answers 301) or
    deleted (GET answers 410, pointing at ``successor`` when the curator named a replacement)."""

    __tablename__ = "retired_ids"

    resource: Mapped[str] = mapped_column(String(20), primary_key=True)
    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    reason: Mapped[str] = mapped_column(String(10))  # renamed | deleted
    successor: Mapped[str | None] = mapped_column(SLUG)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # the change that retired it


class ApiKey(Base):
    """A credential for writes. Only the SHA-256 of the token is stored; the token is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
