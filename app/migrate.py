"""Run Alembic migrations from code (the CLI, `serve` and the tests use this)."""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.packaged import migrations_folder


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for `database_url`, built in code rather than read from an ini file.

    The scripts are the package's own `app/migrations` (found through importlib.resources), so an installed wheel
    migrates from any working directory. Raises `app.packaged.PackagedFileMissing` when they are not installed.
    """
    config = Config()
    # Config values go through ConfigParser interpolation, where a bare "%" in a path is an error.
    config.set_main_option("script_location", str(migrations_folder()).replace("%", "%%"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head", *, thorough: bool = False) -> None:
    """Migrate the database at `database_url` up to `revision` (default: the latest). At the head, also render the
    stored event documents this release's code would render differently or that are missing
    (app.curation.rendered.ensure_current: a few counts when nothing is to do; ``thorough``, as `dipevents migrate`
    asks, compares every event with its document: seconds at 1M events)."""
    command.upgrade(alembic_config(database_url), revision)
    if revision == "head":
        from app.curation.rendered import ensure_current
        from app.curation.store import write_transaction
        from app.db import make_engine, session_factory

        engine = make_engine(database_url)
        try:
            with write_transaction(session_factory(engine)) as session:  # the writers' lock, as any write takes
                ensure_current(session, thorough=thorough)
        finally:
            engine.dispose()


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the database at `database_url` down to `revision` (default: no tables at all)."""
    command.downgrade(alembic_config(database_url), revision)


@lru_cache
def head_revision() -> str:
    """The latest revision of the packaged migrations: what `alembic_version` holds once `upgrade` ran.
    Raises `app.packaged.PackagedFileMissing` when the scripts are not installed."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head
