"""What protects the service from its inputs: request limits, rate limits, query time caps,
security headers. Each limit answers with a problem document, never a slow query."""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import logging
import math
import time
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import Engine, event
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from app.exports.citations import CITATION_EXPORTS
from app.exports.events import EXPORTS
from app.exports.visits import VISIT_EXPORTS
from app.negotiation import wants_export
from app.problems import RequestDeadlineExceeded, problem_response

logger = logging.getLogger(__name__)

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
# The explorer page (app.docs.install_explorer, files in app/explorer/) is our own code: scripts and styles from
# this origin only, no inline script or style, no hash exceptions. It calls the API on this origin (connect-src)
# and submits no form anywhere (its filter form is handled by its script).
EXPLORER_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
EXPLORER_PATHS = ("/",)


# After a Redis failure, limits are kept in this process for this long before Redis is tried again, so an
# outage costs one failed round trip per RETRY_REDIS_AFTER seconds, not one per request.
RETRY_REDIS_AFTER = 5.0
# A Redis that does not answer within this long counts as down (the request goes on with local limits).
REDIS_TIMEOUT = 0.25


class RateLimits:
    """Per-client limits on expensive requests: at most ``burst`` requests in any window of
    ``60 * burst / per_minute`` seconds (a moving window, so the long-run rate is ``per_minute`` and a client
    may send ``burst`` at once), through the `limits` library.

    With ``redis_url`` the windows live in Redis, shared by every process and machine using it (keys start
    with ``key_prefix``); without it they live in this process, so N processes allow N times the limit. When
    Redis fails or times out (REDIS_TIMEOUT) the request is limited by this process's own windows instead,
    with a WARNING, and Redis is tried again after RETRY_REDIS_AFTER seconds: a Redis outage loosens the limits,
    it never fails a request.
    """

    def __init__(
        self, per_minute: int, burst: int, redis_url: str | None = None, key_prefix: str = "dipevents"
    ) -> None:
        self.item = RateLimitItemPerSecond(burst, max(1, round(60 * burst / per_minute)))
        self.redis_url = redis_url
        self.key_prefix = key_prefix
        self._loop: asyncio.AbstractEventLoop | None = None
        self._local: MovingWindowRateLimiter | None = None
        self._shared: MovingWindowRateLimiter | None = None
        self._redis_down_until = 0.0

    def _limiters(self) -> tuple[MovingWindowRateLimiter, MovingWindowRateLimiter | None]:
        # Built in the serving event loop (asyncio storage and Redis connections belong to one loop), and again
        # if a test server starts another loop.
        loop = asyncio.get_running_loop()
        if self._local is None or loop is not self._loop:
            self._loop = loop
            self._local = MovingWindowRateLimiter(MemoryStorage())
            self._shared = None
            if self.redis_url:
                options: dict[str, Any] = {
                    "socket_connect_timeout": REDIS_TIMEOUT,
                    "socket_timeout": REDIS_TIMEOUT,
                    "retry": Retry(NoBackoff(), 0),  # fail fast: the fallback is local limits, not waiting
                }
                storage = RedisStorage(
                    "async+" + self.redis_url, implementation="redispy", key_prefix=self.key_prefix, **options
                )
                self._shared = MovingWindowRateLimiter(storage)
        return self._local, self._shared

    async def wait(self, client: str) -> float:
        """Count one request by ``client``: 0 if it is allowed, else the seconds until it would be (≥ 1)."""
        local, shared = self._limiters()
        if shared is not None and time.monotonic() >= self._redis_down_until:
            try:
                wait = await asyncio.wait_for(self._take(shared, client), 4 * REDIS_TIMEOUT)
            except Exception as exc:  # any failure of the shared store: connection, timeout, script, auth
                self._redis_down_until = time.monotonic() + RETRY_REDIS_AFTER
                logger.warning(
                    "rate limits: Redis failed (%s: %s); limiting in this process for %.0f s",
                    type(exc).__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "",
                    RETRY_REDIS_AFTER,
                    extra={"problem": "rate-limit-store-unavailable"},
                )
            else:
                if self._redis_down_until:
                    self._redis_down_until = 0.0
                    logger.info("rate limits: Redis answers again; limits are shared")
                return wait
        return await self._take(local, client)

    async def _take(self, limiter: MovingWindowRateLimiter, client: str) -> float:
        if await limiter.hit(self.item, client):
            return 0.0
        stats = await limiter.get_window_stats(self.item, client)
        return max(1.0, stats.reset_time - time.time())


def is_expensive(request: Request) -> bool:
    path = request.url.path
    if path.endswith(("/facets", "/timeline", "/network")) or path == "/v1/cite" or "/export." in path:
        return True
    # The same negotiation the route makes (app.negotiation), so no spelling of Accept dodges the limit.
    formats = {"/v1/events": EXPORTS, "/v1/visits": VISIT_EXPORTS, "/v1/citations": CITATION_EXPORTS}.get(
        path.rstrip("/")
    )
    if formats is None:
        return False
    return wants_export(request.headers.get("accept"), request.query_params.get("format"), formats)


async def limited_client(request: Request) -> str:
    """Whom a request is counted against: the API key it carries (`Authorization: Bearer`, a key issued by
    `dipevents keys create`: one budget per key), else its address (:func:`client_key`). An unknown or revoked key
    is anonymous, so inventing keys gives no fresh budget; if the key cannot be checked (database down), the
    address counts."""
    if request.headers.get("authorization"):
        from app.curation.keys import key_of_bearer

        try:
            key_id = await run_in_threadpool(
                key_of_bearer, request.app.state.sessions, request.headers["authorization"]
            )
        except Exception:  # the database's outage is the route's to report
            key_id = None
        if key_id is not None:
            return f"key:{key_id}"
    return client_key(request)


def client_key(request: Request) -> str:
    """Whom an anonymous request is counted against: the connection's address, which the client cannot choose. (A
    header such as `X-API-Key` could be rotated for a fresh budget each request, or name someone else's; only keys
    the service issued count, see :func:`limited_client`.) IPv6 addresses count by their /64 network, which one
    subscriber can fill with addresses. Behind a proxy the address is the proxy's, unless the proxy is listed in
    FORWARDED_ALLOW_IPS, in which case uvicorn puts the forwarded client address here."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "ip:" + host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "ip:" + str(address.ipv4_mapped)
        return "net:" + str(ipaddress.ip_network(f"{address}/64", strict=False))
    return "ip:" + str(address)


def refuse(request: Request) -> Response | None:
    """The problem response for a request that breaks a size or content limit, or None to let it through."""
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
    return None


async def rate_limited(request: Request, limits: RateLimits | None) -> Response | None:
    """A 429 problem with `Retry-After` when an expensive GET exceeds its client's limit, else None."""
    if limits is None or request.method != "GET" or not is_expensive(request):
        return None
    wait = await limits.wait(await limited_client(request))
    if wait <= 0:
        return None
    response = problem_response(request, 429, "rate-limited", "too many export/aggregation requests; slow down")
    response.headers["Retry-After"] = str(math.ceil(wait))
    return response


def security_headers(path: str) -> dict[str, str]:
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": DOCS_CSP
        if path in DOCS_PATHS
        else EXPLORER_CSP
        if path in EXPLORER_PATHS
        else API_CSP,
    }


class RequestBudget:
    """The query time of one HTTP request (app.middleware starts one per request). Its deadline is set when
    the request's database transaction begins; `streaming` turns true once the response has started, after
    which an export's batches are capped per statement only (their pace is the client's, and a stalled
    client is the export's send timeout's business, not the query cap's)."""

    __slots__ = ("streaming",)

    def __init__(self) -> None:
        self.streaming = False


_request_budget: contextvars.ContextVar[RequestBudget | None] = contextvars.ContextVar("request_budget", default=None)


def start_request_budget() -> tuple[RequestBudget, contextvars.Token[RequestBudget | None]]:
    """Start the current request's query time budget (reset it with the token when the request ends)."""
    budget = RequestBudget()
    return budget, _request_budget.set(budget)


def end_request_budget(token: contextvars.Token[RequestBudget | None]) -> None:
    _request_budget.reset(token)


def install_query_timeout(engine: Engine, timeout_ms: int) -> None:
    """Cap database time, per statement and per request: every statement stops after ``timeout_ms``, and
    within an HTTP request (app.middleware) all the statements run before the response starts share one
    deadline, ``timeout_ms`` after the request's transaction began, so a facets request with five facets
    cannot run five caps long. A statement started past that deadline raises
    app.problems.RequestDeadlineExceeded; one running into it is interrupted like any capped statement.

    PostgreSQL: `statement_timeout` (set at connect, see db.make_engine), lowered with `SET LOCAL` for a
    statement when less than the cap remains (a round trip, so only once the request has used a tenth of its
    budget: its statements may together run up to 110% of the cap). SQLite: an interrupting progress handler.
    """
    if timeout_ms <= 0:
        return
    cap = timeout_ms / 1000
    slack = cap / 10

    # insert=True: before db._sqlite_begin, so the transaction has its deadline from its first statement on.
    @event.listens_for(engine, "begin", insert=True)
    def _begin(conn: Any) -> None:
        budget = _request_budget.get()
        conn.info["request_deadline"] = time.monotonic() + cap if budget is not None else None
        conn.info["statement_timeout_ms"] = timeout_ms  # SET LOCAL ended with the previous transaction

    @event.listens_for(engine, "checkin")
    def _forget(dbapi_connection: Any, record: Any) -> None:
        record.info.pop("request_deadline", None)

    def statement_deadline(conn: Any) -> float:
        now = time.monotonic()
        deadline = now + cap
        request_deadline = conn.info.get("request_deadline")
        budget = _request_budget.get()
        if request_deadline is not None and budget is not None and not budget.streaming:
            if request_deadline <= now:
                raise RequestDeadlineExceeded(f"the request used its {timeout_ms} ms of query time")
            deadline = min(deadline, request_deadline)
        return deadline

    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _install(dbapi_connection: Any, record: Any) -> None:
            deadline = record.info.setdefault("deadline", [None])
            dbapi_connection.set_progress_handler(
                lambda: 1 if deadline[0] is not None and time.monotonic() > deadline[0] else 0, 1000
            )

        @event.listens_for(engine, "before_cursor_execute")
        def _start(conn: Any, *_: Any) -> None:
            conn.info.setdefault("deadline", [None])[0] = statement_deadline(conn)

        @event.listens_for(engine, "checkin")
        def _clear(dbapi_connection: Any, record: Any) -> None:
            record.info.get("deadline", [None])[0] = None

        return

    @event.listens_for(engine, "before_cursor_execute")
    def _lower(conn: Any, cursor: Any, *_: Any) -> None:
        remaining = statement_deadline(conn) - time.monotonic()
        wanted = timeout_ms if remaining > cap - slack else max(1, int(remaining * 1000))
        if wanted != conn.info.get("statement_timeout_ms", timeout_ms):
            # On the driver connection, not this cursor (which may be a server-side one): same transaction.
            cursor.connection.execute(f"SET LOCAL statement_timeout = {wanted}")
            conn.info["statement_timeout_ms"] = wanted


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling, except that a refused preflight (an origin, method or header not allowed) is
    answered as a problem document naming what was refused, like every other 4xx (Starlette's is text/plain)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                answer = self.preflight_response(request_headers=headers)
                if answer.status_code == 400:
                    refused = bytes(answer.body).decode().removeprefix("Disallowed CORS ")
                    detail = f"this cross-origin request is not allowed: {refused} refused"
                    parameter = "Origin" if "origin" in refused else "Access-Control-Request-Method"
                    problem = problem_response(Request(scope), 400, "http-error", detail, parameter)
                    await problem(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)
