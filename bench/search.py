"""Search latency through the whole app (in process: routing, planning, SQL, page JSON), per query and sort.

    python -m bench.search --url sqlite:///var/bench/events-100000.sqlite3 [--runs 5]

Each query is asked once to warm caches, then `--runs` times; the median is reported in milliseconds with
the match count (`total`, capped at 1,000 like the API's). Keep runs short on shared machines.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

QUERIES = [
    "ceasefire",  # ≈ 9% of events (bench.generate.SEARCH_WORD)
    "ceasefire treaty",
    "talks OR truce",
    "mediat*",
    '"peace talks"',
    "popular envoy",  # a participant's name (≈ 10% of events)
    "security -military",
    "uranium satellite tunnel",
]


def measure(url: str, runs: int) -> list[tuple[str, str, int, float]]:
    logging.disable(logging.WARNING)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0, query_timeout_ms=60_000))
    results = []
    with TestClient(app) as client:
        for query in QUERIES:
            for sort in ("date", "relevance"):
                params = {"q": query, "sort": sort, "limit": 50}
                total = client.get("/v1/events", params=params).json()["total"]
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    assert client.get("/v1/events", params=params).status_code == 200
                    times.append((time.perf_counter() - started) * 1000)
                results.append((query, sort, total, statistics.median(times)))
    app.state.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| q | sort | matches | median ms |\n|---|---|---|---|")
    for query, sort, total, ms in measure(args.url, args.runs):
        print(f"| `{query}` | {sort} | {total} | {ms:.0f} |")


if __name__ == "__main__":
    main()
