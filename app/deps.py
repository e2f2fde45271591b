"""FastAPI dependencies: a database session per request, and the list/export responder
that every list endpoint shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, AsyncIterator, Callable, Iterator
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.exports import Export
from app.problems import bad_parameter
from app.queries.listing import Listing, iterate_all, list_page
from app.schemas.common import json_page


async def get_session(request: Request) -> AsyncIterator[Session]:
    # async although the session is synchronous: creating one does no I/O (the connection is checked out
    # by the endpoint's first query, in the endpoint's worker thread), and FastAPI runs a sync generator
    # dependency's setup and teardown as two extra thread-pool hops per request (~1 ms together, measured).
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()  # returns the connection to the pool: no round trip for SQLite, one rollback for PostgreSQL


SessionDep = Annotated[Session, Depends(get_session)]

# Parameters that select a page or a representation rather than the set of records.
NOT_PART_OF_QUERY = {"cursor", "limit", "format"}


def query_url(request: Request, params: BaseModel) -> str:
    """A stable URL for the query: only the filters that were set, in a canonical order."""
    values = params.model_dump(exclude_defaults=True, exclude=NOT_PART_OF_QUERY)
    pairs = sorted((k, v) for k, value in values.items() for v in (value if isinstance(value, list) else [value]))
    base = str(request.base_url).rstrip("/") + request.url.path
    return base + ("?" + urlencode(pairs) if pairs else "")


def negotiate(request: Request, requested: str | None, formats: dict[str, Export]) -> str:
    """`format=` wins; otherwise the first export media type the Accept header names; otherwise JSON."""
    if requested:
        return requested
    accept = request.headers.get("accept", "")
    for name, export in formats.items():
        if export.media_type.split(";")[0] in accept:
            return name
    return "json"


@dataclass
class Lister:
    session: Session
    request: Request
    response: Response

    def page(self, listing: Listing[Any], params: BaseModel, serialize: Callable[[Any], BaseModel] | None = None) -> Response:
        """``serialize`` turns ORM records into models; listings with `documents` need none."""
        page = list_page(self.session, listing, params.model_dump())
        if page.next_cursor:
            next_url = self.request.url.include_query_params(cursor=page.next_cursor)
            self.response.headers["Link"] = f'<{next_url}>; rel="next"'
        response = json_page(
            [serialize(item) for item in page.items] if serialize else page.items,
            next_cursor=page.next_cursor,
            total=page.total,
            total_exact=page.total_exact,
            dataset_version=getattr(self.request.state, "dataset_version", None),
            query_url=query_url(self.request, params),
        )
        response.headers.update(self.response.headers)
        return response

    def respond(
        self,
        listing: Listing[Any],
        params: BaseModel,
        serialize: Callable[[Any], BaseModel] | None = None,
        *,
        formats: dict[str, Export],
    ) -> Any:
        """A JSON page, or a streamed export when `format=` or `Accept` asks for one."""
        name = negotiate(self.request, getattr(params, "format", None), formats)
        if name == "json":
            return self.page(listing, params, serialize)
        return self.export(listing, params, name, formats)

    def export(
        self,
        listing: Listing[Any],
        params: BaseModel,
        name: str,
        formats: dict[str, Export],
    ) -> StreamingResponse:
        if name not in formats:
            raise bad_parameter("format", f"{name!r} is not available here; choose one of json, {', '.join(formats)}")
        export = formats[name]
        # A session of its own: the stream outlives the request-scoped one.
        session = self.request.app.state.sessions()
        try:
            rows = iterate_all(session, listing, params.model_dump(), columns=export.columns)
        except Exception:
            session.close()
            raise

        def body() -> Iterator[str]:
            try:
                yield from export.write(rows)
            finally:
                session.close()

        extension = {"csl-json": "json", "bibtex": "bib"}.get(name, name)
        filename = f"{listing.name}s.{extension}"
        return StreamingResponse(
            body(), media_type=export.media_type, headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )


def get_lister(request: Request, response: Response, session: SessionDep) -> Lister:
    return Lister(session, request, response)


ListerDep = Annotated[Lister, Depends(get_lister)]
