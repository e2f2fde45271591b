"""The edge of the app, as one plain ASGI middleware (cheaper than a stack of `@app.middleware`):
limits first (app.guards: sizes, then the client's rate limit), then the request's query time budget
(app.guards.install_query_timeout), then security headers on every response on the way out. (Cache headers and
conditional requests are decided per route: app.representation.)"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.guards import (
    RateLimits,
    end_request_budget,
    rate_limited,
    refuse,
    security_headers,
    start_request_budget,
)
from app.settings import Settings


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
        request = Request(scope, receive)
        extra = security_headers(request.url.path)
        answer: Response | None = refuse(request) or await rate_limited(request, self.limits)
        if answer is not None:
            answer.headers.update(extra)
            await answer(scope, receive, send)
            return

        # The request's query time budget (app.guards.install_query_timeout): shared by every statement until
        # the response starts.
        budget, token = start_request_budget()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                budget.streaming = True
                headers = MutableHeaders(scope=message)
                headers.update(extra)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            end_request_budget(token)
