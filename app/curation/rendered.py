"""The write path's upkeep of the stored event documents (app.models.EventDocument): after a write, every event
whose document shows the written record is rendered again from its rows, in the writing transaction, by the one
document definition (app.queries.event_documents.document_sql), so a read never sees a document older than the
rows beside it.

Which events a record shows in (:func:`showing`): an event in its own document and in the `parent` / `related`
of others; an actor as a participant or a quote's speaker; a topic among an event's topics; a citation among its
citations; a source in its citations' and locators' `source`. Agreements appear in no event document.

Cost (at 1M events on SQLite, 2 shared cores): a full rebuild (a replacing import, the benchmark generator, the
first upgrade to migration 0010) measured ~70 s, about 70 µs an event; so one event's write adds well under a
millisecond, and renaming an actor in 10% of the events would add ~7 s (estimated from that rate, not measured) on
top of re-deriving their search text.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, exists, func, insert, literal, literal_column, select, union

from app import models as m
from app.curation.aggregates import Events, Writer, actor_events, dialect_of, each_condition
from app.curation.validate import table_of
from app.queries.event_documents import rendered


def _rendering() -> str:
    statements = rendered("sqlite", "e") + "\n" + rendered("postgresql", "e")
    return hashlib.sha256(statements.encode()).hexdigest()[:16]


# What this code renders with: a digest of both dialects' document statements (their text holds the document's
# fields and the event type codes of app.vocab), stored with each document as `rendered_by`.
RENDERING = _rendering()


def showing(kind: str, record_id: str) -> Any | None:
    """Pure: a statement selecting the ids of the events whose documents show record ``record_id`` of ``kind`` (its
    id as now stored), or None when no event document shows that kind."""
    if kind == "events":
        return union(
            select(literal(record_id, m.Event.id.type)),
            select(m.EventRelation.event_id).where(m.EventRelation.related_id == record_id),
            select(m.Event.id).where(m.Event.parent_id == record_id),
        )
    if kind == "actors":
        return union(actor_events(record_id), select(m.EventQuote.event_id).where(m.EventQuote.speaker_id == record_id))
    if kind == "topics":
        return select(m.EventTopic.event_id).where(m.EventTopic.topic_id == record_id)
    if kind == "citations":
        return select(m.EventCitation.event_id).where(m.EventCitation.citation_id == record_id)
    if kind == "sources":
        return union(
            select(m.EventCitation.event_id)
            .join(m.Citation, m.Citation.id == m.EventCitation.citation_id)
            .where(m.Citation.source_id == record_id),
            select(m.Locator.event_id).where(m.Locator.source_id == record_id, m.Locator.event_id.is_not(None)),
        )
    return None


def _render(db: Writer, condition: Any | None) -> None:
    """Delete the stored documents of the events ``condition`` (on an event id column; None: every event) selects,
    and insert those of the ones that exist, rendered from their rows."""
    stored = table_of(m.EventDocument)
    source = table_of(m.Event).alias("e")
    document: Any = literal_column(rendered(dialect_of(db), "e"))
    rows = select(source.c.id, document, literal(RENDERING, stored.c.rendered_by.type))
    if condition is None:
        db.execute(delete(stored))
    else:
        db.execute(delete(stored).where(condition(stored.c.event_id)))
        rows = rows.where(condition(source.c.id))
    db.execute(insert(stored).from_select(["event_id", "document", "rendered_by"], rows))


def refresh(db: Writer, events: Events) -> None:
    """Render again the documents of ``events`` (ids, or a statement selecting them) as their rows now stand: a
    document of an event that no longer exists is deleted, one of an event that now exists (re)written."""
    for condition in each_condition(events):
        _render(db, condition)


def rebuild(db: Writer) -> None:
    """Render every event's document again (a replacing import, bulk loads, and the test that the
    incremental upkeep matches it)."""
    _render(db, None)


def ensure_current(db: Writer, *, thorough: bool = False) -> int:
    """Make event_documents hold exactly one document per event, rendered by this code (:data:`RENDERING`): render
    the missing ones and those another release rendered, delete those of events that no longer exist. Returns how
    many were rendered. Run by app.migrate.upgrade at the head, so a release that renders differently (a new field,
    a changed type code), or rows written around the write path, are caught up before serving.

    Unless ``thorough``, it trusts a table whose documents are all this code's and as many as the events (two
    counts and one index probe, ~50 ms at 1M events on SQLite): a missing document and an orphan written around the
    write path could cancel out there, and are then caught by reads (which render a missing document) and by
    ``thorough`` (`dipevents migrate`), which compares every event with its document (at 1M events ~4 s on SQLite,
    ~1 s on PostgreSQL)."""
    stored, events = table_of(m.EventDocument), table_of(m.Event)
    documents = db.scalar(select(func.count()).select_from(stored))
    other = db.scalar(select(stored.c.event_id).where(stored.c.rendered_by != RENDERING).limit(1))
    total = db.scalar(select(func.count()).select_from(events)) or 0
    if other is None and documents == total and not thorough:
        return 0
    if not documents:  # none stored yet (the first upgrade to 0010): one statement, not one per chunk of ids
        rebuild(db)
        return total
    db.execute(delete(stored).where(stored.c.event_id.not_in(select(events.c.id))))
    current = select(stored.c.event_id).where(stored.c.event_id == events.c.id, stored.c.rendered_by == RENDERING)
    ids = list(db.scalars(select(events.c.id).where(~exists(current))))
    refresh(db, ids)
    return len(ids)


def after_write(db: Writer, kind: str, record_id: str, previous_id: str | None = None) -> None:
    """After a single-record write of ``kind`` (``record_id`` as now stored, or the id of a deleted record;
    ``previous_id`` the id it had before a rename): render again every document that shows the record."""
    events = showing(kind, record_id)
    if events is not None:
        refresh(db, events)
    if kind == "events" and previous_id is not None and previous_id != record_id:
        refresh(db, [previous_id])
