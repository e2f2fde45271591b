"""/v1/visits: the events of type `visit` as travel records. The oracle is the bundle's YAML (read
independently of the app's reader): which events are visits, who the record names as visitor and host,
where they went, and which events are parts of which."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pandas as pd
import yaml
from fastapi.testclient import TestClient

from app.main import create_app
from app.queries.visit_documents import known_span, office_at
from app.settings import Settings
from tests.helpers import DATA, TEST_BUNDLE, all_pages, ids, load_into, problem, yaml_records

BUNDLE = DATA / "pakistan-us-2018-2020"
VISITOR_ROLES = ("visitor", "delegation_head")  # what the visits view reads as the traveller, first first


def visit_records(folder: Path) -> list[dict]:
    return [e for e in yaml_records(folder, "events") if e["type"] == "visit"]


def recorded(event: dict, roles: tuple[str, ...]) -> str | None:
    """The actor the YAML gives the first of ``roles`` (then the next…), or None."""
    for role in roles:
        for participant in event["participants"]:
            if participant["role"] == role:
                return participant["actor"]
    return None


def under(parents: dict[str, str | None], visit_id: str, event_id: str) -> bool:
    """Whether ``event_id`` is a part of ``visit_id``, or a part of a part… (``parents``: id -> parent id)."""
    parent = parents[event_id]
    while parent is not None:
        if parent == visit_id:
            return True
        parent = parents[parent]
    return False


def test_every_visit_event_is_exactly_one_visit_and_nothing_else_is(
    client: TestClient, data_client: TestClient
) -> None:
    for api, folder in ((client, TEST_BUNDLE), (data_client, BUNDLE)):
        check_same_records(api, folder)


def check_same_records(api: TestClient, folder: Path) -> None:
    events = all_pages(api, "/v1/events", 500)
    visit_events = [e for e in all_pages(api, "/v1/events", 500, type="visit")]
    visits = all_pages(api, "/v1/visits", 2)  # small pages: keyset paging over the view too
    assert [v["id"] for v in visits] == [e["id"] for e in visit_events]  # same records, same order, once each
    assert sorted(v["id"] for v in visits) == sorted(e["id"] for e in visit_records(folder))
    assert len({v["id"] for v in visits}) == len(visits)
    assert api.get("/v1/meta").json()["counts"]["visits"] == len(visits)
    by_id = {e["id"]: e for e in events}
    for visit in visits:
        event = by_id[visit["id"]]
        # The same record: its date, topics and sources are the event's.
        assert visit["date"] == event["date"]
        assert visit["purpose"] == event["topics"]
        assert (visit["citations"], visit["locators"]) == (event["citations"], event["locators"])
        assert visit["quantity"] == event["quantity"]
        assert api.get(f"/v1/visits/{visit['id']}").json() == visit
    for event in events:
        if event["type"] != "visit":
            problem(api.get(f"/v1/visits/{event['id']}"), 404, None)


def test_who_visited_pakistan_in_september_2018(data_client: TestClient) -> None:
    """One call answers it, with visitor, host and sources."""
    september = (dt.date(2018, 9, 1), dt.date(2018, 9, 30))

    def bounds(event: dict) -> tuple[dt.date, dt.date]:
        from app.dates import parse_edtf

        span = parse_edtf(str(event["date"]))
        return span.start, span.end

    expected = {
        e["id"]: e
        for e in visit_records(BUNDLE)
        if (e.get("location") or {}).get("country") == "PK"
        and bounds(e)[0] <= september[1]
        and bounds(e)[1] >= september[0]
    }
    response = data_client.get("/v1/visits?country=PK&start=2018-09&end=2018-09")
    items = response.json()["items"]
    assert {v["id"] for v in items} == set(expected) and len(items) >= 3
    for visit in items:
        record = expected[visit["id"]]
        assert visit["visitor"]["id"] == recorded(record, VISITOR_ROLES)
        assert (visit["host"] or {}).get("id") == recorded(record, ("host",))
        assert visit["locators"], "every visit names where the brief states it"
        assert visit["destination"]["country"] == "PK"
    # The undated "eight visits" record may fall in September 2018, so it is there, as one item with its
    # quantity and uncertain dates; asking for visits certainly inside the month leaves it out.
    several = [v for v in items if v["quantity"]]
    assert [v["quantity"] for v in several] == [8] and several[0]["date"]["uncertain"] is True
    within = ids(data_client.get("/v1/visits?country=PK&start=2018-09&end=2018-09&date_match=within"))
    assert set(within) == {i for i, e in expected.items() if bounds(e) >= september and not e.get("quantity")}


def test_visitor_and_host_are_the_recorded_roles_or_null(data_client: TestClient) -> None:
    """Never guessed: the traveller is who the record makes visitor (or head of the delegation), the host
    who it makes host; a record naming neither has null."""
    visits = {v["id"]: v for v in all_pages(data_client, "/v1/visits", 500)}
    actors = {a["id"]: a for a in yaml_records(DATA, "actors")}
    nulls = 0
    for record in visit_records(BUNDLE):
        visit = visits[record["id"]]
        visitor, host = recorded(record, VISITOR_ROLES), recorded(record, ("host",))
        assert (visit["visitor"] or {}).get("id") == visitor
        assert (visit["host"] or {}).get("id") == host
        if visitor:
            role = next(p["role"] for p in record["participants"] if p["actor"] == visitor)
            assert visit["visitor"]["role"] == role
            assert visit["visitor"]["name"] == actors[visitor]["name"]
        nulls += host is None
    assert nulls >= 1  # the bundle has a visit without a host (a stop with no named counterpart)
    unga = visits["khan-leads-delegation-unga-2019-09"]
    assert (unga["visitor"]["id"], unga["visitor"]["role"], unga["host"]) == ("imran-khan", "delegation_head", None)


def test_destination_coordinates_come_from_the_gazetteer_only(data_client: TestClient) -> None:
    from app.exports.events import gazetteer

    places = gazetteer()
    for visit in all_pages(data_client, "/v1/visits", 500):
        place = places.get(visit["destination"]["name"])
        coordinates = visit["destination"]["coordinates"]
        if place is None:
            assert coordinates is None
        else:
            assert coordinates == {"lon": place["lon"], "lat": place["lat"], "geonames": place["geonames"]}
    dc = data_client.get("/v1/visits/khan-visits-washington-2019-07").json()["destination"]
    assert dc["coordinates"] is not None and dc["country"] == "US"


def test_events_during_a_visit_are_its_parts_and_their_parts(data_client: TestClient, client: TestClient) -> None:
    for api, folder in ((data_client, BUNDLE), (client, TEST_BUNDLE)):
        parents = {e["id"]: e.get("parent") for e in yaml_records(folder, "events")}

        found = 0
        for visit in all_pages(api, "/v1/visits", 500):
            assert set(visit["events"]) == {e for e in parents if under(parents, visit["id"], e)}
            assert len(visit["events"]) == len(set(visit["events"]))
            found += len(visit["events"])
        assert found > 0
    khan = data_client.get("/v1/visits/khan-visits-washington-2019-07").json()["events"]
    assert "khan-trump-summit-2019-07-22" in khan
    # Parts of the summit happened during the visit too.
    assert set(ids(data_client.get("/v1/events?parent=khan-trump-summit-2019-07-22"))) <= set(khan)


def test_office_at_the_time_of_the_visit(data_client: TestClient, client: TestClient) -> None:
    pompeo = data_client.get("/v1/visits/pompeo-visits-pakistan-2018-09").json()["visitor"]
    assert pompeo["office"]["label"] == "Secretary of State"
    assert pompeo["office"]["organization"]["id"] == "us-department-of-state"
    # Test bundle: Ann's office has a start and nothing else, which does not show she still held it in
    # 2019; Bob's is attested in July 2019 only, not for his September 2018 visit.
    assert client.get("/v1/visits/ann-visits-beta").json()["visitor"]["office"] is None
    assert client.get("/v1/visits/september-visit").json()["visitor"]["office"] is None


def test_office_spans() -> None:
    day = dt.date
    assert known_span(None, None, "2018-09/2020-01") == (day(2018, 9, 1), day(2020, 1, 31))
    assert known_span("2017", None, None) is None  # a start alone: held until when?
    assert known_span("2017", "2019-06", None) == (day(2017, 12, 31), day(2019, 6, 1))  # surely held between
    assert known_span(None, None, None) is None
    office = {"id": "o", "start": None, "end": None, "attested": "2019-07"}
    assert office_at([office], day(2019, 7, 21), day(2019, 7, 23)) is office
    assert office_at([office], day(2019, 6, 30), day(2019, 7, 2)) is None  # not known for every day
    assert office_at([office], day(2019, 7, 21), None) is None  # an open-ended visit
    narrow = {"id": "z", "start": None, "end": None, "attested": "2019-07-01/2019-07-31"}
    wide = {"id": "a", "start": None, "end": None, "attested": "2019"}
    assert office_at([wide, narrow], day(2019, 7, 2), day(2019, 7, 3)) is narrow


def test_several_visits_in_one_record_stay_one_item(client: TestClient) -> None:
    visit = client.get("/v1/visits/repeated-visits").json()
    record = next(e for e in visit_records(TEST_BUNDLE) if e["id"] == "repeated-visits")
    assert visit["quantity"] == record["quantity"] == 8
    assert visit["date"]["edtf"] == record["date"] and visit["date"]["uncertain"] is True
    assert (visit["destination"], visit["host"]) == (None, None)  # the record gives no place and no host
    assert ids(client.get("/v1/visits", params={"actor": "gamma-org"})) == ["repeated-visits"]


def test_filters_are_the_event_filters(client: TestClient, data_client: TestClient) -> None:
    def visit_ids(**params: str) -> list[str]:
        return ids(data_client.get("/v1/visits", params=params | {"limit": 500}))

    def event_ids(**params: str) -> list[str]:
        return ids(data_client.get("/v1/events", params=params | {"type": "visit", "limit": 500}))

    for params in (
        {"start": "2019", "end": "2019"},
        {"start": "2019-07-22", "end": "2019-07-22", "date_match": "within"},
        {"topic": "afghanistan-peace-process"},
        {"country": "US"},
        {"country": "PK,US"},
        {"q": "washington"},
        {"country": "US", "sort": "-date"},
        {"actor": "pakistan", "role": "host"},
    ):
        assert visit_ids(**params) == event_ids(**params), params
    # `role=visitor` includes the head of a travelling delegation; `actor` alone means visitor or host.
    assert visit_ids(actor="imran-khan", role="visitor") == event_ids(
        actor="imran-khan", role="visitor,delegation_head"
    )
    assert visit_ids(actor="united-states") == event_ids(actor="united-states", role="visitor,host")
    assert visit_ids(actor="government-of-pakistan") == []  # a participant of a visit, neither visitor nor host
    assert visit_ids(actor="pakistan", role="visitor") == []
    hosted = {v["id"] for v in all_pages(data_client, "/v1/visits", 500) if v["host"]}
    assert set(visit_ids(role="host")) == hosted
    # Errors name the parameter: vocabulary, ids, a filter the view does not offer.
    problem(client.get("/v1/visits", params={"role": "speaker"}), 400, "role")
    problem(client.get("/v1/visits", params={"actor": "nobody"}), 400, "actor")
    problem(client.get("/v1/visits", params={"country": "pk"}), 400, "country")
    problem(client.get("/v1/visits", params={"type": "visit"}), 400, "type")
    problem(client.get("/v1/visits", params={"start": "2020", "end": "2019"}), 400, "end")


def test_cursors_are_bound_to_the_visits_list(client: TestClient) -> None:
    events_page = client.get("/v1/events", params={"limit": 1, "type": "visit"}).json()
    visits_page = client.get("/v1/visits", params={"limit": 1}).json()
    assert visits_page["next_cursor"] and events_page["next_cursor"]
    problem(client.get("/v1/visits", params={"limit": 1, "cursor": events_page["next_cursor"]}), 400, "cursor")
    second = client.get("/v1/visits", params={"limit": 1, "cursor": visits_page["next_cursor"]})
    assert ids(second) != [visits_page["items"][0]["id"]]


def test_facets_count_what_the_filters_find(data_client: TestClient) -> None:
    body = data_client.get("/v1/visits/facets", params={"facet_size": 50}).json()
    assert body["total"] == len(visit_records(BUNDLE))
    assert set(body["facets"]) == {"visitor", "country", "year"}
    as_filter = {
        "visitor": lambda v: {"actor": v, "role": "visitor"},
        "country": lambda v: {"country": v},
        "year": lambda v: {"start": v, "end": v},
    }
    for name, values in body["facets"].items():
        assert values, name
        for value in values:
            total = data_client.get("/v1/visits", params=as_filter[name](value["id"])).json()["total"]
            assert value["count"] == total, (name, value)
    narrowed = data_client.get("/v1/visits/facets", params={"country": "US", "facet": "visitor"}).json()
    assert narrowed["total"] == len(ids(data_client.get("/v1/visits", params={"country": "US"})))
    problem(data_client.get("/v1/visits/facets", params={"facet": "topic"}), 400, "facet")


def test_csv_is_a_travel_table_with_one_row_per_visit(data_client: TestClient) -> None:
    visits = all_pages(data_client, "/v1/visits", 500)
    for response in (
        data_client.get("/v1/visits", params={"format": "csv"}),
        data_client.get("/v1/visits", headers={"Accept": "text/csv"}),
        data_client.get("/v1/visits/export.csv"),
    ):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        table = pd.read_csv(io.StringIO(response.text), dtype=str, keep_default_na=False)
        assert {"traveller", "country", "locale", "start", "end", "precision", "remarks", "sources"} <= set(
            table.columns
        )
        assert list(table["id"]) == [v["id"] for v in visits]  # one row per visit, in list order
        for row, visit in zip(table.to_dict("records"), visits, strict=True):
            assert row["traveller"] == ((visit["visitor"] or {}).get("name") or "")
            assert row["country"] == visit["destination"]["country"]
            assert row["locale"] == visit["destination"]["name"]
            assert (row["start"], row["end"]) == (visit["date"]["start"], visit["date"]["end"])
            assert row["precision"] == visit["date"]["precision"]
            assert row["quantity"] == str(visit["quantity"] or 1)  # a travel table counts each row as its trips
            assert row["remarks"] == visit["summary"]
            for locator in visit["locators"]:
                assert f"{locator['source']}, {locator['section']}" in row["sources"]
    filtered = data_client.get("/v1/visits/export.csv", params={"country": "PK"}).text
    assert len(pd.read_csv(io.StringIO(filtered))) == len(ids(data_client.get("/v1/visits", params={"country": "PK"})))
    ndjson = data_client.get("/v1/visits/export.ndjson").text.splitlines()
    assert [yaml.safe_load(line)["id"] for line in ndjson] == [v["id"] for v in visits]


def test_openapi_operations(data_client: TestClient) -> None:
    spec = data_client.get("/openapi.json").json()
    operations = {op["operationId"]: (path, op) for path, ops in spec["paths"].items() for op in ops.values()}
    for name in ("listVisits", "getVisit", "getVisitFacets", "exportVisitsCsv", "exportVisitsNdjson"):
        path, operation = operations[name]
        assert path.startswith("/v1/visits")
        assert "application/problem+json" in operation["responses"]["400"]["content"]
    assert "404" in operations["getVisit"][1]["responses"]
    listed = operations["listVisits"][1]
    assert "format" not in {p["name"] for p in listed["parameters"]}  # clients use the export operations
    schema = listed["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("Page_VisitOut_")


def test_one_write_path_updates_both_views(migrated_db: str, tmp_path: Path) -> None:
    """No copy: replacing the bundle changes the visit and its event together."""
    load_into(migrated_db, TEST_BUNDLE)
    changed = tmp_path / "bundle"
    shutil.copytree(TEST_BUNDLE, changed)
    events_file = changed / "events.yaml"
    document = yaml.safe_load(events_file.read_text())
    for event in document["events"]:
        if event["id"] == "september-visit":
            event["type"] = "meeting"
        if event["id"] == "ann-visits-beta":
            event["participants"] = [p for p in event["participants"] if p["role"] != "host"]
    events_file.write_text(yaml.safe_dump(document, sort_keys=False))

    from app.db import make_engine, session_factory
    from app.importers.bundle import import_bundle, read_bundle

    engine = make_engine(migrated_db)
    with session_factory(engine).begin() as session:
        import_bundle(session, read_bundle(changed), replace=True)
    engine.dispose()
    app = create_app(Settings(database_url=migrated_db, rate_limit_per_minute=0))
    with TestClient(app) as api:
        assert "september-visit" not in ids(api.get("/v1/visits"))
        problem(api.get("/v1/visits/september-visit"), 404, None)
        assert api.get("/v1/events/september-visit").json()["type"] == "meeting"
        assert api.get("/v1/visits/ann-visits-beta").json()["host"] is None
    app.state.engine.dispose()


def test_visit_exports_and_facets_are_rate_limited_like_the_events(test_db: str) -> None:
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=60, rate_limit_burst=2))
    with TestClient(app) as api:
        pages = [api.get("/v1/visits").status_code for _ in range(4)]  # pages are not limited
        exports = [
            api.get("/v1/visits", params={"format": "csv"}).status_code,
            api.get("/v1/visits", headers={"Accept": "text/csv"}).status_code,
            api.get("/v1/visits/export.ndjson").status_code,
            api.get("/v1/visits/facets").status_code,
        ]
    app.state.engine.dispose()
    assert pages == [200] * 4
    assert exports == [200, 200, 429, 429]
