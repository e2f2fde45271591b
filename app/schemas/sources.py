"""Source documents, their sections, and the citations (footnotes) they carry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from app.models import Citation, SourceDocument
from app.schemas.common import DateOut, Schema
from app.schemas.terms import CslType


class CitationOut(Schema):
    """A citation in CSL-JSON terms (`csl` holds the CSL-JSON item itself)."""

    id: str = Field(examples=["reuters-2018-01-05-us-suspends-security-aid"])
    source: str = Field(
        description="Source document the footnote belongs to.", examples=["ips-pakistan-us-relations-2018-2020"]
    )
    footnote: int | None = Field(examples=[1])
    type: CslType = Field(description="CSL type.", examples=["article-newspaper"])
    title: str
    container_title: str | None = Field(examples=["Reuters"])
    publisher: str | None = Field(examples=["Reuters"])
    authors: list[dict[str, Any]] = Field(
        description="CSL name objects.", examples=[[{"family": "Mohammed", "given": "Arshad"}]]
    )
    issued: DateOut | None
    url: str | None = Field(description="Exactly as the footnote gives it.")
    accessed: dt.date | None
    notes: str | None
    csl: dict[str, Any] = Field(description="The CSL-JSON item, ready for citeproc or Zotero.")

    @classmethod
    def from_row(cls, citation: Citation) -> CitationOut:
        return cls(
            id=citation.id,
            source=citation.source_id,
            footnote=citation.footnote,
            type=citation.csl_type,
            title=citation.title,
            container_title=citation.container_title,
            publisher=citation.publisher,
            authors=citation.authors,
            issued=DateOut.stored(citation.issued_date),
            url=citation.url,
            accessed=citation.accessed,
            notes=citation.notes,
            csl=csl_item(citation),
        )


def _csl_date(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    span = DateOut.stored(stored)
    if span is None or span.start is None:
        return None
    parts = {"year": [span.start.year], "month": [span.start.year, span.start.month]}.get(
        span.precision, [span.start.year, span.start.month, span.start.day]
    )
    return {"date-parts": [parts]}


def csl_item(citation: Citation) -> dict[str, Any]:
    item: dict[str, Any] = {"id": citation.id, "type": citation.csl_type, "title": citation.title}
    if citation.authors:
        item["author"] = citation.authors
    if citation.container_title:
        item["container-title"] = citation.container_title
    if citation.publisher:
        item["publisher"] = citation.publisher
    if issued := _csl_date(citation.issued_date):
        item["issued"] = issued
    if citation.url:
        item["URL"] = citation.url
    if citation.accessed:
        item["accessed"] = {"date-parts": [[citation.accessed.year, citation.accessed.month, citation.accessed.day]]}
    return item


class SectionOut(Schema):
    key: str = Field(examples=["high-level-visits"])
    title: str
    parent: str | None = Field(validation_alias="parent_key")
    paragraphs: int


class AssessmentOut(Schema):
    """A judgement the source document makes in its own voice: attributed to it, not an event."""

    id: str
    summary: str
    section: str
    paragraph: int | None = None
    footnote: int | None = None
    topics: list[str] = Field(default_factory=list)


class SourceOut(Schema):
    id: str = Field(examples=["ips-pakistan-us-relations-2018-2020"])
    title: str
    subtitle: str | None
    series: str | None
    part: str | None
    type: CslType = Field(validation_alias="csl_type", description="CSL type.", examples=["report"])
    publisher: str | None
    publisher_place: str | None
    authors: list[dict[str, Any]]
    issued: DateOut | None = Field(
        description="Publication date (may be an open interval when only a lower bound is known)."
    )
    period: DateOut | None = Field(description="The period the document covers.")
    language: str | None
    url: str | None
    description: str
    notes: str | None
    sections: list[SectionOut]
    citations: list[str] = Field(description="Ids of the citations (footnotes) in this document.")
    assessments: list[AssessmentOut]

    @classmethod
    def from_row(cls, source: SourceDocument) -> SourceOut:
        return cls.model_validate(
            {
                **{
                    k: getattr(source, k)
                    for k in ("id", "title", "subtitle", "series", "part", "csl_type", "publisher")
                },
                **{
                    k: getattr(source, k)
                    for k in ("publisher_place", "authors", "language", "url", "description", "notes")
                },
                "issued": DateOut.stored(source.issued_date),
                "period": DateOut.stored(source.period_date),
                "sections": source.sections,
                "citations": [c.id for c in source.citations],
                "assessments": source.assessments,
            }
        )
