"""Statements that do not grow with the data (issue 12 §5), and database errors that are not outages.

One database per backend holds a topic tree and a crowd big enough to cross every limit a statement built
from the data would meet: SQLite's 500 terms in a compound SELECT, its stock 32,766 bound variables (this
machine's SQLite allows 250,000, so the API's connections are set back to the stock limit) and PostgreSQL's
65,535 bound parameters per statement.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, text

from app import models as m
from app.curation import rendered
from app.curation.aggregates import rebuild
from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade
from app.queries import aggregations
from app.settings import Settings
from tests.helpers import DatabaseFactory

N = 70_000  # leaf topics, and actors meeting the hub in one event
MIDS = 100  # topics between the root and the leaves
TAGGED = 300  # events tagged with a leaf topic; the first SHARED of them also have the partner
SHARED = 150
DAY = dt.date(2020, 1, 1)
STOCK_SQLITE_VARIABLES = 32_766


def _event(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "meeting",
        "title": event_id,
        "summary": "",
        "search_text": event_id,
        "date_edtf": "2020-01-01",
        "date_start": DAY,
        "date_end": DAY,
        "date_precision": "day",
        "date_approximate": False,
        "date_uncertain": False,
    }


def _participant(event_id: str, actor_id: str, ordinal: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "actor_id": actor_id,
        "role": "participant",
        "ordinal": ordinal,
        "date_start": DAY,
        "date_end": DAY,
    }


def _actor(actor_id: str) -> dict[str, Any]:
    return {"id": actor_id, "name": actor_id.title(), "kind": "person", "search_text": actor_id}


@pytest.fixture(scope="module")
def big_db(databases: DatabaseFactory) -> str:
    url = databases.new()
    upgrade(url)
    leaves = [f"leaf-{i:05d}" for i in range(N)]
    crowd = [f"crowd-{i:05d}" for i in range(N)]
    tagged = [f"ev-{i:03d}" for i in range(TAGGED)]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(m.Topic), [{"id": "broad", "label": "Broad", "parent_id": None}])
        mids = [{"id": f"mid-{i:03d}", "label": f"Mid {i}", "parent_id": "broad"} for i in range(MIDS)]
        conn.execute(insert(m.Topic), mids)
        conn.execute(
            insert(m.Topic), [{"id": t, "label": t, "parent_id": f"mid-{i % MIDS:03d}"} for i, t in enumerate(leaves)]
        )
        conn.execute(insert(m.Actor), [_actor("hub"), _actor("partner"), *map(_actor, crowd)])
        conn.execute(insert(m.Event), [*map(_event, tagged), _event("crowd-meeting")])
        conn.execute(insert(m.EventTopic), [{"event_id": e, "topic_id": leaves[i * 7]} for i, e in enumerate(tagged)])
        participants = [_participant(e, "hub", 0) for e in tagged]
        participants += [_participant(e, "partner", 1) for e in tagged[:SHARED]]
        participants += [_participant("crowd-meeting", "hub", 0)]
        participants += [_participant("crowd-meeting", a, i + 1) for i, a in enumerate(crowd)]
        conn.execute(insert(m.EventParticipant), participants)
        # Rows written around the write path: the derived tables are recomputed, as a bulk load does.
        rebuild(conn)
        rendered.rebuild(conn)
    engine.dispose()
    return url


def _stock_sqlite_limits(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, STOCK_SQLITE_VARIABLES)


@pytest.fixture(scope="module")
def big(big_db: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=big_db, rate_limit_per_minute=0))
    if app.state.engine.dialect.name == "sqlite":
        event.listen(app.state.engine, "connect", _stock_sqlite_limits)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_topic_facet_over_a_big_tree(big):
    # Was one compound SELECT of every (ancestor, descendant) pair: 210k terms, past both databases' limits.
    body = _ok(big.get("/v1/events/facets", params={"facet": "topic", "facet_size": "3"}))
    assert body["total"] == TAGGED + 1
    broad, *mids = body["facets"]["topic"]
    assert (broad["id"], broad["count"]) == ("broad", TAGGED)
    assert [m["count"] for m in mids] == [TAGGED // MIDS] * 2
    # The facet count still equals the list total with that topic as a filter (sub-topics included).
    assert _ok(big.get("/v1/events", params={"topic": mids[0]["id"], "limit": "1"}))["total"] == mids[0]["count"]


def test_topic_filter_over_a_big_tree(big):
    # Was an IN list of the topic and its 70,100 sub-topics, one bound parameter each.
    assert _ok(big.get("/v1/events", params={"topic": "broad", "limit": "5"}))["total"] == TAGGED
    page = _ok(big.get("/v1/events", params={"topic": "broad", "actor": "partner", "limit": "5"}))
    assert page["total"] == SHARED
    facets = _ok(big.get("/v1/events/facets", params={"topic": "broad", "facet": "topic,actor"}))
    assert facets["total"] == TAGGED and facets["facets"]["actor"][0] == {"id": "hub", "label": "Hub", "count": TAGGED}
    assert _ok(big.get("/v1/agreements", params={"topic": "broad"}))["total"] == 0
    assert _ok(big.get("/v1/events/timeline", params={"topic": "broad"}))["buckets"][0]["count"] == TAGGED


def test_actor_facet_is_cut_by_the_database(big):
    body = _ok(big.get("/v1/events/facets", params={"facet": "actor", "facet_size": "4"}))
    assert [(v["id"], v["count"]) for v in body["facets"]["actor"]] == [
        ("hub", TAGGED + 1),
        ("partner", SHARED),
        ("crowd-00000", 1),
        ("crowd-00001", 1),
    ]


def test_network_is_bounded(big):
    # Was every shared (actor, event) pair, then an IN list of all 70,001 neighbour ids.
    body = _ok(big.get("/v1/actors/hub/network", params={"limit": "3"}))
    partner, first, second = body["neighbours"]
    assert partner["actor"]["id"] == "partner" and partner["count"] == SHARED
    assert len(partner["events"]) == aggregations.EVENTS_PER_NEIGHBOUR and partner["events_truncated"] is True
    assert partner["events"] == sorted(partner["events"]) and partner["events"][0] == "ev-000"
    assert [(n["actor"]["id"], n["count"], n["events"], n["events_truncated"]) for n in (first, second)] == [
        ("crowd-00000", 1, ["crowd-meeting"], False),
        ("crowd-00001", 1, ["crowd-meeting"], False),
    ]
    # The count is still the list total with both actors as filters.
    assert _ok(big.get("/v1/events", params=[("actor", "hub"), ("actor", "partner")]))["total"] == SHARED
    assert len(_ok(big.get("/v1/actors/hub/network", params={"limit": "500"}))["neighbours"]) == 500


def _statement_error(session: Any, *_: Any) -> Any:
    """A statement the database refuses whatever its state: a bug, not an outage."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(" UNION ALL ".join(["SELECT 1"] * 600)))  # too many terms in compound SELECT
    else:
        session.execute(text("SELECT array_fill(0, ARRAY[200000000])"))  # 54000 program_limit_exceeded
    raise AssertionError("the statement should have failed")


def test_a_statement_error_is_a_logged_500_not_database_unavailable(test_db, monkeypatch, caplog):
    # Both errors are OperationalErrors to SQLAlchemy; they were answered 503 "database unavailable".
    monkeypatch.setitem(aggregations.FACET_QUERIES, "type", _statement_error)
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))
    with caplog.at_level(logging.ERROR), TestClient(app, raise_server_exceptions=False) as client:
        # Under a filter, so the type facet is counted (the unfiltered list's is precomputed).
        response = client.get("/v1/events/facets", params={"facet": "type", "start": "1000"})
    app.state.engine.dispose()
    assert response.status_code == 500, response.text
    assert response.json()["type"] == "/problems/internal-error" and "retry-after" not in response.headers
    (logged,) = [r for r in caplog.records if r.name == "app.problems" and r.levelno == logging.ERROR]
    assert logged.exc_info and "OperationalError" in logged.getMessage()
    assert "SELECT" not in response.text
