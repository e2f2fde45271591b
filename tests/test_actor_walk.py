"""Queries with `actor` walk the (actor, date) link index instead of the events table
(app.queries.listing.Walk). Both plans must give the same pages, totals and cursors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.queries import listing
from app.routers import events as events_router
from app.settings import Settings
from tests.helpers import all_pages, load_into

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


def pages(client: TestClient, query: dict, sort: str, limit: int) -> tuple[list[str], list[tuple[int, bool]]]:
    items = all_pages(client, "/v1/events", limit, sort=sort, **query)
    first = client.get("/v1/events", params={**query, "sort": sort, "limit": limit}).json()
    return [i["id"] for i in items], [(first["total"], first["total_exact"])]


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_the_walk_and_the_events_table_give_the_same_pages(data_client: TestClient, monkeypatch, sort):
    walked = {json.dumps(q): pages(data_client, q, sort, 2) for q in QUERIES}
    assert sum(len(ids) for ids, _ in walked.values()) > 30, "the queries should find events"
    monkeypatch.setattr(events_router, "EVENTS", dataclasses.replace(listing.EVENTS, walk=None))
    for q in QUERIES:
        assert pages(data_client, q, sort, 2) == walked[json.dumps(q)], q


def test_an_actor_in_two_roles_is_one_match_and_open_ends_match_alike(databases, tmp_path, monkeypatch):
    url = databases.new()
    from app.migrate import upgrade

    upgrade(url)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    source = "s"
    event = {
        "type": "meeting", "summary": "Test.", "topics": ["t"],
        "locators": [{"source": source, "section": "body", "paragraph": 1}],
    }
    (bundle / "bundle.json").write_text(json.dumps({
        "sources": [{"id": source, "title": "S", "sections": [{"key": "body", "title": "Body", "paragraphs": 3}]}],
        "citations": [], "topics": [{"id": "t", "label": "T"}],
        "actors": [{"id": "a", "name": "A", "kind": "person"}, {"id": "b", "name": "B", "kind": "person"}],
        "events": [
            {**event, "id": "two-roles", "title": "Host and chair", "date": "2019-01-02",
             "participants": [{"actor": "a", "role": "host"}, {"actor": "a", "role": "participant"}, {"actor": "b", "role": "visitor"}]},
            {**event, "id": "one-role", "title": "Guest", "date": "2019-01-01", "participants": [{"actor": "a", "role": "visitor"}]},
            {**event, "id": "year", "title": "Some day", "date": "2017", "participants": [{"actor": "b", "role": "host"}]},
            {**event, "id": "open-end", "title": "Since", "date": "2019-06/..", "participants": [{"actor": "b", "role": "host"}]},
        ],
    }))
    load_into(url, bundle)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    with TestClient(app) as client:
        body = client.get("/v1/events", params={"actor": "a", "start": "2019"}).json()
        assert [i["id"] for i in body["items"]] == ["one-role", "two-roles"] and body["total"] == 2
        assert [i["id"] for i in all_pages(client, "/v1/events", 1, actor="a", sort="-date")] == ["two-roles", "one-role"]
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

        walked = answers()
        assert walked[queries.index({"actor": "b", "end": "2018"})] == (["year"], 1)
        assert walked[queries.index({"actor": "b", "start": "2030"})] == (["open-end"], 1)
        monkeypatch.setattr(events_router, "EVENTS", dataclasses.replace(listing.EVENTS, walk=None))
        assert answers() == walked
    app.state.engine.dispose()


def test_participant_dates_are_their_events_bounds(data_client: TestClient):
    from sqlalchemy import select

    from app import models as m

    assert m.walk_bounds(None, None) == (None, None)
    assert m.walk_bounds(None, dt.date(2019, 5, 31)) == (dt.date.min, dt.date(2019, 5, 31))
    assert m.walk_bounds(dt.date(2019, 5, 1), None) == (dt.date(2019, 5, 1), dt.date.max)

    with data_client.app.state.sessions() as session:  # type: ignore[attr-defined]
        rows = session.execute(
            select(m.EventParticipant.date_start, m.EventParticipant.date_end, m.Event.date_start, m.Event.date_end)
            .join(m.Event, m.Event.id == m.EventParticipant.event_id)
        ).all()
    assert rows and all((ps, pe) == m.walk_bounds(es, ee) for ps, pe, es, ee in rows)
