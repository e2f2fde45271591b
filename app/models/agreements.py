from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.actors import Actor
from app.models.base import SLUG, Base, DatedMixin
from app.models.events import Event
from app.models.sources import Citation, Locator
from app.models.topics import Topic


class Agreement(Base):
    """An agreement, programme or lasting decision, with its status over time."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(40), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    # "exact" or "at_least", as the source words it ("at least $900 million").
    amount_qualifier: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    discrepancies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Envelope of the milestone dates, derived at import, so date filters match events'.
    date_start: Mapped[dt.date | None] = mapped_column(Date, index=True)
    date_end: Mapped[dt.date | None] = mapped_column(Date)
    search_text: Mapped[str] = mapped_column(Text, default="")  # app.search.text.agreement_text
    search_stems: Mapped[str] = mapped_column(Text, default="")

    parties: Mapped[list[AgreementParty]] = relationship(
        cascade="all, delete-orphan", order_by="AgreementParty.ordinal"
    )
    milestones: Mapped[list[AgreementMilestone]] = relationship(
        cascade="all, delete-orphan", order_by="AgreementMilestone.ordinal"
    )
    topics: Mapped[list[Topic]] = relationship(secondary="agreement_topics", order_by=Topic.id)
    citations: Mapped[list[Citation]] = relationship(
        secondary="agreement_citations", order_by=(Citation.source_id, Citation.footnote)
    )
    events: Mapped[list[Event]] = relationship(secondary="agreement_events", order_by=(Event.date_start, Event.id))
    locators: Mapped[list[Locator]] = relationship(cascade="all, delete-orphan", order_by=Locator.id)


class AgreementParty(Base):
    __tablename__ = "agreement_parties"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("actors.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)

    actor: Mapped[Actor] = relationship(lazy="joined", innerjoin=True)


class AgreementMilestone(DatedMixin, Base):
    __tablename__ = "agreement_milestones"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)


class AgreementTopic(Base):
    __tablename__ = "agreement_topics"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[str] = mapped_column(ForeignKey("topics.id"), primary_key=True, index=True)


class AgreementCitation(Base):
    __tablename__ = "agreement_citations"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    citation_id: Mapped[str] = mapped_column(ForeignKey("citations.id"), primary_key=True, index=True)


class AgreementEvent(Base):
    __tablename__ = "agreement_events"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, index=True)
