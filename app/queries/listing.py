"""One list mechanism for every resource: filters + keyset pagination + eager loading.

This is the only module that executes list and detail ``select()`` statements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, Mapping, Sequence, TypeVar

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from app import models as m
from app.problems import ProblemError
from app.queries.event_documents import event_documents_json
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
class Walk:
    """A link table whose index yields a filter's matches already in list order.

    With the walked filter given, a page walks that index from the cursor and stops after LIMIT rows,
    however many rows match: events of an actor in 10% of 1M events cost what those of a rare actor cost
    (bench/RESULTS.md). Sort keys are the link's copies of the record's keys, so cursors carry over."""

    param: str
    entity: Any  # aliased link entity with event_id, date_start, date_end
    sorts: dict[str, list[SortKey]]


@dataclass(frozen=True)
class Listing(Generic[T]):
    name: str  # singular, for messages
    model: type[T]
    filters: list[f.Filter]
    sorts: dict[str, list[SortKey]]
    options: list[ExecutableOption] = field(default_factory=list)
    # Returns the JSON array of the documents of these ids, built by the database; when set, pages, details
    # and exports select only ids and sort keys, then call it (events: the big table, where ORM hydration
    # and serialisation dominated).
    documents: Callable[[Session, Sequence[str]], bytes] | None = None
    walk: Walk | None = None


# Counting every match costs time in proportion to the matches, on every page: at 1M events counting a
# word found in 12% of them to 10,000 took ~40 ms, to 1,000 ~4 ms. Totals are exact up to this cap (like
# GitHub's search); beyond it `total` is the cap and `total_exact` is false. /v1/events/facets always
# counts exactly.
TOTAL_CAP = 1_000


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int
    total_exact: bool = True


def _keys(*pairs: tuple[Any, Any], descending: bool = False) -> list[SortKey]:
    return [SortKey(column, decode, descending) for column, decode in pairs]


EVENTS = Listing(
    "event",
    m.Event,
    f.EVENT_FILTERS,
    {
        "date": _keys((m.Event.date_start, as_date), (m.Event.id, as_str)),
        "-date": _keys((m.Event.date_start, as_date), (m.Event.id, as_str), descending=True),
    },
    documents=event_documents_json,
    walk=Walk(
        "actor",
        f.ACTOR_WALK,
        {
            "date": _keys((f.ACTOR_WALK.date_start, as_date), (f.ACTOR_WALK.event_id, as_str)),
            "-date": _keys((f.ACTOR_WALK.date_start, as_date), (f.ACTOR_WALK.event_id, as_str), descending=True),
        },
    ),
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


def _plan(session: Session, listing: Listing[T], params: Mapping[str, Any], *, whole_set: bool):
    """(sort, keys, walked, query): the matching rows' identity (or, for ORM listings, the record)
    followed by the sort keys, in list order."""
    sort = params.get("sort") or next(iter(listing.sorts))
    walk = listing.walk if listing.walk is not None and params.get(listing.walk.param) else None
    if walk is not None:
        keys = walk.sorts[sort]
        query = f.walked_events(session, listing.filters, params, walk.entity, walk.entity.event_id, *[k.column for k in keys])
        return sort, keys, True, query.order_by(*order_by(keys))
    conditions = f.where_clauses(session, listing.filters, params, whole_set=whole_set)
    keys = listing.sorts[sort]
    selected = listing.model.id if listing.documents else listing.model  # type: ignore[attr-defined]
    query = select(selected, *[k.column for k in keys]).where(*conditions).order_by(*order_by(keys))
    if listing.options and not listing.documents:
        query = query.options(*listing.options)
    return sort, keys, False, query


def _records(session: Session, listing: Listing[T], rows: Sequence[Any]) -> Any:
    """ORM records, or (listings with `documents`) the JSON array text of their documents."""
    firsts = [row[0] for row in rows]
    return listing.documents(session, firsts) if listing.documents else firsts


def list_page(session: Session, listing: Listing[T], params: Mapping[str, Any]) -> Page[T]:
    """Filter, order and cut one page; ``params`` is the endpoint's validated query model as a dict."""
    sort, keys, walked, query = _plan(session, listing, params, whole_set=False)
    limit: int = params.get("limit", 50)
    cursor_condition = None
    if params.get("cursor"):
        cursor_condition = after(keys, decode_cursor(params["cursor"], sort, keys))
    rows = session.execute((query if cursor_condition is None else query.where(cursor_condition)).limit(limit + 1)).all()
    # Counting visits every match: the events table takes the whole-set phrasing of the filters (see
    # filters.linked_events); a walk counts along the same index, stopping at the cap.
    if walked:
        counting = query
    else:
        counting = _plan(session, listing, params, whole_set=True)[3].order_by(None)
    capped = counting.limit(TOTAL_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped)) or 0
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(sort, list(rows[-1][1:]))
    return Page(
        items=_records(session, listing, rows),
        next_cursor=next_cursor,
        total=min(counted, TOTAL_CAP),
        total_exact=counted <= TOTAL_CAP,
    )


def iterate_all(
    session: Session, listing: Listing[T], params: Mapping[str, Any], batch: int = 2000, columns: Sequence[Any] | None = None
) -> Iterator[Any]:
    """Every match in list order, fetched in keyset batches (constant memory), for exports: records
    (documents or ORM objects), or with ``columns`` (the first being the record id) flat rows selected
    by id for each batch.

    Filters are validated before the first row is yielded, so bad input still gets a 400
    rather than a broken stream."""
    _sort, keys, _walked, query = _plan(session, listing, params, whole_set=True)  # exports visit every match
    # Ids and flat columns need no ORM objects: Core execution skips the ORM's per-row work (~1 s of 6 for
    # 100k CSV rows at 1M events).
    execute = session.execute if columns is None and not listing.documents else session.connection().execute
    rows = execute(query.limit(batch)).all()
    identity = listing.model.id  # type: ignore[attr-defined]

    def flat(ids: list[Any]) -> list[Any]:
        by_id = {row[0]: row for row in execute(select(*columns).where(identity.in_(ids))).all()}  # type: ignore[misc]
        return [by_id[i] for i in ids]

    def generate() -> Iterator[Any]:
        nonlocal rows
        while rows:
            if columns is not None:
                yield from flat([row[0] for row in rows])
            elif listing.documents:
                yield from orjson.loads(listing.documents(session, [row[0] for row in rows]))
            else:
                yield from (row[0] for row in rows)
            if len(rows) < batch:
                return
            position = list(rows[-1][1:])
            session.expunge_all()  # keep the identity map from growing with the export
            rows = execute(query.where(after(keys, position)).limit(batch)).all()

    return generate()


def get_one(session: Session, listing: Listing[T], item_id: str) -> Any:
    """The record (or, for listings with `documents`, its document's JSON text), or a 404 problem."""
    if listing.documents:
        found = listing.documents(session, [item_id])
        if found == b"[]":
            raise ProblemError(404, "not-found", f"no {listing.name} with id {item_id!r}")
        return found[1:-1]
    query = select(listing.model).where(listing.model.id == item_id)  # type: ignore[attr-defined]
    if listing.options:
        query = query.options(*listing.options)
    item = session.scalars(query).first()
    if item is None:
        raise ProblemError(404, "not-found", f"no {listing.name} with id {item_id!r}")
    return item
