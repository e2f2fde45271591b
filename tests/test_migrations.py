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
