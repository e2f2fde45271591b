"""Events as JSON documents: rendered by the database from the event's rows, stored, and read as text.

The shape is `app.schemas.events.EventOut` (the documented contract; tests/test_event_documents.py holds
every document to it). :func:`document_sql` nests participants, topics, citations, locators, quotes and
relations with the database's JSON functions; the write path stores the finished text per event
(app.models.EventDocument, app.curation.rendered) and :func:`event_documents_json` reads it, which the API
sends as it is: no ORM objects, no per-field Python work. Measured on a 50-event page (bench/RESULTS.md): ORM
+ Pydantic ~40 ms, dicts from eight Core queries + orjson ~10 ms, rendering in SQL per request ~3 ms (2 ms
at 1M events), reading the stored text ~0.2 ms.

SQLite (JSON1, 3.38+) and PostgreSQL spell the same document differently; `JsonDialect` holds the
differences.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import models as m
from app import vocab
from app.schemas.common import ActorRef, CitationRef, EventDateOut, LocatorOut, TopicRef
from app.schemas.events import CodesOut, EventOut, LocationOut, ParticipantOut, QuoteOut, RelationOut

logger = logging.getLogger(__name__)


def _quote(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def table(model: Any) -> str:
    """The table name of a mapped class."""
    return str(model.__table__.name)


def col(alias: str, attribute: Any) -> str:
    """``alias.column`` for a mapped attribute: a renamed or dropped column fails here, at import,
    rather than as SQL at request time."""
    return f"{alias}.{attribute.expression.name}"


class JsonDialect:
    """How SQLite (JSON1) and PostgreSQL spell the same JSON document."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def obj(self, shape: type[BaseModel] | None = None, /, **fields: str) -> str:
        """A JSON object of ``fields``; given a ``shape``, with exactly its fields (checked: a field added
        to the model and not to the SQL, or the other way round, fails at import)."""
        expected = set(shape.model_fields) if shape is not None else set(fields)
        if shape is not None and set(fields) != expected:
            raise RuntimeError(
                f"{shape.__name__}: SQL document fields {sorted(fields)} != model fields {sorted(expected)}"
            )
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
    """The JSON document (shape: app.schemas.events.EventOut) of the event row aliased ``e``."""
    E, P, A, T, ET, C, EC, L, Q, R = (
        m.Event,
        m.EventParticipant,
        m.Actor,
        m.Topic,
        m.EventTopic,
        m.Citation,
        m.EventCitation,
        m.Locator,
        m.EventQuote,
        m.EventRelation,
    )

    def actor(a: str) -> str:
        return d.obj(ActorRef, id=col(a, A.id), name=col(a, A.name), kind=col(a, A.kind))

    codes = " ".join(
        f"WHEN {_quote(name)} THEN {d.obj(CodesOut, plover=_quote(t.plover), cameo=_quote(t.cameo))}"
        for name, t in vocab.EVENT_TYPES.items()
    )
    event_id = col(e, E.id)
    return d.obj(
        EventOut,
        id=event_id,
        type=col(e, E.type),
        codes=d.embed(f"CASE {col(e, E.type)} {codes} END"),
        title=col(e, E.title),
        summary=col(e, E.summary),
        date=d.obj(
            EventDateOut,
            edtf=col(e, E.date_edtf),
            start=col(e, E.date_start),
            end=col(e, E.date_end),
            precision=col(e, E.date_precision),
            approximate=d.flag(col(e, E.date_approximate)),
            uncertain=d.flag(col(e, E.date_uncertain)),
        ),
        location=d.embed(
            f"CASE WHEN {col(e, E.location_name)} IS NOT NULL OR {col(e, E.location_country)} IS NOT NULL THEN "
            + d.obj(LocationOut, name=col(e, E.location_name), country=col(e, E.location_country))
            + " END"
        ),
        participants=d.array(
            d.obj(ParticipantOut, actor=actor("a"), role=col("p", P.role)),
            f"{table(P)} p JOIN {table(A)} a ON {col('a', A.id)} = {col('p', P.actor_id)} "
            f"WHERE {col('p', P.event_id)} = {event_id}",
            col("p", P.ordinal),
        ),
        topics=d.array(
            d.obj(TopicRef, id=col("t", T.id), label=col("t", T.label)),
            f"{table(ET)} et JOIN {table(T)} t ON {col('t', T.id)} = {col('et', ET.topic_id)} "
            f"WHERE {col('et', ET.event_id)} = {event_id}",
            col("t", T.id),
        ),
        citations=d.array(
            d.obj(
                CitationRef,
                id=col("c", C.id),
                url=col("c", C.url),
                title=col("c", C.title),
                publisher=col("c", C.publisher),
                issued=col("c", C.issued_edtf),
                footnote=col("c", C.footnote),
                source=col("c", C.source_id),
            ),
            f"{table(EC)} ec JOIN {table(C)} c ON {col('c', C.id)} = {col('ec', EC.citation_id)} "
            f"WHERE {col('ec', EC.event_id)} = {event_id}",
            f"{col('c', C.source_id)}, {col('c', C.footnote)}, {col('c', C.id)}",
        ),
        locators=d.array(
            d.obj(
                LocatorOut,
                source=col("l", L.source_id),
                section=col("l", L.section),
                paragraph=col("l", L.paragraph),
                footnote=col("l", L.footnote),
                note=col("l", L.note),
            ),
            f"{table(L)} l WHERE {col('l', L.event_id)} = {event_id}",
            col("l", L.id),
        ),
        quotes=d.array(
            d.obj(QuoteOut, speaker=actor("qa"), text=col("q", Q.text), footnote=col("q", Q.footnote)),
            f"{table(Q)} q JOIN {table(A)} qa ON {col('qa', A.id)} = {col('q', Q.speaker_id)} "
            f"WHERE {col('q', Q.event_id)} = {event_id}",
            col("q", Q.ordinal),
        ),
        notes=col(e, E.notes),
        # Stored as validated on import (app.schemas.bundle.Discrepancy): exactly the documented fields.
        discrepancies=d.embed(f"coalesce({col(e, E.discrepancies)}, '[]')"),
        quantity=col(e, E.quantity),
        parent=col(e, E.parent_id),
        related=d.array(
            d.obj(RelationOut, event=col("r", R.related_id), relation=col("r", R.relation)),
            f"{table(R)} r WHERE {col('r', R.event_id)} = {event_id}",
            col("r", R.related_id),
        ),
    )


@cache
def rendered(name: str, e: str = "e") -> str:
    """The document of the event row aliased ``e`` as text, in dialect ``name`` ("sqlite" or "postgresql"): what
    app.curation.rendered stores in event_documents."""
    d = JsonDialect(name)
    return f"CAST({document_sql(d, e)} AS text)" if d.pg else document_sql(d, e)


def _ids(name: str) -> str:
    """The request's ids as rows (id, position), from ONE parameter: a JSON array for SQLite's json_each, an array
    for PostgreSQL's unnest, so a statement's text never changes with the number of ids."""
    if name == "postgresql":
        return "unnest(CAST(:ids AS text[])) WITH ORDINALITY AS j(id, position)"
    return "(SELECT value AS id, key AS position FROM json_each(:ids)) AS j"


def _statements(name: str) -> tuple[Any, Any]:
    """(read, render): the stored documents of the ids, and the documents rendered from the rows of those ids
    (for any whose stored document is missing); both (event id, document) in the order of the ids."""
    stored, events = table(m.EventDocument), table(m.Event)
    read = text(
        f"SELECT {col('s', m.EventDocument.event_id)}, {col('s', m.EventDocument.document)} FROM {_ids(name)} "
        f"JOIN {stored} s ON {col('s', m.EventDocument.event_id)} = j.id ORDER BY j.position"
    )
    render = text(
        f"SELECT {col('e', m.Event.id)}, {rendered(name, 'e')} FROM {_ids(name)} "
        f"JOIN {events} e ON {col('e', m.Event.id)} = j.id ORDER BY j.position"
    )
    return read, render


STATEMENTS = {name: _statements(name) for name in ("sqlite", "postgresql")}


def event_documents_json(session: Session, ids: Sequence[str]) -> bytes:
    """A JSON array (UTF-8) of the stored documents (app.models.EventDocument) of the events with these ids, in the
    order of ``ids`` (unknown ids are skipped): the page's documents are read, not assembled (at 1M events a page
    of 50 assembled from the event rows took ~2 ms of SQL, read ~0.1 ms; bench/RESULTS.md).

    An event whose stored document is missing (rows written around the write path, not yet caught up by
    `dipevents migrate`) is rendered from its rows instead, and a warning logged: it is never left out."""
    if not ids:
        return b"[]"
    connection = session.connection()
    name = "sqlite" if connection.dialect.name == "sqlite" else "postgresql"
    read, render = STATEMENTS[name]

    def rows(statement: Any, wanted: Sequence[str]) -> list[tuple[str, str]]:
        argument = orjson.dumps(list(wanted)).decode() if name == "sqlite" else list(wanted)
        return [(row[0], row[1]) for row in connection.execute(statement, {"ids": argument})]

    found = rows(read, ids)
    if len(found) < len(ids):
        documents = dict(found)
        made = dict(rows(render, [i for i in ids if i not in documents]))
        if made:
            logger.warning("%d event documents were missing and were rendered from their rows", len(made))
        documents |= made
        found = [(i, documents[i]) for i in ids if i in documents]
    return ("[" + ",".join(document for _, document in found) + "]").encode()
