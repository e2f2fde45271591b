"""Migrations are the only schema source: `alembic upgrade head` must build exactly the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import downgrade, upgrade
from app.models import Base


def test_upgrade_head_builds_exactly_the_models(empty_db):
    upgrade(empty_db)
    engine = make_engine(empty_db)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
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
