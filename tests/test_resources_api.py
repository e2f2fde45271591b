"""Actors, agreements, citations, topics, sources and service endpoints."""

from __future__ import annotations

import pytest

from tests.helpers import all_pages, bundle_records, ids, problem


def test_actor_detail_has_dated_offices_and_organisation(client):
    actor = client.get("/v1/actors/ann-leader").json()
    office = actor["offices"][0]
    assert office["label"] == "President"
    assert office["organization"] == {"id": "alpha-state", "name": "Alphaland", "kind": "state"}
    assert office["start"]["start"] == "2017-01-01" and office["start"]["precision"] == "year"
    assert office["end"] is None
    assert office["locators"][0]["section"] == "intro"
    attested = client.get("/v1/actors/bob-minister").json()["offices"][0]
    assert attested["start"] is None and attested["attested"]["edtf"] == "2019-07"


def test_actor_search_covers_aliases_kind_and_country(client):
    assert ids(client.get("/v1/actors", params={"q": "leader ann"})) == ["ann-leader"]
    assert ids(client.get("/v1/actors", params={"q": "alpha"})) == ["alpha-state"]  # alias "Alpha"
    assert ids(client.get("/v1/actors", params={"kind": "person", "country": "BB"})) == ["bob-minister"]
    assert ids(client.get("/v1/actors", params={"kind": "international_organisation"})) == ["gamma-org"]
    problem(client.get("/v1/actors", params={"kind": "alien"}), 400, "kind")


def test_actor_pages_in_name_order(client):
    everything = ids(client.get("/v1/actors"))
    assert everything == [a["id"] for a in sorted(bundle_records("actors"), key=lambda a: (a["name"], a["id"]))]
    assert [a["id"] for a in all_pages(client, "/v1/actors", 2)] == everything


def test_agreements_carry_amounts_milestones_and_filter_like_events(client):
    programme = client.get("/v1/agreements/training-programme").json()
    assert programme["amount"] == {"value": "125000000.00", "currency": "USD", "qualifier": "exact"}
    assert [(m["kind"], m["date"]["edtf"]) for m in programme["milestones"]] == [
        ("suspended", "2018"),
        ("reinstated", "2020-01"),
    ]
    assert programme["events"] == ["summit-meeting"]
    assert programme["citations"][0]["id"] == "cite-two"
    assert ids(client.get("/v1/agreements", params={"status": "reinstated"})) == ["training-programme"]
    assert ids(client.get("/v1/agreements", params={"topic": "security"})) == ["training-programme"]
    assert ids(client.get("/v1/agreements", params={"start": "2019-06", "end": "2019-06"})) == ["training-programme"]
    assert ids(client.get("/v1/agreements", params={"start": "2021"})) == []
    # Undated agreements sort last and still page correctly.
    assert ids(client.get("/v1/agreements")) == ["training-programme", "trade-pact"]
    assert [a["id"] for a in all_pages(client, "/v1/agreements", 1)] == ["training-programme", "trade-pact"]
    problem(client.get("/v1/agreements", params={"status": "frozen"}), 400, "status")


def test_citations_are_csl_json_and_filter_by_publisher_date_source(client):
    citation = client.get("/v1/citations/cite-one").json()
    assert citation["csl"] == {
        "id": "cite-one",
        "type": "article-newspaper",
        "title": "Alpha visits Beta",
        "author": [{"family": "Writer", "given": "Wendy"}],
        "container-title": "Daily Test",
        "publisher": "Daily Test",
        "issued": {"date-parts": [[2018, 9, 5]]},
        "URL": "https://example.org/one",
    }
    assert ids(client.get("/v1/citations")) == ["cite-one", "cite-two"]  # footnote order
    assert ids(client.get("/v1/citations", params={"publisher": "Beta Ministry"})) == ["cite-two"]
    assert ids(client.get("/v1/citations", params={"start": "2019"})) == ["cite-two"]
    assert ids(client.get("/v1/citations", params={"source": "test-brief", "sort": "issued"})) == [
        "cite-one",
        "cite-two",
    ]
    problem(client.get("/v1/citations", params={"source": "other"}), 400, "source")


def test_topics_tree_and_search(client):
    security = client.get("/v1/topics/security").json()
    assert security["parent"] == "relations" and security["children"] == ["training"]
    assert ids(client.get("/v1/topics", params={"q": "military"})) == ["training"]
    assert ids(client.get("/v1/topics", params={"parent": "relations"})) == ["security"]


def test_source_document_lists_sections_citations_and_assessments(client):
    source = client.get("/v1/sources/test-brief").json()
    assert [s["key"] for s in source["sections"]] == ["intro", "chronology"]
    assert source["citations"] == ["cite-one", "cite-two"]
    assert source["period"]["start"] == "2018-01-01" and source["period"]["end"] == "2020-12-31"
    assert source["assessments"][0]["id"] == "test-judgement"
    assert ids(client.get("/v1/sources", params={"q": "test institute"})) == ["test-brief"]


@pytest.mark.parametrize(
    "path", ["/v1/actors/x", "/v1/agreements/x", "/v1/citations/x", "/v1/topics/x", "/v1/sources/x"]
)
def test_unknown_ids_are_404_problems(client, path):
    problem(client.get(path), 404, None)


def test_health_and_vocabularies(client):
    assert client.get("/health").json()["status"] == "ok"
    vocabularies = client.get("/v1/vocabularies").json()
    assert vocabularies["event_types"]["mediation_offer"]["cameo"] == "039"
    assert "visitor" in vocabularies["roles"]
    explained = client.get("/problems/unknown-reference").json()
    assert explained["type"] == "/problems/unknown-reference"
