"""Facets, timelines and actor networks over any event filter combination.

No statement here grows with the data: sets (matching events, a topic's ancestors) stay inside the
database as sub-queries or recursive CTEs, facets are ranked and cut to `facet_size` by the database,
and a network returns at most `limit` neighbours with at most EVENTS_PER_NEIGHBOUR event ids each.

Every count here is defined so that it equals the `total` of `/v1/events` (or `/v1/visits`) for
the same filters plus one more (facet value `X` ↔ adding `type=X`, visitor `V` ↔ adding
`actor=V&role=visitor`, a timeline bucket ↔ adding `start`/`end` of the bucket, a network
neighbour ↔ adding `actor=B`). The tests check exactly that.

Requests whose filters are exactly one of the write path's precomputed scopes (none, one `topic`, one `actor`;
app.models.EventCount) read their counts from event_counts instead of the events (:func:`stored_scope`): the
same numbers, kept current by every write (app.curation.aggregates), at the cost of reading a few hundred rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import Integer, case, cast, exists, extract, func, select
from sqlalchemy.orm import Session

from app import models as m
from app import vocab
from app.queries.filters import DateBounds, Param, ParticipantValue
from app.queries.plan import Plan, Shape, conditions, matching_ids, walked_select
from app.queries.resources import EVENT_TOPIC, EVENTS

FacetName = Literal["type", "topic", "actor", "country", "year", "visitor"]
Interval = Literal["year", "month", "day"]
FACETS: tuple[FacetName, ...] = ("type", "topic", "actor", "country", "year")  # of events
VISIT_FACETS: tuple[FacetName, ...] = ("visitor", "country", "year")
INTERVALS: tuple[Interval, ...] = get_args(Interval)


def facet_param(names: tuple[FacetName, ...], example: list[str]) -> Param:
    """`facet`: which of a resource's facets ``names`` to count (default: all)."""
    return Param(
        "facet",
        list[str],
        list(names),
        "Facets to count (repeat, or separate with commas): " + ", ".join(names) + ".",
        example,
        vocabulary=names,
    )


FACET = facet_param(FACETS, ["type", "actor"])
VISIT_FACET = facet_param(VISIT_FACETS, ["visitor", "country"])
FACET_SIZE = Param(
    "facet_size", int, 10, "Values per facet, most frequent first.", 10, constraints={"ge": 1, "le": 500}
)
INTERVAL = Param("interval", str, "year", "Bucket size.", "month", vocabulary=INTERVALS)


# ------------------------------------------------------------------------------------- precomputed counts

STORED_FACETS: frozenset[FacetName] = frozenset({"type", "topic", "actor", "country", "year"})


def stored_scope(plan: Plan, *, actor: bool = False) -> str | None:
    """Pure: the event_counts scope holding exactly this plan's matches — ``""`` for the unfiltered event
    list, `topic:<id>` for one `topic` alone, and (``actor``: totals and spans only) `actor:<id>` for one
    `actor` alone in any role — or None when the filters are anything else."""
    if plan.resource is not EVENTS or plan.resource.where:
        return None
    if not plan.values:
        return ""
    if len(plan.values) != 1:
        return None
    ((key, value),) = plan.values.items()
    if key == EVENT_TOPIC.key and len(value) == 1 and len(value[0]) == 1:
        return f"topic:{value[0][0]}"
    if actor and isinstance(value, ParticipantValue) and len(value.pairs) == 1:
        actors, roles = value.pairs[0]
        if actors is not None and len(actors) == 1 and not roles:
            return f"actor:{actors[0]}"
    return None


def _stored(session: Session, scope: str, facet: str, size: int | None = None) -> list[tuple[str, int]]:
    """(value, count) of one facet of a scope, most frequent first, at most ``size`` (all when None)."""
    c = m.EventCount
    query = select(c.value, c.n).where(c.scope == scope, c.facet == facet).order_by(c.n.desc(), c.value)
    return [(value, n) for value, n in session.execute(query if size is None else query.limit(size))]


def _stored_spans(session: Session, scope: str) -> list[tuple[int | None, int | None, int]]:
    """(first year or None if open, last year or None if open, events) of a scope (app.models.EventCount)."""

    def year(text: str) -> int | None:
        return None if text == ".." else int(text)

    return [
        (year(first), year(last), n)
        for value, n in _stored(session, scope, "span")
        for first, last in [value.split("/")]
    ]


def _stored_facet(session: Session, scope: str, name: FacetName, size: int) -> FacetRows:
    if name == "year":
        return _years(_stored_spans(session, scope))
    rows = _stored(session, scope, name, size)
    if name == "type":
        return [(t, vocab.EVENT_TYPES[t].label, n) for t, n in rows]
    if name == "country":
        return [(c, c, n) for c, n in rows]
    model, label = (m.Actor, m.Actor.name) if name == "actor" else (m.Topic, m.Topic.label)
    labels = {
        key: text for key, text in session.execute(select(model.id, label).where(model.id.in_([v for v, _ in rows])))
    }
    return [(v, labels[v], n) for v, n in rows]


def count_matching(session: Session, plan: Plan) -> int:
    """Exactly how many events match (facets' `total`, citations of a query)."""
    scope = stored_scope(plan, actor=True)
    if scope is not None:
        return next((n for _, n in _stored(session, scope, "total")), 0)
    return session.scalar(select(func.count()).select_from(matching_ids(plan).subquery())) or 0


FacetRows = list[tuple[Any, str, int]]  # (value id, label, count)


@dataclass
class FacetValue:
    id: str | None
    label: str
    count: int


def _top(rows: FacetRows, size: int) -> list[FacetValue]:
    ordered = sorted(rows, key=lambda r: (-r[2], str(r[0])))
    return [FacetValue(str(key) if key is not None else None, label, count) for key, label, count in ordered[:size]]


def _ranked(query: Any, key: Any, count: Any, size: int) -> Any:
    """``query`` grouped by ``key``, most frequent first, cut to ``size`` rows by the database (a facet over
    100k actors sends back `size` rows, not 100k)."""
    return query.group_by(key).order_by(count.desc(), key).limit(size)


def _type_facet(session: Session, ids: Any, size: int) -> FacetRows:
    n = func.count()
    rows = session.execute(_ranked(select(m.Event.type, n).where(m.Event.id.in_(ids)), m.Event.type, n, size))
    return [(t, vocab.EVENT_TYPES[t].label, count) for t, count in rows]


def _country_facet(session: Session, ids: Any, size: int) -> FacetRows:
    n = func.count()
    query = select(m.Event.location_country, n).where(m.Event.id.in_(ids), m.Event.location_country.is_not(None))
    rows = session.execute(_ranked(query, m.Event.location_country, n, size))
    return [(c, str(c), count) for c, count in rows]


def _actor_facet(session: Session, ids: Any, size: int) -> FacetRows:
    n = func.count(func.distinct(m.EventParticipant.event_id))
    top = _ranked(
        select(m.EventParticipant.actor_id.label("actor_id"), n.label("n")).where(m.EventParticipant.event_id.in_(ids)),
        m.EventParticipant.actor_id,
        n,
        size,
    ).subquery()
    rows = session.execute(select(top.c.actor_id, m.Actor.name, top.c.n).join(m.Actor, m.Actor.id == top.c.actor_id))
    return [(a, name, count) for a, name, count in rows]


def _visitor_facet(session: Session, ids: Any, size: int) -> FacetRows:
    # The traveller as the visits view reads it (vocab.VISIT_ROLES): each count equals the visits total
    # with `actor=<id>&role=visitor` added.
    link = m.EventParticipant
    n = func.count(func.distinct(link.event_id))
    travellers = select(link.actor_id.label("actor_id"), n.label("n")).where(
        link.event_id.in_(ids), link.role.in_(vocab.VISIT_ROLES["visitor"])
    )
    top = _ranked(travellers, link.actor_id, n, size).subquery()
    rows = session.execute(select(top.c.actor_id, m.Actor.name, top.c.n).join(m.Actor, m.Actor.id == top.c.actor_id))
    return [(a, name, count) for a, name, count in rows]


def _topic_facet(session: Session, ids: Any, size: int) -> FacetRows:
    # Each matching event's topics joined to their ancestors in the stored closure (app.models.TopicClosure,
    # kept by the write path): a topic's count includes its sub-topics', like the `topic` filter, and the
    # statement is the same size whatever the tree. (A recursive walk up the tree per event cost ~2x more.)
    closure, links = m.TopicClosure, m.EventTopic
    n = func.count(func.distinct(links.event_id))
    ancestors = select(closure.ancestor.label("topic_id"), n.label("n")).join(
        closure, closure.descendant == links.topic_id
    )
    top = _ranked(ancestors.where(links.event_id.in_(ids)), closure.ancestor, n, size).subquery()
    rows = session.execute(select(top.c.topic_id, m.Topic.label, top.c.n).join(m.Topic, m.Topic.id == top.c.topic_id))
    return [(t, label, count) for t, label, count in rows]


def _year_facet(session: Session, ids: Any, size: int) -> FacetRows:
    # An event counts in every year its range overlaps (an open end runs to this year, or to its first year
    # if that is later). The database groups by (first year, last year): at most one row per pair of years,
    # whatever the number of events.
    first_year, last_year = _period_key(m.Event.date_start, "year"), _period_key(m.Event.date_end, "year")
    spans = select(first_year, last_year, func.count()).where(m.Event.id.in_(ids)).group_by(first_year, last_year)
    return _years([(start, end, n) for start, end, n in session.execute(spans)])


def _years(spans: list[tuple[Any, Any, int]]) -> FacetRows:
    """Year facet rows from (first year, last year or None if open, events), for the stored counts and the
    live query alike: each year's id and label have four digits (`0001`), so that an id is a valid `start`
    or `end` as it is and ids sort in calendar order."""
    counts: Counter[int] = Counter()
    for start, end, n in spans:
        for year in range(start, (end or max(start, dt.date.today().year)) + 1):
            counts[year] += n
    return [(f"{year:04d}", f"{year:04d}", n) for year, n in counts.items()]


FACET_QUERIES: dict[FacetName, Callable[[Session, Any, int], FacetRows]] = {
    "type": _type_facet,
    "topic": _topic_facet,
    "actor": _actor_facet,
    "country": _country_facet,
    "year": _year_facet,
    "visitor": _visitor_facet,
}
if set(FACET_QUERIES) != set(get_args(FacetName)):  # the parameters' vocabularies and the queries are one list
    raise RuntimeError(f"facets declared {get_args(FacetName)} but queried {tuple(FACET_QUERIES)}")


def facet_counts(session: Session, plan: Plan, names: list[FacetName], size: int) -> dict[str, list[FacetValue]]:
    """The ``size`` most frequent values of each facet among the plan's matches, most frequent first
    (years in calendar order). Each count equals the list total with that value added as a filter."""
    ids = matching_ids(plan).scalar_subquery()
    scope = stored_scope(plan)
    result: dict[str, list[FacetValue]] = {}
    for name in names:
        if scope is not None and name in STORED_FACETS:
            found = _stored_facet(session, scope, name, size)
        else:
            found = FACET_QUERIES[name](session, ids, size)
        top = _top(found, size)
        result[name] = sorted(top, key=lambda v: v.id or "") if name == "year" else top
    return result


@dataclass
class Bucket:
    start: dt.date
    end: dt.date
    count: int = 0  # events that certainly fall inside this period
    imprecise: int = 0  # events that may fall here but span beyond it (coarser dates, multi-period intervals)


def _period_start(day: dt.date, interval: Interval) -> dt.date:
    return {"year": day.replace(month=1, day=1), "month": day.replace(day=1), "day": day}[interval]


def _next_period(day: dt.date, interval: Interval) -> dt.date | None:
    """The first day of the next period, or None past the last representable day (9999-12-31)."""
    try:
        if interval == "day":
            return day + dt.timedelta(days=1)
        if interval == "month":
            return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return day.replace(year=day.year + 1, month=1, day=1)
    except (OverflowError, ValueError):
        return None


MAX_BUCKETS = 5000


def period_count(first: dt.date, last: dt.date, interval: Interval) -> int:
    """How many ``interval`` periods the days ``first``–``last`` touch (0 when ``last`` is before ``first``)."""
    if interval == "day":
        count = (last - first).days + 1
    elif interval == "month":
        count = (last.year * 12 + last.month) - (first.year * 12 + first.month) + 1
    else:
        count = last.year - first.year + 1
    return max(count, 0)


class TooManyPeriods(ValueError):
    """A timeline range of more than MAX_BUCKETS periods; ``parameter`` is the one to change."""

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(detail)
        self.parameter = parameter


def _check_periods(first: dt.date, last: dt.date, interval: Interval, dates: DateBounds | None) -> None:
    """Raise TooManyPeriods naming `interval` when a coarser one would fit the range, else the end of the
    range to narrow: the bound the client gave (`end` when both were given, as for `end` before `start`),
    or `start` when the range is the span of the matching events."""
    count = period_count(first, last, interval)
    if count <= MAX_BUCKETS:
        return
    coarser = [i for i in INTERVALS[: INTERVALS.index(interval)] if period_count(first, last, i) <= MAX_BUCKETS]
    span = f"{first.isoformat()} to {last.isoformat()} is {count} {interval} periods (at most {MAX_BUCKETS})"
    if coarser:
        raise TooManyPeriods("interval", f"{span}; use a coarser interval ({', '.join(coarser)}) or a narrower range")
    given = [name for name, bound in (("end", dates and dates.end), ("start", dates and dates.start)) if bound]
    raise TooManyPeriods(given[0] if given else "start", f"{span}; narrow the range with start and end")


def _period_key(column: Any, interval: Interval) -> Any:
    """An integer per period (or the day itself), so the database groups events by period."""
    if interval == "day":
        return column
    year = cast(extract("year", column), Integer)  # PostgreSQL's extract() is numeric
    return year if interval == "year" else year * 12 + cast(extract("month", column), Integer) - 1


def _key_of(day: dt.date, interval: Interval) -> Any:
    return {"year": day.year, "month": day.year * 12 + day.month - 1, "day": day}[interval]


def matching_spans(plan: Plan) -> tuple[Any, Any, Any]:
    """Pure: (first day, last day or NULL if open, FROM clause) of every matching event. With `actor`
    (Shape.WALK), read off the actor's (actor, date) index like the list: an actor in 10% of 1M events
    is 100k index entries instead of 100k event lookups."""
    if plan.shape is not Shape.WALK:
        spans = (
            select(m.Event.date_start.label("first"), m.Event.date_end.label("last"))
            .where(*conditions(plan))
            .subquery()
        )
        return spans.c.first, spans.c.last, spans
    assert plan.resource.walk is not None
    walk = plan.resource.walk.entity
    # The walk stores an open end as 9999-12-31 (models.walk_bounds); only for rows at that day is the event's
    # own end read, to tell a last day of 9999-12-31 from an open end (NULL).
    last = func.min(walk.date_end)
    # Its own FROM events, even when the walk joins the events table for a filter.
    real_end = select(m.Event.date_end).where(m.Event.id == walk.event_id).correlate_except(m.Event).scalar_subquery()
    spans = walked_select(
        plan, walk.date_start.label("first"), case((last == dt.date.max, real_end), else_=last).label("last")
    ).subquery()
    return spans.c.first, spans.c.last, spans


def _stored_years(session: Session, plan: Plan) -> tuple[tuple[dt.date, dt.date], list[Any]] | None:
    """A yearly timeline's (first day, last day) and (first year, last year or None, events) groups from the
    precomputed spans, as the statements of :func:`timeline` would find them; None when the plan's filters are
    not a stored scope, or when the counted path would refuse the range or read a missing start differently
    (then it answers, with its own message)."""
    scope = stored_scope(plan, actor=True)
    if scope is None:
        return None
    groups = _stored_spans(session, scope)
    if not groups:
        return None
    if plan.shape is Shape.WALK:  # the walk reads an open start as the first representable day (walk_bounds)
        groups = [(dt.date.min.year if first is None else first, last, n) for first, last, n in groups]
    starts = [start for start, _, _ in groups]
    if None in starts:
        return None
    first = min(start for start in starts if start is not None)
    last = max(start if end is None else end for start, end, _ in groups if start is not None)
    if last - first + 1 > MAX_BUCKETS:
        return None
    return (dt.date(first, 1, 1), dt.date(last, 1, 1)), groups


def timeline(session: Session, plan: Plan, interval: Interval) -> list[Bucket]:
    """Every `interval` period from the plan's `start`/`end` (else the matches' span), each with the
    events wholly inside it (`count`) and those that may fall in it but extend beyond (`imprecise`).
    Raises TooManyPeriods beyond MAX_BUCKETS periods, naming the parameter to change."""
    dates = plan.dates
    lower, upper = (dates.start, dates.end) if dates else (None, None)
    stored = _stored_years(session, plan) if interval == "year" else None
    if stored is not None:
        bounds, groups = stored
    else:
        first_day, last_day, spans = matching_spans(plan)
        bounds = session.execute(
            select(func.min(first_day), func.max(func.coalesce(last_day, first_day))).select_from(spans)
        ).one()
    first, last = lower or bounds[0], upper or bounds[1]
    if first is None or last is None:
        return []
    _check_periods(first, last, interval, dates)
    buckets: list[Bucket] = []
    cursor: dt.date | None = _period_start(first, interval)
    while cursor is not None and cursor <= last:
        following = _next_period(cursor, interval)
        buckets.append(Bucket(cursor, following - dt.timedelta(days=1) if following else dt.date.max))
        cursor = following
    if stored is None:
        # Events grouped by (first period, last period) in SQL: a few hundred rows even for 100k events.
        start_key, end_key = _period_key(first_day, interval), _period_key(last_day, interval)
        groups = list(
            session.execute(select(start_key, end_key, func.count()).select_from(spans).group_by(start_key, end_key))
        )
    index = {_key_of(b.start, interval): i for i, b in enumerate(buckets)}
    first_key, last_key = _key_of(buckets[0].start, interval), _key_of(buckets[-1].start, interval)
    for start, end, count in groups:
        if start == end and start in index:  # the whole date range lies in one period of the range
            buckets[index[start]].count += count
            continue
        low = index[max(start, first_key)]
        high = index[last_key if end is None else min(end, last_key)]
        for bucket in buckets[low : high + 1]:
            bucket.imprecise += count
    return buckets


# A neighbour's `events` lists at most this many ids (its `count` is exact): an actor sharing 100k events
# with another must not make the response, or the statement behind it, 100k ids long.
EVENTS_PER_NEIGHBOUR = 100


@dataclass
class Neighbour:
    actor: m.Actor
    count: int
    events: list[str]  # the first EVENTS_PER_NEIGHBOUR shared event ids, in id order


def network(session: Session, actor_id: str, plan: Plan, limit: int) -> list[Neighbour]:
    """The ``limit`` actors sharing the most of the plan's matching events with ``actor_id``, most
    connected first (ties by actor id): each with the exact number of shared events and the first
    EVENTS_PER_NEIGHBOUR of their ids. Two statements, each returning at most ``limit`` x EVENTS_PER_NEIGHBOUR
    rows whatever the data."""
    together = (
        matching_ids(plan)
        .where(exists().where(m.EventParticipant.event_id == m.Event.id, m.EventParticipant.actor_id == actor_id))
        .scalar_subquery()
    )
    link = m.EventParticipant
    # One row per (neighbour, shared event) (GROUP BY: an actor may hold two roles in one event); then per
    # neighbour its number of shared events and each event's position; then the neighbours' places. One pass
    # over the shared events, and at most `limit` x EVENTS_PER_NEIGHBOUR rows come back.
    pairs = (
        select(link.actor_id.label("actor_id"), link.event_id.label("event_id"))
        .where(link.event_id.in_(together), link.actor_id != actor_id)
        .group_by(link.actor_id, link.event_id)
        .subquery()
    )
    counted = select(
        pairs.c.actor_id,
        pairs.c.event_id,
        func.count().over(partition_by=pairs.c.actor_id).label("n"),
        func.row_number().over(partition_by=pairs.c.actor_id, order_by=pairs.c.event_id).label("position"),
    ).subquery()
    placed = (
        select(
            counted.c.actor_id,
            counted.c.event_id,
            counted.c.n,
            func.dense_rank().over(order_by=(counted.c.n.desc(), counted.c.actor_id)).label("place"),
        )
        .where(counted.c.position <= EVENTS_PER_NEIGHBOUR)
        .subquery()
    )
    rows = session.execute(
        select(placed.c.actor_id, placed.c.event_id, placed.c.n)
        .where(placed.c.place <= limit)
        .order_by(placed.c.place, placed.c.event_id)
    ).all()
    if not rows:
        return []
    counts: dict[str, int] = {}
    shared: dict[str, list[str]] = defaultdict(list)
    for other, event_id, count in rows:
        counts[other] = count
        shared[other].append(event_id)
    chosen = list(counts)  # at most `limit` (≤ 500) ids, most connected first
    actors = {a.id: a for a in session.scalars(select(m.Actor).where(m.Actor.id.in_(chosen)))}
    return [Neighbour(actors[other], counts[other], shared[other]) for other in chosen]
