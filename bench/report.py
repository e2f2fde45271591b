"""Render bench/results.json as bench/RESULTS.md: machine, versions, commands, per-run tables, growth, and the
targets of issue 15, each MET / NOT MET with its measured figures and the lead's note from bench/NOTES.md.

NOTES.md holds one section per target, headed by its id (`## T3`, see TARGETS); the section's text fills the
target's "profile / what would close it" cell (lines joined). Anything before the first such heading, and any
section not named after a target, is left out of the cell and printed verbatim at the end of RESULTS.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTES_MD = HERE / "NOTES.md"
GROWTH_CASES = ["Q1", "Q1r", "Q2", "Q6", "Q7"]
THROUGHPUT_CASES = ("Q1", "Q1r", "Q2", "Q7")  # the cases the throughput targets name
PAGE_CASES = ("Q1", "Q1r", "Q2")
RSS_FLAT_MB = 50  # an export is "flat" if the server grows by less than this while streaming it
TARGET_SIZE = 1_000_000
MET, NOT_MET, UNMEASURED = "**MET**", "**NOT MET**", "not measured"
SYSTEM_LABEL = {"api": "API, 1 worker", "api2": "API, 2 workers", "datasette": "Datasette"}


def ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def get(node: Any, *path: str) -> float | None:
    value: Any = node
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def wrk_figure(case: dict[str, Any], system: str, level: str, key: str) -> float | None:
    value = get(case, "systems", system, level, key)
    return None if value is None or math.isnan(value) else value


def ordered(results: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(results.values(), key=lambda e: (e["database"] != "sqlite", e["size"]))


def label(entry: dict[str, Any]) -> str:
    return f"{'SQLite' if entry['database'] == 'sqlite' else 'PostgreSQL'}, {entry['size']:,} events"


def by_database(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in ordered(results):
        if "systems" in next(iter(entry.get("cases", {}).values()), {"systems": 1}):  # wrk-era entries only
            out.setdefault(entry["database"], []).append(entry)
    return out


# -- per-run tables --------------------------------------------------------------------------------------------


def case_table(entry: dict[str, Any]) -> list[str]:
    head = [
        "case",
        "system",
        "p50 @1",
        "p99 @1",
        "req/s @8",
        "p50 @8",
        "p99 @8",
        "req/s @32",
        "p50 @32",
        "p99 @32",
        "CPU ms/req @1",
        "CPU ms/req @32",
        "CPU @32/@1",
        "errors",
        "floor p50",
        "p50 @1 / floor",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    health = entry.get("health")
    if health:
        lines.append(
            f"| health | API, 1 worker `/health/live` | {ms(health['p50'])} | {ms(health['p99'])} | | | | | | | "
            f"{ms(health['cpu_ms'])} | | | {health['errors']} | | |"
        )
    for name, case in entry["cases"].items():
        if case["kind"] == "csv":
            continue
        first = True
        for system, levels in case.get("systems", {}).items():
            errors = sum(level.get("errors", 0) for level in levels.values())
            cells = [
                f"{name}: {case['description']}, {case['rows']:,} rows, {case['check']}" if first else "",
                SYSTEM_LABEL.get(system, system),
                ms(wrk_figure(case, system, "c1", "p50")),
                ms(wrk_figure(case, system, "c1", "p99")),
                _rps(wrk_figure(case, system, "c8", "rps")),
                ms(wrk_figure(case, system, "c8", "p50")),
                ms(wrk_figure(case, system, "c8", "p99")),
                _rps(wrk_figure(case, system, "c32", "rps")),
                ms(wrk_figure(case, system, "c32", "p50")),
                ms(wrk_figure(case, system, "c32", "p99")),
                ms(wrk_figure(case, system, "c1", "cpu_ms")),
                ms(wrk_figure(case, system, "c32", "cpu_ms")),
                x(ratio(wrk_figure(case, system, "c32", "cpu_ms"), wrk_figure(case, system, "c1", "cpu_ms"))),
                str(errors),
                ms(get(case, "floor", "p50")) if first else "",
                x(ratio(wrk_figure(case, system, "c1", "p50"), get(case, "floor", "p50"))),
            ]
            lines.append("| " + " | ".join(cells) + " |")
            first = False
        if case.get("skipped"):
            lines.append(f"| {name} | skipped (latency × connections > the run cap): {', '.join(case['skipped'])} |")
    exports = [(n, cs) for n, cs in entry["cases"].items() if cs["kind"] == "csv"]
    if exports:
        lines += ["", "Exports, one request at a time (httpx): "]
        for n, cs in exports:
            rates = cs["rows_per_s"]
            text = (
                f"- {n} ({cs['description']}, {cs['rows']:,} rows, {cs['check']}): API {rates['api']:,.0f} rows/s, "
                f"private memory {cs['rss_base_mb']:.0f} MB → peak {cs['rss_seq_mb']:.0f} MB while streaming; "
                f"floor {rates['floor']:,.0f} rows/s"
            )
            if "datasette" in rates:
                capped = " (capped by max_returned_rows)" if cs["datasette_rows"] < cs["rows"] else ""
                text += f"; Datasette {rates['datasette']:,.0f} rows/s over {cs['datasette_rows']:,} rows{capped}"
            lines.append(text)
    return lines


def _rps(value: float | None) -> str:
    return "–" if value is None else "0 (none completed)" if value == 0 else f"{value:.0f}"


def growth_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Growth with data size (p50 at one connection, ms, API one worker)", ""]
    for database, entries in by_database(results).items():
        sizes = [e["size"] for e in entries]
        lines += [
            f"**{'SQLite' if database == 'sqlite' else 'PostgreSQL'}**",
            "",
            "| case | " + " | ".join(f"{s:,}" for s in sizes) + f" | p50({sizes[-1]:,}) / p50({sizes[0]:,}) |",
            "|" + "---|" * (len(sizes) + 2),
        ]
        for name in GROWTH_CASES:
            p50s = [wrk_figure(e["cases"].get(name, {}), "api", "c1", "p50") for e in entries]
            lines.append(f"| {name} | " + " | ".join(ms(p) for p in p50s) + f" | {x(ratio(p50s[-1], p50s[0]))} |")
        lines.append("")
    return lines


# -- targets ---------------------------------------------------------------------------------------------------

Check = tuple[str, float | None, Callable[[float], bool]]  # (what, measured value, passes)


def verdict(checks: list[tuple[str, float | str | None, bool | None]], unit: str = "") -> tuple[str, str]:
    """MET if every measured check passes; the evidence lists each value (a string stands for itself), ✗ if failed."""
    measured = [(k, v, ok) for k, v, ok in checks if v is not None and ok is not None]
    if not measured:
        return UNMEASURED, ""
    status = MET if all(ok for _, _, ok in measured) else NOT_MET
    return status, "; ".join(
        (f"{k} {v}" if isinstance(v, str) else f"{k} {v:.2f}{unit}") + ("" if ok else " ✗") for k, v, ok in measured
    )


def largest(groups: dict[str, list[dict[str, Any]]], database: str) -> dict[str, Any] | None:
    entries = groups.get(database)
    return entries[-1] if entries else None


def scope(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return ""
    return "" if entry["size"] >= TARGET_SIZE else f" (at {entry['size']:,} events; the target is at 1M)"


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(id, target, status, measured) for every target of issue 15."""
    groups = by_database(results)
    sq, pg = largest(groups, "sqlite"), largest(groups, "postgresql")
    rows: list[tuple[str, str, str, str]] = []

    def add(tid: str, what: str, checks: list[tuple[str, float | None, bool | None]], entry: Any, unit: str = ""):
        status, evidence = verdict(checks, unit)
        rows.append((tid, what, status, evidence + (scope(entry) if evidence else "")))

    def cases(entry: dict[str, Any] | None) -> dict[str, Any]:
        return entry["cases"] if entry else {}

    def throughput(system: str, floor_ratio: float) -> list[tuple[str, float | None, bool | None]]:
        out = []
        for q in THROUGHPUT_CASES:
            for level in ("c8", "c32"):
                r = ratio(
                    wrk_figure(cases(sq).get(q, {}), system, level, "rps"),
                    wrk_figure(cases(sq).get(q, {}), "datasette", level, "rps"),
                )
                out.append((f"{q}@{level[1:]}", r, None if r is None else r >= floor_ratio))
        return out

    add(
        "T1",
        "throughput, one worker, 8 and 32 connections, Q1/Q1r/Q2/Q7 ≥ 1.5× Datasette (one process)",
        throughput("api", 1.5),
        sq,
        "×",
    )
    add("T2", "throughput, two workers, same cases ≥ 2.5× Datasette", throughput("api2", 2.5), sq, "×")

    q7 = cases(sq).get("Q7", {})
    p50, floor, health = wrk_figure(q7, "api", "c1", "p50"), get(q7, "floor", "p50"), get(sq or {}, "health", "p50")
    limit = None if floor is None or health is None else health + 3 * floor
    q7_checks: list[tuple[str, float | None, bool | None]] = [
        ("Q7 p50", p50, None if p50 is None or limit is None else p50 <= limit),
    ]
    status, _ = verdict(q7_checks)
    rows.append(
        (
            "T3",
            "Q7 one event by id, p50 at 1 connection ≤ the API's own `/health/live` p50 + 3× the raw SQL floor",
            status,
            ""
            if limit is None or p50 is None
            else f"p50 {ms(p50)} ms vs /health/live {ms(health)} + 3 × floor {ms(floor)} = {ms(limit)} ms" + scope(sq),
        )
    )

    page: list[tuple[str, float | None, bool | None]] = []
    for q in PAGE_CASES:
        case = cases(sq).get(q, {})
        vs_ds = ratio(wrk_figure(case, "api", "c1", "p50"), wrk_figure(case, "datasette", "c1", "p50"))
        vs_floor = ratio(wrk_figure(case, "api", "c1", "p50"), get(case, "floor", "p50"))
        page += [
            (f"{q} /Datasette", vs_ds, None if vs_ds is None else vs_ds <= 0.6),
            (f"{q} /floor", vs_floor, None if vs_floor is None else vs_floor <= 2),
        ]
    add("T4", "Q1, Q1r, Q2 page of 50, p50 ≤ 0.6× Datasette and ≤ 2× floor", page, sq, "×")

    for tid, q, bound, what in (
        ("T5", "Q4", 0.3, "Q4 timeline per year for an actor, p50 ≤ 0.3× Datasette"),
        ("T6", "Q5", 0.2, "Q5 all five facets for a topic, p50 ≤ 0.2× Datasette (moonshot: under 100 ms)"),
    ):
        case = cases(sq).get(q, {})
        api_p50, ds_p50 = wrk_figure(case, "api", "c1", "p50"), wrk_figure(case, "datasette", "c1", "p50")
        r = ratio(api_p50, ds_p50)
        status, evidence = verdict([(f"{q} API/Datasette", r, None if r is None else r <= bound)], "×")
        if evidence:
            evidence += f" (API {ms(api_p50)} ms, Datasette {ms(ds_p50)} ms)" + scope(sq)
        rows.append((tid, what, status, evidence))

    cpu = []
    for q, case in cases(sq).items():
        r = ratio(wrk_figure(case, "api", "c32", "cpu_ms"), wrk_figure(case, "api", "c1", "cpu_ms"))
        if wrk_figure(case, "api", "c32", "requests") == 0:
            cpu.append((q, "completed no request at 32 connections", False))  # type: ignore[arg-type]
        elif case["kind"] != "csv":
            cpu.append((q, r, None if r is None else r <= 1.2))
    add("T7", "CPU per request, 32 vs 1 connection, every case (API, one worker) ≤ 1.2×", cpu, sq, "×")

    growth: list[tuple[str, float | None, bool | None]] = []
    growth_scope = []
    for database, entries in groups.items():
        small, large = entries[0], entries[-1]
        if small is large:
            continue
        growth_scope.append(f"{database}: p50({large['size']:,})/p50({small['size']:,})")
        for q in GROWTH_CASES:
            r = ratio(
                wrk_figure(large["cases"].get(q, {}), "api", "c1", "p50"),
                wrk_figure(small["cases"].get(q, {}), "api", "c1", "p50"),
            )
            growth.append((f"{q}@{database[:2]}", r, None if r is None else r <= 1.5))
    status, evidence = verdict(growth, "×")
    rows.append(
        (
            "T8",
            "growth p50(1M)/p50(10k) ≤ 1.5×, Q1/Q1r/Q2/Q6/Q7, both databases",
            status,
            evidence + (f" ({'; '.join(growth_scope)})" if evidence else ""),
        )
    )

    pg1m = results.get(f"postgresql:{TARGET_SIZE}")
    p99 = (
        [(f"{q} p99", wrk_figure(pg1m["cases"].get(q, {}), "api", "c1", "p99"), None) for q in ("Q1", "Q2")]
        if pg1m
        else []
    )
    p99 = [(k, v, None if v is None else v < 50) for k, v, _ in p99]
    add("T9", "PostgreSQL 1M, Q1/Q2 p99 < 50 ms at 1 connection", p99, pg1m, " ms")

    export: list[tuple[str, float | None, bool | None]] = []
    for database, entry in (("sq", sq), ("pg", pg)):
        if entry is None:
            continue
        q8 = entry["cases"].get("Q8")
        if q8:
            rate = q8["rows_per_s"]["api"] / 1000
            export.append((f"Q8@{database} k rows/s", rate, rate >= 20))
        for q in ("Q8", "Q8x"):
            case = entry["cases"].get(q)
            if case:
                growth_mb = case["rss_seq_mb"] - case["rss_base_mb"]
                export.append((f"{q}@{database} memory growth MB", growth_mb, growth_mb < RSS_FLAT_MB))
    status, evidence = verdict(export)
    sizes = ", ".join(f"{e['database']} {e['size']:,}" for e in (sq, pg) if e)
    rows.append(
        (
            "T10",
            f"filtered CSV export (Q8) at 1M, both databases ≥ 20k rows/s, flat memory (< {RSS_FLAT_MB} MB growth)",
            status,
            evidence + (f" (at {sizes} events)" if evidence else ""),
        )
    )
    return rows


def notes(path: Path | None = None) -> tuple[dict[str, str], str]:
    """The lead's notes (bench/NOTES.md): {target id: text} from `## T<n>` sections, and everything else verbatim."""
    path = path or NOTES_MD
    if not path.exists():
        return {}, ""
    by_target: dict[str, str] = {}
    rest: list[str] = []
    current: str | None = None
    for line in path.read_text().splitlines():
        heading = re.fullmatch(r"##\s+(T\d+)\b.*", line.strip())
        if heading:
            current = heading[1]
            by_target[current] = ""
            continue
        if line.startswith("#"):
            current = None
        if current:
            by_target[current] = (by_target[current] + " " + line.strip()).strip()
        else:
            rest.append(line)
    return by_target, re.sub(r"<!--.*?-->", "", "\n".join(rest), flags=re.DOTALL).strip()  # not its own guide


def targets_section(results: dict[str, Any]) -> list[str]:
    by_target, _ = notes()
    lines = [
        "## Targets (issue 15)",
        "",
        "1M events on SQLite unless said; ratios from one interleaved run (each figure the median over rounds); "
        "p50/p99 at one connection unless said. A target is judged on the largest size measured.",
        "",
        "| id | target | status | measured | profile / what would close it (bench/NOTES.md) |",
        "|---|---|---|---|---|",
    ]
    for tid, what, status, evidence in targets(results):
        note = by_target.get(tid, "").replace("|", "\\|")
        lines.append(f"| {tid} | {what} | {status} | {evidence or '–'} | {note} |")
    return [*lines, ""]


def render(results: dict[str, Any]) -> str:
    groups = by_database(results)
    entries = [e for es in groups.values() for e in es]
    lines = [
        "# dipevents benchmark results",
        "",
        "Written by `bench/run.py` from `bench/results.json` (and `bench/NOTES.md`); do not edit by hand. "
        "How it measures: `bench/README.md`.",
        "",
    ]
    if not entries:
        return "\n".join([*lines, "No results yet."]) + "\n"
    latest_entry = max(entries, key=lambda e: e["started"])
    latest = latest_entry["machine"]
    lines += [
        *targets_section(results),
        "## Machine and versions",
        "",
        f"- CPU: {latest['cpus']} × {latest['cpu_model']}; RAM {latest['ram_gib']} GiB; {latest['os']}",
        f"- Python {latest['python']}, SQLite {latest['sqlite']}, PostgreSQL {latest.get('postgresql', '–')}",
        "- " + ", ".join(f"{p} {v}" for p, v in latest["packages"].items()),
        f"- Load generator: {latest_entry.get('load_generator', 'wrk')}, one thread, on the same cores as the "
        "servers. One uvicorn worker, two uvicorn workers (Q1/Q1r/Q2/Q7 at 8 and 32 connections) and one Datasette "
        "process, all up during a run and measured in turn.",
        "",
        "## Runs",
        "",
        "| database | events | started | command | rounds | data generation s | run s | seconds per part |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        parts = ", ".join(f"{k} {v:g}" for k, v in e.get("timings_s", {}).items())
        lines.append(
            f"| {e['database']} | {e['size']:,} | {e['started']} | `{e['command']}` | {e.get('rounds', '–')} | "
            f"{e['generate_s'] or 'reused'} | {e['elapsed_s']} | {parts} |"
        )
    lines += [
        "",
        "Latencies in ms, from wrk (`--latency`): *@1* one connection, *@8*/*@32* that many connections for a "
        "fixed time; each figure is the median over the interleaved rounds. *CPU ms/req*: the server processes' "
        "utime + stime (`/proc/<pid>/stat`, with uvicorn's worker processes) over the run, per completed request; "
        "on PostgreSQL the database server's own CPU is not included. *floor*: the same SQL Datasette runs, "
        "executed directly in process (sqlite3/psycopg). *rows*: `total` for lists and facets, buckets for the "
        "timeline, rows for exports. *ok*: the API, the floor and Datasette returned the same ids and totals.",
        "",
    ]
    for e in entries:
        lines += [f"## {label(e)}", "", *case_table(e), ""]
    lines += growth_section(results)
    _, rest = notes()
    if rest:
        lines += ["## Notes (bench/NOTES.md)", "", rest, ""]
    return "\n".join(lines) + "\n"
