"""The request pipeline's cost structure, as behaviour: a read makes one thread-pool hop (every statement of a
request runs in one worker thread, the dataset version first), its session is closed before the response is
sent, and the process bounds its worker threads (WORKER_THREADS)."""

from __future__ import annotations

import threading
from typing import Any

import anyio.to_thread
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.main import create_app
from app.settings import Settings


def test_every_statement_of_a_read_runs_in_one_worker_thread_version_first(test_db: str) -> None:
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))
    seen: list[tuple[int, str]] = []

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((threading.get_ident(), statement))

    try:
        with TestClient(app) as client:
            loop_thread = client.portal.call(threading.get_ident)  # type: ignore[union-attr]
            event_id = client.get("/v1/events", params={"limit": 1}).json()["items"][0]["id"]
            for path in (f"/v1/events/{event_id}", "/v1/events?limit=2", "/v1/actors?limit=2"):
                seen.clear()
                response = client.get(path)
                assert response.status_code == 200 and response.headers["x-dataset-version"]
                threads = {thread for thread, _ in seen}
                assert len(threads) == 1 and loop_thread not in threads, (path, seen)
                if seen and "dataset_state" in seen[0][1]:  # not remembered yet (SQLite), or PostgreSQL
                    continue
                assert app.state.engine.dialect.name == "sqlite", seen  # PostgreSQL reads the version row first
            # Every pooled connection is back: the sessions were closed when the endpoints returned.
            assert app.state.engine.pool.checkedout() == 0
    finally:
        app.state.engine.dispose()


def test_database_work_runs_on_a_bounded_number_of_threads(test_db: str) -> None:
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0, worker_threads=3))
    try:
        with TestClient(app) as client:
            limiter = client.portal.call(anyio.to_thread.current_default_thread_limiter)  # type: ignore[union-attr]
            assert limiter.total_tokens == 3
            assert client.get("/v1/events", params={"limit": 1}).status_code == 200
    finally:
        app.state.engine.dispose()
