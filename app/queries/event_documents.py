"""Events as JSON documents, built by the database in one statement.

The shape is `app.schemas.events.EventOut` (the documented contract; tests/test_event_documents.py holds
every document to it). The database nests participants, topics, citations, locators, quotes and relations
with its JSON functions and hands back the finished text, which the API sends as it is: no ORM objects,
no per-field Python work. Measured on a 50-event page (bench/RESULTS.md): ORM + Pydantic ~40 ms, dicts
from eight Core queries + orjson ~10 ms, this ~3 ms.

SQLite (JSON1, 3.38+) and PostgreSQL spell the same document differently; `JsonDialect` holds the
differences.
"""

from __future__ import annotations

from typing import Any, Sequence

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import vocab

Document = dict[str, Any]


def _quote(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


class JsonDialect:
    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def obj(self, **fields: str) -> str:
        pairs = ", ".join(f"'{key}', {value}" for key, value in fields.items())
        return f"json_build_object({pairs})" if self.pg else f"json_object({pairs})"

    def array(self, item: str, source: str, order: str) -> str:
        """A JSON array (never null) of ``item`` over the rows of ``source``, in ``order``."""
        if self.pg:
            return f"coalesce((SELECT json_agg({item} ORDER BY {order}) FROM {source}), '[]'::json)"
        # SQLite keeps a subquery's order in json_group_array, and json() re-marks text as JSON.
        return f"(SELECT json_group_array(json(x)) FROM (SELECT {item} AS x FROM {source} ORDER BY {order}))"

    def flag(self, column: str) -> str:
        return column if self.pg else f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"

    def embed(self, value: str) -> str:
        return value if self.pg else f"json({value})"


def document_sql(d: JsonDialect, e: str = "e") -> str:
    """The JSON document of the event row aliased ``e``."""
    actor = lambda a: d.obj(id=f"{a}.id", name=f"{a}.name", kind=f"{a}.kind")  # noqa: E731
    codes = " ".join(
        f"WHEN {_quote(name)} THEN {d.obj(plover=_quote(t.plover), cameo=_quote(t.cameo))}"
        for name, t in vocab.EVENT_TYPES.items()
    )
    return d.obj(
        id=f"{e}.id",
        type=f"{e}.type",
        codes=d.embed(f"CASE {e}.type {codes} END"),
        title=f"{e}.title",
        summary=f"{e}.summary",
        date=d.obj(
            edtf=f"{e}.date_edtf", start=f"{e}.date_start", end=f"{e}.date_end", precision=f"{e}.date_precision",
            approximate=d.flag(f"{e}.date_approximate"), uncertain=d.flag(f"{e}.date_uncertain"),
        ),
        location=d.embed(
            f"CASE WHEN {e}.location_name IS NOT NULL OR {e}.location_country IS NOT NULL THEN "
            + d.obj(name=f"{e}.location_name", country=f"{e}.location_country") + " END"
        ),
        participants=d.array(
            d.obj(actor=actor("a"), role="p.role"),
            f"event_participants p JOIN actors a ON a.id = p.actor_id WHERE p.event_id = {e}.id", "p.ordinal",
        ),
        topics=d.array(d.obj(id="t.id", label="t.label"), f"event_topics et JOIN topics t ON t.id = et.topic_id WHERE et.event_id = {e}.id", "t.id"),
        citations=d.array(
            d.obj(id="c.id", url="c.url", title="c.title", publisher="c.publisher", issued="c.issued_edtf",
                  footnote="c.footnote", source="c.source_id"),
            f"event_citations ec JOIN citations c ON c.id = ec.citation_id WHERE ec.event_id = {e}.id",
            "c.source_id, c.footnote, c.id",
        ),
        locators=d.array(
            d.obj(source="l.source_id", section="l.section", paragraph="l.paragraph", footnote="l.footnote", note="l.note"),
            f"locators l WHERE l.event_id = {e}.id", "l.id",
        ),
        quotes=d.array(
            d.obj(speaker=actor("qa"), text="q.text", footnote="q.footnote"),
            f"event_quotes q JOIN actors qa ON qa.id = q.speaker_id WHERE q.event_id = {e}.id", "q.ordinal",
        ),
        notes=f"{e}.notes",
        # Stored as validated on import (app.schemas.bundle.Discrepancy): exactly the documented fields.
        discrepancies=d.embed(f"coalesce({e}.discrepancies, '[]')"),
        quantity=f"{e}.quantity",
        parent=f"{e}.parent_id",
        related=d.array(d.obj(event="r.related_id", relation="r.relation"), f"event_relations r WHERE r.event_id = {e}.id", "r.related_id"),
    )


def _documents_statement(name: str) -> Any:
    d = JsonDialect(name)
    if d.pg:
        return text(
            f"SELECT CAST(coalesce(json_agg({document_sql(d)} ORDER BY j.position), '[]'::json) AS text) "
            "FROM unnest(CAST(:ids AS text[])) WITH ORDINALITY AS j(id, position) JOIN events e ON e.id = j.id"
        )
    return text(
        f"SELECT json_group_array(json(doc)) FROM (SELECT {document_sql(d)} AS doc "
        "FROM json_each(:ids) AS j JOIN events e ON e.id = j.value ORDER BY j.key)"
    )


# Built once per dialect; the ids travel as ONE parameter (a JSON array for SQLite's json_each, an array
# for PostgreSQL's unnest), so the statement text never changes and never needs re-rendering.
STATEMENTS = {name: _documents_statement(name) for name in ("sqlite", "postgresql")}


def event_documents_json(session: Session, ids: Sequence[str]) -> bytes:
    """A JSON array of the documents of the events with these ids, in the order of ``ids``
    (unknown ids are skipped)."""
    if not ids:
        return b"[]"
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    wanted = orjson.dumps(list(ids)).decode() if sqlite else list(ids)
    found = connection.execute(STATEMENTS["sqlite" if sqlite else "postgresql"], {"ids": wanted}).scalar()
    return (found or "[]").encode()


def load_event_documents(session: Session, ids: Sequence[str]) -> list[Document]:
    """The same documents as dicts (exports that reshape them: iCalendar, GeoJSON)."""
    return orjson.loads(event_documents_json(session, ids))
