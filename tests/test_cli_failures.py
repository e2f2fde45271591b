"""CLI failures (issue 12 §7a, §7b): one clear line on stderr and a non-zero exit code, the traceback only with
`--debug`; processes setting one database up at the same time take turns instead of failing."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.db import make_engine
from app.models import Event
from tests.helpers import ROOT, TEST_BUNDLE
from tests.servers import start, stop, wait_until_serving
from tests.synthetic import write_bundle

UNREACHABLE = "postgresql+psycopg://postgres:secret@127.0.0.1:1/x"


def dipevents(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def failure_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without the progress line `load` prints before it starts importing."""
    return [line for line in result.stderr.splitlines() if "importing in one transaction" not in line]


def test_an_unreachable_database_is_one_line_and_exit_1():
    for command in (["load", str(TEST_BUNDLE)], ["migrate"]):
        result = dipevents(*command, "--database-url", UNREACHABLE)
        assert result.returncode == 1
        (line,) = failure_lines(result)
        assert line.startswith(f"dipevents {command[0]}: database error (postgresql+psycopg://postgres:***@")
        assert "Connection refused" in line and "secret" not in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_the_traceback():
    result = dipevents("--debug", "migrate", "--database-url", UNREACHABLE)
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_a_missing_bundle_is_one_line(tmp_path):
    result = dipevents("load", str(tmp_path / "nowhere"), "--database-url", f"sqlite:///{tmp_path}/db.sqlite3")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "nowhere" in line and "no such file or directory" in line


def _count_events(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Event))
    engine.dispose()
    return count or 0


def test_two_concurrent_loads_one_wins_the_other_fails_in_a_few_lines(migrated_db, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", events=3000)
    results: list[subprocess.CompletedProcess[str]] = []

    def load() -> None:
        results.append(dipevents("load", str(bundle), "--database-url", migrated_db, timeout=300))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner, loser = sorted(results, key=lambda r: r.returncode)
    assert (winner.returncode, loser.returncode) == (0, 1), (winner.stderr[-2000:], loser.stderr[-2000:])
    assert "Traceback" not in loser.stderr
    lines = failure_lines(loser)
    assert len(lines) <= 13 and "already in the database" in loser.stderr, lines
    assert _count_events(migrated_db) == 3000


def test_two_servers_starting_on_an_empty_database_take_turns(empty_db, tmp_path):
    # Migrate + first load under the setup lock: the second server waits, then finds the data loaded.
    data = write_bundle(tmp_path / "data", events=2000)
    servers = [start(empty_db, DATA_PATH=str(data), RATE_LIMIT_PER_MINUTE="0") for _ in range(2)]
    try:
        for server in servers:
            wait_until_serving(server, timeout=180)
        for server in servers:
            assert httpx.get(server.base + "/health").status_code == 200, server.output()
        outputs = [server.output() for server in servers]
    finally:
        for server in servers:
            stop(server)
    assert sum("loaded " in output for output in outputs) == 1, outputs
    assert not any("Traceback" in output for output in outputs), outputs
    assert _count_events(empty_db) == 2000


def test_the_sqlite_lock_file_sits_beside_the_database(tmp_path):
    url = f"sqlite:///{tmp_path}/db/dipevents.sqlite3"
    assert dipevents("migrate", "--database-url", url).returncode == 0
    assert sorted(p.name for p in Path(tmp_path, "db").iterdir() if "lock" in p.name) == ["dipevents.sqlite3.lock"]


def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CURSOR_SECRET", "short")
    result = dipevents("migrate", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert result.returncode == 1
    (line,) = failure_lines(result)
    assert line.startswith("dipevents migrate: setting CURSOR_SECRET:") and "32 characters" in line, line
