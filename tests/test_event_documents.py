"""The event documents (rendered from rows, app.queries.event_documents, and stored by the write path) against
the documented models, the ORM's view of the same records and a rendering made now."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import literal_column, select

from app import models as m
from app.queries.event_documents import rendered
from app.schemas.events import EventOut
from tests.helpers import all_pages


def all_events(client: TestClient) -> list[dict]:
    return all_pages(client, "/v1/events", 100)


def test_every_document_is_exactly_the_documented_model(data_client: TestClient) -> None:
    events = all_events(data_client)
    assert len(events) >= 30
    for event in events:
        # No missing, extra or mistyped field: validating and dumping again gives the same JSON.
        assert EventOut.model_validate(event, by_alias=False, by_name=True).model_dump(mode="json") == event, event[
            "id"
        ]


def test_documents_carry_the_relations_the_orm_declares(data_client: TestClient) -> None:
    sessions = data_client.app.state.sessions
    with sessions() as session:
        events = session.scalars(select(m.Event)).all()
        assert len(events) == len(all_events(data_client)) >= 30
        for event in events:
            document = data_client.get(f"/v1/events/{event.id}").json()
            assert [(p["actor"]["id"], p["role"]) for p in document["participants"]] == [
                (p.actor_id, p.role) for p in event.participants
            ]
            assert [t["id"] for t in document["topics"]] == [t.id for t in event.topics]
            assert sorted(c["id"] for c in document["citations"]) == sorted(c.id for c in event.citations)
            assert [(x["source"], x["section"], x["paragraph"], x["footnote"]) for x in document["locators"]] == [
                (x.source_id, x.section, x.paragraph, x.footnote) for x in event.locators
            ]
            assert [(q["speaker"]["id"], q["text"]) for q in document["quotes"]] == [
                (q.speaker_id, q.text) for q in event.quotes
            ]
            assert [(r["event"], r["relation"]) for r in document["related"]] == [
                (r.related_id, r.relation) for r in event.relations
            ]
            assert document["date"]["edtf"] == event.date_edtf
            assert len(document["discrepancies"]) == len(event.discrepancies)


def test_documents_with_discrepancies_and_quotes_exist(data_client: TestClient) -> None:
    # Guards the two tests above against passing vacuously on empty lists.
    events = all_events(data_client)
    assert any(e["discrepancies"] for e in events)
    assert any(e["quotes"] for e in events)
    assert any(e["related"] for e in events)
    assert any(e["location"] for e in events)


def test_stored_documents_are_what_rendering_the_rows_makes_now(data_client: TestClient) -> None:
    """The bundled data as loaded: one stored document per event, byte for byte the text the document statement
    renders from the rows now."""
    sessions = data_client.app.state.sessions
    with sessions() as session:
        e = m.Event.__table__.alias("e")
        fresh = dict(session.execute(select(e.c.id, literal_column(rendered(session.get_bind().dialect.name)))).all())
        stored = dict(session.execute(select(m.EventDocument.event_id, m.EventDocument.document)).all())
    assert len(fresh) >= 30
    assert stored == fresh
