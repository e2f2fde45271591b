"""Migrations are the only schema source: `alembic upgrade head` must build exactly the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import downgrade, upgrade
from app.models import Base
from app.search.sql import derived_by_migration


def test_upgrade_head_builds_exactly_the_models(empty_db):
    upgrade(empty_db)
    engine = make_engine(empty_db)
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_name": derived_by_migration}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_removes_every_table_and_upgrade_again_works(empty_db):
    upgrade(empty_db)
    downgrade(empty_db, "base")
    engine = make_engine(empty_db)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(empty_db)
    engine = make_engine(empty_db)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_stored_dates_are_backfilled_as_the_import_writes_them(empty_db):
    """0004 derives the served dates of rows imported before it with the import's own function."""
    from sqlalchemy import select

    from app import models as m
    from app.db import session_factory
    from tests.helpers import TEST_BUNDLE, load_into

    upgrade(empty_db)
    load_into(empty_db, TEST_BUNDLE)
    engine = make_engine(empty_db)
    columns = [
        m.Office.start_date,
        m.Office.end_date,
        m.Office.attested_date,
        m.Citation.issued_date,
        m.SourceDocument.issued_date,
        m.SourceDocument.period_date,
    ]

    def stored() -> list:
        with session_factory(engine)() as session:
            return [sorted(map(repr, session.scalars(select(column)))) for column in columns]

    imported = stored()
    assert sum(1 for values in imported for v in values if v != "None") >= 4, "the test bundle has dated rows"
    downgrade(empty_db, "0003")
    upgrade(empty_db)
    assert stored() == imported
    engine.dispose()


def test_search_streams_are_backfilled_as_the_import_writes_them_and_indexed(empty_db):
    """0006 derives the search columns of rows imported before it with the import's own functions, and its
    indexes follow later writes: a deleted record is no longer found, an edited one is found by its new words."""
    from sqlalchemy import delete, select, update

    from app import models as m
    from app.db import session_factory
    from app.queries.plan import Purpose, compile_plan, plan
    from app.queries.resources import EVENTS, TOPICS
    from tests.helpers import TEST_BUNDLE, load_into

    upgrade(empty_db)
    load_into(empty_db, TEST_BUNDLE)
    engine = make_engine(empty_db)
    columns = [m.Event.search_text, m.Event.search_stems, m.Actor.search_stems, m.Topic.search_stems]
    columns += [m.Citation.search_stems, m.Citation.publisher_key, m.SourceDocument.search_stems]

    def stored() -> list:
        with session_factory(engine)() as session:
            return [sorted(map(repr, session.scalars(select(column)))) for column in columns]

    def found(resource, q: str) -> list[str]:
        with session_factory(engine)() as session:
            rows = session.execute(compile_plan(plan(session, resource, {"q": q}, Purpose.EXPORT)).query).all()
            return [row[0] if isinstance(row[0], str) else row[0].id for row in rows]

    imported = stored()
    assert all(values and values != ["''"] for values in imported[:5])
    downgrade(empty_db, "0004")
    upgrade(empty_db)
    assert stored() == imported
    assert found(EVENTS, "quotas") == ["trade-statement"]
    with session_factory(engine).begin() as session:
        session.execute(delete(m.Event).where(m.Event.id == "trade-statement"))
        session.execute(
            update(m.Topic).where(m.Topic.id == "trade").values(search_text="tariff", search_stems="tariff")
        )
    assert found(EVENTS, "quotas") == []
    assert found(TOPICS, "tariffs") == ["trade"]
    engine.dispose()


def test_cjk_runs_stored_before_0009_are_rewritten_as_bigrams(empty_db):
    """0009 rewrites stored streams whose CJK runs were whole words (as the code before it stored them), so a
    two-character query finds a longer run; streams without CJK text are left as they are."""
    from sqlalchemy import select, update

    from app import models as m
    from app.db import session_factory
    from app.queries.plan import Purpose, compile_plan, plan
    from app.queries.resources import EVENTS
    from tests.helpers import TEST_BUNDLE, load_into

    upgrade(empty_db)
    load_into(empty_db, TEST_BUNDLE)
    engine = make_engine(empty_db)
    with session_factory(engine)() as session:
        event_id, stored = session.execute(select(m.Event.id, m.Event.search_text).limit(1)).one()
        untouched = dict(session.execute(select(m.Event.id, m.Event.search_stems)).all())

    def found(q: str) -> list[str]:
        with session_factory(engine)() as session:
            return [
                row[0] for row in session.execute(compile_plan(plan(session, EVENTS, {"q": q}, Purpose.EXPORT)).query)
            ]

    downgrade(empty_db, "0008")
    with session_factory(engine).begin() as session:  # as 0008's code stored a title of Chinese: one word
        session.execute(
            update(m.Event)
            .where(m.Event.id == event_id)
            .values(
                search_text=f"{stored} ¶ 关于和平谈判的会议", search_stems=f"{untouched[event_id]} ¶ 关于和平谈判的会议"
            )
        )
    assert found("谈判") == []
    upgrade(empty_db)
    assert found("谈判") == found("和平谈判") == [event_id]
    with session_factory(engine)() as session:
        after = dict(session.execute(select(m.Event.id, m.Event.search_stems)).all())
    assert after[event_id].startswith(untouched[event_id] + " ¶ 关于 于和 和平 平谈 谈判")
    assert {k: v for k, v in after.items() if k != event_id} == {k: v for k, v in untouched.items() if k != event_id}
    engine.dispose()


def test_event_documents_are_rendered_for_events_stored_before_0010(empty_db):
    """0010 stores the document of every event already in the database, as the write path renders it."""
    from sqlalchemy import select

    from app import models as m
    from app.db import session_factory
    from tests.helpers import TEST_BUNDLE, load_into

    upgrade(empty_db)
    load_into(empty_db, TEST_BUNDLE)
    engine = make_engine(empty_db)

    def stored() -> list:
        with session_factory(engine)() as session:
            return sorted(session.execute(select(m.EventDocument.event_id, m.EventDocument.document)).all())

    imported = stored()
    with session_factory(engine)() as session:
        assert [i for i, _ in imported] == sorted(session.scalars(select(m.Event.id))), "one document per event"
    downgrade(empty_db, "0009")
    assert "event_documents" not in inspect(engine).get_table_names()
    upgrade(empty_db)
    assert stored() == imported
    engine.dispose()
