"""Tables derived from the data, maintained by the write path in the writing transaction, so they always describe
the data they sit beside: for aggregations (facets, timelines; app.curation.aggregates) and each event's finished
JSON document (app.curation.rendered)."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import SLUG, Base


class TopicClosure(Base):
    """Every (ancestor, descendant) pair of the topic tree, a topic being its own ancestor (depth 0): the
    `topic` filter and the topic facet read a topic's sub-topics, or an event topic's ancestors, off it."""

    __tablename__ = "topic_closure"
    __table_args__ = (Index("ix_topic_closure_descendant", "descendant", "ancestor"),)

    ancestor: Mapped[str] = mapped_column(SLUG, primary_key=True)
    descendant: Mapped[str] = mapped_column(SLUG, primary_key=True)


class EventCount(Base):
    """Precomputed counts of events for the requests the planner answers without reading events
    (app.queries.aggregations.Precomputed): per ``scope`` — `` (all events), `topic:<id>` (the `topic`
    filter: the topic or a sub-topic), `actor:<id>` (the `actor` filter, any role) — the events per value of
    a ``facet``:

    * `total` (value ``''``): how many events are in the scope;
    * `type`, `country`, `actor` (an actor id), `topic` (a topic id, counting its sub-topics' events):
      as /v1/events/facets counts them (not for actor scopes);
    * `span`: events per (first year, last year) of their date range, value `"<first>/<last>"` with `..`
      for an open end (EDTF's notation): spans, not expanded years, because an open end runs to the
      current year.

    ``n`` is never 0 (such rows are deleted)."""

    __tablename__ = "event_counts"
    __table_args__ = (
        # Rows a write has just brought to 0, found without scanning the table: the index is empty between writes.
        Index("ix_event_counts_emptied", "scope", sqlite_where=text("n = 0"), postgresql_where=text("n = 0")),
    )

    scope: Mapped[str] = mapped_column(String(130), primary_key=True)
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(130), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class EventDocument(Base):
    """Each event's JSON document (shape: app.schemas.events.EventOut) as the API sends it, rendered by the
    database from the event's rows with app.queries.event_documents.document_sql and kept current by the write path
    (app.curation.rendered): lists, by-id reads and the document exports (JSON, NDJSON, iCalendar, GeoJSON; CSV
    rows are flat columns) read this text instead of assembling participants,
    topics, citations, locators, quotes and relations per request. Not in the events table itself, so the
    events rows that filters and walks read stay narrow. No foreign key: a replacing import clears events and
    then renders every document again.

    ``rendered_by`` names the rendering (app.curation.rendered.RENDERING, a digest of the document statement, which
    holds the event type codes of app.vocab too): a release whose rendering differs finds the documents it did not
    render by this column and renders them again when the database is brought up to date (app.migrate.upgrade)."""

    __tablename__ = "event_documents"
    __table_args__ = (Index("ix_event_documents_rendered_by", "rendered_by"),)

    event_id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    rendered_by: Mapped[str] = mapped_column(String(16))
