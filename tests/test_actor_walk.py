"""Queries with `actor` walk the (actor, date) link index instead of the events table
(app.queries.plan.Shape.WALK). Both plans must give the same pages, totals and cursors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event

from app.dates import parse_edtf, parse_query_bound
from app.main import create_app
from app.queries import plan
from app.settings import Settings
from tests.helpers import DATA, all_pages, load_into

QUERIES = [
    {"actor": "imran-khan"},
    {"actor": "donald-trump", "start": "2019", "end": "2019-12"},
    {"actor": "imran-khan", "start": "2019-07-22", "end": "2019-07-22", "date_match": "within"},
    {"actor": "united-states", "topic": "kashmir-dispute"},
    {"actor": "pakistan,united-states", "type": "meeting,visit"},
    {"actor": "imran-khan", "role": "visitor"},
    {"actor": "imran-khan", "q": "washington"},
    {"actor": "mike-pompeo", "start": "2018-09"},
    {"actor": "united-states", "country": "US"},
]


def never_walk(monkeypatch) -> None:
    """Make every query take the events table instead of the walk."""
    choose = plan.choose_shape

    def table_only(resource, values, purpose, sort=None):
        shape = choose(resource, values, purpose, sort)
        if shape is not plan.Shape.WALK:
            return shape
        return plan.Shape.DATE_ORDER if purpose is plan.Purpose.PAGE else plan.Shape.WHOLE_SET

    monkeypatch.setattr(plan, "choose_shape", table_only)


@contextmanager
def walked_statements(client: TestClient) -> Iterator[list[bool]]:
    """For each SQL statement the app runs inside the block, whether it walks the (actor, date) index."""
    walked: list[bool] = []

    def record(conn, cursor, statement, *args):
        walked.append("event_participants AS walk" in statement)

    engine = client.app.state.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        yield walked
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)


def pages(client: TestClient, query: dict, sort: str, limit: int) -> tuple[list[str], list[tuple[int, bool]]]:
    items = all_pages(client, "/v1/events", limit, sort=sort, **query)
    first = client.get("/v1/events", params={**query, "sort": sort, "limit": limit}).json()
    return [i["id"] for i in items], [(first["total"], first["total_exact"])]


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_the_walk_and_the_events_table_give_the_same_pages(data_client: TestClient, monkeypatch, sort):
    with walked_statements(data_client) as plans:
        walked = {json.dumps(q): pages(data_client, q, sort, 2) for q in QUERIES}
    assert sum(len(ids) for ids, _ in walked.values()) > 30, "the queries should find events"
    assert any(plans), "the first run should walk the actor index"
    never_walk(monkeypatch)
    with walked_statements(data_client) as plans:
        for q in QUERIES:
            assert pages(data_client, q, sort, 2) == walked[json.dumps(q)], q
    assert plans and not any(plans), "without the walk the events table must answer"


def test_an_actor_in_two_roles_is_one_match_and_open_ends_match_alike(databases, tmp_path, monkeypatch):
    url = databases.new()
    from app.migrate import upgrade

    upgrade(url)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    source = "s"
    event = {
        "type": "meeting",
        "summary": "Test.",
        "topics": ["t"],
        "locators": [{"source": source, "section": "body", "paragraph": 1}],
    }
    (bundle / "bundle.json").write_text(
        json.dumps(
            {
                "sources": [
                    {"id": source, "title": "S", "sections": [{"key": "body", "title": "Body", "paragraphs": 3}]}
                ],
                "citations": [],
                "topics": [{"id": "t", "label": "T"}],
                "actors": [{"id": "a", "name": "A", "kind": "person"}, {"id": "b", "name": "B", "kind": "person"}],
                "events": [
                    {
                        **event,
                        "id": "two-roles",
                        "title": "Host and chair",
                        "date": "2019-01-02",
                        "participants": [
                            {"actor": "a", "role": "host"},
                            {"actor": "a", "role": "participant"},
                            {"actor": "b", "role": "visitor"},
                        ],
                    },
                    {
                        **event,
                        "id": "one-role",
                        "title": "Guest",
                        "date": "2019-01-01",
                        "participants": [{"actor": "a", "role": "visitor"}],
                    },
                    {
                        **event,
                        "id": "year",
                        "title": "Some day",
                        "date": "2017",
                        "participants": [{"actor": "b", "role": "host"}],
                    },
                    {
                        **event,
                        "id": "open-end",
                        "title": "Since",
                        "date": "2019-06/..",
                        "participants": [{"actor": "b", "role": "host"}],
                    },
                ],
            }
        )
    )
    load_into(url, bundle)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    with TestClient(app) as client:
        body = client.get("/v1/events", params={"actor": "a", "start": "2019"}).json()
        assert [i["id"] for i in body["items"]] == ["one-role", "two-roles"] and body["total"] == 2
        assert [i["id"] for i in all_pages(client, "/v1/events", 1, actor="a", sort="-date")] == [
            "two-roles",
            "one-role",
        ]
        roles = client.get("/v1/events", params={"actor": "a", "role": "host,participant"}).json()
        assert [i["id"] for i in roles["items"]] == ["two-roles"] and roles["total"] == 1
        csv_lines = client.get("/v1/events", params={"actor": "a", "format": "csv"}).text.strip().splitlines()
        assert [line.split(",")[0] for line in csv_lines[1:]] == ["one-role", "two-roles"]

        # An open end is stored as the latest day on the walk: the same events must match as on the events table.
        ranges = [{}, {"start": "2018"}, {"end": "2018"}, {"start": "2019-03"}, {"start": "2030"}, {"end": "1950"}]
        queries = [{"actor": "b", **r, **m} for r in ranges for m in ({}, {"date_match": "within"})]

        def answers() -> list[tuple[list[str], int]]:
            bodies = [client.get("/v1/events", params=q).json() for q in queries]
            return [(sorted(i["id"] for i in b["items"]), b["total"]) for b in bodies]

        # Brute force: a missing range end and an open event end are infinite; `within` wants every day
        # the event may denote inside the range, `overlaps` any.
        b_dates = {"year": "2017", "open-end": "2019-06/..", "two-roles": "2019-01-02"}

        def expected(q: dict) -> tuple[list[str], int]:
            low = parse_query_bound(q["start"], upper=False) if "start" in q else dt.date.min
            high = parse_query_bound(q["end"], upper=True) if "end" in q else dt.date.max
            found = []
            for event_id, edtf in b_dates.items():
                span = parse_edtf(edtf)
                first, last = span.start or dt.date.min, span.end or dt.date.max
                overlaps, within = first <= high and last >= low, low <= first and last <= high
                if within if q.get("date_match") == "within" else overlaps:
                    found.append(event_id)
            return sorted(found), len(found)

        with walked_statements(client) as plans:
            walked = answers()
        assert any(plans)
        assert walked == [expected(q) for q in queries]
        assert walked[queries.index({"actor": "b", "end": "2018"})] == (["year"], 1)
        assert walked[queries.index({"actor": "b", "start": "2030"})] == (["open-end"], 1)
        never_walk(monkeypatch)
        with walked_statements(client) as plans:
            assert answers() == walked
        assert plans and not any(plans)
    app.state.engine.dispose()


def test_participant_dates_are_their_events_bounds(data_client: TestClient):
    from sqlalchemy import select

    from app import models as m

    assert m.walk_bounds(None, None) == (None, None)
    assert m.walk_bounds(None, dt.date(2019, 5, 31)) == (dt.date.min, dt.date(2019, 5, 31))
    assert m.walk_bounds(dt.date(2019, 5, 1), None) == (dt.date(2019, 5, 1), dt.date.max)

    # Every participant row carries its event's bounds as the bundle's EDTF text gives them (open ends as
    # the extreme days), worked out here without walk_bounds, which the importer itself uses.
    expected = set()
    for path in DATA.rglob("events.yaml"):
        for record in yaml.safe_load(path.read_text())["events"]:
            span = parse_edtf(str(record["date"]))
            bounds = (span.start or dt.date.min, span.end or dt.date.max)
            expected |= {(record["id"], p["actor"], p["role"], *bounds) for p in record["participants"]}
    with data_client.app.state.sessions() as session:
        rows = session.execute(
            select(
                m.EventParticipant.event_id,
                m.EventParticipant.actor_id,
                m.EventParticipant.role,
                m.EventParticipant.date_start,
                m.EventParticipant.date_end,
            )
        ).all()
    assert len(expected) > 30 and set(map(tuple, rows)) == expected


def test_within_treats_an_open_end_as_unknown_everywhere(databases, tmp_path):
    """`date_match=within`: an open end (`9990/..`) is unknown or ongoing, so the event is within a range only
    when the range has no end; an event stated to end on 9999-12-31 is within `end=9999`. The list (events table
    and actor walk), facets and timeline agree, on both databases."""
    from app.migrate import upgrade

    url = databases.new()
    upgrade(url)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    dates = {"open-end": "9990/..", "last-day": "9990-01-01/9999-12-31", "first-day": "0001-01-01/2019-12-31"}
    event = {
        "type": "meeting",
        "summary": "Test.",
        "topics": ["t"],
        "locators": [{"source": "s", "section": "body", "paragraph": 1}],
        "participants": [{"actor": "b", "role": "host"}],
    }
    (bundle / "bundle.json").write_text(
        json.dumps(
            {
                "sources": [{"id": "s", "title": "S", "sections": [{"key": "body", "title": "Body", "paragraphs": 3}]}],
                "citations": [],
                "topics": [{"id": "t", "label": "T"}],
                "actors": [{"id": "b", "name": "B", "kind": "person"}],
                "events": [{**event, "id": k, "title": k, "date": v} for k, v in dates.items()],
            }
        )
    )
    load_into(url, bundle)

    def expected(q: dict) -> list[str]:
        low = parse_query_bound(q["start"], upper=False) if "start" in q else dt.date.min
        high = parse_query_bound(q["end"], upper=True) if "end" in q else None  # None: the range has no end
        found = []
        for event_id, edtf in dates.items():
            span = parse_edtf(edtf)
            assert span.start is not None
            ends_within = high is None or (span.end is not None and span.end <= high)
            if span.start >= low and ends_within:
                found.append(event_id)
        return sorted(found)

    ranges = [
        {"start": "0001-01-01"},
        {"end": "9999-12-31"},
        {"start": "0001", "end": "9999"},
        {"start": "2018"},
        {"start": "2018", "end": "9999"},
        {"end": "2020"},
    ]
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    with TestClient(app) as client:
        for r in ranges:
            for actor in ({}, {"actor": "b"}):
                q = {**r, **actor, "date_match": "within"}
                want = expected(q)
                listed = client.get("/v1/events", params=q).json()
                assert sorted(i["id"] for i in listed["items"]) == want and listed["total"] == len(want), q
                assert client.get("/v1/events/facets", params=q).json()["total"] == len(want), q
                csv_lines = client.get("/v1/events", params={**q, "format": "csv"}).text.strip().splitlines()
                assert sorted(line.split(",")[0] for line in csv_lines[1:]) == want, q
        # The timeline of the last century: the event ending 9999-12-31 is within it, the open one is not.
        for actor in ({}, {"actor": "b"}):
            q = {"start": "9900", "end": "9999", "date_match": "within", "interval": "year", **actor}
            buckets = client.get("/v1/events/timeline", params=q).json()["buckets"]
            # Each year 9990-9999 may hold the event ending 9999-12-31 (imprecise 1); the open one is in none.
            assert [(b["count"], b["imprecise"]) for b in buckets if b["start"] >= "9990"] == [(0, 1)] * 10, q
            assert sum(b["count"] + b["imprecise"] for b in buckets) == 10 and buckets[-1]["end"] == "9999-12-31"
    app.state.engine.dispose()
