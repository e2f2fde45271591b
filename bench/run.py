"""Benchmark the dipevents API against Datasette on the same SQLite file and against the raw SQL floor, with wrk.

    python -m bench.run --sqlite 10000,1000000 --postgresql 10000,1000000 [--rounds 2 --seconds 3]

For each database and size: generate (or reuse) the data, start the API with one worker, the API with two
workers and (SQLite only) Datasette on loopback ports, check that the API, the floor and Datasette agree on
every case, time the floor in process, then drive each case with wrk at 1, 8 and 32 connections, the systems
interleaved (API, Datasette, API with two workers; again for every round) and each figure the median over
rounds. CPU per request comes from the server processes' own accounting (/proc/<pid>/stat). Results
accumulate in bench/results.json (one entry per database and size, replaced when re-measured) and are rendered
to bench/RESULTS.md after every entry. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import shlex
import shutil
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
from bench.proc import cpu_seconds
from bench.report import THROUGHPUT_CASES

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
RESULTS_JSON, RESULTS_MD = HERE / "results.json", HERE / "RESULTS.md"
WRK_SCRIPT = HERE / "wrk_mix.lua"
BIN = Path(sys.executable).parent
SEED = 42
DEEP_PAGE = 200
PACKAGES = ["fastapi", "starlette", "sqlalchemy", "pydantic", "uvicorn", "psycopg", "datasette"]
HEALTH = "/health/live"


# -- measurement -----------------------------------------------------------------------------------


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"n": 0, "p50": float("nan"), "p99": float("nan")}
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50": statistics.median(ordered) * 1000, "p99": p99 * 1000}


def sequential(call: Callable[[int], Any], requests: int, budget: float, warmup: int) -> dict[str, float]:
    """Up to `requests` timed calls after `warmup` untimed ones, stopping when `budget` seconds are spent
    (the floor in process, and exports)."""
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


def settle(pid: int, cap: float = 120) -> None:
    """Wait until the server is idle (under 10% of a core for 0.2 s): requests still in flight when wrk stops
    are finished by the server, and must not be charged to the next run."""
    deadline = time.monotonic() + cap
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_seconds(pid)
        if now - before < 0.02:
            return
        before = now


def wrk(
    base: str, pid: int, paths: list[str], connections: int, seconds: int, threads: int, timeout: int
) -> dict[str, Any]:
    """One wrk run over `paths` (rotated per request by bench/wrk_mix.lua): requests, req/s, p50/p99 (ms), responses
    by status class, socket errors and timeouts, and the server's CPU ms per completed request."""
    env = dict(os.environ, LOAD_PATHS="\n".join(paths))
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        f"{timeout}s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        base,
    ]
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    cpu = cpu_seconds(pid) - cpu_before  # at wrk's end: in-flight requests are half-charged, on average
    settle(pid)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1000:]} {done.stderr[-1000:]}")
    raw = json.loads(line.removeprefix("WRK_RESULT "))
    ok = raw["statuses"].get("2xx", 0)
    errors = raw["requests"] - ok + raw["socket_errors"] + raw["timeouts"]
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": ok,
        "rps": ok / seconds_run if seconds_run else 0.0,
        "p50": raw["p50_us"] / 1000 if ok else float("nan"),
        "p99": raw["p99_us"] / 1000 if ok else float("nan"),
        "errors": errors,
        "cpu_ms": cpu * 1000 / ok if ok else float("nan"),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds (NaN-free); the rounds themselves are kept too."""
    out: dict[str, Any] = {}
    for key in ("rps", "p50", "p99", "cpu_ms"):
        values = [r[key] for r in runs if r[key] == r[key]]
        out[key] = statistics.median(values) if values else float("nan")
    out["requests"] = sum(r["requests"] for r in runs)
    out["errors"] = sum(r["errors"] for r in runs)
    out["rounds"] = runs
    return out


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


def prepare(database: str, size: int, args: argparse.Namespace) -> tuple[str, float]:
    """A database URL holding `size` generated events, and the seconds spent generating (0 if reused). SQLite
    files (var/bench/, or `--data-dir`) and PostgreSQL databases (`dipevents_bench_<n>`, or the one `--pg-db`
    names) are reused while their dataset_state.version matches the generator's."""
    started = time.perf_counter()
    want = dataset_version(size, SEED)
    if database == "sqlite":
        path = (Path(args.data_dir) / sqlite_path(size).name) if args.data_dir else sqlite_path(size)
        url = f"sqlite:///{path}"
        if not args.regenerate and stored_version(url) == want:
            # Same data; the schema may be older than the code (migrations backfill what they add, such as the
            # aggregation tables of 0008), so it is brought to the head first, as `dipevents migrate` would.
            upgrade(url)
            return url, 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        named = args.pg_db.get(size)
        url = make_url(args.pg_url).set(database=named or f"dipevents_bench_{size}").render_as_string(False)
        if not args.regenerate and stored_version(url) == want:
            upgrade(url)  # as for SQLite: bring a reused database's schema to the head
            return url, 0.0
        if named:  # a database someone else generated (perhaps shared): never overwritten from here
            raise SystemExit(f"--pg-db {size}={named}: no complete benchmark dataset of {size:,} events there")
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
        admin.dispose()
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


class System:
    """One server under test: `api` (one uvicorn worker), `api2` (two workers) or `datasette` (one process)."""

    def __init__(self, name: str, base: str, pid: int, client: httpx.Client, ds_db: str = "") -> None:
        self.name, self.base, self.pid, self.client, self.ds_db = name, base, pid, client, ds_db

    def paths(self, case: c.Case) -> list[str]:
        if self.name == "datasette":
            return [case.datasette_path(self.ds_db, i) for i in range(len(case.requests))]
        return [r.api for r in case.requests]

    def get(self, case: c.Case, i: int = 0) -> httpx.Response:
        path = self.paths(case)[i % len(case.requests)]
        response = self.client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{case.name}: {self.name} {path} -> {response.status_code} {response.text[:300]}")
        return response


def durations(case: c.Case, estimate: float, args: argparse.Namespace) -> dict[int, int | None]:
    """wrk's seconds per connection count for one case and system: `--seconds` (or `--case-seconds`), longer for
    slow requests so that each connection completes two or three (at most `--max-seconds`); None (skipped) for a
    concurrent run whose requests in flight would take more than half of `--max-seconds` to drain."""
    base = args.case_seconds.get(case.name, args.seconds)
    out: dict[int, int | None] = {}
    for n in args.connections:
        work = estimate * n / min(n, os.cpu_count() or 1)  # seconds per request with n in flight
        if n > 1 and estimate * n > args.max_seconds / 2:
            out[n] = None
        else:
            out[n] = max(base, min(int(args.max_seconds), int((3 if n == 1 else 2) * work + 1)))
    return out


def warm(system: System, case: c.Case, first: float) -> float:
    """A request's latency for planning wrk durations: the best of the first request (cold caches) and, unless it
    took seconds, two more."""
    best = first
    for i in range(2 if first < 2 else 0):
        started = time.perf_counter()
        system.get(case, i + 1)
        best = min(best, time.perf_counter() - started)
    return best


def measure_case(
    case: c.Case,
    systems: list[System],
    floor: Any,
    dialect: c.Dialect,
    rss: RssSampler,
    args: argparse.Namespace,
) -> dict[str, Any]:
    print(f"  {case.name:4} {case.description}", flush=True)
    api = systems[0]
    ds = next((s for s in systems if s.name == "datasette"), None)

    def answer(response: httpx.Response) -> Any:
        return response.text if case.kind == "csv" else response.json()

    # Agreement first: the numbers mean nothing if the three do not return the same thing. The same requests
    # give a first estimate of each system's latency, which sets the wrk durations.
    estimate: dict[str, float] = {}
    started = time.perf_counter()
    api_sig = c.signature(case.kind, answer(api.get(case)))
    estimate["api"] = estimate["api2"] = warm(api, case, time.perf_counter() - started)
    checks = {"floor": c.signature(case.kind, c.run_sql(floor, dialect, case, case.requests[0]))}
    if ds is not None:
        started = time.perf_counter()
        checks["datasette"] = c.signature(case.kind, answer(ds.get(case)))
        estimate["datasette"] = warm(ds, case, time.perf_counter() - started)
    mismatched = [k for k, v in checks.items() if v != api_sig]
    if case.kind == "csv" and checks.get("datasette") == 1000 and api_sig > 1000:
        mismatched.remove("datasette")  # Datasette caps SQL results at max_returned_rows
    out: dict[str, Any] = {
        "description": case.description,
        "note": case.note,
        "kind": case.kind,
        "rows": rows_of(case.kind, api_sig),
        "check": "ok" if not mismatched else "MISMATCH: " + ", ".join(mismatched),
        "systems": {},
    }
    slow = case.kind == "csv" or estimate["api"] > 1
    count, warmup = (min(args.requests, 20), 1) if slow else (args.requests, args.warmup)
    out["floor"] = sequential(
        lambda i: c.run_sql(floor, dialect, case, case.requests[i % len(case.requests)]), count, args.budget, warmup
    )
    if case.kind == "csv":  # exports: rows/s one at a time and the server's private memory while streaming
        if ds is not None:
            out["datasette_rows"] = checks["datasette"]
        out["rss_base_mb"] = rss.reset() / 2**20
        out["api"] = sequential(lambda i: api.get(case, i), count, args.budget, warmup)
        out["rss_seq_mb"] = rss.peak / 2**20
        if ds is not None:
            out["datasette"] = sequential(lambda i: ds.get(case, i), count, args.budget, warmup)
        out["rows_per_s"] = {
            k: (out["datasette_rows"] if k == "datasette" else out["rows"]) / (out[k]["p50"] / 1000)
            for k in ("api", "floor", "datasette")
            if k in out
        }
        return out

    runs: dict[str, dict[int, list[dict[str, Any]]]] = {}
    skipped: set[str] = set()
    for _ in range(args.rounds):
        for system in systems:
            if system.name == "api2" and case.name not in THROUGHPUT_CASES:
                continue
            for n, seconds in durations(case, estimate[system.name], args).items():
                if system.name == "api2" and n == 1:
                    continue
                if seconds is None:
                    skipped.add(f"{system.name}@{n}")
                    continue
                result = wrk(system.base, system.pid, system.paths(case), n, seconds, args.wrk_threads, args.timeout)
                runs.setdefault(system.name, {}).setdefault(n, []).append(result)
    out["systems"] = {name: {f"c{n}": median_of(r) for n, r in levels.items()} for name, levels in runs.items()}
    if skipped:
        out["skipped"] = sorted(skipped)
    return out


def run_one(database: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    url, generate_s = prepare(database, size, args)
    dialect = c.Dialect(database)
    entry: dict[str, Any] = {
        "database": database,
        "size": size,
        "command": args.command,
        "machine": machine(args.pg_url),
        "memory": "private",
        "load_generator": wrk_version(),
        "rounds": args.rounds,
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "generate_s": round(generate_s, 1),
    }
    timings: dict[str, float] = {}
    entry["timings_s"] = timings
    try:
        with ExitStack() as stack:
            mark = time.perf_counter()
            api_base, api_pid = stack.enter_context(api_server(url))
            api_client = stack.enter_context(httpx.Client(base_url=api_base, timeout=600))
            systems = [System("api", api_base, api_pid, api_client)]
            rss = RssSampler(api_pid)
            rss.start()
            stack.callback(rss.stopped.set)
            ds_db = ""
            deep = walk_cursors(api_client, DEEP_PAGE)
            timings["cursor_walk"] = round(time.perf_counter() - mark, 1)
            event_ids = [f"ev-{i:07d}" for i in range(0, size, max(1, size // 50))]
            cases = [case for case in c.build(dialect, event_ids, deep) if not args.cases or case.name in args.cases]
            mark = time.perf_counter()
            if database == "sqlite":
                path = Path(make_url(url).database or "")
                ds_db = path.stem
                meta = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "metadata.json"
                queries = {case.name.lower(): {"sql": case.sql} for case in cases}
                meta.write_text(json.dumps({"databases": {ds_db: {"queries": queries}}}))
                ds_base, ds_pid = stack.enter_context(datasette_server(path, meta))
                ds_client = stack.enter_context(httpx.Client(base_url=ds_base, timeout=600))
                systems.append(System("datasette", ds_base, ds_pid, ds_client, ds_db))
            if args.compare_workers > 1 and any(case.name in THROUGHPUT_CASES for case in cases):
                base2, pid2 = stack.enter_context(api_server(url, args.compare_workers))
                client2 = stack.enter_context(httpx.Client(base_url=base2, timeout=600))
                systems.append(System("api2", base2, pid2, client2))
                entry["compare_workers"] = args.compare_workers
            timings["servers_start"] = round(time.perf_counter() - mark, 1)
            floor = floor_connection(url)
            stack.callback(floor.close)
            mark = time.perf_counter()
            entry["health"] = median_of(
                [wrk(api_base, api_pid, [HEALTH], 1, args.seconds, 1, args.timeout) for _ in range(args.rounds)]
            )
            timings["health"] = round(time.perf_counter() - mark, 1)
            entry["cases"] = {}
            for case in cases:
                case_started = time.perf_counter()
                entry["cases"][case.name] = measure_case(case, systems, floor, dialect, rss, args)
                timings[case.name] = round(time.perf_counter() - case_started, 1)
    finally:
        if database == "postgresql" and args.drop_pg and not args.pg_db.get(size):
            drop_pg(args.pg_url, url)
    entry["elapsed_s"] = round(time.perf_counter() - started, 1)
    return entry


def wrk_version() -> str:
    found = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (found.stdout or found.stderr).splitlines()[0].strip() if (found.stdout or found.stderr) else "wrk"


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
    parser.add_argument(
        "--pg-db",
        type=lambda s: {int(k): v for k, v in (x.split("=", 1) for x in s.split(",") if x)},
        default={},
        help="use an existing PostgreSQL database for a size, never regenerated nor dropped: 1000000=bench_shared_1m",
    )
    parser.add_argument("--data-dir", help="where the SQLite files are (default var/bench/)")
    parser.add_argument("--cases", type=lambda s: set(s.split(",")), default=set(), help="only these, e.g. Q1,Q7")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (API, Datasette, API ×2) per case")
    parser.add_argument("--seconds", type=int, default=3, help="wrk duration of each run (at least)")
    parser.add_argument(
        "--case-seconds",
        type=lambda s: {k: int(v) for k, v in (x.split("=", 1) for x in s.split(",") if x)},
        default={},
        help="per-case wrk duration instead of --seconds, e.g. Q7=5,Q1=5",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=60,
        help="longest wrk run for a slow case; a concurrent run is skipped when latency × connections exceeds it",
    )
    parser.add_argument("--connections", type=sizes, default=[1, 8, 32], help="wrk connection counts")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (it shares the cores with the server)")
    parser.add_argument("--timeout", type=int, default=60, help="wrk's per-request timeout, seconds")
    parser.add_argument("--requests", type=int, default=200, help="floor and export: sequential requests (at most)")
    parser.add_argument("--budget", type=float, default=3, help="floor and export: seconds per case and target")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--compare-workers",
        type=int,
        default=2,
        help="also measure Q1/Q1r/Q2/Q7 at 8 and 32 connections with this many uvicorn workers (1 = skip)",
    )
    parser.add_argument("--regenerate", action="store_true", help="regenerate data even if it matches")
    parser.add_argument("--drop-pg", action="store_true", help="drop the generated PostgreSQL databases afterwards")
    parser.add_argument("--fresh", action="store_true", help="discard earlier entries of results.json")
    args = parser.parse_args(argv)
    args.command = "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    if (args.sqlite or args.postgresql) and shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (make bench installs it: apt-get install wrk)")
    with exclusive():
        run_all(args)


def merge(earlier: dict[str, Any] | None, entry: dict[str, Any]) -> dict[str, Any]:
    """A run of some cases (`--cases`) replaces only those in the earlier entry of the same database and size;
    the runs table then shows the later command, and the seconds of every part measured."""
    if earlier is None or "cases" not in earlier:
        return entry
    cases = {**earlier["cases"], **entry["cases"]}
    order = [
        case.name
        for case in c.build(c.Dialect(entry["database"]), ["ev-0000000"], ("", "", ("2000-01-01", "ev-0000000")))
    ]
    entry["cases"] = dict(sorted(cases.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
    entry["timings_s"] = {**earlier.get("timings_s", {}), **entry["timings_s"]}
    entry["elapsed_s"] = round(earlier.get("elapsed_s", 0) + entry["elapsed_s"], 1)
    entry["command"] = f"{earlier['command']}; then {entry['command']}"
    return entry


def run_all(args: argparse.Namespace) -> None:
    results, fresh = load_results(args.fresh), args.fresh
    for database, size in [("sqlite", n) for n in args.sqlite] + [("postgresql", n) for n in args.postgresql]:
        print(f"== {database} {size:,} events", flush=True)
        entry = run_one(database, size, args)
        results, fresh = load_results(fresh), False  # merge into what is on disk now
        results[f"{database}:{size}"] = merge(results.get(f"{database}:{size}"), entry) if args.cases else entry
        save(results)
        print(f"   done in {entry['elapsed_s']:.0f}s", flush=True)
    if not args.sqlite and not args.postgresql:
        save(results)  # re-render only
    print(f"wrote {RESULTS_MD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
