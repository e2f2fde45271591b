"""Health that tells the truth (issue 12 §6): `/health` checks the connection, (SQLite) the database file,
the schema revision and the dataset, and the API never creates a database file, folder or table."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from app.main import create_app
from app.migrate import alembic_config, head_revision, upgrade
from app.settings import Settings
from tests.helpers import TEST_BUNDLE, load_into


@contextmanager
def serving(url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.engine.dispose()


def unready(client: TestClient, check: str) -> dict:
    response = client.get("/health")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == check, body
    assert body["checks"][check] not in ("ok", "not checked") and response.headers["retry-after"] == "5"
    return body


def test_ready_reports_every_check(client, test_db):
    body = client.get("/health").json()
    expected = {"connection": "ok", "schema": "ok", "dataset": "ok"} | (
        {"file": "ok"} if test_db.startswith("sqlite") else {}
    )
    assert body == {"status": "ok", "database": "ok", "checks": expected, "failed": None}
    assert client.get("/health/live").json()["database"] == "not checked"


def test_a_database_without_a_dataset_is_not_ready(migrated_db):
    with serving(migrated_db) as client:
        body = unready(client, "dataset")
    assert body["database"] == "not ready" and body["checks"]["schema"] == "ok"


def test_a_database_without_the_schema_is_not_ready(empty_db):
    if empty_db.startswith("sqlite"):
        Path(empty_db.removeprefix("sqlite:///")).touch()  # an empty file: SQLite's empty database
    with serving(empty_db) as client:
        body = unready(client, "schema")
    assert head_revision() in body["checks"]["schema"] and body["checks"]["dataset"] == "not checked"


def test_a_schema_behind_the_code_is_not_ready(empty_db):
    previous = ScriptDirectory.from_config(alembic_config(empty_db)).get_revision(head_revision()).down_revision
    assert isinstance(previous, str)
    upgrade(empty_db, previous)
    with serving(empty_db) as client:
        body = unready(client, "schema")
    assert f"at revision {previous}, expected {head_revision()}" in body["checks"]["schema"]


def _sqlite_db(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "var" / "dipevents.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    return url, path


def test_a_missing_sqlite_database_is_not_created(tmp_path):
    path = tmp_path / "nowhere" / "dipevents.sqlite3"
    with serving(f"sqlite:///{path}") as client:
        body = unready(client, "file")
        assert "missing" in body["checks"]["file"]
        assert client.get("/v1/events").status_code == 503
        assert client.get("/v1/meta").json()["type"] == "/problems/database-unavailable"
    assert not path.parent.exists()


def test_deleting_the_database_folder_while_serving_fails_health_and_creates_nothing(tmp_path):
    url, path = _sqlite_db(tmp_path)
    with serving(url) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/v1/events").status_code == 200
        shutil.rmtree(path.parent)
        assert "missing" in unready(client, "file")["checks"]["file"]
        client.get("/v1/events")  # open connections may still read the deleted file; nothing is created
        client.get("/v1/meta")
        unready(client, "file")
    assert not path.parent.exists()


def test_an_empty_file_replacing_the_database_while_serving_fails_health(tmp_path):
    url, path = _sqlite_db(tmp_path)
    with serving(url) as client:
        assert client.get("/health").status_code == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.touch()
        assert "replaced" in unready(client, "file")["checks"]["file"]
        unready(client, "schema")  # the pool reopened its connections on the file now at the path
        assert client.get("/v1/events").status_code >= 500
    with sqlite3.connect(path) as check:  # the API created no table in it
        assert check.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
