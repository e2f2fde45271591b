"""Benchmark the dipevents API against Datasette on the same SQLite file and against the raw SQL floor.

    python -m bench.run --sqlite 10000,100000 --postgresql 10000 [--budget 20 --seconds 5]

For each database and size: generate (or reuse) the data, start uvicorn (and Datasette, SQLite only) on
loopback ports, check that API, floor and Datasette agree on every case, then measure sequential p50/p99,
throughput and p50/p99 at 32 concurrent connections, and the API process's peak RSS. Results accumulate
in bench/results.json (one entry per database and size, replaced when re-measured) and are rendered to
bench/RESULTS.md after every entry. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import platform
import shlex
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.migrate import upgrade
from bench import cases as c
from bench.generate import dataset_version, generate, sqlite_path, stored_version
from bench.report import THROUGHPUT_CASES

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
RESULTS_JSON, RESULTS_MD = HERE / "results.json", HERE / "RESULTS.md"
BIN = Path(sys.executable).parent
SEED = 42
DEEP_PAGE = 200
PACKAGES = ["fastapi", "starlette", "sqlalchemy", "pydantic", "uvicorn", "psycopg", "datasette", "httpx"]


# -- measurement -----------------------------------------------------------------------------------


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"n": 0, "p50": float("nan"), "p99": float("nan")}
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50": statistics.median(ordered) * 1000, "p99": p99 * 1000}


def sequential(call: Callable[[int], Any], requests: int, budget: float, warmup: int) -> dict[str, float]:
    """Up to `requests` timed calls after `warmup` untimed ones, stopping when `budget` seconds are spent."""
    deadline = time.perf_counter() + budget
    for i in range(warmup):
        call(i)
        if time.perf_counter() > deadline - budget * 0.75:
            break
    latencies: list[float] = []
    deadline = time.perf_counter() + budget
    for i in range(requests):
        started = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - started)
        if time.perf_counter() > deadline and len(latencies) >= 3:
            break
    return summary(latencies)


async def _concurrent(base_url: str, paths: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=300) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker(index: int) -> None:
            nonlocal errors
            i = index
            while time.perf_counter() < deadline:
                begun = time.perf_counter()
                try:
                    response = await client.get(paths[i % len(paths)])
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - begun)
                else:
                    errors += 1
                i += concurrency

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {**summary(latencies), "rps": len(latencies) / elapsed, "errors": errors}


def concurrent(base_url: str, paths: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    return asyncio.run(_concurrent(base_url, paths, concurrency, seconds))


class RssSampler(threading.Thread):
    """Peak private memory of one process (resident set minus file-backed pages), sampled every 20 ms, since
    the last `reset()`. The API reads SQLite through mmap: the database file's pages show up in RSS once per
    connection that touched them, though they are the OS page cache, shared and reclaimable."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.stopped = threading.Event()

    def current(self) -> int:
        info = self.process.memory_info()
        return info.rss - info.shared

    def reset(self) -> int:
        self.peak = self.current()
        return self.peak

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            try:
                self.peak = max(self.peak, self.current())
            except psutil.Error:
                return


# -- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(
    command: list[str], ready_path: str, port: int, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server process, closed below)
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + ready_path, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{command[0]} did not start:\n{log.read().decode(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def api_server(url: str, workers: int = 1) -> Any:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
    ]
    env = {"DATABASE_URL": url, "RATE_LIMIT_PER_MINUTE": "0", "QUERY_TIMEOUT_MS": "0"}
    return server(command, "/health", port, env)


def datasette_server(path: Path, metadata_file: Path) -> Any:
    port = free_port()
    command = [
        str(BIN / "datasette"),
        "serve",
        "-i",
        str(path),
        "--port",
        str(port),
        "-m",
        str(metadata_file),
        "--setting",
        "sql_time_limit_ms",
        "60000",
        "--setting",
        "max_returned_rows",
        "1000",
    ]
    return server(command, "/-/versions.json", port)


# -- one database and size -------------------------------------------------------------------------


def walk_cursors(client: httpx.Client, pages: int) -> tuple[str, str, tuple[str, str]] | None:
    """Follow Q1's next_cursor to page `pages` (or the last page): (page label, its cursor, its keyset)."""
    params = c.Q1.api(limit=50)
    cursor, page = None, 1
    body = client.get("/v1/events", params=params).json()
    while body["next_cursor"] and page < pages:
        cursor, page = body["next_cursor"], page + 1
        body = client.get("/v1/events", params={**params, "cursor": cursor}).json()
    if cursor is None:
        return None
    payload = cursor.split(".")[0]
    keyset = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["k"]
    return f"{page}{' (the last)' if body['next_cursor'] is None else ''}", cursor, (keyset[0], keyset[1])


def prepare(database: str, size: int, admin_url: str, regenerate: bool) -> tuple[str, float]:
    """A database URL holding `size` generated events, and the seconds spent generating (0 if reused)."""
    started = time.perf_counter()
    if database == "sqlite":
        path = sqlite_path(size)
        url = f"sqlite:///{path}"
        if not regenerate and stored_version(url) == dataset_version(size, SEED):
            # Same data; the schema may be older than the code (migrations backfill what they add, such as the
            # aggregation tables of 0008), so it is brought to the head first, as `dipevents migrate` would.
            upgrade(url)
            return url, 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = f"dipevents_bench_{size}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    print(f"generating {size:,} events into {url}", flush=True)
    generate(url, size, SEED)
    return url, time.perf_counter() - started


def drop_pg(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def floor_connection(url: str) -> Any:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True, check_same_thread=False)
    import psycopg

    return psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)


def rows_of(kind: str, sig: Any) -> int:
    """What the `rows` column shows: the total for lists and facets, buckets for timelines, export rows."""
    return {"csv": lambda: sig, "page": lambda: sig[0], "facets": lambda: sig[0], "timeline": lambda: len(sig)}.get(
        kind, lambda: 1
    )()


def measure_case(
    case: c.Case,
    api: httpx.Client,
    ds: httpx.Client | None,
    ds_db: str,
    floor: Any,
    dialect: c.Dialect,
    rss: RssSampler,
    args: argparse.Namespace,
) -> dict[str, Any]:
    requests = case.requests
    slow = case.kind == "csv"
    count, warmup = (min(args.requests, 20), 1) if slow else (args.requests, args.warmup)
    print(f"  {case.name:4} {case.description}", flush=True)

    def get(client: httpx.Client, path: str) -> httpx.Response:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{case.name}: {path} -> {response.status_code} {response.text[:300]}")
        return response

    def answer(response: httpx.Response) -> Any:
        return response.text if case.kind == "csv" else response.json()

    # Agreement first: the numbers mean nothing if the three do not return the same thing.
    api_sig = c.signature(case.kind, answer(get(api, requests[0].api)))
    checks = {"floor": c.signature(case.kind, c.run_sql(floor, dialect, case, requests[0]))}
    if ds is not None:
        checks["datasette"] = c.signature(case.kind, answer(get(ds, case.datasette_path(ds_db, 0))))
    mismatched = [k for k, v in checks.items() if v != api_sig]
    if case.kind == "csv" and checks.get("datasette") == 1000 and api_sig > 1000:
        mismatched.remove("datasette")  # Datasette caps SQL results at max_returned_rows
    out: dict[str, Any] = {
        "description": case.description,
        "note": case.note,
        "kind": case.kind,
        "rows": rows_of(case.kind, api_sig),
        "check": "ok" if not mismatched else "MISMATCH: " + ", ".join(mismatched),
    }
    if case.kind == "csv" and ds is not None:
        out["datasette_rows"] = checks["datasette"]

    out["rss_base_mb"] = rss.reset() / 2**20
    out["api"] = sequential(lambda i: get(api, requests[i % len(requests)].api), count, args.budget, warmup)
    out["rss_seq_mb"] = rss.peak / 2**20  # one request at a time: the flat-memory check for exports

    # Requests in flight at the deadline still finish: skip what would take too long to drain.
    def drains(p50_ms: float) -> bool:
        return p50_ms / 1000 * args.concurrency <= args.drain_cap

    conc = case.concurrent and drains(out["api"]["p50"])
    if conc:
        out["api_conc"] = concurrent(str(api.base_url), [r.api for r in requests], args.concurrency, args.seconds)
    elif case.concurrent:
        out["note"] = (
            out["note"] + "; " if out["note"] else ""
        ) + f"@{args.concurrency} skipped: p50 × {args.concurrency} > {args.drain_cap:.0f} s"
    out["rss_mb"] = rss.peak / 2**20
    out["floor"] = sequential(
        lambda i: c.run_sql(floor, dialect, case, requests[i % len(requests)]), count, args.budget, warmup
    )
    if ds is not None:
        out["datasette"] = sequential(lambda i: get(ds, case.datasette_path(ds_db, i)), count, args.budget, warmup)
        if case.concurrent and drains(out["datasette"]["p50"]):
            paths = [case.datasette_path(ds_db, i) for i in range(len(requests))]
            out["datasette_conc"] = concurrent(str(ds.base_url), paths, args.concurrency, args.seconds)
    if case.kind == "csv":
        out["rows_per_s"] = {
            k: (out["datasette_rows"] if k == "datasette" else out["rows"]) / (out[k]["p50"] / 1000)
            for k in ("api", "floor", "datasette")
            if k in out
        }
    return out


def run_one(database: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    url, generate_s = prepare(database, size, args.pg_url, args.regenerate)
    dialect = c.Dialect(database)
    entry: dict[str, Any] = {
        "database": database,
        "size": size,
        "command": args.command,
        "machine": machine(args.pg_url),
        "memory": "private",
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "generate_s": round(generate_s, 1),
    }
    try:
        with ExitStack() as stack:
            api_base, api_pid = stack.enter_context(api_server(url))
            api = stack.enter_context(httpx.Client(base_url=api_base, timeout=300))
            rss = RssSampler(api_pid)
            rss.start()
            stack.callback(rss.stopped.set)
            walk_started = time.perf_counter()
            deep = walk_cursors(api, DEEP_PAGE)
            entry["cursor_walk_s"] = round(time.perf_counter() - walk_started, 2)
            event_ids = [f"ev-{i:07d}" for i in range(0, size, max(1, size // 50))]
            cases = c.build(dialect, event_ids, deep)
            ds, ds_db = None, ""
            if database == "sqlite":
                path = Path(make_url(url).database or "")
                ds_db = path.stem
                meta = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "metadata.json"
                queries = {case.name.lower(): {"sql": case.sql} for case in cases}
                meta.write_text(json.dumps({"databases": {ds_db: {"queries": queries}}}))
                ds_base, _ = stack.enter_context(datasette_server(path, meta))
                ds = stack.enter_context(httpx.Client(base_url=ds_base, timeout=300))
            floor = floor_connection(url)
            stack.callback(floor.close)
            entry["cases"] = {
                case.name: measure_case(case, api, ds, ds_db, floor, dialect, rss, args) for case in cases
            }
        if args.compare_workers > 1:  # the same server with N processes, for the throughput cases only
            entry["compare_workers"] = args.compare_workers
            with api_server(url, args.compare_workers) as (base, _pid):
                for case in cases:
                    if case.name in THROUGHPUT_CASES:
                        print(f"  {case.name:4} @{args.concurrency} with {args.compare_workers} workers", flush=True)
                        entry["cases"][case.name]["api_conc_workers"] = concurrent(
                            base, [r.api for r in case.requests], args.concurrency, args.seconds
                        )
    finally:
        if database == "postgresql" and not args.keep_pg:
            drop_pg(args.pg_url, url)
    entry["elapsed_s"] = round(time.perf_counter() - started, 1)
    return entry


# -- environment and report ------------------------------------------------------------------------


def machine(pg_url: str) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
    }
    try:
        engine = create_engine(pg_url)
        with engine.connect() as conn:
            info["postgresql"] = conn.scalar(text("SHOW server_version"))
        engine.dispose()
    except Exception:
        info["postgresql"] = "unavailable"
    return info


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def load_results(fresh: bool) -> dict[str, Any]:
    if fresh or not RESULTS_JSON.exists():
        return {}
    return json.loads(RESULTS_JSON.read_text())


def save(results: dict[str, Any]) -> None:
    RESULTS_JSON.write_text(json.dumps(results, indent=1, sort_keys=True))
    from bench.report import render

    RESULTS_MD.write_text(render(results))


@contextmanager
def exclusive() -> Iterator[None]:
    """One benchmark at a time: two would share the cores (skewing both) and drop each other's databases."""
    import fcntl

    lock = ROOT / "var" / "bench" / "run.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            sys.exit(
                f"another benchmark run is in progress ({handle.read().strip() or 'unknown pid'}); wait for it to finish"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)

    def sizes(s: str) -> list[int]:
        return [int(x) for x in s.split(",") if x]

    parser.add_argument("--sqlite", type=sizes, default=[], help="event counts to run on SQLite, e.g. 10000,100000")
    parser.add_argument("--postgresql", type=sizes, default=[], help="event counts to run on PostgreSQL")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="an existing database to connect to for CREATE/DROP DATABASE dipevents_bench_<n>",
    )
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per case and target (at most)")
    parser.add_argument("--budget", type=float, default=20, help="seconds per case and target for the sequential run")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5, help="duration of each concurrent run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--drain-cap",
        type=float,
        default=90,
        help="skip a concurrent run when p50 × concurrency exceeds this many seconds",
    )
    parser.add_argument(
        "--compare-workers",
        type=int,
        default=2,
        help="also measure Q1/Q1r/Q2/Q7 @concurrency with this many uvicorn workers (1 = skip)",
    )
    parser.add_argument("--regenerate", action="store_true", help="regenerate SQLite files even if they match")
    parser.add_argument("--keep-pg", action="store_true", help="keep the PostgreSQL databases afterwards")
    parser.add_argument("--fresh", action="store_true", help="discard earlier entries of results.json")
    args = parser.parse_args(argv)
    args.command = "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    with exclusive():
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    results, fresh = load_results(args.fresh), args.fresh
    for database, size in [("sqlite", n) for n in args.sqlite] + [("postgresql", n) for n in args.postgresql]:
        print(f"== {database} {size:,} events", flush=True)
        entry = run_one(database, size, args)
        results, fresh = load_results(fresh), False  # merge into what is on disk now
        results[f"{database}:{size}"] = entry
        save(results)
        print(f"   done in {entry['elapsed_s']:.0f}s", flush=True)
    if not args.sqlite and not args.postgresql:
        save(results)  # re-render only
    print(f"wrote {RESULTS_MD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
