"""Visits as JSON documents (shape: `app.schemas.visits.VisitOut`), built from the event documents.

A visit is its event seen as a travel record, not a copy: the database builds the event documents
(`app.queries.event_documents`), and this module picks the traveller and host out of the participants,
adds the office the traveller held at the time, the destination's coordinates and the events that took
place during the visit. Two more statements per page (offices, parts), whatever its size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.orm import Session, aliased

from app import models as m
from app import vocab
from app.dates import parse_edtf
from app.exports.events import gazetteer
from app.queries.event_documents import col, event_documents_json, table
from app.schemas.visits import VisitOut

_VISITS = TypeAdapter(list[VisitOut])


def pick(participants: Sequence[Mapping[str, Any]], roles: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The participant filling a visits-view role: the first holding its first stored role, else the first
    holding its next one… (``participants`` in their recorded order); None when nobody holds any."""
    for role in roles:
        for participant in participants:
            if participant["role"] == role:
                return participant
    return None


def known_span(start: str | None, end: str | None, attested: str | None) -> tuple[dt.date, dt.date] | None:
    """The days an office is known to have been held, from its EDTF texts: the attested span, widened to the
    latest day the post may have been taken up (``start``) and the earliest it may have been left (``end``).
    None when either end is unknown: a start alone does not show the post was still held later."""
    lows: list[dt.date] = []
    highs: list[dt.date] = []
    if attested:
        span = parse_edtf(attested)
        lows += [span.start] if span.start else []
        highs += [span.end] if span.end else []
    if start and (taken := parse_edtf(start).end):
        lows.append(taken)
    if end and (left := parse_edtf(end).start):
        highs.append(left)
    if not lows or not highs or min(lows) > max(highs):
        return None
    return min(lows), max(highs)


def office_at(offices: Iterable[Mapping[str, Any]], start: dt.date, end: dt.date | None) -> Mapping[str, Any] | None:
    """The office known to be held on every day of ``start``–``end`` (an open end: none is). Of several, the
    one known over the narrowest span (the most specific evidence), then by id."""
    if end is None:
        return None
    held = []
    for office in offices:
        span = known_span(office["start"], office["end"], office["attested"])
        if span is not None and span[0] <= start and end <= span[1]:
            held.append(((span[1] - span[0]).days, office["id"], office))
    return min(held, key=lambda h: h[:2])[2] if held else None


def _offices(session: Session, people: set[str]) -> dict[str, list[dict[str, Any]]]:
    if not people:
        return {}
    org = aliased(m.Actor)
    rows = session.execute(
        select(
            m.Office.person_id,
            m.Office.id,
            m.Office.label,
            m.Office.start_edtf,
            m.Office.end_edtf,
            m.Office.attested_edtf,
            org.id,
            org.name,
            org.kind,
        )
        .outerjoin(org, org.id == m.Office.organization_id)
        .where(m.Office.person_id.in_(people))
    )
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for person, office_id, label, start, end, attested, org_id, org_name, org_kind in rows:
        organization = {"id": org_id, "name": org_name, "kind": org_kind} if org_id else None
        office = {"id": office_id, "label": label, "organization": organization}
        found[person].append(office | {"start": start, "end": end, "attested": attested})
    return found


def _parts_statement(sqlite: bool) -> Any:
    e, parent, event_id = table(m.Event), col("e", m.Event.parent_id), col("e", m.Event.id)
    # SQLite plans by ANALYZE statistics, which for a parent column that is NULL everywhere (data without
    # part-of links, like the benchmark's) claim every value matches every row; it then scanned the events
    # table twice per page (41 ms at 100k events, measured). The parent index is what answers this, so on
    # SQLite it is named (a renamed index fails here, at import).
    events: Table = m.Event.__table__  # type: ignore[assignment]  # declared as a FromClause
    (index,) = [i.name for i in events.indexes if [c.name for c in i.columns] == ["parent_id"]]
    hint = f" INDEXED BY {index}" if sqlite else ""
    return text(
        f"WITH RECURSIVE parts(visit_id, event_id) AS ("
        f"SELECT {parent}, {event_id} FROM {e} e{hint} WHERE {parent} IN :ids "
        f"UNION ALL SELECT p.visit_id, {event_id} FROM parts p JOIN {e} e{hint} ON {parent} = p.event_id) "
        f"SELECT p.visit_id, p.event_id FROM parts p JOIN {e} e ON {event_id} = p.event_id "
        f"ORDER BY p.visit_id, {col('e', m.Event.date_start)}, {event_id}"
    ).bindparams(bindparam("ids", expanding=True))


PARTS = {dialect: _parts_statement(dialect == "sqlite") for dialect in ("sqlite", "postgresql")}


def _parts(session: Session, visit_ids: list[str]) -> dict[str, list[str]]:
    """Per visit, the ids of its parts and their parts (the events' `parent` links), earliest first."""
    if not visit_ids:
        return {}
    connection = session.connection()
    rows = connection.execute(
        PARTS["sqlite" if connection.dialect.name == "sqlite" else "postgresql"], {"ids": visit_ids}
    )
    found: dict[str, list[str]] = defaultdict(list)
    for visit_id, event_id in rows:
        found[visit_id].append(event_id)
    return found


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def visit_documents_json(session: Session, ids: Sequence[str]) -> bytes:
    """A JSON array of the visit documents of these ids, in the order of ``ids``; ids that are not events of
    type `visit` are skipped (so `/v1/visits/{id}` of a meeting is a 404)."""
    events = [e for e in orjson.loads(event_documents_json(session, ids)) if e["type"] == vocab.VISIT]
    if not events:
        return b"[]"
    visitor_roles, host_roles = vocab.VISIT_ROLES["visitor"], vocab.VISIT_ROLES["host"]
    visitors = {e["id"]: pick(e["participants"], visitor_roles) for e in events}
    offices = _offices(session, {v["actor"]["id"] for v in visitors.values() if v is not None})
    parts = _parts(session, [e["id"] for e in events])
    places = gazetteer()
    documents = []
    for event in events:
        visitor = visitors[event["id"]]
        host = pick(event["participants"], host_roles)
        location = event["location"]
        place = places.get(location["name"] or "") if location else None
        date = event["date"]
        documents.append(
            {
                "id": event["id"],
                "title": event["title"],
                "summary": event["summary"],
                "visitor": None
                if visitor is None
                else visitor["actor"]
                | {
                    "role": visitor["role"],
                    "office": office_at(
                        offices.get(visitor["actor"]["id"], []), dt.date.fromisoformat(date["start"]), _day(date["end"])
                    ),
                },
                "host": host["actor"] if host else None,
                "destination": None
                if location is None
                else location
                | {
                    "coordinates": {"lon": place["lon"], "lat": place["lat"], "geonames": place.get("geonames")}
                    if place
                    else None
                },
                "date": date,
                "quantity": event["quantity"],
                "purpose": event["topics"],
                "events": parts.get(event["id"], []),
                "citations": event["citations"],
                "locators": event["locators"],
                "notes": event["notes"],
            }
        )
    # Validated against the documented model by its public field names (cheap at page sizes), serialised once.
    return _VISITS.dump_json(_VISITS.validate_python(documents, by_alias=False, by_name=True))
