"""Source documents and the citations (footnotes) they carry."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.deps import SessionDep
from app.problems import problem_responses
from app.queries.listing import CITATIONS, SOURCES, get_one, list_page
from app.schemas.common import Page, page_of
from app.schemas.params import CitationParams, SourceParams
from app.schemas.sources import CitationOut, SourceOut

router = APIRouter()


@router.get(
    "/v1/sources",
    response_model=Page[SourceOut],
    tags=["sources"],
    summary="List source documents",
    description="The documents records are extracted from (policy briefs…), with their sections, the period "
    "they cover, and the judgements they make in their own voice (`assessments`).",
    responses=problem_responses(400),
)
def list_sources(session: SessionDep, params: Annotated[SourceParams, Query()]) -> dict:
    return page_of(list_page(session, SOURCES, params.model_dump()), SourceOut.from_row)


@router.get(
    "/v1/sources/{source_id}",
    response_model=SourceOut,
    tags=["sources"],
    summary="Get one source document",
    description="One source document: bibliographic data, sections (the targets of locators) and citations.",
    responses=problem_responses(404),
)
def get_source(
    session: SessionDep,
    source_id: Annotated[str, Path(description="Source document id.", examples=["ips-pakistan-us-relations-2018-2020"])],
) -> SourceOut:
    return SourceOut.from_row(get_one(session, SOURCES, source_id))


@router.get(
    "/v1/citations",
    response_model=Page[CitationOut],
    tags=["citations"],
    summary="List citations",
    description="The sources behind the facts, in CSL-JSON terms, each tied to its footnote in a source document.",
    responses=problem_responses(400),
)
def list_citations(session: SessionDep, params: Annotated[CitationParams, Query()]) -> dict:
    return page_of(list_page(session, CITATIONS, params.model_dump()), CitationOut.from_row)


@router.get(
    "/v1/citations/{citation_id}",
    response_model=CitationOut,
    tags=["citations"],
    summary="Get one citation",
    description="One citation with its CSL-JSON item. Use `/v1/events?source=…` or the event's `citations` to go the other way.",
    responses=problem_responses(404),
)
def get_citation(
    session: SessionDep,
    citation_id: Annotated[str, Path(description="Citation id.", examples=["reuters-2018-01-05-us-suspends-security-aid"])],
) -> CitationOut:
    return CitationOut.from_row(get_one(session, CITATIONS, citation_id))
