"""Research outputs through the real app: aggregations agree with the list, exports round-trip,
and HTTP caching answers 304 exactly when nothing changed."""

from __future__ import annotations

import datetime as dt
import io
import json

import bibtexparser
import bibtexparser.bparser
import icalendar
import pandas as pd
import pytest
import rispy
import yaml
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from app.dates import parse_edtf, parse_query_bound
from tests.helpers import DATA, ROOT, yaml_records

SLOW_OK = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def total(client, params) -> int:
    response = client.get("/v1/events", params=params)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def list_ids(client, params) -> list[str]:
    return [i["id"] for i in client.get("/v1/events", params=[*list(params), ("limit", "500")]).json()["items"]]


FILTER_CHOICES = {
    "topic": ["kashmir-dispute", "afghanistan-peace-process", "security-assistance", "high-level-visits"],
    "actor": ["imran-khan", "donald-trump", "united-states", "pakistan", "mike-pompeo"],
    "type": ["visit", "meeting", "mediation_offer", "statement"],
    "country": ["PK", "US", "CH"],
    "start": ["2018", "2019-07", "2019-09-15", "2020"],
    "end": ["2019", "2019-07", "2020-01", "2021"],
}
filter_sets = st.lists(
    st.sampled_from([(k, v) for k, vs in FILTER_CHOICES.items() for v in vs]), min_size=0, max_size=3, unique=True
).filter(
    lambda pairs: (
        len({k for k, _ in pairs if k in ("start", "end")}) == sum(1 for k, _ in pairs if k in ("start", "end"))
    )
)


def valid_range(pairs) -> bool:
    values = dict(pairs)
    return not ("start" in values and "end" in values and values["start"] > values["end"])


@SLOW_OK
@given(pairs=filter_sets)
@example(pairs=[])
def test_facet_counts_equal_list_totals(data_client, pairs):
    assume(valid_range(pairs))
    body = data_client.get("/v1/events/facets", params=[*pairs, ("facet_size", "500")]).json()
    assert body["total"] == total(data_client, pairs)
    assert set(body["facets"]) == {"type", "topic", "actor", "country", "year"}
    assert sum(value["count"] for value in body["facets"]["type"]) == body["total"]  # one type per event
    for facet, values in body["facets"].items():
        for value in values:
            if facet == "year":
                extra = [("start", value["id"]), ("end", value["id"])]
                if any(k in ("start", "end") for k, _ in pairs):
                    continue  # a second start/end would replace, not narrow; covered by the timeline test
            else:
                extra = [(facet, value["id"])]
            assert value["count"] == total(data_client, pairs + extra), (facet, value)


@settings(SLOW_OK, max_examples=6)
@given(pairs=filter_sets, interval=st.sampled_from(["year", "month"]))
def test_timeline_buckets_are_contiguous_and_equal_list_totals(data_client, pairs, interval):
    pairs = [(k, v) for k, v in pairs if k not in ("start", "end")] + [("start", "2018"), ("end", "2020")]
    body = data_client.get("/v1/events/timeline", params=[*pairs, ("interval", interval)]).json()
    buckets = body["buckets"]
    assert buckets[0]["start"] == "2018-01-01" and buckets[-1]["end"] == "2020-12-31"
    assert len(buckets) == (3 if interval == "year" else 36)  # empty periods included
    for bucket in buckets:
        within = [(k, v) for k, v in pairs if k not in ("start", "end")] + [
            ("start", bucket["start"]),
            ("end", bucket["end"]),
        ]
        assert bucket["count"] + bucket["imprecise"] == total(data_client, within), bucket
        assert bucket["count"] == total(data_client, [*within, ("date_match", "within")]), bucket


def test_month_precision_events_count_in_their_month_and_coarser_ones_as_imprecise(data_client):
    months = {
        b["start"][:7]: b
        for b in data_client.get(
            "/v1/events/timeline", params={"interval": "month", "start": "2018", "end": "2020"}
        ).json()["buckets"]
    }
    assert months["2018-09"]["count"] >= 3  # Pompeo, Dunford and Hale, stated as "September 2018"
    assert months["2018-10"]["imprecise"] >= 1  # the undated "eight visits" (2018?/2020?) may fall in any month
    # Every month against a brute force over data/: certainly inside it counts, possibly inside is imprecise.
    spans = [parse_edtf(str(e["date"])) for e in yaml_records(DATA, "events")]
    ends = [(s.start or dt.date.min, s.end or dt.date.max) for s in spans]
    assert len(months) == 36
    for month, bucket in months.items():
        first, last = parse_query_bound(month, upper=False), parse_query_bound(month, upper=True)
        inside = sum(first <= start and end <= last for start, end in ends)
        touching = sum(start <= last and end >= first for start, end in ends)
        assert (bucket["count"], bucket["imprecise"]) == (inside, touching - inside), month


def test_network_counts_equal_list_totals(data_client):
    body = data_client.get("/v1/actors/imran-khan/network").json()
    assert body["neighbours"], body
    for neighbour in body["neighbours"]:
        pairs = [("actor", "imran-khan"), ("actor", neighbour["actor"]["id"])]
        assert neighbour["count"] == total(data_client, pairs)
        assert sorted(neighbour["events"]) == sorted(list_ids(data_client, pairs))
    counts = [n["count"] for n in body["neighbours"]]
    assert counts == sorted(counts, reverse=True)
    assert data_client.get("/v1/actors/nobody/network").status_code == 404


def test_bad_facet_and_interval_are_problems(data_client):
    response = data_client.get("/v1/events/facets", params={"facet": "colour"})
    assert response.status_code == 400 and response.json()["parameter"] == "facet"
    response = data_client.get("/v1/events/timeline", params={"interval": "week"})
    assert response.status_code == 400 and response.json()["parameter"] == "interval"
    response = data_client.get("/v1/events/timeline", params={"interval": "day", "start": "1900", "end": "2020"})
    assert response.status_code == 400 and response.json()["parameter"] == "interval"


EXPORT_FILTERS = [("topic", "kashmir-dispute"), ("sort", "-date")]


def test_csv_export_opens_in_pandas_with_the_list_ids_in_order(data_client):
    response = data_client.get("/v1/events", params=[*EXPORT_FILTERS, ("format", "csv")])
    assert response.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(response.text))
    assert list(frame["id"]) == list_ids(data_client, EXPORT_FILTERS)
    row = frame.set_index("id").loc["trump-offers-kashmir-mediation-2019-07-22"]
    assert row["date_start"] == "2019-07-22" and "donald-trump:" in row["participants"]


def test_accept_header_selects_the_export(data_client):
    response = data_client.get("/v1/events", params=EXPORT_FILTERS, headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("id,type,title")


def test_ndjson_export_has_one_full_event_per_line(data_client):
    lines = data_client.get("/v1/events", params=[*EXPORT_FILTERS, ("format", "ndjson")]).text.splitlines()
    events = [json.loads(line) for line in lines]
    assert events and [e["id"] for e in events] == list_ids(data_client, EXPORT_FILTERS)
    assert events == data_client.get("/v1/events", params=[*EXPORT_FILTERS, ("limit", "500")]).json()["items"]


def test_ical_export_parses_with_all_day_events_and_flags_imprecise_dates(data_client):
    text = data_client.get("/v1/events", params={"format": "ics"}).text
    calendar = icalendar.Calendar.from_ical(text)
    entries = {str(e["uid"]).removesuffix("@dipevents"): e for e in calendar.walk("VEVENT")}
    assert set(entries) == set(list_ids(data_client, []))
    visit = entries["khan-visits-washington-2019-07"]
    assert str(visit.decoded("dtstart")) == "2019-07-21" and str(visit.decoded("dtend")) == "2019-07-24"
    september = entries["pompeo-visits-pakistan-2018-09"]
    assert str(september["status"]) == "TENTATIVE" and str(september["x-dipevents-precision"]) == "month"


def test_geojson_only_has_events_with_known_coordinates(data_client):
    collection = data_client.get("/v1/events", params={"format": "geojson"}).json()
    assert collection["type"] == "FeatureCollection" and collection["features"]
    davos = next(f for f in collection["features"] if f["id"] == "khan-trump-meeting-davos-2020-01-21")
    assert davos["geometry"]["coordinates"] == [9.8372, 46.8043]
    assert all(f["properties"]["location"]["name"] != "Pakistan" for f in collection["features"])
    # Exactly the events of data/ whose place the curated gazetteer lists, at the gazetteer's coordinates.
    gazetteer = yaml.safe_load((ROOT / "app" / "exports" / "gazetteer.yaml").read_text())["places"]
    places = {p["name"]: [p["lon"], p["lat"]] for p in gazetteer}
    located = {
        e["id"]: places[e["location"]["name"]]
        for e in yaml_records(DATA, "events")
        if (e.get("location") or {}).get("name") in places
    }
    assert {f["id"]: f["geometry"]["coordinates"] for f in collection["features"]} == located


def test_citations_as_csl_json_render_in_a_csl_processor(data_client):
    items = data_client.get("/v1/citations", params={"format": "csl-json"}).json()
    assert len(items) == data_client.get("/v1/citations").json()["total"]
    import citeproc

    style_path = next((__import__("pathlib").Path(citeproc.__file__).parent / "data" / "styles").glob("*.csl"))
    bibliography = CitationStylesBibliography(
        CitationStylesStyle(str(style_path), validate=False), CiteProcJSON(items), formatter.plain
    )
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = " ".join(str(entry) for entry in bibliography.bibliography())
    assert "India denies Modi asked Trump to mediate Kashmir dispute" in rendered
    assert "2018" in rendered


def test_citations_as_ris_and_bibtex_parse_back(data_client):
    ris = rispy.loads(data_client.get("/v1/citations", params={"format": "ris"}).text)
    expected = data_client.get("/v1/citations").json()["items"]
    assert [e["id"] for e in ris] == [c["id"] for c in expected]
    assert ris[0]["urls"] == [expected[0]["url"]] and ris[0]["authors"] == ["Mohammed, Arshad", "Landay, Jonathan"]
    parser = bibtexparser.bparser.BibTexParser(ignore_nonstandard_types=False)  # BibLaTeX's @online
    bib = bibtexparser.loads(data_client.get("/v1/citations", params={"format": "bibtex"}).text, parser=parser)
    assert [e["ID"] for e in bib.entries] == [c["id"] for c in expected]
    assert {e["ENTRYTYPE"] for e in bib.entries} <= {"article", "online"}
    reuters = bib.entries[0]
    assert reuters["url"] == expected[0]["url"] and r"{\$}900" in reuters["title"]


def test_export_errors_are_problems_before_the_stream_starts(data_client):
    response = data_client.get("/v1/events", params={"format": "csv", "actor": "nobody"})
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    response = data_client.get("/v1/citations", params={"format": "csv"})
    assert response.status_code == 400


def test_list_responses_cite_their_query_and_link_the_next_page(data_client):
    response = data_client.get("/v1/events", params={"type": "visit", "actor": "imran-khan", "limit": 1})
    body = response.json()
    assert body["dataset_version"] == response.headers["x-dataset-version"]
    assert body["query_url"].endswith("/v1/events?actor=imran-khan&type=visit")
    assert 'rel="next"' in response.headers["link"] and body["next_cursor"] in response.headers["link"]
    cite = data_client.get("/v1/cite", params={"type": "visit", "actor": "imran-khan"}).json()
    assert cite["csl"]["type"] == "dataset" and cite["csl"]["version"] == body["dataset_version"]
    assert cite["query_url"] == body["query_url"] and body["dataset_version"] in cite["text"]
    meta = data_client.get("/v1/meta").json()
    assert meta["counts"]["events"] == total(data_client, []) and meta["dataset_version"] == body["dataset_version"]


def test_cors_and_gzip(data_client):
    response = data_client.get("/v1/events", headers={"Origin": "https://timeline.example", "Accept-Encoding": "gzip"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "ETag" in response.headers["access-control-expose-headers"]
    assert response.headers["content-encoding"] == "gzip"
    preflight = data_client.options(
        "/v1/events", headers={"Origin": "https://timeline.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200


def test_conditional_get_is_304_only_while_nothing_changed(databases, tmp_path):
    import shutil

    import yaml
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from app.cli import cli
    from app.main import create_app
    from app.settings import Settings

    url = databases.new()
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate", "--database-url", url]).exit_code == 0
    assert runner.invoke(cli, ["load", str(DATA), "--database-url", url]).exit_code == 0
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        first = client.get("/v1/events", params={"topic": "kashmir-dispute"})
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get("/v1/events", params={"topic": "kashmir-dispute"}, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert (
            client.get(
                "/v1/events", params={"topic": "kashmir-dispute"}, headers={"If-Modified-Since": modified}
            ).status_code
            == 304
        )
        other = client.get("/v1/events", params={"topic": "cpec"}, headers={"If-None-Match": etag})
        assert other.status_code == 200  # another representation, another validator
        assert (
            client.get(
                "/v1/events", params={"topic": "kashmir-dispute"}, headers={"If-None-Match": '"stale"'}
            ).status_code
            == 200
        )

        # Reloading identical data keeps the version; changed data changes it and ends the 304s.
        assert runner.invoke(cli, ["load", str(DATA), "--replace", "--database-url", url]).exit_code == 0
        assert (
            client.get("/v1/events", params={"topic": "kashmir-dispute"}, headers={"If-None-Match": etag}).status_code
            == 304
        )
        edited = tmp_path / "edited"
        shutil.copytree(DATA, edited)
        events_file = next(edited.rglob("events.yaml"))
        events = yaml.safe_load(events_file.read_text())
        events["events"][0]["title"] += " (revised)"
        events_file.write_text(yaml.safe_dump(events, allow_unicode=True))
        assert runner.invoke(cli, ["load", str(edited), "--replace", "--database-url", url]).exit_code == 0
        changed = client.get("/v1/events", params={"topic": "kashmir-dispute"}, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
    app.state.engine.dispose()


@pytest.mark.parametrize(
    ("interval", "start", "end"),
    [
        ("month", "9999-12", "9999-12"),
        ("day", "9999-12-31", "9999-12-31"),
        ("year", "9999", "9999"),
        ("year", "0001", "0001"),
    ],
)
def test_timelines_reach_the_ends_of_the_calendar(data_client, interval, start, end):
    body = data_client.get("/v1/events/timeline", params={"interval": interval, "start": start, "end": end}).json()
    assert len(body["buckets"]) == 1 and body["buckets"][0]["start"].startswith(start[:4])
    assert body["buckets"][0]["count"] == 0
