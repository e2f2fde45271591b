"""Limits on the request head in a real `dipevents serve` (issue 12 §7c): size, number of header fields and
the time a client may take to send them."""

from __future__ import annotations

import contextlib
import socket
import time

import httpx
import pytest

from app.migrate import upgrade
from tests.helpers import TEST_BUNDLE, load_into
from tests.servers import Server, served


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    # The HTTP layer does not depend on the database: SQLite only.
    url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'db.sqlite3'}"
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    with served(url, HEADER_TIMEOUT_S="1", MAX_HEADER_BYTES="16384", MAX_HEADERS="100") as running:
        yield running


def exchange(server: Server, head: bytes, read_timeout: float = 10) -> bytes:
    """Send ``head`` and read until the server closes the connection (or ``read_timeout`` passes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as conn:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(head)  # the server may refuse and close before reading everything
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def test_a_huge_header_is_refused_with_431(server):
    head = b"GET /v1/meta HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8_000_000 + b"\r\n\r\n"
    assert exchange(server, head).startswith(b"HTTP/1.1 431 ")


def test_many_headers_are_refused_with_431(server):
    head = b"GET /v1/meta HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(20_000)) + b"\r\n"
    assert exchange(server, head).startswith(b"HTTP/1.1 431 ")


def test_a_head_sent_too_slowly_is_cut_off_with_408(server):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(b"GET /v1/meta HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        for i in range(40):  # a header line every 0.2 s: never complete
            try:
                conn.sendall(b"X-Slow-%d: v\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                break
            conn.settimeout(0.2)
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            answer += chunk
            if not chunk or answer.startswith(b"HTTP/1.1 408"):
                break
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert time.monotonic() - started < 4


def test_a_connection_that_sends_nothing_is_closed(server):
    started = time.monotonic()
    assert exchange(server, b"").startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 4


def test_ordinary_requests_still_work(server):
    cookie = "c=" + "x" * 4000
    with httpx.Client(base_url=server.base) as client:  # one keep-alive connection, several requests
        for _ in range(3):
            assert client.get("/v1/meta", headers={"Cookie": cookie}).status_code == 200
        time.sleep(1.5)  # idle between requests longer than the head timeout: the keep-alive timeout applies
        assert client.get("/v1/meta").status_code == 200
