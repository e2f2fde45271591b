"""A stored record read back into its bundle form (app.schemas.bundle): the document a curator edits, kept in
the history, sent in the change feed and patched by JSON Merge Patch. Reading it back is the inverse of
app.curation.derive for everything a curator writes; what the database does not keep is normalised: topics,
related events, identifiers and an agreement's events come back sorted, offices ordered by start date."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app import models as m
from app.curation.validate import table_of

Document = dict[str, Any]


def _rows(session: Session, table: Any, where: Any, *order: Any) -> list[dict[str, Any]]:
    query = select(table).where(where)
    if order:
        query = query.order_by(*order)
    return [dict(row) for row in session.execute(query).mappings()]


def _one(session: Session, table: Table, record_id: str) -> dict[str, Any] | None:
    found = _rows(session, table, table.c.id == record_id)
    return found[0] if found else None


def _locators(session: Session, column: Any, owner: str) -> list[Document]:
    table = table_of(m.Locator)
    return [
        {
            "source": r["source_id"],
            "section": r["section"],
            "paragraph": r["paragraph"],
            "footnote": r["footnote"],
            "note": r["note"],
        }
        for r in _rows(session, table, column == owner, table.c.id)
    ]


def _span(row: dict[str, Any]) -> str:
    return str(row["date_edtf"])


def source_document(session: Session, record_id: str) -> Document | None:
    row = _one(session, table_of(m.SourceDocument), record_id)
    if row is None:
        return None
    sections = table_of(m.Section)
    return {
        "id": row["id"],
        "title": row["title"],
        "subtitle": row["subtitle"],
        "series": row["series"],
        "part": row["part"],
        "type": row["csl_type"],
        "publisher": row["publisher"],
        "publisher_place": row["publisher_place"],
        "authors": row["authors"],
        "issued": row["issued_edtf"],
        "period": row["period_edtf"],
        "language": row["language"],
        "url": row["url"],
        "description": row["description"],
        "notes": row["notes"],
        "sections": [
            {"key": s["key"], "title": s["title"], "parent": s["parent_key"], "paragraphs": s["paragraphs"]}
            for s in _rows(session, sections, sections.c.source_id == record_id, sections.c.ordinal)
        ],
        "assessments": row["assessments"],
    }


def citation_document(session: Session, record_id: str) -> Document | None:
    row = _one(session, table_of(m.Citation), record_id)
    if row is None:
        return None
    return {
        "id": row["id"],
        "source": row["source_id"],
        "footnote": row["footnote"],
        "type": row["csl_type"],
        "title": row["title"],
        "container_title": row["container_title"],
        "publisher": row["publisher"],
        "authors": row["authors"],
        "issued": row["issued_edtf"],
        "url": row["url"],
        "accessed": row["accessed"],
        "notes": row["notes"],
    }


def topic_document(session: Session, record_id: str) -> Document | None:
    row = _one(session, table_of(m.Topic), record_id)
    if row is None:
        return None
    return {"id": row["id"], "label": row["label"], "description": row["description"], "parent": row["parent_id"]}


def actor_document(session: Session, record_id: str) -> Document | None:
    row = _one(session, table_of(m.Actor), record_id)
    if row is None:
        return None
    identifiers = table_of(m.ActorIdentifier)
    offices = table_of(m.Office)
    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "aliases": row["aliases"],
        "country": row["country"],
        "description": row["description"],
        "identifiers": [
            {"scheme": i["scheme"], "value": i["value"]}
            for i in _rows(
                session, identifiers, identifiers.c.actor_id == record_id, identifiers.c.scheme, identifiers.c.value
            )
        ],
        "offices": [
            {
                "id": o["id"],
                "label": o["label"],
                "organization": o["organization_id"],
                "start": o["start_edtf"],
                "end": o["end_edtf"],
                "attested": o["attested_edtf"],
                "notes": o["notes"],
                "discrepancies": o["discrepancies"],
                "locators": _locators(session, table_of(m.Locator).c.office_id, o["id"]),
            }
            for o in _rows(session, offices, offices.c.person_id == record_id, offices.c.from_date, offices.c.id)
        ],
    }


def event_document(session: Session, record_id: str) -> Document | None:
    row = _one(session, table_of(m.Event), record_id)
    if row is None:
        return None
    participants = table_of(m.EventParticipant)
    quotes = table_of(m.EventQuote)
    relations = table_of(m.EventRelation)
    topics = table_of(m.EventTopic)
    location = None
    if row["location_name"] is not None or row["location_country"] is not None:
        location = {"name": row["location_name"], "country": row["location_country"]}
    return {
        "id": row["id"],
        "type": row["type"],
        "title": row["title"],
        "summary": row["summary"],
        "date": _span(row),
        "location": location,
        "participants": [
            {"actor": p["actor_id"], "role": p["role"]}
            for p in _rows(session, participants, participants.c.event_id == record_id, participants.c.ordinal)
        ],
        "topics": [t["topic_id"] for t in _rows(session, topics, topics.c.event_id == record_id, topics.c.topic_id)],
        "locators": _locators(session, table_of(m.Locator).c.event_id, record_id),
        "parent": row["parent_id"],
        "related": [
            {"event": r["related_id"], "relation": r["relation"]}
            for r in _rows(session, relations, relations.c.event_id == record_id, relations.c.related_id)
        ],
        "quantity": row["quantity"],
        "notes": row["notes"],
        "discrepancies": row["discrepancies"],
        "quotes": [
            {"speaker": q["speaker_id"], "text": q["text"], "footnote": q["footnote"]}
            for q in _rows(session, quotes, quotes.c.event_id == record_id, quotes.c.ordinal)
        ],
    }


def agreement_document(session: Session, record_id: str) -> Document | None:
    row = _one(session, table_of(m.Agreement), record_id)
    if row is None:
        return None
    parties = table_of(m.AgreementParty)
    milestones = table_of(m.AgreementMilestone)
    topics = table_of(m.AgreementTopic)
    events = table_of(m.AgreementEvent)
    return {
        "id": row["id"],
        "title": row["title"],
        "kind": row["kind"],
        "status": row["status"],
        "summary": row["summary"],
        "amount": row["amount"],
        "currency": row["currency"],
        "amount_qualifier": row["amount_qualifier"],
        "parties": [
            {"actor": p["actor_id"], "role": p["role"]}
            for p in _rows(session, parties, parties.c.agreement_id == record_id, parties.c.ordinal)
        ],
        "milestones": [
            {"kind": ms["kind"], "date": _span(ms), "event": ms["event_id"], "note": ms["note"]}
            for ms in _rows(session, milestones, milestones.c.agreement_id == record_id, milestones.c.ordinal)
        ],
        "events": [
            e["event_id"] for e in _rows(session, events, events.c.agreement_id == record_id, events.c.event_id)
        ],
        "topics": [
            t["topic_id"] for t in _rows(session, topics, topics.c.agreement_id == record_id, topics.c.topic_id)
        ],
        "locators": _locators(session, table_of(m.Locator).c.agreement_id, record_id),
        "notes": row["notes"],
        "discrepancies": row["discrepancies"],
    }


READERS: dict[str, Callable[[Session, str], Document | None]] = {
    "sources": source_document,
    "citations": citation_document,
    "topics": topic_document,
    "actors": actor_document,
    "events": event_document,
    "agreements": agreement_document,
}
