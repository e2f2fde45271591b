"""The event documents (rendered from rows, app.queries.event_documents, and stored by the write path) against
the documented models, the ORM's view of the same records and a rendering made now."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import literal_column, select, text

from app import models as m
from app.curation.rendered import RENDERING
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


def _stored(url: str) -> dict[str, tuple[str, str]]:
    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(m.EventDocument.event_id, m.EventDocument.document, m.EventDocument.rendered_by)
            )
            return {event_id: (document, rendered_by) for event_id, document, rendered_by in rows}
    finally:
        engine.dispose()


def _execute(url: str, statement: str) -> None:
    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def test_a_missing_stored_document_is_rendered_from_the_rows_and_upgrade_restores_it(databases, caplog) -> None:
    """Rows written around the write path can leave an event without its stored document: reads then render it
    from its rows (never leave the event out of a page, an export or its own URL), and bringing the database up to
    date (app.migrate.upgrade, as `dipevents migrate` and `serve` do) stores it again."""
    from app.main import create_app
    from app.migrate import upgrade
    from app.settings import Settings
    from tests.helpers import TEST_BUNDLE, load_into

    url = databases.new()
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    complete = _stored(url)
    _execute(url, "DELETE FROM event_documents WHERE event_id = 'summit-meeting'")
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    try:
        with TestClient(app) as client:
            one = client.get("/v1/events/summit-meeting")
            assert one.status_code == 200
            listed = client.get("/v1/events", params={"limit": 100}).json()
            assert [e for e in listed["items"] if e["id"] == "summit-meeting"] == [one.json()]
            assert len(listed["items"]) == listed["total"]
            exported = client.get("/v1/events/export.ndjson").text.splitlines()
            assert len(exported) == listed["total"]
            assert client.get("/v1/events/no-such-event").status_code == 404
    finally:
        app.state.engine.dispose()
    assert "were missing" in caplog.text
    upgrade(url)
    assert _stored(url) == complete


def test_upgrade_renders_again_what_another_release_rendered_and_drops_orphans(databases) -> None:
    """A document rendered by other code (another `rendered_by`: a release with other fields or type codes) is
    rendered again by this code's upgrade, and a document of an event that no longer exists is deleted."""
    from app.migrate import upgrade
    from tests.helpers import TEST_BUNDLE, load_into

    url = databases.new()
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    complete = _stored(url)
    _execute(
        url,
        "UPDATE event_documents SET document = '{}', rendered_by = 'an-older-release' WHERE event_id <> 'summit-meeting'",
    )
    _execute(url, "INSERT INTO event_documents (event_id, document, rendered_by) VALUES ('gone', '{}', 'x')")
    upgrade(url)
    assert _stored(url) == complete
    assert {rendered_by for _, rendered_by in complete.values()} == {RENDERING}


def test_migrate_finds_a_missing_document_hidden_by_an_orphan(databases) -> None:
    """A missing document and an orphan written around the write path keep the counts equal; `dipevents migrate`
    (a thorough upgrade) still renders the one and deletes the other."""
    from typer.testing import CliRunner

    from app.cli import cli
    from app.migrate import upgrade
    from tests.helpers import TEST_BUNDLE, load_into

    url = databases.new()
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    complete = _stored(url)
    _execute(url, "DELETE FROM event_documents WHERE event_id = 'summit-meeting'")
    _execute(
        url,
        "INSERT INTO event_documents (event_id, document, rendered_by) " + f"VALUES ('ghost', '{{}}', '{RENDERING}')",
    )
    upgrade(url)  # the quick check at `serve` trusts equal counts of current documents
    assert "summit-meeting" not in _stored(url)
    result = CliRunner().invoke(cli, ["migrate", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert _stored(url) == complete
