"""The HTTP protocol `dipevents serve` runs: uvicorn's httptools protocol with limits on the request head.

uvicorn's httptools protocol accepts a request line and headers of any size and number, read at any pace
(an 8 MB header and 20,000 headers were accepted; a client sending one header byte every few seconds holds a
connection for ever). This subclass refuses a head over MAX_HEADER_BYTES or MAX_HEADERS with `431` and
closes the connection, and closes a connection whose head is not complete HEADER_TIMEOUT_S after its first
byte (or after the connection opened) with `408`. The limits come from the settings (environment), so every
worker process reads the same ones.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import get_settings


class _HeadTooLarge(Exception):
    pass


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size, count and time limit on each request's head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_header_bytes = settings.max_header_bytes
        self.max_headers = settings.max_headers
        self.header_timeout = settings.header_timeout_s
        self._head_bytes = 0
        self._head_count = 0
        self._refusal: bytes | None = None
        self._head_timer: asyncio.TimerHandle | None = None

    # -- the head's time limit: armed when the connection opens and when a request begins, cleared when
    # the head is complete (uvicorn's keep-alive timeout covers idle time between requests).

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None and self.header_timeout > 0:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.logger.warning("Request head not received within %.0f s; connection closed.", self.header_timeout)
            self._write_refusal(b"408 Request Timeout", "request head not received in time")

    # -- parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._head_count = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # httptools may deliver one header in several calls; counting calls over-counts by a little, bytes exactly.
        self._count(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _count(self, size: int, headers: int) -> None:
        self._head_bytes += size
        self._head_count += headers
        if self._head_bytes > self.max_header_bytes or self._head_count > self.max_headers:
            self._refusal = b"431 Request Header Fields Too Large"
            raise _HeadTooLarge  # httptools stops parsing; uvicorn answers through send_400_response below

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
            return
        self._write_refusal(
            self._refusal, f"request head over {self.max_header_bytes} bytes or {self.max_headers} header fields"
        )

    def _write_refusal(self, status: bytes, message: str) -> None:
        self._disarm()
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 "
            + status
            + b"\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        self.transport.close()
