"""Facets, timelines and actor networks over any event filter combination.

Every count here is defined so that it equals the `total` of `/v1/events` for
the same filters plus one more (facet value `X` ↔ adding `type=X`, a timeline
bucket ↔ adding `start`/`end` of the bucket, a network neighbour ↔ adding
`actor=B`). The tests check exactly that.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import Integer, case, cast, extract, func, literal, select, union_all
from sqlalchemy.orm import Session

from app import models as m
from app import vocab
from app.queries.filters import Param
from app.queries.plan import Plan, Shape, conditions, matching_ids, walked_select

FacetName = Literal["type", "topic", "actor", "country", "year"]
Interval = Literal["year", "month", "day"]
FACETS: tuple[FacetName, ...] = get_args(FacetName)
INTERVALS: tuple[Interval, ...] = get_args(Interval)

FACET = Param(
    "facet",
    list[str],
    list(FACETS),
    "Facets to count (repeat, or separate with commas): " + ", ".join(FACETS) + ".",
    ["type", "actor"],
    vocabulary=FACETS,
)
FACET_SIZE = Param(
    "facet_size", int, 10, "Values per facet, most frequent first.", 10, constraints={"ge": 1, "le": 500}
)
INTERVAL = Param("interval", str, "year", "Bucket size.", "month", vocabulary=INTERVALS)


def count_matching(session: Session, plan: Plan) -> int:
    """Exactly how many events match (facets' `total`, citations of a query)."""
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


def _type_facet(session: Session, ids: Any) -> FacetRows:
    rows = session.execute(select(m.Event.type, func.count()).where(m.Event.id.in_(ids)).group_by(m.Event.type))
    return [(t, vocab.EVENT_TYPES[t].label, n) for t, n in rows]


def _country_facet(session: Session, ids: Any) -> FacetRows:
    rows = session.execute(
        select(m.Event.location_country, func.count())
        .where(m.Event.id.in_(ids), m.Event.location_country.is_not(None))
        .group_by(m.Event.location_country)
    )
    return [(c, str(c), n) for c, n in rows]


def _actor_facet(session: Session, ids: Any) -> FacetRows:
    rows = session.execute(
        select(m.Actor.id, m.Actor.name, func.count(func.distinct(m.EventParticipant.event_id)))
        .join(m.EventParticipant, m.EventParticipant.actor_id == m.Actor.id)
        .where(m.EventParticipant.event_id.in_(ids))
        .group_by(m.Actor.id, m.Actor.name)
    )
    return [(a, name, n) for a, name, n in rows]


def _topic_facet(session: Session, ids: Any) -> FacetRows:
    closure = topic_closure_rows(session)
    if not closure:
        return []
    pairs = union_all(
        *(select(literal(a).label("ancestor"), literal(d).label("descendant")) for a, d in closure)
    ).subquery()
    rows = session.execute(
        select(pairs.c.ancestor, m.Topic.label, func.count(func.distinct(m.EventTopic.event_id)))
        .join(m.EventTopic, m.EventTopic.topic_id == pairs.c.descendant)
        .join(m.Topic, m.Topic.id == pairs.c.ancestor)
        .where(m.EventTopic.event_id.in_(ids))
        .group_by(pairs.c.ancestor, m.Topic.label)
    )
    return [(t, label, n) for t, label, n in rows]


def _year_facet(session: Session, ids: Any) -> FacetRows:
    # An event counts in every year its range overlaps (an open end runs to this year).
    counts: Counter[int] = Counter()
    first_year, last_year = _period_key(m.Event.date_start, "year"), _period_key(m.Event.date_end, "year")
    spans = select(first_year, last_year, func.count()).where(m.Event.id.in_(ids)).group_by(first_year, last_year)
    for start, end, n in session.execute(spans):
        for year in range(start, (end or dt.date.today().year) + 1):
            counts[year] += n
    return [(year, str(year), n) for year, n in counts.items()]


FACET_QUERIES: dict[FacetName, Callable[[Session, Any], FacetRows]] = {
    "type": _type_facet,
    "topic": _topic_facet,
    "actor": _actor_facet,
    "country": _country_facet,
    "year": _year_facet,
}
if set(FACET_QUERIES) != set(FACETS):  # the parameter's vocabulary and the queries are one list
    raise RuntimeError(f"facets declared {FACETS} but queried {tuple(FACET_QUERIES)}")


def facet_counts(session: Session, plan: Plan, names: list[FacetName], size: int) -> dict[str, list[FacetValue]]:
    """The ``size`` most frequent values of each facet among the plan's matches, most frequent first
    (years in calendar order). Each count equals the list total with that value added as a filter."""
    ids = matching_ids(plan).scalar_subquery()
    result: dict[str, list[FacetValue]] = {}
    for name in names:
        top = _top(FACET_QUERIES[name](session, ids), size)
        result[name] = sorted(top, key=lambda v: v.id or "") if name == "year" else top
    return result


def topic_closure_rows(session: Session) -> list[tuple[str, str]]:
    """(ancestor, descendant) pairs, so a topic's count includes its sub-topics, like the `topic` filter."""
    parent = dict(session.execute(select(m.Topic.id, m.Topic.parent_id)).all())
    pairs = []
    for topic in parent:
        node: str | None = topic
        while node is not None:
            pairs.append((node, topic))
            node = parent.get(node)
    return pairs


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
    spans = walked_select(plan, walk.date_start.label("first"), func.min(walk.date_end).label("last")).subquery()
    open_end = case((spans.c.last == dt.date.max, None), else_=spans.c.last)  # see models.walk_bounds
    return spans.c.first, open_end, spans


def timeline(session: Session, plan: Plan, interval: Interval) -> list[Bucket]:
    """Every `interval` period from the plan's `start`/`end` (else the matches' span), each with the
    events wholly inside it (`count`) and those that may fall in it but extend beyond (`imprecise`).
    Raises ValueError beyond MAX_BUCKETS periods."""
    dates = plan.dates
    lower, upper = (dates.start, dates.end) if dates else (None, None)
    first_day, last_day, spans = matching_spans(plan)
    bounds = session.execute(
        select(func.min(first_day), func.max(func.coalesce(last_day, first_day))).select_from(spans)
    ).one()
    first, last = lower or bounds[0], upper or bounds[1]
    if first is None or last is None:
        return []
    buckets: list[Bucket] = []
    cursor: dt.date | None = _period_start(first, interval)
    while cursor is not None and cursor <= last:
        following = _next_period(cursor, interval)
        buckets.append(Bucket(cursor, following - dt.timedelta(days=1) if following else dt.date.max))
        cursor = following
        if len(buckets) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {interval} periods; use a coarser interval or a narrower range")
    # Events grouped by (first period, last period) in SQL: a few hundred rows even for 100k events.
    start_key, end_key = _period_key(first_day, interval), _period_key(last_day, interval)
    groups = session.execute(
        select(start_key, end_key, func.count()).select_from(spans).group_by(start_key, end_key)
    ).all()
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


@dataclass
class Neighbour:
    actor: m.Actor
    count: int
    events: list[str]


def network(session: Session, actor_id: str, plan: Plan) -> list[Neighbour]:
    """Actors sharing the plan's matching events with ``actor_id``: counts and shared event ids, most
    connected first."""
    ids = (
        matching_ids(plan)
        .where(
            select(m.EventParticipant.event_id)
            .where(m.EventParticipant.event_id == m.Event.id, m.EventParticipant.actor_id == actor_id)
            .exists()
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(m.EventParticipant.actor_id, m.EventParticipant.event_id)
        .where(m.EventParticipant.event_id.in_(ids), m.EventParticipant.actor_id != actor_id)
        .distinct()
        .order_by(m.EventParticipant.actor_id, m.EventParticipant.event_id)
    ).all()
    shared: dict[str, list[str]] = defaultdict(list)
    for other, event_id in rows:
        shared[other].append(event_id)
    actors = {a.id: a for a in session.scalars(select(m.Actor).where(m.Actor.id.in_(list(shared))))}
    return sorted(
        (Neighbour(actors[a], len(events), events) for a, events in shared.items()),
        key=lambda n: (-n.count, n.actor.id),
    )
