"""Service endpoints: health, controlled vocabularies, problem types."""

import datetime as dt
import hashlib
import logging
import pathlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, exists, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app import models as m
from app import vocab
from app.deps import SessionDep, SnapshotDep, query_url
from app.http_cache import EMPTY_VERSION, read_version
from app.migrate import head_revision
from app.problems import PROBLEM_TYPES, ProblemError, problem_responses
from app.queries import aggregations
from app.queries.plan import Purpose, plan
from app.queries.resources import EVENTS, VISITS
from app.representation import ContractRoute
from app.schemas.params import EventFilters

router = APIRouter(route_class=ContractRoute)
logger = logging.getLogger(__name__)


class Health(BaseModel):
    status: str = Field(description="`ok`, or `unavailable` when a readiness check failed.", examples=["ok"])
    database: str = Field(
        description="`ok`; `unreachable` (no connection); `not ready` (connected, but the file, schema or dataset "
        "check failed); `not checked` (liveness).",
        examples=["ok"],
    )
    checks: dict[str, str] = Field(
        default_factory=dict,
        description="Each readiness check in order (`file` (SQLite), `connection`, `schema`, `dataset`): `ok`, "
        "what is wrong, or `not checked` after an earlier failure.",
        examples=[{"file": "ok", "connection": "ok", "schema": "ok", "dataset": "ok"}],
    )
    failed: str | None = Field(default=None, description="The first check that failed.", examples=[None])


class _NotReady(Exception):
    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check
        self.message = message


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0][:300] if lines else ''}"


def readiness(session: Session, database_file: pathlib.Path | None, checks: dict[str, str]) -> None:
    """Fill ``checks`` (check name -> "ok") in order, raising _NotReady at the first that fails:

    * file (SQLite): the file at the configured path exists and, once connected, is the one this connection has
      open (open connections keep reading a deleted or replaced file). A replaced file also makes the pool
      reopen its connections, so the next probe checks the new file;
    * connection: a statement runs;
    * schema: `alembic_version` holds the packaged head revision (app.migrate.head_revision);
    * dataset: an import has been committed (`dataset_state`) and there are events.
    """
    found = None
    if database_file is not None:
        try:
            found = database_file.stat()
        except OSError:
            raise _NotReady("file", f"the database file {database_file.name} is missing") from None
    try:
        connection = session.connection()
        connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise _NotReady("connection", _one_line(exc)) from exc
    if database_file is not None and found is not None:
        if connection.connection.info.get("database_file") != (found.st_dev, found.st_ino):
            bind = session.get_bind()
            assert isinstance(bind, Engine)
            bind.dispose()  # connections opened from now on read the file that is at the path now
            raise _NotReady("file", f"the database file {database_file.name} was replaced; connections reopened")
        checks["file"] = "ok"
    checks["connection"] = "ok"
    expected = head_revision()
    try:
        if not inspect(connection).has_table("alembic_version"):
            raise _NotReady("schema", f"no schema (no alembic_version table); expected revision {expected}")
        found_revisions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError as exc:
        raise _NotReady("schema", _one_line(exc)) from exc
    if found_revisions != [expected]:
        current = ", ".join(found_revisions) or "none"
        raise _NotReady("schema", f"at revision {current}, expected {expected} (run `dipevents migrate`)")
    checks["schema"] = "ok"
    version, _ = read_version(session)
    if version == EMPTY_VERSION or session.scalar(select(exists().select_from(m.Event))) is not True:
        raise _NotReady("dataset", "no dataset loaded (run `dipevents load`)")
    checks["dataset"] = "ok"


@router.get(
    "/health",
    response_model=Health,
    tags=["service"],
    summary="Readiness check",
    description="`200` when the API can serve: its database answers, (SQLite) the database file is in place, the "
    "schema is at the expected migration and a dataset is loaded. `503` otherwise, with `failed` naming the first "
    "check that failed and `checks` saying what is wrong (use it as a readiness probe). Never creates anything.",
    responses={503: {"model": Health, "description": "A readiness check failed."}},
)
def get_health(request: Request, session: SessionDep) -> Any:
    checks: dict[str, str] = {}
    try:
        readiness(session, request.app.state.database_file, checks)
    except _NotReady as failure:
        for name in ("file", "connection", "schema", "dataset"):
            if name not in checks and (name != "file" or request.app.state.database_file is not None):
                checks[name] = "not checked"
        checks[failure.check] = failure.message
        logger.warning("health check: %s: %s", failure.check, failure.message)
        body = Health(
            status="unavailable",
            database="unreachable" if failure.check == "connection" else "not ready",
            checks=checks,
            failed=failure.check,
        )
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    return Health(status="ok", database="ok", checks=checks)


@router.get(
    "/health/live",
    response_model=Health,
    tags=["service"],
    summary="Liveness check",
    description="`200` whenever the process serves requests, whatever the database's state (use it as a liveness probe).",
)
def get_liveness() -> Health:
    return Health(status="ok", database="not checked")


class EventTypeOut(BaseModel):
    label: str = Field(examples=["Visit"])
    description: str
    plover: str | None = Field(description="PLOVER 2.0 category; null where PLOVER has none.", examples=["CONSULT"])
    cameo: str = Field(description="CAMEO event code.", examples=["042"])


class VocabulariesOut(BaseModel):
    """Each vocabulary maps a value the API accepts and returns to what it means."""

    event_types: dict[str, EventTypeOut]
    roles: dict[str, str] = Field(description="Participant roles (`role=`).")
    actor_kinds: dict[str, str]
    agreement_kinds: dict[str, str]
    agreement_statuses: dict[str, str]
    milestone_kinds: dict[str, str]
    agreement_party_roles: dict[str, str]


class ProblemTypeOut(BaseModel):
    type: str = Field(examples=["/problems/invalid-parameter"])
    title: str = Field(examples=["Invalid parameter"])
    description: str


@router.get(
    "/v1/vocabularies",
    response_model=VocabulariesOut,
    tags=["service"],
    summary="Controlled vocabularies",
    description="Event types (with their PLOVER category and CAMEO code), participant roles, actor kinds, "
    "agreement kinds, statuses and milestone kinds: the values the filters accept.",
)
def get_vocabularies() -> VocabulariesOut:
    return VocabulariesOut(
        event_types={
            key: EventTypeOut(label=t.label, description=t.description, plover=t.plover, cameo=t.cameo)
            for key, t in vocab.EVENT_TYPES.items()
        },
        roles=vocab.ROLES,
        actor_kinds=vocab.ACTOR_KINDS,
        agreement_kinds=vocab.AGREEMENT_KINDS,
        agreement_statuses=vocab.AGREEMENT_STATUSES,
        milestone_kinds=vocab.MILESTONE_KINDS,
        agreement_party_roles=vocab.AGREEMENT_PARTY_ROLES,
    )


@router.get(
    "/problems/{slug}",
    response_model=ProblemTypeOut,
    tags=["service"],
    summary="Explain a problem type",
    description="The `type` of every error response points here.",
    responses=problem_responses(404),
)
def get_problem_type(
    slug: Annotated[str, Path(description="Problem type slug.", examples=["invalid-parameter"])],
) -> ProblemTypeOut:
    if slug not in PROBLEM_TYPES:
        raise ProblemError(404, "not-found", f"no problem type {slug!r}")
    title, explanation = PROBLEM_TYPES[slug]
    return ProblemTypeOut(type=f"/problems/{slug}", title=title, description=explanation)


class MetaOut(BaseModel):
    dataset_version: str = Field(description="Changes whenever the data changes.", examples=["3f9a1c0d2b7e4a51"])
    last_modified: str | None = Field(
        description="When the data last changed (UTC).", examples=["2026-11-28T03:40:00+00:00"]
    )
    counts: dict[str, int] = Field(
        description="Records per resource.", examples=[{"events": 33, "visits": 8, "actors": 33}]
    )
    date_range: dict[str, str | None] = Field(
        description="Earliest and latest day any event may denote.",
        examples=[{"start": "2018-01-01", "end": "2021-01-07"}],
    )


@router.get(
    "/v1/meta",
    response_model=MetaOut,
    tags=["service"],
    summary="Dataset version, counts and date range",
    description="What the API currently serves: the dataset version (also in the `X-Dataset-Version` header of "
    "every response), record counts and the period the events cover.",
)
def get_meta(snapshot: SnapshotDep) -> MetaOut:
    session, version, updated = snapshot.session, snapshot.version, snapshot.updated
    counts = {
        name: session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in (
            ("events", m.Event),
            ("actors", m.Actor),
            ("offices", m.Office),
            ("agreements", m.Agreement),
            ("citations", m.Citation),
            ("topics", m.Topic),
            ("sources", m.SourceDocument),
        )
    }
    counts["visits"] = session.scalar(select(func.count()).where(*VISITS.where)) or 0
    first, last = session.execute(select(func.min(m.Event.date_start), func.max(m.Event.date_end))).one()
    return MetaOut(
        dataset_version=version,
        last_modified=None if version == EMPTY_VERSION else updated.isoformat(),
        counts=counts,
        date_range={"start": first.isoformat() if first else None, "end": last.isoformat() if last else None},
    )


class CiteOut(BaseModel):
    csl: dict[str, Any] = Field(description="CSL-JSON item (type `dataset`) citing this query of this dataset version.")
    text: str = Field(description="A plain-text citation.")
    query_url: str


@router.get(
    "/v1/cite",
    response_model=CiteOut,
    tags=["service"],
    summary="Cite an event query",
    description="A citation of the dataset query itself: pass the same filters as `/v1/events`. The citation "
    "names the dataset version, so a reader can tell whether the data changed since.",
    responses=problem_responses(400),
)
def cite_query(request: Request, snapshot: SnapshotDep, params: Annotated[EventFilters, Query()]) -> CiteOut:
    session, version, updated = snapshot.session, snapshot.version, snapshot.updated
    total = aggregations.count_matching(session, plan(session, EVENTS, params.model_dump(), Purpose.AGGREGATE))
    url = query_url(request, params, "/v1/events")
    sources = session.scalars(select(m.SourceDocument).order_by(m.SourceDocument.id)).all()
    based_on = "; ".join(f"{s.publisher or ''}, {s.title}".strip(", ") for s in sources)
    today = dt.date.today()
    request.state.etag_salt = today.isoformat()  # the body names the access date: a new tag each day
    title = f"dipevents events query ({total} events)"
    csl = {
        "id": f"dipevents-{version}-{hashlib.sha256(url.encode()).hexdigest()[:8]}",
        "type": "dataset",
        "title": title,
        "publisher": "dipevents",
        "version": version,
        "URL": url,
        "accessed": {"date-parts": [[today.year, today.month, today.day]]},
        "note": f"Derived from: {based_on}" if based_on else "",
    }
    if version != EMPTY_VERSION:
        csl["issued"] = {"date-parts": [[updated.year, updated.month, updated.day]]}
    text = f"dipevents. {title}. Dataset version {version}. {url} (accessed {today.isoformat()})."
    if based_on:
        text += f" Derived from: {based_on}."
    return CiteOut(csl=csl, text=text, query_url=url)
