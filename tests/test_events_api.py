"""The events list: filters, pagination and errors, checked against the test bundle itself."""

from __future__ import annotations

import datetime as dt

import pytest

from app.dates import parse_edtf, parse_query_bound
from tests.helpers import all_pages, bundle_records, ids, problem


def bundle_events() -> list[dict]:
    return bundle_records("events")


def span(event: dict):
    return parse_edtf(str(event["date"]))


def topic_and_descendants(topic_ids: list[str]) -> set[str]:
    found, stack = set(), list(topic_ids)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack += [t["id"] for t in bundle_records("topics") if t.get("parent") == current]
    return found


def brute_force(actor: str | None = None, role: str | None = None, topic: str | None = None) -> list[str]:
    """The ids the actor/role/topic filters must find, worked out from the bundle's YAML."""
    roles = role.split(",") if role else None
    topics = topic_and_descendants(topic.split(",")) if topic else None
    matches = []
    for event in bundle_events():
        participants = event["participants"]
        if actor and not any(
            p["actor"] in actor.split(",") and (roles is None or p["role"] in roles) for p in participants
        ):
            continue
        if roles and not actor and not any(p["role"] in roles for p in participants):
            continue
        if topics is not None and not topics & set(event["topics"]):
            continue
        matches.append(event["id"])
    return sorted(matches)


def test_event_item_has_the_contract_shape(client):
    item = client.get("/v1/events/summit-meeting").json()
    assert set(item) >= {
        "id",
        "type",
        "title",
        "summary",
        "date",
        "location",
        "participants",
        "topics",
        "citations",
        "locators",
        "notes",
        "quantity",
        "parent",
    }
    assert item["date"] == {
        "edtf": "2019-07-22",
        "start": "2019-07-22",
        "end": "2019-07-22",
        "precision": "day",
        "approximate": False,
        "uncertain": False,
    }
    assert item["location"] == {"name": "Beta City", "country": "BB"}
    assert item["participants"][0] == {
        "actor": {"id": "ann-leader", "name": "Ann Leader", "kind": "person"},
        "role": "participant",
    }
    assert item["topics"] == [{"id": "training", "label": "Training"}]
    # Exactly the citations of the event's footnotes, with the fields the bundle gives them.
    summit = next(e for e in bundle_events() if e["id"] == "summit-meeting")
    footnotes = {locator["footnote"] for locator in summit["locators"] if "footnote" in locator}
    assert item["citations"] == [
        {k: c[k] for k in ("id", "url", "title", "publisher", "issued", "footnote", "source")}
        for c in bundle_records("citations")
        if c["footnote"] in footnotes
    ]
    assert {k: item["citations"][0][k] for k in ("id", "url", "footnote", "issued", "publisher")} == {
        "id": "cite-two",
        "url": "http://example.org/two",
        "footnote": 2,
        "issued": "2019-07-22",
        "publisher": "Beta Ministry",
    }
    assert item["locators"] == [
        {"source": "test-brief", "section": "chronology", "paragraph": 2, "footnote": 2, "note": None}
    ]
    assert item["parent"] == "ann-visits-beta"
    assert item["quotes"][0]["speaker"]["id"] == "bob-minister"
    assert item["codes"] == {"plover": "CONSULT", "cameo": "040"}


def test_list_envelope_and_default_order(client):
    body = client.get("/v1/events").json()
    assert set(body) >= {"items", "next_cursor", "total"}
    assert body["total"] == len(bundle_events()) and body["next_cursor"] is None
    expected = sorted(bundle_events(), key=lambda e: (span(e).start, e["id"]))
    assert [i["id"] for i in body["items"]] == [e["id"] for e in expected]
    newest = client.get("/v1/events", params={"sort": "-date"}).json()
    assert [i["id"] for i in newest["items"]] == [e["id"] for e in reversed(expected)]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2018-09-15", "2018-09-15"),  # inside a month-precision event
        ("2019-07-22", "2019-07-22"),  # inside a three-day visit
        ("2019-07", "2019-07"),
        ("2019", None),
        (None, "2018"),
        ("2019-07-24", "2019-12-31"),
        ("2020-01-15", "2020-01-15"),
        ("2021", "2022"),
    ],
)
@pytest.mark.parametrize("date_match", ["overlaps", "within"])
def test_date_filters_match_a_brute_force_filter(client, start, end, date_match):
    lower = parse_query_bound(start, upper=False) if start else dt.date.min
    upper = parse_query_bound(end, upper=True) if end else dt.date.max

    def matches(event: dict) -> bool:
        s = span(event)
        if date_match == "within":
            return s.start >= lower and s.end is not None and s.end <= upper
        return s.start <= upper and (s.end is None or s.end >= lower)

    params = {k: v for k, v in {"start": start, "end": end, "date_match": date_match}.items() if v}
    got = ids(client.get("/v1/events", params=params))
    assert sorted(got) == sorted(e["id"] for e in bundle_events() if matches(e))


def test_a_month_event_is_found_by_a_day_inside_it_and_not_within(client):
    assert "september-visit" in ids(client.get("/v1/events", params={"start": "2018-09-15", "end": "2018-09-15"}))
    assert "september-visit" not in ids(
        client.get("/v1/events", params={"start": "2018-09-15", "end": "2018-09-15", "date_match": "within"})
    )


def test_repeated_actor_means_all_and_comma_means_any(client):
    both = ids(client.get("/v1/events", params=[("actor", "ann-leader"), ("actor", "bob-minister")]))
    either = ids(client.get("/v1/events", params={"actor": "ann-leader,bob-minister"}))
    assert both == ["summit-meeting"]
    assert sorted(either) == ["ann-visits-beta", "september-visit", "summit-meeting"]


def test_role_applies_to_the_named_actor(client):
    assert ids(client.get("/v1/events", params={"actor": "ann-leader", "role": "visitor"})) == ["ann-visits-beta"]
    assert ids(client.get("/v1/events", params={"actor": "bob-minister", "role": "host"})) == []
    hosts = ids(client.get("/v1/events", params={"role": "host"}))
    assert sorted(hosts) == ["ann-visits-beta", "september-visit"]


def test_topic_includes_subtopics(client):
    security = ids(client.get("/v1/events", params={"topic": "security"}))
    assert sorted(security) == ["ann-visits-beta", "repeated-visits", "summit-meeting"]  # training is under security
    relations = ids(client.get("/v1/events", params={"topic": "relations"}))
    assert set(security) < set(relations)


def test_type_country_source_parent_filters(client):
    assert sorted(ids(client.get("/v1/events", params={"type": "visit"}))) == [
        "ann-visits-beta",
        "repeated-visits",
        "september-visit",
    ]
    assert ids(client.get("/v1/events", params={"type": "statement,meeting", "country": "BB"})) == ["summit-meeting"]
    assert len(ids(client.get("/v1/events", params={"source": "test-brief"}))) == len(bundle_events())
    assert ids(client.get("/v1/events", params={"parent": "ann-visits-beta"})) == ["summit-meeting"]


def test_full_text_is_case_insensitive_needs_every_word_and_has_no_sql_wildcards(client):
    assert ids(client.get("/v1/events", params={"q": "TRAINING cooperation"})) == ["summit-meeting"]
    assert ids(client.get("/v1/events", params={"q": "training tariffs"})) == []
    assert ids(client.get("/v1/events", params={"q": "100%"})) == ["trade-statement"]
    problem(client.get("/v1/events", params={"q": "%"}), 400, "q")  # no word to find
    # words, not substrings: "tariffs_and" is the two words "tariffs and"; LIKE's "_" matches nothing special
    assert ids(client.get("/v1/events", params={"q": "tariffs_and"})) == ["trade-statement"]
    assert ids(client.get("/v1/events", params={"q": "s_a"})) == []
    assert ids(client.get("/v1/events", params={"q": "beta city"})) == ["ann-visits-beta", "summit-meeting"]


@pytest.mark.parametrize("sort", ["date", "-date"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_cursor_pages_return_every_match_once_in_order(client, sort, limit):
    everything = ids(client.get("/v1/events", params={"sort": sort, "limit": 500}))
    assert sorted(everything) == sorted(e["id"] for e in bundle_events())
    paged = [item["id"] for item in all_pages(client, "/v1/events", limit, sort=sort)]
    assert paged == everything


def test_cursor_pages_keep_the_filters_and_total(client):
    first = client.get("/v1/events", params={"topic": "relations", "limit": 1}).json()
    second = client.get("/v1/events", params={"topic": "relations", "limit": 1, "cursor": first["next_cursor"]}).json()
    assert first["total"] == second["total"] == 4
    assert first["items"][0]["id"] != second["items"][0]["id"]


@pytest.mark.parametrize(
    ("params", "parameter", "fragment"),
    [
        ({"start": "2019-13-01"}, "start", "2019-13-01"),
        ({"end": "July"}, "end", "YYYY"),
        ({"start": "2020", "end": "2019"}, "end", "before start"),
        ({"limit": "0"}, "limit", "greater than or equal to 1"),
        ({"limit": "501"}, "limit", "less than or equal to 500"),
        ({"limit": "ten"}, "limit", "integer"),
        ({"actor": "imran-kahn"}, "actor", "imran-kahn"),
        ({"topic": "kashmir"}, "topic", "kashmir"),
        ({"type": "vist"}, "type", "vist"),
        ({"role": "guest"}, "role", "guest"),
        ({"source": "nope"}, "source", "nope"),
        ({"country": "pak"}, "country", "ISO 3166-1"),
        ({"sort": "title"}, "sort", "date"),
        ({"date_match": "inside"}, "date_match", "overlaps"),
        ({"actr": "x"}, "actr", "unknown parameter"),
        ({"cursor": "forged"}, "cursor", "not a cursor"),
        ({"actor": ","}, "actor", "empty value"),
        ({"q": " "}, "q", "at least one word"),
    ],
)
def test_bad_parameters_get_a_problem_naming_them(client, params, parameter, fragment):
    body = problem(client.get("/v1/events", params=params), 400, parameter)
    assert fragment in body["detail"]


def test_a_cursor_for_another_sort_or_edited_is_refused(client):
    cursor = client.get("/v1/events", params={"limit": 1}).json()["next_cursor"]
    problem(client.get("/v1/events", params={"limit": 1, "cursor": cursor, "sort": "-date"}), 400, "cursor")
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    problem(client.get("/v1/events", params={"limit": 1, "cursor": tampered}), 400, "cursor")


def test_unknown_event_is_a_404_problem(client):
    body = problem(client.get("/v1/events/no-such-event"), 404, None)
    assert "no-such-event" in body["detail"]
    problem(client.get("/v1/nothing-here"), 404, None)


@pytest.mark.parametrize("broad", [0, 10**9])
def test_selective_and_broad_plans_return_the_same_events(client, monkeypatch, broad):
    """The actor/role/topic filters pick IN or EXISTS by a probe; both phrasings must find what the bundle says."""
    from sqlalchemy import event

    from app.queries import plan

    queries = [
        {"actor": "ann-leader"},
        {"actor": "ann-leader,bob-minister", "role": "participant"},
        {"role": "host"},
        {"topic": "relations"},
        {"topic": "security", "actor": "gamma-org"},
    ]
    monkeypatch.setattr(plan, "BROAD", broad)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    got, exists_used = [], []
    engine = client.app.state.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for q in queries:
            statements.clear()
            got.append(sorted(ids(client.get("/v1/events", params=q))))
            if "actor" not in q:  # (an actor is walked, and a walk probes links with EXISTS whatever BROAD is)
                exists_used.append(any("EXISTS" in s for s in statements))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert got == [brute_force(**q) for q in queries] and all(got)
    # The patched threshold took effect: 0 makes every link filter an EXISTS, 10**9 an IN.
    assert exists_used == [broad == 0] * 2


def test_totals_are_exact_up_to_the_cap(client, monkeypatch):
    from app.queries import execute

    body = client.get("/v1/events").json()
    assert body["total_exact"] is True and body["total"] == len(bundle_events())
    monkeypatch.setattr(execute, "TOTAL_CAP", 2)
    capped = client.get("/v1/events", params={"limit": 1}).json()
    assert capped["total"] == 2 and capped["total_exact"] is False
    assert len(all_pages(client, "/v1/events", 2)) == len(bundle_events())  # the cap never hides records


def test_with_an_actor_repeated_roles_must_all_be_held(client):
    """`role` follows the rule of every filter: repeated = all, comma = any; with `actor`, that actor holds them."""
    events = bundle_events()

    def held(event: dict, actor: str) -> set[str]:
        return {p["role"] for p in event["participants"] if p["actor"] == actor}

    actor = "ann-leader"
    for roles in (["visitor"], ["participant"], ["visitor", "participant"], ["visitor,participant"]):
        groups = [set(r.split(",")) for r in roles]
        expected = sorted(e["id"] for e in events if all(held(e, actor) & g for g in groups))
        found = ids(client.get("/v1/events", params=[("actor", actor)] + [("role", r) for r in roles]))
        assert sorted(found) == expected, roles
    assert ids(client.get("/v1/events", params=[("actor", actor), ("role", "visitor,participant")]))
    assert not ids(client.get("/v1/events", params=[("actor", actor), ("role", "visitor"), ("role", "participant")]))


@pytest.mark.parametrize("value", ["2019-XX", "2019-21", "2019-02-30", "0000", "2019-7"])
def test_date_bounds_are_calendar_days_months_or_years(client, value):
    problem(client.get("/v1/events", params={"start": value}), 400, "start")
