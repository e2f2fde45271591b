"""Visit exports: CSV in the columns of a travel table (one row per visit record, like the US Office of the
Historian's travels data: traveller, country, locale, start, end, remarks), and NDJSON of the visit documents.

Both write the visit documents (app.queries.visit_documents), so the CSV says exactly what the JSON says."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from app.exports import Export, ExportContext, list_cell
from app.exports.events import BOM, ESCAPE_FORMULAS, write_csv, write_ndjson

Visit = dict[str, Any]


def _locator(locator: Visit) -> str:
    cited = f"{locator['source']}, {locator['section']}"
    if locator["paragraph"] is not None:
        cited += f" ¶{locator['paragraph']}"
    if locator["footnote"] is not None:
        cited += f", note {locator['footnote']}"
    return cited


def _sources(visit: Visit) -> str:
    # Where the brief states it, then the footnoted documents: their URL, else their citation id (a title may
    # hold the list separator, which text has no escape for).
    return list_cell([*map(_locator, visit["locators"]), *(c["url"] or c["id"] for c in visit["citations"])])


def _visitor(field: str) -> Callable[[Visit], Any]:
    return lambda v: (v["visitor"] or {}).get(field)


def _office(visit: Visit) -> str | None:
    office = (visit["visitor"] or {}).get("office")
    return office["label"] if office else None


# (header, value of a visit document), in order; the first is the row identity.
CSV: tuple[tuple[str, Callable[[Visit], Any]], ...] = (
    ("id", lambda v: v["id"]),
    ("traveller", _visitor("name")),
    ("traveller_id", _visitor("id")),
    ("traveller_office", _office),
    ("host", lambda v: (v["host"] or {}).get("name")),
    ("country", lambda v: (v["destination"] or {}).get("country")),
    ("locale", lambda v: (v["destination"] or {}).get("name")),
    ("start", lambda v: v["date"]["start"]),
    ("end", lambda v: v["date"]["end"]),
    ("precision", lambda v: v["date"]["precision"]),
    ("edtf", lambda v: v["date"]["edtf"]),
    ("quantity", lambda v: v["quantity"] or 1),  # visits this row stands for (a travel table counts rows as trips)
    ("remarks", lambda v: v["summary"]),
    ("sources", _sources),
)
CSV_COLUMNS = [header for header, _ in CSV]


def write_visits_csv(visits: Iterable[Visit], context: ExportContext) -> Iterator[str]:
    """One CSV row per visit record (a record standing for several visits stays one row, with `quantity`),
    with the event CSV's guarantees and options (app.exports.events.write_csv)."""
    rows = ([value(visit) for _, value in CSV] for visit in visits)
    return write_csv(rows, context, CSV_COLUMNS)


VISIT_EXPORTS: dict[str, Export] = {
    "csv": Export("text/csv; charset=utf-8", "csv", write_visits_csv, params=(ESCAPE_FORMULAS, BOM)),
    "ndjson": Export("application/x-ndjson", "ndjson", write_ndjson),
}
