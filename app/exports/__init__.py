"""Streamed exports (events: CSV, NDJSON, iCalendar, GeoJSON; citations: CSL-JSON, RIS, BibLaTeX)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple


class Export(NamedTuple):
    """A streamed export format: its media type, the file extension of its operation's path and download
    name, and the writer turning rows into text chunks."""

    media_type: str
    extension: str
    write: Callable[[Iterable[Any]], Iterator[str]]
    # Flat columns to select instead of loading whole records (fast path for tabular formats).
    columns: tuple[Any, ...] | None = None
    # Text written after the last record, given the record count: the ending of a format that allows one
    # beyond its records' own syntax, so that a saved file shows whether the export was complete.
    ending: Callable[[int], str] | None = None


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
