"""Service endpoints: health, controlled vocabularies, problem types."""

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import vocab
from app.deps import SessionDep
from app.problems import PROBLEM_TYPES, ProblemError, problem_responses

router = APIRouter()


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: str = Field(examples=["ok"])


@router.get(
    "/health",
    response_model=Health,
    tags=["service"],
    summary="Health check",
    description="`200` when the API can query its database; `503` otherwise (use it as a readiness probe).",
    responses={503: {"model": Health, "description": "The database is unreachable."}},
)
def health(session: SessionDep) -> Any:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return {"status": "ok", "database": "ok"}


@router.get(
    "/v1/vocabularies",
    tags=["service"],
    summary="Controlled vocabularies",
    description="Event types (with their PLOVER category and CAMEO code), participant roles, actor kinds, "
    "agreement kinds, statuses and milestone kinds: the values the filters accept.",
)
def vocabularies() -> dict[str, Any]:
    return {
        "event_types": {
            key: {"label": t.label, "description": t.description, "plover": t.plover, "cameo": t.cameo}
            for key, t in vocab.EVENT_TYPES.items()
        },
        "roles": vocab.ROLES,
        "actor_kinds": vocab.ACTOR_KINDS,
        "agreement_kinds": vocab.AGREEMENT_KINDS,
        "agreement_statuses": vocab.AGREEMENT_STATUSES,
        "milestone_kinds": vocab.MILESTONE_KINDS,
        "agreement_party_roles": vocab.AGREEMENT_PARTY_ROLES,
    }


@router.get(
    "/problems/{slug}",
    tags=["service"],
    summary="Explain a problem type",
    description="The `type` of every error response points here.",
    responses=problem_responses(404),
)
def problem_type(slug: Annotated[str, Path(description="Problem type slug.", examples=["invalid-parameter"])]) -> dict[str, str]:
    if slug not in PROBLEM_TYPES:
        raise ProblemError(404, "not-found", f"no problem type {slug!r}")
    title, explanation = PROBLEM_TYPES[slug]
    return {"type": f"/problems/{slug}", "title": title, "description": explanation}
