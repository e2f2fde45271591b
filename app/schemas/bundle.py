"""The data bundle format: what curators write in `data/*.yaml`.

Every model forbids unknown fields so that a typo in a YAML key is an error,
not silently dropped data. Cross-record checks (dangling ids, duplicates) live
in :mod:`app.importers.bundle`, which sees the whole bundle.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    HttpUrl,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from app import models as m
from app import vocab
from app.dates import DateSpan, InvalidDate, parse_edtf
from app.search import text as search_text


def fits(column: Any) -> Any:
    """``Field(max_length=n)`` for the mapped ``String(n)`` column ``column`` (e.g. ``m.Event.title``): the limit is
    declared once, on the model, and read here, so text the database cannot hold is a 422 naming the field on
    PostgreSQL and SQLite alike (PostgreSQL would refuse it at write time, SQLite would store it)."""
    length = column.property.columns[0].type.length
    if not isinstance(length, int):
        raise TypeError(f"{column} has no length")
    return Field(max_length=length)


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN), fits(m.Topic.id)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


def _check_edtf(value: str) -> str:
    try:
        parse_edtf(value)
    except InvalidDate as exc:
        raise ValueError(str(exc)) from None
    return value


def _yaml_scalar_to_text(value: object) -> object:
    # YAML reads `2019-07-22` as a date and `2018` as an int; both are valid EDTF once written back as text.
    if isinstance(value, (dt.date, int)) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return value


# Every EDTF column is String(64) (the test walking the models checks each).
EdtfText = Annotated[str, BeforeValidator(_yaml_scalar_to_text), fits(m.Event.date_edtf), AfterValidator(_check_edtf)]


def _in(vocabulary: Mapping[str, object] | tuple[str, ...], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in vocabulary:
            raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(vocabulary)}")
        return value

    return AfterValidator(check)


# What the columns hold (4-byte integers; agreements.amount is NUMERIC(20, 2)), so a value that passes validation
# always fits the database, on PostgreSQL and SQLite alike.
INT4_MAX = 2**31 - 1
AMOUNT_LIMIT = Decimal(10) ** 18


# Control characters other than tab, line feed and carriage return: C0 (PostgreSQL text cannot hold NUL, so a write
# would fail there and succeed on SQLite), DEL and C1 (U+0080–U+009F, NEL included: mis-decoded Windows-1252 text,
# invisible in most displays); none belongs in a title, a name or a note.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def is_blank(value: str) -> bool:
    """True for text of nothing but white space and invisible format characters (Unicode Zs and Cf: no-break and
    ideographic spaces, zero-width spaces and joiners, BOM), which no title, name or label may be."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Zs", "Cf") for ch in value)


def _not_blank(value: str) -> str:
    # Runs after the model's whitespace stripping.
    if is_blank(value):
        raise ValueError("must not be blank")
    return value


class _NotBlank:
    """Annotated metadata: the text is not blank (checked after any length limit before it in the annotation, so
    an over-long value gets the usual "at most n characters"); the JSON schema says minLength 1 and a pattern."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(_not_blank, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        found = handler(schema)
        found.update({"minLength": 1, "pattern": r"\S"})
        return found


NotBlank = _NotBlank()
# Text a record cannot do without (a title, a name, a label): not empty, not whitespace alone. A field stored in a
# String(n) column is written ``Annotated[str, fits(column), NotBlank]``.
NonBlank = Annotated[str, NotBlank]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        texts = (
            [value]
            if isinstance(value, str)
            else [v for v in value if isinstance(v, str)]
            if isinstance(value, list)
            else []
        )
        if any(_CONTROL.search(text) for text in texts):
            raise ValueError(
                "contains a control character (NUL, BEL, ESC, U+0080–U+009F…); only tab and line breaks are allowed"
            )
        return value


def _url_fits(column: Any) -> Any:
    # A URL is stored as normalised (a trailing slash may be added), so the limit applies to that text.
    length = fits(column).metadata[0].max_length

    def check(value: HttpUrl) -> HttpUrl:
        if len(str(value)) > length:
            raise ValueError(f"a URL may have at most {length} characters")
        return value

    return check


class CslName(Record):
    family: str | None = None
    given: str | None = None
    literal: str | None = None


class LocatorIn(Record):
    source: Slug
    section: Slug
    paragraph: int | None = Field(default=None, ge=1, le=INT4_MAX, strict=True)
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX, strict=True)
    note: str | None = None


class Reading(Record):
    value: NonBlank = Field(description="What this source says.")
    per: NonBlank = Field(description="Who says it: e.g. 'brief, high-level-visits ¶2' or 'footnote 5 (MOFA)'.")


class Discrepancy(Record):
    field: NonBlank
    description: NonBlank
    readings: list[Reading] = Field(min_length=2)
    resolution: NonBlank = Field(description="Which reading the record uses and why.")


class SectionIn(Record):
    key: Slug
    title: Annotated[str, fits(m.Section.title), NotBlank]
    parent: Slug | None = None
    paragraphs: int = Field(
        default=0,
        ge=0,
        strict=True,
        le=INT4_MAX,
        description="How many paragraphs the section has (0: not counted); locators may not cite one beyond it.",
    )


class AssessmentIn(Record):
    id: Slug
    summary: NonBlank = Field(description="The document's judgement, in our words, attributed to the document.")
    section: Slug
    paragraph: int | None = Field(default=None, ge=1, le=INT4_MAX, strict=True)
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX, strict=True)
    topics: list[Slug] = []


class SourceIn(Record):
    id: Slug
    title: Annotated[str, fits(m.SourceDocument.title), NotBlank]
    subtitle: Annotated[str, fits(m.SourceDocument.subtitle), NotBlank] | None = None
    series: Annotated[str, fits(m.SourceDocument.series)] | None = None
    part: Annotated[str, fits(m.SourceDocument.part)] | None = None
    type: Annotated[str, _in(vocab.CSL_TYPES, "CSL type")] = "report"
    publisher: Annotated[str, fits(m.SourceDocument.publisher)] | None = None
    publisher_place: Annotated[str, fits(m.SourceDocument.publisher_place)] | None = None
    authors: list[CslName] = []
    issued: EdtfText | None = None
    period: EdtfText | None = None
    language: Annotated[str, fits(m.SourceDocument.language)] | None = None
    url: Annotated[HttpUrl, AfterValidator(_url_fits(m.SourceDocument.url))] | None = None
    description: str = ""
    notes: str | None = None
    sections: list[SectionIn] = Field(min_length=1)
    assessments: list[AssessmentIn] = []


class CitationIn(Record):
    id: Slug
    source: Slug
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX, strict=True)
    type: Annotated[str, _in(vocab.CSL_TYPES, "CSL type")]
    title: Annotated[str, fits(m.Citation.title), NotBlank]
    container_title: Annotated[str, fits(m.Citation.container_title)] | None = None
    publisher: Annotated[str, fits(m.Citation.publisher)] | None = None
    authors: list[CslName] = []
    issued: EdtfText | None = None
    url: Annotated[str, fits(m.Citation.url)] | None = Field(
        default=None, description="Exactly as the source gives it."
    )
    accessed: dt.date | None = None
    notes: str | None = None

    @field_validator("publisher")
    @classmethod
    def _publisher_key_fits(cls, value: str | None) -> str | None:
        # The compared form (NFKC, case-folded) is stored too, and can be longer than the text ("ﬃ" is "ffi").
        limit = fits(m.Citation.publisher_key).metadata[0].max_length
        if value is not None and len(search_text.name_key(value) or "") > limit:
            raise ValueError(f"normalised for comparison, the publisher is longer than {limit} characters")
        return value


class TopicIn(Record):
    id: Slug
    label: Annotated[str, fits(m.Topic.label), NotBlank]
    description: str = ""
    parent: Slug | None = None


class IdentifierIn(Record):
    scheme: Literal["wikidata", "iso3166-1-alpha2", "viaf", "isni", "ror", "website"]
    value: Annotated[str, fits(m.ActorIdentifier.value), NotBlank]


class OfficeIn(Record):
    id: Slug
    label: Annotated[str, fits(m.Office.label), NotBlank] = Field(description="The post, e.g. 'Secretary of State'.")
    organization: Slug | None = None
    start: EdtfText | None = None
    end: EdtfText | None = None
    attested: EdtfText | None = Field(default=None, description="When the source shows them in post.")
    notes: str | None = None
    discrepancies: list[Discrepancy] = []
    locators: list[LocatorIn] = Field(min_length=1)


class ActorIn(Record):
    id: Slug
    name: Annotated[str, fits(m.Actor.name), NotBlank]
    kind: Annotated[str, _in(vocab.ACTOR_KINDS, "actor kind")]
    aliases: list[NonBlank] = []
    country: CountryCode | None = None
    description: str = ""
    identifiers: list[IdentifierIn] = []
    offices: list[OfficeIn] = []


class ParticipantIn(Record):
    actor: Slug
    role: Annotated[str, _in(vocab.ROLES, "role")]


class LocationIn(Record):
    name: Annotated[str, fits(m.Event.location_name), NotBlank] | None = None
    country: CountryCode | None = None


class RelationIn(Record):
    event: Slug
    relation: Literal["follows", "responds_to", "reiterates", "contradicts", "related", "context_for"]


class QuoteIn(Record):
    speaker: Slug
    text: NonBlank = Field(max_length=400, description="Only words the speaker actually said.")
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX, strict=True)


class EventIn(Record):
    id: Slug
    type: Annotated[str, _in(vocab.EVENT_TYPES, "event type")]
    title: Annotated[str, fits(m.Event.title), NotBlank]
    summary: str = ""
    date: EdtfText
    location: LocationIn | None = None
    participants: list[ParticipantIn] = Field(min_length=1)
    topics: list[Slug] = Field(min_length=1)
    locators: list[LocatorIn] = Field(min_length=1)
    parent: Slug | None = None
    related: list[RelationIn] = []
    quantity: int | None = Field(default=None, ge=1, le=INT4_MAX, strict=True)
    notes: str | None = None
    discrepancies: list[Discrepancy] = []
    quotes: list[QuoteIn] = []

    @field_validator("date")
    @classmethod
    def _bounded_start(cls, value: str) -> str:
        if parse_edtf(value).start is None:
            raise ValueError("an event's date needs a known earliest day")
        return value

    @property
    def span(self) -> DateSpan:
        return parse_edtf(self.date)


class AgreementPartyIn(Record):
    actor: Slug
    role: Annotated[str, _in(vocab.AGREEMENT_PARTY_ROLES, "party role")]


class MilestoneIn(Record):
    kind: Annotated[str, _in(vocab.MILESTONE_KINDS, "milestone kind")]
    date: EdtfText
    event: Slug | None = None
    note: str | None = None


class AgreementIn(Record):
    # One schema for requests and responses (the write endpoints answer with the record): `amount` is read as a
    # number or a string and written as a string, which the validation schema already allows.
    model_config = ConfigDict(json_schema_mode_override="validation")

    id: Slug
    title: Annotated[str, fits(m.Agreement.title), NotBlank]
    kind: Annotated[str, _in(vocab.AGREEMENT_KINDS, "agreement kind")]
    status: Annotated[str, _in(vocab.AGREEMENT_STATUSES, "status")]
    summary: str = ""
    amount: Decimal | None = Field(default=None, ge=0, lt=AMOUNT_LIMIT, decimal_places=2)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    amount_qualifier: Literal["exact", "at_least", "about"] | None = None
    parties: list[AgreementPartyIn] = Field(min_length=1)
    milestones: list[MilestoneIn] = []
    events: list[Slug] = []
    topics: list[Slug] = Field(min_length=1)
    locators: list[LocatorIn] = Field(min_length=1)
    notes: str | None = None
    discrepancies: list[Discrepancy] = []

    @field_validator("currency")
    @classmethod
    def _currency_needs_amount(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("amount") is None:
            raise ValueError("currency given without an amount")
        return value


class Bundle(Record):
    """One YAML file; a bundle is the union of all files under a directory."""

    sources: list[SourceIn] = []
    citations: list[CitationIn] = []
    topics: list[TopicIn] = []
    actors: list[ActorIn] = []
    events: list[EventIn] = []
    agreements: list[AgreementIn] = []
