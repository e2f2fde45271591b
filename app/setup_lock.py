"""One `dipevents` process at a time sets a database up: `migrate`, `load` and `serve`'s migrate + first load
hold this lock, so two servers starting against an empty database do not both create the schema or both load
the data (the loser waits, then finds the schema current and the data loaded).

PostgreSQL: a session-level advisory lock, held on a connection of its own (so the migration and the import
keep their own transactions). SQLite: an exclusive `flock` on a `<database>.lock` file beside the database
(a lock on the database file itself would be released by SQLite's own POSIX locks being closed, and vice
versa). Elsewhere (an in-memory database; Windows, which has no flock) there is no lock.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from app.db import sqlite_file

# pg_advisory_lock key: "dipevents setup" (any constant no other application on the database uses).
ADVISORY_KEY = 0x6469706576_01


class SetupLockTimeout(Exception):
    """Another process held the setup lock for longer than the wait allowed."""


@contextmanager
def setup_lock(url: str, timeout_s: float, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the database's setup lock for the block. Waits up to ``timeout_s`` seconds for another process
    to release it (calling ``waiting()`` once if it has to wait); raises SetupLockTimeout after that, and the
    database's own errors (sqlalchemy.exc.OperationalError) when it cannot be reached."""
    if make_url(url).get_backend_name() == "postgresql":
        with _advisory_lock(url, timeout_s, waiting):
            yield
        return
    path = sqlite_file(url)
    if path is None or sys.platform == "win32":
        yield
        return
    with _file_lock(f"{path}.lock", timeout_s, waiting):
        yield


@contextmanager
def _advisory_lock(url: str, timeout_s: float, waiting: Callable[[], None] | None) -> Iterator[None]:
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # a lock, not a long open transaction
            if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar():
                if waiting is not None:
                    waiting()
                conn.execute(text(f"SET lock_timeout = {max(1, int(timeout_s * 1000))}"))
                try:
                    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
                except OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                        raise SetupLockTimeout(_timeout_message(timeout_s)) from None
                    raise
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
    finally:
        engine.dispose()


@contextmanager
def _file_lock(name: str, timeout_s: float, waiting: Callable[[], None] | None) -> Iterator[None]:
    import fcntl

    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
    with open(name, "a") as handle:
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SetupLockTimeout(_timeout_message(timeout_s)) from None
                if waiting is not None and not told:
                    waiting()
                    told = True
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _timeout_message(timeout_s: float) -> str:
    return (
        f"another dipevents process has been setting this database up (migrate or load) for over {timeout_s:.0f} s; "
        "try again when it has finished, or raise SETUP_LOCK_TIMEOUT_S"
    )
