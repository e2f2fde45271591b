"""The data bundle format: what curators write in `data/*.yaml`.

Every model forbids unknown fields so that a typo in a YAML key is an error,
not silently dropped data. Cross-record checks (dangling ids, duplicates) live
in :mod:`app.importers.bundle`, which sees the whole bundle.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
)

from app import vocab
from app.dates import DateSpan, InvalidDate, parse_edtf

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=120)]
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


EdtfText = Annotated[str, BeforeValidator(_yaml_scalar_to_text), AfterValidator(_check_edtf)]


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


def _not_blank(value: str) -> str:
    # Runs after the model's whitespace stripping, so whitespace alone is blank too.
    if not value:
        raise ValueError("must not be blank")
    return value


# Text a record cannot do without (a title, a name, a label): not empty, not whitespace alone.
NonBlank = Annotated[str, AfterValidator(_not_blank), Field(json_schema_extra={"minLength": 1, "pattern": r"\S"})]


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


class CslName(Record):
    family: str | None = None
    given: str | None = None
    literal: str | None = None


class LocatorIn(Record):
    source: Slug
    section: Slug
    paragraph: int | None = Field(default=None, ge=1, le=INT4_MAX)
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX)
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
    title: NonBlank
    parent: Slug | None = None
    paragraphs: int = Field(
        default=0,
        ge=0,
        le=INT4_MAX,
        description="How many paragraphs the section has (0: not counted); locators may not cite one beyond it.",
    )


class AssessmentIn(Record):
    id: Slug
    summary: NonBlank = Field(description="The document's judgement, in our words, attributed to the document.")
    section: Slug
    paragraph: int | None = Field(default=None, ge=1, le=INT4_MAX)
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX)
    topics: list[Slug] = []


class SourceIn(Record):
    id: Slug
    title: NonBlank
    subtitle: NonBlank | None = None
    series: str | None = None
    part: str | None = None
    type: Annotated[str, _in(vocab.CSL_TYPES, "CSL type")] = "report"
    publisher: str | None = None
    publisher_place: str | None = None
    authors: list[CslName] = []
    issued: EdtfText | None = None
    period: EdtfText | None = None
    language: str | None = None
    url: HttpUrl | None = None
    description: str = ""
    notes: str | None = None
    sections: list[SectionIn] = Field(min_length=1)
    assessments: list[AssessmentIn] = []


class CitationIn(Record):
    id: Slug
    source: Slug
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX)
    type: Annotated[str, _in(vocab.CSL_TYPES, "CSL type")]
    title: NonBlank
    container_title: str | None = None
    publisher: str | None = None
    authors: list[CslName] = []
    issued: EdtfText | None = None
    url: str | None = Field(default=None, description="Exactly as the source gives it.")
    accessed: dt.date | None = None
    notes: str | None = None


class TopicIn(Record):
    id: Slug
    label: NonBlank
    description: str = ""
    parent: Slug | None = None


class IdentifierIn(Record):
    scheme: Literal["wikidata", "iso3166-1-alpha2", "viaf", "isni", "ror", "website"]
    value: NonBlank


class OfficeIn(Record):
    id: Slug
    label: NonBlank = Field(description="The post, e.g. 'Secretary of State'.")
    organization: Slug | None = None
    start: EdtfText | None = None
    end: EdtfText | None = None
    attested: EdtfText | None = Field(default=None, description="When the source shows them in post.")
    notes: str | None = None
    discrepancies: list[Discrepancy] = []
    locators: list[LocatorIn] = Field(min_length=1)


class ActorIn(Record):
    id: Slug
    name: NonBlank
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
    name: NonBlank | None = None
    country: CountryCode | None = None


class RelationIn(Record):
    event: Slug
    relation: Literal["follows", "responds_to", "reiterates", "contradicts", "related", "context_for"]


class QuoteIn(Record):
    speaker: Slug
    text: NonBlank = Field(max_length=400, description="Only words the speaker actually said.")
    footnote: int | None = Field(default=None, ge=1, le=INT4_MAX)


class EventIn(Record):
    id: Slug
    type: Annotated[str, _in(vocab.EVENT_TYPES, "event type")]
    title: NonBlank
    summary: str = ""
    date: EdtfText
    location: LocationIn | None = None
    participants: list[ParticipantIn] = Field(min_length=1)
    topics: list[Slug] = Field(min_length=1)
    locators: list[LocatorIn] = Field(min_length=1)
    parent: Slug | None = None
    related: list[RelationIn] = []
    quantity: int | None = Field(default=None, ge=1, le=INT4_MAX)
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
    title: NonBlank
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
