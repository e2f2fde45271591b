from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import SLUG, Base
from app.models.sources import Locator


class Actor(Base):
    __tablename__ = "actors"

    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # What `q` searches (app.search.text.actor_text), indexed by migration 0006.
    search_text: Mapped[str] = mapped_column(Text, default="")
    search_stems: Mapped[str] = mapped_column(Text, default="")

    identifiers: Mapped[list[ActorIdentifier]] = relationship(
        back_populates="actor", cascade="all, delete-orphan", order_by="ActorIdentifier.scheme"
    )
    offices: Mapped[list[Office]] = relationship(
        back_populates="person",
        foreign_keys="Office.person_id",
        cascade="all, delete-orphan",
        order_by="Office.from_date",
    )


class ActorIdentifier(Base):
    __tablename__ = "actor_identifiers"

    actor_id: Mapped[str] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)

    actor: Mapped[Actor] = relationship(back_populates="identifiers")


class Office(Base):
    """A post held by a person in an organisation (Popolo membership), with dates."""

    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(300))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("actors.id"), index=True)
    start_edtf: Mapped[str | None] = mapped_column(String(64))
    end_edtf: Mapped[str | None] = mapped_column(String(64))
    # Span over which the source shows the person in this post, when it gives no start/end.
    attested_edtf: Mapped[str | None] = mapped_column(String(64))
    # The dates as served (app.dates.date_record), written with the EDTF text by the import.
    start_date: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    end_date: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attested_date: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    from_date: Mapped[dt.date | None] = mapped_column(Date)
    to_date: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    discrepancies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    person: Mapped[Actor] = relationship(back_populates="offices", foreign_keys=[person_id])
    organization: Mapped[Actor | None] = relationship(foreign_keys=[organization_id])
    locators: Mapped[list[Locator]] = relationship(cascade="all, delete-orphan", order_by=Locator.id)
