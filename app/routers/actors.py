from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from app.deps import ListerDep, SnapshotDep
from app.problems import problem_responses
from app.queries import aggregations
from app.queries.execute import get_one
from app.queries.plan import Purpose, plan
from app.queries.resources import ACTORS, EVENTS
from app.representation import ContractRoute
from app.schemas.actors import ActorOut
from app.schemas.common import ActorRef, Page, json_response
from app.schemas.params import ActorParams, NetworkParams

router = APIRouter(prefix="/v1/actors", tags=["actors"], route_class=ContractRoute)


@router.get(
    "",
    response_model=Page[ActorOut],
    summary="List actors",
    description="People, states, government bodies and international organisations, with the offices the "
    "people held (dated, sourced) and external identifiers. Search names and aliases with `q`.",
    responses=problem_responses(400),
)
def list_actors(lister: ListerDep, params: Annotated[ActorParams, Query()]) -> Response:
    return lister.page(ACTORS, params, ActorOut.from_row)


@router.get(
    "/{actor_id}",
    response_model=ActorOut,
    summary="Get one actor",
    description="One actor with offices held and identifiers. Use `/v1/events?actor=<id>` for its events.",
    responses=problem_responses(404),
)
def get_actor(
    snapshot: SnapshotDep,
    actor_id: Annotated[str, Path(description="Actor id (a stable slug).", examples=["mike-pompeo"])],
) -> Response:
    return json_response(ActorOut.from_row(get_one(snapshot.session, ACTORS, actor_id)))


class NeighbourOut(BaseModel):
    actor: ActorRef
    count: int = Field(description="Events both actors take part in, under the filters (exact).", examples=[6])
    events: list[str] = Field(
        description=f"Ids of those events, in id order: all of them up to {aggregations.EVENTS_PER_NEIGHBOUR}, "
        f"else the first {aggregations.EVENTS_PER_NEIGHBOUR} (see `events_truncated`; list them all with "
        "`/v1/events?actor=<this actor>&actor=<neighbour>` and the same filters).",
        max_length=aggregations.EVENTS_PER_NEIGHBOUR,
    )
    events_truncated: bool = Field(
        description=f"True when `count` exceeds {aggregations.EVENTS_PER_NEIGHBOUR} and `events` lists only the "
        "first of them.",
        examples=[False],
    )


class NetworkOut(BaseModel):
    actor: ActorRef
    neighbours: list[NeighbourOut] = Field(description="Most connected first.")


@router.get(
    "/{actor_id}/network",
    response_model=NetworkOut,
    summary="Actors sharing events with this one",
    description="The actors that take part in the same events as this one (any role), with counts and the "
    "shared event ids (at most "
    + str(aggregations.EVENTS_PER_NEIGHBOUR)
    + " per neighbour). Accepts every event filter, e.g. `start`/`end` or `topic`.",
    responses=problem_responses(400, 404),
)
def get_actor_network(
    snapshot: SnapshotDep,
    actor_id: Annotated[str, Path(description="Actor id (a stable slug).", examples=["imran-khan"])],
    params: Annotated[NetworkParams, Query()],
) -> NetworkOut:
    actor = get_one(snapshot.session, ACTORS, actor_id)
    values = params.model_dump()
    matching = plan(snapshot.session, EVENTS, values, Purpose.AGGREGATE)
    neighbours = aggregations.network(snapshot.session, actor_id, matching, values["limit"])
    return NetworkOut(
        actor=ActorRef.model_validate(actor),
        neighbours=[
            NeighbourOut(
                actor=ActorRef.model_validate(n.actor),
                count=n.count,
                events=n.events,
                events_truncated=n.count > len(n.events),
            )
            for n in neighbours
        ],
    )
