"""The `dipevents` command line: serve, migrate, load, check, draft.

Every failure ends the command with one line on standard error and exit code 1 (2 for usage errors); the
traceback is printed only with `dipevents --debug …` (or DIPEVENTS_DEBUG=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from app.settings import get_settings


class _Commands(TyperGroup):
    """Turns any exception a command raises into one line on stderr and exit code 1, unless --debug."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context (a private module)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # exits, usage errors: click's own handling
            raise
        except Exception as exc:
            if ctx.meta.get("debug"):
                raise
            command = ctx.invoked_subcommand or ""
            typer.echo(f"dipevents {command}: {describe_failure(exc, _used_database_url)}", err=True)
            raise typer.Exit(1) from None


cli = typer.Typer(
    cls=_Commands,
    help="dipevents: structured, sourced diplomatic events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold database URLs, passwords included
)


@cli.callback()
def _options(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="DIPEVENTS_DEBUG", help="Print the traceback of a failure.")
    ] = False,
) -> None:
    ctx.meta["debug"] = debug


def describe_failure(exc: BaseException, database_url: str | None = None) -> str:
    """One line saying what failed, for a person at a terminal: the database's or the system's own message,
    never a traceback (a database URL's password is hidden)."""
    from pydantic import ValidationError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    if isinstance(exc, DBAPIError):
        cause = exc.orig
        message = (str(cause).strip().splitlines() or [""])[0][:300]
        where = ""
        if database_url:
            where = f" ({make_url(database_url).render_as_string(hide_password=True)})"
        return f"database error{where}: {type(cause).__name__}: {message} (run with --debug for the traceback)"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or first_line}"
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        # A setting from the environment: name the variable (its field name in capitals) and what it needs.
        return "; ".join(
            f"setting {'_'.join(str(p) for p in error['loc']).upper() or '?'}: {error['msg']}" for error in exc.errors()
        )
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {first_line} (run with --debug for the traceback)"
    if type(exc).__module__.startswith("app."):
        return first_line
    return f"{type(exc).__name__}: {first_line} (run with --debug for the traceback)"


_used_database_url: str | None = None  # named (password hidden) in a failure's one line


def _database_url(url: str | None) -> str:
    global _used_database_url
    _used_database_url = url or get_settings().database_url
    return _used_database_url


@contextmanager
def _setup_lock(url: str) -> Iterator[None]:
    """The database's setup lock (app.setup_lock), saying so on stderr if another process holds it."""
    from app.setup_lock import setup_lock

    def waiting() -> None:
        typer.echo("waiting for another dipevents process setting this database up…", err=True)

    with setup_lock(url, get_settings().setup_lock_timeout_s, waiting):
        yield


DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides the DATABASE_URL environment variable.")
]


@cli.command()
def migrate(database_url: DatabaseOption = None) -> None:
    """Bring the database schema up to date (alembic upgrade head), and the stored event documents with it: every
    event's rendered by this release, none for an event that no longer exists."""
    from app.migrate import upgrade

    url = _database_url(database_url)
    with _setup_lock(url):
        upgrade(url, thorough=True)
    typer.echo("database is at the latest schema revision")


@cli.command()
def check(path: Annotated[Path, typer.Argument(help="Bundle directory or file.")]) -> None:
    """Validate a data bundle without touching any database."""
    from app.importers.bundle import BundleInvalid, read_bundle

    try:
        loaded = read_bundle(path)
    except BundleInvalid as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    counts = {kind: len(getattr(loaded.bundle, kind)) for kind in type(loaded.bundle).model_fields}
    typer.echo(f"{path}: valid ({_format_counts(counts)})")


@cli.command()
def load(
    path: Annotated[Path, typer.Argument(help="Bundle directory or file.")],
    replace: Annotated[bool, typer.Option(help="Replace the whole dataset instead of adding to it.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Validate and import a data bundle in one transaction: all of it or nothing."""
    from app.curation.store import write_transaction
    from app.db import make_engine, session_factory
    from app.importers.bundle import BundleInvalid, import_bundle, read_bundle

    try:
        # Adding to a database: references may point at records already stored (checked in the transaction).
        loaded = read_bundle(path, standalone=replace)
    except BundleInvalid as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: valid; importing in one transaction…", err=True)
    url = _database_url(database_url)
    engine = make_engine(url)
    try:
        with _setup_lock(url), write_transaction(session_factory(engine)) as session:
            counts = import_bundle(session, loaded, replace=replace)
    except BundleInvalid as exc:
        _print_problems(exc, limit=10, path=path)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"loaded {path}: {_format_counts(counts)}")


@cli.command()
def draft(
    path: Annotated[Path, typer.Argument(help="A brief in markdown (headings, <sup>N</sup> footnotes).")],
    source_id: Annotated[str, typer.Option("--id", help="Slug for the source document.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Draft a bundle from a markdown brief: source, sections and footnotes as citations, to review by hand."""
    from app.importers.draft import draft_bundle, dump_draft

    text = dump_draft(draft_bundle(path.read_text(encoding="utf-8"), source_id))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}; review it, then `dipevents check` it", err=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT or 8000).")] = None,
    load_data: Annotated[bool, typer.Option(help="Load the bundled data when the database is empty.")] = True,
    workers: Annotated[int, typer.Option(envvar="WEB_CONCURRENCY", help="Worker processes (default 1).")] = 1,
) -> None:
    """Migrate, load the bundled data (or DATA_PATH) into an empty database, and serve the API.

    The bundled data is the dataset shipped inside the package; a missing DATA_PATH or bundle is an error, not an
    empty API.
    """
    import uvicorn

    from app.db import make_engine, session_factory
    from app.importers.bundle import (
        BundleInvalid,
        dataset_is_empty,
        import_bundle,
        read_bundle,
    )
    from app.logs import configure_logging
    from app.migrate import upgrade
    from app.packaged import bundled_data

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    url = _database_url(None)
    engine = make_engine(url)
    try:
        # Under the setup lock: a second server starting at the same time waits, then finds the schema
        # current and the data loaded, instead of failing on a unique violation.
        with _setup_lock(url):
            upgrade(url)
            with session_factory(engine).begin() as session:
                if load_data and dataset_is_empty(session):
                    data_path = settings.data_path or bundled_data()
                    counts = import_bundle(session, read_bundle(data_path))
                    typer.echo(f"loaded {data_path}: {_format_counts(counts)}")
    except BundleInvalid as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    # A factory, so each worker process builds its own app (and engine) after it starts. The app writes the
    # access log and configures logging itself (app.logs): uvicorn's own access log would be a second line
    # per request, and its logging config would replace ours.
    # Proxy headers (X-Forwarded-For/-Proto) only from the proxies named in FORWARDED_ALLOW_IPS: trusted from
    # anyone, or from every local peer (uvicorn's default), they let a client pick the address it is rate
    # limited by.
    trusted = settings.forwarded_allow_ips.strip()
    from app.server import LimitedHttpToolsProtocol

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        workers=workers,
        access_log=False,
        log_config=None,
        http=LimitedHttpToolsProtocol,  # limits on the request head (app.server)
        timeout_keep_alive=5,  # idle keep-alive connections close after 5 s (uvicorn's default, made explicit)
    )


keys = typer.Typer(help="API keys for writes: create, list, revoke. Tokens are shown once and stored hashed.")
cli.add_typer(keys, name="keys")


@contextmanager
def _keys_session(database_url: str | None) -> Iterator[Any]:
    from app.db import make_engine, session_factory

    engine = make_engine(_database_url(database_url))
    try:
        with session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


@keys.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. 'curator: Ayesha'.")],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="write (records), admin (whole bundles); repeat for both.")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create an API key and print its token once (only its SHA-256 is stored)."""
    from app.curation.keys import create_key

    with _keys_session(database_url) as session:
        key, token = create_key(session, name, scope or ["write"])
        typer.echo(
            f"created key {key.id} ({key.name}; scopes: {', '.join(key.scopes)}). Its token, shown only now:", err=True
        )
        typer.echo(token)


@keys.command("list")
def keys_list(database_url: DatabaseOption = None) -> None:
    """List keys: id, name, scopes, created, last used, revoked (never the tokens, which are not stored)."""
    from app.curation.keys import list_keys

    with _keys_session(database_url) as session:
        found = list_keys(session)
        if not found:
            typer.echo("no keys (create one with `dipevents keys create NAME`)", err=True)
        for key in found:
            when = key.last_used_at.isoformat() if key.last_used_at else "never"
            state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
            typer.echo(
                f"{key.id}\t{key.name}\t{','.join(key.scopes)}\tcreated {key.created_at.isoformat()}\t"
                f"last used {when}\t{state}"
            )


@keys.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (from `dipevents keys list`).")],
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a key: every later request with it is refused (401). Exits 1, changing nothing, for an unknown key
    or one revoked already."""
    from app.curation.keys import KeyNotRevoked, revoke_key

    try:
        with _keys_session(database_url) as session:
            name = revoke_key(session, key_id).name
    except KeyNotRevoked as exc:
        typer.echo(f"dipevents keys revoke: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked key {key_id} ({name})")


def _print_problems(exc: Exception, limit: int | None = None, path: Path | None = None) -> None:
    problems = getattr(exc, "problems", [])
    if len(problems) == 1:  # one line, like every other failure
        typer.echo(f"{problems[0]}; nothing was changed.", err=True)
        return
    for problem in problems[:limit]:
        typer.echo(str(problem), err=True)
    if limit is not None and len(problems) > limit:
        typer.echo(f"… and {len(problems) - limit} more (`dipevents check {path}` lists bundle problems)", err=True)
    typer.echo(f"{len(problems)} problem(s); nothing was changed.", err=True)


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
