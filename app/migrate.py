"""Run Alembic migrations from code (the CLI, `serve` and the tests use this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

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


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` up to `revision` (default: the latest)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the database at `database_url` down to `revision` (default: no tables at all)."""
    command.downgrade(alembic_config(database_url), revision)
