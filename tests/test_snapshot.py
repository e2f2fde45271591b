"""Every request reads one snapshot: a `load --replace` that commits while a page or an export is being
built is either entirely seen or not at all, on SQLite and PostgreSQL alike, and the dataset version a
response carries names the data in it.

The import is made to commit at the worst moment on purpose (between the statements of a page, between
the batches of an export), so the test is deterministic rather than a race."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import make_engine, session_factory
from app.http_cache import read_version
from app.importers.bundle import import_bundle, read_bundle
from app.main import create_app
from app.migrate import upgrade
from app.models import DatasetState
from app.queries import execute
from app.settings import Settings
from tests.helpers import TEST_BUNDLE, load_into

MARK = " [second edition]"


def second_edition(tmp_path: Path) -> Path:
    """The test bundle with every event title marked and one event fewer (so totals differ too)."""
    bundle = tmp_path / "second"
    shutil.copytree(TEST_BUNDLE, bundle)
    path = bundle / "events.yaml"
    data = yaml.safe_load(path.read_text())
    events = data["events"]
    referenced = {e.get("parent") for e in events} | {r.get("event") for e in events for r in e.get("related", [])}
    dropped = next(e for e in events if e["id"] not in referenced)
    data["events"] = [dict(e, title=e["title"] + MARK) for e in events if e is not dropped]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return bundle


class Replacer:
    """Replaces the dataset (as `dipevents load --replace` does, on its own connection) once, when armed."""

    def __init__(self, url: str, bundle: Path) -> None:
        self.url, self.loaded, self.armed, self.done = url, read_bundle(bundle), False, False

    def __call__(self) -> None:
        if self.armed and not self.done:
            self.done = True
            engine = make_engine(self.url)
            try:
                with session_factory(engine).begin() as session:
                    import_bundle(session, self.loaded, replace=True)
            finally:
                engine.dispose()


@pytest.fixture
def replacing(databases, tmp_path) -> Iterator[tuple[TestClient, Replacer, int]]:
    url = databases.new()
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    replacer = Replacer(url, second_edition(tmp_path))
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    with TestClient(app) as client:
        total = client.get("/v1/events").json()["total"]
        yield client, replacer, total
    app.state.engine.dispose()


def before(hooked: Callable[..., Any], replacer: Replacer) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        replacer()
        return hooked(*args, **kwargs)

    return wrapper


def test_a_page_is_built_from_one_snapshot(replacing, monkeypatch) -> None:
    client, replacer, total = replacing
    old_version = client.get("/v1/meta").json()["dataset_version"]
    # Commit the new edition after the page's rows were selected and counted, before its documents are built.
    monkeypatch.setattr(execute, "encode_cursor", before(execute.encode_cursor, replacer))
    replacer.armed = True
    page = client.get("/v1/events", params={"limit": 2})
    assert replacer.done, "the import ran in the middle of the request"
    body = page.json()
    assert body["dataset_version"] == old_version == page.headers["x-dataset-version"]
    assert body["total"] == total and not any(MARK in item["title"] for item in body["items"])
    after = client.get("/v1/events", params={"limit": 2}).json()
    assert after["dataset_version"] != old_version and after["total"] == total - 1
    assert all(MARK in item["title"] for item in after["items"])


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_an_export_streams_one_snapshot_across_its_batches(replacing, monkeypatch, fmt) -> None:
    client, replacer, total = replacing
    old_version = client.get("/v1/meta").json()["dataset_version"]
    monkeypatch.setattr(execute, "EXPORT_BATCH", 2)  # many batches, so the import lands between two
    monkeypatch.setattr(execute, "after", before(execute.after, replacer))
    replacer.armed = True
    response = client.get("/v1/events", params={"format": fmt})
    assert replacer.done, "the import ran between two batches"
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.text)))
    else:
        rows = [orjson.loads(line) for line in response.text.splitlines()]
    assert response.headers["x-dataset-version"] == old_version
    assert len(rows) == total and len({r["id"] for r in rows}) == total
    assert not any(MARK in r["title"] for r in rows)
    fresh = client.get("/v1/events", params={"format": fmt}).text
    assert fresh.count(MARK) == total - 1


def _set_version(session: Session, version: str) -> None:
    session.execute(update(DatasetState).where(DatasetState.id == 1).values(version=version))


def test_the_version_read_first_in_a_transaction_follows_every_write(databases) -> None:
    """A connection that answered before answers with the version committed since, whoever wrote it: another
    connection (another process, an import) or this very connection (a curated write through the API); and the
    statements after it see the data of that version (app.http_cache)."""
    url = databases.new()
    upgrade(url)
    load_into(url, TEST_BUNDLE)
    engine, other = make_engine(url), make_engine(url)
    sessions = session_factory(engine)
    try:
        with sessions() as session:
            first, _ = read_version(session)
        with session_factory(other).begin() as session:
            _set_version(session, "written-elsewhere")
        with sessions() as session:
            assert read_version(session)[0] == "written-elsewhere"
            seen = session.scalar(select(DatasetState.version))
            assert seen == "written-elsewhere"
        with sessions.begin() as session:  # the pool hands the same connection back: it writes itself
            read_version(session)
            _set_version(session, "written-here")
        with sessions() as session:
            assert read_version(session)[0] == "written-here"
        with sessions() as session:  # nothing written since: still the same, on every connection
            assert read_version(session)[0] == "written-here" != first
    finally:
        engine.dispose()
        other.dispose()
