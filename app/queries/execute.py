"""Where list and detail SQL runs: a page (rows, capped count, documents) or every row of an export,
from one plan and one compiled statement per request (app.queries.plan)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.curation.answers import missing
from app.curation.validate import KIND_TABLES
from app.queries.pagination import after, decode_cursor, encode_cursor, query_fingerprint
from app.queries.plan import Compiled, Purpose, compile_plan, plan
from app.queries.resources import Resource
from app.search.sql import snippet

T = TypeVar("T")

# Counting every match costs time in proportion to the matches, on every page: at 1M events counting a
# word found in 12% of them to 10,000 took ~40 ms, to 1,000 ~4 ms. Totals are exact up to this cap (like
# GitHub's search); beyond it `total` is the cap and `total_exact` is false. /v1/events/facets always
# counts exactly.
TOTAL_CAP = 1_000
# Rows per keyset batch of an export: large enough that a batch's round trip is noise, small enough that
# memory stays flat (bench/RESULTS.md).
EXPORT_BATCH = 2_000


@dataclass
class Page(Generic[T]):
    """One page: ORM records, or (resources with `documents`) the JSON array text of the documents."""

    items: Any
    next_cursor: str | None
    total: int
    total_exact: bool = True
    snippets: dict[str, str] | None = None  # with `q`: item id -> highlighted extract


def _records(session: Session, resource: Resource, rows: Sequence[Any]) -> Any:
    firsts = [row[0] for row in rows]
    return resource.documents(session, firsts) if resource.documents else firsts


def list_page(session: Session, resource: Resource, params: Mapping[str, Any], cursor_key: bytes) -> Page[Any]:
    """Filter, order and cut one page; ``params`` is the endpoint's validated query model as a dict,
    ``cursor_key`` the deployment's cursor signing key. The page, its count and its documents come from one
    plan and one compiled statement. Raises 400 problems for bad filter values or a bad cursor."""
    compiled = compile_plan(plan(session, resource, params, Purpose.PAGE))
    limit: int = params.get("limit", 50)
    query = compiled.query
    fingerprint = query_fingerprint(resource.name, {name: params.get(name) for name in resource.filter_names})
    if params.get("cursor"):
        position = decode_cursor(params["cursor"], compiled.sort, compiled.keys, fingerprint, cursor_key)
        query = query.where(after(compiled.keys, position))
    rows = session.execute(query.limit(limit + 1)).all()
    if not params.get("cursor") and len(rows) <= limit:
        counted = len(rows)  # the first page holds every match: nothing more to count
    else:
        counted = session.scalar(select(func.count()).select_from(_capped(compiled))) or 0
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(compiled.sort, list(rows[-1][1:]), fingerprint, cursor_key)
    return Page(
        items=_records(session, resource, rows),
        next_cursor=next_cursor,
        total=min(counted, TOTAL_CAP),
        total_exact=counted <= TOTAL_CAP,
        snippets=_snippets(session, resource, compiled, rows),
    )


def _capped(compiled: Compiled) -> Any:
    """The first TOTAL_CAP + 1 matches, to count. A walk (Shape.WALK) counts in list order: its index yields the
    rows in that order, so the count reads the same rows the pages do, while without the order SQLite scans
    the index from its other end, through every row the date range rejects first (at 1M events, Q1's count
    took 10.6 ms unordered, 0.4 ms in list order). Other shapes count unordered: their order may need a sort
    of every match (a date range over all events: 0.5 ms unordered, 1.2 s ordered)."""
    return compiled.counted.limit(TOTAL_CAP + 1).subquery()


def _snippets(session: Session, resource: Resource, compiled: Compiled, rows: Sequence[Any]) -> dict[str, str] | None:
    """With `q`: a highlighted extract per row (app.search.sql.snippet), cut from the display columns the
    resource's search declares, read in one statement."""
    search = resource.search
    query = compiled.plan.values.get(search.key) if search is not None else None
    if search is None or query is None:
        return None
    ids = [row[0] if resource.documents else row[0].id for row in rows]
    index = search.index
    shown = {r[0]: r[1:] for r in session.execute(select(index.id, *index.shown).where(index.id.in_(ids)))}
    return {i: snippet(shown[i], query) for i in ids if i in shown}


@dataclass
class Matches:
    """Every match of an export's query: how many (counted in the request's snapshot, so exactly the number
    of items ``rows`` yields unless reading fails midway) and the rows themselves, fetched lazily."""

    count: int
    rows: Iterator[Any]


def plan_export(session: Session, resource: Resource, params: Mapping[str, Any]) -> Compiled:
    """The export's statement, planned and compiled: bad input raises its 400 problems here, before anything
    is counted or streamed."""
    return compile_plan(plan(session, resource, params, Purpose.EXPORT))


def iterate_all(
    session: Session, resource: Resource, compiled: Compiled, columns: Sequence[Any] | None = None
) -> Matches:
    """Every match of ``compiled`` (from plan_export) in list order, fetched in keyset batches (constant
    memory), for exports: records (documents as dicts, or ORM objects), or with ``columns`` (the first being
    the record id) flat rows selected by id for each batch; and their count, taken in the same snapshot
    before the stream starts so that it can announce its length."""
    batch = EXPORT_BATCH
    # Ids and flat columns need no ORM objects: Core execution skips the ORM's per-row work (~1 s of 6 for
    # 100k CSV rows at 1M events).
    execute = session.execute if columns is None and not resource.documents else session.connection().execute
    count = session.scalar(select(func.count()).select_from(compiled.query.order_by(None).subquery())) or 0
    first = list(execute(compiled.query.limit(batch)).all())
    return Matches(count, _batches(session, resource, compiled, execute, first, batch, columns))


def _batches(
    session: Session,
    resource: Resource,
    compiled: Compiled,
    execute: Any,
    rows: list[Any],
    batch: int,
    columns: Sequence[Any] | None,
) -> Iterator[Any]:
    identity = resource.model.id
    while rows:
        ids = [row[0] for row in rows]
        if columns is not None:
            by_id = {row[0]: row for row in execute(select(*columns).where(identity.in_(ids))).all()}
            yield from (by_id[i] for i in ids)
        elif resource.documents:
            yield from orjson.loads(resource.documents(session, ids))
        else:
            yield from ids
        if len(rows) < batch:
            return
        position = list(rows[-1][1:])
        session.expunge_all()  # keep the identity map from growing with the export
        rows = execute(compiled.query.where(after(compiled.keys, position)).limit(batch)).all()


def get_one(session: Session, resource: Resource, item_id: str) -> Any:
    """The record (or, for resources with `documents`, its document's JSON text), or a problem: 301 to its new id
    when it was renamed, 410 when it was deleted, else 404 (app.curation.answers)."""
    # Renames and deletions are recorded per kind of record written (a visit is an event).
    kind = next((k for k, model in KIND_TABLES.items() if model is resource.model), resource.name + "s")
    if resource.documents:
        found = resource.documents(session, [item_id])
        if found == b"[]":
            raise missing(session, kind, item_id, noun=resource.name)
        return found[1:-1]
    query = select(resource.model).where(resource.model.id == item_id)
    if resource.options:
        query = query.options(*resource.options)
    item = session.scalars(query).first()
    if item is None:
        raise missing(session, kind, item_id, noun=resource.name)
    return item
