"""Source documents and the citations (footnotes) they carry."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from app.deps import ListerDep, SnapshotDep
from app.exports.citations import CITATION_EXPORTS
from app.problems import problem_responses
from app.queries.execute import get_one
from app.queries.resources import CITATIONS, SOURCES
from app.representation import ContractRoute
from app.routers.exports import add_export_operations
from app.schemas.common import Page, json_response
from app.schemas.params import CITATION_EXPORT_PARAMS, CitationParams, SourceParams
from app.schemas.sources import CitationOut, SourceOut

router = APIRouter(route_class=ContractRoute)


@router.get(
    "/v1/sources",
    response_model=Page[SourceOut],
    tags=["sources"],
    summary="List source documents",
    description="The documents records are extracted from (policy briefs…), with their sections, the period "
    "they cover, and the judgements they make in their own voice (`assessments`).",
    responses=problem_responses(400),
)
def list_sources(lister: ListerDep, params: Annotated[SourceParams, Query()]) -> Response:
    return lister.page(SOURCES, params, SourceOut.from_row)


@router.get(
    "/v1/sources/{source_id}",
    response_model=SourceOut,
    tags=["sources"],
    summary="Get one source document",
    description="One source document: bibliographic data, sections (the targets of locators) and citations.",
    responses=problem_responses(404),
)
def get_source(
    snapshot: SnapshotDep,
    source_id: Annotated[
        str, Path(description="Source document id.", examples=["ips-pakistan-us-relations-2018-2020"])
    ],
) -> Response:
    return json_response(SourceOut.from_row(get_one(snapshot.session, SOURCES, source_id)))


@router.get(
    "/v1/citations",
    response_model=Page[CitationOut],
    tags=["citations"],
    summary="List citations",
    description="The sources behind the facts, in CSL-JSON terms, each tied to its footnote in a source document. "
    "`format=csl-json|ris|bibtex` (or the matching `Accept` type) streams every match for a reference manager.",
    responses=problem_responses(400),
)
def list_citations(lister: ListerDep, params: Annotated[CitationParams, Query()]) -> Any:
    return lister.respond(CITATIONS, params, CitationOut.from_row, formats=CITATION_EXPORTS)


add_export_operations(
    router,
    "/v1/citations",
    CITATIONS,
    CITATION_EXPORTS,
    CITATION_EXPORT_PARAMS,
    {"csl-json": "CSL-JSON", "ris": "RIS", "bibtex": "BibLaTeX"},
)


@router.get(
    "/v1/citations/{citation_id}",
    response_model=CitationOut,
    tags=["citations"],
    summary="Get one citation",
    description="One citation with its CSL-JSON item. Use `/v1/events?source=…` or the event's `citations` to go the other way.",
    responses=problem_responses(404),
)
def get_citation(
    snapshot: SnapshotDep,
    citation_id: Annotated[
        str, Path(description="Citation id.", examples=["reuters-2018-01-05-us-suspends-security-aid"])
    ],
) -> Response:
    return json_response(CitationOut.from_row(get_one(snapshot.session, CITATIONS, citation_id)))
