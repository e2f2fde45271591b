"""Visits: the events of type `visit` as travel records (traveller, host, destination, dates), in the shape
travel datasets use. Declared in app.queries.resources (VISITS); everything here is the HTTP surface."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from app.deps import ListerDep, SnapshotDep
from app.exports.visits import VISIT_EXPORTS
from app.problems import problem_responses
from app.queries import aggregations
from app.queries.execute import get_one
from app.queries.resources import VISITS
from app.representation import ContractRoute
from app.routers.events import FacetsOut, count_facets
from app.routers.exports import add_export_operations
from app.schemas.common import Page, json_response
from app.schemas.params import VISIT_EXPORT_PARAMS, VisitFacetParams, VisitParams
from app.schemas.visits import VisitOut

router = APIRouter(prefix="/v1/visits", tags=["visits"], route_class=ContractRoute)


@router.get(
    "",
    response_model=Page[VisitOut],
    summary="List or export visits",
    description="Who travelled where, when, hosted by whom, and what else happened during the trip: one item per "
    "visit record, with the same id, date, topics and sources as the event (`/v1/events/{id}`). Filtered like "
    "events by date range, actor (`role=visitor|host`), topic, destination country and words, oldest first. A "
    "record standing for several undated visits stays one item with `quantity`. With `format=csv|ndjson` (or the "
    "matching `Accept` type) every match is streamed in the same order.",
    responses=problem_responses(400),
)
def list_visits(lister: ListerDep, params: Annotated[VisitParams, Query()]) -> Any:
    return lister.respond(VISITS, params, formats=VISIT_EXPORTS)


# Before /{visit_id}, which would otherwise take `export.csv` for an id.
add_export_operations(router, "", VISITS, VISIT_EXPORTS, VISIT_EXPORT_PARAMS, {"csv": "CSV", "ndjson": "NDJSON"})


@router.get(
    "/facets",
    response_model=FacetsOut,
    summary="Count visits per visitor, destination country and year",
    description="Counts under the same filters as the list. Each value's count equals the `total` of "
    "`/v1/visits` with that value added as a filter (`visitor`: `actor=<id>&role=visitor`).",
    responses=problem_responses(400),
)
def get_visit_facets(snapshot: SnapshotDep, params: Annotated[VisitFacetParams, Query()]) -> FacetsOut:
    return count_facets(snapshot, VISITS, params, aggregations.VISIT_FACETS)


@router.get(
    "/{visit_id}",
    response_model=VisitOut,
    summary="Get one visit",
    description="One visit by its event's id, with everything the list embeds; any other event's id is a 404.",
    responses=problem_responses(404),
)
def get_visit(
    snapshot: SnapshotDep,
    visit_id: Annotated[
        str, Path(description="The visit's event id (a stable slug).", examples=["pompeo-visits-pakistan-2018-09"])
    ],
) -> Response:
    return json_response(get_one(snapshot.session, VISITS, visit_id))
