"""The edge of the app, as one plain ASGI middleware (cheaper than a stack of `@app.middleware`):
limits first (app.guards), then security headers on every response on the way out. (Cache headers and
conditional requests are decided per route: app.representation.)"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.guards import TokenBuckets, refuse, security_headers
from app.settings import Settings


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        per_minute = settings.rate_limit_per_minute
        self.buckets = TokenBuckets(per_minute, settings.rate_limit_burst) if per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        extra = security_headers(request.url.path)
        answer: Response | None = refuse(request, self.buckets)
        if answer is not None:
            answer.headers.update(extra)
            await answer(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)
