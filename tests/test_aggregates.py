"""The derived tables (app.models.aggregates: counts, the topic closure, the stored event documents) stay what a
recomputation from scratch makes of the data through every kind of curation write, and requests answered from
them give the counts the events give."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import models as m
from app.curation import rendered
from app.curation.aggregates import rebuild
from app.db import make_engine
from app.queries import aggregations
from tests.test_curation import NEW_EVENT, Curated, post_event

TABLES = (m.EventCount, m.TopicClosure, m.EventDocument)


def _rows(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {
        model.__tablename__: sorted(tuple(row) for row in session.execute(select(model.__table__))) for model in TABLES
    }


def stored_and_recomputed(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tables as the writes left them, and as :func:`rebuild` makes them (in a rolled-back transaction)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            stored = _rows(session)
            rebuild(session)
            rendered.rebuild(session)
            recomputed = _rows(session)
            session.rollback()
    finally:
        engine.dispose()
    return stored, recomputed


def assert_current(c: Curated) -> None:
    stored, recomputed = stored_and_recomputed(c.url)
    assert stored == recomputed
    assert stored["event_counts"], "the test data is counted"
    assert stored["event_documents"], "the test data's documents are stored"


def _write(c: Curated, method: str, path: str, body: Any = None) -> None:
    headers = c.writer | {"If-Match": "*"}
    if method == "patch":
        headers |= {"Content-Type": "application/merge-patch+json"}
        response = c.client.patch(path, content=json.dumps(body), headers=headers)
    elif method == "delete":
        response = c.client.delete(path, headers=headers)
    else:
        response = c.client.post(path, json=body, headers=c.writer)
    assert response.status_code in (200, 201, 204), response.text


def test_counts_and_closure_follow_every_write_as_a_recount_would(curated: Curated) -> None:
    c = curated
    assert_current(c)  # as the bundle import left them
    assert post_event(c, NEW_EVENT).status_code == 201  # an event under training < security < relations
    assert_current(c)
    _write(c, "post", "/v1/topics", {"id": "tariffs", "label": "Tariffs", "parent": "trade"})
    assert_current(c)
    # A topic with events moves to another root: its events leave relations' counts and join trade's.
    before = c.get("/v1/events/facets", params={"topic": "trade"}).json()["total"]
    _write(c, "patch", "/v1/topics/security", {"parent": "trade"})
    assert_current(c)
    assert c.get("/v1/events/facets", params={"topic": "trade"}).json()["total"] > before
    # An event changes every counted field: date, place, type, actors, topics.
    changes = {
        "date": "2021/..",
        "type": "meeting",
        "location": {"name": "Alpha City", "country": "AA"},
        "participants": [{"actor": "alpha-state", "role": "host"}, {"actor": "bob-minister", "role": "speaker"}],
        "topics": ["tariffs", "training"],
    }
    _write(c, "patch", "/v1/events/beta-replies", changes)
    assert_current(c)
    _write(c, "patch", "/v1/topics/training", {"id": "drills"})  # renamed, events and sub-topics follow
    assert_current(c)
    _write(c, "patch", "/v1/actors/bob-minister", {"id": "robert-minister"})
    assert_current(c)
    _write(c, "delete", "/v1/events/beta-replies")
    assert_current(c)
    _write(c, "delete", "/v1/topics/tariffs")
    assert_current(c)


def test_stored_documents_follow_every_record_an_event_document_shows(curated: Curated) -> None:
    """Each kind of record that appears inside event documents, changed or renamed, is seen in the documents served
    at once (the stored text is rendered again), and the stored table stays what a full rendering makes of it."""
    c = curated

    def served(event_id: str) -> dict[str, Any]:
        response = c.get(f"/v1/events/{event_id}")
        assert response.status_code == 200, response.text
        listed = [e for e in c.get("/v1/events", params={"limit": 200}).json()["items"] if e["id"] == event_id]
        assert listed == [response.json()], "the list and the by-id read serve the same stored document"
        return dict(response.json())

    _write(c, "patch", "/v1/actors/bob-minister", {"name": "Robert Minister", "id": "robert-minister"})
    summit = served("summit-meeting")
    assert {"id": "robert-minister", "name": "Robert Minister"}.items() <= summit["participants"][1]["actor"].items()
    assert summit["quotes"][0]["speaker"]["id"] == "robert-minister"
    assert_current(c)
    _write(c, "patch", "/v1/topics/training", {"label": "Drills"})
    assert served("summit-meeting")["topics"] == [{"id": "training", "label": "Drills"}]
    _write(c, "patch", "/v1/citations/cite-two", {"title": "A retitled report"})
    assert "A retitled report" in [x["title"] for x in served("summit-meeting")["citations"]]
    _write(c, "patch", "/v1/sources/test-brief", {"id": "the-brief"})
    summit = served("summit-meeting")
    assert {x["source"] for x in summit["citations"] + summit["locators"]} == {"the-brief"}
    assert_current(c)
    # An event renamed: the events that name it as parent or as related follow, its old document goes.
    _write(c, "patch", "/v1/events/summit-meeting", {"id": "the-summit"})
    assert served("trade-statement")["related"] == [{"event": "the-summit", "relation": "follows"}]
    _write(c, "patch", "/v1/events/ann-visits-beta", {"id": "the-visit"})
    assert served("the-summit")["parent"] == "the-visit"
    assert_current(c)
    _write(c, "patch", "/v1/citations/cite-two", {"id": "cite-2"})
    assert "cite-2" in [x["id"] for x in served("the-summit")["citations"]]
    # A bundle adding records: its events' documents are stored with it; a deleted event's document goes.
    added = {**NEW_EVENT, "id": "added-by-bundle", "related": [{"event": "the-summit", "relation": "follows"}]}
    response = c.client.post("/v1/bundles", json={"events": [added]}, headers=c.admin)
    assert response.status_code == 200, response.text
    assert served("added-by-bundle")["related"] == [{"event": "the-summit", "relation": "follows"}]
    assert_current(c)
    _write(c, "delete", "/v1/events/added-by-bundle")
    assert c.get("/v1/events/added-by-bundle").status_code == 410
    assert_current(c)


def test_a_write_that_fails_after_rendering_leaves_the_documents_as_they_were(curated: Curated, monkeypatch) -> None:
    """The documents are rendered inside the write's transaction: a failure after them (here, recording the change)
    rolls them back with the rows."""
    from app.curation import store
    from app.db import make_engine, session_factory

    before, _ = stored_and_recomputed(curated.url)

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the change log is unavailable")

    monkeypatch.setattr(store, "_single_change", failing)
    engine = make_engine(curated.url)
    try:
        with pytest.raises(RuntimeError), store.write_transaction(session_factory(engine)) as session:
            store.patch(session, "actors", "bob-minister", {"name": "Robert Minister"}, store.CLI, None)
    finally:
        engine.dispose()
    after, _ = stored_and_recomputed(curated.url)
    assert after == before
    assert any("Bob" in document for _, document, _ in after["event_documents"]), "the old name is still stored"


def test_a_failed_write_leaves_the_counts_alone(curated: Curated) -> None:
    c = curated
    before, _ = stored_and_recomputed(c.url)
    bad = NEW_EVENT | {"participants": [{"actor": "nobody", "role": "speaker"}]}
    assert post_event(c, bad).status_code == 422
    assert stored_and_recomputed(c.url)[0] == before


SCOPES = [[], [("topic", "relations")], [("topic", "security")], [("actor", "bob-minister")]]


@pytest.mark.parametrize("filters", SCOPES)
def test_stored_answers_equal_the_counted_ones(curated: Curated, filters: list[tuple[str, str]], monkeypatch) -> None:
    """Facets, totals and yearly timelines of a stored scope are those the events give (the planner made to
    count them instead), after writes too."""
    c = curated
    _write(c, "patch", "/v1/topics/security", {"parent": "trade"})
    assert post_event(c, NEW_EVENT | {"date": "2019/.."}).status_code == 201
    requests = [
        ("/v1/events/facets", [*filters, ("facet_size", "500")]),
        ("/v1/events/timeline", [*filters, ("interval", "year")]),
    ]
    stored = [c.get(path, params=params).json() for path, params in requests]
    monkeypatch.setattr(aggregations, "stored_scope", lambda plan, actor=False: None)
    counted = [c.get(path, params=params).json() for path, params in requests]
    assert stored == counted
    assert stored[0]["total"] > 0
