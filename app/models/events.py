from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.actors import Actor
from app.models.base import SLUG, Base, DatedMixin
from app.models.sources import Citation, Locator
from app.models.topics import Topic


class Event(DatedMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        # Keyset pagination walks (date_start, id) in both directions.
        Index("ix_events_date_start_id", "date_start", "id"),
        Index("ix_events_date_end", "date_end"),
    )

    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    location_name: Mapped[str | None] = mapped_column(String(300))
    location_country: Mapped[str | None] = mapped_column(String(2), index=True)
    quantity: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    # [{"field", "description", "readings": [{"value", "per"}], "resolution"}]
    discrepancies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), index=True)
    # What `q` searches (app.search.text.event_text): normalised words and their stems; migration 0006
    # indexes both (FTS5 on SQLite, GIN on PostgreSQL).
    search_text: Mapped[str] = mapped_column(Text, default="")
    search_stems: Mapped[str] = mapped_column(Text, default="")

    participants: Mapped[list[EventParticipant]] = relationship(
        cascade="all, delete-orphan", order_by="EventParticipant.ordinal"
    )
    topics: Mapped[list[Topic]] = relationship(secondary="event_topics", order_by=Topic.id)
    citations: Mapped[list[Citation]] = relationship(
        secondary="event_citations", order_by=(Citation.source_id, Citation.footnote)
    )
    locators: Mapped[list[Locator]] = relationship(cascade="all, delete-orphan", order_by=Locator.id)
    quotes: Mapped[list[EventQuote]] = relationship(cascade="all, delete-orphan", order_by="EventQuote.ordinal")
    relations: Mapped[list[EventRelation]] = relationship(
        cascade="all, delete-orphan", foreign_keys="EventRelation.event_id", order_by="EventRelation.related_id"
    )
    parent: Mapped[Event | None] = relationship(remote_side=[id])


class EventParticipant(Base):
    __tablename__ = "event_participants"
    __table_args__ = (
        # "An actor's events in a date range, newest first" walks this index alone, whatever the actor's
        # share of events: no event lookups to test dates, no sort, and LIMIT stops the walk (see
        # app.queries.plan.Shape.WALK). date_end is included so the overlap test needs no table row.
        Index("ix_event_participants_actor_date", "actor_id", "date_start", "event_id", "date_end"),
    )

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    # The event's date bounds (written with the event by every import; events are never edited in
    # place), so the index above answers date filters. An open end is stored as the earliest/latest
    # representable day rather than NULL, so "overlaps [start, end]" is two plain comparisons the index
    # can range over; an undated event keeps NULL and matches no date range. See `walk_bounds`.
    date_start: Mapped[dt.date | None] = mapped_column(Date)
    date_end: Mapped[dt.date | None] = mapped_column(Date)

    actor: Mapped[Actor] = relationship(lazy="joined", innerjoin=True)


def walk_bounds(start: dt.date | None, end: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """An event's bounds as event_participants stores them."""
    if start is None and end is None:
        return None, None
    return start or dt.date.min, end or dt.date.max


class EventTopic(Base):
    __tablename__ = "event_topics"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[str] = mapped_column(ForeignKey("topics.id"), primary_key=True, index=True)


class EventCitation(Base):
    __tablename__ = "event_citations"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    citation_id: Mapped[str] = mapped_column(ForeignKey("citations.id"), primary_key=True, index=True)


class EventRelation(Base):
    """A typed link between two events other than part-of (which is ``parent_id``)."""

    __tablename__ = "event_relations"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    related_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(40))


class EventQuote(Base):
    """Words an actor actually said, as the source quotes them, with attribution."""

    __tablename__ = "event_quotes"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    speaker_id: Mapped[str] = mapped_column(ForeignKey("actors.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    footnote: Mapped[int | None] = mapped_column(Integer)

    speaker: Mapped[Actor] = relationship(lazy="joined", innerjoin=True)
