"""RFC 9457 problem documents: every 4xx/5xx the API returns is one of these."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.logs import REQUEST_ID_HEADER, current_request_id, mark_logged

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
# The detail of the HTTPException FastAPI raises for a body json.loads cannot read for a reason other than syntax.
_FASTAPI_BODY_ERROR = "There was an error parsing the body"

# slug -> (title, explanation). The `type` URI of a problem is /problems/<slug>.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "invalid-parameter": ("Invalid parameter", "A query parameter is malformed, out of range or not recognised."),
    "unknown-reference": (
        "Unknown reference",
        "A filter names an id (actor, topic, type, source…) that does not exist; check the spelling "
        "against the corresponding list endpoint.",
    ),
    "invalid-cursor": (
        "Invalid cursor",
        "The cursor was not issued by this API for this query; start again without it.",
    ),
    "not-found": ("Not found", "No resource has this id, or no route has this path."),
    "method-not-allowed": ("Method not allowed", "The resource exists but does not support this HTTP method."),
    "http-error": ("HTTP error", "The request could not be served as sent."),
    "request-too-large": ("Request too large", "The query string (or body) exceeds the documented limit."),
    "not-acceptable": (
        "Not acceptable",
        "None of the media types the Accept header allows is available; the detail lists those that are.",
    ),
    "rate-limited": (
        "Rate limited",
        "Too many expensive requests (exports, aggregations); wait `Retry-After` seconds.",
    ),
    "too-many-exports": (
        "Too many exports",
        "This client already has its limit of exports streaming; finish reading one, then retry after "
        "`Retry-After` seconds.",
    ),
    "exports-busy": (
        "Exports busy",
        "The server is streaming its limit of exports at once; retry after `Retry-After` seconds.",
    ),
    "database-unavailable": (
        "Database unavailable",
        "The database cannot be reached; retry after `Retry-After` seconds.",
    ),
    "query-timeout": ("Query took too long", "The query exceeded the time cap; narrow the filters or retry later."),
    "internal-error": ("Internal error", "The server failed; the failure was logged. Please report it."),
    "moved": ("Moved", "The record was renamed; `Location` names its current URL (its old id keeps working)."),
    "gone": (
        "Gone",
        "The record was deleted; its history stays readable, and a `Link` with rel=successor-version names the "
        "record that replaces it, when the curator named one.",
    ),
    "unauthorized": (
        "Unauthorized",
        "Writes need an API key (`dipevents keys create`), sent as `Authorization: Bearer <key>`; this one is missing, "
        "unknown or revoked.",
    ),
    "forbidden": ("Forbidden", "The API key lacks the scope this operation needs (`write`, or `admin` for bundles)."),
    "precondition-required": (
        "Precondition required",
        "A write must send `If-Match` with the record's ETag (from a GET of the record), or `*`.",
    ),
    "precondition-failed": (
        "Precondition failed",
        "The record changed since the ETag sent in `If-Match`; GET it again, reapply the edit and retry.",
    ),
    "invalid-body": (
        "Invalid body",
        "The request body is not a JSON document this operation can read: malformed, empty or nested too deeply "
        "(`errors` names `body`).",
    ),
    "invalid-record": ("Invalid record", "The record does not validate; `errors` names each field and what is wrong."),
    "conflict": (
        "Conflict",
        "The write clashes with the data: the id is taken, or other records still point at the one being deleted.",
    ),
    "unsupported-media-type": (
        "Unsupported media type",
        "Send `application/json` (or `application/merge-patch+json` for PATCH).",
    ),
}


class ParameterError(BaseModel):
    parameter: str = Field(description="Name of the offending query parameter (or body field).")
    detail: str = Field(description="What is wrong with it.")


class FieldError(BaseModel):
    field: str = Field(
        description="The offending field, as a dotted path into the record (`participants.0.actor`).",
        examples=["participants.0.actor"],
    )
    detail: str = Field(description="What is wrong with it.", examples=["unknown actor 'no-such-actor'"])


class Problem(BaseModel):
    """An RFC 9457 problem document. Every member is always present (null where it has no value)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    type: str = Field(description="URI identifying the problem type.", examples=["/problems/invalid-parameter"])
    title: str = Field(description="Short summary of the problem type.", examples=["Invalid parameter"])
    status: int = Field(description="HTTP status code.", examples=[400])
    detail: str = Field(
        description="Explanation of this occurrence.", examples=["start: '2019-13-01' is not a valid EDTF date"]
    )
    instance: str = Field(description="The request path.", examples=["/v1/events"])
    parameter: str | None = Field(
        default=None, description="The offending parameter, when there is one.", examples=["start"]
    )
    errors: list[ParameterError] = Field(
        default_factory=list, description="Every problem found, when there are several."
    )
    request_id: str | None = Field(
        default=None,
        description="This request's id, as in the `X-Request-ID` header: quote it when reporting a problem.",
        examples=["4f9c1e0b2a6d4b8e9f3a7c5d1e2b0a9c"],
    )


class RecordProblem(BaseModel):
    """A problem with a written record (409, 422): like every problem document, with ``errors`` naming fields."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    type: str = Field(description="URI identifying the problem type.", examples=["/problems/invalid-record"])
    title: str = Field(description="Short summary of the problem type.", examples=["Invalid record"])
    status: int = Field(description="HTTP status code.", examples=[422])
    detail: str = Field(description="Explanation of this occurrence.", examples=["participants.0.actor: unknown actor"])
    instance: str = Field(description="The request path.", examples=["/v1/events"])
    parameter: str | None = Field(default=None, description="Always null for record problems.")
    errors: list[FieldError] = Field(default_factory=list, description="Every problem found, one per field.")
    request_id: str | None = Field(default=None, description="This request's id, as in the `X-Request-ID` header.")


class WriteProblem(BaseModel):
    """A 400 of a write with a body: a body problem (``errors[].field``, `body` for the whole: malformed, empty or
    nested too deeply) or a query parameter or header problem (``parameter`` and ``errors[].parameter``)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    type: str = Field(description="URI identifying the problem type.", examples=["/problems/invalid-body"])
    title: str = Field(description="Short summary of the problem type.", examples=["Invalid body"])
    status: int = Field(description="HTTP status code.", examples=[400])
    detail: str = Field(description="Explanation of this occurrence.", examples=["body: not valid JSON"])
    instance: str = Field(description="The request path.", examples=["/v1/events"])
    parameter: str | None = Field(
        default=None, description="The offending query parameter or header; null for a body problem."
    )
    errors: list[FieldError | ParameterError] = Field(default_factory=list, description="Every problem found.")
    request_id: str | None = Field(default=None, description="This request's id, as in the `X-Request-ID` header.")


class ProblemError(Exception):
    """Raised anywhere while serving a request; answered with a problem document (``errors``: every
    problem found, when several parameters are wrong at once)."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        parameter: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        successor: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.headers = headers or {}
        # (old id, new id): the request's URL with that path segment replaced goes in `Location` (301, 308) or in
        # a successor-version `Link` (410).
        self.successor = successor
        self.status = status
        self.kind = kind
        self.detail = detail
        self.parameter = parameter
        self.errors = errors

    @classmethod
    def combined(cls, problems: list[ProblemError]) -> ProblemError:
        """One 400 naming every parameter of ``problems`` (the first one's kind and parameter lead)."""
        if len(problems) == 1:
            return problems[0]
        errors = [{"parameter": p.parameter or "request", "detail": p.detail} for p in problems]
        detail = "; ".join(f"{e['parameter']}: {e['detail']}" for e in errors)
        return cls(400, problems[0].kind, detail, problems[0].parameter, errors)


class RequestDeadlineExceeded(Exception):
    """Raised before a statement when the request has spent its whole query time budget
    (app.guards.install_query_timeout); answered like a statement that hit the cap."""


def bad_parameter(parameter: str, detail: str, kind: str = "invalid-parameter") -> ProblemError:
    return ProblemError(400, kind, detail, parameter)


def problem_response(
    request: Request,
    status: int,
    kind: str,
    detail: str,
    parameter: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> JSONResponse:
    title = PROBLEM_TYPES.get(kind, PROBLEM_TYPES["http-error"])[0]
    body: dict[str, Any] = {
        "type": f"/problems/{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "parameter": parameter,
    }
    body["errors"] = errors or ([{"parameter": parameter, "detail": detail}] if parameter else [])
    if parameter is not None and not errors:
        body["detail"] = f"{parameter}: {detail}"
    request_id = current_request_id()
    body["request_id"] = request_id
    if request_id is None:
        return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)
    # Set here too: the 500 document is sent from outside the middleware that adds the header to the others.
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers={REQUEST_ID_HEADER: request_id}
    )


def _location_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "header")]
    return parts[0] if parts else "request"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        response = problem_response(request, exc.status, exc.kind, exc.detail, exc.parameter, exc.errors)
        response.headers.update(exc.headers)
        if exc.successor is not None:
            old, new = exc.successor
            segments = request.url.path.split("/")
            where = "/".join(new if segment == old else segment for segment in segments)
            where += f"?{request.url.query}" if request.url.query else ""
            if exc.status == 410:
                response.headers["Link"] = f'<{where}>; rel="successor-version"'
            else:
                response.headers["Location"] = where
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        body_errors = [e for e in exc.errors() if tuple(e.get("loc", ()))[:1] == ("body",)]
        if body_errors:
            return _record_problem(request, body_errors)
        errors = []
        for error in exc.errors():
            name = _location_name(tuple(error.get("loc", ())))
            message = error.get("msg", "invalid")
            if error.get("type") == "extra_forbidden":
                message = "unknown parameter; see /docs for the parameters this endpoint accepts"
            errors.append({"parameter": name, "detail": message})
        first = errors[0] if errors else {"parameter": "request", "detail": "invalid request"}
        detail = "; ".join(f"{e['parameter']}: {e['detail']}" for e in errors) or first["detail"]
        return problem_response(request, 400, "invalid-parameter", detail, first["parameter"], errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:
            # FastAPI's answer when json.loads raises anything but a syntax error (RecursionError: nested too deeply).
            deep = isinstance(exc.__cause__, RecursionError)
            return unreadable_body(request, "nested too deeply" if deep else "not a JSON document this API can read")
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else PROBLEM_TYPES[kind][1]
        response = problem_response(request, exc.status_code, kind, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        allow = [m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()]
        if "GET" in allow and "HEAD" not in allow:  # every GET route answers HEAD (app.representation)
            response.headers["Allow"] = ", ".join([*allow, "HEAD"])
        return response

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(RequestDeadlineExceeded)
    async def _database(request: Request, exc: DBAPIError | PoolTimeout | RequestDeadlineExceeded) -> JSONResponse:
        kind = database_fault(exc)
        if kind is None:  # the statement itself failed (a bug): a 500 with its traceback in the log
            return await _unexpected(request, exc)
        # No traceback: in an outage every request fails the same way, and the cause says it in one line.
        cause = _cause(exc)
        logger.warning("503 %s in %s: %s", kind, _route(request), cause, extra={"problem": kind, "cause": cause})
        response = problem_response(request, 503, kind, PROBLEM_TYPES[kind][1])
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        interrupted = _export_interruption(exc)
        if interrupted is not None:  # the client has a 200 and a cut transfer; this response is never sent
            logger.warning("%s in %s", interrupted, _route(request), extra={"problem": "export-interrupted"})
            mark_logged(exc)
            return problem_response(request, 500, "internal-error", PROBLEM_TYPES["internal-error"][1])
        # Never leak stack traces or SQL in the response; the log gets them, with the request id.
        logger.error(
            "500 %s in %s", type(exc).__name__, _route(request), exc_info=exc, extra={"problem": "internal-error"}
        )
        mark_logged(exc)
        return problem_response(request, 500, "internal-error", PROBLEM_TYPES["internal-error"][1])


def _export_interruption(exc: BaseException) -> str | None:
    """The message of an app.streaming.ExportInterrupted among ``exc`` and its causes (Starlette re-raises a
    handled exception after the response started as a RuntimeError caused by it), else None."""
    from app.streaming import ExportInterrupted  # app.streaming imports this module

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ExportInterrupted):
            return str(seen)
        seen = seen.__cause__
    return None


def body_problem(request: Request, status: int, kind: str, fields: list[dict[str, str]]) -> JSONResponse:
    """The one shape of every problem with a request body (RecordProblem): `errors: [{field, detail}]`, `field` the
    path into the body (`participants.0.actor`) or `body` for the whole, `parameter` null."""
    detail = "; ".join(f"{f['field']}: {f['detail']}" for f in fields)
    return problem_response(request, status, kind, detail, None, fields)


def unreadable_body(request: Request, detail: str, status: int = 400, kind: str = "invalid-body") -> JSONResponse:
    """A body that cannot be read at all (malformed, empty, nested too deeply; 413: too large), naming `body`."""
    return body_problem(request, status, kind, [{"field": "body", "detail": detail}])


def _record_problem(request: Request, errors: list[Any]) -> JSONResponse:
    """A request body that is not JSON or is empty (400), or not a valid record (422), with each field named."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return unreadable_body(request, "not valid JSON")
    if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") == "missing" for e in errors):
        return unreadable_body(request, "empty; send a JSON document")
    fields = [
        {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "body", "detail": e.get("msg", "invalid")}
        for e in errors
    ]
    return body_problem(request, 422, "invalid-record", fields)


def _route(request: Request) -> str:
    # The route's template, not the path as sent: it names the endpoint and carries no client text.
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '(no route)')}"


def _cause(exc: Exception) -> str:
    """The driver's error (or SQLAlchemy's, for a pool timeout) on one line."""
    cause = getattr(exc, "orig", None) or exc
    message = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {message[0][:300] if message else ''}"


# PostgreSQL SQLSTATEs (or classes, two characters) that mean the database, not the statement, failed:
# connection exceptions, shutdown and restart, too many connections / out of memory / disk full,
# serialization failures, deadlocks and lock timeouts (retrying helps), system I/O errors.
_PG_OUTAGE = ("08", "53", "57P01", "57P02", "57P03", "57P04", "57P05", "40001", "40P01", "55P03", "58", "25P03")
# SQLite result codes (primary names) that mean the same: busy or locked past busy_timeout, the file cannot be
# opened, read or written (deleted, moved, full, not a database any more), out of memory.
_SQLITE_OUTAGE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_NOMEM",
    "SQLITE_READONLY",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_PROTOCOL",
)
_SQLITE_OUTAGE_TEXT = ("database is locked", "unable to open", "disk i/o", "is full", "not a database", "malformed")


def database_fault(exc: Exception) -> str | None:
    """What a database exception means for the client: "query-timeout" (a time cap fired),
    "database-unavailable" (the database is down, unreachable, overloaded or locked: retrying later
    helps), or None when the statement itself failed (too many terms, a missing table, a program limit):
    that is a bug or a broken deployment, reported as a 500 and logged with its traceback, never
    disguised as an outage."""
    if isinstance(exc, RequestDeadlineExceeded):
        return "query-timeout"
    if isinstance(exc, PoolTimeout):
        return "database-unavailable"
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    message = str(orig).lower()
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    error_name = getattr(orig, "sqlite_errorname", None)  # sqlite3 (Python 3.11+)
    if sqlstate == "57014" or error_name == "SQLITE_INTERRUPT" or (error_name is None and "interrupted" in message):
        return "query-timeout"
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return "database-unavailable"
    if not isinstance(exc, OperationalError):
        return None
    if sqlstate is not None:
        return "database-unavailable" if sqlstate.startswith(_PG_OUTAGE) else None
    if error_name is not None:
        return "database-unavailable" if error_name.startswith(_SQLITE_OUTAGE) else None
    if type(orig).__module__.startswith("psycopg"):
        return "database-unavailable"  # no SQLSTATE: the client library lost or never had the connection
    return "database-unavailable" if any(text in message for text in _SQLITE_OUTAGE_TEXT) else None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problem shape for these statuses."""
    described = {400: "Invalid parameter, unknown id in a filter or forged cursor.", 404: "No resource with this id."}
    return {
        status: {"model": Problem, "description": described.get(status, "Problem"), "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }
