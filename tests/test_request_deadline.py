"""The query time cap applies to the whole request, not only to each statement (issue 12 §7d): a facets
request whose five facet statements each take most of the cap is stopped near one cap, not five."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text

from app.main import create_app
from app.queries import aggregations
from app.settings import Settings

CAP_MS = 800
SLOW_S = 0.35  # each facet's extra statement: under the cap alone, five of them over twice the cap


def _slow_statement(session: Any) -> None:
    if session.get_bind().dialect.name == "sqlite":
        # A statement that sleeps in SQLite's VM (the progress handler can interrupt it between rows).
        session.execute(
            text(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) "
                "SELECT max(sleep_ms(10)) FROM c"
            ),
            {"n": int(SLOW_S * 100)},
        )
    else:
        session.execute(text("SELECT pg_sleep(:s)"), {"s": SLOW_S})


def _sleep_ms(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function("sleep_ms", 1, lambda ms: time.sleep(ms / 1000) or 0)


def test_five_slow_facets_stop_near_one_cap(test_db, monkeypatch):
    for name, query in list(aggregations.FACET_QUERIES.items()):

        def slowed(session: Any, ids: Any, *rest: Any, _query: Any = query) -> Any:
            _slow_statement(session)
            return _query(session, ids, *rest)

        monkeypatch.setitem(aggregations.FACET_QUERIES, name, slowed)
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0, query_timeout_ms=CAP_MS))
    if app.state.engine.dialect.name == "sqlite":
        event.listen(app.state.engine, "connect", _sleep_ms)
    try:
        with TestClient(app) as client:
            # With a date filter, so the facets are counted (the unfiltered list's are precomputed ones).
            counted = {"start": "1000"}
            assert client.get("/v1/events/facets", params=counted | {"facet": "type"}).status_code == 200  # in time
            started = time.monotonic()
            response = client.get("/v1/events/facets", params=counted | {"facet": "type,topic,actor,country,year"})
            elapsed = time.monotonic() - started
            assert client.get("/v1/events", params={"limit": "1"}).status_code == 200  # the next request: a new budget
    finally:
        app.state.engine.dispose()
    assert response.status_code == 503, response.text
    assert response.json()["type"] == "/problems/query-timeout" and response.headers["retry-after"] == "5"
    assert elapsed < 5 * SLOW_S, elapsed  # per statement only, it ran all five (1.75 s) and answered 200


def test_an_export_streams_past_the_request_cap(test_db):
    # After the response starts, an export's batches are capped per statement only: a long export is not cut.
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0, query_timeout_ms=CAP_MS))
    if app.state.engine.dialect.name == "sqlite":
        event.listen(app.state.engine, "connect", _sleep_ms)
    try:
        with TestClient(app) as client, client.stream("GET", "/v1/events", params={"format": "ndjson"}) as response:
            assert response.status_code == 200
            time.sleep(CAP_MS / 1000 + 0.2)  # a slow reader: the request is older than the cap now
            assert sum(1 for line in response.iter_lines() if line) > 0
    finally:
        app.state.engine.dispose()
