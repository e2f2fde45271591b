"""Where a request is planned: resolve, choose a shape, compile.

A request's query goes through three explicit steps:

1. :func:`plan` — *resolve* every declared filter's raw values (ids exist, topics expand, dates parse;
   400 problems raised here), choose the query :class:`Shape` for the request's :class:`Purpose`, and,
   for the date-ordered shape, size up linked filters with bounded probes. All the request's planning
   I/O happens here, once.
2. :func:`compile_plan` — pure: the :class:`Plan` (resolved values + shape) becomes a statement of the
   matching rows' identity and sort keys, in list order. No session, no shared flags; each filter
   compiles independently against the plan's :class:`Scope`.
3. execution (app.queries.execute, app.queries.aggregations) runs the compiled statement for a page,
   a count, an export or an aggregate.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnClause, Select, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from app import models as m
from app.problems import ProblemError, bad_parameter
from app.queries.filters import (
    Condition,
    DateBounds,
    Filter,
    ParticipantValue,
    nullable_date_conditions,
    walked_date_conditions,
)
from app.queries.pagination import SortKey, order_by
from app.queries.resources import RELEVANCE, Resource
from app.search.sql import fts_matches


class Purpose(enum.Enum):
    """What the request needs from the matching rows."""

    PAGE = "page"  # the first `limit` rows in list order, and a capped count
    EXPORT = "export"  # every row, in list order
    AGGREGATE = "aggregate"  # every match, order irrelevant (facets, counts, networks)
    SPANS = "spans"  # every match's date span (timelines)


class Shape(enum.Enum):
    """The four query shapes. Which one a request takes is decided by :func:`choose_shape` alone."""

    # A resource table with its filters as plain conditions (actors, agreements, citations…).
    RECORDS = "records"
    # Events driven by one actor's (actor, date_start, event_id) link index: rows arrive in list order
    # and a page stops after `limit` of them, however many match; other filters are probed per row.
    WALK = "walk"
    # The events table in date order; each linked group (topic, role, a further actor) is phrased as IN
    # when a bounded probe finds it selective and as a correlated EXISTS when it is broad.
    DATE_ORDER = "date_order"
    # Every matching event, order irrelevant: linked groups as IN (start from the links).
    WHOLE_SET = "whole_set"


# Above this many linked rows a group is "broad". Measured on 1M events (SQLite): a page for an actor
# in 10% of events takes 1.7 ms as a correlated EXISTS (walk the date index, test each event) but 175 ms
# as IN (collect 100k ids, then sort); for an actor in 0.05% it is the other way round, 259 ms vs 2.4 ms.
# The two costs cross near sqrt(50 x events) matches, a few thousand at that size.
BROAD = 5000


@dataclass(frozen=True)
class Plan:
    """A resolved request: the resource, each set filter's resolved value (by filter key), the sort,
    the shape, and (DATE_ORDER) which linked groups are broad."""

    resource: Resource
    values: Mapping[str, Any]
    sort: str
    shape: Shape
    broad: frozenset[tuple[str, int]] = frozenset()

    @property
    def dates(self) -> DateBounds | None:
        """The resolved `start`/`end` (None when neither is given)."""
        return self.values.get("date")


def choose_shape(resource: Resource, values: Mapping[str, Any], purpose: Purpose, sort: str | None = None) -> Shape:
    """Pure: the shape for these resolved values. A walk needs its filter's first group to name actors
    (a role alone would walk a whole role's links). A relevance order scores every match, so it starts
    from the matches (WHOLE_SET), never from a date-ordered walk."""
    if not resource.events:
        return Shape.RECORDS
    if sort == RELEVANCE:
        return Shape.WHOLE_SET
    walked = values.get(resource.walk.filter_key) if resource.walk is not None else None
    if isinstance(walked, ParticipantValue) and walked.actors and purpose is not Purpose.AGGREGATE:
        return Shape.WALK
    return Shape.DATE_ORDER if purpose is Purpose.PAGE else Shape.WHOLE_SET


def plan(session: Session, resource: Resource, params: Mapping[str, Any], purpose: Purpose) -> Plan:
    """Resolve ``params`` (the endpoint's validated query model as a dict) against ``resource``'s
    declared filters and choose how to query. Raises 400 problems (app.problems.ProblemError) for
    unknown ids or vocabulary values, bad dates and a bad sort, naming every wrong parameter at once."""
    values = {}
    problems = []
    for declared in resource.filters:
        try:
            resolved = declared.resolve(params, session)
        except ProblemError as problem:
            problems.append(problem)
            continue
        if resolved is not None:
            values[declared.key] = resolved
    if problems:
        raise ProblemError.combined(problems)
    sort = params.get("sort") or resource.sorting.default
    search = resource.search
    if sort == RELEVANCE and search is not None:
        if search.key not in values:
            raise bad_parameter("sort", f"sort=relevance ranks the matches of `{search.key}`; give `{search.key}` too")
    elif sort not in resource.sorting.orders:
        raise bad_parameter("sort", f"{sort!r} is not one of {', '.join(resource.sorting.orders)}")
    shape = choose_shape(resource, values, purpose, sort)
    broad: frozenset[tuple[str, int]] = frozenset()
    if shape is Shape.DATE_ORDER:
        broad = frozenset(_broad_groups(session, resource.filters, values) + _broad_search(session, resource, values))
    planned = Plan(resource, values, sort, shape, broad)
    if sort == RELEVANCE and purpose in (Purpose.PAGE, Purpose.EXPORT):
        _check_rankable(session, planned)
    return planned


def _broad_groups(session: Session, filters: tuple[Filter, ...], values: Mapping[str, Any]) -> list[tuple[str, int]]:
    found = []
    for declared in filters:
        if declared.linked_table and declared.key in values:
            for index, links in enumerate(declared.links(values[declared.key])):
                counted = session.scalar(select(func.count()).select_from(links.limit(BROAD).subquery()))
                if counted is not None and counted >= BROAD:
                    found.append((declared.key, index))
    return found


def _broad_search(session: Session, resource: Resource, values: Mapping[str, Any]) -> list[tuple[str, int]]:
    """SQLite: `q`, when it is the request's only filter, as a broad group when its words match at least BROAD
    records (counted off the FTS5 index).
    In date order each event the date index delivers is then tested for the words, stopping after the page (a
    page of `ceasefire`, in 16% of events, tests ~300 events), rather than every match being fetched by id and
    sorted (at 1M events, 575 -> 14 ms for that statement; app.search.sql for the two ways of testing). For a rare
    word the matches drive the query as before. The page's count keeps the driven form (Compiled.count_query):
    reaching 1,001 matches by testing events one by one is slower than collecting them. PostgreSQL's planner
    makes this choice itself from its statistics of the tsvector column."""
    search = resource.search
    if search is None or search.key not in values or session.get_bind().dialect.name != "sqlite":
        return []
    if set(values) != {search.key}:
        # Other filters thin out the rows the date index delivers (and a date range is no range over it: an
        # open end is NULL), so testing them one by one can read most of the table: at 1M events `ceasefire`
        # with start=2019 took 1.7 s that way against 0.4 s driven by the matches, with type=visit 5.5 s.
        return []
    matches = fts_matches(search.index, values[search.key]).limit(BROAD)  # off the FTS5 index alone: < 1 ms
    counted = session.scalar(select(func.count()).select_from(matches.subquery()))
    return [(search.key, 0)] if counted is not None and counted >= BROAD else []


# Relevance scores every match before the first page can be cut (app.search.sql.relevance), at 25-40 µs a match
# on either database (bench/README.md), and an export's keyset batches score them again for every batch. Above
# this many matches `sort=relevance` is refused with a 400 that says how to narrow the search.
RANK_LIMIT = 20_000


def _check_rankable(session: Session, planned: Plan) -> None:
    """Raise a 400 naming `sort` when the request's matches (every filter applied) exceed RANK_LIMIT."""
    matches = select(planned.resource.model.id).where(*conditions(planned)).limit(RANK_LIMIT + 1)
    counted = session.scalar(select(func.count()).select_from(matches.subquery())) or 0
    if counted > RANK_LIMIT:
        raise bad_parameter(
            "sort",
            f"sort=relevance ranks at most {RANK_LIMIT:,} matches and this search matches more: narrow it (more "
            "words, a phrase, or filters such as start/end, topic or actor) or sort by date",
        )


# ------------------------------------------------------------------------------------------------ scopes


@dataclass(frozen=True)
class EventsTable:
    """Filters compile against `events`; linked groups as IN, or EXISTS where the plan found them broad."""

    broad: frozenset[tuple[str, int]] = frozenset()

    @property
    def event_id(self) -> Any:
        return m.Event.id

    def linked(self, key: str, group: int, event_column: Any, condition: Condition) -> Condition:
        if (key, group) in self.broad:
            return exists().where(event_column == m.Event.id, condition)
        return m.Event.id.in_(select(event_column).where(condition))

    def date_conditions(self, bounds: DateBounds, lower: Any, upper: Any, walkable: bool) -> list[Condition]:
        return nullable_date_conditions(bounds, lower, upper)

    def walked_group(self, key: str) -> int | None:
        return None

    def walk_columns(self) -> Any:
        raise TypeError("the events table is not walked")

    def is_broad(self, key: str, group: int) -> bool:
        return (key, group) in self.broad


@dataclass(frozen=True)
class WalkedLinks:
    """Filters compile against one actor's walked link rows: the walked filter's first group is the
    walk itself, dates compare the rows' copies of the event's bounds, and other linked filters are
    probed by the walked event id (a primary-key lookup each)."""

    entity: Any
    filter_key: str

    @property
    def event_id(self) -> Any:
        return self.entity.event_id

    def linked(self, key: str, group: int, event_column: Any, condition: Condition) -> Condition:
        return exists().where(event_column == self.entity.event_id, condition)

    def date_conditions(self, bounds: DateBounds, lower: Any, upper: Any, walkable: bool) -> list[Condition]:
        if not walkable:
            return nullable_date_conditions(bounds, lower, upper)
        found = walked_date_conditions(bounds, self.entity.date_start, self.entity.date_end)
        if bounds.within and bounds.end == dt.date.max:
            # The walk stores an open end as 9999-12-31 (models.walk_bounds), which `within` a range ending that
            # day would take for a last day: an open end is within no range, as on the events table.
            found.append(m.Event.date_end.is_not(None))  # joins the events table (walked_select)
        return found

    def walked_group(self, key: str) -> int | None:
        return 0 if key == self.filter_key else None

    def walk_columns(self) -> Any:
        return self.entity

    def is_broad(self, key: str, group: int) -> bool:
        return False


@dataclass(frozen=True)
class RecordTable:
    """Filters of resources other than events: plain conditions on their own tables."""

    def linked(self, key: str, group: int, event_column: Any, condition: Condition) -> Condition:
        raise TypeError("only event filters are linked")

    @property
    def event_id(self) -> Any:
        raise TypeError("only event filters correlate to events")

    def date_conditions(self, bounds: DateBounds, lower: Any, upper: Any, walkable: bool) -> list[Condition]:
        return nullable_date_conditions(bounds, lower, upper)

    def walked_group(self, key: str) -> int | None:
        return None

    def walk_columns(self) -> Any:
        raise TypeError("records are not walked")

    def is_broad(self, key: str, group: int) -> bool:
        return False


# --------------------------------------------------------------------------------------------- compile


@dataclass(frozen=True)
class Compiled:
    """The statement of a plan: ``query`` selects the row identity (an event id, or an ORM record)
    followed by the sort ``keys``' columns, filtered and in list order."""

    plan: Plan
    query: Select[Any]
    keys: list[SortKey]
    # The same matches, unordered, for counting: without the per-row test of a broad `q` (see _broad_search).
    count_query: Select[Any] | None = None

    @property
    def counted(self) -> Select[Any]:
        """The statement a page's capped count runs over: the matches, in list order for a walk (its index
        yields them in that order, see app.queries.execute._capped), else in no particular order."""
        if self.count_query is not None:
            return self.count_query.order_by(None)
        return self.query if self.plan.shape is Shape.WALK else self.query.order_by(None)

    @property
    def sort(self) -> str:
        return self.plan.sort


def _scope(plan: Plan) -> EventsTable | WalkedLinks | RecordTable:
    if plan.shape is Shape.WALK:
        assert plan.resource.walk is not None
        return WalkedLinks(plan.resource.walk.entity, plan.resource.walk.filter_key)
    if plan.shape is Shape.RECORDS:
        return RecordTable()
    return EventsTable(plan.broad)


def conditions(plan: Plan) -> list[Condition]:
    """The resource's own conditions (``where``) and every set filter's under the plan's scope
    (independent of declaration order)."""
    scope = _scope(plan)
    return [
        *plan.resource.where,
        *(
            c
            for declared in plan.resource.filters
            if declared.key in plan.values
            for c in declared.compile(plan.values[declared.key], scope)
        ),
    ]


def _reads_events(where: list[Condition]) -> bool:
    events = m.Event.__table__
    return any(isinstance(e, ColumnClause) and e.table is events for c in where for e in visitors.iterate(c))


def walked_select(plan: Plan, *columns: Any) -> Select[Any]:
    """``columns`` over the walked link rows that match, one row per event: grouped in the index's own
    (date_start, event_id) order, so an actor holding two roles in one event is one match and the walk
    still streams. The events table is joined only if a filter reads it."""
    assert plan.shape is Shape.WALK and plan.resource.walk is not None
    walk = plan.resource.walk.entity
    where = conditions(plan)
    query = select(*columns)
    if _reads_events(where):
        query = query.join(m.Event, m.Event.id == walk.event_id)
    return query.where(*where).group_by(walk.date_start, walk.event_id)


def compile_plan(plan: Plan) -> Compiled:
    """Pure: the plan's statement (see :class:`Compiled`)."""
    resource = plan.resource
    if plan.shape is Shape.WALK:
        assert resource.walk is not None
        keys = resource.walk.sorting.orders[plan.sort]
        query = walked_select(plan, resource.walk.entity.event_id, *[k.column for k in keys])
        return Compiled(plan, query.order_by(*order_by(keys)), keys)
    keys = resource.sort_keys(plan.sort, plan.values)
    selected = resource.model.id if resource.documents else resource.model
    query = select(selected, *[k.column for k in keys]).where(*conditions(plan)).order_by(*order_by(keys))
    if resource.options and not resource.documents:
        query = query.options(*resource.options)
    count_query = None
    search = resource.search
    if search is not None and any(key == search.key for key, _ in plan.broad):
        # A broad `q` is the request's only filter (_broad_search), and the FTS5 index holds one row per live
        # record, so its matches are counted off the index alone: at 1M events the capped count of `ceasefire`
        # fell from ~85 ms (collecting 165k matching ids for an IN) to under a millisecond.
        count_query = fts_matches(search.index, plan.values[search.key])
    return Compiled(plan, query, keys, count_query)


def matching_ids(plan: Plan) -> Select[Any]:
    """Pure: the ids of every matching event, unordered (aggregations)."""
    if plan.shape is Shape.WALK:
        assert plan.resource.walk is not None
        return walked_select(plan, plan.resource.walk.entity.event_id)
    return select(m.Event.id).where(*conditions(plan))
