"""Render bench/results.json as bench/RESULTS.md: machine, versions, commands, per-run tables, growth, targets."""

from __future__ import annotations

import math
from typing import Any

GROWTH_CASES = ["Q1", "Q1r", "Q2", "Q6", "Q7"]
DATASETTE_CASES = THROUGHPUT_CASES = ("Q1", "Q1r", "Q2", "Q7")  # the cases the latency and throughput targets name
RSS_FLAT_MB = 50  # an export is "flat" if the server grows by less than this while streaming it
MET, NOT_MET, UNMEASURED = "**MET**", "**NOT MET**", "not measured"


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


def get(case: dict[str, Any], *path: str) -> float | None:
    value: Any = case
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def ordered(results: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(results.values(), key=lambda e: (e["database"] != "sqlite", e["size"]))


def label(entry: dict[str, Any]) -> str:
    return f"{'SQLite' if entry['database'] == 'sqlite' else 'PostgreSQL'}, {entry['size']:,} events"


def case_table(entry: dict[str, Any]) -> list[str]:
    ds = entry["database"] == "sqlite"
    workers = entry.get("compare_workers")
    head = [
        "case",
        "what",
        "rows",
        "p50 ms",
        "p99 ms",
        "req/s @32",
        "p50 @32",
        "p99 @32",
        *([f"req/s @32, {workers} workers"] if workers else []),
        _memory(entry),
        "floor p50",
    ]
    if ds:
        head += ["Datasette p50", "Datasette req/s @32", "API/Datasette p50", "req/s API/Datasette"]
    head += ["API/floor p50", "check"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, case in entry["cases"].items():
        what = case["description"] + (
            f" ({case['note']})" if case.get("note") and case["note"] not in case["description"] else ""
        )
        rps = get(case, "api_conc", "rps")
        cells = [
            name,
            what,
            f"{case['rows']:,}",
            ms(get(case, "api", "p50")),
            ms(get(case, "api", "p99")),
            "–" if rps is None else f"{rps:.0f}",
            ms(get(case, "api_conc", "p50")),
            ms(get(case, "api_conc", "p99")),
            *([_rps(get(case, "api_conc_workers", "rps"))] if workers else []),
            f"{case['rss_mb']:.0f}",
            ms(get(case, "floor", "p50")),
        ]
        if ds:
            ds_rps = get(case, "datasette_conc", "rps")
            cells += [
                ms(get(case, "datasette", "p50")),
                "–" if ds_rps is None else f"{ds_rps:.0f}",
                x(ratio(get(case, "api", "p50"), get(case, "datasette", "p50"))),
                x(ratio(rps, ds_rps)),
            ]
        cells += [x(ratio(get(case, "api", "p50"), get(case, "floor", "p50"))), case["check"]]
        lines.append("| " + " | ".join(cells) + " |")
    exports = [(n, cs) for n, cs in entry["cases"].items() if cs["kind"] == "csv"]
    if exports:
        lines += [
            "",
            "Exports: "
            + "; ".join(
                f"{n}: API {cs['rows_per_s']['api']:,.0f} rows/s ({_memory(entry)} {cs['rss_base_mb']:.0f} → peak {seq_peak(cs):.0f} "
                f"streaming one at a time, {cs['rss_mb']:.0f} MB with @32), "
                f"floor {cs['rows_per_s']['floor']:,.0f} rows/s"
                + (
                    f", Datasette {cs['rows_per_s']['datasette']:,.0f} rows/s over {cs['datasette_rows']:,} rows"
                    + (" (capped by max_returned_rows)" if cs["datasette_rows"] < cs["rows"] else "")
                    if "datasette" in cs["rows_per_s"]
                    else ""
                )
                for n, cs in exports
            )
            + ".",
        ]
    return lines


def _memory(entry: dict[str, Any]) -> str:
    """Entries measured since the API reads SQLite through mmap report private memory (RSS minus file pages)."""
    return "API private MB" if entry.get("memory") == "private" else "API RSS MB"


def _rps(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def seq_peak(case: dict[str, Any]) -> float:
    return case.get("rss_seq_mb", case["rss_mb"])


def by_database(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in ordered(results):
        out.setdefault(entry["database"], []).append(entry)
    return out


def growth_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Growth with data size (sequential p50, ms)", ""]
    for database, entries in by_database(results).items():
        sizes = [e["size"] for e in entries]
        lines += [
            f"**{'SQLite' if database == 'sqlite' else 'PostgreSQL'}**",
            "",
            "| case | " + " | ".join(f"{s:,}" for s in sizes) + f" | p50({sizes[-1]:,}) / p50({sizes[0]:,}) |",
            "|" + "---|" * (len(sizes) + 2),
        ]
        for name in GROWTH_CASES:
            p50s = [get(e["cases"].get(name, {}), "api", "p50") for e in entries]
            lines.append(f"| {name} | " + " | ".join(ms(p) for p in p50s) + f" | {x(ratio(p50s[-1], p50s[0]))} |")
        q6 = [ratio(get(e["cases"].get("Q6", {}), "api", "p50"), get(e["cases"]["Q1"], "api", "p50")) for e in entries]
        lines += ["| Q6/Q1 | " + " | ".join(x(r) for r in q6) + " | |", ""]
    return lines


def verdict(values: list[tuple[str, float | None]], ok: Any) -> tuple[str, str]:
    measured = [(k, v) for k, v in values if v is not None]
    if not measured:
        return UNMEASURED, ""
    failing = [k for k, v in measured if not ok(v)]
    evidence = ", ".join(f"{k} {v:.2f}" for k, v in measured)
    return (NOT_MET if failing else MET), evidence


def targets_section(results: dict[str, Any]) -> list[str]:
    entries = ordered(results)
    sqlite = [e for e in entries if e["database"] == "sqlite"]
    rows: list[tuple[str, str, str]] = []

    def name(e: dict[str, Any], case: str) -> str:
        return f"{case}@{'sq' if e['database'] == 'sqlite' else 'pg'}{e['size'] // 1000}k"

    vs_ds = [
        (name(e, q), ratio(get(e["cases"][q], "api", "p50"), get(e["cases"][q], "datasette", "p50")))
        for e in sqlite
        for q in DATASETTE_CASES
        if q in e["cases"]
    ]
    rows.append(("Q1/Q1r/Q2/Q7 p50 ≤ 0.8× Datasette", *verdict(vs_ds, lambda v: v <= 0.8)))
    vs_floor = [
        (name(e, q), ratio(get(e["cases"][q], "api", "p50"), get(e["cases"][q], "floor", "p50")))
        for e in entries
        for q in DATASETTE_CASES
        if q in e["cases"]
    ]
    rows.append(("Q1/Q1r/Q2/Q7 p50 ≤ 3× raw SQL floor", *verdict(vs_floor, lambda v: v <= 3)))
    for key, what in (("api_conc", "one worker"), ("api_conc_workers", "the compared worker count")):
        thr = [
            (
                name(e, q) + (f"/{e.get('compare_workers')}w" if key == "api_conc_workers" else ""),
                ratio(get(e["cases"][q], key, "rps"), get(e["cases"][q], "datasette_conc", "rps")),
            )
            for e in sqlite
            for q in THROUGHPUT_CASES
            if q in e["cases"]
        ]
        if thr:
            rows.append(
                (
                    f"throughput @32 ≥ 1.5× Datasette (Q1/Q1r/Q2/Q7), API with {what}, Datasette one process",
                    *verdict(thr, lambda v: v >= 1.5),
                )
            )
    for database, group in by_database(results).items():
        small, large = group[0], group[-1]
        growth = (
            [
                (
                    f"{q}@{database[:2]}",
                    ratio(get(large["cases"].get(q, {}), "api", "p50"), get(small["cases"].get(q, {}), "api", "p50")),
                )
                for q in GROWTH_CASES
            ]
            if len(group) > 1
            else []
        )
        status, evidence = verdict(growth, lambda v: v <= 1.5)
        scope = f"p50({large['size']:,})/p50({small['size']:,})"
        if large["size"] < 1_000_000 and status != UNMEASURED:
            scope += "; 1M not measured"
        rows.append((f"growth ≤ 1.5× on {database} ({scope})", status, evidence))
    q6 = [
        (name(e, "Q6"), ratio(get(e["cases"]["Q6"], "api", "p50"), get(e["cases"]["Q1"], "api", "p50")))
        for e in entries
        if "Q6" in e["cases"]
    ]
    rows.append(("Q6 (deep page) p50 ≤ 1.2× Q1 p50", *verdict(q6, lambda v: v <= 1.2)))
    rate = [(name(e, "Q8"), get(e["cases"]["Q8"], "rows_per_s", "api") / 1000) for e in entries if "Q8" in e["cases"]]
    status, evidence = verdict(rate, lambda v: v >= 20)
    growth_mb = [
        (name(e, q), seq_peak(e["cases"][q]) - e["cases"][q]["rss_base_mb"])
        for e in entries
        for q in ("Q8", "Q8x")
        if q in e["cases"]
    ]
    flat_status, flat = verdict(growth_mb, lambda v: v < RSS_FLAT_MB)
    both = NOT_MET if NOT_MET in (status, flat_status) else status
    rows.append(
        (
            "Q8 export ≥ 20k rows/s with flat memory",
            both,
            f"k rows/s: {evidence}; memory growth MB while streaming one export (flat if < {RSS_FLAT_MB}): {flat}",
        )
    )
    pg1m = results.get("postgresql:1000000")
    p99 = [(q, get(pg1m["cases"][q], "api", "p99")) for q in ("Q1", "Q2")] if pg1m else []
    rows.append(("PostgreSQL 1M: Q1/Q2 p99 < 50 ms", *verdict(p99, lambda v: v < 50)))
    return [
        "## Targets",
        "",
        "| target | status | evidence (ratio or value per case@database+size) |",
        "|---|---|---|",
        *[f"| {t} | {s} | {ev} |" for t, s, ev in rows],
        "",
    ]


def render(results: dict[str, Any]) -> str:
    entries = ordered(results)
    lines = [
        "# dipevents benchmark results",
        "",
        "Written by `bench/run.py` from `bench/results.json`; do not edit by hand. How to run: `bench/README.md`.",
        "",
    ]
    if not entries:
        return "\n".join([*lines, "No results yet."]) + "\n"
    latest = max(entries, key=lambda e: e["started"])["machine"]
    lines += [
        "## Machine and versions",
        "",
        f"- CPU: {latest['cpus']} × {latest['cpu_model']}; RAM {latest['ram_gib']} GiB; {latest['os']}",
        f"- Python {latest['python']}, SQLite {latest['sqlite']}, PostgreSQL {latest.get('postgresql', '–')}",
        "- " + ", ".join(f"{p} {v}" for p, v in latest["packages"].items()),
        "- One uvicorn worker (and, where a column says so, N workers) and one Datasette process; the load generator "
        "(httpx) runs on the same cores.",
        "",
        "## Runs",
        "",
        "| database | events | started | command | data generation s | run s | Q6 cursor walk s |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        lines.append(
            f"| {e['database']} | {e['size']:,} | {e['started']} | `{e['command']}` | "
            f"{e['generate_s'] or 'reused'} | {e['elapsed_s']} | {e.get('cursor_walk_s', '–')} |"
        )
    lines += [
        "",
        "Latencies in ms. *p50/p99*: sequential, one keep-alive connection. *@32*: 32 concurrent connections "
        "for a fixed time. *floor*: the same SQL Datasette runs, executed directly (sqlite3/psycopg). "
        "*rows*: `total` for lists and facets, buckets for the timeline, rows for exports. *check*: the API, the floor and Datasette returned the same "
        "ids and totals.",
        "",
    ]
    for e in entries:
        lines += [f"## {label(e)}", "", *case_table(e), ""]
    return "\n".join(lines + growth_section(results) + targets_section(results)) + "\n"
