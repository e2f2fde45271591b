"""Events as JSON-ready documents, read with one set-based query per relation and no ORM objects.

The shape is `app.schemas.events.EventOut` (the documented contract; a test holds every document to it).
Building the dicts from plain rows instead of hydrating ORM objects and validating Pydantic models is what
makes a page of 50 events cost a few milliseconds instead of ~40 (measured in bench/RESULTS.md): the
ORM built ~600 objects per page, most of the request's time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app import vocab
from app.models import (
    Actor,
    Citation,
    Event,
    EventCitation,
    EventParticipant,
    EventQuote,
    EventRelation,
    EventTopic,
    Locator,
    Topic,
)

Document = dict[str, Any]

EVENT_COLUMNS = (
    Event.id, Event.type, Event.title, Event.summary, Event.date_edtf, Event.date_start, Event.date_end,
    Event.date_precision, Event.date_approximate, Event.date_uncertain, Event.location_name,
    Event.location_country, Event.notes, Event.discrepancies, Event.quantity, Event.parent_id,
)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _actor(actor_id: str, name: str, kind: str) -> Document:
    return {"id": actor_id, "name": name, "kind": kind}


def _discrepancy(stored: dict[str, Any]) -> Document:
    # Stored as imported; re-keyed so the output has exactly the documented fields in their order.
    return {
        "field": stored["field"],
        "description": stored["description"],
        "readings": [{"value": r["value"], "per": r["per"]} for r in stored.get("readings", [])],
        "resolution": stored["resolution"],
    }


def _grouped(rows: Iterable[Sequence[Any]], build: Any) -> dict[str, list[Document]]:
    """Rows whose first column is the event id -> {event id: [document, ...]} in row order."""
    grouped: dict[str, list[Document]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(build(*row[1:]))
    return grouped


# Built once: constructing a statement costs more than running it on a page of ids (SQLAlchemy's
# coercions), and Core execution on the session's connection skips the ORM's result machinery.
IDS = bindparam("ids", expanding=True)
EVENTS_BY_ID = select(*EVENT_COLUMNS).where(Event.id.in_(IDS))
PARTICIPANTS = (
    select(EventParticipant.event_id, Actor.id, Actor.name, Actor.kind, EventParticipant.role)
    .join(Actor, Actor.id == EventParticipant.actor_id)
    .where(EventParticipant.event_id.in_(IDS))
    .order_by(EventParticipant.event_id, EventParticipant.ordinal)
)
TOPICS = (
    select(EventTopic.event_id, Topic.id, Topic.label)
    .join(Topic, Topic.id == EventTopic.topic_id)
    .where(EventTopic.event_id.in_(IDS))
    .order_by(EventTopic.event_id, Topic.id)
)
CITATIONS = (
    select(
        EventCitation.event_id, Citation.id, Citation.url, Citation.title, Citation.publisher,
        Citation.issued_edtf, Citation.footnote, Citation.source_id,
    )
    .join(Citation, Citation.id == EventCitation.citation_id)
    .where(EventCitation.event_id.in_(IDS))
    .order_by(EventCitation.event_id, Citation.source_id, Citation.footnote, Citation.id)
)
LOCATORS = (
    select(Locator.event_id, Locator.source_id, Locator.section, Locator.paragraph, Locator.footnote, Locator.note)
    .where(Locator.event_id.in_(IDS))
    .order_by(Locator.event_id, Locator.id)
)
QUOTES = (
    select(EventQuote.event_id, Actor.id, Actor.name, Actor.kind, EventQuote.text, EventQuote.footnote)
    .join(Actor, Actor.id == EventQuote.speaker_id)
    .where(EventQuote.event_id.in_(IDS))
    .order_by(EventQuote.event_id, EventQuote.ordinal)
)
RELATIONS = (
    select(EventRelation.event_id, EventRelation.related_id, EventRelation.relation)
    .where(EventRelation.event_id.in_(IDS))
    .order_by(EventRelation.event_id, EventRelation.related_id)
)


def load_event_documents(session: Session, ids: Sequence[str]) -> list[Document]:
    """The events with these ids, in the order of ``ids`` (unknown ids are skipped)."""
    if not ids:
        return []
    wanted = list(ids)
    connection = session.connection()

    def run(statement: Any) -> Sequence[Any]:
        return connection.execute(statement, {"ids": wanted}).all()

    events = {row[0]: row for row in run(EVENTS_BY_ID)}
    participants = _grouped(
        run(PARTICIPANTS), lambda actor_id, name, kind, role: {"actor": _actor(actor_id, name, kind), "role": role}
    )
    topics = _grouped(run(TOPICS), lambda topic_id, label: {"id": topic_id, "label": label})
    citations = _grouped(
        run(CITATIONS),
        lambda cid, url, title, publisher, issued, footnote, source: {
            "id": cid, "url": url, "title": title, "publisher": publisher, "issued": issued,
            "footnote": footnote, "source": source,
        },
    )
    locators = _grouped(
        run(LOCATORS),
        lambda source, section, paragraph, footnote, note: {
            "source": source, "section": section, "paragraph": paragraph, "footnote": footnote, "note": note,
        },
    )
    quotes = _grouped(
        run(QUOTES),
        lambda actor_id, name, kind, text, footnote: {"speaker": _actor(actor_id, name, kind), "text": text, "footnote": footnote},
    )
    relations = _grouped(run(RELATIONS), lambda related, relation: {"event": related, "relation": relation})

    documents = []
    for event_id in wanted:
        row = events.get(event_id)
        if row is None:
            continue
        (_, kind, title, summary, edtf, start, end, precision, approximate, uncertain, place, country, notes,
         discrepancies, quantity, parent) = row
        codes = vocab.EVENT_TYPES[kind]
        documents.append(
            {
                "id": event_id,
                "type": kind,
                "codes": {"plover": codes.plover, "cameo": codes.cameo},
                "title": title,
                "summary": summary,
                "date": {
                    "edtf": edtf, "start": _iso(start), "end": _iso(end), "precision": precision,
                    "approximate": bool(approximate), "uncertain": bool(uncertain),
                },
                "location": {"name": place, "country": country} if place or country else None,
                "participants": participants.get(event_id, []),
                "topics": topics.get(event_id, []),
                "citations": citations.get(event_id, []),
                "locators": locators.get(event_id, []),
                "quotes": quotes.get(event_id, []),
                "notes": notes,
                "discrepancies": [_discrepancy(d) for d in discrepancies or []],
                "quantity": quantity,
                "parent": parent,
                "related": relations.get(event_id, []),
            }
        )
    return documents
