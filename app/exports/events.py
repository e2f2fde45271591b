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
from typing import Callable, Iterable, Iterator

import yaml
from icalendar import Event as CalendarEvent

from app.models import Event
from app.schemas.events import EventOut

CSV_COLUMNS = [
    "id", "type", "title", "date_edtf", "date_start", "date_end", "date_precision", "date_approximate",
    "date_uncertain", "location_name", "location_country", "participants", "topics", "citation_urls",
    "quantity", "parent", "summary",
]


def _csv_row(event: Event) -> list[object]:
    return [
        event.id, event.type, event.title, event.date_edtf, event.date_start, event.date_end, event.date_precision,
        event.date_approximate, event.date_uncertain, event.location_name or "", event.location_country or "",
        ";".join(f"{p.actor_id}:{p.role}" for p in event.participants),
        ";".join(t.id for t in event.topics),
        " ".join(c.url for c in event.citations if c.url),
        "" if event.quantity is None else event.quantity,
        event.parent_id or "",
        event.summary,
    ]


def write_csv(events: Iterable[Event]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for event in events:
        writer.writerow(_csv_row(event))
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


EXPORTS: dict[str, tuple[str, Callable[[Iterable[Event]], Iterator[str]]]] = {
    "csv": ("text/csv; charset=utf-8", write_csv),
    "ndjson": ("application/x-ndjson", write_ndjson),
    "ics": ("text/calendar; charset=utf-8", write_ical),
    "geojson": ("application/geo+json", write_geojson),
}
