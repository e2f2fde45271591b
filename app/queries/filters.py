"""The kinds of filter, and the one rule every filter follows.

A filter is declared once (app.queries.resources) and carries everything about itself: the query
parameters it reads (name, type, vocabulary, description, example — the query models and OpenAPI are
derived from them), how it *resolves* raw values against the database (ids exist, topics expand), and
how it *compiles* resolved values to SQL conditions for a given :class:`Scope`. Resolution is the only
step that does I/O; compilation is pure.

Values follow one rule everywhere: a repeated parameter means all must match, a comma-separated value
means any may match. Ids that do not exist are refused (400) rather than answered with an empty page,
so a typo never looks like "no data".
"""

from __future__ import annotations

import abc
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, get_origin

from pydantic import Field
from pydantic.fields import FieldInfo
from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from app import models as m
from app.curation.store import renamed_ids
from app.dates import InvalidDate, parse_query_bound
from app.problems import ProblemError, bad_parameter
from app.search.query import QuerySyntaxError, SearchQuery, parse
from app.search.sql import SearchCondition, SearchIndex
from app.search.text import name_key

Condition = ColumnElement[bool]
Groups = tuple[tuple[str, ...], ...]  # AND across groups, OR within a group

MAX_VALUES = 50  # per parameter, counting comma-separated values
ALL_ANY = (
    " Repeat the parameter to require all values; separate values with commas to accept any (a comma list is"
    " one value, e.g. `visit,meeting`)."
)


@dataclass(frozen=True)
class Param:
    """One query parameter as clients see it: the query models and OpenAPI are built from these.

    ``annotation`` is the Python type FastAPI validates (``list[str]`` for repeatable parameters);
    ``vocabulary`` lists the accepted values, shown in OpenAPI as an enum (for lists, of the items)."""

    name: str
    annotation: Any
    default: Any
    description: str
    example: Any
    vocabulary: tuple[str, ...] | None = None
    constraints: Mapping[str, Any] = field(default_factory=dict)  # pydantic Field limits: ge, le, max_length…

    def as_field(self) -> tuple[Any, FieldInfo]:
        """(annotation, FieldInfo) for ``pydantic.create_model``. A single-valued parameter with a
        vocabulary becomes a ``Literal`` (validated by FastAPI, an enum in OpenAPI); a repeatable one
        keeps ``list[str]`` (a value may be a comma-separated list) with the enum on its items, and is
        checked by its filter."""
        annotation: Any = self.annotation
        extra: dict[str, Any] | None = None
        if self.vocabulary is not None:
            if get_origin(self.annotation) is list:
                # The enum for typed clients, who repeat the parameter; a comma-separated list of the same
                # terms (any of them) is accepted too, for curl users (said in every such description).
                extra = {"items": {"type": "string", "enum": list(self.vocabulary)}}
            else:
                choices: Any = Literal.__getitem__(self.vocabulary)  # a Literal built from data, not spelt out
                annotation = choices | None if self.default is None else choices
        info = Field(
            default=self.default,  # pydantic copies a mutable default for each model
            description=self.description,
            examples=[self.example],
            json_schema_extra=extra,
            **self.constraints,
        )
        return annotation, info


def repeatable(name: str, description: str, example: str, vocabulary: Iterable[str] | None = None) -> Param:
    """A `list[str]` parameter: repeated = all must match, comma-separated = any (``vocabulary``: the
    accepted values, e.g. a vocab dict's keys)."""
    return Param(name, list[str], [], description + ALL_ANY, [example], tuple(vocabulary) if vocabulary else None)


def value_groups(param: str, raw: str | Sequence[str] | None) -> Groups:
    """['a,b', 'c'] -> (('a', 'b'), ('c',)): AND across groups, OR within. Raises a 400 problem on an
    empty value or more than MAX_VALUES values."""
    if raw is None:
        return ()
    raws = [raw] if isinstance(raw, str) else list(raw)
    groups = []
    for value in raws:
        group = tuple(v.strip() for v in value.split(",") if v.strip())
        if not group:
            raise bad_parameter(param, "empty value")
        groups.append(group)
    if sum(len(g) for g in groups) > MAX_VALUES:
        raise bad_parameter(param, f"at most {MAX_VALUES} values")
    return tuple(groups)


class Scope(Protocol):
    """What a filter compiles against, chosen by the plan (app.queries.plan): the events table, the
    walked link rows of one actor, or another resource's table. Pure: holds columns, never a session."""

    @property
    def event_id(self) -> Any:
        """The column identifying the matched event (for correlated sub-queries)."""

    def linked(self, key: str, group: int, event_column: Any, condition: Condition) -> Condition:
        """Events with a linked row (``event_column`` = its event id) matching ``condition``, phrased
        as the plan chose for value group ``group`` of the filter ``key``."""

    def date_conditions(self, bounds: DateBounds, lower: Any, upper: Any, walkable: bool) -> list[Condition]:
        """``bounds`` against a record's day columns (or the walk's copies of them)."""

    def walked_group(self, key: str) -> int | None:
        """Which value group of filter ``key`` the walk itself stands for, if any."""

    def walk_columns(self) -> Any:
        """The walked link entity (actor_id, role, date_start, date_end, event_id)."""

    def is_broad(self, key: str, group: int) -> bool:
        """Whether the plan found value group ``group`` of filter ``key`` broad (so it is better tested row by
        row as the rows arrive in list order than collected whole first)."""


class Filter(abc.ABC):
    """A declared filter: ``params`` it reads; ``resolve`` (I/O allowed, raises 400 problems) turns raw
    values into a resolved value or None when unset; ``compile`` (pure) turns that into conditions."""

    linked_table: ClassVar[bool] = False  # matches through a link table (candidates for IN/EXISTS/walk)

    @property
    @abc.abstractmethod
    def key(self) -> str:
        """The filter's name in a plan's resolved values."""

    @property
    @abc.abstractmethod
    def params(self) -> tuple[Param, ...]:
        """The query parameters it reads."""

    @abc.abstractmethod
    def resolve(self, raw: Mapping[str, Any], session: Session) -> Any:
        """The resolved value of ``raw`` (the validated query as a dict), or None when unset."""

    @abc.abstractmethod
    def compile(self, value: Any, scope: Scope) -> list[Condition]:
        """Pure: the conditions ``value`` stands for in ``scope``."""

    def links(self, value: Any) -> list[Any]:
        """Only for linked filters: per value group, a SELECT of the link rows it matches (what the
        planner counts to phrase that group as IN or EXISTS)."""
        raise NotImplementedError


class OneParam(Filter):
    """A filter reading one parameter, named after it."""

    param: Param

    @property
    def key(self) -> str:
        return self.param.name

    @property
    def params(self) -> tuple[Param, ...]:
        return (self.param,)


def require_known(param: str, groups: Groups, known: set[str]) -> None:
    """A 400 naming every id of ``groups`` not in ``known``."""
    missing = sorted({v for g in groups for v in g} - known)
    if missing:
        raise bad_parameter(param, f"unknown id(s): {', '.join(missing)}", "unknown-reference")


def check_ids(session: Session, param: str, model: Any, groups: Groups) -> None:
    """A 400 naming every id of ``groups`` that ``model``'s table lacks (one query)."""
    wanted = {v for g in groups for v in g}
    if wanted:
        require_known(param, groups, set(session.scalars(select(model.id).where(model.id.in_(wanted)))))


def check_choices(param: str, groups: Groups, allowed: Sequence[str]) -> None:
    for group in groups:
        unknown = sorted(set(group) - set(allowed))
        if unknown:
            raise bad_parameter(
                param,
                f"unknown value(s): {', '.join(unknown)}; expected one of {', '.join(sorted(allowed))}",
                "unknown-reference",
            )


Expand = Callable[[Session, Groups], tuple[Groups, set[str]]]


def resolve_ids(
    session: Session, param: str, raw: Mapping[str, Any], model: Any, expand: Expand | None
) -> Groups | None:
    """The value groups of an id parameter, checked to exist (400 naming the unknown ones) and, given
    ``expand`` (which returns the expanded groups and every known id, in one read), expanded (a topic
    and its sub-topics); None when unset."""
    groups = value_groups(param, raw.get(param))
    if not groups:
        return None
    return _following_renames(
        session, groups, model, lambda found: _resolve_known(session, param, found, model, expand)
    )


def checked_ids(session: Session, param: str, model: Any, groups: Groups) -> Groups:
    """``groups`` with renamed ids replaced by the current ones; a 400 naming every unknown id."""

    def check(found: Groups) -> Groups:
        check_ids(session, param, model, found)
        return found

    return _following_renames(session, groups, model, check)


def _following_renames(session: Session, groups: Groups, model: Any, resolve: Callable[[Groups], Groups]) -> Groups:
    try:
        return resolve(groups)
    except ProblemError as exc:
        if exc.kind != "unknown-reference":
            raise
        # Renamed ids keep working as filters (app.curation): the current ids, or the same 400.
        current = renamed_ids(session, model, {v for g in groups for v in g})
        if not current:
            raise
        return resolve(tuple(tuple(current.get(v, v) for v in g) for g in groups))


def _resolve_known(session: Session, param: str, groups: Groups, model: Any, expand: Expand | None) -> Groups:
    if expand is None:
        check_ids(session, param, model, groups)
        return groups
    expanded, known = expand(session, groups)
    require_known(param, groups, known)
    return expanded


@dataclass(frozen=True)
class Ref(OneParam):
    """Ids of another resource; ``condition(ids, scope)`` gives the SQL for one group."""

    param: Param
    model: Any
    condition: Callable[[tuple[str, ...], Scope], Condition]
    expand: Expand | None = None

    def resolve(self, raw: Mapping[str, Any], session: Session) -> Groups | None:
        return resolve_ids(session, self.key, raw, self.model, self.expand)

    def compile(self, value: Groups, scope: Scope) -> list[Condition]:
        return [self.condition(group, scope) for group in value]


@dataclass(frozen=True)
class Linked(OneParam):
    """Ids matched through an event link table (event topics): each group phrased as IN, EXISTS or a
    probe per walked row, as the plan decides (see app.queries.plan.Shape)."""

    param: Param
    model: Any
    link_event: Any  # the link table's event id column
    link_value: Any  # the link table's column holding the referenced id
    expand: Expand | None = None
    # Pure: the SQL set of values a group of ids stands for (a topic and its sub-topics), when it is more
    # than the ids themselves; kept in the database so the statement does not grow with that set.
    within: Callable[[tuple[str, ...]], Any] | None = None
    linked_table: ClassVar[bool] = True

    def resolve(self, raw: Mapping[str, Any], session: Session) -> Groups | None:
        return resolve_ids(session, self.key, raw, self.model, self.expand)

    def _matches(self, group: tuple[str, ...]) -> Condition:
        condition: Condition = self.link_value.in_(self.within(group) if self.within else group)
        return condition

    def compile(self, value: Groups, scope: Scope) -> list[Condition]:
        return [scope.linked(self.key, i, self.link_event, self._matches(group)) for i, group in enumerate(value)]

    def links(self, value: Groups) -> list[Any]:
        return [select(self.link_event).where(self._matches(group)) for group in value]


@dataclass(frozen=True)
class Choice(OneParam):
    """Values from a fixed vocabulary (event types, kinds, statuses); unknown values are a 400."""

    param: Param
    column: Any

    def resolve(self, raw: Mapping[str, Any], session: Session) -> Groups | None:
        groups = value_groups(self.key, raw.get(self.key))
        check_choices(self.key, groups, self.param.vocabulary or ())
        return groups or None

    def compile(self, value: Groups, scope: Scope) -> list[Condition]:
        return [self.column.in_(group) for group in value]


@dataclass(frozen=True)
class Match(OneParam):
    """Free values compared for equality, optionally checked against a pattern."""

    param: Param
    column: Any
    pattern: str | None = None
    describe: str = ""

    def resolve(self, raw: Mapping[str, Any], session: Session) -> Groups | None:
        groups = value_groups(self.key, raw.get(self.key))
        for group in groups:
            for value in group:
                if self.pattern and not re.fullmatch(self.pattern, value):
                    raise bad_parameter(self.key, f"{value!r} is not {self.describe}")
        return groups or None

    def compile(self, value: Groups, scope: Scope) -> list[Condition]:
        return [self.column.in_(group) for group in value]


@dataclass(frozen=True)
class Names(OneParam):
    """Names compared whole, after NFKC + case folding and white-space collapsing (app.search.text.name_key),
    against a column holding names folded the same way. A value is never split at commas (publisher names
    contain them); the parameter repeated means *any* of the names, since a record has one."""

    param: Param
    column: Any

    def resolve(self, raw: Mapping[str, Any], session: Session) -> tuple[str, ...] | None:
        values = raw.get(self.key) or []
        keys = tuple(name_key(v) for v in values)
        if not all(keys):
            raise bad_parameter(self.key, "empty value")
        if len(keys) > MAX_VALUES:
            raise bad_parameter(self.key, f"at most {MAX_VALUES} values")
        return tuple(k for k in keys if k) or None

    def compile(self, value: tuple[str, ...], scope: Scope) -> list[Condition]:
        return [self.column.in_(value)]


def names_param(name: str, description: str, example: str) -> Param:
    """A repeatable free-text name parameter (see :class:`Names`)."""
    return Param(
        name,
        list[str],
        [],
        description + " Compared whole and case-insensitively (Unicode NFKC + case folding); a comma is part of"
        " the name. Repeat the parameter to accept any of several names.",
        [example],
    )


@dataclass(frozen=True)
class Words(OneParam):
    """`q`: full-text search of ``index`` (app.search): the query is parsed here (a 400 naming `q` when
    malformed, see app.search.query for the syntax) and compiled per database by SearchCondition. Its
    parsed value also ranks (`sort=relevance`) and cuts snippets."""

    param: Param
    index: SearchIndex

    def resolve(self, raw: Mapping[str, Any], session: Session) -> SearchQuery | None:
        query = raw.get(self.key)
        if query is None:
            return None
        try:
            return parse(query)
        except QuerySyntaxError as exc:
            raise bad_parameter(self.key, str(exc)) from None

    def compile(self, value: SearchQuery, scope: Scope) -> list[Condition]:
        return [SearchCondition(self.index, value, per_row=scope.is_broad(self.key, 0))]


SYNTAX = (
    ' Words are matched with their other forms (`mediation` finds *mediate*), all must match; `"a phrase"`,'
    " `prefix*`, `a OR b` and `-excluded` (or `NOT excluded`) work too (see the README's Search section). Case"
    " and Unicode form do not matter. With `q`, each item carries a `snippet` and `sort=relevance` is available."
)


def words_param(description: str, example: str) -> Param:
    return Param("q", str | None, None, description + SYNTAX, example, constraints={"min_length": 1, "max_length": 200})


@dataclass(frozen=True)
class DateBounds:
    """A resolved date range: inclusive days, either end open (None); ``within`` = containment."""

    start: dt.date | None
    end: dt.date | None
    within: bool


def parse_bound(param: str, text: str | None, *, upper: bool) -> dt.date | None:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD` to its first (or, ``upper``, last) day; a 400 naming ``param``."""
    if text is None:
        return None
    try:
        return parse_query_bound(text, upper=upper)
    except InvalidDate as exc:
        raise bad_parameter(param, str(exc)) from None


DATE_FORMS = "`YYYY`, `YYYY-MM` or `YYYY-MM-DD`"


@dataclass(frozen=True)
class DateRange(Filter):
    """`start`/`end` (and, where offered, `date_match`) against a record's inclusive day bounds
    (NULL = open end; NULL on both = undated, which no range matches)."""

    lower: Any
    upper: Any
    start_doc: str = f"Earliest day of interest: {DATE_FORMS} (a year or month means its first day)."
    end_doc: str = f"Latest day of interest: {DATE_FORMS} (a year or month means its last day)."
    matching: bool = True  # whether the endpoint offers date_match
    walkable: bool = False  # the walked link rows carry copies of these bounds (models.walk_bounds)

    @property
    def key(self) -> str:
        return "date"

    @property
    def params(self) -> tuple[Param, ...]:
        declared = [
            Param("start", str | None, None, self.start_doc, "2019-07"),
            Param("end", str | None, None, self.end_doc, "2019-07"),
        ]
        if self.matching:
            declared.append(
                Param(
                    "date_match",
                    str,
                    "overlaps",
                    "`overlaps` (default): any day the record may denote falls in the range, so a September 2018 "
                    "event matches a query for 15 September 2018. `within`: every day it may denote does.",
                    "overlaps",
                    vocabulary=("overlaps", "within"),
                )
            )
        return tuple(declared)

    def resolve(self, raw: Mapping[str, Any], session: Session) -> DateBounds | None:
        start = parse_bound("start", raw.get("start"), upper=False)
        end = parse_bound("end", raw.get("end"), upper=True)
        if start and end and start > end:
            raise bad_parameter("end", f"{raw['end']} is before start {raw['start']}")
        match = raw.get("date_match", "overlaps")  # validated by the query model (a Literal)
        if start is None and end is None:
            return None
        return DateBounds(start, end, self.matching and match == "within")

    def compile(self, value: DateBounds, scope: Scope) -> list[Condition]:
        return scope.date_conditions(value, self.lower, self.upper, self.walkable)


def nullable_date_conditions(bounds: DateBounds, lower: Any, upper: Any) -> list[Condition]:
    """Bounds against day columns where NULL is an open end (both NULL: undated, never matches)."""
    start, end, within = bounds.start, bounds.end, bounds.within
    conditions: list[Condition] = [lower.is_not(None) | upper.is_not(None)]
    if start is not None:
        conditions.append(lower >= start if within else (upper.is_(None) | (upper >= start)))
    if end is not None:
        conditions.append(and_(upper.is_not(None), upper <= end) if within else (lower.is_(None) | (lower <= end)))
    return conditions


def walked_date_conditions(bounds: DateBounds, lower: Any, upper: Any) -> list[Condition]:
    """Bounds against walked link rows, which store open ends as extreme days and undated as NULL
    (models.walk_bounds): plain comparisons give the same answer and stay index ranges."""
    conditions: list[Condition] = []
    if bounds.start is not None:
        conditions.append(lower >= bounds.start if bounds.within else upper >= bounds.start)
    if bounds.end is not None:
        conditions.append(upper <= bounds.end if bounds.within else lower <= bounds.end)
    return conditions


@dataclass(frozen=True)
class ParticipantValue:
    """Resolved `actor`/`role`, as (actor group, role group) pairs that must each be held by one link row:
    AND across pairs, OR within a group. With actors, every actor group is paired with every role group
    (`actor=a&role=visitor&role=host`: a was a visitor and a host); without actors, the role groups stand
    alone (actor group None). An empty role group means any role."""

    pairs: tuple[tuple[tuple[str, ...] | None, tuple[str, ...]], ...]

    @property
    def actors(self) -> bool:
        """Whether an actor is named (what a walk needs: one actor's links, not a whole role's)."""
        return self.pairs[0][0] is not None


@dataclass(frozen=True)
class Participant(Filter):
    """Who takes part, and in which role: one filter over `event_participants` for `actor` and `role`,
    because with both given the actor must hold the role (in the same link row)."""

    actor: Param
    role: Param
    # A view whose `role` terms name sets of stored roles (visits: `visitor` = the stored visitor or head of
    # delegation): term -> stored roles, and `actor` without `role` means any of them. None: the terms are
    # the stored roles, and `actor` alone means any role.
    roles: Mapping[str, tuple[str, ...]] | None = None
    linked_table: ClassVar[bool] = True

    @property
    def key(self) -> str:
        return "participant"

    @property
    def params(self) -> tuple[Param, ...]:
        return (self.actor, self.role)

    def resolve(self, raw: Mapping[str, Any], session: Session) -> ParticipantValue | None:
        actors = value_groups("actor", raw.get("actor"))
        role_groups = value_groups("role", raw.get("role"))
        actors = checked_ids(session, "actor", m.Actor, actors)
        check_choices("role", role_groups, self.role.vocabulary or ())
        if not actors and not role_groups:
            return None
        any_role: tuple[str, ...] = ()
        if self.roles is not None:
            role_groups = tuple(self._stored(group) for group in role_groups)
            any_role = self._stored(tuple(self.roles))
        actor_groups: tuple[tuple[str, ...] | None, ...] = actors or (None,)
        return ParticipantValue(tuple((a, r) for a in actor_groups for r in role_groups or (any_role,)))

    def _stored(self, terms: tuple[str, ...]) -> tuple[str, ...]:
        assert self.roles is not None
        return tuple(dict.fromkeys(stored for term in terms for stored in self.roles[term]))

    @staticmethod
    def _link(actors: tuple[str, ...] | None, roles: tuple[str, ...], link: Any) -> Condition:
        conditions = []
        if actors is not None:
            conditions.append(link.actor_id.in_(actors))
        if roles:
            conditions.append(link.role.in_(roles))
        return and_(*conditions)

    def compile(self, value: ParticipantValue, scope: Scope) -> list[Condition]:
        link = m.EventParticipant
        walked = scope.walked_group(self.key)
        conditions = []
        for index, (actors, roles) in enumerate(value.pairs):
            if index == walked:  # the walk's own rows are this pair's links
                conditions.append(self._link(actors, roles, scope.walk_columns()))
            else:
                conditions.append(scope.linked(self.key, index, link.event_id, self._link(actors, roles, link)))
        return conditions

    def links(self, value: ParticipantValue) -> list[Any]:
        link = m.EventParticipant
        return [select(link.event_id).where(self._link(actors, roles, link)) for actors, roles in value.pairs]


def correlated(scope: Scope, column: Any, condition: Condition) -> Condition:
    """A correlated EXISTS over a table linked to the event (no probing: small, by-event tables)."""
    return exists().where(column == scope.event_id, condition)
