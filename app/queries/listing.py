"""One list mechanism for every resource: filters + keyset pagination + eager loading.

This is the only module that executes list and detail ``select()`` statements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Generic, Iterator, Mapping, Sequence, TypeVar

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from app import models as m
from app.problems import ProblemError
from app.queries import filters as f
from app.queries.pagination import (
    SortKey,
    after,
    as_date,
    as_str,
    decode_cursor,
    encode_cursor,
    order_by,
)

T = TypeVar("T")

_FAR_FUTURE = dt.date(9999, 12, 31)


@dataclass(frozen=True)
class Listing(Generic[T]):
    name: str  # singular, for messages
    model: type[T]
    filters: list[f.Filter]
    sorts: dict[str, list[SortKey]]
    options: list[ExecutableOption] = field(default_factory=list)


# Counting every match costs time in proportion to the matches (800 ms for 100k of 1M events on
# SQLite), on every page. Totals are exact up to this cap; beyond it `total` is the cap and
# `total_exact` is false. /v1/events/facets always counts exactly.
TOTAL_CAP = 10_000


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int
    total_exact: bool = True


def _keys(*pairs: tuple[Any, Any], descending: bool = False) -> list[SortKey]:
    return [SortKey(column, decode, descending) for column, decode in pairs]


EVENT_OPTIONS: list[ExecutableOption] = [
    selectinload(m.Event.participants),
    selectinload(m.Event.topics),
    selectinload(m.Event.citations),
    selectinload(m.Event.locators),
    selectinload(m.Event.quotes),
    selectinload(m.Event.relations),
]

EVENTS = Listing(
    "event",
    m.Event,
    f.EVENT_FILTERS,
    {
        "date": _keys((m.Event.date_start, as_date), (m.Event.id, as_str)),
        "-date": _keys((m.Event.date_start, as_date), (m.Event.id, as_str), descending=True),
    },
    EVENT_OPTIONS,
)

_agreement_date = func.coalesce(m.Agreement.date_start, _FAR_FUTURE).label("sort_date")
AGREEMENTS = Listing(
    "agreement",
    m.Agreement,
    f.AGREEMENT_FILTERS,
    {
        "date": _keys((_agreement_date, as_date), (m.Agreement.id, as_str)),
        "-date": _keys((_agreement_date, as_date), (m.Agreement.id, as_str), descending=True),
    },
    [
        selectinload(m.Agreement.parties),
        selectinload(m.Agreement.milestones),
        selectinload(m.Agreement.topics),
        selectinload(m.Agreement.citations),
        selectinload(m.Agreement.events),
        selectinload(m.Agreement.locators),
    ],
)

ACTORS = Listing(
    "actor",
    m.Actor,
    f.ACTOR_FILTERS,
    {"name": _keys((m.Actor.name, as_str), (m.Actor.id, as_str)), "id": _keys((m.Actor.id, as_str))},
    [selectinload(m.Actor.identifiers), selectinload(m.Actor.offices).selectinload(m.Office.locators)],
)

_footnote = func.coalesce(m.Citation.footnote, 1_000_000).label("sort_footnote")
_issued = func.coalesce(m.Citation.issued_start, _FAR_FUTURE).label("sort_issued")
CITATIONS = Listing(
    "citation",
    m.Citation,
    f.CITATION_FILTERS,
    {
        "footnote": _keys((m.Citation.source_id, as_str), (_footnote, int), (m.Citation.id, as_str)),
        "issued": _keys((_issued, as_date), (m.Citation.id, as_str)),
        "id": _keys((m.Citation.id, as_str)),
    },
)

TOPICS = Listing("topic", m.Topic, f.TOPIC_FILTERS, {"id": _keys((m.Topic.id, as_str))}, [selectinload(m.Topic.children)])

SOURCES = Listing(
    "source",
    m.SourceDocument,
    f.SOURCE_FILTERS,
    {"id": _keys((m.SourceDocument.id, as_str))},
    [selectinload(m.SourceDocument.sections), selectinload(m.SourceDocument.citations)],
)


def _page_query(
    session: Session, listing: Listing[T], params: Mapping[str, Any], conditions: list[Any], columns: Sequence[Any] | None = None
):
    sort = params.get("sort") or next(iter(listing.sorts))
    keys = listing.sorts[sort]
    selected = [listing.model] if columns is None else list(columns)
    query = select(*selected, *[k.column for k in keys]).where(*conditions).order_by(*order_by(keys))
    if listing.options and columns is None:
        query = query.options(*listing.options)
    return sort, keys, query


def list_page(session: Session, listing: Listing[T], params: Mapping[str, Any]) -> Page[T]:
    """Filter, order and cut one page; ``params`` is the endpoint's validated query model as a dict."""
    conditions = f.where_clauses(session, listing.filters, params)
    sort, keys, query = _page_query(session, listing, params, conditions)
    limit: int = params.get("limit", 50)
    if params.get("cursor"):
        query = query.where(after(keys, decode_cursor(params["cursor"], sort, keys)))
    rows = session.execute(query.limit(limit + 1)).all()
    # Counting visits every match, so it takes the whole-set phrasing of the filters (see filters.linked_events).
    counting = f.where_clauses(session, listing.filters, params, whole_set=True)
    capped = select(literal(1)).select_from(listing.model).where(*counting).limit(TOTAL_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped)) or 0
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(sort, list(rows[-1][1:]))
    return Page(
        items=[row[0] for row in rows],
        next_cursor=next_cursor,
        total=min(counted, TOTAL_CAP),
        total_exact=counted <= TOTAL_CAP,
    )


def iterate_all(
    session: Session, listing: Listing[T], params: Mapping[str, Any], batch: int = 2000, columns: Sequence[Any] | None = None
) -> Iterator[Any]:
    """Every match in list order, fetched in keyset batches (constant memory), for exports:
    whole records, or with ``columns`` flat rows (no relationship loading).

    Filters are validated before the first row is yielded, so bad input still gets a 400
    rather than a broken stream."""
    conditions = f.where_clauses(session, listing.filters, params, whole_set=True)  # exports visit every match
    sort, keys, query = _page_query(session, listing, params, conditions, columns)
    width = 1 if columns is None else len(columns)
    rows = session.execute(query.limit(batch)).all()

    def generate() -> Iterator[Any]:
        nonlocal rows
        while rows:
            for row in rows:
                yield row[0] if columns is None else row
            if len(rows) < batch:
                return
            position = list(rows[-1][width:])
            session.expunge_all()  # keep the identity map from growing with the export
            rows = session.execute(query.where(after(keys, position)).limit(batch)).all()

    return generate()


def get_one(session: Session, listing: Listing[T], item_id: str) -> T:
    query = select(listing.model).where(listing.model.id == item_id)  # type: ignore[attr-defined]
    if listing.options:
        query = query.options(*listing.options)
    item = session.scalars(query).first()
    if item is None:
        raise ProblemError(404, "not-found", f"no {listing.name} with id {item_id!r}")
    return item
