"""The ASGI application factory: `uvicorn app.main:create_app --factory` (`dipevents serve` runs exactly that).

Importing this module builds nothing: no app, no engine, no folder. `create_app()` does, when a server calls it.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.curation.body_limit import BodyLimitMiddleware
from app.db import make_engine, session_factory, sqlite_file
from app.deps import CursorSigning
from app.docs import install_docs, install_explorer
from app.exports import format_options
from app.exports.citations import CITATION_EXPORTS
from app.exports.events import EXPORTS
from app.exports.visits import VISIT_EXPORTS
from app.guards import ProblemCORSMiddleware
from app.logs import REQUEST_ID_HEADER, RequestLogMiddleware, configure_logging
from app.middleware import EdgeMiddleware
from app.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from app.queries.pagination import resign
from app.representation import VERSION_HEADER, RepresentationMiddleware
from app.routers import actors, agreements, curation, events, meta, sources, topics, visits
from app.settings import Settings, get_settings
from app.streaming import RECORD_COUNT_HEADER, ExportSlots

DESCRIPTION = """
**dipevents** serves diplomatic events — visits, meetings, statements, mediation offers, aid decisions —
extracted from foreign-policy briefs, with the actors, agreements, topics and sources behind them.
Every record points to where it is stated (source document, section, paragraph, footnote).

* **Dates are imprecise on purpose**: each carries its EDTF text, the first and last day it may denote, and its
  precision. `start`/`end` filters match any overlap by default (`date_match=within` for containment).
* **Filters**: repeat a parameter to require all values (`actor=imran-khan&actor=donald-trump`); separate values
  with commas to accept any (`topic=kashmir-dispute,afghanistan-peace-process`). Unknown ids are an error, not an empty page.
* **Pages**: every list returns `{items, next_cursor, total}`; pass `next_cursor` back as `cursor`.
* **Errors** are RFC 9457 problem documents (`application/problem+json`) naming the offending parameter.
"""

TAGS = [
    {"name": "events", "description": "What happened, when, who took part, and which sources say so."},
    {"name": "actors", "description": "People (with the offices they held), states, government bodies, organisations."},
    {"name": "agreements", "description": "Agreements, programmes, loans and decisions with their status over time."},
    {"name": "citations", "description": "The footnoted sources behind the facts (CSL-JSON compatible)."},
    {"name": "topics", "description": "The curated topic vocabulary (a tree)."},
    {"name": "sources", "description": "The source documents, their sections and their own assessments."},
    {"name": "service", "description": "Health, vocabularies and problem types."},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up and shutdown of a served app (uvicorn, or a `with TestClient(app)` block)."""
    # Everything built at start-up (routes, models, SQLAlchemy's caches) never becomes garbage: move it out of
    # the collector's sight, so full collections triggered by a page's few thousand dicts stay short.
    gc.freeze()
    # AnyIO's default of 40 threads let CPU per request grow with concurrency (bench/README.md): bounded here,
    # in the serving loop (the limiter belongs to it).
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.worker_threads
    yield
    # A process that builds many apps (the test suite) must still be able to collect the ones it is done with.
    gc.unfreeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API: its engine and session factory (on `app.state`), middleware, routers and OpenAPI document.

    `settings` defaults to the environment (`app.settings.get_settings`). The engine connects lazily, so building
    the app opens no connection, and it never creates a database: a missing SQLite file stays missing (a 503 and
    a failing `/health`) until `dipevents migrate`, `load` or `serve` creates it.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="dipevents",
        version="0.1.0",
        summary="Structured, sourced diplomatic events.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # app.docs serves both pages without a CDN
        redoc_url=None,
    )
    engine = make_engine(
        settings.database_url,
        query_timeout_ms=settings.query_timeout_ms,
        create=False,
        pool_timeout_s=settings.pool_timeout_s,
        idle_in_transaction_ms=round(settings.idle_in_transaction_timeout_s * 1000),
    )
    app.state.settings = settings
    app.state.export_slots = ExportSlots(settings.export_concurrency, settings.export_per_client)
    secret = settings.cursor_secret.get_secret_value() if settings.cursor_secret else None
    app.state.cursor_signing = CursorSigning(secret)
    # `/v1/events/` would be redirected to a Location built from the client's Host header: a 404 instead.
    app.router.redirect_slashes = False
    app.state.engine = engine
    app.state.database_file = sqlite_file(settings.database_url)
    app.state.sessions = session_factory(engine)
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(EdgeMiddleware, settings=settings)
    # Added last = outermost: compress, then answer CORS before anything else runs.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1)
    app.add_middleware(RepresentationMiddleware)  # outside gzip: sees the coding actually sent
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],
        # Browser code can read only the headers listed here.
        expose_headers=[
            "ETag",
            "Last-Modified",
            "Link",
            "Retry-After",
            "Vary",
            VERSION_HEADER,
            "Content-Disposition",
            RECORD_COUNT_HEADER,
            REQUEST_ID_HEADER,
        ],
        max_age=600,
    )
    app.add_middleware(RequestLogMiddleware)  # outermost: every response, CORS preflights included, gets the id
    for module in (events, visits, actors, agreements, sources, topics, meta, curation):
        app.include_router(module.router)
    install_docs(app)
    install_explorer(app)
    app.openapi = lambda: document_guards(app)  # type: ignore[method-assign]
    return app


def operation_id(route: APIRoute) -> str:
    """Short, stable operation ids for generated clients: the endpoint's name in camelCase
    (`list_events` -> `listEvents`)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _cursor_key(app: FastAPI) -> bytes | None:
    """The deployment's cursor key for the document's examples, or None when the database cannot say (the
    examples then keep the placeholder signature, and the document is still served)."""
    try:
        with app.state.sessions() as session:
            key: bytes = app.state.cursor_signing.key(session)
            return key
    except Exception:  # no database, not migrated: a document without working cursor examples beats none
        return None


def document_guards(app: FastAPI) -> dict[str, Any]:
    """Add the responses every operation can give because of the guards, and drop FastAPI's
    default 422 (this API answers invalid input with 400 problem documents)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    cursor_key = _cursor_key(app)
    retry_after = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}
    validators = {
        name: {"description": text, "schema": {"type": "string"}}
        for name, text in (
            ("ETag", "Validator of this representation (dataset version, URL, media type, coding)."),
            ("Last-Modified", "When the data last changed."),
            ("X-Dataset-Version", "The dataset version that answered."),
        )
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "HTTPValidationError" in str(responses.get("422", "")):
                responses.pop("422")  # FastAPI's default; record writes document their own (RecordProblem)
            parameters = operation.get("parameters", [])
            if any(other.startswith(path + "/export.") for other in schema["paths"]):
                # Generated clients take the export operations (`…/export.csv`, one media type each); `format=`
                # and Accept on the list stay for curl and browsers (README), undocumented here so a client
                # never asks a JSON call for CSV.
                # The same holds for the options of one export format (CSV's `escape_formulas`, `bom`).
                options = format_options(
                    {**EXPORTS, **CITATION_EXPORTS, **{f"visit-{k}": e for k, e in VISIT_EXPORTS.items()}}
                )
                hidden = {"format", *(p.name for p in options)}
                operation["parameters"] = parameters = [p for p in parameters if p["name"] not in hidden]
            for parameter in parameters:
                if parameter["name"] == "cursor" and cursor_key is not None:
                    # A working example: signed with this deployment's key (app.deps.CursorSigning).
                    signed = [resign(example, cursor_key) for example in parameter["schema"].get("examples", [])]
                    parameter["schema"]["examples"] = signed
                # Swagger UI pre-fills "Try it out" from the parameter's own example.
                examples = parameter.get("schema", {}).get("examples")
                if examples and "example" not in parameter:
                    parameter["example"] = examples[0]
            for status, response in responses.items():
                # Problems are sent as application/problem+json: the schema goes under that type, where
                # generated clients look for it (FastAPI puts a response model under application/json).
                if int(status) >= 400 and "Problem" in str(response.get("content", "")):
                    # The schema FastAPI put under application/json (Problem, or RecordProblem for record writes).
                    documented = response["content"].get("application/json", {}).get("schema")
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": documented}} if documented else problem
            if path.startswith("/v1/") and method == "get":
                responses["200"].setdefault("headers", {}).update(validators)
                if "404" in responses and "/history" not in path:  # a record's URL (app.curation.answers)
                    responses["301"] = {
                        "description": "The record was renamed: `Location` is its URL now.",
                        "headers": {"Location": {"description": "The record's URL.", "schema": {"type": "string"}}},
                        "content": problem,
                    }
                    responses["410"] = {"description": "The record was deleted.", "content": problem}
                responses["304"] = {"description": "Not modified: the copy named by If-None-Match is current."}
            if path not in ("/health", "/health/live", "/v1/vocabularies", "/problems/{slug}"):  # no database
                responses["503"] = {
                    "description": "Database unavailable or query time cap exceeded (see `Retry-After`).",
                    "headers": retry_after,
                    "content": problem,
                }
            if "/export." in path:
                responses["406"] = {"description": "Accept rules out this operation's media type.", "content": problem}
                responses["200"]["headers"][RECORD_COUNT_HEADER] = {
                    "description": "How many records the export holds, sent before the body: a saved export with "
                    "fewer was cut short (the transfer also ends without its final chunk; see README, Failure "
                    "behaviour). GeoJSON: the matching events, of which those without a known place are left out.",
                    "schema": {"type": "integer", "minimum": 0},
                }
                responses["429"] = {
                    "description": "Rate limit for exports and aggregations exceeded, or this client already has "
                    "its limit of exports streaming (see `Retry-After`).",
                    "headers": retry_after,
                    "content": problem,
                }
                responses["503"]["description"] = (
                    "Database unavailable, query time cap exceeded, or the server is streaming its limit of "
                    "exports (see `Retry-After`)."
                )
            # Every operation: a malformed query (NUL, a parameter given twice, an unknown one) and the size cap.
            responses.setdefault("400", {"description": "Invalid parameter.", "content": problem})
            responses["414"] = {"description": "Query string too long.", "content": problem}
            expensive = path.endswith(("/facets", "/timeline", "/network", "/cite")) or "/export." in path
            if expensive and "429" not in responses:
                responses["429"] = {
                    "description": "Rate limit for exports and aggregations exceeded (see `Retry-After`).",
                    "headers": retry_after,
                    "content": problem,
                }
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    app.openapi_schema = schema
    return schema
