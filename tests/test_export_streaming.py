"""Exports under slow clients and failures (app.streaming): stalled readers cannot starve the pool, exports are
bounded per client and per process with 429/503 + Retry-After, a stalled stream is abandoned after its send
timeout and its connection returned, and a failure mid-stream is always visible to the client (an incomplete
chunked transfer, the announced `X-Record-Count`, and each format's own ending where it has one)."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import rispy
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

import app.queries.execute as execute
import app.streaming as streaming
from app.main import create_app
from app.settings import Settings
from bench.generate import generate
from bench.load_test import stalled_request
from tests.helpers import ROOT, DatabaseFactory, serving
from tests.servers import free_port

EVENTS = 5_000  # an NDJSON export of this many events is ~10 MB: far more than socket buffers hold


@pytest.fixture(scope="module")
def big_db(databases: DatabaseFactory) -> str:
    url = databases.new()
    generate(url, EVENTS, seed=5, progress=False)
    return url


@contextmanager
def server(url: str, folder: Path, **settings: str) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_PATH", "HOST", "PORT")}
    # A generous statement cap: these tests are about stalled clients, not a busy machine's slow statements.
    env |= {
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PER_MINUTE": "0",
        "QUERY_TIMEOUT_MS": "60000",
        **settings,
    }
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    with serving(command, ROOT, env, folder / "serve.log", port) as base:
        yield base


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and whatever body came with them."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before the response head: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def read_to_end(sock: socket.socket, rest: bytes, timeout: float = 30) -> bytes:
    sock.settimeout(timeout)
    data = rest
    while chunk := sock.recv(1 << 20):
        data += chunk
    return data


def dechunk(raw: bytes) -> tuple[bytes, bool]:
    """The body of a chunked transfer, and whether it ended with the final zero-length chunk."""
    body, position = b"", 0
    while True:
        end = raw.find(b"\r\n", position)
        if end < 0:
            return body, False
        size = int(raw[position:end].split(b";")[0], 16)
        if size == 0:
            return body, True
        chunk = raw[end + 2 : end + 2 + size]
        body += chunk
        if len(chunk) < size:
            return body, False
        position = end + 2 + size + 2


def wait_for_log(log: Path, text: str, times: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(text) >= times:
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not logged {times}x within {timeout} s:\n{log.read_text()[-2000:]}")


def test_stalled_export_readers_do_not_starve_other_requests(big_db: str, tmp_path: Path) -> None:
    # Sixty stalled exports from clients the rate limits admit (limits off, per-client bound lifted: as if they came
    # from sixty addresses). Before, each held a pooled connection: the pool ran dry and a list waited 10 s for 503.
    with server(big_db, tmp_path, EXPORT_PER_CLIENT="1000", EXPORT_CONCURRENCY="8") as base:
        stalled = [stalled_request(base, "/v1/events/export.ndjson") for _ in range(60)]
        try:
            heads = [read_head(sock) for sock in stalled]  # every request answered or streaming, none read on
            time.sleep(1)  # the admitted exports fill their buffers and block
            started = time.monotonic()
            answer = httpx.get(f"{base}/v1/events?limit=1", timeout=10)
            took = time.monotonic() - started
            assert answer.status_code == 200 and took < 2, (answer.status_code, took)
            statuses = sorted(status for status, _, _ in heads)
            assert statuses == [200] * 8 + [503] * 52, statuses
            for status, headers, _ in heads:
                if status == 503:
                    assert headers["content-type"] == "application/problem+json"
                    assert int(headers["retry-after"]) >= 1
                else:
                    assert int(headers["x-record-count"]) == EVENTS
        finally:
            for sock in stalled:
                sock.close()


def test_stalled_readers_of_json_pages_hold_no_database_connection(big_db: str, tmp_path: Path) -> None:
    # Fifty-five clients each pipeline 20 large pages and read nothing. Before, a page's session was closed only
    # after its response had been sent, so each blocked response held a pooled connection: the pool ran dry.
    with server(big_db, tmp_path) as base:
        stalled = []
        try:
            for _ in range(55):
                stalled.append(stalled_request(base, "/v1/events?limit=100", repeat=20))
            time.sleep(3)
            for _ in range(3):
                started = time.monotonic()
                answer = httpx.get(f"{base}/v1/events?limit=1", timeout=10)
                took = time.monotonic() - started
                assert answer.status_code == 200 and took < 2, (answer.status_code, took)
        finally:
            for sock in stalled:
                sock.close()


def test_head_of_an_export_announces_the_count_without_a_body(test_db: str) -> None:
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))
    with TestClient(app) as client:
        got = client.get("/v1/events/export.csv")
        head = client.head("/v1/events/export.csv")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["x-record-count"] == got.headers["x-record-count"]
    app.state.engine.dispose()


def test_a_stalled_export_is_abandoned_and_its_slot_and_connection_returned(big_db: str, tmp_path: Path) -> None:
    with server(big_db, tmp_path, EXPORT_SEND_TIMEOUT_S="2", EXPORT_PER_CLIENT="2") as base:
        stalled = [stalled_request(base, "/v1/events/export.ndjson") for _ in range(2)]
        try:
            time.sleep(0.5)
            third = httpx.get(f"{base}/v1/events/export.csv?type=visit", timeout=10)
            assert third.status_code == 429, third.text
            assert third.headers["content-type"] == "application/problem+json"
            assert third.json()["type"].endswith("/too-many-exports") and int(third.headers["retry-after"]) >= 1

            wait_for_log(tmp_path / "serve.log", "export abandoned", 2)
            # Both slots are free again: the same client may export.
            again = httpx.get(f"{base}/v1/events/export.csv?type=visit", timeout=10)
            assert again.status_code == 200
            assert len(list(csv.reader(io.StringIO(again.text)))) - 1 == int(again.headers["x-record-count"])

            # The abandoned clients, reading at last, get a transfer without its final chunk and fewer lines
            # than announced: the truncation is visible.
            for sock in stalled:
                status, headers, rest = read_head(sock)
                assert status == 200
                body, complete = dechunk(read_to_end(sock, rest))
                assert not complete
                assert body.count(b"\n") < int(headers["x-record-count"]) == EVENTS
        finally:
            for sock in stalled:
                sock.close()
        if big_db.startswith("postgresql"):
            with _engine(big_db).connect() as conn:
                open_transactions = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state LIKE 'idle in transaction%'"
                    )
                )
            assert open_transactions == 0


def _engine(url: str) -> Any:
    return create_engine(url, poolclass=NullPool)


@pytest.mark.parametrize("path", ["/v1/events/export.ndjson", "/v1/events/export.csv"])
def test_database_connection_killed_mid_export_is_an_incomplete_transfer(
    big_db: str, tmp_path: Path, path: str
) -> None:
    if not big_db.startswith("postgresql"):
        pytest.skip("a SQLite connection cannot be killed from outside; see the fault-injection test below")
    with server(big_db, tmp_path) as base, httpx.stream("GET", base + path, timeout=30) as response:
        assert response.status_code == 200
        announced = int(response.headers["x-record-count"])
        received = b""
        chunks = response.iter_raw()
        received += next(chunks)
        with _engine(big_db).connect() as conn:
            killed = conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
            )
        assert killed >= 1
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in chunks:
                received += chunk
    assert received.count(b"\n") - (path.endswith(".csv")) < announced


# What a client can check in a saved file of each format, beyond the transfer's framing and the announced count.
def _records(extension: str, body: str) -> int:
    """How many records a complete file holds; raises when the file is not complete."""
    if extension == "csv":
        return len(list(csv.reader(io.StringIO(body)))) - 1
    if extension == "ndjson":
        return len([json.loads(line) for line in body.splitlines()])
    if extension == "ics":
        assert body.endswith("END:VCALENDAR\r\n"), "no END:VCALENDAR"
        return body.count("BEGIN:VEVENT")
    if extension == "geojson":
        return len(json.loads(body)["features"])
    if extension == "json":
        return len(json.loads(body))
    if extension == "ris":
        return len(rispy.loads(body))
    assert extension == "bib"
    assert body.rstrip().endswith("entries}"), "no closing @comment"
    return len([line for line in body.splitlines() if line.startswith("@") and not line.startswith("@comment")])


EXPORT_PATHS = [f"/v1/events/export.{e}" for e in ("csv", "ndjson", "ics", "geojson")] + [
    f"/v1/citations/export.{e}" for e in ("json", "ris", "bib")
]


async def _collect(
    app: Any, path: str, messages: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Run one GET through the ASGI app as a server would, keeping every message it sends in ``messages``."""
    messages = [] if messages is None else messages
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept-encoding", b"identity")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    try:
        await app(scope, receive, send)
    except Exception as exc:
        return messages, exc
    return messages, None


@pytest.mark.parametrize("path", EXPORT_PATHS)
def test_every_export_format_shows_a_failure_mid_stream(
    test_db: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches and blocks so the bundled records take several statements and sends.
    monkeypatch.setattr(execute, "EXPORT_BATCH", 1)
    monkeypatch.setattr(streaming, "BLOCK_CHARS", 1)
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))
    extension = path.rsplit(".", 1)[1]
    complete, error = anyio.run(_collect, app, path)
    assert error is None
    body = b"".join(m.get("body", b"") for m in complete if m["type"] == "http.response.body").decode()
    announced = int(dict(complete[0]["headers"])[b"x-record-count"])
    assert announced > 1 and complete[-1]["more_body"] is False
    assert _records(extension, body) == announced or extension == "geojson"

    messages: list[dict[str, Any]] = []

    def die(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The connection is lost once the body has started: the next batch's statement fails.
        if any(m["type"] == "http.response.body" for m in messages):
            raise OperationalError(statement, {}, Exception("server closed the connection unexpectedly"))

    event.listen(app.state.engine, "before_cursor_execute", die)
    try:
        error = anyio.run(_collect, app, path, messages)[1]
    finally:
        event.remove(app.state.engine, "before_cursor_execute", die)
        app.state.engine.dispose()
    assert messages[0]["type"] == "http.response.start" and messages[0]["status"] == 200
    assert len(messages) > 1, "the failure came before the body started"
    # The failure reaches the server (which then closes the connection) and the body never ends cleanly.
    assert isinstance(error, OperationalError) or isinstance(error.__cause__, OperationalError), error
    assert all(m.get("more_body", True) for m in messages[1:])
    body = b"".join(m.get("body", b"") for m in messages[1:]).decode()
    try:
        found = _records(extension, body)
    except (AssertionError, ValueError, KeyError):
        return  # the saved file itself is visibly incomplete
    assert found < announced


def test_postgresql_sessions_end_idle_transactions(test_db: str) -> None:
    if not test_db.startswith("postgresql"):
        pytest.skip("PostgreSQL setting")
    app = create_app(Settings(database_url=test_db, idle_in_transaction_timeout_s=45))
    with app.state.engine.connect() as conn:
        assert conn.scalar(text("SHOW idle_in_transaction_session_timeout")) == "45s"
    app.state.engine.dispose()


def test_a_failure_before_the_first_block_is_a_503_problem(test_db: str) -> None:
    # The count and the first batch are read, then the first block's statement fails: nothing has been sent, so
    # the client gets a problem document with Retry-After, not a 200 cut short (nor a 500).
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))
    counted = False

    def die(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal counted
        if counted:
            raise OperationalError(statement, {}, Exception("connection lost"), connection_invalidated=True)
        counted = statement.lstrip().upper().startswith("SELECT COUNT(")

    event.listen(app.state.engine, "before_cursor_execute", die)
    try:
        messages, error = anyio.run(_collect, app, "/v1/events/export.ndjson")
    finally:
        event.remove(app.state.engine, "before_cursor_execute", die)
        app.state.engine.dispose()
    assert error is None and counted
    start = messages[0]
    headers = dict(start["headers"])
    assert start["status"] == 503 and headers[b"content-type"] == b"application/problem+json"
    assert int(headers[b"retry-after"]) >= 1
    assert messages[-1].get("more_body", False) is False
