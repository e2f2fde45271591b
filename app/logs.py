"""Logs: one line per request, every record tagged with its request's id, text or JSON (LOG_FORMAT).

Standard library `logging` only. `configure_logging` installs one handler on the root logger, so the
server's own records (uvicorn) and the app's come out in one format; `RequestLogMiddleware` gives every
request an id (a sane incoming `X-Request-ID`, else a new one), echoes it on the response and writes the
access line when the response has been sent.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import sys
import time
import uuid
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "dipevents.access"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Ids end up in log lines and response headers: accept only a short token, never arbitrary text.
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
_MAX_PATH = 1024
_MAX_QUERY = 512
_LOGGED_FLAG = "_dipevents_logged"
_OURS = "_dipevents_logging"  # marks the handler and record factory configure_logging installed

access_logger = logging.getLogger(ACCESS_LOGGER)


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return _request_id.get()


def mark_logged(exc: BaseException) -> None:
    """Record that `exc` has been logged with its traceback, so the server's own copy is dropped."""
    setattr(exc, _LOGGED_FLAG, True)


# --- configuration --------------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into JSON lines.
# (uvicorn adds `color_message`, the same message with terminal colour codes.)
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the record's `extra`
    fields, and the traceback as a string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message`, for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        return (self._fmt or "%(message)s") % {**vars(record), "request_id": getattr(record, "request_id", None) or "-"}


class _StderrHandler(logging.StreamHandler[Any]):
    # Looks sys.stderr up at each write instead of keeping the stream it started with: test runners swap
    # it per test, and a handler holding a closed one fails every later write.
    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _not_logged_twice(record: logging.LogRecord) -> bool:
    # The server logs every exception that leaves the app ("Exception in ASGI application"); the 500
    # handler has already logged it with the request id, so one traceback per failure is enough.
    exc = record.exc_info[1] if record.exc_info else None
    return not (record.name.startswith("uvicorn") and getattr(exc, _LOGGED_FLAG, False))


def _tag_records_with_request_id() -> None:
    # A record factory rather than a handler filter: every record then carries the id, whichever
    # handler (ours, a test's, a library's) ends up receiving it. (So `extra=` must not name request_id.)
    previous = logging.getLogRecordFactory()
    if getattr(previous, _OURS, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    setattr(factory, _OURS, True)
    logging.setLogRecordFactory(factory)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send every record at `level` and above to standard error, as text or as JSON lines.

    Idempotent: calling it again (each `create_app` does) replaces the handler it installed before and
    leaves other handlers alone."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)
            handler.close()
    handler = _StderrHandler()
    setattr(handler, _OURS, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_not_logged_twice)
    root.addHandler(handler)
    root.setLevel(level.upper())
    _tag_records_with_request_id()


# --- the access log -------------------------------------------------------------------------------


def _printable(raw: bytes, limit: int) -> str:
    text = raw[:limit].decode("ascii", "backslashreplace")
    if not text.isprintable():  # control characters could forge lines in a text log
        text = text.encode("unicode_escape").decode("ascii")
    return text + ("…" if len(raw) > limit else "")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode("ascii") if _SANE_ID.fullmatch(value) else None
    return None


class RequestLogMiddleware:
    """Outermost middleware: assigns the request id, echoes it in `X-Request-ID` on every response
    (304s, refusals, CORS preflights, gzip'd and streamed bodies), and writes one access record per
    request once its last byte is sent, or when it ends otherwise (error, client gone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        # Not reset afterwards: the ASGI server runs each request in its own task, whose context ends with
        # it, and the 500 handler (Starlette's ServerErrorMiddleware, outside this one) still needs the id.
        _request_id.set(request_id)
        status: int | None = None
        sent = 0
        finished = False

        async def send_logged(message: Message) -> None:
            nonlocal status, sent, finished
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            elif kind == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                finished = True
                self.log(scope, status, started, sent, request_id)

        try:
            await self.app(scope, receive, send_logged)
        except BaseException as exc:
            if not finished:
                # Nothing sent yet: Starlette answers an Exception with the 500 problem document.
                if status is None and isinstance(exc, Exception):
                    status = 500
                self.log(scope, status, started, sent, request_id, error=type(exc).__name__)
            raise
        if not finished:
            self.log(scope, status, started, sent, request_id, error="response incomplete (client gone?)")

    @staticmethod
    def log(
        scope: Scope, status: int | None, started: float, sent: int, request_id: str, error: str | None = None
    ) -> None:
        """Write the access record: WARNING for 5xx and unfinished responses, INFO otherwise."""
        failed = status is None or status >= 500 or error is not None
        level = logging.WARNING if failed else logging.INFO
        if not access_logger.isEnabledFor(level):
            return
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        path = _printable(scope.get("raw_path") or scope["path"].encode("utf-8"), _MAX_PATH)
        query = _printable(scope.get("query_string", b""), _MAX_QUERY)
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "path": path,
            "query": query,
            "status": status,
            "duration_ms": duration_ms,
            "response_bytes": sent,
            "client": client[0] if client else None,
        }
        if error is not None:
            fields["error"] = error
        access_logger.log(
            level,
            "%s %s%s %s %.1fms %dB %s%s",
            fields["method"],
            path,
            "?" + query if query else "",
            status or "-",
            duration_ms,
            sent,
            fields["client"] or "-",
            f" ({error})" if error else "",
            extra=fields,
        )
