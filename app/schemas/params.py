"""Query parameters of the list endpoints, as Pydantic models.

FastAPI turns each field into a documented query parameter; `extra="forbid"`
makes a misspelt parameter a 400 instead of a silently ignored filter.
Repeating a parameter means *all* must match; a comma-separated value means
*any* may match.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALL_ANY = " Repeat the parameter to require all values; separate values with commas to accept any."


class QueryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListParams(QueryModel):
    limit: int = Field(50, ge=1, le=500, description="Items per page (1–500).", examples=[50])
    cursor: str | None = Field(
        None,
        max_length=2000,
        description="Opaque `next_cursor` from the previous page. Omit for the first page.",
        examples=["eyJzIjoiZGF0ZSIsImsiOlsiMjAxOS0wNy0yMiIsImtoYW4tdHJ1bXAtd2hpdGUtaG91c2UtbWVldGluZyJdfQ.abc"],
    )


class DateRangeParams(QueryModel):
    start: str | None = Field(
        None,
        description="Earliest day of interest: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a year or month means its first day).",
        examples=["2019-07"],
    )
    end: str | None = Field(
        None,
        description="Latest day of interest: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a year or month means its last day).",
        examples=["2019-07"],
    )
    date_match: Literal["overlaps", "within"] = Field(
        "overlaps",
        description="`overlaps` (default): any day the record may denote falls in the range, so a "
        "September 2018 event matches a query for 15 September 2018. `within`: every day it may denote does.",
        examples=["overlaps"],
    )


class EventFilters(DateRangeParams):
    actor: list[str] = Field(default=[], description="Actor id taking part." + ALL_ANY, examples=[["imran-khan"]])
    role: list[str] = Field(
        default=[],
        description="Participant role (visitor, host, speaker, mediator, …; see /v1/vocabularies). With `actor`, "
        "the actor must hold that role." + ALL_ANY,
        examples=[["visitor"]],
    )
    topic: list[str] = Field(
        default=[], description="Topic id; includes its sub-topics." + ALL_ANY, examples=[["kashmir"]]
    )
    type: list[str] = Field(default=[], description="Event type (see /v1/vocabularies)." + ALL_ANY, examples=[["visit"]])
    country: list[str] = Field(
        default=[], description="Where it took place, ISO 3166-1 alpha-2." + ALL_ANY, examples=[["PK"]]
    )
    source: list[str] = Field(
        default=[], description="Source document id the event is stated in." + ALL_ANY, examples=[["ips-pakistan-us-relations-2018-2020"]]
    )
    parent: str | None = Field(None, description="Only parts of this event (e.g. meetings during a visit).", examples=["imran-khan-visit-to-washington-2019-07"])
    q: str | None = Field(
        None, min_length=1, max_length=200, description="Words that must all appear in the title, summary or place (case-insensitive).", examples=["mediation kashmir"]
    )


class EventParams(ListParams, EventFilters):
    sort: Literal["date", "-date"] = Field("date", description="`date` (oldest first) or `-date` (newest first).", examples=["-date"])
    format: Literal["json", "csv", "ndjson", "ics", "geojson"] | None = Field(
        None,
        description="Response format. `json` (default) is one page; `csv`, `ndjson`, `ics` (iCalendar) and `geojson` "
        "stream *every* match in list order (`limit` and `cursor` do not apply). The `Accept` header works too.",
        examples=["csv"],
    )


FacetName = Literal["type", "topic", "actor", "country", "year"]


class FacetParams(EventFilters):
    facet: str = Field(
        "type,topic,actor,country,year",
        description="Comma-separated facets to count: type, topic, actor, country, year.",
        examples=["type,actor"],
    )
    facet_size: int = Field(10, ge=1, le=500, description="Values per facet, most frequent first.", examples=[10])


class TimelineParams(EventFilters):
    interval: Literal["year", "month", "day"] = Field("year", description="Bucket size.", examples=["month"])


class NetworkParams(EventFilters):
    limit: int = Field(50, ge=1, le=500, description="Most-connected actors to return.", examples=[20])


class AgreementParams(ListParams, DateRangeParams):
    actor: list[str] = Field(default=[], description="Actor id that is a party." + ALL_ANY, examples=[["united-states"]])
    topic: list[str] = Field(default=[], description="Topic id; includes its sub-topics." + ALL_ANY, examples=[["security-assistance"]])
    status: list[str] = Field(default=[], description="Status (in_effect, suspended, reinstated, …)." + ALL_ANY, examples=[["suspended"]])
    kind: list[str] = Field(default=[], description="Kind (agreement, programme, decision, loan, …)." + ALL_ANY, examples=[["programme"]])
    q: str | None = Field(None, min_length=1, max_length=200, description="Words that must all appear in the title or summary.", examples=["training"])
    sort: Literal["date", "-date"] = Field("date", description="By earliest milestone date; undated records come last.", examples=["date"])


class ActorParams(ListParams):
    q: str | None = Field(None, min_length=1, max_length=200, description="Words that must all appear in the name or an alias.", examples=["pompeo"])
    kind: list[str] = Field(default=[], description="Actor kind (person, state, government_body, international_organisation, other)." + ALL_ANY, examples=[["person"]])
    country: list[str] = Field(default=[], description="ISO 3166-1 alpha-2 country the actor belongs to." + ALL_ANY, examples=[["US"]])
    sort: Literal["name", "id"] = Field("name", description="`name` or `id`.", examples=["name"])


class CitationParams(ListParams):
    format: Literal["json", "csl-json", "ris", "bibtex"] | None = Field(
        None,
        description="`json` (default) is one page; `csl-json`, `ris` and `bibtex` (BibLaTeX) stream every match for "
        "reference managers such as Zotero. The `Accept` header works too.",
        examples=["ris"],
    )
    publisher: list[str] = Field(default=[], description="Exact publisher name." + ALL_ANY, examples=[["Reuters"]])
    source: list[str] = Field(default=[], description="Source document whose footnotes these are." + ALL_ANY, examples=[["ips-pakistan-us-relations-2018-2020"]])
    start: str | None = Field(None, description="Issued on or after: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.", examples=["2019"])
    end: str | None = Field(None, description="Issued on or before: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.", examples=["2019-12"])
    sort: Literal["footnote", "issued", "id"] = Field("footnote", description="`footnote` (source then footnote number), `issued` or `id`.", examples=["footnote"])


class TopicParams(ListParams):
    q: str | None = Field(None, min_length=1, max_length=200, description="Words that must all appear in the label or description.", examples=["kashmir"])
    parent: str | None = Field(None, description="Only direct sub-topics of this topic.", examples=["security-assistance"])


class SourceParams(ListParams):
    q: str | None = Field(None, min_length=1, max_length=200, description="Words that must all appear in the title, series or publisher.", examples=["pakistan"])
