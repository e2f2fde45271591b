"""Search latency through the whole app (in process: routing, planning, SQL, page JSON), per query and sort.

    python -m bench.search --url sqlite:///var/bench/events-100000.sqlite3 [--runs 5] [--sorts date,relevance]

Each query is asked once to warm caches, then `--runs` times; the table gives the median and the range
(fastest–slowest) in milliseconds with the match count (`total`, capped at 1,000 like the API's), or the
problem's status when the API refuses the request (sort=relevance over more than app.queries.plan.RANK_LIMIT
matches). The machine's load average before and after is printed under the table: on a shared machine the
numbers are upper bounds. Read-only: the database is only queried.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from dataclasses import dataclass

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

QUERIES = [
    "ceasefire",  # ≈ 12% of events (bench.generate.SEARCH_WORD)
    "ceasefire treaty",
    "talks OR truce",
    "mediat*",
    '"peace talks"',
    "popular envoy",  # a participant's name (≈ 10% of events)
    "security -military",
    "uranium satellite tunnel",
]


@dataclass
class Timing:
    query: str
    sort: str
    status: int
    total: int | None
    times_ms: list[float]

    @property
    def cell(self) -> str:
        if self.status != 200:
            return f"{self.status} (refused)"
        ms = sorted(self.times_ms)
        return f"{statistics.median(ms):.0f} ({ms[0]:.0f}–{ms[-1]:.0f})"


def measure(url: str, runs: int, sorts: list[str], queries: list[str]) -> list[Timing]:
    logging.disable(logging.WARNING)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0, query_timeout_ms=120_000))
    results = []
    with TestClient(app) as client:
        for query in queries:
            for sort in sorts:
                params = {"q": query, "sort": sort, "limit": 50}
                first = client.get("/v1/events", params=params)
                total = first.json()["total"] if first.status_code == 200 else None
                times = []
                for _ in range(runs if first.status_code == 200 else 0):
                    started = time.perf_counter()
                    response = client.get("/v1/events", params=params)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                results.append(Timing(query, sort, first.status_code, total, times))
    app.state.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sorts", default="date,relevance", help="comma-separated: date, -date, relevance")
    parser.add_argument("--query", action="append", help="a query to time instead of the built-in eight (repeat)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = measure(args.url, args.runs, args.sorts.split(","), args.query or QUERIES)
    load_after = os.getloadavg()
    print("| q | sort | matches | median ms (min–max) |\n|---|---|---|---|")
    for r in results:
        matches = "" if r.total is None else (f"≥ {r.total:,}" if r.total >= 1000 else f"{r.total:,}")
        print(f"| `{r.query}` | {r.sort} | {matches} | {r.cell} |")
    print(
        f"\n{args.runs} runs each after one warm-up; load average (1 min) {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after, on {os.cpu_count()} CPUs."
    )


if __name__ == "__main__":
    main()
