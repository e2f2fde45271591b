"""Cursors carry positions; whatever a signed cursor holds, the answer is a page or a 400 naming `cursor`,
never a server error (minted with the real signing key, so they pass the signature check)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.queries.pagination import EXAMPLE_KEY, encode_cursor, query_fingerprint
from app.queries.resources import ACTORS, CITATIONS, EVENTS
from app.settings import Settings


def signing_key(app: FastAPI) -> bytes:
    with app.state.sessions() as session:
        key: bytes = app.state.cursor_signing.key(session)
    return key


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["0001-01-01", "9999-12-31", "2019-02-30", "\x00", "-0001-01-01", "2019-07-22T10:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
LISTS = [("/v1/events", EVENTS, "date"), ("/v1/events", EVENTS, "-date"), ("/v1/actors", ACTORS, "name")]
LISTS += [("/v1/citations", CITATIONS, "footnote"), ("/v1/citations", CITATIONS, "issued")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.sampled_from(LISTS), values=st.lists(json_values, min_size=1, max_size=4), actor=st.booleans())
@example(choice=LISTS[0], values=["2019-07-01", ""], actor=False)  # a real position: a page
@example(choice=LISTS[3], values=["test-brief", 2**70, ""], actor=False)  # beyond a 64-bit column
@example(choice=LISTS[3], values=["test-brief", 1e300, ""], actor=False)
@example(choice=LISTS[0], values=["2019-07-01", "\x00"], actor=True)
@example(choice=LISTS[0], values=["2019-07-01", "\ud800"], actor=False)  # a lone surrogate: valid JSON, not UTF-8
def test_a_signed_cursor_with_any_values_is_a_page_or_a_400(client, choice, values, actor):
    path, resource, sort = choice
    params = {"sort": sort, "limit": 2}
    if actor and resource is EVENTS:
        params["actor"] = "ann-leader"  # the walk's keys, too
    filters = {p.name: p.default for p in resource.filter_params} | {k: v for k, v in params.items() if k == "actor"}
    if "actor" in filters:
        filters["actor"] = [filters["actor"]]
    cursor = encode_cursor(sort, values, query_fingerprint(resource.name, filters), signing_key(client.app))
    response = client.get(path, params={**params, "cursor": cursor})
    assert response.status_code in (200, 400), response.text[:300]
    if response.status_code == 400:
        assert response.json()["parameter"] == "cursor"


def _second_page(client: TestClient) -> tuple[str, dict]:
    first = client.get("/v1/events", params={"limit": 2}).json()
    assert first["next_cursor"]
    return first["next_cursor"], client.get("/v1/events", params={"limit": 2, "cursor": first["next_cursor"]}).json()


def test_every_process_on_one_database_accepts_the_others_cursors(client, test_db):
    # The key is the database's (stored by the migrations), not the process's: a second app instance (another
    # worker, another machine) continues a listing the first began.
    cursor, page = _second_page(client)
    other = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))
    with TestClient(other) as second:
        assert second.get("/v1/events", params={"limit": 2, "cursor": cursor}).json()["items"] == page["items"]
    other.state.engine.dispose()


def test_cursors_of_another_deployment_or_the_docs_key_are_refused(client, migrated_db, test_db):
    cursor, _ = _second_page(client)
    fingerprint = query_fingerprint("event", {p.name: p.default for p in EVENTS.filter_params})
    minted = encode_cursor("date", ["2019-07-01", ""], fingerprint, EXAMPLE_KEY)
    assert client.get("/v1/events", params={"limit": 2, "cursor": minted}).status_code == 400
    # Another database was migrated separately: its key differs.
    other = create_app(Settings(database_url=migrated_db, rate_limit_per_minute=0))
    assert signing_key(other) != signing_key(client.app)
    other.state.engine.dispose()
    # CURSOR_SECRET replaces the stored key: cursors signed with the stored one are refused, its own accepted.
    configured = create_app(Settings(database_url=test_db, rate_limit_per_minute=0, cursor_secret="s" * 32))
    with TestClient(configured) as third:
        refused = third.get("/v1/events", params={"limit": 2, "cursor": cursor})
        assert refused.status_code == 400 and refused.json()["parameter"] == "cursor"
        own = third.get("/v1/events", params={"limit": 2}).json()["next_cursor"]
        assert third.get("/v1/events", params={"limit": 2, "cursor": own}).status_code == 200
    configured.state.engine.dispose()


def test_the_documented_cursor_example_works_here(client):
    document = client.get("/openapi.json").json()
    (parameter,) = [p for p in document["paths"]["/v1/events"]["get"]["parameters"] if p["name"] == "cursor"]
    response = client.get("/v1/events", params={"cursor": parameter["example"]})
    assert response.status_code == 200, response.text
