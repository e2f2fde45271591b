"""Bounded load test: the request mix researchers and frontends generate, at rising concurrency.

    python bench/load.py --levels 1,8,32,64 --seconds 10 [--database-url URL]

Starts uvicorn on a loopback port over DATABASE_URL (default: a fresh SQLite file loaded with data/),
drives it with asyncio + httpx for a fixed time per level, and prints throughput, p50/p99 and errors.
Exits non-zero if any request failed or returned 5xx. Rate limiting is switched off for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MIX = [  # (weight, path)
    (30, "/v1/events?start=2019&end=2020&limit=50"),
    (15, "/v1/events?actor=imran-khan&sort=-date"),
    (10, "/v1/events?topic=kashmir-dispute,afghanistan-peace-process&type=visit,meeting"),
    (10, "/v1/events?q=kashmir"),
    (10, "/v1/events/khan-trump-summit-2019-07-22"),
    (5, "/v1/actors/mike-pompeo"),
    (5, "/v1/events/facets?start=2018&end=2020"),
    (5, "/v1/events/timeline?interval=month&start=2018&end=2020"),
    (5, "/v1/events?format=csv&topic=security-assistance"),
    (5, "/v1/citations?format=ris"),
]


@dataclass
class Level:
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    server_errors: int = 0
    elapsed: float = 0.0

    def row(self) -> str:
        n = len(self.latencies)
        lat = sorted(self.latencies) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (
            f"| {self.concurrency} | {n} | {n / self.elapsed:.0f} | {statistics.median(lat) * 1000:.1f} | "
            f"{p99 * 1000:.1f} | {self.errors} | {self.server_errors} |"
        )


async def drive(base_url: str, concurrency: int, seconds: float, seed: int = 1) -> Level:
    level = Level(concurrency)
    paths = [p for weight, p in MIX for _ in range(weight)]
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def worker(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(rng.choice(paths))
                    await response.aread()
                except httpx.HTTPError:
                    level.errors += 1
                    continue
                level.latencies.append(time.perf_counter() - started)
                if response.status_code >= 500:
                    level.server_errors += 1
                elif response.status_code >= 400:
                    level.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        level.elapsed = time.perf_counter() - started
    return level


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(database_url: str | None, workers: int = 1, **settings: str) -> Iterator[str]:
    """Run the real server (migrate, load data/ if empty, uvicorn) on a loopback port, with rate limits off and
    the per-client export bound lifted (the load comes from one address but stands for many clients), plus
    ``settings`` (environment variables)."""
    # The mix's exports (10% of requests) come from one address but stand for many clients, and this run counts
    # any 5xx as a failure: export admission (429/503 by design, tests/test_export_streaming.py) is lifted here.
    env = {
        **os.environ,
        "RATE_LIMIT_PER_MINUTE": "0",
        "EXPORT_PER_CLIENT": "1000",
        "EXPORT_CONCURRENCY": "1000",
        "DATA_PATH": str(ROOT / "data"),
        **settings,
    }
    tmp = None
    if database_url is None:
        tmp = tempfile.TemporaryDirectory(prefix="dipevents-load-")
        database_url = f"sqlite:///{tmp.name}/load.sqlite3"
    env["DATABASE_URL"] = database_url
    port = free_port()
    subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server process, closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(log.read().decode(errors="replace"))
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if tmp:
            tmp.cleanup()


def run(base_url: str, levels: list[int], seconds: float) -> list[Level]:
    return [asyncio.run(drive(base_url, c, seconds)) for c in levels]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,8,32,64", help="Comma-separated concurrency levels.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Duration of each level.")
    parser.add_argument("--database-url", default=None, help="Database to serve (default: fresh SQLite with data/).")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    with serve(args.database_url) as base:
        results = run(base, levels, args.seconds)
    print("| clients | requests | req/s | p50 ms | p99 ms | errors | 5xx |")
    print("|---|---|---|---|---|---|---|")
    for level in results:
        print(level.row())
    return 1 if any(level.errors or level.server_errors for level in results) else 0


if __name__ == "__main__":
    sys.exit(main())
