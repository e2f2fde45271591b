"""The benchmark cases: each is an API request plus the SQL that returns the same information.

The same SQL text serves as the raw floor (run directly with sqlite3 / psycopg) and as Datasette's canned
query, so Datasette's overhead over the floor is pure HTTP + JSON. It is written the way an expert who knows
each case would: an actor's events straight off the (actor, date) link index (`walk`), semi-joins elsewhere (never
JOIN + DISTINCT), keyset pagination with row values, the API's exact filter
semantics (a date range matches any overlap; a topic includes its sub-topics), and one statement that
returns the envelope `{total, items}` with each item's participants, topics, citations, locators, quotes
and relations nested as JSON, like the API's items.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from app.queries.event_documents import JsonDialect, document_sql
from app.queries.execute import TOTAL_CAP
from bench.generate import POPULAR, RARE, SEARCH_WORD, TOPIC_WITH_CHILDREN

Kind = Literal["page", "event", "timeline", "facets", "csv"]


class Dialect(JsonDialect):
    """The few spellings that differ between SQLite (3.40: no ORDER BY inside aggregates) and PostgreSQL,
    beyond the app's own JSON ones."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def rows(self, select: str) -> str:
        """A JSON array of the single column `x` (a JSON object) of `select`, in its order."""
        if self.pg:
            return f"(SELECT coalesce(json_agg(s.x), '[]'::json) FROM ({select}) s)"
        return f"(SELECT json_group_array(json(s.x)) FROM ({select}) s)"

    def concat(self, expr: str, sep: str, source: str, order: str) -> str:
        if self.pg:
            return f"(SELECT string_agg({expr}, '{sep}' ORDER BY {order}) FROM {source})"
        return f"(SELECT group_concat(s.x, '{sep}') FROM (SELECT {expr} AS x FROM {source} ORDER BY {order}) s)"

    def year(self, column: str) -> str:
        return (
            f"CAST(EXTRACT(YEAR FROM {column}) AS integer)" if self.pg else f"CAST(substr({column}, 1, 4) AS INTEGER)"
        )

    def placeholders(self, sql: str) -> str:
        """`:name` (sqlite3, Datasette) -> `%(name)s` (psycopg)."""
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql) if self.pg else sql


@dataclass(frozen=True)
class Filters:
    actor: str | None = None
    topic: str | None = None
    q: str | None = None
    start: str | None = None  # YYYY
    end: str | None = None
    sort: Literal["date", "-date"] = "date"
    keyset: tuple[str, str] | None = None  # (date_start, id) of the last row of the previous page

    def api(self, **extra: Any) -> dict[str, Any]:
        params = {"actor": self.actor, "topic": self.topic, "q": self.q, "start": self.start, "end": self.end}
        return {k: v for k, v in {**params, "sort": self.sort, **extra}.items() if v is not None}

    def sql_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"actor": self.actor, "topic": self.topic}
        if self.q:
            params["q"] = f"%{self.q.lower()}%"
        if self.start:
            params["start"] = dt.date(int(self.start), 1, 1)
        if self.end:
            params["end"] = dt.date(int(self.end), 12, 31)
        if self.keyset:
            params["k_date"], params["k_id"] = dt.date.fromisoformat(self.keyset[0]), self.keyset[1]
        return {k: v for k, v in params.items() if v is not None}


def where(f: Filters) -> str:
    """The filters over `events e` (queries without an actor): links are IN semi-joins."""
    conditions = ["1 = 1"]
    if f.start or f.end:
        conditions.append("(e.date_start IS NOT NULL OR e.date_end IS NOT NULL)")
    if f.start:
        conditions.append("(e.date_end IS NULL OR e.date_end >= :start)")
    if f.end:
        conditions.append("(e.date_start IS NULL OR e.date_start <= :end)")
    if f.actor:
        conditions.append("e.id IN (SELECT p.event_id FROM event_participants p WHERE p.actor_id = :actor)")
    if f.topic:
        conditions.append(
            "e.id IN (SELECT t.event_id FROM event_topics t WHERE t.topic_id IN (SELECT id FROM topic_tree))"
        )
    if f.q:
        conditions.append("e.search_text LIKE :q")
    return " AND ".join(conditions)


def walk(f: Filters, keyset: bool = True) -> str:
    """An actor's matches in list order, straight off the (actor_id, date_start, event_id, date_end) index of
    event_participants, whose date columns copy the event's bounds (migration 0003): `(event_id, date_start)`.
    GROUP BY in index order removes an actor's second role in one event without a sort."""
    desc = f.sort == "-date"
    conditions = ["w.actor_id = :actor"]
    if f.start:
        conditions.append("w.date_end >= :start")
    if f.end:
        conditions.append("w.date_start <= :end")
    if f.topic:
        conditions.append(
            "EXISTS (SELECT 1 FROM event_topics t WHERE t.event_id = w.event_id "
            "AND t.topic_id IN (SELECT id FROM topic_tree))"
        )
    if f.q:
        conditions.append("EXISTS (SELECT 1 FROM events e WHERE e.id = w.event_id AND e.search_text LIKE :q)")
    if keyset and f.keyset:
        conditions.append(f"(w.date_start, w.event_id) {'<' if desc else '>'} (:k_date, :k_id)")
    order = "w.date_start DESC, w.event_id DESC" if desc else "w.date_start, w.event_id"
    return (
        f"SELECT w.event_id, w.date_start FROM event_participants w WHERE {' AND '.join(conditions)} "
        f"GROUP BY w.date_start, w.event_id ORDER BY {order}"
    )


def ctes(f: Filters, *more: str) -> str:
    parts = list(more)
    if f.topic:  # the topic and its descendants, as the API's `topic` filter expands it
        parts.insert(
            0,
            "topic_tree(id) AS (SELECT id FROM topics WHERE id = :topic "
            "UNION SELECT c.id FROM topics c JOIN topic_tree ON c.parent_id = topic_tree.id)",
        )
    return "WITH RECURSIVE " + ", ".join(parts) + " " if parts else ""


def event_json(d: Dialect) -> str:
    """One event's document: the API's own SQL (app.queries.event_documents), so the floor is exactly what the
    API asks the database for."""
    return document_sql(JsonDialect(d.name))


def page_sql(d: Dialect, f: Filters, limit: int = 50) -> str:
    desc = f.sort == "-date"
    order = "e.date_start DESC, e.id DESC" if desc else "e.date_start, e.id"
    # `total` as the API computes it: exact up to TOTAL_CAP matches, then the cap (see app/queries/execute.py).
    if f.actor:
        page = f"page AS (SELECT e.* FROM ({walk(f)} LIMIT {limit}) m JOIN events e ON e.id = m.event_id)"
        total = f"(SELECT count(*) FROM ({walk(f, keyset=False)} LIMIT {TOTAL_CAP}) AS capped)"
    else:
        keyset = ""
        if f.keyset:
            keyset = f" AND (e.date_start, e.id) {'<' if desc else '>'} (:k_date, :k_id)"
        page = f"page AS (SELECT e.* FROM events e WHERE {where(f)}{keyset} ORDER BY {order} LIMIT {limit})"
        total = f"(SELECT count(*) FROM (SELECT 1 FROM events e WHERE {where(f)} LIMIT {TOTAL_CAP}) AS capped)"
    return f"{ctes(f, page)}SELECT {total} AS total, {d.array(event_json(d), 'page e', order)} AS items"


def event_sql(d: Dialect) -> str:
    return f"SELECT {event_json(d)} AS item FROM events e WHERE e.id = :id"


def timeline_sql(d: Dialect, f: Filters) -> str:
    """Per year: events whose whole span lies in it (`count`), and those that overlap it but extend beyond."""
    if f.actor:  # the walk's date copies are the event's bounds, so the index alone answers
        spans = (
            f"spans AS (SELECT {d.year('m.date_start')} AS sy, {d.year('m.date_end')} AS ey, count(*) AS n FROM "
            f"(SELECT w.event_id, min(w.date_start) AS date_start, min(w.date_end) AS date_end FROM event_participants w "
            f"WHERE w.actor_id = :actor GROUP BY w.event_id) m GROUP BY 1, 2)"
        )
    else:
        spans = (
            f"spans AS (SELECT {d.year('e.date_start')} AS sy, {d.year('e.date_end')} AS ey, count(*) AS n "
            f"FROM events e WHERE {where(f)} GROUP BY 1, 2)"
        )
    years = "years(y) AS (SELECT min(sy) FROM spans UNION ALL SELECT y + 1 FROM years WHERE y < (SELECT max(ey) FROM spans))"
    return (
        f"{ctes(f, spans, years)}SELECT y AS year, coalesce(sum(CASE WHEN sy = y AND ey = y THEN n END), 0) AS count, "
        "coalesce(sum(CASE WHEN sy = y AND ey = y THEN 0 ELSE n END), 0) AS imprecise "
        "FROM years LEFT JOIN spans ON spans.sy <= y AND spans.ey >= y GROUP BY y ORDER BY y"
    )


def facets_sql(d: Dialect, f: Filters, size: int = 10) -> str:
    """The five facets of /v1/events/facets and the total, in one statement over one materialised match set."""
    matching = (
        f"matching AS (SELECT e.id, e.type, e.location_country, {d.year('e.date_start')} AS sy, "
        f"{d.year('e.date_end')} AS ey FROM events e WHERE {where(f)})"
    )
    closure = (
        "closure(ancestor, descendant) AS (SELECT id, id FROM topics UNION ALL "
        "SELECT closure.ancestor, c.id FROM closure JOIN topics c ON c.parent_id = closure.descendant)"
    )
    spans = "spans AS (SELECT sy, ey, count(*) AS n FROM matching GROUP BY sy, ey)"
    years = "years(y) AS (SELECT min(sy) FROM spans UNION ALL SELECT y + 1 FROM years WHERE y < (SELECT max(ey) FROM spans))"

    def facet(item: str, rest: str) -> str:
        return d.rows(f"SELECT {item} AS x {rest} LIMIT {size}")

    in_matching = "IN (SELECT id FROM matching)"
    return ctes(f, matching, closure, spans, years) + ", ".join(
        [
            "SELECT (SELECT count(*) FROM matching) AS total",
            facet(d.obj(id="type", count="count(*)"), "FROM matching GROUP BY type ORDER BY count(*) DESC, type")
            + " AS type",
            facet(
                d.obj(id="closure.ancestor", label="t.label", count="count(DISTINCT et.event_id)"),
                f"FROM event_topics et JOIN closure ON closure.descendant = et.topic_id JOIN topics t ON t.id = closure.ancestor "
                f"WHERE et.event_id {in_matching} GROUP BY closure.ancestor, t.label "
                "ORDER BY count(DISTINCT et.event_id) DESC, closure.ancestor",
            )
            + " AS topic",
            facet(
                d.obj(id="a.id", label="a.name", count="count(DISTINCT p.event_id)"),
                f"FROM event_participants p JOIN actors a ON a.id = p.actor_id WHERE p.event_id {in_matching} "
                "GROUP BY a.id, a.name ORDER BY count(DISTINCT p.event_id) DESC, a.id",
            )
            + " AS actor",
            facet(
                d.obj(id="location_country", count="count(*)"),
                "FROM matching WHERE location_country IS NOT NULL GROUP BY location_country "
                "ORDER BY count(*) DESC, location_country",
            )
            + " AS country",
            d.rows(
                f"SELECT {d.obj(id='CAST(y AS text)', count='n')} AS x FROM (SELECT y, sum(spans.n) AS n FROM years "
                f"JOIN spans ON spans.sy <= y AND spans.ey >= y GROUP BY y ORDER BY sum(spans.n) DESC, y LIMIT {size}) top ORDER BY y"
            )
            + " AS year",
        ]
    )


def csv_sql(d: Dialect, f: Filters) -> str:
    """Every match as the API's CSV row (participants `actor:role;…`, topics `a;b`, citation URLs)."""
    order = "e.date_start DESC, e.id DESC" if f.sort == "-date" else "e.date_start, e.id"
    source = f"({walk(f)}) m JOIN events e ON e.id = m.event_id" if f.actor else f"events e WHERE {where(f)}"
    return (
        f"{ctes(f)}SELECT e.id, e.type, e.title, e.date_edtf, e.date_start, e.date_end, e.date_precision, "
        "e.date_approximate, e.date_uncertain, coalesce(e.location_name, '') AS location_name, "
        "coalesce(e.location_country, '') AS location_country, "
        + d.concat("p.actor_id || ':' || p.role", ";", "event_participants p WHERE p.event_id = e.id", "p.ordinal")
        + " AS participants, "
        + d.concat("et.topic_id", ";", "event_topics et WHERE et.event_id = e.id", "et.topic_id")
        + " AS topics, "
        + d.concat(
            "c.url",
            " ",
            "event_citations ec JOIN citations c ON c.id = ec.citation_id WHERE ec.event_id = e.id",
            "c.source_id, c.footnote",
        )
        + " AS citation_urls, "
        f"e.quantity, e.parent_id, e.summary FROM {source} ORDER BY {order}"
    )


@dataclass
class Request:
    api: str  # path + query string
    params: dict[str, Any]  # SQL parameters (Python values)

    def datasette(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in self.params.items()}


@dataclass
class Case:
    name: str
    description: str
    kind: Kind
    sql: str  # with :name placeholders
    requests: list[Request]  # rotated through, one per measured request
    note: str = ""
    json_columns: list[str] = field(default_factory=list)  # for Datasette's _json=
    concurrent: bool = True  # also measured at 32 concurrent connections

    def datasette_path(self, db: str, i: int) -> str:
        request = self.requests[i % len(self.requests)]
        if self.kind == "csv":
            return f"/{db}/{self.name.lower()}.csv?" + urlencode(request.datasette())
        extra = [("_shape", "array")] + [("_json", c) for c in self.json_columns]
        return f"/{db}/{self.name.lower()}.json?" + urlencode(extra + list(request.datasette().items()))


def _api(path: str, params: dict[str, Any]) -> str:
    return path + ("?" + urlencode(params) if params else "")


Q1 = Filters(actor=POPULAR, start="2015", end="2020", sort="-date")


def build(d: Dialect, event_ids: list[str], deep_page: tuple[str, str, tuple[str, str]] | None) -> list[Case]:
    """All cases; `deep_page` is (page label, its API cursor, its keyset) found by walking Q1's cursors."""

    def page_case(name: str, description: str, f: Filters, note: str = "", cursor: str | None = None) -> Case:
        api = f.api(limit=50, **({"cursor": cursor} if cursor else {}))
        return Case(
            name,
            description,
            "page",
            page_sql(d, f),
            [Request(_api("/v1/events", api), f.sql_params())],
            note,
            ["items"],
        )

    q2 = Filters(actor=POPULAR, topic=TOPIC_WITH_CHILDREN, start="2015", end="2020", sort="-date")
    timeline = Filters(actor=POPULAR)
    facets = Filters(topic=TOPIC_WITH_CHILDREN)
    cases = [
        page_case("Q1", "popular actor, 2015–2020, newest first, 50", Q1),
        page_case(
            "Q1r",
            "rare actor, 2015–2020, newest first, 50",
            Filters(actor=RARE, start="2015", end="2020", sort="-date"),
        ),
        page_case("Q2", "Q1 + topic (with sub-topics)", q2),
        page_case("Q3", f"full text q={SEARCH_WORD}, oldest first, 50", Filters(q=SEARCH_WORD)),
        Case(
            "Q4",
            "timeline per year, popular actor",
            "timeline",
            timeline_sql(d, timeline),
            [Request(_api("/v1/events/timeline", {"actor": POPULAR, "interval": "year"}), timeline.sql_params())],
        ),
        Case(
            "Q5",
            "facets (all five) for a topic",
            "facets",
            facets_sql(d, facets),
            [Request(_api("/v1/events/facets", {"topic": TOPIC_WITH_CHILDREN}), facets.sql_params())],
            json_columns=["type", "topic", "actor", "country", "year"],
        ),
    ]
    if deep_page:
        number, cursor, keyset = deep_page
        f = Filters(**{**Q1.__dict__, "keyset": keyset})
        cases.append(page_case("Q6", f"page {number} of Q1 via cursor", f, f"page {number}", cursor))
    cases += [
        Case(
            "Q7",
            "one event by id",
            "event",
            event_sql(d),
            [Request(f"/v1/events/{i}", {"id": i}) for i in event_ids],
            json_columns=["item"],
        ),
        Case(
            "Q8",
            "CSV export of Q2 (streamed)",
            "csv",
            csv_sql(d, q2),
            [Request(_api("/v1/events", q2.api(format="csv")), q2.sql_params())],
        ),
        Case(
            "Q8x",
            "CSV export, popular actor, all years",
            "csv",
            csv_sql(d, Filters(actor=POPULAR, sort="-date")),
            [Request(_api("/v1/events", Filters(actor=POPULAR, sort="-date").api(format="csv")), {"actor": POPULAR})],
            "memory check only",
            concurrent=False,
        ),
    ]
    return cases


# -- signatures: what must agree between the API, the floor and Datasette --------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "page": ("total", "items"),
    "event": ("item",),
    "timeline": ("year", "count", "imprecise"),
    "facets": ("total", "type", "topic", "actor", "country", "year"),
}


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _event(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["id"],
        sorted(p["actor"]["id"] for p in item["participants"]),
        sorted(t["id"] for t in item["topics"]),
        len(item["citations"]),
    )


def _facets(facets: dict[str, Any]) -> dict[str, dict[str, int]]:
    # type and year only: ties among topics/actors may order differently under another collation
    return {name: {str(v["id"]): int(v["count"]) for v in _loads(facets[name])} for name in ("type", "year")}


def signature(kind: Kind, result: Any) -> Any:
    """Reduce an answer — the API's JSON, SQL rows, Datasette's rows or CSV text — to facts that must agree."""
    if kind == "csv":
        return len(result) if isinstance(result, list) else max(0, sum(1 for _ in csv.reader(io.StringIO(result))) - 1)
    if isinstance(result, dict):  # the API
        if kind == "page":
            return result["total"], [item["id"] for item in result["items"]]
        if kind == "event":
            return _event(result)
        if kind == "timeline":
            return [(int(b["start"][:4]), b["count"], b["imprecise"]) for b in result["buckets"]]
        return result["total"], _facets(result["facets"])
    rows = [r if isinstance(r, dict) else dict(zip(COLUMNS[kind], r, strict=True)) for r in result]
    if kind == "page":
        return rows[0]["total"], [item["id"] for item in _loads(rows[0]["items"])]
    if kind == "event":
        return _event(_loads(rows[0]["item"]))
    if kind == "timeline":
        return [(int(r["year"]), int(r["count"]), int(r["imprecise"])) for r in rows]
    return rows[0]["total"], _facets(rows[0])


def run_sql(conn: Any, d: Dialect, case: Case, request: Request) -> Any:
    """Execute a case's SQL directly (sqlite3 or psycopg connection) and fetch every row."""
    params = (
        request.params
        if d.pg
        else {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in request.params.items()}
    )
    cursor = conn.execute(d.placeholders(case.sql), params)
    rows = cursor.fetchall()
    if case.kind == "csv":  # the floor writes the CSV too, as the API does
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
    return rows
