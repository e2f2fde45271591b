"""Event exports: CSV, NDJSON, iCalendar and GeoJSON, written one row at a time.

Each writer turns an iterable of events into an iterable of text chunks, so a
StreamingResponse sends them in constant memory whatever the number of rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import orjson
import yaml
from icalendar import Event as CalendarEvent
from sqlalchemy import ColumnElement, String, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from app.exports import LIST_SEPARATOR, LIST_SEPARATOR_IN_URL, Export, ExportContext
from app.models import Citation, Event, EventCitation, EventParticipant, EventTopic
from app.packaged import packaged_path
from app.queries.filters import Param


class _OrderedJoin(ColumnElement[str]):
    """One ordered string aggregate, spelt per database (see :func:`_joined`)."""

    type = String()
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012  # SQLAlchemy's declared (list) type: what cache keys are made of
        ("ordered", InternalTraversal.dp_clauseelement),
        ("windowed", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, ordered: Any, windowed: Any) -> None:
        self.ordered, self.windowed = ordered, windowed


@compiles(_OrderedJoin)
def _ordered_join(element: _OrderedJoin, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.ordered, **kw))


@compiles(_OrderedJoin, "sqlite")
def _windowed_join(element: _OrderedJoin, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.windowed, **kw))


def _joined(expression: Any, where: Any, order: Any) -> Any:
    """The values of ``expression`` over the rows ``where`` selects, in ``order``, joined by LIST_SEPARATOR
    (NULL for none); a plain aggregate's order is unspecified on either database. PostgreSQL orders inside
    the aggregate (`string_agg(… ORDER BY …)`: 20k CSV rows in 0.8–1.0 s, as unordered, where a window cost
    ~25% more); SQLite before 3.44 cannot, so there a window over the whole ordered partition feeds the
    aggregate in that order (20k rows in 1.3–1.6 s, as unordered)."""
    order = order if isinstance(order, tuple) else (order,)
    # PostgreSQL's ORDER BY follows the aggregate's last argument, the separator.
    ordered = select(func.string_agg(expression, aggregate_order_by(literal(LIST_SEPARATOR), *order)))
    windowed = select(func.aggregate_strings(expression, LIST_SEPARATOR).over(order_by=order, rows=(None, None)))
    return _OrderedJoin(ordered.where(where).scalar_subquery(), windowed.where(where).limit(1).scalar_subquery())


def _text(column: Any) -> Any:
    # The database writes the ISO day: no date objects made and turned back into text for every row.
    return cast(column, String)


# The CSV columns, each declared once as (header, expression): one flat row per event, related ids joined
# in SQL in the order the JSON document lists them, so no relationship loading and CSV streams fast. The
# first column is the row identity.
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
        _joined(
            EventParticipant.actor_id + ":" + EventParticipant.role,
            EventParticipant.event_id == Event.id,
            (EventParticipant.ordinal, EventParticipant.actor_id, EventParticipant.role),
        ),
    ),
    ("topics", _joined(EventTopic.topic_id, EventTopic.event_id == Event.id, EventTopic.topic_id)),
    (
        "citation_urls",
        _joined(
            func.replace(Citation.url, LIST_SEPARATOR, LIST_SEPARATOR_IN_URL),
            (EventCitation.event_id == Event.id)
            & (EventCitation.citation_id == Citation.id)
            & Citation.url.is_not(None),
            (Citation.source_id, Citation.footnote, Citation.id),
        ),
    ),
    ("quantity", Event.quantity),
    ("parent", Event.parent_id),
    ("summary", Event.summary),
)
CSV_COLUMNS = [header for header, _ in CSV]
CSV_SELECT = tuple(expression.label(header) for header, expression in CSV)

ESCAPE_FORMULAS = Param(
    "escape_formulas",
    bool,
    True,
    "CSV only. `true` (default): a text cell that a spreadsheet would run as a formula (it begins with `=`, `+`, "
    "`-`, `@`, tab or carriage return, possibly after apostrophes) is written with one `'` in front (OWASP, "
    '"CSV injection"); to recover the text, remove one leading `\'` from such a cell. `false`: every cell exactly '
    "as stored, for programs that read the CSV as data.",
    False,
)
BOM = Param(
    "bom",
    bool,
    False,
    "CSV only. `true`: start with a UTF-8 byte order mark, so Excel reads accented names as UTF-8.",
    True,
)

# A cell a spreadsheet evaluates: it begins with a formula trigger, after any apostrophes (so that a cell
# already beginning with `'` followed by a trigger is escaped too, and removing one `'` always undoes it).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def _csv_row(row: Any, escape: bool) -> list[object]:
    return [
        "" if value is None else "'" + value if escape and isinstance(value, str) and _FORMULA.match(value) else value
        for value in row
    ]


def write_csv(events: Iterable[Any], context: ExportContext, header: Sequence[str] = CSV_COLUMNS) -> Iterator[str]:
    """CSV text chunks, RFC 4180: ``header``, then one line per row (a sequence of cell values, None as
    empty); CRLF line ends, fields quoted when they hold a comma, quote or line break. Options
    (``context.options``): `escape_formulas` (default on) and `bom` (default off)."""
    escape = bool(context.options.get(ESCAPE_FORMULAS.name, ESCAPE_FORMULAS.default))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    if context.options.get(BOM.name, BOM.default):
        buffer.write("\ufeff")
    writer.writerow(header)
    yield flush()
    for count, event in enumerate(events, 1):
        writer.writerow(_csv_row(event, escape))
        if count % 200 == 0:  # fewer, larger chunks: each one costs a trip through the ASGI stack
            yield flush()
    yield flush()


# NDJSON, iCalendar and GeoJSON receive event documents (app.queries.event_documents), the same dicts
# the JSON pages carry.
Document = dict[str, Any]


# Characters that JSON leaves raw but some line splitters (Python's str.splitlines, for one) end a line at:
# written as JSON escapes, the same string, so every reader sees one event per line.
_LINE_BREAKS_IN_STRINGS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def write_ndjson(events: Iterable[Document], context: ExportContext) -> Iterator[str]:
    """One event document (as the JSON pages carry it) per LF-terminated line, UTF-8."""
    for event in events:
        yield orjson.dumps(event).decode().translate(_LINE_BREAKS_IN_STRINGS) + "\n"


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


# RFC 5545 §3.3.11: TEXT may hold no control character but tab; line breaks are escaped (`\n`) by the
# icalendar library, the others (C0, DEL, C1 such as NEL, and the Unicode line and paragraph separators, which
# some readers take as line ends) are folded to a space here.
_ICAL_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def _ical_text(text: str) -> str:
    return _ICAL_CONTROLS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))


def write_ical(events: Iterable[Document], context: ExportContext) -> Iterator[str]:
    """All-day VEVENTs spanning the date bounds; imprecise dates are flagged, never narrowed. DTSTAMP is
    when the dataset last changed (``context.updated``), so the same URL and ETag give the same bytes.
    No match gives a VCALENDAR without any component: RFC 5545 §3.6 asks for at least one, but the only one
    this could write would be an invented event (README "Exports")."""
    yield "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//dipevents//events//EN\r\nCALSCALE:GREGORIAN\r\n"
    stamp = context.updated.astimezone(dt.UTC).replace(microsecond=0)
    for event in events:
        date = event["date"]
        start, end = _day(date["start"]), _day(date["end"])
        entry = CalendarEvent()
        entry.add("uid", f"{event['id']}@dipevents")
        entry.add("dtstamp", stamp)
        entry.add("summary", _ical_text(event["title"]))
        entry.add("dtstart", start)
        if end is not None and start is not None:
            if end < dt.date.max:
                entry.add("dtend", end + dt.timedelta(days=1))  # DTEND is exclusive for all-day events
            else:  # the day after 9999-12-31 has no DATE: the same span as a duration (RFC 5545 §3.6.1)
                entry.add("duration", end - start + dt.timedelta(days=1))
        description = event["summary"]
        if date["precision"] != "day" or date["approximate"] or date["uncertain"] or end is None:
            entry.add("status", "TENTATIVE")
            description = f"Date as stated: {date['edtf']} ({date['precision']} precision). {description}"
        entry.add("description", _ical_text(description))
        entry.add("x-dipevents-edtf", date["edtf"])
        entry.add("x-dipevents-precision", date["precision"])
        place = (event["location"] or {}).get("name")
        if place:
            entry.add("location", _ical_text(place))
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


def write_geojson(events: Iterable[Document], context: ExportContext) -> Iterator[str]:
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
    "csv": Export("text/csv; charset=utf-8", "csv", write_csv, CSV_SELECT, params=(ESCAPE_FORMULAS, BOM)),
    "ndjson": Export("application/x-ndjson", "ndjson", write_ndjson),
    "ics": Export("text/calendar; charset=utf-8", "ics", write_ical),
    "geojson": Export("application/geo+json", "geojson", write_geojson),
}
