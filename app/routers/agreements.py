from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.deps import ListerDep, SnapshotDep
from app.problems import problem_responses
from app.queries.execute import get_one
from app.queries.resources import AGREEMENTS
from app.representation import ContractRoute
from app.schemas.agreements import AgreementOut
from app.schemas.common import Page, json_response
from app.schemas.params import AgreementParams

router = APIRouter(prefix="/v1/agreements", tags=["agreements"], route_class=ContractRoute)


@router.get(
    "",
    response_model=Page[AgreementOut],
    summary="List agreements, programmes and decisions",
    description="Agreements, assistance programmes, loans and lasting decisions with their parties, amounts and "
    "dated milestones (approved, suspended, reinstated…). Date filters match the span of the milestones.",
    responses=problem_responses(400),
)
def list_agreements(lister: ListerDep, params: Annotated[AgreementParams, Query()]) -> Response:
    return lister.page(AGREEMENTS, params, AgreementOut.from_row)


@router.get(
    "/{agreement_id}",
    response_model=AgreementOut,
    summary="Get one agreement, programme or decision",
    description="One record with its status history (milestones), parties, related events and sources.",
    responses=problem_responses(404),
)
def get_agreement(
    snapshot: SnapshotDep,
    agreement_id: Annotated[str, Path(description="Agreement id (a stable slug).", examples=["imet-pakistan"])],
) -> Response:
    return json_response(AgreementOut.from_row(get_one(snapshot.session, AGREEMENTS, agreement_id)))
