from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from app.deps import ListerDep, Snapshot, SnapshotDep
from app.exports.events import EXPORTS
from app.problems import bad_parameter, problem_responses
from app.queries import aggregations
from app.queries.execute import get_one
from app.queries.filters import check_choices, value_groups
from app.queries.plan import Purpose, plan
from app.queries.resources import EVENTS, Resource
from app.representation import ContractRoute
from app.routers.exports import add_export_operations
from app.schemas.common import Page, json_response
from app.schemas.events import EventOut
from app.schemas.params import EVENT_EXPORT_PARAMS, EventParams, FacetParams, TimelineParams

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=ContractRoute)


@router.get(
    "",
    response_model=Page[EventOut],
    summary="List or export events",
    description="Visits, meetings, statements, offers, decisions… filtered by date range, actor, role, topic, "
    "type, country, source and words, oldest first. Each item embeds its participants, topics, citations and "
    "locators, so a timeline needs no further calls. With `format=csv|ndjson|ics|geojson` (or the matching "
    "`Accept` type) every match is streamed in the same order.",
    responses=problem_responses(400),
)
def list_events(lister: ListerDep, params: Annotated[EventParams, Query()]) -> Any:
    return lister.respond(EVENTS, params, formats=EXPORTS)


# Before /{event_id}, which would otherwise take `export.csv` for an id.
add_export_operations(
    router,
    "",
    EVENTS,
    EXPORTS,
    EVENT_EXPORT_PARAMS,
    {"csv": "CSV", "ndjson": "NDJSON", "ics": "iCalendar", "geojson": "GeoJSON"},
)


class FacetValueOut(BaseModel):
    id: str | None = Field(description="Value to pass back as a filter.", examples=["imran-khan"])
    label: str = Field(examples=["Imran Khan"])
    count: int = Field(description="Records matching the filters *and* this value.", examples=[9])


class FacetsOut(BaseModel):
    total: int = Field(description="Records (events, or visits) matching the filters.", examples=[33])
    facets: dict[str, list[FacetValueOut]] = Field(
        description="Per facet, the most frequent values. `topic` counts include sub-topics; `year` counts a "
        "record in every year its date range overlaps (so a value's count equals the list total for that year); "
        "`visitor` counts are those of `actor=<id>&role=visitor`."
    )


def count_facets(snapshot: Snapshot, resource: Resource, params: BaseModel, offered: tuple[str, ...]) -> FacetsOut:
    """The facets asked for in ``params`` (`facet`, any of ``offered``; 400 otherwise) and the total, under
    the resource's filters."""
    values = params.model_dump()
    groups = value_groups("facet", values["facet"])
    check_choices("facet", groups, offered)
    names = list(dict.fromkeys(n for group in groups for n in group))
    matching = plan(snapshot.session, resource, values, Purpose.AGGREGATE)
    chosen = cast(list[aggregations.FacetName], names)  # each checked against `offered` above
    counts = aggregations.facet_counts(snapshot.session, matching, chosen, values["facet_size"])
    total = aggregations.count_matching(snapshot.session, matching)
    return FacetsOut(total=total, facets={k: [FacetValueOut(**vars(v)) for v in vs] for k, vs in counts.items()})


@router.get(
    "/facets",
    response_model=FacetsOut,
    summary="Count events per type, topic, actor, country and year",
    description="Counts under the same filters as the list. Each value's count equals the `total` of "
    "`/v1/events` with that value added as a filter.",
    responses=problem_responses(400),
)
def get_event_facets(snapshot: SnapshotDep, params: Annotated[FacetParams, Query()]) -> FacetsOut:
    return count_facets(snapshot, EVENTS, params, aggregations.FACETS)


class BucketOut(BaseModel):
    start: str = Field(description="First day of the period.", examples=["2019-07-01"])
    end: str = Field(description="Last day of the period.", examples=["2019-07-31"])
    count: int = Field(description="Events whose whole date range falls in this period.", examples=[7])
    imprecise: int = Field(
        description="Events whose date range overlaps this period but also extends beyond it (coarser than the "
        "interval, or spanning periods). `count + imprecise` equals the list total for this period.",
        examples=[2],
    )


class TimelineOut(BaseModel):
    interval: aggregations.Interval = Field(examples=["month"])
    buckets: list[BucketOut] = Field(description="Every period in the range, empty ones included.")


@router.get(
    "/timeline",
    response_model=TimelineOut,
    summary="Count events per year, month or day",
    description="Counts per period, with empty periods included so a chart needs no gap filling. The range is "
    "`start`–`end` when given, else the span of the matching events. Imprecise dates are never spread or "
    "guessed: an event only counts as `count` in a period that contains its whole date range; elsewhere it "
    "counts as `imprecise` in every period it may fall in.",
    responses=problem_responses(400),
)
def get_event_timeline(snapshot: SnapshotDep, params: Annotated[TimelineParams, Query()]) -> TimelineOut:
    values = params.model_dump()
    matching = plan(snapshot.session, EVENTS, values, Purpose.SPANS)
    try:
        buckets = aggregations.timeline(snapshot.session, matching, values["interval"])
    except aggregations.TooManyPeriods as exc:
        raise bad_parameter(exc.parameter, str(exc)) from None
    return TimelineOut(
        interval=values["interval"],
        buckets=[
            BucketOut(start=b.start.isoformat(), end=b.end.isoformat(), count=b.count, imprecise=b.imprecise)
            for b in buckets
        ],
    )


@router.get(
    "/{event_id}",
    response_model=EventOut,
    summary="Get one event",
    description="One event by its stable id, with everything the list embeds.",
    responses=problem_responses(404),
)
def get_event(
    snapshot: SnapshotDep,
    event_id: Annotated[
        str, Path(description="Event id (a stable slug).", examples=["khan-trump-meeting-davos-2020-01-21"])
    ],
) -> Response:
    return json_response(get_one(snapshot.session, EVENTS, event_id))
