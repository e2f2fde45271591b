"""Cursors carry positions; whatever a signed cursor holds, the answer is a page or a 400 naming `cursor`,
never a server error (minted with the real signing key, so they pass the signature check)."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.queries.pagination import encode_cursor, query_fingerprint
from app.queries.resources import ACTORS, CITATIONS, EVENTS

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
def test_a_signed_cursor_with_any_values_is_a_page_or_a_400(client, choice, values, actor):
    path, resource, sort = choice
    params = {"sort": sort, "limit": 2}
    if actor and resource is EVENTS:
        params["actor"] = "ann-leader"  # the walk's keys, too
    filters = {p.name: p.default for p in resource.filter_params} | {k: v for k, v in params.items() if k == "actor"}
    if "actor" in filters:
        filters["actor"] = [filters["actor"]]
    cursor = encode_cursor(sort, values, query_fingerprint(resource.name, filters))
    response = client.get(path, params={**params, "cursor": cursor})
    assert response.status_code in (200, 400), response.text[:300]
    if response.status_code == 400:
        assert response.json()["parameter"] == "cursor"
