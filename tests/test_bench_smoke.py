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


def test_cpu_accounting_counts_the_server_and_its_worker_processes() -> None:
    # The benchmark charges a run the CPU of the server and its workers (uvicorn --workers 2 forks them): a
    # parent that only waits must be charged its child's work.
    import subprocess
    import sys

    from bench.proc import cpu_seconds, descendants

    burn = "import sys; sum(i * i for i in range(3_000_000)); print('done', flush=True); sys.stdin.read()"
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}])"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "done\n"
        (child,) = descendants(parent.pid)
        assert cpu_seconds(parent.pid) >= cpu_seconds(child) > 0
        assert cpu_seconds(parent.pid) > cpu_seconds(child) or cpu_seconds(child) > 0.05
    finally:
        parent.kill()
        parent.wait()


def _figures(rps: float, p50: float, cpu_ms: float) -> dict[str, float]:
    return {"rps": rps, "p50": p50, "p99": p50 * 2, "cpu_ms": cpu_ms, "requests": 100, "errors": 0}


def _entry(size: int, api_rps: float, api_p50: float) -> dict[str, object]:
    levels = {
        "c1": _figures(1000 / api_p50, api_p50, 1.0),
        "c8": _figures(api_rps, 5, 1.1),
        "c32": _figures(api_rps, 20, 1.5),
    }
    ds = {level: _figures(100, 10, 1.0) for level in ("c1", "c8", "c32")}
    page = {
        "kind": "page",
        "description": "d",
        "note": "",
        "rows": 50,
        "check": "ok",
        "floor": {"p50": 1.0, "p99": 2.0},
    }
    return {
        "database": "sqlite",
        "size": size,
        "command": "python -m bench.run",
        "started": f"2026-01-01T00:00:{size % 60:02d}",
        "generate_s": 0,
        "elapsed_s": 1,
        "machine": {
            "cpus": 2,
            "cpu_model": "x",
            "ram_gib": 1,
            "os": "linux",
            "python": "3",
            "sqlite": "3",
            "packages": {},
        },
        "health": _figures(0, 0.4, 0.3),
        "cases": {q: {**page, "systems": {"api": levels, "datasette": ds}} for q in ("Q1", "Q1r", "Q2", "Q7")},
    }


def test_report_judges_each_target_on_the_largest_size_with_the_leads_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import report

    notes = tmp_path / "NOTES.md"
    notes.write_text("Intro kept verbatim.\n\n## T1 throughput\nprofiled: JSON encoding\nis 40%.\n## T4\nsee T1\n")
    monkeypatch.setattr(report, "NOTES_MD", notes)
    # 10k: the API does 2× Datasette's throughput; 1M: 1.2×, which misses the 1.5× target.
    results = {"sqlite:10000": _entry(10_000, 200, 2.0), "sqlite:1000000": _entry(1_000_000, 120, 3.3)}
    rows = {tid: (status, measured) for tid, _, status, measured in report.targets(results)}
    assert rows["T1"][0] == report.NOT_MET and "Q1@8 1.20×" in rows["T1"][1]
    assert rows["T2"][0] == report.UNMEASURED  # no two-worker figures
    assert rows["T4"][0] == report.NOT_MET and "Q1 /floor 3.30×" in rows["T4"][1]  # 3.3 ms over a 1 ms floor
    assert rows["T8"][0] == report.NOT_MET and "Q1@sq 1.65×" in rows["T8"][1]
    results["sqlite:1000000"] = _entry(1_000_000, 160, 1.2)
    rows = {tid: (status, measured) for tid, _, status, measured in report.targets(results)}
    assert rows["T1"][0] == report.MET
    text = report.render(results)
    t1 = next(line for line in text.splitlines() if line.startswith("| T1 |"))
    assert t1.endswith("| profiled: JSON encoding is 40%. |")
    assert "Intro kept verbatim." in text and "## T1 throughput" not in text
