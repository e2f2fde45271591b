"""Event exports: CSV, NDJSON, iCalendar and GeoJSON, written one row at a time.

Each writer turns an iterable of events into an iterable of text chunks, so a
StreamingResponse sends them in constant memory whatever the number of rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml
from icalendar import Event as CalendarEvent
from sqlalchemy import func, select

from app.exports import Export
from app.models import Citation, Event, EventCitation, EventParticipant, EventTopic
from app.schemas.events import EventOut

CSV_COLUMNS = [
    "id", "type", "title", "date_edtf", "date_start", "date_end", "date_precision", "date_approximate",
    "date_uncertain", "location_name", "location_country", "participants", "topics", "citation_urls",
    "quantity", "parent", "summary",
]


def _joined(expression: Any, where: Any, separator: str) -> Any:
    return select(func.aggregate_strings(expression, separator)).where(where).scalar_subquery()


# One flat row per event, related ids joined in SQL: no relationship loading, so CSV streams fast.
CSV_SELECT = (
    Event.id, Event.type, Event.title, Event.date_edtf, Event.date_start, Event.date_end, Event.date_precision,
    Event.date_approximate, Event.date_uncertain, Event.location_name, Event.location_country,
    _joined(EventParticipant.actor_id + ":" + EventParticipant.role, EventParticipant.event_id == Event.id, ";"),
    _joined(EventTopic.topic_id, EventTopic.event_id == Event.id, ";"),
    _joined(
        Citation.url,
        (EventCitation.event_id == Event.id) & (EventCitation.citation_id == Citation.id) & Citation.url.is_not(None),
        " ",
    ),
    Event.quantity, Event.parent_id, Event.summary,
)


def _csv_row(row: Any) -> list[object]:
    return ["" if value is None else value for value in row[: len(CSV_COLUMNS)]]


def write_csv(events: Iterable[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for count, event in enumerate(events, 1):
        writer.writerow(_csv_row(event))
        if count % 200 == 0:  # fewer, larger chunks: each one costs a trip through the ASGI stack
            yield flush()
    yield flush()


def write_ndjson(events: Iterable[Event]) -> Iterator[str]:
    for event in events:
        yield EventOut.from_row(event).model_dump_json() + "\n"


def write_ical(events: Iterable[Event]) -> Iterator[str]:
    """All-day VEVENTs spanning the date bounds; imprecise dates are flagged, never narrowed."""
    yield "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//dipevents//events//EN\r\nCALSCALE:GREGORIAN\r\n"
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for event in events:
        entry = CalendarEvent()
        entry.add("uid", f"{event.id}@dipevents")
        entry.add("dtstamp", stamp)
        entry.add("summary", event.title)
        entry.add("dtstart", event.date_start)
        if event.date_end is not None:
            entry.add("dtend", event.date_end + dt.timedelta(days=1))  # DTEND is exclusive for all-day events
        description = event.summary
        if event.date_precision != "day" or event.date_approximate or event.date_uncertain or event.date_end is None:
            entry.add("status", "TENTATIVE")
            description = f"Date as stated: {event.date_edtf} ({event.date_precision} precision). {description}"
        entry.add("description", description)
        entry.add("x-dipevents-edtf", event.date_edtf)
        entry.add("x-dipevents-precision", event.date_precision)
        if event.location_name:
            entry.add("location", event.location_name)
        entry.add("categories", [event.type, *(t.id for t in event.topics)])
        yield entry.to_ical().decode()
    yield "END:VCALENDAR\r\n"


GAZETTEER = Path(__file__).resolve().parent / "gazetteer.yaml"


@lru_cache
def gazetteer() -> dict[str, dict]:
    """Place name -> {lon, lat, geonames}; only places a curator has checked."""
    if not GAZETTEER.exists():
        return {}
    return {place["name"]: place for place in yaml.safe_load(GAZETTEER.read_text())["places"]}


def write_geojson(events: Iterable[Event]) -> Iterator[str]:
    """A FeatureCollection of events whose place is in the gazetteer; others are left out, not guessed."""
    yield '{"type":"FeatureCollection","features":['
    first = True
    places = gazetteer()
    for event in events:
        place = places.get(event.location_name or "")
        if place is None:
            continue
        feature = {
            "type": "Feature",
            "id": event.id,
            "geometry": {"type": "Point", "coordinates": [place["lon"], place["lat"]]},
            "properties": json.loads(EventOut.from_row(event).model_dump_json()),
        }
        yield ("" if first else ",") + json.dumps(feature, separators=(",", ":"))
        first = False
    yield "]}\n"


EXPORTS: dict[str, Export] = {
    "csv": Export("text/csv; charset=utf-8", write_csv, CSV_SELECT),
    "ndjson": Export("application/x-ndjson", write_ndjson),
    "ics": Export("text/calendar; charset=utf-8", write_ical),
    "geojson": Export("application/geo+json", write_geojson),
}
