"""Test fixtures: every API test runs against SQLite, and against PostgreSQL when
DIPEVENTS_TEST_POSTGRES_URL is set (CI sets it; a set-but-unreachable server
fails the run rather than skipping)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.helpers import DATA, POSTGRES_URL, TEST_BUNDLE, DatabaseFactory, live_server, load_into
from tests.test_curation import Curated, make_curated

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


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


@pytest.fixture(scope="session")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server (uvicorn, loopback) over the bundled data on SQLite, for what needs HTTP from outside the
    process: a browser, generated clients. Shared by the whole run: those checks only read."""
    with live_server(tmp_path_factory.mktemp("live")) as base:
        yield base


@pytest.fixture
def curated(databases: DatabaseFactory) -> Iterator[Curated]:
    """A fresh database holding tests/bundle, with a write key, an admin+write key and an admin-only key, served
    in process (tests.test_curation.make_curated)."""
    yield from make_curated(databases.new())
