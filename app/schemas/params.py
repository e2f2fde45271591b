"""The query models of the endpoints, derived from the declarations (app.queries.resources): nothing
about a parameter is written here. FastAPI turns each field into a documented query parameter;
`extra="forbid"` makes a misspelt parameter a 400 instead of a silently ignored filter."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from pydantic import BaseModel

from app.exports import Export, format_options
from app.exports.citations import CITATION_EXPORTS
from app.exports.events import EXPORTS
from app.exports.visits import VISIT_EXPORTS
from app.queries.aggregations import FACET, FACET_SIZE, INTERVAL, VISIT_FACET
from app.queries.filters import Param
from app.queries.resources import (
    ACTORS,
    AGREEMENTS,
    CITATIONS,
    EVENTS,
    LIMIT,
    SOURCES,
    TOPICS,
    VISITS,
    Resource,
    cursor_param,
    format_param,
)

EVENT_FORMAT = format_param(
    list(EXPORTS),
    "Response format. `json` (default) is one page; `csv`, `ndjson`, `ics` (iCalendar) and `geojson` stream "
    "*every* match in list order (`limit` and `cursor` do not apply). The `Accept` header works too.",
    "csv",
)
VISIT_FORMAT = format_param(
    list(VISIT_EXPORTS),
    "Response format. `json` (default) is one page; `csv` (a travel table: one row per visit record) and `ndjson` "
    "stream *every* match in list order (`limit` and `cursor` do not apply). The `Accept` header works too.",
    "csv",
)
CITATION_FORMAT = format_param(
    list(CITATION_EXPORTS),
    "`json` (default) is one page; `csl-json`, `ris` and `bibtex` (BibLaTeX) stream every match for reference "
    "managers such as Zotero. The `Accept` header works too.",
    "ris",
)


def export_params(resource: Resource, formats: dict[str, Export], stem: str) -> dict[str, type[BaseModel]]:
    """Per export format, the query model of its operation: the list's filters, `sort`, and the format's
    own options (e.g. CSV's `escape_formulas`)."""
    return {
        name: resource.query_model(
            f"{stem}{export.extension.title()}ExportParams", resource.sort_param(), *export.params
        )
        for name, export in formats.items()
    }


NETWORK_LIMIT = Param("limit", int, 50, "Most-connected actors to return.", 20, constraints={"ge": 1, "le": 500})

if TYPE_CHECKING:
    # Built at import from the declarations; to a type checker they are plain models, read through
    # `model_dump()` by the routes.
    EventFilters: TypeAlias = BaseModel
    EventParams: TypeAlias = BaseModel
    EVENT_EXPORT_PARAMS: dict[str, type[BaseModel]]
    CITATION_EXPORT_PARAMS: dict[str, type[BaseModel]]
    FacetParams: TypeAlias = BaseModel
    TimelineParams: TypeAlias = BaseModel
    NetworkParams: TypeAlias = BaseModel
    VisitParams: TypeAlias = BaseModel
    VISIT_EXPORT_PARAMS: dict[str, type[BaseModel]]
    VisitFacetParams: TypeAlias = BaseModel
    AgreementParams: TypeAlias = BaseModel
    ActorParams: TypeAlias = BaseModel
    CitationParams: TypeAlias = BaseModel
    TopicParams: TypeAlias = BaseModel
    SourceParams: TypeAlias = BaseModel
else:
    EventFilters = EVENTS.query_model("EventFilters")
    EventParams = EVENTS.query_model(
        "EventParams", LIMIT, cursor_param(EVENTS), EVENTS.sort_param(), EVENT_FORMAT, *format_options(EXPORTS)
    )
    FacetParams = EVENTS.query_model("FacetParams", FACET, FACET_SIZE)
    TimelineParams = EVENTS.query_model("TimelineParams", INTERVAL)
    NetworkParams = EVENTS.query_model("NetworkParams", NETWORK_LIMIT)
    EVENT_EXPORT_PARAMS = export_params(EVENTS, EXPORTS, "Event")
    VisitParams = VISITS.query_model(
        "VisitParams",
        LIMIT,
        cursor_param(VISITS),
        VISITS.sort_param(),
        VISIT_FORMAT,
        *format_options(VISIT_EXPORTS),
    )
    VISIT_EXPORT_PARAMS = export_params(VISITS, VISIT_EXPORTS, "Visit")
    VisitFacetParams = VISITS.query_model("VisitFacetParams", VISIT_FACET, FACET_SIZE)
    CITATION_EXPORT_PARAMS = export_params(CITATIONS, CITATION_EXPORTS, "Citation")
    AgreementParams = AGREEMENTS.query_model(
        "AgreementParams", LIMIT, cursor_param(AGREEMENTS), AGREEMENTS.sort_param()
    )
    ActorParams = ACTORS.query_model("ActorParams", LIMIT, cursor_param(ACTORS), ACTORS.sort_param())
    CitationParams = CITATIONS.query_model(
        "CitationParams",
        LIMIT,
        cursor_param(CITATIONS),
        CITATIONS.sort_param(),
        CITATION_FORMAT,
        *format_options(CITATION_EXPORTS),
    )
    TopicParams = TOPICS.query_model("TopicParams", LIMIT, cursor_param(TOPICS), TOPICS.sort_param())
    SourceParams = SOURCES.query_model("SourceParams", LIMIT, cursor_param(SOURCES), SOURCES.sort_param())
