"""The filters every list endpoint understands, declared as tables.

A filter turns one query parameter into SQL conditions. Values follow one rule
everywhere: a repeated parameter means all must match, a comma-separated value
means any may match. Ids that do not exist are refused (400) rather than
answered with an empty page, so a typo never looks like "no data".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import ColumnClause, ColumnElement, Select, and_, exists, func, select
from sqlalchemy.sql import visitors
from sqlalchemy.orm import Session, aliased

from app import models as m
from app import vocab
from app.dates import InvalidDate, parse_query_bound
from app.problems import bad_parameter

Condition = ColumnElement[bool]

# The walk over one actor's event links (see listing.Walk). An alias, so that probes of
# event_participants elsewhere in the same query (a second actor, a role) still correlate to the event.
ACTOR_WALK = aliased(m.EventParticipant, name="walk")
MAX_VALUES = 50  # per parameter, counting comma-separated values


def value_groups(param: str, raw: str | list[str] | None) -> list[list[str]]:
    """['a,b', 'c'] -> [['a', 'b'], ['c']]: AND across groups, OR within."""
    if raw is None:
        return []
    raws = [raw] if isinstance(raw, str) else raw
    groups = []
    for value in raws:
        group = [v.strip() for v in value.split(",") if v.strip()]
        if not group:
            raise bad_parameter(param, "empty value")
        groups.append(group)
    if sum(len(g) for g in groups) > MAX_VALUES:
        raise bad_parameter(param, f"at most {MAX_VALUES} values")
    return groups


@dataclass
class FilterContext:
    session: Session
    params: Mapping[str, Any]
    # True when every match is needed (counts, facets, timelines) rather than the first page in date order.
    whole_set: bool = False
    # Set when the query walks an actor's links instead of the events table (see listing.Walk): the first
    # actor group and the date range then become conditions on the walked rows, and linked filters
    # correlate to the walked event id, so most queries never touch the events table.
    walk: Any = None
    actor_walked: bool = False  # the first actor group has become the walk's own condition


class Filter:
    param: str

    def conditions(self, ctx: FilterContext) -> Iterable[Condition]:
        raise NotImplementedError


@dataclass
class Ref(Filter):
    """Ids of another resource; unknown ids are a 400 naming them."""

    param: str
    model: Any
    condition: Callable[[list[str], FilterContext], Condition]
    expand: Callable[[Session, list[str]], list[str]] | None = None

    def conditions(self, ctx: FilterContext) -> Iterable[Condition]:
        groups = value_groups(self.param, ctx.params.get(self.param))
        wanted = {v for g in groups for v in g}
        if wanted:
            found = set(ctx.session.scalars(select(self.model.id).where(self.model.id.in_(wanted))))
            missing = sorted(wanted - found)
            if missing:
                raise bad_parameter(self.param, f"unknown id(s): {', '.join(missing)}", "unknown-reference")
        for group in groups:
            ids = self.expand(ctx.session, group) if self.expand else group
            yield self.condition(ids, ctx)


@dataclass
class Choice(Filter):
    """Values from a fixed vocabulary (event types, roles, kinds, statuses)."""

    param: str
    choices: Iterable[str]
    condition: Callable[[list[str], FilterContext], Condition | None]

    def conditions(self, ctx: FilterContext) -> Iterable[Condition]:
        allowed = set(self.choices)
        for group in value_groups(self.param, ctx.params.get(self.param)):
            unknown = sorted(set(group) - allowed)
            if unknown:
                raise bad_parameter(
                    self.param, f"unknown value(s): {', '.join(unknown)}; expected one of {', '.join(sorted(allowed))}", "unknown-reference"
                )
            condition = self.condition(group, ctx)
            if condition is not None:
                yield condition


@dataclass
class Match(Filter):
    """Free values compared for equality, optionally checked against a pattern."""

    param: str
    column: Any
    pattern: str | None = None
    describe: str = ""

    def conditions(self, ctx: FilterContext) -> Iterable[Condition]:
        for group in value_groups(self.param, ctx.params.get(self.param)):
            for value in group:
                if self.pattern and not re.fullmatch(self.pattern, value):
                    raise bad_parameter(self.param, f"{value!r} is not {self.describe}")
            yield self.column.in_(group)


@dataclass
class Words(Filter):
    """Every word must occur (case-insensitively) in the searched text; bound parameters only."""

    param: str
    text: Any

    def conditions(self, ctx: FilterContext) -> Iterable[Condition]:
        query = ctx.params.get(self.param)
        if query is None:
            return
        words = query.lower().split()
        if not words:
            raise bad_parameter(self.param, "needs at least one word")
        if len(words) > 20:
            raise bad_parameter(self.param, "at most 20 words")
        for word in words:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            yield self.text.like(f"%{escaped}%", escape="\\")


@dataclass
class DateRange(Filter):
    """`start`/`end`/`date_match` against a record's inclusive day bounds (NULL = open end)."""

    lower: Any
    upper: Any
    param: str = "start"
    matching: bool = True  # whether the endpoint offers date_match
    walkable: bool = False  # the walked link rows carry copies of these bounds

    def conditions(self, ctx: FilterContext) -> Iterable[Condition]:
        start = parse_bound(ctx.params, "start", upper=False)
        end = parse_bound(ctx.params, "end", upper=True)
        if start and end and start > end:
            raise bad_parameter("end", f"{ctx.params['end']} is before start {ctx.params['start']}")
        within = self.matching and ctx.params.get("date_match") == "within"
        if self.walkable and ctx.walk is not None:
            # Walked rows store open ends as extreme days and undated as NULL (models.walk_bounds), so
            # plain comparisons give the same answer and stay index ranges.
            lower, upper = ctx.walk.date_start, ctx.walk.date_end
            walked = []
            if start is not None:
                walked.append(lower >= start if within else upper >= start)
            if end is not None:
                walked.append(upper <= end if within else lower <= end)
            return walked
        return self._conditions(start, end, within, self.lower, self.upper)

    @staticmethod
    def _conditions(start: dt.date | None, end: dt.date | None, within: bool, lower: Any, upper: Any) -> Iterable[Condition]:
        if start is not None or end is not None:
            # NULL on one side is an open end; NULL on both means undated, which no date range matches.
            yield lower.is_not(None) | upper.is_not(None)
        if start is not None:
            yield lower >= start if within else (upper.is_(None) | (upper >= start))
        if end is not None:
            yield and_(upper.is_not(None), upper <= end) if within else (lower.is_(None) | (lower <= end))


def parse_bound(params: Mapping[str, Any], name: str, *, upper: bool) -> dt.date | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        return parse_query_bound(text, upper=upper)
    except InvalidDate as exc:
        raise bad_parameter(name, str(exc)) from None


def topic_with_descendants(session: Session, ids: list[str]) -> list[str]:
    children: dict[str | None, list[str]] = {}
    for topic_id, parent_id in session.execute(select(m.Topic.id, m.Topic.parent_id)):
        children.setdefault(parent_id, []).append(topic_id)
    found, stack = set(), list(ids)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return sorted(found)


COUNTRY = r"[A-Z]{2}"


# Above this many linked rows a filter is "broad". Measured on 1M events (SQLite): a page for an actor
# in 10% of events takes 1.7 ms as a correlated EXISTS (walk the date index, test each event) but 175 ms
# as IN (collect 100k ids, then sort); for an actor in 0.05% it is the other way round, 259 ms vs 2.4 ms.
# The two costs cross near sqrt(50 x events) matches, a few thousand at that size.
BROAD = 5000


def linked_events(ctx: FilterContext, event_column: Any, condition: Condition) -> Condition:
    """Events with a linked row matching ``condition``, phrased so the database takes the fast plan:
    a bounded probe counts the links and picks IN (selective) or EXISTS (broad, when only the first
    page in date order is needed)."""
    if ctx.walk is not None:  # the walk is the driver: probe each walked event's links by primary key
        return exists().where(event_column == ctx.walk.event_id, condition)
    links = select(event_column).where(condition)
    event_id = m.Event.id
    if ctx.whole_set:  # aggregations visit every match: start from the links whatever their number
        return event_id.in_(links)
    probe = ctx.session.scalar(select(func.count()).select_from(links.limit(BROAD).subquery()))
    if probe is not None and probe < BROAD:
        return event_id.in_(links)
    return exists().where(event_column == event_id, condition)


def _event_actor(ids: list[str], ctx: FilterContext) -> Condition:
    roles = [r for g in value_groups("role", ctx.params.get("role")) for r in g]
    if ctx.walk is not None and not ctx.actor_walked:
        ctx.actor_walked = True  # the first actor group is the walk itself
        return ctx.walk.actor_id.in_(ids) if not roles else and_(ctx.walk.actor_id.in_(ids), ctx.walk.role.in_(roles))
    condition = m.EventParticipant.actor_id.in_(ids)
    if roles:
        condition = and_(condition, m.EventParticipant.role.in_(roles))
    return linked_events(ctx, m.EventParticipant.event_id, condition)


def _event_role(roles: list[str], ctx: FilterContext) -> Condition | None:
    if ctx.params.get("actor"):
        return None  # applied together with the actor, see _event_actor
    return linked_events(ctx, m.EventParticipant.event_id, m.EventParticipant.role.in_(roles))


EVENT_FILTERS: list[Filter] = [
    Ref("actor", m.Actor, _event_actor),  # first: with a walk, its first group is the walked condition
    DateRange(m.Event.date_start, m.Event.date_end, walkable=True),
    Choice("role", vocab.ROLES, _event_role),
    Ref(
        "topic",
        m.Topic,
        lambda ids, ctx: linked_events(ctx, m.EventTopic.event_id, m.EventTopic.topic_id.in_(ids)),
        expand=topic_with_descendants,
    ),
    Choice("type", vocab.EVENT_TYPES, lambda types, _: m.Event.type.in_(types)),
    Match("country", m.Event.location_country, COUNTRY, "an ISO 3166-1 alpha-2 code such as PK"),
    Ref(
        "source",
        m.SourceDocument,
        lambda ids, _: exists().where(m.Locator.event_id == m.Event.id, m.Locator.source_id.in_(ids)),
    ),
    Ref("parent", m.Event, lambda ids, _: m.Event.parent_id.in_(ids)),
    Words("q", m.Event.search_text),
]

AGREEMENT_FILTERS: list[Filter] = [
    DateRange(m.Agreement.date_start, m.Agreement.date_end),
    Ref(
        "actor",
        m.Actor,
        lambda ids, _: exists().where(m.AgreementParty.agreement_id == m.Agreement.id, m.AgreementParty.actor_id.in_(ids)),
    ),
    Ref(
        "topic",
        m.Topic,
        lambda ids, _: exists().where(m.AgreementTopic.agreement_id == m.Agreement.id, m.AgreementTopic.topic_id.in_(ids)),
        expand=topic_with_descendants,
    ),
    Choice("status", vocab.AGREEMENT_STATUSES, lambda values, _: m.Agreement.status.in_(values)),
    Choice("kind", vocab.AGREEMENT_KINDS, lambda values, _: m.Agreement.kind.in_(values)),
    Words("q", m.Agreement.search_text),
]

ACTOR_FILTERS: list[Filter] = [
    Words("q", m.Actor.search_text),
    Choice("kind", vocab.ACTOR_KINDS, lambda values, _: m.Actor.kind.in_(values)),
    Match("country", m.Actor.country, COUNTRY, "an ISO 3166-1 alpha-2 code such as US"),
]

CITATION_FILTERS: list[Filter] = [
    Match("publisher", m.Citation.publisher),
    Ref("source", m.SourceDocument, lambda ids, _: m.Citation.source_id.in_(ids)),
    DateRange(m.Citation.issued_start, m.Citation.issued_end, matching=False),
]

TOPIC_FILTERS: list[Filter] = [
    Words("q", func.lower(m.Topic.label + " " + m.Topic.description)),
    Ref("parent", m.Topic, lambda ids, _: m.Topic.parent_id.in_(ids)),
]

SOURCE_FILTERS: list[Filter] = [
    Words("q", func.lower(m.SourceDocument.title + " " + func.coalesce(m.SourceDocument.series, "") + " " + func.coalesce(m.SourceDocument.publisher, ""))),
]


def where_clauses(
    session: Session, filters: list[Filter], params: Mapping[str, Any], *, whole_set: bool = False
) -> list[Condition]:
    ctx = FilterContext(session, params, whole_set)
    return [condition for f in filters for condition in f.conditions(ctx)]


def walked_events(session: Session, filters: list[Filter], params: Mapping[str, Any], walk: Any, *columns: Any) -> Select:
    """``columns`` over the rows of ``walk`` (an aliased event-link entity) that match the filters, one row
    per event: grouped in the index's own (date_start, event_id) order, so an actor holding two roles in one
    event is one match and the walk still streams. The events table is joined only if a filter reads it."""
    ctx = FilterContext(session, params, walk=walk)
    conditions = [condition for f in filters for condition in f.conditions(ctx)]
    events = m.Event.__table__
    query = select(*columns)
    if any(isinstance(element, ColumnClause) and element.table is events for c in conditions for element in visitors.iterate(c)):
        query = query.join(m.Event, m.Event.id == walk.event_id)
    return query.where(*conditions).group_by(walk.date_start, walk.event_id)
