"""Streamed exports (events: CSV, NDJSON, iCalendar, GeoJSON; citations: CSL-JSON, RIS, BibLaTeX).

What each format guarantees (what it neutralises, its encoding and line ends) is listed in the README,
"Exports"; the writers live in events.py and citations.py, the text rules they share here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

from app.problems import bad_parameter
from app.queries.filters import Param


@dataclass(frozen=True)
class ExportContext:
    """What a writer knows besides its rows: when the dataset last changed (UTC, the `Last-Modified` of
    the response, so a representation is byte-stable for its ETag) and the request's validated query
    parameters as a dict (a format's own options among them)."""

    updated: dt.datetime
    options: Mapping[str, Any] = field(default_factory=dict)


class Export(NamedTuple):
    """A streamed export format: its media type, the file extension of its operation's path and download
    name, the writer turning rows into text chunks, and the query parameters only this format reads
    (declared once here; its export operation and the list's `format=` take them)."""

    media_type: str
    extension: str
    write: Callable[[Iterable[Any], ExportContext], Iterator[str]]
    # Flat columns to select instead of loading whole records (fast path for tabular formats).
    columns: tuple[Any, ...] | None = None
    # Text written after the last record, given the record count: the ending of a format that allows one
    # beyond its records' own syntax, so that a saved file shows whether the export was complete.
    ending: Callable[[int], str] | None = None
    params: tuple[Param, ...] = ()


def format_options(formats: Mapping[str, Export]) -> tuple[Param, ...]:
    """Every format-specific parameter of ``formats``, once each (for the list's query model)."""
    return tuple({p.name: p for export in formats.values() for p in export.params}.values())


def require_options_apply(chosen: str, formats: Mapping[str, Export], given: Collection[str]) -> None:
    """A 400 naming a format's option given (``given``: the query's parameter names, whatever their values)
    on a request answered in another format ("json" or a key of ``formats``): an option that cannot apply is
    refused, never ignored, even when it repeats its default."""
    own = {p.name for p in formats[chosen].params} if chosen in formats else set()
    for param in format_options(formats):
        if param.name not in own and param.name in given:
            owners = ", ".join(name for name, export in formats.items() if param in export.params)
            raise bad_parameter(param.name, f"applies only to format={owners}, not {chosen}")


# One separator for every multi-valued CSV column, of every CSV export. Ids, roles and locators never
# contain it; a URL may (RFC 3986 does not allow it unescaped), so there it is written `%7C`, the same URL.
LIST_SEPARATOR = "|"
LIST_SEPARATOR_IN_URL = "%7C"


def list_cell(items: Iterable[str]) -> str:
    """A multi-valued CSV cell: ``items`` (ids, locators, URLs, none holding LIST_SEPARATOR but URLs, whose
    separator becomes `%7C`) joined by LIST_SEPARATOR, in the order given; "" for none. The event CSV joins
    its lists in SQL with the same two constants (app.exports.events)."""
    return LIST_SEPARATOR.join(item.replace(LIST_SEPARATOR, LIST_SEPARATOR_IN_URL) for item in items)


# Characters that end a line for some reader: C0 and C1 controls (CR, LF, VT, FF, NEL…; str.splitlines()
# splits on several of them) and the Unicode line and paragraph separators. Tab is a control too.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def fold_controls(text: str) -> str:
    """``text`` with every control character and line or paragraph separator (tab, CR, LF, NEL, U+2028…)
    replaced by one space: for line-based formats (RIS) and LaTeX, where such a character either ends a
    record early or is not text."""
    return _CONTROLS.sub(" ", text)


# RFC 3986 §2: what may appear in a URI as it is (unreserved, reserved, and `%` of existing escapes).
_URI_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


def uri(url: str, also: str = "") -> str:
    """``url`` with every character RFC 3986 does not allow in a URI (space, `"<>\\^`{|}`, controls,
    non-ASCII, which RFC 3987 §3.1 maps as UTF-8) percent-encoded, as a browser sends it; and the
    characters of ``also`` too (a format's own separators). Existing escapes are kept, so
    `unquote(uri(u)) == unquote(u)`."""
    return quote(url, safe="".join(c for c in _URI_SAFE if c not in also))


EXAMPLES: dict[str, Any] = {
    "text/csv": "id,type,title,date_edtf,date_start,date_end,...\nkhan-trump-summit-2019-07-22,meeting,...",
    "application/x-ndjson": '{"id":"khan-trump-summit-2019-07-22","type":"meeting",...}\n',
    "text/calendar": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:...\r\nDTSTART;VALUE=DATE:20190722\r\n...",
    "application/geo+json": {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [9.8372, 46.8043]},
                "properties": {"id": "khan-trump-meeting-davos-2020-01-21"},
            }
        ],
    },
    "application/vnd.citationstyles.csl+json": [
        {
            "id": "dawn-2019-07-23-india-denies-modi-asked-trump-to-mediate",
            "type": "article-newspaper",
            "title": "India denies Modi asked Trump to mediate Kashmir dispute",
        }
    ],
    "application/x-research-info-systems": "TY  - NEWS\nTI  - India denies Modi asked Trump to mediate Kashmir dispute\n...\nER  - \n",
    "application/x-bibtex": "@article{dawn-2019-07-23-...,\n title = {India denies ...},\n ...\n}\n",
}


JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/vnd.citationstyles.csl+json": {
        "type": "array",
        "items": {
            "type": "object",
            "description": "A CSL-JSON item (https://citeproc-js.readthedocs.io/en/latest/csl-json/markup.html).",
            "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}},
            "required": ["id", "type", "title"],
            "additionalProperties": True,
        },
    },
    "application/geo+json": {
        "type": "object",
        "description": "A GeoJSON FeatureCollection (RFC 7946); each feature's properties are the event document.",
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "id": {"type": "string"},
                        "geometry": {
                            "type": "object",
                            "properties": {
                                "type": {"type": "string", "enum": ["Point"]},
                                "coordinates": {"type": "array", "items": {"type": "number"}},
                            },
                            "required": ["type", "coordinates"],
                        },
                        "properties": {"$ref": "#/components/schemas/EventOut"},
                    },
                    "required": ["type", "id", "geometry", "properties"],
                },
            },
        },
        "required": ["type", "features"],
    },
}


def export_response(export: Export) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: the one media type an export operation answers with (a generated client reads it as text
    or bytes)."""
    bare = export.media_type.split(";")[0]
    content = {bare: {"schema": JSON_SCHEMAS.get(bare, {"type": "string"}), "example": EXAMPLES.get(bare, "")}}
    return {200: {"content": content, "description": "Every match, streamed in list order."}}
