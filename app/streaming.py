"""How an export is streamed: admitted within bounds, sent in blocks with a send timeout, and ended so that a
client can always tell a complete export from a truncated one.

An export holds its request's database session (one pooled connection, one read snapshot) until its last byte
is sent, so its pace is the client's. Three things keep slow or stalled clients from taking the pool from
everyone else: at most ``export_concurrency`` exports stream at once in a process (beyond: 503) and at most
``export_per_client`` per client (beyond: 429), both with `Retry-After`; a client that accepts no data for
``export_send_timeout_s`` seconds loses its export (the connection is closed and the session returned); and on
PostgreSQL the server itself ends a transaction left idle (``idle_in_transaction_timeout_s``).

Completeness: the response announces its record count in `X-Record-Count` before the body, and a failure after
the body has started (the database connection lost, a statement cap, the send timeout, the server stopping)
closes the connection without the final chunk of the chunked transfer, which every HTTP client reports as an
incomplete read (httpx `RemoteProtocolError`, requests `ChunkedEncodingError`, curl exit code 18). Formats with
an ending of their own (JSON's closing bracket, iCalendar's `END:VCALENDAR`, BibTeX's closing `@comment`) show it
in the saved file too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.problems import ProblemError
from app.representation import HEAD_REQUEST

logger = logging.getLogger(__name__)

# The header announcing how many records the export holds.
RECORD_COUNT_HEADER = "X-Record-Count"
# What a refused export is told to wait: exports of the bundled data take well under a second, large ones
# seconds; a client retrying sooner would most likely be refused again.
EXPORT_RETRY_AFTER = 5
# Text gathered from the writer before one send: one thread-pool hop and one ASGI message per block instead
# of per row (a CSV row is ~200 bytes).
BLOCK_CHARS = 64 * 1024


@dataclass
class ExportSlots:
    """Admission of exports in this process: at most ``total`` at once, at most ``per_client`` for one client
    (a key from app.guards.client_key). Thread-safe (exports are admitted in endpoint worker threads).

    The bounds are per process, like the connection pool they protect: N processes stream up to N × ``total``
    exports, each from its own pool."""

    total: int
    per_client: int
    _open: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, client: str) -> Callable[[], None]:
        """Admit one export for ``client`` and return the function that releases it (idempotent).

        Raises ProblemError 429 `too-many-exports` when the client already has ``per_client`` open, or 503
        `exports-busy` when ``total`` are open; both with `Retry-After`."""
        with self._lock:
            if self._open.get(client, 0) >= self.per_client:
                raise ProblemError(
                    429,
                    "too-many-exports",
                    f"this client already has {self.per_client} exports streaming; finish reading them first",
                    headers={"Retry-After": str(EXPORT_RETRY_AFTER)},
                )
            if sum(self._open.values()) >= self.total:
                raise ProblemError(
                    503,
                    "exports-busy",
                    f"the server is streaming its limit of {self.total} exports; retry shortly",
                    headers={"Retry-After": str(EXPORT_RETRY_AFTER)},
                )
            self._open[client] = self._open.get(client, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                left = self._open[client] - 1
                if left:
                    self._open[client] = left
                else:
                    del self._open[client]

        return release

    def streaming(self) -> int:
        """How many exports are open now."""
        with self._lock:
            return sum(self._open.values())


class ExportInterrupted(Exception):
    """An export failed after its response had started (its cause chained): the client got a cut transfer,
    not an error status. Logged as a warning with the cause (app.problems), not as a 500."""


class StalledClient(Exception):
    """The client accepted no data for the export's send timeout; the export was abandoned."""


class ExportResponse(StreamingResponse):
    """A streamed export. ``chunks`` is the format writer's text (a synchronous iterator that reads the database:
    it is advanced in a worker thread, a block at a time); ``count`` the number of records it will write
    (sent as `X-Record-Count`); ``close`` runs once when the response ends however it ends (it releases the
    export's admission slot and its database session).

    A failure while streaming propagates after the response has started, so the server closes the connection
    without ending the chunked body: the client sees an incomplete transfer, never a short but well-formed one.
    """

    def __init__(
        self,
        chunks: Iterator[str],
        *,
        count: int,
        media_type: str,
        headers: dict[str, str],
        send_timeout_s: float,
        close: Callable[[], None],
    ) -> None:
        super().__init__(iter(()), media_type=media_type, headers={**headers, RECORD_COUNT_HEADER: str(count)})
        self.chunks = chunks
        self.first_block_only = False  # set per call: a HEAD request
        self.send_timeout_s = send_timeout_s
        self.close = close

    def _next_block(self) -> str | None:
        parts: list[str] = []
        size = 0
        for chunk in self.chunks:
            parts.append(chunk)
            size += len(chunk)
            if size >= BLOCK_CHARS:
                break
        return "".join(parts) if parts else None

    async def stream_response(self, send: Send) -> None:
        # The first block is read before the response starts, so a failure there is still answered with a
        # problem document (503) rather than a cut transfer. (Middleware such as gzip may hold the start
        # message until the first body message anyway.)
        block = await anyio.to_thread.run_sync(self._next_block)
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = 0
        try:
            while block is not None:
                data = block.encode(self.charset)
                await self._send(send, data, more=True)
                sent += len(data)
                block = None if self.first_block_only else await anyio.to_thread.run_sync(self._next_block)
            await self._send(send, b"", more=False)
        except Exception as exc:
            # Raised on (never swallowed): the server then closes the connection without the final chunk.
            raise ExportInterrupted(f"export cut short after {sent} bytes: {type(exc).__name__}: {exc}") from exc

    async def _send(self, send: Send, body: bytes, *, more: bool) -> None:
        try:
            with anyio.fail_after(self.send_timeout_s):
                await send({"type": "http.response.body", "body": body, "more_body": more})
        except TimeoutError:
            logger.warning(
                "export abandoned: the client accepted nothing for %.0f s",
                self.send_timeout_s,
                extra={"problem": "export-send-timeout"},
            )
            raise StalledClient(f"no data accepted for {self.send_timeout_s} s") from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            # HEAD: only the first block is made (RepresentationMiddleware drops it): the headers, which middleware
            # such as gzip decides from the first block, are the GET's, without reading every row.
            self.first_block_only = bool(scope.get(HEAD_REQUEST))
            await super().__call__(scope, receive, send)
        finally:
            close_chunks = getattr(self.chunks, "close", None)
            # The writer's generator and the session it reads are used from worker threads; close them there too,
            # shielded so that a cancelled request (client gone) still returns its connection and slot.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_close_all, close_chunks, self.close)


def _close_all(*closers: Callable[[], object] | None) -> None:
    for close in closers:
        if close is not None:
            close()
