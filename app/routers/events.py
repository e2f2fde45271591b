from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.deps import SessionDep
from app.problems import problem_responses
from app.queries.listing import EVENTS, get_one, list_page
from app.schemas.common import Page, page_of
from app.schemas.events import EventOut
from app.schemas.params import EventParams

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get(
    "",
    response_model=Page[EventOut],
    summary="List events",
    description="Visits, meetings, statements, offers, decisions… filtered by date range, actor, role, topic, "
    "type, country, source and words, oldest first. Each item embeds its participants, topics, citations and "
    "locators, so a timeline needs no further calls.",
    responses=problem_responses(400),
)
def list_events(session: SessionDep, params: Annotated[EventParams, Query()]) -> dict:
    return page_of(list_page(session, EVENTS, params.model_dump()), EventOut.from_row)


@router.get(
    "/{event_id}",
    response_model=EventOut,
    summary="Get one event",
    description="One event by its stable id, with everything the list embeds.",
    responses=problem_responses(404),
)
def get_event(
    session: SessionDep,
    event_id: Annotated[str, Path(description="Event id (a stable slug).", examples=["khan-trump-davos-meeting-2020-01-21"])],
) -> EventOut:
    return EventOut.from_row(get_one(session, EVENTS, event_id))
