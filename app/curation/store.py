"""The one write path: every change to the data goes through here — `dipevents load`, `POST /v1/bundles`, the
record endpoints (create, replace, merge-patch, rename, delete) and, for its rows, the benchmark generator.

Each write, in the caller's transaction (:func:`write_transaction`): validates against the database
(app.curation.validate), writes the rows derived from the record (app.curation.derive), records one change per
record (the history and the change feed, app.models.Change) and moves the dataset version on, so ETags and
Last-Modified change with every committed write. A failed write raises before anything is committed, and the
caller's rollback leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Table, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app import models as m
from app.curation import aggregates, derive, rendered
from app.curation.documents import READERS, Document
from app.curation.validate import (
    KIND_TABLES,
    FootnoteIndex,
    Problem,
    RecordsInvalid,
    check_references,
    footnote_index,
    parents_first,
    table_of,
)
from app.http_cache import read_version
from app.schemas.bundle import ActorIn, AgreementIn, Bundle, CitationIn, EventIn, Record, SourceIn, TopicIn

# Any constant: the key of the PostgreSQL advisory lock every writer holds until it commits.
WRITE_LOCK = 0x6469_7065_7673  # "dipevs"
TABLES = m.Base.metadata.tables
# The data tables, each after those it references (inserts in this order, deletes in reverse).
DATA_TABLES = [t for t in m.Base.metadata.sorted_tables if t.name in derive.DATA_TABLE_NAMES]


@dataclass(frozen=True)
class Kind:
    """A resource the write path knows: its bundle key/URL segment, bundle schema, main table, how its rows are
    derived, and the columns of *other* records that point at it."""

    name: str  # "events": bundle key and URL segment
    schema: type[Record]
    rows: Callable[[Any, FootnoteIndex], derive.Rows]
    # Columns of other records' rows holding this kind's ids (renames repoint them, deletes are refused while
    # any row has the id).
    referrers: tuple[Any, ...] = ()

    @property
    def singular(self) -> str:
        return self.name[:-1]

    @property
    def table(self) -> Table:
        return table_of(KIND_TABLES[self.name])

    def read(self, session: Session, record_id: str) -> Document | None:
        return READERS[self.name](session, record_id)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("sources", SourceIn, derive.source_rows, (m.Citation.source_id, m.Locator.source_id)),
        Kind(
            "citations",
            CitationIn,
            derive.citation_rows,
            (m.EventCitation.citation_id, m.AgreementCitation.citation_id),
        ),
        Kind(
            "topics", TopicIn, derive.topic_rows, (m.Topic.parent_id, m.EventTopic.topic_id, m.AgreementTopic.topic_id)
        ),
        Kind(
            "actors",
            ActorIn,
            derive.actor_rows,
            (m.EventParticipant.actor_id, m.EventQuote.speaker_id, m.Office.organization_id, m.AgreementParty.actor_id),
        ),
        Kind(
            "events",
            EventIn,
            derive.event_rows,
            (m.Event.parent_id, m.EventRelation.related_id, m.AgreementEvent.event_id, m.AgreementMilestone.event_id),
        ),
        Kind("agreements", AgreementIn, derive.agreement_rows),
    )
}
# Bundle order: what a record points at is written before it.
ORDER = ("sources", "citations", "topics", "actors", "events", "agreements")

# Where a record of each kind names other records, as paths into its bundle document ("*": every item of a list),
# with the kind named: a write may name a record by an id it was renamed from (app.curation.store.resolve_renamed).
REFERENCES: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "sources": ((("assessments", "*", "topics", "*"), "topics"),),
    "citations": ((("source",), "sources"),),
    "topics": ((("parent",), "topics"),),
    "actors": (
        (("offices", "*", "organization"), "actors"),
        (("offices", "*", "locators", "*", "source"), "sources"),
    ),
    "events": (
        (("participants", "*", "actor"), "actors"),
        (("quotes", "*", "speaker"), "actors"),
        (("topics", "*"), "topics"),
        (("parent",), "events"),
        (("related", "*", "event"), "events"),
        (("locators", "*", "source"), "sources"),
    ),
    "agreements": (
        (("parties", "*", "actor"), "actors"),
        (("topics", "*"), "topics"),
        (("events", "*"), "events"),
        (("milestones", "*", "event"), "events"),
        (("locators", "*", "source"), "sources"),
    ),
}


@dataclass(frozen=True)
class Author:
    """Who writes: an API key (id and name) or the command line; and why, when they said."""

    key_id: int | None
    name: str
    reason: str | None = None


CLI = Author(None, "cli")
# The longest reason kept with a change, in characters.
REASON_LIMIT = 500
# Control characters (C0 with tab and line breaks, DEL, C1): a reason is one line of text, shown in histories.
_REASON_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_reason(value: object) -> str | None:
    """The reason a curator gives for a change (the `X-Change-Reason` header, percent-decoded, or a bundle's `reason`
    member), trimmed; None when empty. ValueError (saying why) for anything but one line of at most REASON_LIMIT
    characters of text without control characters. The one rule for both forms; callers name the header or field."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be text")
    if _REASON_CONTROL.search(value):
        raise ValueError("contains a control character or line break; give the reason as one line of text")
    value = value.strip()
    if len(value) > REASON_LIMIT:
        raise ValueError(f"is {len(value)} characters long; the limit is {REASON_LIMIT}")
    return value or None


class NotFound(Exception):
    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"no {kind[:-1]} with id {record_id!r}")


class PreconditionFailed(Exception):
    """The record changed since the version the client's If-Match names."""


@dataclass(frozen=True)
class Written:
    """What a write left: the record's document (None once deleted), the change's number and the dataset version."""

    document: Document | None
    seq: int
    version: str
    changes: int = 1
    counts: dict[str, int] = field(default_factory=dict)


# -- transactions ----------------------------------------------------------------------------------------------


@contextmanager
def write_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for one write, committed when the block ends without an exception, else rolled back.

    Writers take turns: SQLite begins with BEGIN IMMEDIATE (the database's write lock, so a writer never finds its
    snapshot stale), PostgreSQL takes a transaction-level advisory lock and reads at READ COMMITTED, so after the
    wait it sees the writes committed meanwhile (a stale If-Match is then a 412, not a serialization error). Held
    until commit, the lock makes change numbers (``changes.seq``) increase in commit order: the change feed is
    gapless for a reader that follows it."""
    session = sessions()
    try:
        postgres = session.get_bind().dialect.name == "postgresql"
        options = {"isolation_level": "READ COMMITTED"} if postgres else {"sqlite_immediate": True}
        session.connection(execution_options=options)
        lock_writes(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def lock_writes(session: Session) -> None:
    """Take the write lock for the rest of the session's transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE is its own
    lock). Every write function calls it, so a caller's plain transaction (tests, scripts) is serialized too."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})


# -- rows ------------------------------------------------------------------------------------------------------


def derive_rows(kind: str, records: Sequence[Any], footnotes: FootnoteIndex) -> derive.Rows:
    """Every row of ``records`` (one kind, parents before children), grouped by table."""
    rows: derive.Rows = {}
    ordered = parents_first(list(records)) if kind in ("topics", "events") else records
    rows_of = KINDS[kind].rows
    for record in ordered:
        for table, found in rows_of(record, footnotes).items():
            rows.setdefault(table, []).extend(found)
    return rows


def insert_rows(session: Session, rows: derive.Rows) -> None:
    """Insert rows of many tables, each table after those it references."""
    for table in DATA_TABLES:
        found = rows.get(table.name)
        if found:
            session.execute(insert(table), found)


def _delete_children(session: Session, kind: str, record_id: str) -> None:
    """Delete the rows a record owns (all but its main row; a source's sections are kept, see _sync_sections)."""
    locators = table_of(m.Locator)
    if kind == "actors":
        offices = select(m.Office.id).where(m.Office.person_id == record_id)
        session.execute(delete(locators).where(locators.c.office_id.in_(offices)))
        session.execute(delete(table_of(m.Office)).where(m.Office.person_id == record_id))
        session.execute(delete(table_of(m.ActorIdentifier)).where(m.ActorIdentifier.actor_id == record_id))
    elif kind == "events":
        session.execute(delete(locators).where(locators.c.event_id == record_id))
        for name in ("event_participants", "event_quotes", "event_citations", "event_relations", "event_topics"):
            session.execute(delete(TABLES[name]).where(TABLES[name].c.event_id == record_id))
    elif kind == "agreements":
        session.execute(delete(locators).where(locators.c.agreement_id == record_id))
        for name in (
            "agreement_parties",
            "agreement_milestones",
            "agreement_topics",
            "agreement_citations",
            "agreement_events",
        ):
            session.execute(delete(TABLES[name]).where(TABLES[name].c.agreement_id == record_id))


def _sync_sections(session: Session, source_id: str, sections: list[dict[str, Any]]) -> None:
    # Sections are the targets of other records' locators (a foreign key), so they are updated in place
    # rather than deleted and inserted again; validation has refused dropping one that is pointed at.
    table = table_of(m.Section)
    keep = {s["key"] for s in sections}
    existing = set(session.scalars(select(table.c.key).where(table.c.source_id == source_id)))
    session.execute(delete(table).where(table.c.source_id == source_id, table.c.key.not_in(keep)))
    for row in sections:
        if row["key"] in existing:
            session.execute(
                update(table).where(table.c.source_id == source_id, table.c.key == row["key"]).values(**row)
            )
        else:
            session.execute(insert(table), [row])


# -- versions, changes and retired ids -------------------------------------------------------------------------


def _clock() -> dt.datetime:
    """The current time (UTC, microseconds kept); tests freeze it."""
    return dt.datetime.now(dt.UTC)


def _now() -> dt.datetime:
    return _clock().replace(microsecond=0)


def bump_version(
    session: Session | Connection,
    content: str,
    *,
    fresh: bool = False,
    version: str | None = None,
    at: dt.datetime | None = None,
) -> str:
    """Move the dataset version on: a hash of the previous version (none when ``fresh``) and ``content``, so identical
    data loaded the same way has the identical version; or exactly ``version`` (the benchmark generator's).

    The time (``updated_at``, sent as Last-Modified in whole seconds) is never later than the clock, so Last-Modified
    never runs ahead of a response's Date. Whole-second HTTP dates cannot tell two writes in one second apart, so
    the stored time says whether they happened: the first write in a second stores the second itself (microsecond
    0), a further write in the same second stores the exact time (microsecond ≥ 1). If-Modified-Since compares with
    the stored time (app.representation.not_modified), so a copy dated that second is still current (304) after one
    write in it, and revalidates (200) after several. The ETag changes with every write regardless (the version).
    ``at`` sets the time exactly (the generator's fixed date)."""
    state = table_of(m.DatasetState)
    current = session.execute(select(state.c.version, state.c.updated_at).where(state.c.id == 1)).first()
    previous = "" if fresh or current is None else current.version
    new_version = version or hashlib.sha256((previous + content).encode()).hexdigest()[:16]
    now = at or _clock()
    if at is None:
        second = now.replace(microsecond=0)
        last = None
        if current is not None:  # even when `fresh`: a copy served before a reload must not look current after it
            last = current.updated_at if current.updated_at.tzinfo else current.updated_at.replace(tzinfo=dt.UTC)
        if last is None or second > last:
            now = second
        else:  # another write in the second of the last one (or the clock stepped back): exact, never microsecond 0
            now = max(now, last + dt.timedelta(microseconds=1))
            if now.microsecond == 0:
                now += dt.timedelta(microseconds=1)
    if current is None:
        session.execute(insert(state).values(id=1, version=new_version, updated_at=now))
    else:
        session.execute(update(state).where(state.c.id == 1).values(version=new_version, updated_at=now))
    return new_version


def _canonical(content: Any) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def _log(session: Session, author: Author, version: str, entries: list[dict[str, Any]]) -> int:
    """Insert change rows (resource, record_id, op, …); the last one's number."""
    at = _now()
    rows = [
        {
            "previous_id": None,
            "replaced_by": None,
            "before": None,
            "after": None,
            **entry,
            # Documents as JSON holds them (an agreement's Decimal amount as its text, as the schema reads it back).
            **{k: json.loads(_canonical(entry[k])) for k in ("before", "after") if entry.get(k) is not None},
            "key_id": author.key_id,
            "author": author.name,
            "reason": author.reason,
            "at": at,
            "dataset_version": version,
        }
        for entry in entries
    ]
    session.execute(insert(table_of(m.Change)), rows)
    return int(session.scalar(select(func.max(m.Change.seq))) or 0)


def _single_change(session: Session, author: Author, entry: dict[str, Any]) -> tuple[int, str]:
    version = bump_version(session, _canonical(entry))
    return _log(session, author, version, [entry]), version


def _unretire(session: Session, kind: str, record_id: str) -> None:
    session.execute(delete(table_of(m.RetiredId)).where(m.RetiredId.resource == kind, m.RetiredId.id == record_id))


def _retire(session: Session, kind: str, record_id: str, reason: str, successor: str | None, seq: int) -> None:
    table = table_of(m.RetiredId)
    _unretire(session, kind, record_id)
    session.execute(insert(table).values(resource=kind, id=record_id, reason=reason, successor=successor, seq=seq))
    if reason == "renamed":  # earlier names now lead straight to the newest
        session.execute(
            update(table)
            .where(table.c.resource == kind, table.c.successor == record_id, table.c.reason == "renamed")
            .values(successor=successor)
        )


def retired(session: Session, kind: str, record_id: str) -> m.RetiredId | None:
    """Why ``record_id`` no longer names a live record of ``kind`` (renamed or deleted), or None."""
    return session.scalars(select(m.RetiredId).where(m.RetiredId.resource == kind, m.RetiredId.id == record_id)).first()


def renamed_ids(session: Session, model: Any, ids: set[str]) -> dict[str, str]:
    """Old id -> current id for the renamed ones among ``ids`` of ``model``'s kind (so filters accept old ids)."""
    kind = next((k for k, found in KIND_TABLES.items() if found is model), None)
    return current_ids(session, kind, ids) if kind else {}


def current_ids(session: Session, kind: str, ids: set[str]) -> dict[str, str]:
    """Old id -> current id for the renamed ones among ``ids``."""
    table = table_of(m.RetiredId)
    query = select(table.c.id, table.c.successor).where(
        table.c.resource == kind, table.c.reason == "renamed", table.c.id.in_(sorted(ids))
    )
    return {old: new for old, new in session.execute(query).all() if new}


def _slots(node: Any, path: tuple[str, ...]) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every value at ``path`` in a document."""
    step, rest = path[0], path[1:]
    if step == "*":
        keys: Iterable[Any] = range(len(node)) if isinstance(node, list) else ()
    else:
        keys = (step,) if isinstance(node, dict) and step in node else ()
    for key in keys:
        if rest:
            yield from _slots(node[key], rest)
        else:
            yield node, key


def _any_renamed(session: Session) -> bool:
    """Whether any id was ever renamed (until then no reference needs resolving). retired_ids holds only what
    curators renamed or deleted, so the scan is short."""
    table = table_of(m.RetiredId)
    return session.scalar(select(table.c.id).where(table.c.reason == "renamed").limit(1)) is not None


def resolve_renamed(session: Session, kind: str, record: Any, local: Mapping[str, set[str]] | None = None) -> Any:
    """``record`` with every reference to a renamed id replaced by the record's current id (a chain of renames
    leads to the newest), so the old id keeps working in writes as in URLs and filters and the stored data holds
    only current ids. Ids in ``local`` (kind -> ids being written alongside) are taken as they are."""
    local = local or {}
    document = _document(record)
    changed = False
    for _ in range(8):  # _retire points earlier names straight at the newest; more rounds only for safety
        slots = [
            (target, container, key)
            for path, target in REFERENCES[kind]
            for container, key in _slots(document, path)
            if isinstance(container[key], str) and container[key] not in local.get(target, ())
        ]
        moves = {
            target: current_ids(session, target, {c[k] for t, c, k in slots if t == target})
            for target in {t for t, _, _ in slots}
        }
        hits = [(container, key, moves[t][container[key]]) for t, container, key in slots if container[key] in moves[t]]
        if not hits:
            break
        for container, key, new in hits:
            container[key] = new
        changed = True
    return parse(kind, document) if changed else record


# -- validation ------------------------------------------------------------------------------------------------


def validation_problems(kind: str, error: ValidationError, record_id: str = "") -> list[Problem]:
    return [
        Problem("-", record_id, ".".join(str(p) for p in e["loc"]), e["msg"], kind, record_id) for e in error.errors()
    ]


def parse(kind: str, document: Any) -> Record:
    """``document`` validated by the bundle schema of ``kind``; :class:`RecordsInvalid` (422) naming each field."""
    try:
        return KINDS[kind].schema.model_validate(document)
    except ValidationError as exc:
        raise RecordsInvalid(validation_problems(kind, exc)) from None


def _single_bundle(kind: str, record: Record) -> Bundle:
    return Bundle.model_construct(None, **{kind: [record]})  # type: ignore[arg-type]


def _exists(session: Session, kind: str, record_id: str) -> bool:
    table = KINDS[kind].table
    return session.scalar(select(table.c.id).where(table.c.id == record_id)) is not None


def _problem(kind: str, record_id: str, field_name: str, message: str) -> Problem:
    return Problem("-", f"{kind[:-1]} {record_id!r}", field_name, message, kind, record_id)


def _owner(table: Table) -> tuple[str, Any]:
    """(kind, id column) of the record a row of ``table`` belongs to."""
    if table.name in ("citations", "topics", "events"):
        return table.name, table.c.id
    if table.name == "offices":
        return "actors", table.c.person_id
    if table.name == "locators":
        return "records", func.coalesce(table.c.event_id, table.c.agreement_id, table.c.office_id)
    if "event_id" in table.c and table.name.startswith("event_"):
        return "events", table.c.event_id
    return "agreements", table.c.agreement_id


def referenced_by(session: Session, kind: str, record_id: str) -> list[str]:
    """Records that point at this one ("events/x", …; at most a few per kind of link), for refusing a delete."""
    found: list[str] = []
    for column in KINDS[kind].referrers:
        owner_kind, owner = _owner(column.table)
        query = select(owner).where(column == record_id).distinct().limit(5)
        found += [f"{owner_kind}/{row[0]}" for row in session.execute(query) if row[0] != record_id]
    if kind == "topics":
        for source_id, assessments in session.execute(select(m.SourceDocument.id, m.SourceDocument.assessments)):
            if any(record_id in a.get("topics", []) for a in assessments or []):
                found.append(f"sources/{source_id}")
    if kind == "citations":  # offices' locators cite footnotes too, without a derived link row
        citation = session.get(m.Citation, record_id)
        if citation is not None and citation.footnote is not None:
            loc = m.Locator
            _, owner = _owner(table_of(loc))
            query = select(owner).where(loc.source_id == citation.source_id, loc.footnote == citation.footnote)
            found += [f"records/{row[0]}" for row in session.execute(query.distinct().limit(5))]
    return sorted(set(found))


def _check_dependent_fields(session: Session, kind: str, old_id: str, record: Any) -> list[Problem]:
    """What other records rely on that a rewrite would pull from under them."""
    problems: list[Problem] = []
    if kind == "sources":
        loc = m.Locator
        counts = {s.key: s.paragraphs for s in record.sections}
        used = session.execute(
            select(loc.section, func.count(), func.max(loc.paragraph))
            .where(loc.source_id == old_id)
            .group_by(loc.section)
        )
        for section, count, highest in used:
            if section not in counts:
                problems.append(
                    _problem(kind, record.id, "sections", f"section {section!r} is the target of {count} locator(s)")
                )
            elif counts[section] and highest is not None and highest > counts[section]:
                index = list(counts).index(section)
                message = f"a locator cites paragraph {highest} of section {section!r}"
                problems.append(_problem(kind, record.id, f"sections.{index}.paragraphs", message))
    if kind == "citations":
        current = session.get(m.Citation, old_id)
        if current is not None and current.footnote is not None:
            moved = (current.source_id, current.footnote) != (record.source, record.footnote)
            loc = m.Locator
            users = session.scalar(
                select(func.count()).where(loc.source_id == current.source_id, loc.footnote == current.footnote)
            )
            if moved and users:
                problems.append(
                    _problem(
                        kind,
                        record.id,
                        "footnote",
                        f"{users} locator(s) cite footnote {current.footnote} of {current.source_id!r} through it",
                    )
                )
    return problems


def _validate_one(session: Session, kind: str, record: Any, old_id: str | None) -> None:
    problems = check_references(_single_bundle(kind, record), {}, set(), session, old_id)
    if old_id is not None:
        problems += _check_dependent_fields(session, kind, old_id, record)
    if problems:
        raise RecordsInvalid(problems)


def _refuse_taken_id(session: Session, kind: str, new_id: str, renaming: str | None) -> None:
    """409 naming `id` when ``new_id`` cannot name a record being created (``renaming`` None) or renamed from
    ``renaming``: a live record has it, or it is a former id of another record (its old links lead there, and would
    stop). A rename may not take the id of a deleted record either (its URL answers 410 and its history is its own);
    a create may (that brings the record back)."""
    if _exists(session, kind, new_id):
        raise RecordsInvalid([_problem(kind, new_id, "id", "already exists")], status=409)
    found = retired(session, kind, new_id)
    if found is None:
        return
    if found.reason == "renamed" and found.successor not in (None, renaming):
        message = f"is a former id of {found.successor!r}, which its links still lead to"
    elif found.reason == "deleted" and renaming is not None:
        message = f"was the id of a deleted {kind[:-1]} (its URL answers 410); rename to an unused id"
    else:
        return
    raise RecordsInvalid([_problem(kind, new_id, "id", message)], status=409)


def _stored(kind: str, document: Document) -> Document | None:
    """A stored document as a write of it would be (None if it no longer validates: any write then changes it)."""
    try:
        return _document(parse(kind, document))
    except RecordsInvalid:
        return None


def current_version(session: Session) -> str:
    return read_version(session)[0]


# -- single-record writes --------------------------------------------------------------------------------------


def _document(record: Record) -> Document:
    return record.model_dump(mode="json")


def check_precondition(session: Session, kind: str, record_id: str, version: str | None) -> None:
    """If-Match: the client's copy (a representation served at dataset ``version``; None for `*`) is still current,
    i.e. no change to this record committed after that version. Raises :class:`PreconditionFailed`."""
    if version is None:
        return
    state = session.execute(select(m.DatasetState.version).where(m.DatasetState.id == 1)).scalar()
    if version == state:
        return
    seen = session.scalar(select(func.max(m.Change.seq)).where(m.Change.dataset_version == version))
    if seen is None:
        raise PreconditionFailed()
    last = session.scalar(
        select(func.max(m.Change.seq)).where(
            m.Change.resource == kind, or_(m.Change.record_id == record_id, m.Change.previous_id == record_id)
        )
    )
    if last is not None and last > seen:
        raise PreconditionFailed()


def create(session: Session, kind: str, record: Any, author: Author) -> Written:
    """Write a new record; :class:`RecordsInvalid` (409 for a taken id, 422 otherwise) before anything is written."""
    lock_writes(session)
    _refuse_taken_id(session, kind, record.id, None)
    if _any_renamed(session):
        record = resolve_renamed(session, kind, record)
    _validate_one(session, kind, record, None)
    insert_rows(session, KINDS[kind].rows(record, footnote_index(_single_bundle(kind, record), session)))
    aggregates.count(session, kind, record.id)
    rendered.after_write(session, kind, record.id)
    _unretire(session, kind, record.id)
    after = _document(record)
    seq, version = _single_change(
        session, author, {"resource": kind, "record_id": record.id, "op": "create", "after": after}
    )
    return Written(after, seq, version)


def replace(session: Session, kind: str, record_id: str, record: Any, author: Author, if_match: str | None) -> Written:
    """Replace a record with ``record``; a different ``record.id`` renames it (other records' references follow,
    the old id redirects). Raises NotFound, PreconditionFailed or RecordsInvalid before anything is written."""
    lock_writes(session)
    spec = KINDS[kind]
    before = spec.read(session, record_id)
    if before is None:
        raise NotFound(kind, record_id)
    check_precondition(session, kind, record_id, if_match)
    renamed = record.id != record_id
    if renamed:
        _refuse_taken_id(session, kind, record.id, record_id)
    if _any_renamed(session):
        record = resolve_renamed(session, kind, record)
    if renamed:
        record = _follow_own_rename(kind, record, record_id)
    if not renamed and _document(record) == _stored(kind, before):
        # Nothing changes: no revision, no change-feed entry, the same dataset version (and so the same ETag).
        return Written(_document(record), 0, current_version(session), changes=0)
    _validate_one(session, kind, record, record_id)
    rows = spec.rows(record, footnote_index(_single_bundle(kind, record), session))
    main, children = rows[spec.table.name][0], {t: r for t, r in rows.items() if t != spec.table.name}
    sections = children.pop("source_sections", None)
    recounted = aggregates.recounts(kind, before, record)
    if recounted:
        aggregates.uncount(session, kind, record_id)
    _delete_children(session, kind, record_id)
    if not renamed:
        session.execute(update(spec.table).where(spec.table.c.id == record_id).values(**main))
        if sections is not None:
            _sync_sections(session, record_id, sections)
    else:
        if kind == "citations":  # free the (source, footnote) pair the new row takes
            session.execute(update(spec.table).where(spec.table.c.id == record_id).values(footnote=None))
        session.execute(insert(spec.table), [main])
        if sections is not None:
            session.execute(insert(table_of(m.Section)), sections)
        for column in spec.referrers:
            session.execute(update(column.table).where(column == record_id).values({column.name: record.id}))
        if kind == "topics":
            _rename_assessment_topics(session, record_id, record.id)
        if sections is not None:
            session.execute(delete(table_of(m.Section)).where(m.Section.source_id == record_id))
        session.execute(delete(spec.table).where(spec.table.c.id == record_id))
    insert_rows(session, children)
    if kind in ("actors", "topics"):
        _reindex_events_of(session, kind, record.id)
    aggregates.count(session, kind, record.id, recounted)
    rendered.after_write(session, kind, record.id, record_id)
    after = _document(record)
    entry = {
        "resource": kind,
        "record_id": record.id,
        "op": "update",
        "previous_id": record_id if renamed else None,
        "before": before,
        "after": after,
    }
    seq, version = _single_change(session, author, entry)
    if renamed:
        _unretire(session, kind, record.id)  # taking back an id this record was renamed from
        _retire(session, kind, record_id, "renamed", record.id, seq)
    return Written(after, seq, version)


def _follow_own_rename(kind: str, record: Any, old_id: str) -> Any:
    """``record``, being renamed from ``old_id``, with its references to ``old_id`` made references to its new id
    (the old id names this record), so that a parent or a relation to itself is seen as one and refused."""
    document = _document(record)
    slots = [
        (container, key)
        for path, target in REFERENCES[kind]
        if target == kind
        for container, key in _slots(document, path)
        if container[key] == old_id
    ]
    for container, key in slots:
        container[key] = record.id
    return parse(kind, document) if slots else record


def _reindex_events_of(session: Session, kind: str, record_id: str) -> None:
    """Derive again the search text of the events that hold this actor's names or this topic's label
    (app.curation.derive.event_rows), in the writing transaction, so `q` finds them by the new ones at once.
    Costs one read and one update per such event."""
    link = m.EventParticipant.actor_id if kind == "actors" else m.EventTopic.topic_id
    events = KINDS["events"]
    event_ids = session.scalars(select(link.table.c.event_id).where(link == record_id).distinct()).all()
    for event_id in event_ids:
        document = events.read(session, event_id)
        if document is None:
            continue
        event = parse("events", document)
        main = events.rows(event, footnote_index(_single_bundle("events", event), session))["events"][0]
        columns = {name: main[name] for name in ("search_text", "search_stems")}
        session.execute(update(events.table).where(events.table.c.id == event_id).values(**columns))


def _rename_assessment_topics(session: Session, old: str, new: str) -> None:
    table = table_of(m.SourceDocument)
    for source_id, assessments in session.execute(select(table.c.id, table.c.assessments)).all():
        if any(old in a.get("topics", []) for a in assessments or []):
            fixed = [{**a, "topics": [new if t == old else t for t in a.get("topics", [])]} for a in assessments]
            session.execute(update(table).where(table.c.id == source_id).values(assessments=fixed))


def merge_patch(target: Any, patch: Any) -> Any:
    """JSON Merge Patch (RFC 7396): ``patch`` applied to ``target`` (null removes a member)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def patch(
    session: Session, kind: str, record_id: str, changes: dict[str, Any], author: Author, if_match: str | None
) -> Written:
    """Apply a JSON Merge Patch to the stored document, then :func:`replace` with the result (validated whole)."""
    before = KINDS[kind].read(session, record_id)
    if before is None:
        raise NotFound(kind, record_id)
    merged = merge_patch(_document(parse(kind, before)), changes)
    return replace(session, kind, record_id, parse(kind, merged), author, if_match)


def remove(
    session: Session, kind: str, record_id: str, author: Author, if_match: str | None, replaced_by: str | None = None
) -> Written:
    """Delete a record (its URL then answers 410, naming ``replaced_by`` if given). Refused (409) while other records
    point at it; the history keeps the deleted document."""
    lock_writes(session)
    spec = KINDS[kind]
    before = spec.read(session, record_id)
    if before is None:
        raise NotFound(kind, record_id)
    check_precondition(session, kind, record_id, if_match)
    if replaced_by is not None:
        replaced_by = current_ids(session, kind, {replaced_by}).get(replaced_by, replaced_by)
    if replaced_by is not None and (replaced_by == record_id or not _exists(session, kind, replaced_by)):
        raise RecordsInvalid([_problem(kind, record_id, "replaced_by", f"no other {kind[:-1]} {replaced_by!r}")])
    users = referenced_by(session, kind, record_id)
    if users:
        detail = f"still referenced by {', '.join(users)}"
        raise RecordsInvalid([_problem(kind, record_id, "id", detail)], status=409)
    aggregates.uncount(session, kind, record_id)
    _delete_children(session, kind, record_id)
    if kind == "sources":
        session.execute(delete(table_of(m.Section)).where(m.Section.source_id == record_id))
    session.execute(delete(spec.table).where(spec.table.c.id == record_id))
    aggregates.count(session, kind, record_id, recounted=False)
    rendered.after_write(session, kind, record_id)
    entry = {"resource": kind, "record_id": record_id, "op": "delete", "before": before, "replaced_by": replaced_by}
    seq, version = _single_change(session, author, entry)
    _retire(session, kind, record_id, "deleted", replaced_by, seq)
    return Written(None, seq, version)


# -- bundles ---------------------------------------------------------------------------------------------------


def clear_dataset(session: Session) -> None:
    """Delete every record and retired id, children first (the history and the keys stay)."""
    for table in reversed(DATA_TABLES):
        session.execute(delete(table))
    session.execute(delete(table_of(m.RetiredId)))


def existing_ids(session: Session, bundle: Bundle) -> list[Problem]:
    """Records of ``bundle`` whose id is already taken: by a stored record, or as a former id of one (renamed; its
    old links lead there)."""
    problems = []
    retired_ids = table_of(m.RetiredId)
    for kind in ORDER:
        table = KINDS[kind].table
        ids = [r.id for r in getattr(bundle, kind)]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for found in session.scalars(select(table.c.id).where(table.c.id.in_(chunk))):
                problems.append(_problem(kind, found, "id", "already in the database (use --replace to reload)"))
            aliases = select(retired_ids.c.id, retired_ids.c.successor).where(
                retired_ids.c.resource == kind, retired_ids.c.reason == "renamed", retired_ids.c.id.in_(chunk)
            )
            for found, successor in session.execute(aliases):
                message = f"is a former id of {successor!r}, which its links still lead to"
                problems.append(_problem(kind, found, "id", message))
    return problems


def import_records(
    session: Session,
    bundle: Bundle,
    author: Author,
    *,
    replace_all: bool = False,
    origin: dict[tuple[str, str], str] | None = None,
) -> Written:
    """Write a whole bundle (already validated record by record) in the session's transaction: all of it or
    nothing. With ``replace_all`` the dataset is cleared first (one `reset` change); otherwise taken ids are
    refused (so re-sending stored records is a 409, never a silent rewrite), references may point at records already
    in the database, and a bundle with no records changes nothing (no new version, no change recorded)."""
    lock_writes(session)
    origin = origin or {}
    counts = {kind: len(getattr(bundle, kind)) for kind in ORDER}
    if not replace_all and not any(counts.values()):
        # Adding nothing changes nothing: the version (ETags, Last-Modified) stays and the feed records nothing.
        return Written(None, 0, current_version(session), 0, counts)
    if replace_all:
        clear_dataset(session)
    else:
        clashes = [
            Problem(origin.get((p.kind, p.record_id), "-"), p.record, p.field, p.message, p.kind, p.record_id)
            for p in existing_ids(session, bundle)
        ]
        if clashes:
            raise RecordsInvalid(clashes, status=409)
        if _any_renamed(session):
            local = {kind: {r.id for r in getattr(bundle, kind)} for kind in ORDER}
            resolved = {
                kind: [resolve_renamed(session, kind, r, local) for r in getattr(bundle, kind)] for kind in ORDER
            }
            bundle = Bundle.model_construct(None, **resolved)
    problems = check_references(bundle, origin, set(), None if replace_all else session)
    if problems:
        raise RecordsInvalid(problems)
    footnotes = footnote_index(bundle, None if replace_all else session)
    rows: derive.Rows = {}
    entries: list[dict[str, Any]] = [{"resource": "*", "record_id": "*", "op": "reset"}] if replace_all else []
    for kind in ORDER:
        records = getattr(bundle, kind)
        for table, found in derive_rows(kind, records, footnotes).items():
            rows.setdefault(table, []).extend(found)
        # In the order written (parents first), so a mirror can replay a commit's creates in feed order.
        ordered = parents_first(list(records)) if kind in ("topics", "events") else records
        entries += [{"resource": kind, "record_id": r.id, "op": "create", "after": _document(r)} for r in ordered]
        if not replace_all:
            for r in records:
                _unretire(session, kind, r.id)
    insert_rows(session, rows)
    if replace_all:
        aggregates.rebuild(session)
        rendered.rebuild(session)
    else:
        aggregates.rebuild_closure(session)
        aggregates.add_events(session, [r.id for r in bundle.events])
        rendered.refresh(session, [r.id for r in bundle.events])
    version = bump_version(session, _canonical(bundle.model_dump(mode="json")), fresh=replace_all)
    seq = _log(session, author, version, entries) if entries else 0
    return Written(None, seq, version, len(entries), counts)


def as_bundle(document: Any) -> Bundle:
    """A bundle document (the JSON/YAML form, all kinds in one mapping) validated record by record; every problem
    at once (:class:`RecordsInvalid`), fields named `<kind>.<index>.<field>`."""
    if not isinstance(document, dict):
        raise RecordsInvalid([Problem("-", "-", "", "a bundle is a mapping of resource kinds to lists of records")])
    problems: list[Problem] = []
    merged: dict[str, list[Any]] = {kind: [] for kind in ORDER}
    seen: dict[tuple[str, str], int] = {}
    for kind, records in document.items():
        if kind not in KINDS:
            problems.append(Problem("-", "-", str(kind), f"unknown resource kind; expected one of {', '.join(ORDER)}"))
            continue
        if not isinstance(records, list):
            problems.append(Problem("-", "-", kind, "must be a list of records"))
            continue
        for index, raw in enumerate(records):
            try:
                record = KINDS[kind].schema.model_validate(raw)
            except ValidationError as exc:
                problems += [
                    Problem("-", f"{kind}.{index}", f"{kind}.{index}." + ".".join(str(p) for p in e["loc"]), e["msg"])
                    for e in exc.errors()
                ]
                continue
            key = (kind, record.id)  # type: ignore[attr-defined]
            if key in seen:
                problems.append(Problem("-", f"{kind}.{index}", f"{kind}.{index}.id", "duplicate id in the bundle"))
            seen[key] = index
            merged[kind].append(record)
    if problems:
        raise RecordsInvalid(problems)
    return Bundle.model_construct(None, **merged)
