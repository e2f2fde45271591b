"""Engine and session factory. The engine is created lazily from settings so that
tests and the CLI can point the app at any database via ``DATABASE_URL``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling begins a transaction only before a write, so a request's
    # SELECTs each ran in autocommit and could straddle an import. Turned off here; `_sqlite_begin`
    # emits BEGIN when SQLAlchemy begins, so every session reads one snapshot (the pysqlite recipe
    # in SQLAlchemy's SQLite dialect docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers proceed while an import transaction is open.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Read the file through a shared memory map instead of copying pages into each connection's small
    # cache: a 50-event page at 100k events went 17 -> 10 ms. SQLite caps the size at its compiled limit.
    cursor.execute("PRAGMA mmap_size=4294967296")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Deferred: the read snapshot starts at the first SELECT and lasts until the session ends (WAL
    # keeps it while an import commits); a write upgrades it. Writers (app.curation.store.write_transaction)
    # ask for IMMEDIATE: the write lock at once, so their snapshot can never be stale when they write.
    immediate = connection.get_execution_options().get("sqlite_immediate")
    # On the driver connection: SQLAlchemy's statement machinery costs more than this statement, on every request.
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


# Sync endpoints run on AnyIO's thread pool (WORKER_THREADS, 8 by default; AnyIO's own default is 40). Each
# in-flight request can hold one connection, and each streaming export one more, so the pool must offer more
# than both, or requests wait on each other until the pool times out (seen at 64 concurrent clients with
# 40 threads and the default 5 + 10).
POOL = {"pool_size": 10, "max_overflow": 40, "pool_timeout": 10}


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (plain or `file:` URI form); None for an in-memory database
    or another backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.query.get("uri") in ("true", "1") and parsed.database.startswith("file:"):
        path = unquote(parsed.database.removeprefix("file:").split("?")[0])
        return None if not path or path == ":memory:" or parsed.query.get("mode") == "memory" else Path(path)
    return Path(parsed.database)


def _remember_file(path: Path) -> Any:
    def remember(_dbapi_connection: Any, record: Any) -> None:
        # Which file this connection has open, so /health can tell when the file at `path` was deleted or
        # replaced while the connection kept reading the old one (app.routers.meta).
        try:
            found = path.stat()
        except OSError:
            return
        record.info["database_file"] = (found.st_dev, found.st_ino)

    return remember


def make_engine(
    url: str,
    *,
    query_timeout_ms: int = 0,
    create: bool = True,
    pool_timeout_s: float | None = None,
    idle_in_transaction_ms: int = 0,
) -> Engine:
    """An engine for `url`. The API passes a query time cap, ``create=False``, how long a request may wait
    for a pooled connection (``pool_timeout_s``; then sqlalchemy.exc.TimeoutError, answered 503) and, for
    PostgreSQL, after how many milliseconds the server ends a transaction left idle
    (``idle_in_transaction_ms``: a stalled export's); the CLI (imports, migrations) none of them.

    ``create=False`` (SQLite): open the file read/write but never create it or its folder, so a missing
    database is an error on connect ("unable to open database file", a 503 and a failing /health)
    instead of a new, empty database that answers every request with 500s."""
    parsed = make_url(url)
    pool = POOL if pool_timeout_s is None else {**POOL, "pool_timeout": pool_timeout_s}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None and create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif path is not None and parsed.query.get("uri") not in ("true", "1"):
            # A SQLite URI (SQLAlchemy passes `uri=true` to the driver) with mode=rw: read/write, no create.
            where = quote(os.fspath(path), safe="/")
            parsed = parsed.set(database=f"file:{where}", query={**parsed.query, "mode": "rw", "uri": "true"})
        options = {} if path is None else pool
        engine = create_engine(parsed, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        if path is not None:
            event.listen(engine, "connect", _remember_file(path))
    else:
        connect_args: dict[str, Any] = {"connect_timeout": 5}
        server_settings = [f"-c statement_timeout={query_timeout_ms}"] if query_timeout_ms > 0 else []
        if idle_in_transaction_ms > 0:
            server_settings.append(f"-c idle_in_transaction_session_timeout={idle_in_transaction_ms}")
        if server_settings:
            connect_args["options"] = " ".join(server_settings)
        # REPEATABLE READ: every request reads one snapshot, so a concurrent import is seen whole or not at all.
        # No pre-ping: it costs a round trip per checkout (two per request; measured 1.3-6 ms on a request).
        # A connection that died while pooled (database restart) fails one request with a 503 + Retry-After,
        # and SQLAlchemy then discards every older pooled connection; recycling bounds their age for idle
        # timeouts in proxies such as PgBouncer.
        engine = create_engine(
            url, pool_recycle=1800, connect_args=connect_args, isolation_level="REPEATABLE READ", **pool
        )
    if query_timeout_ms > 0:
        from app.guards import install_query_timeout

        install_query_timeout(engine, query_timeout_ms)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
