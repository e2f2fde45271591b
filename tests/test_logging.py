"""Logs: one access record per request, request ids on responses and problem documents, failures logged
with their cause, text or JSON lines."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.deps import get_session
from app.logs import ACCESS_LOGGER, RequestLogMiddleware, configure_logging, mark_logged
from app.main import create_app
from app.settings import Settings

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def access_records(caplog: pytest.LogCaptureFixture, request_id: str | None = None) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS_LOGGER and (request_id is None or r.request_id == request_id)]


def failing_app(test_db: str, exc: Exception):
    app = create_app(Settings(database_url=test_db, rate_limit_per_minute=0))

    def failing_session():
        raise exc
        yield  # pragma: no cover

    app.dependency_overrides[get_session] = failing_session
    return app


def test_one_access_record_per_request_with_its_fields(client, logs):
    response = client.get("/v1/events", params={"limit": 2})
    request_id = response.headers["x-request-id"]
    (record,) = access_records(logs, request_id)
    assert (record.method, record.path, record.query, record.status) == ("GET", "/v1/events", "limit=2", 200)
    assert record.duration_ms > 0 and record.response_bytes == response.num_bytes_downloaded > 0
    assert record.client == "testclient" and record.levelno == logging.INFO
    assert "GET /v1/events?limit=2 200" in record.getMessage()


def test_a_sane_incoming_request_id_is_echoed(client, logs):
    response = client.get("/v1/events", headers={"X-Request-ID": "lb-7f3a.2_x"})
    assert response.headers["x-request-id"] == "lb-7f3a.2_x"
    assert len(access_records(logs, "lb-7f3a.2_x")) == 1


@pytest.mark.parametrize("incoming", ["two words", "x" * 129, "<script>", "a/b", ""])
def test_an_insane_incoming_request_id_is_replaced(client, incoming):
    given = client.get("/health/live", headers={"X-Request-ID": incoming}).headers["x-request-id"]
    assert given != incoming and len(given) == 32 and int(given, 16) >= 0


def test_generated_request_ids_differ(client):
    ids = {client.get("/health/live").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/events", {"limit": "many"}, 400),
        ("/v1/events", {"actor": "nobody-at-all"}, 400),
        ("/v1/events/no-such-event", {}, 404),
        ("/no/such/route", {}, 404),
        ("/v1/events", {"q": "x " * 3000}, 414),  # refused by the guards, before the app runs
        ("/v1/events", {"start": "a\x00"}, 400),
    ],
)
def test_problem_documents_carry_the_request_id_of_the_header(client, logs, path, params, status):
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    (record,) = access_records(logs, response.headers["x-request-id"])
    assert record.status == status


def test_every_kind_of_response_carries_the_header(client):
    page = client.get("/v1/events")
    not_modified = client.get("/v1/events", headers={"If-None-Match": page.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.headers["x-request-id"]
    preflight = client.options(
        "/v1/events", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200 and preflight.headers["x-request-id"]
    gzipped = client.get("/v1/events", params={"limit": 50}, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.headers["x-request-id"]
    cross_origin = client.get("/v1/events", headers={"Origin": "https://app.example"})
    assert "x-request-id" in cross_origin.headers["access-control-expose-headers"].lower()


def test_a_streamed_export_is_logged_once_its_body_is_sent(client, logs):
    response = client.get("/v1/events", params={"format": "ndjson"}, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200 and response.headers["x-request-id"]
    (record,) = access_records(logs, response.headers["x-request-id"])
    assert record.status == 200 and record.response_bytes == response.num_bytes_downloaded > 0
    assert not hasattr(record, "error")


def test_the_logged_target_is_capped_and_cannot_forge_lines(client, logs):
    response = client.get("/v1/events%0Aforged", params={"q": "y" * 3000})
    (record,) = access_records(logs, response.headers["x-request-id"])
    assert "\n" not in record.getMessage()
    assert len(record.query) <= 513 and record.query.endswith("…")


def test_every_record_during_a_request_carries_its_id(test_db, logs):
    app = create_app(Settings(database_url=test_db))

    @app.get("/chatty")
    def chatty() -> dict:  # a sync endpoint: runs in a worker thread, which must see the id too
        logging.getLogger("app.somewhere").info("working")
        return {}

    with TestClient(app) as client:
        request_id = client.get("/chatty").headers["x-request-id"]
    (record,) = [r for r in logs.records if r.name == "app.somewhere"]
    assert record.request_id == request_id
    app.state.engine.dispose()


def test_an_unexpected_error_is_logged_with_traceback_and_answered_without_internals(test_db, logs):
    app = failing_app(test_db, RuntimeError("secret detail: SELECT password FROM users"))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/events")
    app.state.engine.dispose()
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text and "SELECT" not in response.text and "Traceback" not in response.text
    request_id = response.headers["x-request-id"]
    assert response.json()["request_id"] == request_id
    (error,) = [r for r in logs.records if r.levelno == logging.ERROR]
    assert error.request_id == request_id and error.exc_info and error.exc_info[0] is RuntimeError
    assert "RuntimeError" in error.getMessage() and "GET /v1/events" in error.getMessage()
    assert "secret detail" in logs.text  # the traceback, in the log only
    (access,) = access_records(logs, request_id)
    assert access.status == 500 and access.levelno == logging.WARNING


@pytest.mark.parametrize(
    ("exc", "kind", "cause"),
    [
        (OperationalError("SELECT …", {}, sqlite3.OperationalError("interrupted")), "query-timeout", "interrupted"),
        (PoolTimeout("QueuePool limit of size 10 overflow 40 reached"), "database-unavailable", "QueuePool limit"),
    ],
)
def test_a_503_logs_its_cause(test_db, logs, exc, kind, cause):
    app = failing_app(test_db, exc)
    with TestClient(app) as client:
        response = client.get("/v1/events")
    app.state.engine.dispose()
    assert response.status_code == 503 and response.json()["type"] == f"/problems/{kind}"
    assert response.headers["retry-after"] == "5"
    request_id = response.headers["x-request-id"]
    assert response.json()["request_id"] == request_id
    (warning,) = [r for r in logs.records if r.name == "app.problems"]
    assert warning.levelno == logging.WARNING and warning.request_id == request_id
    assert warning.problem == kind and cause in warning.cause and cause in warning.getMessage()
    assert cause not in response.text


def test_an_unreachable_database_is_a_503_logged_with_its_cause(logs):
    app = create_app(Settings(database_url=UNREACHABLE))
    with TestClient(app) as client:
        response = client.get("/v1/events")
    app.state.engine.dispose()
    assert response.status_code == 503 and response.json()["type"] == "/problems/database-unavailable"
    (warning,) = [r for r in logs.records if r.name == "app.problems"]
    assert warning.request_id == response.headers["x-request-id"]
    assert warning.cause.startswith("OperationalError") and "127.0.0.1" in warning.cause
    assert "127.0.0.1" not in response.text


def test_json_format_writes_one_parseable_object_per_line(test_db, capsys):
    app = create_app(Settings(database_url=test_db, log_format="json"))
    try:
        with TestClient(app) as client:
            capsys.readouterr()
            request_id = client.get("/v1/events", params={"limit": 1}).headers["x-request-id"]
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    finally:
        app.state.engine.dispose()
        configure_logging()
    (access,) = [line for line in lines if line["logger"] == ACCESS_LOGGER]
    assert access["request_id"] == request_id and access["status"] == 200 and access["level"] == "INFO"
    assert access["method"] == "GET" and access["path"] == "/v1/events" and access["query"] == "limit=1"
    assert isinstance(access["duration_ms"], float) and access["time"].endswith("+00:00")


def test_json_lines_carry_tracebacks_on_one_line(capsys):
    configure_logging("INFO", "json")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("app.test").exception("failed", extra={"detail": {"n": 1}})
        (line,) = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x]
    finally:
        configure_logging()
    assert line["message"] == "failed" and line["level"] == "ERROR" and line["request_id"] is None
    assert "ValueError: boom" in line["exc_info"] and line["detail"] == {"n": 1}


def test_text_format_shows_the_request_id(client, capsys):
    configure_logging("INFO", "text")
    capsys.readouterr()
    request_id = client.get("/health/live").headers["x-request-id"]
    (line,) = [x for x in capsys.readouterr().err.splitlines() if ACCESS_LOGGER in x]
    assert f"[{request_id}] GET /health/live 200" in line


def test_log_level_filters_access_records(test_db, capsys):
    app = create_app(Settings(database_url=test_db, log_level="warning"))
    try:
        with TestClient(app) as client:
            capsys.readouterr()
            client.get("/health/live")
            assert capsys.readouterr().err == ""
    finally:
        app.state.engine.dispose()
        configure_logging()


def test_the_servers_copy_of_a_logged_traceback_is_dropped(capsys):
    configure_logging("INFO", "text")
    logged, unlogged = RuntimeError("logged"), RuntimeError("not logged")
    mark_logged(logged)
    for exc in (logged, unlogged):
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=exc)
    err = capsys.readouterr().err
    assert "not logged" in err and "RuntimeError: logged" not in err


def test_a_response_that_never_finishes_is_still_logged(logs):
    async def half_a_stream(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"", "headers": [], "client": None}
    asyncio.run(RequestLogMiddleware(half_a_stream)(scope, None, send))
    (record,) = access_records(logs)
    assert record.status == 200 and record.response_bytes == 3 and "incomplete" in record.error
    assert (b"x-request-id", record.request_id.encode()) in sent[0]["headers"]


def test_serve_leaves_the_access_log_and_logging_config_to_the_app(monkeypatch, tmp_path):
    import uvicorn
    from typer.testing import CliRunner

    import app.cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'serve.sqlite3'}", log_format="json")
    monkeypatch.setattr(app.cli, "get_settings", lambda: settings)
    try:
        result = CliRunner().invoke(app.cli.cli, ["serve", "--no-load-data"])
    finally:
        configure_logging()
    assert result.exit_code == 0, result.output
    assert calls[0]["access_log"] is False and calls[0]["log_config"] is None
