from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.deps import ListerDep, SnapshotDep
from app.problems import problem_responses
from app.queries.execute import get_one
from app.queries.resources import TOPICS
from app.representation import ContractRoute
from app.schemas.common import Page, json_response
from app.schemas.params import TopicParams
from app.schemas.topics import TopicOut

router = APIRouter(prefix="/v1/topics", tags=["topics"], route_class=ContractRoute)


@router.get(
    "",
    response_model=Page[TopicOut],
    summary="List topics",
    description="The curated topic vocabulary. Topics form a tree; filtering events by a topic includes its sub-topics.",
    responses=problem_responses(400),
)
def list_topics(lister: ListerDep, params: Annotated[TopicParams, Query()]) -> Response:
    return lister.page(TOPICS, params, TopicOut.from_row)


@router.get(
    "/{topic_id}",
    response_model=TopicOut,
    summary="Get one topic",
    description="One topic with its parent and direct sub-topics.",
    responses=problem_responses(404),
)
def get_topic(
    snapshot: SnapshotDep,
    topic_id: Annotated[str, Path(description="Topic id (a stable slug).", examples=["kashmir-dispute"])],
) -> Response:
    return json_response(TopicOut.from_row(get_one(snapshot.session, TOPICS, topic_id)))
