"""HTTP semantics decided per route, after the request was routed and validated (RFC 9110).

* :class:`ContractRoute` is the route class of every API router. Around each endpoint it refuses a parameter
  that is not UTF-8, an unknown one and a repeated single-valued one (400), and once the endpoint produced a successful response it adds
  the representation's validators (ETag, Last-Modified, X-Dataset-Version, Cache-Control, Vary) and
  answers a conditional request with 304 — so `If-None-Match: *` can never turn a 400 or a 404 into
  a 304 (§13.2.1).
* :class:`RepresentationMiddleware` answers HEAD as GET without the body (same status and headers), and
  marks the ETag of a gzip-coded body (`"…-gzip"`), so each representation actually sent has its own
  strong validator; preconditions compare tags without that suffix, since a 304 carries no body.

The ETag is ``"<dataset version>-<hash of path, query string and media type>"``: it changes when the data
or the representation does, and not with the spelling of the Accept header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Coroutine
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, get_origin
from urllib.parse import unquote_to_bytes

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.problems import ProblemError

VERSION_HEADER = "X-Dataset-Version"
# Scope key set on the GET copy of a HEAD request, for responses that can skip producing their body
# (app.streaming.ExportResponse reads no rows for a HEAD).
HEAD_REQUEST = "dipevents.head"
GZIP_SUFFIX = "-gzip"


def etag_for(version: str, request: Request, media_type: str) -> str:
    """The strong validator of one representation: dataset version, URL and media type (and what else a
    route says its body depends on, e.g. the citation's access date)."""
    # From the scope, as `request.url` spells them (building that URL object costs more than the hash).
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode("latin-1")
    return etag_of(version, path, query, media_type, getattr(request.state, "etag_salt", ""))


def etag_of(version: str, path: str, query: str, media_type: str, salt: str = "") -> str:
    """:func:`etag_for` from its parts (the write endpoints compute the tag a GET of a record answers with)."""
    variant = f"{path}?{query}|{media_type}|{salt}"
    return f'"{version}-{hashlib.sha256(variant.encode()).hexdigest()[:12]}"'


def _opaque(tag: str) -> str:
    # Weak comparison (If-None-Match, RFC 9110 §13.1.2), and the gzip mark removed: a 304 has no body, so
    # the coding of the client's copy does not matter.
    tag = tag.strip().removeprefix("W/")
    return tag[:-1].removesuffix(GZIP_SUFFIX) + '"' if tag.endswith('"') else tag


def not_modified(request: Request, etag: str, last_modified: dt.datetime) -> bool:
    """Whether the request's preconditions say the client's copy is current (RFC 9110 §13.1.2, §13.1.3:
    If-None-Match takes precedence; If-Modified-Since only for GET/HEAD and a valid HTTP date)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        candidates = {_opaque(tag) for tag in if_none_match.split(",")}
        return "*" in candidates or etag in candidates
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return last_modified <= since
    return False


def _query_parameters(route: APIRoute) -> tuple[frozenset[str], frozenset[str]]:
    """(every query parameter of ``route``, those that take one value), query models' fields included."""
    known, single = set(), set()
    params = [*route.dependant.query_params, *(p for d in route.dependant.dependencies for p in d.query_params)]
    for param in params:
        annotation = param.field_info.annotation
        fields = (
            {n: f.annotation for n, f in annotation.model_fields.items()}
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else {param.name: annotation}
        )
        known |= set(fields)
        single |= {n for n, a in fields.items() if get_origin(a) is not list}
    return frozenset(known), frozenset(single)


# Scope key: what to run once the endpoint has returned, before the response is sent (app.deps.get_session
# closes the request's session there).
_AFTER_ENDPOINT = "dipevents.after_endpoint"


def after_endpoint(request: Request, callback: Callable[[], None]) -> None:
    """Run ``callback`` when the endpoint has returned or raised, before the response is sent (ContractRoute)."""
    request.scope.setdefault(_AFTER_ENDPOINT, []).append(callback)


def _run_after_endpoint(request: Request) -> None:
    callbacks = request.scope.pop(_AFTER_ENDPOINT, ())
    for callback in reversed(callbacks):
        callback()


def finish(request: Request, response: Response) -> Response:
    """Add the validators of a successful response read from the request's snapshot, and turn it into a
    304 when the request's preconditions say the client's copy is current."""
    if not 200 <= response.status_code < 300 or request.method not in ("GET", "HEAD"):
        return response  # writes set their own validators (app.routers.curation)
    media_type = (response.media_type or response.headers.get("content-type", "")).split(";")[0]
    snapshot = getattr(request.state, "snapshot_version", None)
    if snapshot is None:
        return _finish_static(request, response, media_type)
    version, updated = snapshot
    etag = etag_for(version, request, media_type)
    validators = {
        "ETag": etag,
        "Last-Modified": format_datetime(updated, usegmt=True),
        VERSION_HEADER: version,
        "Cache-Control": "public, max-age=0, must-revalidate",
    }
    if getattr(request.state, "negotiated", False):
        validators["Vary"] = "Accept"
    if not_modified(request, etag, updated):
        return Response(status_code=304, headers=validators)
    response.headers.update(validators)
    return response


def _finish_static(request: Request, response: Response, media_type: str) -> Response:
    # Responses that do not read the data (vocabularies, problem types) are validated by their bytes;
    # health checks are never cached.
    body = getattr(response, "body", None)
    if request.url.path.startswith("/health") or not isinstance(body, bytes):
        response.headers["Cache-Control"] = "no-store"
        return response
    etag = '"' + hashlib.sha256(media_type.encode() + b"|" + body).hexdigest()[:16] + '"'
    validators = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate"}
    if request.headers.get("if-none-match") is not None and not_modified(request, etag, dt.datetime.max):
        return Response(status_code=304, headers=validators)
    response.headers.update(validators)
    return response


def not_utf8(query_string: bytes) -> str | None:
    """The name of the first parameter of a raw query string whose name or value, percent-decoded, is not
    UTF-8 (``q=%FF``), as Starlette reads names (undecodable bytes as U+FFFD); None when all are. Starlette
    silently reads such bytes as U+FFFD, which would make `q=%FF` a search for nothing."""
    for pair in query_string.split(b"&"):
        name, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        try:
            name.decode("utf-8")
            value.decode("utf-8")
        except UnicodeDecodeError:
            return name.decode("utf-8", "replace")
    return None


class ContractRoute(APIRoute):
    """The route class of every API router (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # Called by APIRoute.__init__, once its dependant is built.
        known, single_valued = _query_parameters(self)

        async def handle(request: Request) -> Response:
            items = request.query_params.multi_items()
            # Starlette reads undecodable bytes as U+FFFD: only then is the raw query string checked.
            replaced = any("\ufffd" in n or "\ufffd" in v for n, v in items)
            if replaced and (bad := not_utf8(request.scope["query_string"])) is not None:
                raise ProblemError(400, "invalid-parameter", "not valid UTF-8; percent-encode its UTF-8 bytes", bad)
            for name in sorted({name for name, _ in items}):
                if name not in known:  # detail and service routes too, not only the lists' query models
                    raise ProblemError(
                        400, "invalid-parameter", "unknown parameter; see /docs for the parameters this accepts", name
                    )
                if name in single_valued and len(request.query_params.getlist(name)) > 1:
                    raise ProblemError(400, "invalid-parameter", "given more than once; it takes one value", name)
            try:
                response = await handler(request)
            finally:
                _run_after_endpoint(request)
            return finish(request, response)

        return handle


def _gzip_acceptable(accept_encoding: str) -> bool:
    """Whether Accept-Encoding admits gzip, by q-value (RFC 9110 §12.5.3): `gzip;q=0` or a list naming
    neither gzip nor `*` refuses it."""
    qualities: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding:
            qualities[coding.strip()] = quality
    return qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0))) > 0


def _allowed_methods(scope: Scope) -> str:
    """The methods the routes at this path take (GET implies HEAD): record URLs also take the writes."""
    methods = {"GET", "HEAD", "OPTIONS"}

    def visit(routes: Any) -> None:
        for route in routes:
            nested = getattr(getattr(route, "original_router", None), "routes", None)  # FastAPI's included routers
            if nested is not None:
                visit(nested)
            elif getattr(route, "methods", None) and route.matches(scope)[0] != Match.NONE:
                methods.update(route.methods)

    visit(getattr(getattr(scope.get("app"), "router", None), "routes", []))
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return ", ".join(m for m in order if m in methods)


def _strip_gzip_marks(value: str) -> str:
    return ", ".join(_opaque(tag) if tag.strip() != "*" else "*" for tag in value.split(","))


class RepresentationMiddleware:
    """HEAD as GET without the body, OPTIONS answered with `Allow`, Accept-Encoding weighed by q-value,
    and a distinct ETag for gzip-coded bodies (see the module docstring). Sits outside the gzip
    middleware, so it sees the headers actually sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":  # CORS preflights are answered further out; this is a plain OPTIONS
            allow = [(b"allow", _allowed_methods(scope).encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 204, "headers": allow})
            await send({"type": "http.response.body", "body": b""})
            return
        head = method == "HEAD"
        sent_tags = ""
        headers = []
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                sent_tags = value.decode("latin-1")
                # Inner validators (routes, static files) compare their own tags: without the coding mark.
                value = _strip_gzip_marks(sent_tags).encode("latin-1")
            elif name == b"accept-encoding" and not _gzip_acceptable(value.decode("latin-1")):
                value = b"identity"
            headers.append((name, value))
        scope["headers"] = headers
        # HEAD: a copy, so the server keeps its own scope (HEAD) and sends the GET's headers without a body.
        inner = {**scope, "method": "GET", HEAD_REQUEST: True} if head else scope

        async def send_representation(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                etag = out.get("etag")
                if etag and etag.endswith('"'):
                    marked = etag[:-1] + GZIP_SUFFIX + '"'
                    coded = out.get("content-encoding") == "gzip"
                    # A 304 names the representation the client holds: the gzip one if that is what it sent.
                    if coded or (message["status"] == 304 and marked in sent_tags):
                        out["ETag"] = marked
                    if "accept-encoding" not in {v.strip().lower() for v in out.get("vary", "").split(",")}:
                        out.add_vary_header("Accept-Encoding")
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(inner, receive, send_representation)
        finally:
            if inner is not scope and "route" in inner:  # for the error handlers outside, which log the route
                scope["route"] = inner["route"]
