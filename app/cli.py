"""The `dipevents` command line: serve, migrate, load, check, draft."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.settings import get_settings

cli = typer.Typer(help="dipevents: structured, sourced diplomatic events.", no_args_is_help=True, add_completion=False)


def _database_url(url: str | None) -> str:
    return url or get_settings().database_url


DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides the DATABASE_URL environment variable.")
]


@cli.command()
def migrate(database_url: DatabaseOption = None) -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from app.migrate import upgrade

    upgrade(_database_url(database_url))
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
    from app.db import make_engine, session_factory
    from app.importers.bundle import BundleInvalid, import_bundle, read_bundle

    try:
        loaded = read_bundle(path)
    except BundleInvalid as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: valid; importing in one transaction…", err=True)
    engine = make_engine(_database_url(database_url))
    try:
        with session_factory(engine).begin() as session:
            counts = import_bundle(session, loaded, replace=replace)
    except BundleInvalid as exc:
        _print_problems(exc)
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
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
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
    )


def _print_problems(exc: Exception) -> None:
    problems = getattr(exc, "problems", [])
    for problem in problems:
        typer.echo(str(problem), err=True)
    typer.echo(f"{len(problems)} problem(s); nothing was changed.", err=True)


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
