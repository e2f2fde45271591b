"""Rate limits that cannot be dodged (issue 12 §2): clients are keyed by their connection's address only,
proxy headers are trusted only from FORWARDED_ALLOW_IPS, and with REDIS_URL every process shares one budget
(a Redis outage loosens the limits to per process, with a WARNING, and never fails a request)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from app import guards
from app.guards import client_key
from app.main import create_app
from app.settings import Settings
from tests.servers import free_port, served

REDIS = os.environ.get("DIPEVENTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FACETS = "/v1/events/facets"


@contextmanager
def app_client(test_db: str, **settings: object) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=60, **settings))
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.engine.dispose()


def statuses(client: TestClient, n: int, **kwargs: object) -> list[int]:
    return [client.get(FACETS, **kwargs).status_code for _ in range(n)]


def test_rotating_api_keys_does_not_give_a_fresh_budget(test_db):
    with app_client(test_db, rate_limit_burst=2) as client:
        codes = [client.get(FACETS, headers={"X-API-Key": f"key-{i}"}).status_code for i in range(4)]
    assert codes == [200, 200, 429, 429]


def _request(host: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": (host, 1234)})


def test_clients_are_keyed_by_address_and_ipv6_by_network():
    assert client_key(_request("203.0.113.7")) == "ip:203.0.113.7"
    assert client_key(_request("::ffff:203.0.113.7")) == "ip:203.0.113.7"
    assert client_key(_request("2001:db8:1:2:aaaa::1")) == client_key(_request("2001:db8:1:2:bbbb::9"))
    assert client_key(_request("2001:db8:1:2::1")) != client_key(_request("2001:db8:1:3::1"))


def test_serve_trusts_no_proxy_headers_by_default(test_db):
    limits = {"RATE_LIMIT_PER_MINUTE": "60", "RATE_LIMIT_BURST": "2"}
    with served(test_db, **limits) as server:
        spoofed = [
            httpx.get(server.base + FACETS, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(3)
        ]
    assert spoofed == [200, 200, 429]  # one client, however many addresses it claims
    with served(test_db, FORWARDED_ALLOW_IPS="127.0.0.1", **limits) as server:
        forwarded = [
            httpx.get(server.base + FACETS, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in (1, 2, 3, 3, 3)
        ]
    assert forwarded == [200, 200, 200, 200, 429]  # a named proxy's forwarded addresses are the clients


def _redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_processes_sharing_redis_share_one_budget(test_db):
    if not _redis_available(REDIS):
        pytest.fail(f"no Redis at {REDIS} (every development and CI machine runs one; see README)")
    prefix = f"dipevents-test-{uuid.uuid4().hex[:8]}"
    with (
        app_client(test_db, rate_limit_burst=4, redis_url=REDIS, redis_key_prefix=prefix) as one,
        app_client(test_db, rate_limit_burst=4, redis_url=REDIS, redis_key_prefix=prefix) as two,
    ):
        codes = [(one if i % 2 else two).get(FACETS).status_code for i in range(6)]
        limited = two.get(FACETS)
    assert codes == [200, 200, 200, 200, 429, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    with app_client(test_db, rate_limit_burst=4) as alone:  # without Redis each process has its own budget
        assert statuses(alone, 4) == [200] * 4


@contextmanager
def own_redis() -> Iterator[tuple[str, subprocess.Popen]]:
    """A private redis-server (the shared one must not be stopped)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _redis_available(url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url, process
    finally:
        process.kill()
        process.wait()


def test_a_redis_outage_limits_per_process_with_a_warning_and_never_fails_a_request(test_db, monkeypatch, caplog):
    monkeypatch.setattr(guards, "RETRY_REDIS_AFTER", 0.0)  # try Redis again on every request
    with own_redis() as (url, redis_process), app_client(test_db, rate_limit_burst=3, redis_url=url) as client:
        assert statuses(client, 1) == [200]
        redis_process.kill()
        redis_process.wait()
        with caplog.at_level(logging.WARNING, logger="app.guards"):
            started = time.monotonic()
            codes = statuses(client, 4)
            elapsed = time.monotonic() - started
    assert codes == [200, 200, 200, 429]  # limited by the process's own window, never a 5xx
    assert elapsed < 4 * 4 * guards.REDIS_TIMEOUT + 2
    warnings = [r for r in caplog.records if r.name == "app.guards" and r.levelno == logging.WARNING]
    assert warnings and "Redis failed" in warnings[0].getMessage()


def test_an_unreachable_redis_at_start_still_serves(test_db, caplog):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    with (
        caplog.at_level(logging.WARNING, logger="app.guards"),
        app_client(test_db, rate_limit_burst=2, redis_url=unreachable) as client,
    ):
        codes = statuses(client, 3)
    assert codes == [200, 200, 429]
    assert len([r for r in caplog.records if r.name == "app.guards"]) == 1  # then local limits for a while
