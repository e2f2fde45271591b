"""Shared API shapes: the list envelope, dates, locators, discrepancies."""

from __future__ import annotations

import datetime as dt
from typing import Generic, Literal, TypeVar

import orjson
from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from app.dates import DateSpan
from app.schemas.terms import ActorKind

T = TypeVar("T")


class Schema(BaseModel):
    # Every field of a response is always present (null where it has no value): generated clients should
    # type them as required.
    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


class Page(Schema, Generic[T]):
    items: list[T] = Field(description="This page of results.")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")
    total: int = Field(
        description="Number of records matching the filters: exact up to 1,000; beyond that it is 1,000 and "
        "`total_exact` is false (counting every match on every page is what makes deep result sets slow). "
        "`/v1/events/facets` always returns the exact total.",
        examples=[17],
    )
    total_exact: bool = Field(
        default=True, description="False when `total` is the 1,000 cap (there are more matches).", examples=[True]
    )
    dataset_version: str = Field(
        description="Version of the data that answered; changes with every import.",
        examples=["3f9a1c0d2b7e4a51"],
    )
    query_url: str = Field(
        description="Stable URL of this query (filters only, canonical order): cite it with `dataset_version`.",
        examples=["http://127.0.0.1:8000/v1/events?actor=imran-khan&type=visit"],
    )
    snippets: dict[str, str] | None = Field(
        default=None,
        description="With `q`: for each item of this page, by id, a short extract of its text with the matched "
        "words in `<mark>…</mark>` and everything else HTML-escaped (safe to insert into a page as it is); `…` "
        "marks a cut. Null without `q`.",
        examples=[{"khan-trump-summit-2019-07-22": "… offered to <mark>mediate</mark> on <mark>Kashmir</mark> …"}],
    )


class DateOut(Schema):
    """An imprecise date: the EDTF text as the source states it, and the inclusive days it may denote."""

    edtf: str = Field(description="Extended Date/Time Format (ISO 8601-2) text.", examples=["2019-07-21/2019-07-23"])
    start: dt.date | None = Field(description="First day it may denote; null if open.", examples=["2019-07-21"])
    end: dt.date | None = Field(description="Last day it may denote; null if open.", examples=["2019-07-23"])
    precision: Literal["day", "month", "year"] = Field(
        description="Coarsest precision of the stated date.", examples=["day"]
    )
    approximate: bool = Field(description="The source says 'about' (EDTF `~`).", examples=[False])
    uncertain: bool = Field(description="The date is doubtful or inferred (EDTF `?`).", examples=[False])

    @classmethod
    def from_span(cls, span: DateSpan) -> DateOut:
        return cls(
            edtf=span.edtf,
            start=span.start,
            end=span.end,
            precision=span.precision,
            approximate=span.approximate,
            uncertain=span.uncertain,
        )

    @classmethod
    def stored(cls, record: dict[str, object] | None) -> DateOut | None:
        """From what the import stored (app.dates.date_record): no EDTF parsing at read time."""
        return cls.model_validate(record) if record is not None else None


class EventDateOut(DateOut):
    """An event's date: its first possible day is always known (an import refuses an event without one)."""

    start: dt.date = Field(description="First day it may denote.", examples=["2019-07-21"])


class LocatorOut(Schema):
    """Where in a source document a record is stated."""

    source: str = Field(
        validation_alias="source_id",
        description="Source document id.",
        examples=["ips-pakistan-us-relations-2018-2020"],
    )
    section: str = Field(description="Section key within the source.", examples=["high-level-visits"])
    paragraph: int | None = Field(description="Paragraph number within the section (1-based).", examples=[2])
    footnote: int | None = Field(description="Footnote that backs the statement, if any.", examples=[5])
    note: str | None = Field(default=None, description="Curator's remark on this locator.")


class ReadingOut(Schema):
    value: str = Field(description="What this source says.", examples=["2019-07-02"])
    per: str = Field(description="Which source says it.", examples=["brief, high-level-visits ¶2"])


class DiscrepancyOut(Schema):
    """Sources disagree on a fact: each reading, and which the record uses."""

    field: str = Field(examples=["date"])
    description: str
    readings: list[ReadingOut]
    resolution: str


class ActorRef(Schema):
    id: str = Field(examples=["imran-khan"])
    name: str = Field(examples=["Imran Khan"])
    kind: ActorKind = Field(examples=["person"])


class TopicRef(Schema):
    id: str = Field(examples=["kashmir-dispute"])
    label: str = Field(examples=["Kashmir dispute"])


class CitationRef(Schema):
    id: str = Field(examples=["mofa-2019-07-22-khan-holds-talks-with-trump"])
    url: str | None = Field(examples=["http://mofa.gov.pk/prime-minister-imran-khan-holds-talks-with-president-trump/"])
    title: str
    publisher: str | None = Field(examples=["Ministry of Foreign Affairs, Pakistan"])
    issued: str | None = Field(
        validation_alias="issued_edtf", description="EDTF date of publication.", examples=["2019-07-22"]
    )
    footnote: int | None = Field(description="Footnote number in the source document.", examples=[5])
    source: str = Field(validation_alias="source_id", description="Source document the footnote belongs to.")


def _json(value: BaseModel | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.model_dump_json().encode()


def json_response(value: BaseModel | bytes) -> Response:
    """Serialise once. Returning a Response skips FastAPI's second validation of the returned value
    against `response_model` (the model documents the shape; it was validated on construction, or, for
    JSON the database built (app.queries.event_documents), a test holds the builder to the model)."""
    return Response(_json(value), media_type="application/json")


def json_page(items: list[BaseModel] | bytes, **envelope: object) -> Response:
    """The list envelope around items serialised by their models, or around a JSON array the database built."""
    head = orjson.dumps(envelope, default=str)[1:-1]
    array = items if isinstance(items, bytes) else b"[" + b",".join(_json(item) for item in items) + b"]"
    return Response(b'{"items":' + array + (b"," + head if head else b"") + b"}", media_type="application/json")
