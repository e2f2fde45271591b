"""Smoke test of the benchmark (bench/): the generator fills a migrated SQLite database that the API serves,
and the benchmark's raw SQL answers Q1/Q7 exactly as the API does. No timings are asserted."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.dates import parse_edtf
from app.main import create_app
from app.settings import Settings
from bench import cases
from bench.generate import N_ACTORS, N_TOPICS, POPULAR, citation_count, dataset_version, generate

EVENTS, SEED = 300, 3


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "bench.sqlite3"
    counts = generate(f"sqlite:///{path}", EVENTS, seed=SEED, progress=False)
    assert (counts.events, counts.actors, counts.topics) == (EVENTS, N_ACTORS + 2, N_TOPICS)
    assert counts.citations == citation_count(EVENTS)
    assert EVENTS <= counts.participants <= 4 * EVENTS
    assert EVENTS <= counts.event_topics <= 3 * EVENTS
    assert EVENTS <= counts.event_citations == counts.locators <= 3 * EVENTS
    return path


@pytest.fixture(scope="module")
def db(bench_db: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{bench_db}?mode=ro", uri=True)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def client(bench_db: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=f"sqlite:///{bench_db}", rate_limit_per_minute=0))
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()


def test_generated_rows_are_complete_and_consistent(db: sqlite3.Connection) -> None:
    assert db.execute("SELECT version FROM dataset_state WHERE id = 1").fetchone() == (dataset_version(EVENTS, SEED),)
    for edtf, start, end, precision, approximate, uncertain in db.execute(
        "SELECT date_edtf, date_start, date_end, date_precision, date_approximate, date_uncertain FROM events"
    ):
        span = parse_edtf(edtf)  # the stored bounds are what the app itself derives from the EDTF text
        assert (str(span.start), str(span.end), span.precision, span.approximate, span.uncertain) == (
            start,
            end,
            precision,
            bool(approximate),
            bool(uncertain),
        )
    assert db.execute(
        "SELECT count(*) FROM events WHERE search_text != lower(search_text) OR search_text = ''"
    ).fetchone() == (0,)
    assert db.execute(
        "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_participants p WHERE p.event_id = e.id)"
    ).fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM event_participants WHERE actor_id = ?", (POPULAR,)).fetchone()[0] > 0


@pytest.mark.parametrize("name", ["Q1", "Q7"])
def test_api_answers_like_the_benchmark_sql(client: TestClient, db: sqlite3.Connection, name: str) -> None:
    dialect = cases.Dialect("sqlite")
    case = next(c for c in cases.build(dialect, ["ev-0000007"], None) if c.name == name)
    request = case.requests[0]
    response = client.get(request.api)
    assert response.status_code == 200, response.text
    expected = cases.signature(case.kind, cases.run_sql(db, dialect, case, request))
    assert cases.signature(case.kind, response.json()) == expected
    if name == "Q1":
        assert response.json()["items"], "the popular actor should have events (else both sides agree on nothing)"
        assert all(POPULAR in {p["actor"]["id"] for p in item["participants"]} for item in response.json()["items"])
