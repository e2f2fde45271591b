"""Cross-record checks for every write: each id a record points at exists — in the records being written or,
unless the write replaces the whole dataset, in the database — and no write creates a duplicate or a loop.
`dipevents check` runs them on a bundle alone (no database)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, select, tuple_
from sqlalchemy.orm import Session

from app import models as m
from app.schemas.bundle import Bundle, LocatorIn


def table_of(model: Any) -> Table:
    """A mapped class's table, typed as a Table (SQLAlchemy types ``__table__`` as any FromClause)."""
    table: Table = model.__table__
    return table


KIND_TABLES: dict[str, Any] = {
    "sources": m.SourceDocument,
    "citations": m.Citation,
    "topics": m.Topic,
    "actors": m.Actor,
    "events": m.Event,
    "agreements": m.Agreement,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a write: where (file, record label, field) and what."""

    file: str
    record: str
    field: str
    message: str
    kind: str = ""
    record_id: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.record}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class RecordsInvalid(Exception):
    """Raised, before anything is written, with every problem found."""

    def __init__(self, problems: list[Problem], status: int = 422):
        super().__init__(f"{len(problems)} problem(s) in bundle")
        self.problems = problems
        self.status = status


class _Ids:
    """Ids of one kind: those being written, else (with a session) those in the database, looked up once each."""

    def __init__(self, local: set[str], model: Any, session: Session | None) -> None:
        self.local, self.model, self.session = local, model, session
        self.found: dict[str, bool] = {}

    def __contains__(self, value: object) -> bool:
        if value in self.local:
            return True
        if self.session is None or not isinstance(value, str):
            return False
        if value not in self.found:
            hit = self.session.scalar(select(self.model.id).where(self.model.id == value))
            self.found[value] = hit is not None
        return self.found[value]


class FootnoteIndex(Mapping[tuple[str, int], str]):
    """(source, footnote) -> citation id, from the citations being written and then the database; and the other
    records' values a derivation reads (app.curation.derive): actors' names and aliases, topics' labels, which an
    event's search text holds. Each from the records being written, then the database."""

    def __init__(
        self,
        local: dict[tuple[str, int], str],
        session: Session | None,
        actors: dict[str, list[str]] | None = None,
        topics: dict[str, str] | None = None,
    ) -> None:
        self.local, self.session = local, session
        self.looked_up: dict[tuple[str, int], str | None] = {}
        self.actors = dict(actors or {})
        self.topics = dict(topics or {})

    def actor_names(self, actor_id: str) -> list[str]:
        """The actor's name and aliases ([] when unknown)."""
        if actor_id not in self.actors and self.session is not None:
            row = self.session.execute(select(m.Actor.name, m.Actor.aliases).where(m.Actor.id == actor_id)).first()
            self.actors[actor_id] = [row.name, *(row.aliases or [])] if row else []
        return self.actors.get(actor_id, [])

    def topic_label(self, topic_id: str) -> str | None:
        """The topic's label (None when unknown)."""
        if topic_id not in self.topics and self.session is not None:
            label = self.session.scalar(select(m.Topic.label).where(m.Topic.id == topic_id))
            if label is not None:
                self.topics[topic_id] = label
        return self.topics.get(topic_id)

    def get_id(self, key: tuple[str, int]) -> str | None:
        if key in self.local:
            return self.local[key]
        if self.session is None:
            return None
        if key not in self.looked_up:
            c = m.Citation
            self.looked_up[key] = self.session.scalar(
                select(c.id).where(and_(c.source_id == key[0], c.footnote == key[1]))
            )
        return self.looked_up[key]

    def __getitem__(self, key: tuple[str, int]) -> str:
        found = self.get_id(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self.local)

    def __len__(self) -> int:
        return len(self.local)


class _Sections:
    """(source, section key) pairs and each section's paragraph count: those being written, else (with a session)
    those in the database of sources not being rewritten (a rewritten source has only its new sections)."""

    def __init__(self, local: dict[tuple[str, str], int], rewritten: set[str], session: Session | None) -> None:
        self.local, self.rewritten, self.session = local, rewritten, session
        self.found: dict[tuple[str, str], int | None] = {}

    def paragraphs(self, key: tuple[str, str]) -> int | None:
        """The section's paragraph count (0: not counted), or None when there is no such section."""
        if key in self.local:
            return self.local[key]
        if self.session is None or key[0] in self.rewritten:
            return None
        if key not in self.found:
            s = m.Section
            self.found[key] = self.session.scalar(select(s.paragraphs).where(tuple_(s.source_id, s.key) == key))
        return self.found[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self.paragraphs(key) is not None


def footnote_index(bundle: Bundle, session: Session | None) -> FootnoteIndex:
    return FootnoteIndex(
        {(c.source, c.footnote): c.id for c in bundle.citations if c.footnote is not None},
        session,
        actors={a.id: [a.name, *a.aliases] for a in bundle.actors},
        topics={t.id: t.label for t in bundle.topics},
    )


def check_references(
    bundle: Bundle,
    origin: Mapping[tuple[str, str], str],
    invalid_ids: set[str],
    session: Session | None = None,
    rewriting: str | None = None,
) -> list[Problem]:
    """Cross-record integrity of ``bundle``: every id a record points at exists in it, or with ``session`` in the
    database (``rewriting``: the id of the record a single write replaces, which may own what it had). Ids of
    records that failed validation count as present, so one bad record yields one problem
    rather than one per reference to it."""
    problems: list[Problem] = []
    actors = _Ids({a.id for a in bundle.actors} | invalid_ids, m.Actor, session)
    topics = _Ids({t.id for t in bundle.topics} | invalid_ids, m.Topic, session)
    events = _Ids({e.id for e in bundle.events} | invalid_ids, m.Event, session)
    sources = _Ids({s.id for s in bundle.sources}, m.SourceDocument, session)
    sections = _Sections(
        {(s.id, sec.key): sec.paragraphs for s in bundle.sources for sec in s.sections},
        {s.id for s in bundle.sources},
        session,
    )
    footnotes = footnote_index(bundle, session)
    # A single write renaming its record: the stored records' references to the old id now mean the new one.
    written = [r for records in (bundle.topics, bundle.events) for r in records]
    renaming = {rewriting: written[0].id} if rewriting is not None and len(written) == 1 else {}
    office_ids: Counter[str] = Counter(o.id for a in bundle.actors for o in a.offices)

    def report(kind: str, record_id: str, field: str, message: str) -> None:
        label = f"{kind[:-1]} {record_id!r}"
        problems.append(Problem(origin.get((kind, record_id), "?"), label, field, message, kind, record_id))

    def need(kind: str, record_id: str, field: str, value: str | None, known: Any, what: str) -> None:
        if value is not None and value not in known:
            report(kind, record_id, field, f"unknown {what} {value!r}")

    def beyond(kind: str, record_id: str, field: str, paragraph: int | None, count: int | None) -> None:
        # A section that counts its paragraphs (paragraphs > 0; 0 means not counted) bounds the paragraph cited.
        if paragraph is not None and count and paragraph > count:
            report(kind, record_id, field, f"paragraph {paragraph} is beyond the section's {count} paragraphs")

    def no_repeats(kind: str, record_id: str, field: str, keys: Iterable[Any], what: str) -> None:
        # Each of these lists is stored one row per item under a key of the item (participants: actor and role),
        # so a repeat would fail at write time (an IntegrityError) rather than mean anything.
        first: dict[Any, int] = {}
        for i, key in enumerate(keys):
            if key in first:
                report(kind, record_id, f"{field}.{i}", f"repeats {field}.{first[key]} (the same {what})")
            else:
                first[key] = i

    def check_locators(kind: str, record_id: str, prefix: str, locators: Sequence[LocatorIn]) -> None:
        no_repeats(kind, record_id, f"{prefix}locators", (loc.model_dump_json() for loc in locators), "locator")
        for i, loc in enumerate(locators):
            field = f"{prefix}locators.{i}"
            if loc.source not in sources:
                report(kind, record_id, f"{field}.source", f"unknown source {loc.source!r}")
            elif (loc.source, loc.section) not in sections:
                report(kind, record_id, f"{field}.section", f"source {loc.source!r} has no section {loc.section!r}")
            else:
                beyond(
                    kind, record_id, f"{field}.paragraph", loc.paragraph, sections.paragraphs((loc.source, loc.section))
                )
            if loc.footnote is not None and footnotes.get_id((loc.source, loc.footnote)) is None:
                report(
                    kind, record_id, f"{field}.footnote", f"no citation for footnote {loc.footnote} of {loc.source!r}"
                )

    for source in bundle.sources:
        keys = [sec.key for sec in source.sections]
        for key, count in Counter(keys).items():
            if count > 1:
                report("sources", source.id, "sections", f"duplicate section key {key!r}")
        for i, sec in enumerate(source.sections):
            if sec.parent is not None and sec.parent not in keys:
                report("sources", source.id, f"sections.{i}.parent", f"unknown section {sec.parent!r}")
        section_parents = [_Parented(sec.key, sec.parent) for sec in source.sections]
        for key in parent_cycles(section_parents):
            i = keys.index(key)
            report("sources", source.id, f"sections.{i}.parent", "parent chain loops back to this section")
        no_repeats("sources", source.id, "assessments", (a.id for a in source.assessments), "assessment id")
        for i, assessment in enumerate(source.assessments):
            if assessment.section not in keys:
                report("sources", source.id, f"assessments.{i}.section", f"unknown section {assessment.section!r}")
            else:
                count = next(sec.paragraphs for sec in source.sections if sec.key == assessment.section)
                beyond("sources", source.id, f"assessments.{i}.paragraph", assessment.paragraph, count)
            for j, topic in enumerate(assessment.topics):
                need("sources", source.id, f"assessments.{i}.topics.{j}", topic, topics, "topic")
    for citation in bundle.citations:
        need("citations", citation.id, "source", citation.source, sources, "source")
        if session is not None and citation.footnote is not None:
            c = m.Citation
            other = session.scalar(
                select(c.id).where(c.source_id == citation.source, c.footnote == citation.footnote, c.id != citation.id)
            )
            if other is not None and other != rewriting and other not in {x.id for x in bundle.citations}:
                report("citations", citation.id, "footnote", f"footnote {citation.footnote} is cited by {other!r}")
    duplicate_footnotes = Counter((c.source, c.footnote) for c in bundle.citations if c.footnote is not None)
    for (source_id, footnote), count in duplicate_footnotes.items():
        if count > 1:
            problems.append(
                Problem("-", f"source {source_id!r}", "citations", f"footnote {footnote} cited {count} times")
            )
    for topic_in in bundle.topics:
        need("topics", topic_in.id, "parent", topic_in.parent, topics, "topic")
    for actor in bundle.actors:
        no_repeats("actors", actor.id, "identifiers", ((x.scheme, x.value) for x in actor.identifiers), "identifier")
        no_repeats("actors", actor.id, "aliases", actor.aliases, "alias")
        for i, office in enumerate(actor.offices):
            if office_ids[office.id] > 1:
                report("actors", actor.id, f"offices.{i}.id", f"duplicate office id {office.id!r}")
            elif session is not None:
                holder = session.scalar(select(m.Office.person_id).where(m.Office.id == office.id))
                if holder is not None and holder not in (actor.id, rewriting):
                    report("actors", actor.id, f"offices.{i}.id", f"office id {office.id!r} belongs to {holder!r}")
            need("actors", actor.id, f"offices.{i}.organization", office.organization, actors, "actor")
            check_locators("actors", actor.id, f"offices.{i}.", office.locators)
    for event in bundle.events:
        for i, p in enumerate(event.participants):
            need("events", event.id, f"participants.{i}.actor", p.actor, actors, "actor")
        for i, t in enumerate(event.topics):
            need("events", event.id, f"topics.{i}", t, topics, "topic")
        need("events", event.id, "parent", event.parent, events, "event")
        for i, r in enumerate(event.related):
            need("events", event.id, f"related.{i}.event", r.event, events, "event")
            if r.event == event.id:
                report("events", event.id, f"related.{i}.event", "an event cannot be related to itself")
        no_repeats(
            "events", event.id, "participants", ((p.actor, p.role) for p in event.participants), "actor and role"
        )
        no_repeats("events", event.id, "topics", event.topics, "topic")
        no_repeats("events", event.id, "related", (r.event for r in event.related), "event")
        located_footnotes = {locator.footnote for locator in event.locators}
        for i, q in enumerate(event.quotes):
            need("events", event.id, f"quotes.{i}.speaker", q.speaker, actors, "actor")
            if q.footnote is not None and q.footnote not in located_footnotes:
                report(
                    "events", event.id, f"quotes.{i}.footnote", f"footnote {q.footnote} is not in the event's locators"
                )
        check_locators("events", event.id, "", event.locators)
    for kind, records in (("topics", bundle.topics), ("events", bundle.events)):
        model = KIND_TABLES[kind]
        for record_id in parent_cycles(records, session, model, renaming):
            report(kind, record_id, "parent", "parent chain loops back to this record")
    for agreement in bundle.agreements:
        no_repeats(
            "agreements", agreement.id, "parties", ((p.actor, p.role) for p in agreement.parties), "actor and role"
        )
        no_repeats("agreements", agreement.id, "topics", agreement.topics, "topic")
        no_repeats("agreements", agreement.id, "events", agreement.events, "event")
        for i, party in enumerate(agreement.parties):
            need("agreements", agreement.id, f"parties.{i}.actor", party.actor, actors, "actor")
        for i, t in enumerate(agreement.topics):
            need("agreements", agreement.id, f"topics.{i}", t, topics, "topic")
        for i, e in enumerate(agreement.events):
            need("agreements", agreement.id, f"events.{i}", e, events, "event")
        for i, ms in enumerate(agreement.milestones):
            need("agreements", agreement.id, f"milestones.{i}.event", ms.event, events, "event")
        no_repeats(
            "agreements", agreement.id, "milestones", (ms.model_dump_json() for ms in agreement.milestones), "milestone"
        )
        check_locators("agreements", agreement.id, "", agreement.locators)
    return problems


@dataclass(frozen=True)
class _Parented:
    """What :func:`parent_cycles` reads of a record (sections have a key, not an id)."""

    id: str
    parent: str | None


def parent_cycles(
    records: list[Any], session: Session | None = None, model: Any = None, renaming: Mapping[str, str] | None = None
) -> list[str]:
    """Ids whose parent chain (through ``records``, then the database) leads back to themselves. ``renaming``
    (old id -> new id of a record being renamed): a stored parent that is the old id is the renamed record."""
    renaming = renaming or {}
    parent_of: dict[str, str | None] = {r.id: r.parent for r in records}

    def parent(record_id: str) -> str | None:
        if record_id in parent_of:
            return parent_of[record_id]
        if session is None:
            return None
        found = session.scalar(select(model.parent_id).where(model.id == record_id))
        found = renaming.get(found, found) if found is not None else None
        parent_of[record_id] = found
        return found

    looping = []
    for start in [r.id for r in records]:
        seen: set[str] = set()
        current = parent(start)
        while current is not None and current not in seen:
            if current == start:
                looping.append(start)
                break
            seen.add(current)
            current = parent(current)
    return looping


def parents_first(records: list[Any]) -> list[Any]:
    """Order records so each comes after its ``parent`` (validation has ruled out cycles)."""
    by_id = {r.id: r for r in records}
    ordered: list[Any] = []
    placed: set[str] = set()

    def place(record: Any, trail: frozenset[str]) -> None:
        if record.id in placed or record.id in trail:
            return
        parent = by_id.get(record.parent)
        if parent is not None:
            place(parent, trail | {record.id})
        placed.add(record.id)
        ordered.append(record)

    for record in records:
        place(record, frozenset())
    return ordered
