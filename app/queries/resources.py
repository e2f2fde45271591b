"""Where every filter and sort is declared: one :class:`Resource` per list endpoint.

Everything else is derived from these declarations: the query models FastAPI validates and OpenAPI
documents (app.schemas.params), the resolution of values, the plan and the SQL (app.queries.plan).
A parameter cannot exist without the filter behind it, nor a filter without its parameter
(tests/test_declarations.py checks the served OpenAPI against these tables).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.base import ExecutableOption

from app import models as m
from app import vocab
from app.queries.event_documents import event_documents_json
from app.queries.filters import (
    Choice,
    DateRange,
    Filter,
    Linked,
    Match,
    Names,
    Param,
    Participant,
    Ref,
    Words,
    correlated,
    names_param,
    repeatable,
    words_param,
)
from app.queries.pagination import (
    EXAMPLE_KEY,
    SortKey,
    as_date,
    as_int,
    as_str,
    encode_cursor,
    query_fingerprint,
)
from app.queries.visit_documents import visit_documents_json
from app.search.query import SearchQuery
from app.search.sql import SearchIndex, relevance

# The walk over one actor's event links (see plan.Shape.WALK). An alias, so that probes of
# event_participants elsewhere in the same query (a second actor, a role) still correlate to the event.
ACTOR_WALK = aliased(m.EventParticipant, name="walk")
COUNTRY = r"[A-Z]{2}"
RELEVANCE = "relevance"  # the sort every resource with `q` offers (Resource.sort_keys)
_FAR_FUTURE = dt.date(9999, 12, 31)


class QueryModel(BaseModel):
    """Base of the derived query models: a misspelt parameter is a 400, never a silently ignored filter."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Sorting:
    """The orders a list offers (the first is the default), each a list of keyset columns."""

    orders: Mapping[str, list[SortKey]]
    description: str
    example: str

    @property
    def default(self) -> str:
        return next(iter(self.orders))

    def param(self, ranked: bool = False) -> Param:
        """`sort`; ``ranked`` adds `relevance` (resources with `q`)."""
        if not ranked:
            return Param("sort", str, self.default, self.description, self.example, vocabulary=tuple(self.orders))
        description = (
            self.description + " `relevance` (only with `q`): best match first (see the README's Search"
            " section), ties by id."
        )
        return Param("sort", str, self.default, description, self.example, vocabulary=(*self.orders, RELEVANCE))


def keys(*pairs: tuple[Any, Callable[[Any], Any]], descending: bool = False) -> list[SortKey]:
    return [SortKey(column, decode, descending) for column, decode in pairs]


def by_date(date: Any, identity: Any, description: str) -> Sorting:
    """`date` (oldest first) and `-date` (newest first) over (date, id)."""
    pairs = ((date, as_date), (identity, as_str))
    return Sorting({"date": keys(*pairs), "-date": keys(*pairs, descending=True)}, description, "-date")


@dataclass(frozen=True)
class Walk:
    """A link table whose index yields a filter's matches already in list order (events: one actor's
    (actor, date_start, event_id) index). Its sort keys are the link's copies of the record's keys, so
    cursors carry over between the walk and the table."""

    filter_key: str
    entity: Any
    sorting: Sorting


@dataclass(frozen=True)
class Resource:
    """A listable resource: its table, its declared filters and sorts, and how items are loaded
    (ORM ``options``, or ``documents`` built by the database from ids)."""

    name: str  # singular, for messages and export file names
    model: Any
    filters: tuple[Filter, ...]
    sorting: Sorting
    options: tuple[ExecutableOption, ...] = ()
    documents: Callable[[Session, Sequence[str]], bytes] | None = None
    walk: Walk | None = None
    events: bool = False  # filters compile against the events table (scopes in app.queries.plan)
    # Conditions every record of the resource meets, for a resource that is a view of another's table
    # (visits: events of type `visit`); applied by every plan like a filter that is always set.
    where: tuple[Any, ...] = ()
    _params: tuple[Param, ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        declared = tuple(p for f in self.filters for p in f.params)
        names = [p.name for p in declared]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a parameter is declared by two filters: {names}")
        object.__setattr__(self, "_params", declared)

    @property
    def filter_params(self) -> tuple[Param, ...]:
        return self._params

    @property
    def search(self) -> Words | None:
        """The resource's `q` filter, if it has one."""
        return next((f for f in self.filters if isinstance(f, Words)), None)

    def sort_param(self) -> Param:
        """`sort`, with `relevance` when the resource has `q`."""
        return self.sorting.param(ranked=self.search is not None)

    def sort_keys(self, sort: str, values: Mapping[str, Any]) -> list[SortKey]:
        """The keyset columns of ``sort`` given the resolved filter ``values`` (`relevance`: the score of
        the parsed `q`, best first, then the id)."""
        if sort != RELEVANCE:
            return self.sorting.orders[sort]
        search = self.search
        assert search is not None and search.key in values, "plan() refuses relevance without q"
        query: SearchQuery = values[search.key]
        score = relevance(search.index, query).label("relevance")
        return [SortKey(score, as_int, descending=True), SortKey(self.model.id, as_str)]

    @property
    def filter_names(self) -> tuple[str, ...]:
        """The names of the parameters that select the records (what a cursor is bound to)."""
        return tuple(p.name for p in self._params)

    def query_model(self, name: str, *controls: Param, filters: bool = True) -> type[BaseModel]:
        """A Pydantic model of the filter parameters (``filters=True``) plus ``controls`` (page size,
        cursor, sort, format…), for FastAPI's ``Annotated[Model, Query()]``."""
        params = (*(self.filter_params if filters else ()), *controls)
        fields: dict[str, Any] = {p.name: p.as_field() for p in params}
        return create_model(name, __base__=QueryModel, **fields)


def topics_within(ids: tuple[str, ...]) -> Select[Any]:
    """Pure: the ids of these topics and of all their sub-topics (a filter on a topic includes its
    sub-topics), read off the stored topic closure (app.models.TopicClosure, kept by the write path). The
    statement stays the same size whatever the tree; expanding the ids in Python made an IN list as long as
    the subtree, past PostgreSQL's 65,535 parameters for a broad topic."""
    return select(m.TopicClosure.descendant).where(m.TopicClosure.ancestor.in_(ids))


# ---------------------------------------------------------------------------------------------- events

# Declared once, and shared by every view of events (the event list, visits).
EVENT_DATES = DateRange(m.Event.date_start, m.Event.date_end, walkable=True)
EVENT_TOPIC = Linked(
    repeatable("topic", "Topic id; includes its sub-topics.", "afghanistan-peace-process"),
    m.Topic,
    link_event=m.EventTopic.event_id,
    link_value=m.EventTopic.topic_id,
    within=topics_within,
)
EVENT_COUNTRY = Match(
    repeatable("country", "Where it took place (for a visit, the destination), ISO 3166-1 alpha-2.", "PK"),
    m.Event.location_country,
    COUNTRY,
    "an ISO 3166-1 alpha-2 code such as PK",
)
EVENT_WORDS = Words(
    words_param(
        "Full-text search of the title, summary, place, notes, quotes, participants' names and topic labels.",
        "afghan peace",
    ),
    SearchIndex(
        "events",
        m.Event.id,
        m.Event.search_text,
        m.Event.search_stems,
        (m.Event.title, m.Event.summary, m.Event.location_name, m.Event.notes),
    ),
)

EVENT_FILTERS: tuple[Filter, ...] = (
    EVENT_DATES,
    Participant(
        repeatable("actor", "Actor id taking part.", "imran-khan"),
        repeatable(
            "role",
            "Participant role (visitor, host, speaker, mediator, …; see /v1/vocabularies). With `actor`, the "
            "actor must hold that role.",
            "visitor",
            vocab.ROLES,
        ),
    ),
    EVENT_TOPIC,
    Choice(repeatable("type", "Event type (see /v1/vocabularies).", "visit", vocab.EVENT_TYPES), m.Event.type),
    EVENT_COUNTRY,
    Ref(
        repeatable("source", "Source document id the event is stated in.", "ips-pakistan-us-relations-2018-2020"),
        m.SourceDocument,
        lambda ids, scope: correlated(scope, m.Locator.event_id, m.Locator.source_id.in_(ids)),
    ),
    Ref(
        Param(
            "parent",
            str | None,
            None,
            "Only parts of this event (e.g. meetings during a visit).",
            "khan-visits-washington-2019-07",
        ),
        m.Event,
        lambda ids, _: m.Event.parent_id.in_(ids),
    ),
    EVENT_WORDS,
)

EVENT_SORTING = by_date(m.Event.date_start, m.Event.id, "`date` (oldest first) or `-date` (newest first).")

EVENTS = Resource(
    "event",
    m.Event,
    EVENT_FILTERS,
    EVENT_SORTING,
    documents=event_documents_json,
    walk=Walk(
        "participant",
        ACTOR_WALK,
        by_date(ACTOR_WALK.date_start, ACTOR_WALK.event_id, EVENT_SORTING.description),
    ),
    events=True,
)

# ------------------------------------------------------------------------------------------ agreements

_agreement_date = func.coalesce(m.Agreement.date_start, _FAR_FUTURE).label("sort_date")

AGREEMENTS = Resource(
    "agreement",
    m.Agreement,
    (
        DateRange(m.Agreement.date_start, m.Agreement.date_end),
        Ref(
            repeatable("actor", "Actor id that is a party.", "united-states"),
            m.Actor,
            lambda ids, _: exists().where(
                m.AgreementParty.agreement_id == m.Agreement.id, m.AgreementParty.actor_id.in_(ids)
            ),
        ),
        Ref(
            repeatable("topic", "Topic id; includes its sub-topics.", "security-assistance"),
            m.Topic,
            lambda ids, _: exists().where(
                m.AgreementTopic.agreement_id == m.Agreement.id, m.AgreementTopic.topic_id.in_(topics_within(ids))
            ),
        ),
        Choice(
            repeatable(
                "status", "Status (in_effect, suspended, reinstated, …).", "in_effect", vocab.AGREEMENT_STATUSES
            ),
            m.Agreement.status,
        ),
        Choice(
            repeatable("kind", "Kind (agreement, programme, decision, loan, …).", "programme", vocab.AGREEMENT_KINDS),
            m.Agreement.kind,
        ),
        Words(
            words_param("Full-text search of the title, summary and notes.", "training"),
            SearchIndex(
                "agreements",
                m.Agreement.id,
                m.Agreement.search_text,
                m.Agreement.search_stems,
                (m.Agreement.title, m.Agreement.summary, m.Agreement.notes),
            ),
        ),
    ),
    by_date(_agreement_date, m.Agreement.id, "By earliest milestone date; undated records come last."),
    (
        selectinload(m.Agreement.parties),
        selectinload(m.Agreement.milestones),
        selectinload(m.Agreement.topics),
        selectinload(m.Agreement.citations),
        selectinload(m.Agreement.events),
        selectinload(m.Agreement.locators),
    ),
)

# ---------------------------------------------------------------------------------------------- actors

ACTORS = Resource(
    "actor",
    m.Actor,
    (
        Words(
            words_param("Full-text search of the name, aliases, titles of offices held and the id.", "pompeo"),
            SearchIndex(
                "actors",
                m.Actor.id,
                m.Actor.search_text,
                m.Actor.search_stems,
                (m.Actor.name, m.Actor.description),
            ),
        ),
        Choice(
            repeatable(
                "kind",
                "Actor kind (person, state, government_body, international_organisation, other).",
                "person",
                vocab.ACTOR_KINDS,
            ),
            m.Actor.kind,
        ),
        Match(
            repeatable("country", "ISO 3166-1 alpha-2 country the actor belongs to.", "US"),
            m.Actor.country,
            COUNTRY,
            "an ISO 3166-1 alpha-2 code such as US",
        ),
    ),
    Sorting(
        {"name": keys((m.Actor.name, as_str), (m.Actor.id, as_str)), "id": keys((m.Actor.id, as_str))},
        "`name` or `id`.",
        "name",
    ),
    (selectinload(m.Actor.identifiers), selectinload(m.Actor.offices).selectinload(m.Office.locators)),
)

# ------------------------------------------------------------------------------------------- citations

_footnote = func.coalesce(m.Citation.footnote, 1_000_000).label("sort_footnote")
_issued = func.coalesce(m.Citation.issued_start, _FAR_FUTURE).label("sort_issued")

CITATIONS = Resource(
    "citation",
    m.Citation,
    (
        Words(
            words_param("Full-text search of the title, authors, publisher and container title.", "mediate"),
            SearchIndex(
                "citations",
                m.Citation.id,
                m.Citation.search_text,
                m.Citation.search_stems,
                (m.Citation.title, m.Citation.container_title, m.Citation.publisher),
            ),
        ),
        Names(
            names_param("publisher", "Publisher name.", "Ministry of Foreign Affairs, Pakistan"),
            m.Citation.publisher_key,
        ),
        Ref(
            repeatable("source", "Source document whose footnotes these are.", "ips-pakistan-us-relations-2018-2020"),
            m.SourceDocument,
            lambda ids, _: m.Citation.source_id.in_(ids),
        ),
        DateRange(
            m.Citation.issued_start,
            m.Citation.issued_end,
            start_doc="Issued on or after: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.",
            end_doc="Issued on or before: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.",
            matching=False,
        ),
    ),
    Sorting(
        {
            "footnote": keys((m.Citation.source_id, as_str), (_footnote, as_int), (m.Citation.id, as_str)),
            "issued": keys((_issued, as_date), (m.Citation.id, as_str)),
            "id": keys((m.Citation.id, as_str)),
        },
        "`footnote` (source then footnote number), `issued` or `id`.",
        "footnote",
    ),
)

# ---------------------------------------------------------------------------------- topics and sources

TOPICS = Resource(
    "topic",
    m.Topic,
    (
        Words(
            words_param("Full-text search of the label, description and id.", "kashmir"),
            SearchIndex(
                "topics", m.Topic.id, m.Topic.search_text, m.Topic.search_stems, (m.Topic.label, m.Topic.description)
            ),
        ),
        Ref(
            Param("parent", str | None, None, "Only direct sub-topics of this topic.", "security-assistance"),
            m.Topic,
            lambda ids, _: m.Topic.parent_id.in_(ids),
        ),
    ),
    Sorting({"id": keys((m.Topic.id, as_str))}, "`id`.", "id"),
    (selectinload(m.Topic.children),),
)

SOURCES = Resource(
    "source",
    m.SourceDocument,
    (
        Words(
            words_param(
                "Full-text search of the title, subtitle, series, publisher, authors and description.", "pakistan"
            ),
            SearchIndex(
                "source_documents",
                m.SourceDocument.id,
                m.SourceDocument.search_text,
                m.SourceDocument.search_stems,
                (m.SourceDocument.title, m.SourceDocument.subtitle, m.SourceDocument.description),
            ),
        ),
    ),
    Sorting({"id": keys((m.SourceDocument.id, as_str))}, "`id`.", "id"),
    (selectinload(m.SourceDocument.sections), selectinload(m.SourceDocument.citations)),
)

# ---------------------------------------------------------------------------------------------- visits
# A second view of the events of type `visit`: the same rows, ids, sources and filters (no copy, so the one
# write path, the bundle import, updates both). Its `role` terms stand for stored roles (vocab.VISIT_ROLES).

VISITS = Resource(
    "visit",
    m.Event,
    (
        EVENT_DATES,
        Participant(
            repeatable("actor", "Actor id: the visitor or the host (narrow with `role`).", "mike-pompeo"),
            repeatable(
                "role",
                "`visitor` (the traveller, recorded as visitor or as head of the delegation) or `host`. With "
                "`actor`, the actor must be that; without `role`, `actor` matches the visitor or the host.",
                "visitor",
                vocab.VISIT_ROLES,
            ),
            roles=vocab.VISIT_ROLES,
        ),
        EVENT_TOPIC,
        EVENT_COUNTRY,
        EVENT_WORDS,
    ),
    EVENT_SORTING,
    documents=visit_documents_json,
    walk=EVENTS.walk,
    events=True,
    where=(m.Event.type == vocab.VISIT,),
)

RESOURCES: tuple[Resource, ...] = (EVENTS, VISITS, AGREEMENTS, ACTORS, CITATIONS, TOPICS, SOURCES)

# ---------------------------------------------------------------------------------- control parameters
# Parameters that select a page or a representation rather than the set of records.

LIMIT = Param("limit", int, 50, "Items per page (1–500).", 50, constraints={"ge": 1, "le": 500})


def cursor_param(resource: Resource) -> Param:
    """`cursor`, with an example that works: a position in the resource's default order (unfiltered)."""
    samples: dict[Callable[[Any], Any], Any] = {as_date: "2019-07-01", as_str: "", as_int: 0}
    keys_ = resource.sorting.orders[resource.sorting.default]
    fingerprint = query_fingerprint(resource.name, {p.name: p.default for p in resource.filter_params})
    # Signed with EXAMPLE_KEY here; app.main re-signs it with the deployment's key in the served document.
    example = encode_cursor(resource.sorting.default, [samples[k.decode] for k in keys_], fingerprint, EXAMPLE_KEY)
    return Param(
        "cursor",
        str | None,
        None,
        "Opaque `next_cursor` from the previous page of the same query (same filters and `sort`); omit it for the "
        "first page.",
        example,
        constraints={"max_length": 2000},
    )


NOT_PART_OF_QUERY = frozenset({"cursor", "limit", "format"})


def format_param(formats: Sequence[str], description: str, example: str) -> Param:
    """`format`: `json` (one page) or one of the streamed export ``formats``."""
    return Param("format", str | None, None, description, example, vocabulary=("json", *formats))
