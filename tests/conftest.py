"""Test fixtures: every API test runs against SQLite, and against PostgreSQL when
DIPEVENTS_TEST_POSTGRES_URL is set (CI sets it; a set-but-unreachable server
fails the run rather than skipping)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import make_engine, session_factory
from app.importers.bundle import import_bundle, read_bundle
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_BUNDLE = ROOT / "tests" / "bundle"
DATA = ROOT / "data"
# The team's read-only files (the source briefs) sit beside the repository; a clone elsewhere can point
# DIPEVENTS_SHARED at them. Tests that need them skip, saying so, when they are absent.
SHARED = Path(os.environ.get("DIPEVENTS_SHARED", ROOT.parent / "shared"))
if not SHARED.exists() and Path("/work/shared").exists():
    SHARED = Path("/work/shared")
POSTGRES_URL = os.environ.get("DIPEVENTS_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


class DatabaseFactory:
    """Creates empty databases of one backend and removes them at the end of the run."""

    def __init__(self, backend: str, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.backend = backend
        self.tmp = tmp_path_factory
        self.created: list[str] = []

    def new(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp.mktemp('db') / 'test.sqlite3'}"
        assert POSTGRES_URL
        name = f"dipevents_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"DIPEVENTS_TEST_POSTGRES_URL is set but PostgreSQL is unusable: {exc}")
        finally:
            admin.dispose()
        self.created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(request.param, tmp_path_factory)
    yield factory
    factory.drop_all()


@pytest.fixture
def empty_db(databases: DatabaseFactory) -> str:
    """A fresh, unmigrated database URL."""
    return databases.new()


@pytest.fixture
def migrated_db(empty_db: str) -> str:
    upgrade(empty_db)
    return empty_db


def load_into(url: str, bundle: Path) -> None:
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        import_bundle(session, read_bundle(bundle))
    engine.dispose()


@pytest.fixture(scope="session")
def test_db(databases: DatabaseFactory) -> str:
    """Migrated and loaded with the test bundle; shared read-only by the API tests."""
    url = databases.new()
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    return url


@pytest.fixture(scope="session")
def client(test_db: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()


@pytest.fixture(scope="session")
def data_client(databases: DatabaseFactory) -> Iterator[TestClient]:
    """The app over the bundled data, loaded with the real CLI."""
    from typer.testing import CliRunner

    from app.cli import cli

    url = databases.new()
    for command in (["migrate"], ["load", str(DATA)]):
        result = CliRunner().invoke(cli, [*command, "--database-url", url])
        assert result.exit_code == 0, result.output
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()
