"""Code shared by the test modules (fixtures live in conftest.py; test modules import from here, never
from one another or from conftest)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from app.db import make_engine, session_factory
from app.importers.bundle import import_bundle, read_bundle
from app.models import Base

ROOT = Path(__file__).resolve().parent.parent
TEST_BUNDLE = ROOT / "tests" / "bundle"
DATA = ROOT / "data"
# The team's read-only files (the source briefs) sit beside the repository; a clone elsewhere can point
# DIPEVENTS_SHARED at them. Tests that need them skip, saying so, when they are absent.
SHARED = Path(os.environ.get("DIPEVENTS_SHARED") or ROOT.parent / "shared")
SEED = SHARED / "seeds" / "000_f2abaf40c4b61f5c.txt"
needs_seed = pytest.mark.skipif(
    not SEED.is_file(), reason=f"the seed brief is not at {SEED} (set DIPEVENTS_SHARED to the shared folder)"
)
POSTGRES_URL = os.environ.get("DIPEVENTS_TEST_POSTGRES_URL")


@lru_cache
def yaml_records(folder: Path, kind: str) -> list[dict]:
    """The records of one kind ("events", "citations", ...) of a bundle folder, read as plain YAML: an
    oracle independent of the app's reader. Shared: do not modify."""
    records: list[dict] = []
    for path in sorted(folder.rglob("*.yaml")):
        records += (yaml.safe_load(path.read_text()) or {}).get(kind, [])
    return records


def bundle_records(kind: str) -> list[dict]:
    return yaml_records(TEST_BUNDLE, kind)


def admin_engine() -> Engine:
    """An AUTOCOMMIT engine on DIPEVENTS_TEST_POSTGRES_URL that cannot hang the run: connecting gives up
    after 10 s, waiting for a lock (CREATE/DROP DATABASE, ALTER DATABASE) after 15 s, any statement after
    60 s. (A dead network is left to pytest-timeout.)"""
    assert POSTGRES_URL
    return create_engine(
        POSTGRES_URL,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 10, "options": "-c lock_timeout=15s -c statement_timeout=60s"},
    )


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
        admin = admin_engine()
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            pytest.fail(f"DIPEVENTS_TEST_POSTGRES_URL is set but PostgreSQL is unusable: {exc}")
        finally:
            admin.dispose()
        self.created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = admin_engine()
        try:
            with admin.connect() as conn:
                for name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def load_into(url: str, bundle: Path) -> None:
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        import_bundle(session, read_bundle(bundle))
    engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: 'byte-for-byte unchanged in content'."""
    engine = make_engine(url)
    with engine.connect() as conn:
        result = {
            table.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }
    engine.dispose()
    return result


def all_pages(client, url: str, limit: int, **filters: str) -> list[dict]:
    items, cursor = [], None
    for _ in range(100):
        params = filters | {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = client.get(url, params=params).json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def problem(response, status: int, parameter: str | None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert body.get("parameter") == parameter
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(command: list[str], cwd: Path, env: dict[str, str], log_path: Path, port: int) -> Iterator[str]:
    """Run ``command`` (a `dipevents serve` on ``port``) until the block ends; yields its base URL once
    /health answers 200. Fails the test, showing the log's end, when it does not within 60 s."""
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w+b") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"dipevents serve did not come up:\n{log.read().decode(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def live_server(folder: Path) -> Iterator[str]:
    """`dipevents serve` (this checkout's code, a real uvicorn on a free loopback port) over a new SQLite database in
    `folder`, which serving migrates and loads with the bundled data. Yields the base URL (`http://127.0.0.1:PORT`);
    the server log is `folder/serve.log`. Fails the test when the server does not answer /health within 60 s.
    Rate limits are off: client checks download several exports in a row."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_PATH", "HOST", "PORT")}
    env |= {
        "DATABASE_URL": f"sqlite:///{folder / 'live.sqlite3'}",
        "RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    with serving(command, folder, env, folder / "serve.log", port) as base:
        yield base
