"""What protects the service from its inputs: request limits, rate limits, query time caps,
security headers. Each limit answers with a problem document, never a slow query."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Engine, event

from app.problems import problem_response

MAX_QUERY_STRING = 4096

# JSON responses need nothing from the browser.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The docs pages (app.docs) load everything from this origin and run no inline script. Two inline styles remain,
# both ReDoc's, allowed by hash rather than with 'unsafe-inline': the empty <style> that styled-components creates
# and then fills through the CSSOM (which CSP does not check), and the perfect-scrollbar stylesheet. The second hash
# belongs to the pinned ReDoc bundle: tests/test_docs.py fails, naming the new hash, when an upgrade changes
# it. Both UIs draw their icons as data: images; ReDoc's search index runs in a worker it creates from a blob: URL
# of its own code.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; "
    "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class TokenBuckets:
    """Per-client token buckets (in this process; see README for running several processes)."""

    def __init__(self, per_minute: int, burst: int, max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.max_clients = max_clients
        self.lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token; return 0 if allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, last = self.buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self.buckets[client] = (tokens, now)
            while len(self.buckets) > self.max_clients:
                self.buckets.popitem(last=False)
            return wait


def is_expensive(request: Request) -> bool:
    path = request.url.path
    if path.endswith(("/facets", "/timeline", "/network")) or path == "/v1/cite" or "/export." in path:
        return True
    fmt = request.query_params.get("format")
    if fmt and fmt != "json":
        return True
    accept = request.headers.get("accept", "")
    return any(
        t in accept for t in ("text/csv", "ndjson", "text/calendar", "geo+json", "csl+json", "research-info", "bibtex")
    )


def client_key(request: Request) -> str:
    api_key = request.headers.get("x-api-key")
    if api_key:
        return "key:" + api_key[:128]
    return "ip:" + (request.client.host if request.client else "unknown")


def refuse(request: Request, buckets: TokenBuckets | None) -> Response | None:
    """The problem response for a request that breaks a limit, or None to let it through."""
    if len(request.url.query) > MAX_QUERY_STRING:
        return problem_response(
            request, 414, "request-too-large", f"query string longer than {MAX_QUERY_STRING} characters", "query"
        )
    if "\x00" in request.url.path:  # no id contains NUL; PostgreSQL text cannot even hold one
        return problem_response(request, 404, "not-found", "no resource has this path")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            return problem_response(
                request, 400, "invalid-parameter", "contains a NUL character", name.replace("\x00", "")
            )
    if buckets is not None and request.method == "GET" and is_expensive(request):
        wait = buckets.take(client_key(request))
        if wait > 0:
            response = problem_response(request, 429, "rate-limited", "too many export/aggregation requests; slow down")
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
    return None


def security_headers(path: str) -> dict[str, str]:
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": DOCS_CSP if path in DOCS_PATHS else API_CSP,
    }


def install_query_timeout(engine: Engine, timeout_ms: int) -> None:
    """Cap every statement's run time. PostgreSQL enforces `statement_timeout` itself
    (set at connect, see db.make_engine); SQLite gets an interrupting progress handler."""
    if engine.dialect.name != "sqlite" or timeout_ms <= 0:
        return

    @event.listens_for(engine, "connect")
    def _install(dbapi_connection: Any, record: Any) -> None:
        deadline = record.info.setdefault("deadline", [None])
        dbapi_connection.set_progress_handler(
            lambda: 1 if deadline[0] is not None and time.monotonic() > deadline[0] else 0, 1000
        )

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, *_: Any) -> None:
        conn.info.setdefault("deadline", [None])[0] = time.monotonic() + timeout_ms / 1000

    @event.listens_for(engine, "checkin")
    def _clear(dbapi_connection: Any, record: Any) -> None:
        record.info.get("deadline", [None])[0] = None
