"""Event exports: CSV, NDJSON, iCalendar and GeoJSON, written one row at a time.

Each writer turns an iterable of events into an iterable of text chunks, so a
StreamingResponse sends them in constant memory whatever the number of rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import orjson
import yaml
from icalendar import Event as CalendarEvent
from sqlalchemy import String, cast, func, select

from app.exports import Export
from app.models import Citation, Event, EventCitation, EventParticipant, EventTopic
from app.packaged import packaged_path


def _joined(expression: Any, where: Any, separator: str) -> Any:
    return select(func.aggregate_strings(expression, separator)).where(where).scalar_subquery()


def _text(column: Any) -> Any:
    # The database writes the ISO day: no date objects made and turned back into text for every row.
    return cast(column, String)


# The CSV columns, each declared once as (header, expression): one flat row per event, related ids joined
# in SQL, so no relationship loading and CSV streams fast. The first column is the row identity.
CSV: tuple[tuple[str, Any], ...] = (
    ("id", Event.id),
    ("type", Event.type),
    ("title", Event.title),
    ("date_edtf", Event.date_edtf),
    ("date_start", _text(Event.date_start)),
    ("date_end", _text(Event.date_end)),
    ("date_precision", Event.date_precision),
    ("date_approximate", Event.date_approximate),
    ("date_uncertain", Event.date_uncertain),
    ("location_name", Event.location_name),
    ("location_country", Event.location_country),
    (
        "participants",
        _joined(EventParticipant.actor_id + ":" + EventParticipant.role, EventParticipant.event_id == Event.id, ";"),
    ),
    ("topics", _joined(EventTopic.topic_id, EventTopic.event_id == Event.id, ";")),
    (
        "citation_urls",
        _joined(
            Citation.url,
            (EventCitation.event_id == Event.id)
            & (EventCitation.citation_id == Citation.id)
            & Citation.url.is_not(None),
            " ",
        ),
    ),
    ("quantity", Event.quantity),
    ("parent", Event.parent_id),
    ("summary", Event.summary),
)
CSV_COLUMNS = [header for header, _ in CSV]
CSV_SELECT = tuple(expression.label(header) for header, expression in CSV)


def _csv_row(row: Any) -> list[object]:
    return ["" if value is None else value for value in row]


def write_csv(events: Iterable[Any], header: Sequence[str] = CSV_COLUMNS) -> Iterator[str]:
    """CSV text chunks: ``header``, then one line per row (a sequence of cell values, None as empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield flush()
    for count, event in enumerate(events, 1):
        writer.writerow(_csv_row(event))
        if count % 200 == 0:  # fewer, larger chunks: each one costs a trip through the ASGI stack
            yield flush()
    yield flush()


# NDJSON, iCalendar and GeoJSON receive event documents (app.queries.event_documents), the same dicts
# the JSON pages carry.
Document = dict[str, Any]


def write_ndjson(events: Iterable[Document]) -> Iterator[str]:
    for event in events:
        yield orjson.dumps(event).decode() + "\n"


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def write_ical(events: Iterable[Document]) -> Iterator[str]:
    """All-day VEVENTs spanning the date bounds; imprecise dates are flagged, never narrowed."""
    yield "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//dipevents//events//EN\r\nCALSCALE:GREGORIAN\r\n"
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for event in events:
        date = event["date"]
        start, end = _day(date["start"]), _day(date["end"])
        entry = CalendarEvent()
        entry.add("uid", f"{event['id']}@dipevents")
        entry.add("dtstamp", stamp)
        entry.add("summary", event["title"])
        entry.add("dtstart", start)
        if end is not None:
            entry.add("dtend", end + dt.timedelta(days=1))  # DTEND is exclusive for all-day events
        description = event["summary"]
        if date["precision"] != "day" or date["approximate"] or date["uncertain"] or end is None:
            entry.add("status", "TENTATIVE")
            description = f"Date as stated: {date['edtf']} ({date['precision']} precision). {description}"
        entry.add("description", description)
        entry.add("x-dipevents-edtf", date["edtf"])
        entry.add("x-dipevents-precision", date["precision"])
        place = (event["location"] or {}).get("name")
        if place:
            entry.add("location", place)
        entry.add("categories", [event["type"], *(t["id"] for t in event["topics"])])
        yield entry.to_ical().decode()
    yield "END:VCALENDAR\r\n"


@lru_cache
def gazetteer() -> dict[str, dict[str, Any]]:
    """Place name -> {name, lon, lat, geonames}; only places a curator has checked.

    Read once from `app/exports/gazetteer.yaml`, shipped inside the package. Raises
    `app.packaged.PackagedFileMissing` when the file is not installed: an empty gazetteer would silently turn
    every GeoJSON export into an empty collection.
    """
    text = packaged_path("app.exports", "gazetteer.yaml").read_text(encoding="utf-8")
    return {place["name"]: place for place in yaml.safe_load(text)["places"]}


def write_geojson(events: Iterable[Document]) -> Iterator[str]:
    """A FeatureCollection of events whose place is in the gazetteer; others are left out, not guessed."""
    yield '{"type":"FeatureCollection","features":['
    first = True
    places = gazetteer()
    for event in events:
        place = places.get((event["location"] or {}).get("name") or "")
        if place is None:
            continue
        feature = {
            "type": "Feature",
            "id": event["id"],
            "geometry": {"type": "Point", "coordinates": [place["lon"], place["lat"]]},
            "properties": event,
        }
        yield ("" if first else ",") + orjson.dumps(feature).decode()
        first = False
    yield "]}\n"


EXPORTS: dict[str, Export] = {
    "csv": Export("text/csv; charset=utf-8", "csv", write_csv, CSV_SELECT),
    "ndjson": Export("application/x-ndjson", "ndjson", write_ndjson),
    "ics": Export("text/calendar; charset=utf-8", "ics", write_ical),
    "geojson": Export("application/geo+json", "geojson", write_geojson),
}
