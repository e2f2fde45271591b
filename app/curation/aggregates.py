"""The write path's upkeep of the aggregation tables (app.models.aggregates): the topic closure and the
precomputed event counts, changed in the writing transaction by app.curation.store (and rebuilt whole by a
bundle import that replaces the dataset, the benchmark generator and migration 0008).

Counts change by *contribution*: a set of events adds its rows (scope, facet, value, n) on the way in and
subtracts them on the way out, computed by one set of statements (:func:`_contributions`) whether it runs for
one event, the events under a re-parented topic, or every event (:func:`rebuild`). So an incremental update
and a recomputation from scratch cannot disagree on what is counted.

Cost (measured at 1M events on SQLite, 2 shared cores): one event taken out and put back ~40 ms (14 small
upserts each way); a topic moved or renamed recounts every event under it (a root topic with ~10% of the events:
~60 s, on top of the search re-derivation such a write already does); a full rebuild ~100 s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, String, cast, delete, extract, func, insert, literal, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import models as m
from app.curation.validate import table_of

Writer = Session | Connection
# Events whose contributions change: their ids, or a statement selecting them.
Events = Sequence[str] | Any
CHUNK = 500  # ids per statement when a list is given (SQLite's bound-parameter limit is far above)


def dialect_of(db: Writer) -> str:
    """The database's dialect name ("sqlite", "postgresql") of a session or connection."""
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


# -- the topic closure ------------------------------------------------------------------------------------------


def rebuild_closure(db: Writer) -> None:
    """Recompute topic_closure from topics.parent_id (a few rows per topic: cheap at any realistic tree size, so
    every topic write recomputes it rather than patching it)."""
    t = table_of(m.Topic)
    tree = select(t.c.id.label("ancestor"), t.c.id.label("descendant")).cte("tree", recursive=True)
    # UNION, not UNION ALL: a cycle (which validation refuses) would end instead of looping.
    tree = tree.union(select(tree.c.ancestor, t.c.id).where(t.c.parent_id == tree.c.descendant))
    closure = table_of(m.TopicClosure)
    db.execute(delete(closure))
    db.execute(insert(closure).from_select(["ancestor", "descendant"], select(tree.c.ancestor, tree.c.descendant)))


def subtree_events(topic_id: str) -> Any:
    """Pure: the ids of events holding this topic or one of its sub-topics (by the closure as it stands)."""
    closure, links = m.TopicClosure, m.EventTopic
    below = select(closure.descendant).where(closure.ancestor == topic_id)
    return select(links.event_id).where(links.topic_id.in_(below)).distinct()


def actor_events(actor_id: str) -> Any:
    """Pure: the ids of the events this actor takes part in."""
    return select(m.EventParticipant.event_id).where(m.EventParticipant.actor_id == actor_id).distinct()


# -- counts ----------------------------------------------------------------------------------------------------


def _year(column: Any) -> Any:
    return cast(cast(extract("year", column), m.EventCount.n.type), String)


def span_value(first: Any, last: Any) -> Any:
    """Pure SQL: the `span` value of an event's dates, `"<first year>/<last year>"`, `..` for an open end."""
    return func.coalesce(_year(first), "..") + "/" + func.coalesce(_year(last), "..")


def _contributions(events: Any) -> list[Any]:
    """Statements selecting (scope, facet, value, n): what the events selected by ``events`` (a condition on an
    event id column, or None for every event) add to event_counts. Each event counts once per value (DISTINCT
    links: an actor may hold two roles in one event, two of its topics may share an ancestor)."""

    def only(column: Any) -> Any:
        return true() if events is None else events(column)

    e, p, et, c = table_of(m.Event), table_of(m.EventParticipant), table_of(m.EventTopic), table_of(m.TopicClosure)
    ev: Any = select(
        e.c.id.label("event_id"),
        e.c.type,
        e.c.location_country,
        span_value(e.c.date_start, e.c.date_end).label("span"),
    ).where(only(e.c.id))
    ancestors: Any = (
        select(et.c.event_id, c.c.ancestor.label("topic"))
        .join(c, c.c.descendant == et.c.topic_id)
        .where(only(et.c.event_id))
        .distinct()
    )
    actors: Any = select(p.c.event_id, p.c.actor_id).where(only(p.c.event_id)).distinct()

    def values(facet: str) -> Any:
        """(event_id, value) of one facet."""
        if facet == "total":
            return select(ev.c.event_id, literal("").label("value"))
        if facet in ("type", "span"):
            return select(ev.c.event_id, ev.c[facet].label("value"))
        if facet == "country":
            return select(ev.c.event_id, ev.c.location_country.label("value")).where(ev.c.location_country.is_not(None))
        if facet == "actor":
            return select(actors.c.event_id, actors.c.actor_id.label("value"))
        return select(ancestors.c.event_id, ancestors.c.topic.label("value"))

    ev = ev.subquery("ev")
    ancestors = ancestors.subquery("ancestors")
    actors = actors.subquery("actors")
    statements = []
    every = ("total", "type", "country", "span", "actor", "topic")
    for kind, facets in (("", every), ("topic:", every), ("actor:", ("total", "span"))):
        for facet in facets:
            found = values(facet).subquery("found")
            if kind == "":
                scope: Any = literal("")
                query = select().select_from(found)
            else:
                owner = (ancestors if kind == "topic:" else actors).alias("scope")
                scope = literal(kind) + (owner.c.topic if kind == "topic:" else owner.c.actor_id)
                query = select().select_from(owner.join(found, found.c.event_id == owner.c.event_id))
            statements.append(
                query.add_columns(
                    scope.label("scope"), literal(facet).label("facet"), found.c.value, func.count().label("n")
                ).group_by(scope, found.c.value)
            )
    return statements


def _apply(db: Writer, events: Any, sign: int) -> None:
    table = table_of(m.EventCount)
    dialect = postgresql if dialect_of(db) == "postgresql" else sqlite
    for statement in _contributions(events):
        rows = statement.subquery("rows")
        # WHERE true: SQLite's parser needs a WHERE before an upsert's ON CONFLICT in INSERT … SELECT.
        upsert = dialect.insert(table).from_select(
            ["scope", "facet", "value", "n"],
            select(rows.c.scope, rows.c.facet, rows.c.value, rows.c.n * sign).where(true()),
        )
        db.execute(
            upsert.on_conflict_do_update(
                index_elements=["scope", "facet", "value"], set_={"n": table.c.n + upsert.excluded.n}
            )
        )
    # A literal 0, so both databases see the partial index ix_event_counts_emptied applies.
    db.execute(delete(table).where(text("n = 0")))


def each_condition(events: Events) -> Iterable[Any]:
    """``events`` as conditions on an event id column: a statement whole, a list in chunks."""
    if isinstance(events, (list, tuple)):
        for start in range(0, len(events), CHUNK):
            chunk = list(events[start : start + CHUNK])
            yield lambda column, chunk=chunk: column.in_(chunk)
    else:
        yield lambda column: column.in_(events)


def add_events(db: Writer, events: Events) -> None:
    """Count ``events`` (ids, or a statement selecting them) as they now stand: after they are written."""
    for condition in each_condition(events):
        _apply(db, condition, 1)


def subtract_events(db: Writer, events: Events) -> None:
    """Uncount ``events`` as they now stand: before they are changed or deleted."""
    for condition in each_condition(events):
        _apply(db, condition, -1)


def rebuild(db: Writer) -> None:
    """Recompute the closure and every count from the data (bulk loads, migration 0008, and the test that the
    incremental upkeep matches it)."""
    rebuild_closure(db)
    db.execute(delete(table_of(m.EventCount)))
    _apply(db, None, 1)


# -- what each single-record write does (app.curation.store calls these) -----------------------------------------


def _affected(kind: str, record_id: str) -> Events | None:
    if kind == "events":
        return [record_id]
    if kind == "topics":
        return subtree_events(record_id)
    if kind == "actors":
        return actor_events(record_id)
    return None


def recounts(kind: str, before: Any, record: Any) -> bool:
    """Whether replacing a record (``before`` its stored document, ``record`` the new one) changes counts: any
    event write; a topic that moves in the tree or is renamed (its sub-topics' events count under other
    ancestors, or under another id); a renamed actor. A label or a description changes none."""
    if kind == "events":
        return True
    if kind == "topics":
        return bool(before.get("id") != record.id or before.get("parent") != record.parent)
    if kind == "actors":
        return bool(before.get("id") != record.id)
    return False


def uncount(db: Writer, kind: str, record_id: str) -> None:
    """Before a write that :func:`recounts` (or a delete): take out what the record's events contribute."""
    events = _affected(kind, record_id)
    if events is not None:
        subtract_events(db, events)


def count(db: Writer, kind: str, record_id: str, recounted: bool = True) -> None:
    """After a write of ``kind`` (the record's id as now stored): the closure follows any topic write, and, if
    ``recounted``, the record's events are counted as they now stand."""
    if kind == "topics":
        rebuild_closure(db)
    events = _affected(kind, record_id) if recounted else None
    if events is not None:
        add_events(db, events)
