"""The bundled data (`data/`): loads cleanly on both databases and obeys the rules of evidence."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from typer.testing import CliRunner

from app.cli import cli
from app.dates import parse_edtf
from app.importers.bundle import read_bundle
from tests.helpers import DATA, SEED, needs_seed


@lru_cache
def bundle():
    return read_bundle(DATA).bundle


def test_every_record_is_located_and_sourced():
    b = bundle()
    assert b.sources and b.events and b.actors and b.citations and b.topics and b.agreements
    for citation in b.citations:
        assert citation.url and citation.publisher and citation.footnote, citation.id
    for event in b.events:
        assert event.locators and event.participants and event.topics, event.id
    for agreement in b.agreements:
        assert agreement.locators and agreement.topics, agreement.id
    assert any(actor.offices for actor in b.actors)
    for actor in b.actors:
        for office in actor.offices:
            assert office.locators, office.id
    for source in b.sources:
        assert source.sections


def test_every_footnote_of_the_brief_is_a_citation():
    footnotes = sorted(c.footnote for c in bundle().citations)
    assert footnotes == list(range(1, len(footnotes) + 1))


@needs_seed
def test_every_footnote_of_the_seed_brief_is_a_citation():
    footnotes = {c.footnote for c in bundle().citations}
    markers = {int(n) for n in re.findall(r"^<sup>(\d+)</sup>", SEED.read_text(), flags=re.M)}
    assert footnotes == markers


MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"


@lru_cache
def dates_stated() -> tuple[set[dt.date], set[tuple[int, int]], set[int]]:
    """Days, months and years the brief states (text and footnotes) plus the citations' issue dates."""
    text = SEED.read_text()
    days: set[dt.date] = set()
    for month, first, last, year in re.findall(rf"({MONTHS}) (\d{{1,2}})(?:-(\d{{1,2}}))?, (\d{{4}})", text):
        for day in {first, last or first}:
            days.add(dt.datetime.strptime(f"{month} {day} {year}", "%B %d %Y").date())
    for day, month, year in re.findall(rf"(\d{{1,2}}) ({MONTHS}) (\d{{4}})", text):
        days.add(dt.datetime.strptime(f"{day} {month} {year}", "%d %B %Y").date())
    for citation in bundle().citations:
        if citation.issued:
            span = parse_edtf(citation.issued)
            if span.precision == "day":
                days.add(span.start)
    months = {(d.year, d.month) for d in days}
    months |= {(int(y), dt.datetime.strptime(m, "%B").month) for m, y in re.findall(rf"({MONTHS}) (\d{{4}})", text)}
    years = {int(y) for y in re.findall(r"\b(20\d\d)\b", text)}
    return days, months, years


@needs_seed
def test_no_date_is_more_precise_than_its_evidence():
    days, months, years = dates_stated()
    dated = [(e.id, e.date) for e in bundle().events] + [
        (f"{a.id} milestone {ms.kind}", ms.date) for a in bundle().agreements for ms in a.milestones
    ]
    for record, text in dated:
        for part in text.split("/"):
            if part in ("", ".."):
                continue
            span = parse_edtf(part)
            if span.precision == "day":
                assert span.start in days, f"{record}: day {part} is not stated anywhere"
            elif span.precision == "month":
                assert (span.start.year, span.start.month) in months, f"{record}: month {part} is not stated"
            else:
                assert span.start.year in years, f"{record}: year {part} is not stated"


@needs_seed
def test_quotes_are_verbatim_and_summaries_are_not():
    text = re.sub(r"\s+", " ", SEED.read_text())
    source_words = re.findall(r"[a-z0-9']+", text.lower())
    runs = {tuple(source_words[i : i + 12]) for i in range(len(source_words) - 11)}
    assert any(event.quotes for event in bundle().events)
    for event in bundle().events:
        for quote in event.quotes:
            assert quote.text in text, f"{event.id}: quote not verbatim in the brief"
        for prose in (event.title, event.summary, event.notes or ""):
            words = re.findall(r"[a-z0-9']+", prose.lower())
            copied = [" ".join(words[i : i + 12]) for i in range(len(words) - 11) if tuple(words[i : i + 12]) in runs]
            assert not copied, f"{event.id} copies the brief: {copied[0]}"


def test_discrepancies_are_recorded_with_both_readings():
    flagged = [e for e in bundle().events if e.discrepancies] + [a for a in bundle().agreements if a.discrepancies]
    assert len(flagged) >= 4
    summit = next(e for e in bundle().events if e.type == "meeting" and e.date == "2019-07-22")
    readings = {r.value for d in summit.discrepancies for r in d.readings}
    assert any("2019-07-02" in r for r in readings) and any("2019-07-22" in r for r in readings)


def event_ids(client, **params) -> list[str]:
    response = client.get("/v1/events", params=params | {"limit": 500})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_who_visited_pakistan_in_september_2018(data_client):
    items = data_client.get(
        "/v1/events", params={"type": "visit", "country": "PK", "start": "2018-09", "end": "2018-09"}
    ).json()["items"]
    visitors = {p["actor"]["id"] for item in items for p in item["participants"] if p["role"] == "visitor"}
    assert {"mike-pompeo", "joseph-dunford", "david-hale"} <= visitors


def test_what_happened_in_july_2019_and_which_sources_say_so(data_client):
    items = data_client.get("/v1/events", params={"start": "2019-07", "end": "2019-07", "limit": 500}).json()["items"]
    ids = {item["id"] for item in items}
    assert {
        "khan-visits-washington-2019-07",
        "khan-trump-summit-2019-07-22",
        "trump-offers-kashmir-mediation-2019-07-22",
    } <= ids
    urls = {c["url"] for item in items for c in item["citations"]}
    assert "https://www.dawn.com/news/1495570" in urls
    assert "http://mofa.gov.pk/prime-minister-imran-khan-holds-talks-with-president-trump/" in urls


def test_kashmir_mediation_and_who_responded(data_client):
    offers = event_ids(data_client, type="mediation_offer", actor="donald-trump")
    assert len(offers) >= 3  # July 2019, UNGA September 2019, Davos January 2020
    responses = data_client.get("/v1/events", params={"type": "denial", "topic": "kashmir-dispute"}).json()["items"]
    assert any(q["speaker"]["id"] == "india-mea" for r in responses for q in r["quotes"])


def test_security_and_training_assistance_across_the_period(data_client):
    params = {"topic": "security-assistance,military-training", "limit": 500}
    agreements = {a["id"]: a for a in data_client.get("/v1/agreements", params=params).json()["items"]}
    imet = agreements["imet-pakistan"]
    assert [m["kind"] for m in imet["milestones"]][:2] == ["suspended", "reinstated"]
    suspension = agreements["us-security-assistance-suspension-pakistan"]
    assert suspension["status"] == "in_effect"
    assert suspension["amount"] == {"value": "900000000.00", "currency": "USD", "qualifier": "at_least"}
    events = event_ids(data_client, topic="security-assistance", sort="date")
    assert events.index("us-suspends-security-assistance-2018-01") < events.index("us-reinstates-imet-2020-01")


def test_serve_loads_bundle_only_into_an_empty_database(databases, tmp_path, monkeypatch):
    """`dipevents serve` migrates and loads `data/` when empty; uvicorn itself is replaced here."""
    import uvicorn

    from app.db import make_engine, session_factory
    from app.importers.bundle import dataset_is_empty

    url = databases.new()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_PATH", str(DATA))
    from app.settings import get_settings

    get_settings.cache_clear()
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(kwargs))
    try:
        for _ in range(2):  # the second run must not try to load again
            result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
            assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
    assert [s["port"] for s in served] == [8123, 8123]
    engine = make_engine(url)
    with session_factory(engine)() as session:
        assert not dataset_is_empty(session)
    engine.dispose()
