from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.deps import SessionDep
from app.problems import problem_responses
from app.queries.listing import ACTORS, get_one, list_page
from app.schemas.actors import ActorOut
from app.schemas.common import Page, page_of
from app.schemas.params import ActorParams

router = APIRouter(prefix="/v1/actors", tags=["actors"])


@router.get(
    "",
    response_model=Page[ActorOut],
    summary="List actors",
    description="People, states, government bodies and international organisations, with the offices the "
    "people held (dated, sourced) and external identifiers. Search names and aliases with `q`.",
    responses=problem_responses(400),
)
def list_actors(session: SessionDep, params: Annotated[ActorParams, Query()]) -> dict:
    return page_of(list_page(session, ACTORS, params.model_dump()), ActorOut.from_row)


@router.get(
    "/{actor_id}",
    response_model=ActorOut,
    summary="Get one actor",
    description="One actor with offices held and identifiers. Use `/v1/events?actor=<id>` for its events.",
    responses=problem_responses(404),
)
def get_actor(
    session: SessionDep,
    actor_id: Annotated[str, Path(description="Actor id (a stable slug).", examples=["mike-pompeo"])],
) -> ActorOut:
    return ActorOut.from_row(get_one(session, ACTORS, actor_id))
