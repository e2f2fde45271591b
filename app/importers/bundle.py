"""Read, validate and import a data bundle (a directory of YAML files).

Validation collects *every* problem (file, record, field) before anything is
written; the import then runs in the caller's single transaction, so a failed
load leaves the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import models as m
from app.dates import DateSpan, date_record, parse_edtf
from app.schemas.bundle import (
    ActorIn,
    AgreementIn,
    Bundle,
    CitationIn,
    EventIn,
    LocatorIn,
    SourceIn,
    TopicIn,
)

RECORD_TYPES: dict[str, type[BaseModel]] = {
    "sources": SourceIn,
    "citations": CitationIn,
    "topics": TopicIn,
    "actors": ActorIn,
    "events": EventIn,
    "agreements": AgreementIn,
}


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.record}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class BundleInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in bundle")
        self.problems = problems


@dataclass
class LoadedBundle:
    bundle: Bundle
    origin: dict[tuple[str, str], str]  # (kind, id) -> file it came from


def bundle_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())


def read_bundle(path: str | Path) -> LoadedBundle:
    """Parse and validate every file under ``path``; raise :class:`BundleInvalid` listing all problems."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.exists():
        raise BundleInvalid([Problem(str(root), "-", "", "no such file or directory")])
    files = bundle_files(root)
    if not files:
        raise BundleInvalid([Problem(str(root), "-", "", "no .yaml, .yml or .json files found")])

    merged: dict[str, list[Any]] = {kind: [] for kind in RECORD_TYPES}
    origin: dict[tuple[str, str], str] = {}
    invalid_ids: set[str] = set()
    for file in files:
        name = str(file)
        try:
            text = file.read_text(encoding="utf-8")
            # JSON is YAML, but the JSON parser is much faster on machine-written bundles.
            document = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, "-", "", f"not valid YAML/JSON: {exc}"))
            continue
        if document is None:
            continue
        if not isinstance(document, dict):
            problems.append(Problem(name, "-", "", "top level must be a mapping of resource kinds"))
            continue
        for kind, records in document.items():
            schema = RECORD_TYPES.get(kind)
            if schema is None:
                problems.append(
                    Problem(name, "-", str(kind), f"unknown resource kind; expected one of {', '.join(RECORD_TYPES)}")
                )
                continue
            if not isinstance(records, list):
                problems.append(Problem(name, "-", kind, "must be a list of records"))
                continue
            for index, raw in enumerate(records):
                label = _record_label(kind, index, raw)
                try:
                    record = schema.model_validate(raw)
                except ValidationError as exc:
                    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                        invalid_ids.add(raw["id"])  # known to exist: don't also report references to it
                    for error in exc.errors():
                        field = ".".join(str(part) for part in error["loc"])
                        problems.append(Problem(name, label, field, error["msg"]))
                    continue
                merged[kind].append(record)
                key = (kind, record.id)  # type: ignore[attr-defined]
                if key in origin:
                    problems.append(Problem(name, label, "id", f"duplicate id (also in {origin[key]})"))
                else:
                    origin[key] = name

    bundle = Bundle.model_construct(None, **merged)
    problems.extend(_check_references(bundle, origin, invalid_ids))
    if problems:
        raise BundleInvalid(problems)
    return LoadedBundle(bundle, origin)


def _record_label(kind: str, index: int, raw: Any) -> str:
    singular = kind[:-1]
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"{singular} {raw['id']!r}"
    return f"{singular} #{index + 1}"


def _check_references(bundle: Bundle, origin: dict[tuple[str, str], str], invalid_ids: set[str]) -> list[Problem]:
    """Cross-record integrity: every id a record points at exists in the bundle.

    Ids of records that failed validation count as present, so one bad record
    yields one problem rather than one per reference to it."""
    problems: list[Problem] = []
    actors = {a.id for a in bundle.actors} | invalid_ids
    topics = {t.id for t in bundle.topics} | invalid_ids
    events = {e.id for e in bundle.events} | invalid_ids
    sections = {(s.id, sec.key) for s in bundle.sources for sec in s.sections}
    footnotes = {(c.source, c.footnote) for c in bundle.citations if c.footnote is not None}
    sources = {s.id for s in bundle.sources}
    office_ids: Counter[str] = Counter(o.id for a in bundle.actors for o in a.offices)

    def report(kind: str, record_id: str, field: str, message: str) -> None:
        problems.append(Problem(origin.get((kind, record_id), "?"), f"{kind[:-1]} {record_id!r}", field, message))

    def need(kind: str, record_id: str, field: str, value: str | None, known: set[str], what: str) -> None:
        if value is not None and value not in known:
            report(kind, record_id, field, f"unknown {what} {value!r}")

    def check_locators(kind: str, record_id: str, prefix: str, locators: Iterable[LocatorIn]) -> None:
        for i, loc in enumerate(locators):
            field = f"{prefix}locators.{i}"
            if loc.source not in sources:
                report(kind, record_id, f"{field}.source", f"unknown source {loc.source!r}")
            elif (loc.source, loc.section) not in sections:
                report(kind, record_id, f"{field}.section", f"source {loc.source!r} has no section {loc.section!r}")
            if loc.footnote is not None and (loc.source, loc.footnote) not in footnotes:
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
        for i, assessment in enumerate(source.assessments):
            if assessment.section not in keys:
                report("sources", source.id, f"assessments.{i}.section", f"unknown section {assessment.section!r}")
            for j, topic in enumerate(assessment.topics):
                need("sources", source.id, f"assessments.{i}.topics.{j}", topic, topics, "topic")
    for citation in bundle.citations:
        need("citations", citation.id, "source", citation.source, sources, "source")
    duplicate_footnotes = Counter((c.source, c.footnote) for c in bundle.citations if c.footnote is not None)
    for (source_id, footnote), count in duplicate_footnotes.items():
        if count > 1:
            problems.append(
                Problem("-", f"source {source_id!r}", "citations", f"footnote {footnote} cited {count} times")
            )
    for topic_in in bundle.topics:
        need("topics", topic_in.id, "parent", topic_in.parent, topics, "topic")
    for actor in bundle.actors:
        for i, office in enumerate(actor.offices):
            if office_ids[office.id] > 1:
                report("actors", actor.id, f"offices.{i}.id", f"duplicate office id {office.id!r}")
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
        located_footnotes = {locator.footnote for locator in event.locators}
        for i, q in enumerate(event.quotes):
            need("events", event.id, f"quotes.{i}.speaker", q.speaker, actors, "actor")
            if q.footnote is not None and q.footnote not in located_footnotes:
                report(
                    "events", event.id, f"quotes.{i}.footnote", f"footnote {q.footnote} is not in the event's locators"
                )
        check_locators("events", event.id, "", event.locators)
    for kind, records in (("topics", bundle.topics), ("events", bundle.events)):
        for record_id in _parent_cycles(records):
            report(kind, record_id, "parent", "parent chain loops back to this record")
    for agreement in bundle.agreements:
        for i, party in enumerate(agreement.parties):
            need("agreements", agreement.id, f"parties.{i}.actor", party.actor, actors, "actor")
        for i, t in enumerate(agreement.topics):
            need("agreements", agreement.id, f"topics.{i}", t, topics, "topic")
        for i, e in enumerate(agreement.events):
            need("agreements", agreement.id, f"events.{i}", e, events, "event")
        for i, ms in enumerate(agreement.milestones):
            need("agreements", agreement.id, f"milestones.{i}.event", ms.event, events, "event")
        check_locators("agreements", agreement.id, "", agreement.locators)
    return problems


def dataset_is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(m.SourceDocument)) == 0


def clear_dataset(session: Session) -> None:
    """Delete every record of the dataset, children first (works without ON DELETE CASCADE support); tables
    marked ``info={"dataset": False}`` (the service's own state, such as its secrets) are kept."""
    for table in reversed(m.Base.metadata.sorted_tables):
        if table.info.get("dataset", True):
            session.execute(delete(table))


def existing_ids(session: Session, loaded: LoadedBundle) -> list[Problem]:
    bundle = loaded.bundle
    problems = []
    checks: list[tuple[Any, str, Sequence[Any]]] = [
        (m.SourceDocument, "sources", bundle.sources),
        (m.Citation, "citations", bundle.citations),
        (m.Topic, "topics", bundle.topics),
        (m.Actor, "actors", bundle.actors),
        (m.Event, "events", bundle.events),
        (m.Agreement, "agreements", bundle.agreements),
    ]
    for model, kind, records in checks:
        ids = [r.id for r in records]
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            for found in session.scalars(select(model.id).where(model.id.in_(chunk))):
                problems.append(
                    Problem(
                        loaded.origin.get((kind, found), "-"),
                        f"{kind[:-1]} {found!r}",
                        "id",
                        "already in the database (use --replace to reload)",
                    )
                )
    return problems


def import_bundle(session: Session, loaded: LoadedBundle, *, replace: bool = False) -> dict[str, int]:
    """Write a validated bundle in the session's transaction; the caller commits or rolls back."""
    bundle = loaded.bundle
    if replace:
        clear_dataset(session)
    else:
        clashes = existing_ids(session, loaded)
        if clashes:
            raise BundleInvalid(clashes)

    footnote_citation = {(c.source, c.footnote): c.id for c in bundle.citations if c.footnote is not None}

    def locators(items: list[LocatorIn]) -> list[m.Locator]:
        return [
            m.Locator(source_id=x.source, section=x.section, paragraph=x.paragraph, footnote=x.footnote, note=x.note)
            for x in items
        ]

    def cited(items: list[LocatorIn]) -> list[str]:
        return sorted({footnote_citation[(x.source, x.footnote)] for x in items if x.footnote is not None})

    for source in bundle.sources:
        period = parse_edtf(source.period) if source.period else None
        session.add(
            m.SourceDocument(
                id=source.id,
                title=source.title,
                subtitle=source.subtitle,
                series=source.series,
                part=source.part,
                csl_type=source.type,
                publisher=source.publisher,
                publisher_place=source.publisher_place,
                authors=[a.model_dump(exclude_none=True) for a in source.authors],
                issued_edtf=source.issued,
                period_edtf=source.period,
                period_start=period.start if period else None,
                period_end=period.end if period else None,
                issued_date=date_record(source.issued),
                period_date=date_record(source.period),
                language=source.language,
                url=str(source.url) if source.url else None,
                description=source.description,
                notes=source.notes,
                assessments=[a.model_dump(exclude_none=True) for a in source.assessments],
                sections=[
                    m.Section(key=s.key, title=s.title, ordinal=i, parent_key=s.parent, paragraphs=s.paragraphs)
                    for i, s in enumerate(source.sections)
                ],
            )
        )
    session.flush()
    for citation in bundle.citations:
        issued = parse_edtf(citation.issued) if citation.issued else None
        session.add(
            m.Citation(
                id=citation.id,
                source_id=citation.source,
                footnote=citation.footnote,
                csl_type=citation.type,
                title=citation.title,
                container_title=citation.container_title,
                publisher=citation.publisher,
                authors=[a.model_dump(exclude_none=True) for a in citation.authors],
                issued_edtf=citation.issued,
                issued_start=issued.start if issued else None,
                issued_end=issued.end if issued else None,
                issued_date=date_record(citation.issued),
                url=citation.url,
                accessed=citation.accessed,
                notes=citation.notes,
            )
        )
    # Parents before children so the self-referencing FK is satisfied on flush.
    # Parents are added before children; the unit of work keeps insertion order within a table.
    for topic in _parents_first(bundle.topics):
        session.add(m.Topic(id=topic.id, label=topic.label, description=topic.description, parent_id=topic.parent))
    for actor in bundle.actors:
        session.add(
            m.Actor(
                id=actor.id,
                name=actor.name,
                kind=actor.kind,
                aliases=actor.aliases,
                country=actor.country,
                description=actor.description,
                search_text=" ".join([actor.name, *actor.aliases]).lower(),
                identifiers=[m.ActorIdentifier(scheme=i.scheme, value=i.value) for i in actor.identifiers],
            )
        )
    session.flush()
    for actor in bundle.actors:
        for office in actor.offices:
            session.add(
                m.Office(
                    id=office.id,
                    person_id=actor.id,
                    label=office.label,
                    organization_id=office.organization,
                    start_edtf=office.start,
                    end_edtf=office.end,
                    attested_edtf=office.attested,
                    start_date=date_record(office.start),
                    end_date=date_record(office.end),
                    attested_date=date_record(office.attested),
                    from_date=parse_edtf(office.start).start if office.start else None,
                    to_date=parse_edtf(office.end).end if office.end else None,
                    notes=office.notes,
                    discrepancies=[d.model_dump() for d in office.discrepancies],
                    locators=locators(office.locators),
                )
            )

    def walk_dates(span: DateSpan) -> dict[str, dt.date | None]:
        start, end = m.walk_bounds(span.start, span.end)
        return {"date_start": start, "date_end": end}

    for event in _parents_first(bundle.events):
        row = m.Event(
            id=event.id,
            type=event.type,
            title=event.title,
            summary=event.summary,
            location_name=event.location.name if event.location else None,
            location_country=event.location.country if event.location else None,
            quantity=event.quantity,
            notes=event.notes,
            discrepancies=[d.model_dump() for d in event.discrepancies],
            parent_id=event.parent,
            search_text=" ".join(
                filter(None, [event.title, event.summary, event.location.name if event.location else None])
            ).lower(),
            participants=[
                m.EventParticipant(actor_id=p.actor, role=p.role, ordinal=i, **walk_dates(event.span))
                for i, p in enumerate(event.participants)
            ],
            locators=locators(event.locators),
            quotes=[
                m.EventQuote(ordinal=i, speaker_id=q.speaker, text=q.text, footnote=q.footnote)
                for i, q in enumerate(event.quotes)
            ],
        )
        row.date = event.span
        session.add(row)
    session.flush()
    for event in bundle.events:
        for citation_id in cited(event.locators):
            session.add(m.EventCitation(event_id=event.id, citation_id=citation_id))
        for relation in event.related:
            session.add(m.EventRelation(event_id=event.id, related_id=relation.event, relation=relation.relation))
        for topic in event.topics:
            session.add(m.EventTopic(event_id=event.id, topic_id=topic))
    for agreement in bundle.agreements:
        milestones = []
        for i, ms in enumerate(agreement.milestones):
            milestone = m.AgreementMilestone(ordinal=i, kind=ms.kind, event_id=ms.event, note=ms.note)
            milestone.date = parse_edtf(ms.date)
            milestones.append(milestone)
        starts = [ms.date_start for ms in milestones if ms.date_start]
        ends = [ms.date_end for ms in milestones if ms.date_end]
        session.add(
            m.Agreement(
                id=agreement.id,
                title=agreement.title,
                kind=agreement.kind,
                status=agreement.status,
                summary=agreement.summary,
                amount=agreement.amount,
                currency=agreement.currency,
                amount_qualifier=agreement.amount_qualifier,
                notes=agreement.notes,
                discrepancies=[d.model_dump() for d in agreement.discrepancies],
                date_start=min(starts) if starts else None,
                date_end=max(ends) if ends else None,
                search_text=" ".join([agreement.title, agreement.summary]).lower(),
                parties=[
                    m.AgreementParty(actor_id=p.actor, role=p.role, ordinal=i) for i, p in enumerate(agreement.parties)
                ],
                milestones=milestones,
                locators=locators(agreement.locators),
            )
        )
    session.flush()
    for agreement in bundle.agreements:
        for topic in agreement.topics:
            session.add(m.AgreementTopic(agreement_id=agreement.id, topic_id=topic))
        for citation_id in cited(agreement.locators):
            session.add(m.AgreementCitation(agreement_id=agreement.id, citation_id=citation_id))
        for event_id in dict.fromkeys(agreement.events):
            session.add(m.AgreementEvent(agreement_id=agreement.id, event_id=event_id))
    record_version(session, bundle, replace=replace)
    session.flush()
    return {kind: len(getattr(bundle, kind)) for kind in RECORD_TYPES}


def record_version(session: Session, bundle: Bundle, *, replace: bool) -> None:
    """Derive the dataset version from the content, so identical data has the identical version."""
    content = json.dumps(bundle.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    state = session.get(m.DatasetState, 1)
    previous = "" if replace or state is None else state.version
    version = hashlib.sha256((previous + content).encode()).hexdigest()[:16]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if state is None:
        session.add(m.DatasetState(id=1, version=version, updated_at=now))
    else:
        state.version, state.updated_at = version, now


def _parent_cycles(records: list[Any]) -> list[str]:
    parent_of = {r.id: r.parent for r in records}
    looping = []
    for start in parent_of:
        seen, current = set(), parent_of[start]
        while current is not None and current not in seen:
            if current == start:
                looping.append(start)
                break
            seen.add(current)
            current = parent_of.get(current)
    return looping


def _parents_first(records: list[Any]) -> list[Any]:
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
