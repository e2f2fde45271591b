"""Each filter is declared once (app.queries.resources) and everything else is derived from it: the
served OpenAPI documents exactly the declared parameters, every declared filter is reachable as a
parameter, and every declared example is a working value that really filters."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.queries import aggregations, resources
from app.queries.plan import Purpose, plan
from app.queries.resources import LIMIT, RESOURCES, Resource, cursor_param

# The list endpoint of each resource, and the event endpoints that take the event filters.
LISTS = {
    "/v1/events": resources.EVENTS,
    "/v1/agreements": resources.AGREEMENTS,
    "/v1/actors": resources.ACTORS,
    "/v1/citations": resources.CITATIONS,
    "/v1/topics": resources.TOPICS,
    "/v1/sources": resources.SOURCES,
    "/v1/events/facets": resources.EVENTS,
    "/v1/events/timeline": resources.EVENTS,
    "/v1/actors/{actor_id}/network": resources.EVENTS,
    "/v1/cite": resources.EVENTS,
    **{f"/v1/events/export.{ext}": resources.EVENTS for ext in ("csv", "ndjson", "ics", "geojson")},
    **{f"/v1/citations/export.{ext}": resources.CITATIONS for ext in ("json", "ris", "bib")},
    "/v1/visits": resources.VISITS,
    "/v1/visits/facets": resources.VISITS,
    **{f"/v1/visits/export.{ext}": resources.VISITS for ext in ("csv", "ndjson")},
}
# Parameters that shape the answer rather than select records, per endpoint.
CONTROLS = {
    # `format=` works on the lists but is left out of OpenAPI: generated clients use the export operations.
    "/v1/events": {"limit", "cursor", "sort"},
    "/v1/agreements": {"limit", "cursor", "sort"},
    "/v1/actors": {"limit", "cursor", "sort"},
    "/v1/citations": {"limit", "cursor", "sort"},
    "/v1/topics": {"limit", "cursor", "sort"},
    "/v1/sources": {"limit", "cursor", "sort"},
    "/v1/events/facets": {"facet", "facet_size"},
    "/v1/events/timeline": {"interval"},
    "/v1/actors/{actor_id}/network": {"limit"},
    "/v1/cite": set(),
    **{f"/v1/events/export.{ext}": {"sort"} for ext in ("ndjson", "ics", "geojson")},
    # CSV's own options; on the list (`format=csv`) they are left out of OpenAPI like `format`.
    "/v1/events/export.csv": {"sort", "escape_formulas", "bom"},
    **{f"/v1/citations/export.{ext}": {"sort"} for ext in ("json", "ris", "bib")},
    "/v1/visits": {"limit", "cursor", "sort"},
    "/v1/visits/facets": {"facet", "facet_size"},
    "/v1/visits/export.csv": {"sort", "escape_formulas", "bom"},
    "/v1/visits/export.ndjson": {"sort"},
}


def query_parameters(spec: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in spec["paths"][path]["get"].get("parameters", []) if p["in"] == "query"}


def test_every_documented_parameter_is_a_declared_filter_or_control_and_back(data_client: TestClient) -> None:
    spec = data_client.get("/openapi.json").json()
    with_query = {
        path
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for p in op.get("parameters", [])
        if p["in"] == "query" and method == "get"
    }
    # The change feed and each record's history page through the change log, not a filtered resource: their
    # parameters are controls only.
    change_log = {"/v1/changes"} | {path for path in with_query if path.endswith("/history")}
    for path in change_log:
        assert set(query_parameters(spec, path)) == {"since", "limit"}, path
    with_query -= change_log
    assert with_query == set(LISTS), "an endpoint takes query parameters that no declaration covers"
    for path, resource in LISTS.items():
        documented = set(query_parameters(spec, path))
        declared = {p.name for p in resource.filter_params}
        assert documented == declared | CONTROLS[path], path


def test_every_declared_filter_is_served_by_its_list_endpoint(data_client: TestClient) -> None:
    spec = data_client.get("/openapi.json").json()
    served = {resource.name for resource in LISTS.values()}
    assert served == {r.name for r in RESOURCES}
    for resource in RESOURCES:
        path = f"/v1/{resource.name}s"
        documented = query_parameters(spec, path)
        for declared in resource.filters:
            assert declared.params and all(p.name in documented for p in declared.params), (resource.name, declared.key)


def test_vocabularies_are_enums_in_openapi(data_client: TestClient) -> None:
    spec = data_client.get("/openapi.json").json()

    def enum(path: str, name: str) -> list[str]:
        schema = query_parameters(spec, path)[name]["schema"]
        schema = schema.get("items", schema)
        return schema.get("enum") or next(s["enum"] for s in schema.get("anyOf", []) if "enum" in s)

    vocabularies = data_client.get("/v1/vocabularies").json()
    assert set(enum("/v1/events", "type")) == set(vocabularies["event_types"])
    assert set(enum("/v1/events", "role")) == set(vocabularies["roles"])
    assert set(enum("/v1/actors", "kind")) == set(vocabularies["actor_kinds"])
    assert set(enum("/v1/agreements", "kind")) == set(vocabularies["agreement_kinds"])
    assert set(enum("/v1/agreements", "status")) == set(vocabularies["agreement_statuses"])
    assert set(enum("/v1/events", "sort")) == {"date", "-date", "relevance"}  # relevance: every resource with `q`
    assert set(enum("/v1/citations", "sort")) == {"footnote", "issued", "id", "relevance"}
    assert set(enum("/v1/topics", "sort")) == {"id", "relevance"}
    assert set(enum("/v1/events/facets", "facet")) == set(aggregations.FACETS)
    assert set(enum("/v1/visits/facets", "facet")) == set(aggregations.VISIT_FACETS)
    assert set(enum("/v1/visits", "role")) == {"visitor", "host"}
    assert set(enum("/v1/events/timeline", "interval")) == {"year", "month", "day"}
    assert data_client.get("/v1/events", params={"format": "csv"}).headers["content-type"].startswith("text/csv")


def test_comma_lists_of_vocabulary_terms_are_accepted(data_client: TestClient) -> None:
    both = data_client.get("/v1/events", params={"type": "mediation_offer,denial"}).json()["total"]
    each = [data_client.get("/v1/events", params={"type": t}).json()["total"] for t in ("mediation_offer", "denial")]
    assert both == sum(each) > 0


def _example_values(resource: Resource) -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for declared in resource.filters:
        raw = {p.name: p.example for p in declared.params if p.name != "date_match"}
        cases.append((declared.key, raw))
    return cases


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_every_example_is_a_working_value_that_filters(data_client: TestClient, resource: Resource) -> None:
    """Each declared filter's example resolves (no 400) to a set filter on the bundled data, so no
    parameter is silently ignored and /docs' "Try it out" works as written."""
    with data_client.app.state.sessions() as session:
        for key, raw in _example_values(resource):
            planned = plan(session, resource, raw, Purpose.PAGE)
            assert key in planned.values, (resource.name, key, raw)


def test_example_requests_answer_200_with_matches(data_client: TestClient) -> None:
    for path, resource in LISTS.items():
        if "{" in path:
            continue
        for _key, raw in _example_values(resource):
            response = data_client.get(path, params=raw)
            assert response.status_code == 200, (path, raw, response.text)
    for control in (LIMIT, *map(cursor_param, RESOURCES)):
        assert control.description and control.example


def test_a_parameter_is_declared_by_one_filter_only() -> None:
    from app.queries.filters import Param, Words

    with pytest.raises(ValueError, match="declared by two filters"):
        Resource(
            "twice",
            object,
            (Words(Param("q", str, None, "a", "b"), None), Words(Param("q", str, None, "c", "d"), None)),
            resources.TOPICS.sorting,
        )
