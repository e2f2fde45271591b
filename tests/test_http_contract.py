"""The HTTP contract as caches, proxies, browsers and generated clients read it (RFC 9110, RFC 9457,
OpenAPI). Each test is one kind of fault, checked everywhere it can occur."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.helpers import problem

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def spec(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def operations(client: TestClient) -> list[tuple[str, dict[str, Any]]]:
    """The read operations (writes have their own tests: tests/test_curation.py). A past revision's number
    (`…/history/{seq}`) depends on the order the database was written in, so its example cannot be fixed."""
    return [
        (path, op)
        for path, ops in spec(client)["paths"].items()
        for method, op in ops.items()
        if method == "get" and not path.endswith("/history/{seq}")
    ]


def example_url(path: str, operation: dict[str, Any]) -> str:
    """The operation's path with each path parameter replaced by its documented example."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(parameter["schema"]["examples"][0]))
    return path


def query_examples(operation: dict[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            examples = parameter.get("schema", {}).get("examples") or [parameter.get("example")]
            found.append((parameter["name"], examples[0]))
    return found


# --- 10. every example in the OpenAPI document works against the bundled data -----------------------


def test_every_documented_example_succeeds(data_client: TestClient) -> None:
    tried = 0
    for path, operation in operations(data_client):
        url = example_url(path, operation)
        assert data_client.get(url).status_code == 200, url
        for name, value in query_examples(operation):
            if name == "date_match":
                params: dict[str, Any] = {name: value, "start": "2019"}
            else:
                params = {name: value}
            response = data_client.get(url, params=params)
            assert response.status_code == 200, (url, params, response.text[:300])
            body = response.json() if response.headers["content-type"] == "application/json" else None
            if isinstance(body, dict) and "total" in body and name not in ("cursor", "limit", "sort"):
                assert body["total"] > 0, ("an example that finds nothing", url, params)
            tried += 1
    assert tried > 100


def test_swagger_ui_prefills_every_parameter(data_client: TestClient) -> None:
    for path, operation in operations(data_client):
        for parameter in operation.get("parameters", []):
            assert "example" in parameter, (path, parameter["name"])


def test_response_schema_examples_name_real_records(data_client: TestClient) -> None:
    schemas = spec(data_client)["components"]["schemas"]
    for name, path in (("CitationRef", "/v1/citations/"), ("RelationOut", "/v1/events/"), ("TopicRef", "/v1/topics/")):
        field = "event" if name == "RelationOut" else "id"
        example = schemas[name]["properties"][field]["examples"][0]
        assert data_client.get(path + example).status_code == 200, (name, example)


def test_links_in_the_api_description_succeed(data_client: TestClient) -> None:
    description = spec(data_client)["info"]["description"]
    queries = re.findall(r"`([a-z_]+=[^`]+)`", description)
    assert queries, "the description shows example filters"
    for query in queries:
        response = data_client.get("/v1/events?" + query)
        assert response.status_code == 200, (query, response.text[:200])


# --- 1. HEAD ---------------------------------------------------------------------------------------


def test_every_get_route_answers_head_like_get_without_a_body(data_client: TestClient) -> None:
    for path, operation in operations(data_client):
        url = example_url(path, operation)
        for encoding in ("gzip", "identity"):
            get = data_client.get(url, headers={"Accept-Encoding": encoding})
            head = data_client.head(url, headers={"Accept-Encoding": encoding})
            assert head.status_code == get.status_code == 200, url
            assert head.content == b"", url
            for name in ("content-type", "content-length", "content-encoding", "etag", "vary", "x-dataset-version"):
                assert head.headers.get(name) == get.headers.get(name), (url, name)
    refused = data_client.post("/v1/events/facets")  # /v1/events takes POST now (a write)
    assert refused.status_code == 405 and set(refused.headers["allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


# --- 2. negotiation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json, text/csv;q=0.1", "application/json"),
        ("text/csv;q=0, application/json", "application/json"),
        ("application/json, text/calendar", "application/json"),
        ("*/*", "application/json"),
        (BROWSER, "application/json"),
        ("", "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv;q=0.9, application/json;q=0.5", "text/csv"),
        ("text/*", "text/csv"),
        ("text/calendar", "text/calendar"),
        ("application/geo+json;q=1, */*;q=0.1", "application/geo+json"),
    ],
)
def test_accept_is_weighed_by_q_value_and_specificity(data_client: TestClient, accept: str, expected: str) -> None:
    response = data_client.get("/v1/events", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert "Accept" in response.headers["vary"]


def test_nothing_acceptable_is_a_406_listing_what_is(data_client: TestClient) -> None:
    for path, accept in (("/v1/events", "image/png"), ("/v1/citations", "application/json;q=0, text/csv")):
        response = data_client.get(path, headers={"Accept": accept})
        assert response.status_code == 406 and response.headers["content-type"] == "application/problem+json"
        assert "application/json" in response.json()["detail"]
    assert "TY  - " in data_client.get("/v1/citations", headers={"Accept": "application/x-research-info-systems"}).text


# --- 3. caching metadata ------------------------------------------------------------------------------


def test_etags_identify_the_representation_sent_and_nothing_else(data_client: TestClient) -> None:
    tags = {
        data_client.get("/v1/events", headers={"Accept": a}).headers["etag"]
        for a in ("application/json", "*/*", BROWSER)
    }
    assert len(tags) == 1, "the same JSON body has one validator whatever the Accept header says"
    gzip = data_client.get("/v1/events", headers={"Accept-Encoding": "gzip"})
    identity = data_client.get("/v1/events", headers={"Accept-Encoding": "identity"})
    assert gzip.headers["content-encoding"] == "gzip" and "content-encoding" not in identity.headers
    assert gzip.headers["etag"] != identity.headers["etag"], "two codings of one URL are two representations"
    csv = data_client.get("/v1/events", headers={"Accept": "text/csv", "Accept-Encoding": "identity"})
    assert csv.headers["etag"] not in (identity.headers["etag"], gzip.headers["etag"])
    for validator in (gzip.headers["etag"], identity.headers["etag"]):
        again = data_client.get("/v1/events", headers={"If-None-Match": validator})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"]
    assert data_client.get("/v1/events", headers={"If-None-Match": csv.headers["etag"]}).status_code == 200


# --- 4. preconditions only for responses that would be 2xx --------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/v1/events/no-such-event", "/v1/no-such-path", "/v1/events?limit=0", "/v1/events?actor=nobody", "/problems/x"],
)
def test_preconditions_never_hide_an_error(data_client: TestClient, url: str) -> None:
    plain = data_client.get(url).status_code
    assert plain >= 400
    for headers in ({"If-None-Match": "*"}, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}):
        assert data_client.get(url, headers=headers).status_code == plain, headers


# --- 5. cursors are bound to their query ---------------------------------------------------------------


def test_a_cursor_is_refused_with_other_filters(data_client: TestClient) -> None:
    first = data_client.get("/v1/events", params={"limit": 2, "type": "visit"}).json()
    cursor = first["next_cursor"]
    assert cursor
    assert data_client.get("/v1/events", params={"limit": 2, "type": "visit", "cursor": cursor}).status_code == 200
    assert data_client.get("/v1/events", params={"limit": 5, "type": "visit", "cursor": cursor}).status_code == 200
    for other in ({"type": "meeting"}, {"type": "visit", "start": "2019"}, {}):
        response = data_client.get("/v1/events", params={"limit": 2, "cursor": cursor, **other})
        assert response.status_code == 400 and response.json()["parameter"] == "cursor", other


# --- 6. single-valued parameters take one value ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "/v1/events?q=kashmir&q=mediation",
        "/v1/events?start=2019&start=2020",
        "/v1/events?limit=1&limit=5",
        "/v1/events?sort=date&sort=-date",
        "/v1/actors?q=khan&q=trump",
        "/v1/events/timeline?interval=year&interval=month",
        "/v1/topics?parent=kashmir-dispute&parent=security-assistance",
    ],
)
def test_a_repeated_single_valued_parameter_is_a_400(data_client: TestClient, query: str) -> None:
    response = data_client.get(query)
    name = query.split("?")[1].split("=")[0]
    assert response.status_code == 400 and response.json()["parameter"] == name


def test_repeatable_parameters_still_repeat(data_client: TestClient) -> None:
    both = data_client.get("/v1/events", params=[("actor", "imran-khan"), ("actor", "donald-trump")])
    assert both.status_code == 200 and both.json()["total"] > 0


# --- 7. no client-supplied host in any URL the API writes -------------------------------------------------


def test_a_forged_host_never_enters_links_or_citations(data_client: TestClient) -> None:
    headers = {"Host": "evil.example"}
    page = data_client.get("/v1/events", params={"limit": 1}, headers=headers)
    cite = data_client.get("/v1/cite", params={"type": "visit"}, headers=headers).json()
    written = [page.json()["query_url"], page.headers["link"], cite["query_url"], cite["csl"]["URL"], cite["text"]]
    assert not any("evil.example" in text for text in written)


def test_absolute_urls_use_the_public_base_url(test_db: str) -> None:
    app = create_app(Settings(database_url=test_db, public_base_url="https://api.example.org/dip"))
    with TestClient(app) as client:
        page = client.get("/v1/events", params={"limit": 1})
        assert page.json()["query_url"] == "https://api.example.org/dip/v1/events"
        assert page.headers["link"].startswith("<https://api.example.org/dip/v1/events?")
        assert client.get("/v1/cite").json()["query_url"] == "https://api.example.org/dip/v1/events"
    app.state.engine.dispose()


# --- 8, 9. an OpenAPI document generated clients can trust ------------------------------------------------


def test_every_error_response_declares_the_problem_schema_under_its_media_type(data_client: TestClient) -> None:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    errors = 0
    for path, operation in operations(data_client):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and path != "/health":
                assert response.get("content") == problem, (path, status)
                errors += 1
    assert errors > 50
    required = set(spec(data_client)["components"]["schemas"]["Problem"]["required"])
    assert {"type", "title", "status", "detail", "instance", "parameter", "errors", "request_id"} <= required
    body = data_client.get("/v1/events", params={"limit": 0}).json()
    assert required <= set(body)


def test_operation_ids_are_short_stable_and_unique(data_client: TestClient) -> None:
    ids = [operation["operationId"] for _, operation in operations(data_client)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z]{2,30}", i) for i in ids), ids
    assert {"listEvents", "getEvent", "getActor", "listCitations", "exportEventsCsv", "exportCitationsRis"} <= set(ids)


def test_fields_always_sent_are_required_and_not_nullable(data_client: TestClient) -> None:
    schemas = spec(data_client)["components"]["schemas"]
    page = next(s for name, s in schemas.items() if name.startswith("Page_EventOut"))
    assert {"dataset_version", "query_url", "total_exact", "next_cursor"} <= set(page["required"])
    assert page["properties"]["dataset_version"]["type"] == "string"
    assert page["properties"]["query_url"]["type"] == "string"
    start = schemas["EventDateOut"]["properties"]["start"]
    assert start == {**start, "type": "string", "format": "date"}
    assert "start" in schemas["EventDateOut"]["required"]
    vocab = schemas["VocabulariesOut"]
    assert vocab["properties"]["event_types"]["additionalProperties"] == {"$ref": "#/components/schemas/EventTypeOut"}


def test_exports_are_operations_with_one_media_type(data_client: TestClient) -> None:
    paths = spec(data_client)["paths"]
    exports = {p: ops["get"] for p, ops in paths.items() if "/export." in p}
    assert len(exports) == 9  # events: 4, visits: 2, citations: 3
    for path, operation in exports.items():
        (media_type,) = operation["responses"]["200"]["content"]
        response = data_client.get(path, params={"start": "2019"})
        assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == media_type, path
        assert response.content


def test_browser_code_can_read_the_headers_it_needs(data_client: TestClient) -> None:
    response = data_client.get("/v1/events", headers={"Origin": "https://app.example"})
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "etag", "link", "x-dataset-version", "x-request-id"} <= exposed


# --- the same kinds, on other routes, headers and statuses -------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("Application/JSON", "application/json"),
        ("Application/Json, text/csv;q=0.1", "application/json"),
        ("TEXT/CALENDAR;q=0.5, application/json;q=0.1", "text/calendar"),
    ],
)
def test_media_types_are_case_insensitive(data_client: TestClient, accept: str, expected: str) -> None:
    response = data_client.get("/v1/events", headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == expected


def test_a_304_names_the_representation_the_client_holds(data_client: TestClient) -> None:
    gzip = data_client.get("/v1/events", headers={"Accept-Encoding": "gzip"})
    again = data_client.get("/v1/events", headers={"Accept-Encoding": "gzip", "If-None-Match": gzip.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == gzip.headers["etag"]
    assert {"accept", "accept-encoding"} <= {v.strip().lower() for v in again.headers["vary"].split(",")}


def test_static_files_revalidate_for_gzip_clients(data_client: TestClient) -> None:
    asset = "/docs/swagger-ui-bundle.js"
    first = data_client.get(asset, headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip" and first.headers["etag"].endswith('-gzip"')
    again = data_client.get(asset, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize("accept_encoding", ["gzip;q=0", "identity, gzip;q=0", "br"])
def test_accept_encoding_is_weighed_by_q_value(data_client: TestClient, accept_encoding: str) -> None:
    response = data_client.get("/v1/events", headers={"Accept-Encoding": accept_encoding})
    assert "content-encoding" not in response.headers


def test_no_redirect_carries_the_client_host(data_client: TestClient) -> None:
    response = data_client.get("/v1/events/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert "evil.example" not in response.headers.get("location", "")
    assert response.status_code == 404


@pytest.mark.parametrize("paging", ["limit=5", "limit=50", "limit=", "cursor=x"])  # 50: the page default
@pytest.mark.parametrize(
    ("path", "fmt", "accept"),
    [
        ("/v1/events", "csv", "text/csv"),
        ("/v1/events", "ics", "text/calendar"),
        ("/v1/visits", "ndjson", "application/x-ndjson"),
        ("/v1/citations", "ris", "application/x-research-info-systems"),
    ],
)
def test_an_export_refuses_limit_and_cursor_by_format_and_by_accept(data_client, paging, path, fmt, accept) -> None:
    """An export streams every match: `limit` and `cursor` are refused with every spelling of it (never a
    silently whole file), while the JSON page takes them."""
    name = paging.split("=")[0]
    for response in (
        data_client.get(f"{path}?format={fmt}&{paging}"),
        data_client.get(f"{path}?{paging}", headers={"Accept": accept}),
    ):
        body = problem(response, 400, name)
        if paging != "limit=":  # an empty limit is not a number, which is said first
            assert "streams every match" in body["detail"]
    if paging != "limit=":
        assert data_client.get(f"{path}?limit=5").status_code == 200
    # the export operations do not take them at all
    problem(data_client.get(f"{path}/export.{fmt}?{paging}"), 400, name)


def test_an_export_refuses_a_ruled_out_media_type(data_client: TestClient) -> None:
    ruled_out = data_client.get("/v1/events/export.csv", headers={"Accept": "text/csv;q=0"})
    assert ruled_out.status_code == 406 and "Accept" in ruled_out.headers["vary"]
    assert "Accept" in data_client.get("/v1/events", headers={"Accept": "image/png"}).headers["vary"]


def test_plain_options_lists_the_methods(data_client: TestClient) -> None:
    def allowed(path: str) -> set[str]:
        response = data_client.options(path)
        assert response.status_code == 204
        return set(response.headers["allow"].replace(" ", "").split(","))

    assert allowed("/v1/vocabularies") == {"GET", "HEAD", "OPTIONS"}
    assert allowed("/v1/events") == {"GET", "HEAD", "POST", "OPTIONS"}  # a create (tests/test_curation.py)
    assert allowed("/v1/events/some-id") == {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}


def test_every_spelling_of_an_export_request_is_rate_limited(test_db: str) -> None:
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=60, rate_limit_burst=2))
    with TestClient(app) as client:
        for accept in ("text/*", "*/csv", "TEXT/CSV"):
            statuses = [client.get("/v1/events", headers={"Accept": accept}).status_code for _ in range(3)]
            assert 429 in statuses, accept
        app2 = create_app(Settings(database_url=test_db, rate_limit_per_minute=60, rate_limit_burst=2))
        with TestClient(app2) as fresh:
            pages = [fresh.get("/v1/events", headers={"Accept": "application/json, text/csv;q=0"}) for _ in range(5)]
            assert all(p.status_code == 200 for p in pages), "JSON pages are not exports"
        app2.state.engine.dispose()
    app.state.engine.dispose()


def test_a_citation_of_a_query_changes_its_validator_with_its_access_date(data_client: TestClient, monkeypatch) -> None:
    import datetime as dt

    from app.routers import meta

    first = data_client.get("/v1/cite").headers["etag"]
    tomorrow = dt.date.today() + dt.timedelta(days=1)

    class Tomorrow(dt.date):
        @classmethod
        def today(cls):
            return tomorrow

    monkeypatch.setattr(meta.dt, "date", Tomorrow)
    assert data_client.get("/v1/cite", headers={"If-None-Match": first}).status_code == 200


def test_vary_names_each_header_once(data_client: TestClient) -> None:
    for encoding in ("gzip", "identity"):
        vary = data_client.get("/v1/events", headers={"Accept-Encoding": encoding}).headers["vary"]
        names = [v.strip().lower() for v in vary.split(",")]
        assert len(names) == len(set(names)) and "accept-encoding" in names, vary


def test_a_refused_cors_preflight_is_a_problem_document(test_db):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url=test_db, cors_origins=["https://app.example"], rate_limit_per_minute=0))
    with TestClient(app) as client:
        allowed = client.options(
            "/v1/events", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
        )
        assert allowed.status_code == 200
        refused = client.options(
            "/v1/events", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["parameter"] == "Origin"
    app.state.engine.dispose()
