"""Every export survives the tool it targets, on both databases.

Generated records full of hostile text (quotes, separators, line breaks, leading `=`/`@`, LaTeX and RIS
control sequences, directional marks, emoji, combining characters) with dates at the ends of the calendar
are loaded into a real database, exported, parsed with the target format's own parser (csv and pandas,
json, icalendar, rispy, pybtex) and compared with what the JSON API says about the same records. The
comparisons state each format's documented guarantees (README, "Exports"): what is exact, and what is
folded or escaped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import icalendar
import pandas as pd
import pytest
import rispy
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pybtex.database import parse_string
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from app import vocab
from app.db import make_engine, session_factory
from app.importers.bundle import import_bundle, read_bundle
from app.main import create_app
from app.migrate import upgrade
from app.schemas.bundle import is_blank
from app.settings import Settings
from tests.helpers import ROOT

Loader = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def exporter(databases) -> Iterator[tuple[TestClient, Loader]]:
    """The app over a migrated database of the run's backend, and a loader that replaces its whole dataset
    with a bundle (as `dipevents load --replace` does) in one transaction."""
    url = databases.new()
    upgrade(url)
    engine = make_engine(url)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))

    def load(bundle: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bundle.json"
            path.write_text(json.dumps(bundle))
            with session_factory(engine).begin() as session:
                import_bundle(session, read_bundle(path), replace=True)

    with TestClient(app) as client:
        yield client, load
    app.state.engine.dispose()
    engine.dispose()


# ------------------------------------------------------------------------------------------ generation

HOSTILE = [
    '"',
    "'",
    ",",
    ";",
    "|",
    ":",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\u2028",
    "\u2029",
    "=",
    "+",
    "-",
    "@",
    "'=",
    '=HYPERLINK("http://evil.example","x")',
    "@SUM(1+1)",
    "-2+3",
    "ER  - ",
    "\nER  - \nTY  - JOUR\n",
    "TY  - ",
    "1.",
    "\\",
    "C:\\imports",
    "{",
    "}",
    "}{",
    "$",
    "%",
    "&",
    "#",
    "_",
    "^",
    "~",
    "\\textbf{x}",
    "\\end{document}",
    "--",
    "---",
    "``",
    "''",
    "!`",
    "?`",
    ",,",
    "<<",
    " and ",
    " AND ",
    "and",
    "\u00a0",
    "\u200f",
    "\u202e",
    "\u200d",
    "😀",
    "🇵🇰",
    "e\u0301",
    "\u0915\u094d\u0937",
    "Zürich",
    "نواز شریف",
    "ß",
    "BEGIN:VEVENT",
    "END:VCALENDAR",
    "@article{x,",
    "  ",
]
# Any character a record may hold: no lone surrogate, and of the control characters only tab, CR and LF (the bundle
# schemas refuse the others, C0, DEL and C1, app.schemas.bundle); U+2028/U+2029 are text. Not blank: a title, a
# name or a label must hold more than whitespace.
_CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)])
_free = st.text(st.characters(exclude_categories=("Cs",), exclude_characters=_CONTROLS), max_size=4)
# Visible text: the schemas refuse blank titles, names and labels (app.schemas.bundle.is_blank).
hostile = (
    st.lists(st.one_of(st.sampled_from(HOSTILE), _free), min_size=1, max_size=6)
    .map("".join)
    .filter(lambda text: not is_blank(text))
)

# Dates at the ends of the calendar and its leap days, imprecise and open-ended ones.
EVENT_DATES = [
    "0001-01-01",
    "0001",
    "0001-01",
    "9999-12-31",
    "9999",
    "9999-12",
    "2020-02-29",
    "2000-02-29/2000-03-01",
    "2019-07~",
    "2018?/2020?",
    "2021-06-10/..",
    "9999-12-31/..",
    "0001-01-01/9999-12-31",
    "2019-07-21/2019-07-23",
]
CITATION_DATES = [None, "0001-01-01", "0001", "9999-12-31", "9999-12", "2020-02-29", "2019-07~", "../2020", "2019/.."]
GAZETTEER = {
    place["name"]: [place["lon"], place["lat"]]
    for place in yaml.safe_load((ROOT / "app" / "exports" / "gazetteer.yaml").read_text())["places"]
}
SOURCE = {"id": "src", "title": "Generated", "sections": [{"key": "body", "title": "Body", "paragraphs": 9}]}


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


names = st.one_of(
    st.fixed_dictionaries({"literal": hostile}),
    st.fixed_dictionaries({"family": hostile}, optional={"given": hostile}),
)
citation_records = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(vocab.CSL_TYPES),
            "title": hostile,
            "container_title": optional(hostile),
            "publisher": optional(hostile),
            "authors": st.lists(names, max_size=3),
            "issued": st.sampled_from(CITATION_DATES),
            "url": optional(hostile.map(lambda t: "https://example.org/" + t)),
            "accessed": optional(st.sampled_from(["0001-01-01", "2020-02-29", "9999-12-31"])),
        }
    ),
    min_size=1,
    max_size=4,
)


@st.composite
def event_bundles(draw: st.DrawFn) -> dict[str, Any]:
    citations = [
        {"id": f"cite-{n}", "source": "src", "footnote": n, **{k: v for k, v in record.items() if v is not None}}
        for n, record in enumerate(draw(citation_records), 1)
    ]
    actors = [
        {"id": f"actor-{i}", "name": draw(hostile), "kind": draw(st.sampled_from(list(vocab.ACTOR_KINDS)))}
        for i in range(4)
    ]
    topics = [{"id": f"topic-{c}", "label": draw(hostile)} for c in "abc"]
    pairs = st.tuples(st.sampled_from([a["id"] for a in actors]), st.sampled_from(list(vocab.ROLES)))
    events = []
    for i in range(draw(st.integers(1, 4))):
        place = draw(optional(st.one_of(st.sampled_from(sorted(GAZETTEER)), hostile)))
        footnotes = draw(st.lists(st.integers(1, len(citations)), min_size=1, max_size=3, unique=True))
        events.append(
            {
                "id": f"event-{i}",
                "type": draw(st.sampled_from(list(vocab.EVENT_TYPES))),
                "title": draw(hostile),
                "summary": draw(hostile),
                "date": draw(st.sampled_from(EVENT_DATES)),
                "location": None if place is None else {"name": place, "country": "PK"},
                # Drawn order, not alphabetical: the JSON keeps it and so must every export.
                "participants": [
                    {"actor": a, "role": r}
                    for a, r in draw(st.lists(pairs, min_size=1, max_size=4, unique_by=lambda p: p))
                ],
                "topics": draw(
                    st.lists(st.sampled_from([t["id"] for t in topics]), min_size=1, max_size=3, unique=True)
                ),
                "locators": [{"source": "src", "section": "body", "footnote": n} for n in footnotes],
            }
        )
    return {"sources": [SOURCE], "citations": citations, "actors": actors, "topics": topics, "events": events}


PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


# ------------------------------------------------------------------------------------ what is expected


def fold(text: str) -> str:
    """The documented folding of RIS and BibLaTeX: controls and line/paragraph separators become spaces."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text)


def latex_text(text: str) -> str:
    """Text as LaTeX typesets it: whitespace runs are one space, canonically composed (NFC)."""
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", text)).strip()


def ical_text(text: str) -> str:
    """The documented iCalendar text: CR LF and CR are line breaks, other controls but tab (C0, DEL, C1) and the
    Unicode line and paragraph separators are spaces."""
    folded = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]", " ", text.replace("\r\n", "\n"))
    return folded.replace("\r", "\n")


def events_json(client: TestClient) -> list[dict[str, Any]]:
    body = client.get("/v1/events", params={"limit": 500})
    assert body.status_code == 200, body.text
    return body.json()["items"]


def citations_json(client: TestClient) -> list[dict[str, Any]]:
    body = client.get("/v1/citations", params={"limit": 500})
    assert body.status_code == 200, body.text
    return body.json()["items"]


def export(client: TestClient, path: str, **params: Any) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.content.decode("utf-8")


# ------------------------------------------------------------------------------------------ event exports

FORMULA = re.compile(r"'*[=+\-@\t\r]")


def unescape_cell(cell: str) -> str:
    """Undo `escape_formulas` as the README says: drop one leading `'` from a cell that would be a formula."""
    return cell[1:] if cell.startswith("'") and FORMULA.match(cell[1:]) else cell


@PROPERTY
@given(bundle=event_bundles(), escape=st.booleans(), bom=st.booleans())
def test_csv_round_trips_through_csv_readers_and_pandas(exporter, bundle, escape, bom):
    client, load = exporter
    load(bundle)
    text = export(client, "/v1/events/export.csv", escape_formulas=escape, bom=bom)
    assert text.startswith("\ufeff") == bom
    text = text.removeprefix("\ufeff")
    # RFC 4180: outside quoted fields every line ends in CR LF, and nothing else breaks a line.
    outside = re.sub(r'"(?:[^"]|"")*"', "", text)
    assert outside.endswith("\r\n") and outside.count("\n") == outside.count("\r\n") == outside.count("\r")
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    docs = events_json(client)
    assert [row[0] for row in rows] == [d["id"] for d in docs]
    for row, doc in zip(rows, docs, strict=True):
        cells = dict(zip(header, row, strict=True))
        if escape:  # no cell a spreadsheet would evaluate
            assert not any(re.match(r"[=+\-@\t\r]", cell) for cell in row), row
        read = unescape_cell if escape else (lambda cell: cell)
        assert read(cells["title"]) == doc["title"]
        assert read(cells["summary"]) == doc["summary"]
        assert read(cells["location_name"]) == ((doc["location"] or {}).get("name") or "")
        assert (cells["date_edtf"], cells["date_start"], cells["date_end"]) == (
            doc["date"]["edtf"],
            doc["date"]["start"],
            doc["date"]["end"] or "",
        )
        # One separator, and the JSON's order (participants as listed, not alphabetical).
        assert cells["participants"].split("|") == [f"{p['actor']['id']}:{p['role']}" for p in doc["participants"]]
        assert cells["topics"].split("|") == [t["id"] for t in doc["topics"]]
        urls = [c["url"] for c in doc["citations"] if c["url"] is not None]
        listed = cells["citation_urls"].split("|") if cells["citation_urls"] else []
        assert [unquote(u) for u in listed] == [unquote(u) for u in urls]
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(frame["id"]) == [d["id"] for d in docs]
    assert [read(t) for t in frame["title"]] == [d["title"] for d in docs]


@PROPERTY
@given(bundle=event_bundles())
def test_ndjson_is_one_json_api_document_per_line_whatever_splits_the_lines(exporter, bundle):
    client, load = exporter
    load(bundle)
    text = export(client, "/v1/events/export.ndjson")
    docs = events_json(client)
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.split("\n")[:-1]] == docs
    assert [json.loads(line) for line in text.splitlines()] == docs  # U+2028, U+0085… are escaped


@PROPERTY
@given(bundle=event_bundles())
def test_icalendar_round_trips_through_icalendar(exporter, bundle):
    client, load = exporter
    load(bundle)
    text = export(client, "/v1/events/export.ics")
    assert all(line.endswith("\r") for line in text.split("\n")[:-1]) and text.endswith("\r\n")
    calendar = icalendar.Calendar.from_ical(text)
    entries = calendar.walk("VEVENT")
    docs = events_json(client)
    assert [str(e["uid"]) for e in entries] == [f"{d['id']}@dipevents" for d in docs]
    for entry, doc in zip(entries, docs, strict=True):
        assert str(entry["summary"]) == ical_text(doc["title"])
        assert str(entry["description"]).endswith(ical_text(doc["summary"]))
        place = (doc["location"] or {}).get("name")
        assert (str(entry["location"]) if "location" in entry else None) == (ical_text(place) if place else None)
        start = dt.date.fromisoformat(doc["date"]["start"])
        assert entry.decoded("dtstart") == start
        if doc["date"]["end"] is None:
            assert "dtend" not in entry and "duration" not in entry and str(entry["status"]) == "TENTATIVE"
            continue
        end = dt.date.fromisoformat(doc["date"]["end"])
        if end == dt.date.max:  # no DATE follows 9999-12-31: the same span as a duration
            assert "dtend" not in entry and entry.decoded("duration") == end - start + dt.timedelta(days=1)
        else:
            assert entry.decoded("dtend") == end + dt.timedelta(days=1)
        assert str(entry["x-dipevents-edtf"]) == doc["date"]["edtf"]


@PROPERTY
@given(bundle=event_bundles())
def test_geojson_features_are_the_json_api_documents_of_located_events(exporter, bundle):
    client, load = exporter
    load(bundle)
    collection = json.loads(export(client, "/v1/events/export.geojson"))
    located = [d for d in events_json(client) if (d["location"] or {}).get("name") in GAZETTEER]
    assert collection["type"] == "FeatureCollection"
    assert [f["properties"] for f in collection["features"]] == located
    assert [f["geometry"]["coordinates"] for f in collection["features"]] == [
        GAZETTEER[d["location"]["name"]] for d in located
    ]


# --------------------------------------------------------------------------------------- citation exports


@PROPERTY
@given(bundle=event_bundles())
def test_csl_json_is_the_json_api_csl_items(exporter, bundle):
    client, load = exporter
    load(bundle)
    assert json.loads(export(client, "/v1/citations/export.json")) == [c["csl"] for c in citations_json(client)]


# Every tag of the RIS specification (Research Information Systems; the tags Zotero and EndNote read).
RIS_TAGS = set(
    [
        "TY",
        "A1",
        "A2",
        "A3",
        "A4",
        "AB",
        "AD",
        "AN",
        "AU",
        "AV",
        "BT",
        "C1",
        "C2",
        "C3",
        "C4",
        "C5",
        "C6",
        "C7",
        "C8",
        "CA",
        "CN",
        "CP",
        "CT",
        "CY",
        "DA",
        "DB",
        "DO",
        "DP",
        "ED",
        "EP",
        "ET",
        "ID",
        "IS",
        "J1",
        "J2",
        "JA",
        "JF",
        "JO",
        "KW",
        "L1",
        "L2",
        "L3",
        "L4",
        "LA",
        "LB",
        "LK",
        "M1",
        "M2",
        "M3",
        "N1",
        "N2",
        "NV",
        "OP",
        "PB",
        "PP",
        "PY",
        "RI",
        "RN",
        "RP",
        "SE",
        "SN",
        "SP",
        "ST",
        "T1",
        "T2",
        "T3",
        "TA",
        "TI",
        "TT",
        "U1",
        "U2",
        "U3",
        "U4",
        "U5",
        "UR",
        "VL",
        "VO",
        "Y1",
        "Y2",
        "ER",
    ]
)


def ris_names(authors: list[dict[str, Any]]) -> list[tuple[bool, tuple[str, ...]]]:
    """Authors as the README says `AU` holds them, folded, empty ones left out: ``(True, (name,))`` for an
    organisation, ``(False, (family, given))`` (the parts present) for a person."""
    names: list[tuple[bool, tuple[str, ...]]] = []
    for author in authors:
        if literal := fold(author.get("literal") or "").strip():
            names.append((True, (literal,)))
            continue
        parts = tuple(p for p in (fold(author.get(k) or "").strip() for k in ("family", "given")) if p)
        if parts:
            names.append((False, parts))
    return names


def read_ris_name(value: str) -> tuple[str, ...]:
    """An `AU` value read as the corporate-author convention says (EndNote, Biblioscape): a trailing comma marks
    one organisation's whole name; otherwise `Last, First` split at the first comma."""
    if value.endswith(","):
        return (value[:-1],)
    return tuple(value.split(", ", 1))


@PROPERTY
@given(bundle=event_bundles())
def test_ris_has_one_record_per_citation_and_round_trips_through_rispy(exporter, bundle):
    client, load = exporter
    load(bundle)
    text = export(client, "/v1/citations/export.ris")
    api = citations_json(client)
    lines = text.split("\n")[:-1]
    # Every line is a standard tag and its value: no `1.` headers, no continuation line a value could start.
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line) for line in lines), lines
    assert {line[:2] for line in lines} <= RIS_TAGS
    assert sum(line == "ER  - " for line in lines) == sum(line.startswith("TY  - ") for line in lines) == len(api)
    records = rispy.loads(text)
    assert [r["id"] for r in records] == [c["id"] for c in api]
    for record, citation in zip(records, api, strict=True):
        assert record["title"] == fold(citation["title"]).strip()
        authors, expected = record.get("authors", []), ris_names(citation["authors"])
        assert len(authors) == len(expected)  # one AU per author: no organisation is read as several people
        for value, (organisation, parts) in zip(authors, expected, strict=True):
            # An organisation comes back whole, commas and all. A comma inside a person's family or given name has
            # no RIS spelling (`Last, First, Suffix`): only the count is guaranteed for those.
            if organisation or not any("," in p for p in parts):
                assert read_ris_name(value) == parts
        for key, field in (("secondary_title", "container_title"), ("publisher", "publisher")):
            assert record.get(key) == (fold(citation[field]).strip() if citation[field] else None)
        assert [unquote(u) for u in record.get("urls", [])] == ([unquote(citation["url"])] if citation["url"] else [])
        issued = citation["issued"]
        if issued and issued["start"]:
            assert record["year"] == issued["start"][:4] and record["date"].startswith(issued["start"][:4] + "/")


def _decoder() -> LatexNodes2Text:
    # pylatexenc's LaTeX-to-text, taught four text symbols of the LaTeX font encodings it does not know.
    context = get_default_latex_context_db()
    context.add_context_category(
        "text-symbols",
        macros=[
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
            MacroTextSpec("textquotedbl", '"'),
            MacroTextSpec("textasciicircum", "^"),
        ],
        prepend=True,
    )
    return LatexNodes2Text(latex_context=context, math_mode="verbatim")


DECODER = _decoder()


def decoded(latex: str) -> str:
    return latex_text(DECODER.latex_to_text(latex))


def expected_persons(authors: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Per author with text, as LaTeX typesets it: (name,) for an organisation or a one-part name, else
    (family, given)."""
    persons: list[tuple[str, ...]] = []
    for author in authors:
        if literal := fold(author.get("literal") or "").strip():
            persons.append((latex_text(literal),))
            continue
        parts = tuple(p for p in (latex_text(fold(author.get(k) or "")) for k in ("family", "given")) if p)
        if parts:
            persons.append(parts)
    return persons


def parsed_person(person: Any, parts: int) -> tuple[str, ...]:
    """pybtex's reading of a name: its whole text, or (von + last, first + middle)."""
    if parts == 1:
        words = person.first_names + person.middle_names + person.prelast_names + person.last_names
        return (decoded(" ".join(words + person.lineage_names)),)
    return (
        decoded(" ".join(person.prelast_names + person.last_names)),
        decoded(" ".join(person.first_names + person.middle_names)),
    )


# BibLaTeX's literal list fields (biblatex manual §2.2.2 "Data types", list fields): biber splits each at `and`.
LIST_FIELDS = {"organization", "publisher", "institution", "location", "language", "origlanguage"}


def biber_list(value: str) -> list[str]:
    """The items biber reads in a list field's value: split at `and` (any case) between white space, where
    no brace is open (BibTeX counts every brace, escaped or not)."""
    depth, masked = 0, []
    for char in value:
        depth += char == "{"
        masked.append(char if depth == 0 else "x")
        depth -= char == "}"
    items, start = [], 0
    for separator in re.finditer(r"\s+and\s+", "".join(masked), re.IGNORECASE):
        items.append(value[start : separator.start()])
        start = separator.end()
    return [*items, value[start:]]


@PROPERTY
@given(bundle=event_bundles())
def test_biblatex_parses_with_pybtex_into_the_right_persons_and_the_original_text(exporter, bundle):
    client, load = exporter
    load(bundle)
    text = export(client, "/v1/citations/export.bib")
    api = citations_json(client)
    entries = parse_string(text, "bibtex").entries
    assert list(entries) == [c["id"] for c in api]
    for citation in api:
        entry = entries[citation["id"]]
        assert decoded(entry.fields["title"]) == latex_text(fold(citation["title"]))
        persons = entry.persons.get("author", [])
        wanted = expected_persons(citation["authors"])
        assert len(persons) == len(wanted)  # an organisation is one person, never several
        assert [parsed_person(p, len(w)) for p, w in zip(persons, wanted, strict=True)] == wanted
        # @article: the container is `journaltitle` (the publisher only without one); @online: `organization`
        # is the publisher, else the container.
        if entry.type == "article":
            field, text = "journaltitle", citation["container_title"]
        else:
            field, text = "organization", citation["publisher"] or citation["container_title"]
        if text:
            assert decoded(entry.fields[field]) == latex_text(fold(text))
        for name in set(entry.fields) & LIST_FIELDS:  # whatever ` and `, braces or specials the name holds
            assert len(biber_list(entry.fields[name])) == 1
        if citation["url"]:
            assert unquote(entry.fields["url"]) == unquote(citation["url"])


# --------------------------------------------------------------------- the examples, as tests

ORGANISATION = "Ministry of Foreign Affairs and Overseas Pakistanis and Human Rights Division"
EXAMPLE = {
    "sources": [SOURCE],
    "actors": [
        {"id": "zed", "name": "Zed", "kind": "person"},
        {"id": "alpha", "name": "Alpha", "kind": "state"},
        {"id": "mid", "name": "Mid", "kind": "person"},
    ],
    "topics": [{"id": "t", "label": "T"}],
    "citations": [
        {
            "id": "mofa",
            "source": "src",
            "footnote": 1,
            "type": "webpage",
            "title": "Files in C:\\imports ~ and ^ in 2019",
            "authors": [{"literal": ORGANISATION}, {"literal": "Ministry of Foreign Affairs, Pakistan"}],
            "url": "https://example.org/a|b;c",
            "issued": "0001-01-01",
        },
        {
            "id": "wire",
            "source": "src",
            "footnote": 2,
            "type": "article-newspaper",
            "title": "Line one\nER  - \nTY  - JOUR\nline two",
            "authors": [{"family": "Mohammed", "given": "Arshad"}, {"family": "Landay", "given": "Jonathan"}],
            "container_title": "Wire",
            "issued": "9999-12-31",
        },
    ],
    "events": [
        {
            "id": "formula",
            "type": "meeting",
            "title": '=HYPERLINK("http://evil.example","click")',
            "summary": "@SUM(1+1)",
            "date": "9999-12-31",
            "participants": [
                {"actor": "zed", "role": "visitor"},
                {"actor": "alpha", "role": "host"},
                {"actor": "mid", "role": "participant"},
            ],
            "topics": ["t"],
            "locators": [
                {"source": "src", "section": "body", "footnote": 1},
                {"source": "src", "section": "body", "footnote": 2},
            ],
        },
        {
            "id": "first-day",
            "type": "statement",
            "title": "-1 is not a formula here",
            "date": "0001-01-01",
            "participants": [{"actor": "alpha", "role": "speaker"}],
            "topics": ["t"],
            "locators": [{"source": "src", "section": "body"}],
        },
        {
            "id": "leap",
            "type": "statement",
            "title": "Leap day",
            "date": "2020-02-29",
            "participants": [{"actor": "alpha", "role": "speaker"}],
            "topics": ["t"],
            "locators": [{"source": "src", "section": "body"}],
        },
        {
            "id": "open-future",
            "type": "statement",
            "title": "Open-ended, starting in 2030",
            "date": "2030-01-01/..",
            "participants": [{"actor": "mid", "role": "speaker"}],
            "topics": ["t"],
            "locators": [{"source": "src", "section": "body"}],
        },
    ],
}


@pytest.fixture
def example(exporter) -> TestClient:
    client, load = exporter
    load(EXAMPLE)
    return client


def csv_rows(text: str) -> dict[str, dict[str, str]]:
    header, *rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def test_csv_neutralises_formulas_by_default_and_keeps_them_on_request(example):
    for path, params in (("/v1/events/export.csv", {}), ("/v1/events", {"format": "csv"})):
        rows = csv_rows(export(example, path, **params))
        assert rows["formula"]["title"] == "'" + EXAMPLE["events"][0]["title"]
        assert rows["formula"]["summary"] == "'@SUM(1+1)"
        assert rows["first-day"]["title"] == "'-1 is not a formula here"
        assert rows["leap"]["title"] == "Leap day"
    raw = csv_rows(export(example, "/v1/events/export.csv", escape_formulas="false"))
    assert raw["formula"]["title"] == EXAMPLE["events"][0]["title"] and raw["formula"]["summary"] == "@SUM(1+1)"


def test_csv_rows_end_in_crlf_and_the_bom_is_opt_in(example):
    plain = example.get("/v1/events/export.csv").content
    assert plain.startswith(b"id,type,title,") and plain.endswith(b"\r\n")
    assert plain.count(b"\r\n") == plain.count(b"\n") == len(EXAMPLE["events"]) + 1
    marked = example.get("/v1/events", params={"format": "csv", "bom": "true"}).content
    assert marked == b"\xef\xbb\xbf" + plain
    frame = pd.read_csv(io.BytesIO(marked), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns)[:2] == ["id", "type"]


def test_csv_lists_use_one_separator_in_the_json_order(example):
    row = csv_rows(export(example, "/v1/events/export.csv"))["formula"]
    document = example.get("/v1/events/formula").json()
    assert [p["actor"]["id"] for p in document["participants"]] == ["zed", "alpha", "mid"]  # as the bundle lists them
    assert row["participants"] == "zed:visitor|alpha:host|mid:participant"  # not alphabetical
    assert row["topics"] == "t"
    assert row["citation_urls"] == "https://example.org/a%7Cb;c"  # the one URL; its `|` in RFC 3986 form


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/v1/events", {"bom": "true"}, "bom"),  # a JSON page
        ("/v1/events", {"format": "ndjson", "escape_formulas": "false"}, "escape_formulas"),
        ("/v1/events/export.ndjson", {"bom": "true"}, "bom"),
        ("/v1/citations/export.ris", {"escape_formulas": "false"}, "escape_formulas"),
        ("/v1/events", {"escape_formulas": "true"}, "escape_formulas"),  # its default: still not applicable
        ("/v1/events", {"format": "ics", "bom": "false"}, "bom"),
    ],
)
def test_csv_options_elsewhere_are_refused_not_ignored(example, path, params, parameter):
    response = example.get(path, params=params)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["parameter"] == parameter


def test_bibtex_reads_an_organisation_as_one_author_and_every_special_back(example):
    entries = parse_string(export(example, "/v1/citations/export.bib"), "bibtex").entries
    mofa, wire = entries["mofa"], entries["wire"]
    assert [decoded(str(p)) for p in mofa.persons["author"]] == [ORGANISATION, "Ministry of Foreign Affairs, Pakistan"]
    assert [str(p) for p in wire.persons["author"]] == ["Mohammed, Arshad", "Landay, Jonathan"]
    assert decoded(mofa.fields["title"]) == "Files in C:\\imports ~ and ^ in 2019"  # `~` is no non-breaking space
    assert "\\textbackslash" in mofa.fields["title"] and "\\textasciitilde" in mofa.fields["title"]


LIST_NAMES = {
    # citation id: (type, container_title, publisher, the list field written: the publisher, else the container)
    "mofa-site": ("webpage", None, ORGANISATION, "organization"),
    "site-only": ("webpage", "Research {and} Analysis and Co", None, "organization"),
    "wire-house": ("article-newspaper", None, "Dawn and Sons AND {Karachi} & 50% ~ \\and", "publisher"),
    "mixed": ("report", "Gazette", "Press and Information Department", "organization"),
}


def test_biblatex_list_fields_keep_an_organisation_holding_and_as_one_item(exporter):
    """Biber splits `organization` and `publisher` at ` and `, like names: each organisation is braced
    whole, so it comes back as one item, whatever words, braces or specials it holds."""
    client, load = exporter
    citations = [
        {"id": key, "source": "src", "footnote": n, "type": kind, "title": key, "url": "https://example.org/"}
        | ({"container_title": container} if container else {})
        | ({"publisher": publisher} if publisher else {})
        for n, (key, (kind, container, publisher, _)) in enumerate(LIST_NAMES.items(), 1)
    ]
    load({"sources": [SOURCE], "citations": citations, "actors": [], "topics": [], "events": []})
    entries = parse_string(export(client, "/v1/citations/export.bib"), "bibtex").entries
    for key, (_, container, publisher, field) in LIST_NAMES.items():
        value = entries[key].fields[field]
        assert len(biber_list(value)) == 1
        assert decoded(value) == (publisher or container)
        assert not set(entries[key].fields) & LIST_FIELDS - {field}


def test_ris_line_breaks_cannot_end_a_record_early(example):
    text = export(example, "/v1/citations/export.ris")
    lines = text.split("\n")
    assert "1." not in lines and lines.count("ER  - ") == 2
    records = rispy.loads(text)
    assert [r["id"] for r in records] == ["mofa", "wire"]
    assert records[1]["title"] == "Line one ER  -  TY  - JOUR line two"
    assert records[0]["urls"] == ["https://example.org/a%7Cb%3Bc"]  # rispy splits UR values at `;`
    # Corporate authors carry the trailing comma that marks a whole name (EndNote's convention), so an organisation
    # whose name holds commas is still one author; people are `Last, First`.
    assert records[0]["authors"] == [ORGANISATION + ",", "Ministry of Foreign Affairs, Pakistan,"]
    assert [read_ris_name(a) for a in records[0]["authors"]] == [
        (ORGANISATION,),
        ("Ministry of Foreign Affairs, Pakistan",),
    ]
    assert records[1]["authors"] == ["Mohammed, Arshad", "Landay, Jonathan"]
    assert (records[0]["year"], records[0]["date"]) == ("0001", "0001/01/01")  # four-digit years at the edges
    assert (records[1]["year"], records[1]["date"]) == ("9999", "9999/12/31")


def test_icalendar_bytes_are_stable_for_their_etag_and_stamped_with_the_last_change(example):
    first, second = example.get("/v1/events/export.ics"), example.get("/v1/events", params={"format": "ics"})
    again = example.get("/v1/events/export.ics")
    assert first.content == again.content and first.headers["etag"] == again.headers["etag"]
    assert second.content == first.content
    stamp = dt.datetime.strptime(first.headers["last-modified"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    calendar = icalendar.Calendar.from_ical(first.text)
    entries = {str(e["uid"]).removesuffix("@dipevents"): e for e in calendar.walk("VEVENT")}
    assert {e.decoded("dtstamp") for e in entries.values()} == {stamp}
    last_day = entries["formula"]  # 9999-12-31: DTEND would be 10000-01-01
    assert last_day.decoded("dtstart") == dt.date.max and "dtend" not in last_day
    assert last_day.decoded("duration") == dt.timedelta(days=1)
    assert entries["first-day"].decoded("dtstart") == dt.date.min
    assert entries["first-day"].decoded("dtend") == dt.date(1, 1, 2)


# ------------------------------------------------------------------------------------------- boundaries


def buckets(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/v1/events/timeline", params=params)
    assert response.status_code == 200, response.text
    return response.json()["buckets"]


@pytest.mark.parametrize("interval", ["year", "month", "day"])
def test_timeline_periods_at_both_ends_of_the_calendar(example, interval):
    last = buckets(example, interval=interval, start="9999-12-31", end="9999-12-31")
    assert len(last) == 1 and last[0]["end"] == "9999-12-31" and last[0]["count"] == 1  # `formula`
    assert last[0]["imprecise"] == 1  # `open-future` runs on, open-ended
    first = buckets(example, interval=interval, start="0001-01-01", end="0001-01-01")
    assert len(first) == 1 and first[0]["start"] == "0001-01-01" and first[0]["count"] == 1  # `first-day`
    assert buckets(example, interval=interval, start="9999")[-1]["end"] == "9999-12-31"


def test_timeline_on_a_leap_day(example):
    february = buckets(example, interval="month", start="2020-02", end="2020-02")
    assert february == [{"start": "2020-02-01", "end": "2020-02-29", "count": 1, "imprecise": 0}]
    assert buckets(example, interval="day", start="2020-02-29", end="2020-03-01")[0]["count"] == 1
    assert [b["start"] for b in buckets(example, interval="day", start="2019-02-28", end="2019-03-01")] == [
        "2019-02-28",
        "2019-03-01",
    ]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"interval": "day", "start": "2019", "end": "2040"}, "interval"),  # years or months would fit
        ({"interval": "month", "start": "1000", "end": "1500"}, "interval"),
        ({"interval": "year", "start": "0001", "end": "9999"}, "end"),  # no coarser interval: the range
        ({"interval": "year", "end": "9999"}, "end"),  # from the first matching event (year 1) to 9999
        ({"interval": "year", "start": "0001"}, "start"),  # to the last matching event (9999)
        ({"interval": "year"}, "start"),  # the matches span years 1 to 9999: give a range
        ({"interval": "month", "topic": "t"}, "start"),
    ],
)
def test_an_unrepresentable_timeline_names_the_parameter_to_change(example, params, parameter):
    response = example.get("/v1/events/timeline", params=params)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["parameter"] == parameter, response.json()


def test_open_ended_events_count_in_the_year_facet_like_the_list(example):
    years = {
        v["id"]: v["count"] for v in example.get("/v1/events/facets", params={"facet": "year"}).json()["facets"]["year"]
    }
    listed = example.get("/v1/events", params={"start": "2030", "end": "2030"}).json()["total"]
    assert years.get("2030") == listed == 1  # `open-future`, which starts after this year
    assert years["0001"] == years["9999"] == 1


def _early(event_id: str, kind: str, date: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "title": event_id,
        "date": date,
        "location": {"name": "Somewhere", "country": "PK"},
        "participants": [{"actor": "zed", "role": "visitor"}, {"actor": "alpha", "role": "host"}],
        "topics": ["t"],
        "locators": [{"source": "src", "section": "body"}],
    }


EARLY = {
    "sources": [SOURCE],
    "actors": [{"id": "zed", "name": "Zed", "kind": "person"}, {"id": "alpha", "name": "Alpha", "kind": "state"}],
    "topics": [{"id": "t", "label": "T"}],
    "events": [
        _early("year-one", "visit", "0001-01-01"),
        _early("ninth-century", "visit", "0999-05"),
        _early("forties", "statement", "0042/0043"),
        _early("recent", "visit", "2019-07-21/2019-07-23"),
        _early("ongoing", "visit", "2020-03/.."),
    ],
}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/events", {}),  # the stored counts (app.curation.aggregates)
        ("/v1/events", {"topic": "t"}),  # stored per topic
        ("/v1/events", {"type": "visit"}),  # counted by the live query
        ("/v1/visits", {}),
        ("/v1/visits", {"actor": "zed"}),
    ],
)
def test_year_facet_ids_have_four_digits_and_feed_back_as_start_and_end(exporter, path, params):
    client, load = exporter
    load(EARLY)
    body = client.get(f"{path}/facets", params={**params, "facet": "year", "facet_size": 100})
    assert body.status_code == 200, body.text
    years = body.json()["facets"]["year"]
    ids = [v["id"] for v in years]
    assert {"0001", "0999"} <= set(ids) and ids == sorted(ids, key=int)  # in calendar order
    for value in years:
        assert re.fullmatch(r"\d{4}", value["id"]) and value["label"] == value["id"]
        listed = client.get(path, params={**params, "start": value["id"], "end": value["id"]})
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == value["count"], value
    # README "Facets": the facet counts an open end up to the current year, the list lets it run on
    next_year = f"{dt.date.today().year + 1:04d}"
    assert next_year not in ids
    assert client.get(path, params={**params, "start": next_year, "end": next_year}).json()["total"] == 1


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [("0001-01-01", "0001", ["first-day"]), ("9999-12", "9999", ["formula", "open-future"])],
)
def test_date_filters_at_the_ends_of_the_calendar(example, start, end, expected):
    found = example.get("/v1/events", params={"start": start, "end": end, "limit": 500}).json()["items"]
    assert sorted(e["id"] for e in found) == expected
    rows = csv_rows(export(example, "/v1/events/export.csv", start=start, end=end))
    assert {r["date_start"] for r in rows.values()} <= {"0001-01-01", "9999-12-31", "2030-01-01"}


@pytest.mark.parametrize("interval", ["year", "month", "day"])
def test_timeline_walking_an_actor_tells_a_last_day_from_an_open_end(example, interval):
    # The actor walk stores an open end as 9999-12-31: an event that really ends that day still counts.
    assert buckets(example, interval=interval, actor="zed", start="9999-12-31") == [
        {
            "start": {"year": "9999-01-01", "month": "9999-12-01", "day": "9999-12-31"}[interval],
            "end": "9999-12-31",
            "count": 1,
            "imprecise": 0,
        }
    ]
    walked = buckets(example, interval=interval, actor="mid", start="9999-12-31")  # `formula`, and `open-future`
    assert (walked[-1]["count"], walked[-1]["imprecise"]) == (1, 1)
    assert buckets(example, interval=interval, actor="alpha", end="0001-01-01")[0]["count"] == 1


def test_within_a_range_ending_on_the_last_day_is_the_same_walking_an_actor(example):
    params = {"start": "2030", "end": "9999-12-31", "date_match": "within", "limit": 500}
    table = [e["id"] for e in example.get("/v1/events", params=params).json()["items"]]
    walked = [e["id"] for e in example.get("/v1/events", params={**params, "actor": "mid"}).json()["items"]]
    assert table == walked == ["formula"]  # `open-future` (2030/..) has no last day, so it is within nothing


def test_timeline_walking_an_actor_with_a_filter_on_the_events_table(example):
    # `type` reads the events table, which the walk then joins: the timeline still reads each event's end.
    walked = buckets(example, interval="year", actor="zed", type="meeting", start="9999")
    assert walked == [{"start": "9999-01-01", "end": "9999-12-31", "count": 1, "imprecise": 0}]


def test_replacing_the_dataset_keeps_the_cursor_signing_key(exporter):
    client, load = exporter
    load(EXAMPLE)
    load(EXAMPLE)  # `dipevents load --replace` clears the data, not the service's secrets
    page = client.get("/v1/events", params={"limit": 1})
    assert page.status_code == 200, page.text
    following = client.get("/v1/events", params={"limit": 1, "cursor": page.json()["next_cursor"]})
    assert following.status_code == 200 and following.json()["items"][0]["id"] != page.json()["items"][0]["id"]


def test_the_visits_csv_has_the_same_line_ends_and_options(example):
    plain = example.get("/v1/visits/export.csv").content
    assert plain.startswith(b"id,traveller,") and plain.endswith(b"\r\n") and b"\n" not in plain.replace(b"\r\n", b"")
    assert example.get("/v1/visits/export.csv", params={"bom": "true"}).content == b"\xef\xbb\xbf" + plain
    refused = example.get("/v1/visits/export.ndjson", params={"escape_formulas": "false"})
    assert refused.status_code == 400 and refused.json()["parameter"] == "escape_formulas"


LISTS = {
    "sources": [
        {**SOURCE, "sections": [{"key": "body", "title": "Body", "paragraphs": 9}, {"key": "annex", "title": "A"}]}
    ],
    "citations": [
        {
            "id": "piped",
            "source": "src",
            "footnote": 1,
            "type": "webpage",
            "title": "a | b; c",
            "url": "https://x.org/a|b",
        },
        {"id": "no-url", "source": "src", "footnote": 2, "type": "report", "title": "Title | with; separators, too"},
        {
            "id": "semi",
            "source": "src",
            "footnote": 3,
            "type": "webpage",
            "title": "t",
            "url": "https://y.org/?a=1;b=2,3",
        },
    ],
    "actors": [{"id": "zed", "name": "Zed", "kind": "person"}, {"id": "alpha", "name": "Alpha", "kind": "state"}],
    "topics": [{"id": "t", "label": "T"}, {"id": "u", "label": "U"}],
    "events": [
        {
            "id": "trip",
            "type": "visit",
            "title": "A visit",
            "date": "2019-07-21/2019-07-23",
            "location": {"name": "Islamabad", "country": "PK"},
            "participants": [{"actor": "zed", "role": "visitor"}, {"actor": "alpha", "role": "host"}],
            "topics": ["u", "t"],
            "locators": [
                {"source": "src", "section": "body", "paragraph": 3, "footnote": 1},
                {"source": "src", "section": "annex", "footnote": 2},
                {"source": "src", "section": "body", "footnote": 3},
            ],
        }
    ],
}
# Per CSV export: each list column, and its items as the export writes them from the JSON document.
CSV_LISTS: dict[str, tuple[str, dict[str, Callable[[dict[str, Any]], list[str]]]]] = {
    "/v1/events/export.csv": (
        "/v1/events",
        {
            "participants": lambda e: [f"{p['actor']['id']}:{p['role']}" for p in e["participants"]],
            "topics": lambda e: [t["id"] for t in e["topics"]],
            "citation_urls": lambda e: [c["url"].replace("|", "%7C") for c in e["citations"] if c["url"]],
        },
    ),
    "/v1/visits/export.csv": (
        "/v1/visits",
        {
            "sources": lambda v: (
                [
                    f"{loc['source']}, {loc['section']}"
                    + (f" ¶{loc['paragraph']}" if loc["paragraph"] else "")
                    + (f", note {loc['footnote']}" if loc["footnote"] else "")
                    for loc in v["locators"]
                ]
                + [(c["url"] or c["id"]).replace("|", "%7C") for c in v["citations"]]
            )
        },
    ),
}


def test_every_list_column_of_every_csv_export_is_separated_by_a_bar(exporter):
    """One list separator, `|`, in every CSV export: split at it, each list cell gives back the JSON document's
    items (no `;` or `, ` between items; a URL's own `|` is `%7C`)."""
    client, load = exporter
    load(LISTS)
    spec = client.get("/openapi.json").json()
    csv_paths = {path for path, ops in spec["paths"].items() for op in ops.values() if "text/csv" in str(op)}
    assert {p for p in csv_paths if "export" in p} == set(CSV_LISTS)  # a new CSV export declares its lists here
    for path, (documents, columns) in CSV_LISTS.items():
        rows = csv_rows(export(client, path, escape_formulas="false"))
        for document in client.get(documents).json()["items"]:
            for column, items in columns.items():
                wanted = items(document)
                assert len(wanted) > 1, (path, column)  # a list to separate
                assert rows[document["id"]][column].split("|") == wanted, (path, column)


def test_an_icalendar_export_without_matches_is_an_empty_calendar_not_an_invented_event(example):
    response = example.get("/v1/events/export.ics", params={"type": "visit"})  # EXAMPLE has no visit
    assert response.status_code == 200 and response.headers["x-record-count"] == "0"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.name == "VCALENDAR" and str(calendar["VERSION"]) == "2.0" and calendar.subcomponents == []
    assert response.content.endswith(b"END:VCALENDAR\r\n")  # complete, though empty


def test_icalendar_text_holds_no_c1_control_or_unicode_line_separator():
    # NEL (U+0085), other C1 controls and U+2028/U+2029 end lines for some readers (str.splitlines() among them).
    from app.exports.events import _ical_text

    folded = _ical_text("a\x85b\x9fc\u2028d\u2029e\x07f\tg")
    assert folded == "a b c d e f\tg" and len(folded.splitlines()) == 1
