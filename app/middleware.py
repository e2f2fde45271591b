"""The edge of the app, as one plain ASGI middleware (cheaper than a stack of `@app.middleware`):
limits first (app.guards: sizes, then the client's rate limit), then the request's query time budget
(app.guards.install_query_timeout), then security headers on every response on the way out. (Cache headers and
conditional requests are decided per route: app.representation.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.guards import (
    DOCS_PATHS,
    EXPLORER_PATHS,
    MAX_QUERY_STRING,
    RateLimits,
    end_request_budget,
    rate_limited,
    refuse,
    security_headers,
    start_request_budget,
)
from app.settings import Settings


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


# The security headers of every kind of page, encoded once (app.guards.security_headers decides by path).
_API_HEADERS = _raw(security_headers("/v1"))
_PAGE_HEADERS = {path: _raw(security_headers(path)) for path in (*DOCS_PATHS, *EXPLORER_PATHS)}
_SECURITY_NAMES = frozenset(name for name, _ in _API_HEADERS)


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        per_minute = settings.rate_limit_per_minute
        self.limits = (
            RateLimits(per_minute, settings.rate_limit_burst, settings.redis_url, settings.redis_key_prefix)
            if per_minute > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        # A Request (and its parsed URL and query) only when a limit may apply: most requests need none.
        suspect = len(query) > MAX_QUERY_STRING or "\x00" in path or b"\x00" in query or b"%00" in query
        if suspect or self.limits is not None:
            request = Request(scope, receive)
            answer: Response | None = refuse(request) or await rate_limited(request, self.limits)
            if answer is not None:
                answer.headers.update(security_headers(path))
                await answer(scope, receive, send)
                return
        extra = _PAGE_HEADERS.get(path, _API_HEADERS)

        # The request's query time budget (app.guards.install_query_timeout): shared by every statement until
        # the response starts.
        budget, token = start_request_budget()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                budget.streaming = True
                kept = [header for header in message.get("headers", ()) if header[0].lower() not in _SECURITY_NAMES]
                message["headers"] = kept + extra
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            end_request_budget(token)
