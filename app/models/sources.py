from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import SLUG, Base


class SourceDocument(Base):
    """A document that records are extracted from, such as a policy brief."""

    __tablename__ = "source_documents"

    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str | None] = mapped_column(String(500))
    series: Mapped[str | None] = mapped_column(String(300))
    part: Mapped[str | None] = mapped_column(String(200))
    csl_type: Mapped[str] = mapped_column(String(40), default="report")
    publisher: Mapped[str | None] = mapped_column(String(300))
    publisher_place: Mapped[str | None] = mapped_column(String(200))
    # CSL-JSON name objects: {"family": ..., "given": ...} or {"literal": ...}
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    issued_edtf: Mapped[str | None] = mapped_column(String(64))
    period_edtf: Mapped[str | None] = mapped_column(String(64))
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    # The dates as served (app.dates.date_record), written with the EDTF text by the import.
    issued_date: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    period_date: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str | None] = mapped_column(Text)
    # Judgements the document makes in its own voice (not events), attributed to it.
    assessments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")  # app.search.text.source_text
    search_stems: Mapped[str] = mapped_column(Text, default="")

    sections: Mapped[list[Section]] = relationship(
        back_populates="source", order_by="Section.ordinal", cascade="all, delete-orphan"
    )
    citations: Mapped[list[Citation]] = relationship(back_populates="source", order_by="Citation.footnote")


class Section(Base):
    __tablename__ = "source_sections"

    source_id: Mapped[str] = mapped_column(ForeignKey("source_documents.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(SLUG, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    ordinal: Mapped[int] = mapped_column(Integer)
    parent_key: Mapped[str | None] = mapped_column(SLUG)
    paragraphs: Mapped[int] = mapped_column(Integer, default=0)

    source: Mapped[SourceDocument] = relationship(back_populates="sections")


class Citation(Base):
    """A source behind a fact, in CSL-JSON terms, tied to the footnote that gives it."""

    __tablename__ = "citations"
    __table_args__ = (UniqueConstraint("source_id", "footnote"),)

    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source_documents.id"), index=True)
    footnote: Mapped[int | None] = mapped_column(Integer)
    csl_type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(1000))
    container_title: Mapped[str | None] = mapped_column(String(300))
    publisher: Mapped[str | None] = mapped_column(String(300), index=True)
    # The publisher as `publisher=` compares it (app.search.text.name_key: NFKC, case-folded).
    publisher_key: Mapped[str | None] = mapped_column(String(300), index=True)
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    issued_edtf: Mapped[str | None] = mapped_column(String(64))
    issued_start: Mapped[dt.date | None] = mapped_column(Date, index=True)
    issued_end: Mapped[dt.date | None] = mapped_column(Date)
    issued_date: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # as served (app.dates.date_record)
    url: Mapped[str | None] = mapped_column(String(1000))
    accessed: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text, default="")  # app.search.text.citation_text
    search_stems: Mapped[str] = mapped_column(Text, default="")

    source: Mapped[SourceDocument] = relationship(back_populates="citations")


class Locator(Base):
    """Where a record is stated: source document, section, paragraph, footnote.

    Exactly one of ``event_id``, ``agreement_id`` and ``office_id`` is set; three
    nullable foreign keys keep referential integrity that a polymorphic
    (type, id) pair would lose.
    """

    __tablename__ = "locators"
    __table_args__ = (
        ForeignKeyConstraint(
            ["source_id", "section"],
            ["source_sections.source_id", "source_sections.key"],
            name="fk_locators_section_source_sections",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source_documents.id"), index=True)
    section: Mapped[str] = mapped_column(SLUG)
    paragraph: Mapped[int | None] = mapped_column(Integer)
    footnote: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    agreement_id: Mapped[str | None] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[str | None] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
