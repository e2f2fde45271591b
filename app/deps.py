"""Typed dependencies of the routes: the request's database snapshot, and the list/export responder
that every list endpoint shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.exports import Export, ExportContext, require_options_apply
from app.guards import client_key
from app.http_cache import read_version
from app.models import ServiceSecret
from app.negotiation import negotiate
from app.problems import bad_parameter
from app.queries.execute import iterate_all, list_page, plan_export
from app.queries.resources import NOT_PART_OF_QUERY, Resource
from app.representation import after_endpoint
from app.schemas.common import json_page
from app.streaming import ExportResponse

# `Session.info` key of a session that an export took over (app.streaming.ExportResponse closes it).
STREAMING = "dipevents.streaming"


async def get_session(request: Request) -> Session:
    """A session for the request, closed as soon as the endpoint has returned, before the response is sent: a
    client reading slowly holds no database connection. An export, which reads while it sends, takes the
    session over (``Session.info[STREAMING]``) and closes it when its stream ends (app.streaming)."""
    # async although the session is synchronous: creating one does no I/O (the connection is checked out
    # by the first query, in the endpoint's worker thread). Not a yield dependency: the route class closes it
    # (app.representation.after_endpoint), which costs less per request than FastAPI's exit stacks.
    session: Session = request.app.state.sessions()

    def close() -> None:
        if not session.info.get(STREAMING):
            session.close()  # ends the read transaction and returns the connection to the pool

    after_endpoint(request, close)
    return session


SessionDep = Annotated[Session, Depends(get_session)]


CURSOR_SIGNING = "cursor-signing"  # app.models.ServiceSecret name


class CursorSigning:
    """The key pagination cursors are signed with: ``secret`` (the CURSOR_SECRET setting) when set, else the
    key the migrations generated and stored in the database (app.models.ServiceSecret), so that every process
    serving one database accepts the others' cursors. Read once per process, through the request's session."""

    def __init__(self, secret: str | None) -> None:
        self._key = secret.encode() if secret else None

    def key(self, session: Session) -> bytes:
        """The key as bytes. Raises RuntimeError when the database has none (not migrated: /health says so)."""
        if self._key is None:
            stored = session.scalar(select(ServiceSecret.value).where(ServiceSecret.name == CURSOR_SIGNING))
            if stored is None:
                raise RuntimeError("no cursor signing key in the database; run `dipevents migrate`")
            self._key = stored.encode()
        return self._key


class Snapshot:
    """The request's consistent view of the data: ``session`` in a transaction that began by reading
    the dataset ``version`` (so every statement after sees that version's data, on SQLite and
    PostgreSQL alike), and when that version was written (``updated``, UTC).

    Opened lazily, by the first use of any of the three, in the thread that runs the endpoint: building
    it does no I/O, so a request makes one thread-pool hop (its endpoint's), not two. Opening puts the
    version on `request.state`, where the route class (app.representation.ContractRoute) finds it to add
    the validators to a successful response and to decide a conditional request; every endpoint that
    takes a snapshot reads through its session, so a successful response always has opened it."""

    __slots__ = ("_request", "_session", "_version")

    def __init__(self, session: Session, request: Request) -> None:
        self._session = session
        self._request = request
        self._version: tuple[str, dt.datetime] | None = None

    def _open(self) -> tuple[str, dt.datetime]:
        if self._version is None:
            self._version = read_version(self._session)
            self._request.state.snapshot_version = self._version
        return self._version

    @property
    def session(self) -> Session:
        self._open()
        return self._session

    @property
    def version(self) -> str:
        return self._open()[0]

    @property
    def updated(self) -> dt.datetime:
        return self._open()[1]


async def snapshot(request: Request, session: SessionDep) -> Snapshot:
    # async: no I/O here (see Snapshot), so no thread-pool hop of its own.
    return Snapshot(session, request)


SnapshotDep = Annotated[Snapshot, Depends(snapshot)]


def public_base(request: Request) -> str:
    """Where the API is reached, for every absolute URL it writes (`query_url`, `Link`, citations):
    `PUBLIC_BASE_URL` (scheme, host and any path prefix), or when unset the address of the socket that
    accepted the connection plus the ASGI root path — never the Host header a client sent, so a forged
    Host cannot enter a link or a citation."""
    settings = request.app.state.settings
    if settings.public_base_url:
        return str(settings.public_base_url).rstrip("/")
    host, port = request.scope.get("server") or (settings.host, settings.port)
    host = f"[{host}]" if ":" in str(host) else host
    authority = host if port in (80, None) else f"{host}:{port}"
    root_path: str = request.scope.get("root_path", "")
    return f"http://{authority}" + root_path.rstrip("/")


def app_path(request: Request) -> str:
    """The request's path inside the app (without the root path a proxy mounts it under)."""
    path, root = request.url.path, request.scope.get("root_path", "").rstrip("/")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def query_url(request: Request, params: BaseModel, path: str | None = None) -> str:
    """A stable URL for the query: only the filters that were set, in a canonical order, on ``path``
    (an app path; default: the request's)."""
    values = params.model_dump(exclude_defaults=True, exclude=set(NOT_PART_OF_QUERY))
    pairs = sorted((k, v) for k, value in values.items() for v in (value if isinstance(value, list) else [value]))
    base = public_base(request) + (path or app_path(request))
    return base + ("?" + urlencode(pairs) if pairs else "")


@dataclass
class Lister:
    """Answers a list request from the request's snapshot: a JSON page, or a streamed export."""

    snapshot: Snapshot
    request: Request
    response: Response

    def page(
        self, resource: Resource, params: BaseModel, serialize: Callable[[Any], BaseModel] | None = None
    ) -> Response:
        """One JSON page; ``serialize`` turns ORM records into models (resources with `documents` need none)."""
        session = self.snapshot.session
        page = list_page(session, resource, params.model_dump(), self.request.app.state.cursor_signing.key(session))
        if page.next_cursor:
            here = self.request.url.include_query_params(cursor=page.next_cursor)
            next_url = public_base(self.request) + app_path(self.request) + "?" + here.query
            self.response.headers["Link"] = f'<{next_url}>; rel="next"'
        response = json_page(
            [serialize(item) for item in page.items] if serialize else page.items,
            next_cursor=page.next_cursor,
            total=page.total,
            total_exact=page.total_exact,
            dataset_version=self.snapshot.version,
            query_url=query_url(self.request, params),
            snippets=page.snippets,
        )
        response.headers.update(self.response.headers)
        return response

    def respond(
        self,
        resource: Resource,
        params: BaseModel,
        serialize: Callable[[Any], BaseModel] | None = None,
        *,
        formats: dict[str, Export],
    ) -> Any:
        """A JSON page, or a streamed export when `format=` or `Accept` asks for one."""
        requested = getattr(params, "format", None)
        if not requested:
            self.request.state.negotiated = True  # the answer depends on Accept: Vary: Accept
        name = negotiate(self.request.headers.get("accept"), requested, formats)
        require_options_apply(name, formats, set(self.request.query_params.keys()))
        if name == "json":
            return self.page(resource, params, serialize)
        return self.export(resource, params, name, formats)

    def export(self, resource: Resource, params: BaseModel, name: str, formats: dict[str, Export]) -> ExportResponse:
        """Every match, streamed in the export ``name`` from the request's snapshot, which the export takes
        over until its last byte is sent (app.streaming). Raises 400 problems for bad input (`limit` or
        `cursor` among the list's parameters: an export has no pages), 429/503 when the client or the server
        has its limit of exports streaming."""
        if name not in formats:
            raise bad_parameter("format", f"{name!r} is not available here; choose one of json, {', '.join(formats)}")
        for paging in ("limit", "cursor"):  # given at all, even empty or at their defaults: refused, never ignored
            if paging in self.request.query_params:
                raise bad_parameter(paging, f"an export streams every match; {paging} does not apply (omit it)")
        export = formats[name]
        session = self.snapshot.session
        compiled = plan_export(session, resource, params.model_dump())
        # Admitted after validation, so a bad request is a 400 whatever the load, and before any counting or
        # reading, so a refused export costs next to nothing.
        release = self.request.app.state.export_slots.take(client_key(self.request))
        try:
            matches = iterate_all(session, resource, compiled, columns=export.columns)
        except BaseException:
            release()
            raise
        session.info[STREAMING] = True
        context = ExportContext(self.snapshot.updated, params.model_dump())

        def body() -> Iterator[str]:
            yield from export.write(matches.rows, context)
            if export.ending is not None:
                yield export.ending(matches.count)

        def close() -> None:
            release()
            session.close()

        filename = f"{resource.name}s.{export.extension}"
        return ExportResponse(
            body(),
            count=matches.count,
            media_type=export.media_type,
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
            send_timeout_s=self.request.app.state.settings.export_send_timeout_s,
            close=close,
        )


async def get_lister(request: Request, response: Response, snapshot: SnapshotDep) -> Lister:
    # async: no I/O here, so no thread-pool hop.
    return Lister(snapshot, request, response)


ListerDep = Annotated[Lister, Depends(get_lister)]
