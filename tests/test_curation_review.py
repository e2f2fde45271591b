"""Curation, as reviewed: old ids work as references in writes, a rename cannot take an id that still means something,
change reasons are one checked line, Last-Modified never runs ahead of the clock, every body problem has one shape,
a write that changes nothing records nothing, blank text and C1 controls are refused, revoking twice is an error,
and a generated database's change feed replays it — through the real app, on SQLite and (when configured)
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.curation import store
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.helpers import snapshot
from tests.test_curation import (
    NEW_EVENT,
    Curated,
    _bearer,
    data_rows,
    make_curated,
    post_event,
    read_feed,
    replay,
    run,
    without_keys,
)


def unchanged(c: Curated) -> tuple[Any, Any]:
    """What a refused or empty write must leave as it was: every row but the keys', and the change feed."""
    return without_keys(snapshot(c.url)), c.get("/v1/changes", params={"limit": 1000}).json()


# -- 1. old ids as references ----------------------------------------------------------------------------------


def test_old_ids_work_as_references_in_writes_and_the_current_id_is_stored(curated: Curated) -> None:
    c = curated
    assert c.merge("/v1/actors/bob-minister", {"id": "robert-minister"}).status_code == 200
    assert c.merge("/v1/actors/robert-minister", {"id": "rob-minister"}).status_code == 200  # a chain of renames
    assert c.merge("/v1/topics/training", {"id": "drills"}).status_code == 200
    assert c.merge("/v1/sources/test-brief", {"id": "brief-2021"}).status_code == 200
    assert c.merge("/v1/events/september-visit", {"id": "sept-visit"}).status_code == 200

    event = NEW_EVENT | {
        "topics": ["training", "trade"],
        "quotes": [{"speaker": "robert-minister", "text": "We reply.", "footnote": 2}],
        "parent": "september-visit",
    }
    created = post_event(c, event)  # participant `bob-minister`, locator source `test-brief`: all old ids
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["participants"] == [{"actor": "rob-minister", "role": "speaker"}]
    assert body["quotes"][0]["speaker"] == "rob-minister" and body["topics"] == ["drills", "trade"]
    assert body["parent"] == "sept-visit" and body["locators"][0]["source"] == "brief-2021"
    history = c.get("/v1/events/beta-replies/history").json()["items"]
    assert history[-1]["after"]["participants"] == [{"actor": "rob-minister", "role": "speaker"}]
    assert [p["actor"]["id"] for p in c.get("/v1/events/beta-replies").json()["participants"]] == ["rob-minister"]

    assert c.merge("/v1/topics/trade", {"parent": "training"}).json()["parent"] == "drills"
    citation = {"id": "cite-three", "source": "test-brief", "type": "report", "title": "A third"}
    cited = c.client.post("/v1/citations", json=citation, headers=c.writer)
    assert cited.status_code == 201 and cited.json()["source"] == "brief-2021"
    bundle = {"events": [NEW_EVENT | {"id": "bundled-reply"}], "agreements": []}
    assert c.client.post("/v1/bundles", json=bundle, headers=c.admin).status_code == 200
    bundled = c.get("/v1/events/bundled-reply").json()
    assert [p["actor"]["id"] for p in bundled["participants"]] == ["rob-minister"]
    gone = c.client.delete(
        "/v1/events/beta-replies", params={"replaced_by": "september-visit"}, headers=c.writer | {"If-Match": "*"}
    )
    assert gone.status_code == 204, gone.text
    assert c.get("/v1/events/beta-replies").headers["Link"] == '</v1/events/sept-visit>; rel="successor-version"'

    stored = repr({name: rows for name, rows in data_rows(c.url).items() if name != "retired_ids"})
    for old in ("bob-minister", "robert-minister", "training", "test-brief", "september-visit"):
        assert f"'{old}'" not in stored, f"{old} is stored as a reference"


# -- 2. rename targets -----------------------------------------------------------------------------------------


def test_a_rename_cannot_take_a_deleted_id_or_another_records_former_id(curated: Curated) -> None:
    c = curated
    assert c.client.delete("/v1/events/september-visit", headers=c.writer | {"If-Match": "*"}).status_code == 204
    assert c.merge("/v1/actors/bob-minister", {"id": "robert-minister"}).status_code == 200
    before = unchanged(c)

    onto_deleted = c.merge("/v1/events/trade-statement", {"id": "september-visit"})
    assert onto_deleted.status_code == 409, onto_deleted.text
    assert [e["field"] for e in onto_deleted.json()["errors"]] == ["id"]
    assert "deleted" in onto_deleted.json()["errors"][0]["detail"]
    onto_alias = c.merge("/v1/actors/gamma-org", {"id": "bob-minister"})
    assert onto_alias.status_code == 409 and onto_alias.json()["errors"][0]["field"] == "id"
    assert "robert-minister" in onto_alias.json()["errors"][0]["detail"]
    gamma = c.get("/v1/actors/gamma-org/history").json()["items"][-1]["after"]
    put = c.client.put(
        "/v1/actors/gamma-org", json=gamma | {"id": "bob-minister"}, headers=c.writer | {"If-Match": "*"}
    )
    assert put.status_code == 409 and put.json()["errors"][0]["field"] == "id"
    created = c.client.post("/v1/actors", json=gamma | {"id": "bob-minister"}, headers=c.writer)
    assert created.status_code == 409 and created.json()["errors"][0]["field"] == "id"
    bundled = c.client.post("/v1/bundles", json={"actors": [gamma | {"id": "bob-minister"}]}, headers=c.admin)
    assert bundled.status_code == 409
    assert unchanged(c) == before, "a refused rename wrote something"
    moved = c.get("/v1/actors/bob-minister", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == "/v1/actors/robert-minister"

    # Taking back the record's own former id undoes the rename; a deleted id may still be created again.
    assert c.merge("/v1/actors/robert-minister", {"id": "bob-minister"}).status_code == 200
    assert c.get("/v1/actors/bob-minister").status_code == 200
    back = c.get("/v1/actors/robert-minister", follow_redirects=False)
    assert back.status_code == 301 and back.headers["Location"] == "/v1/actors/bob-minister"
    restored = c.get("/v1/events/september-visit/history").json()["items"][-1]["before"]
    assert c.client.post("/v1/events", json=restored, headers=c.writer).status_code == 201


# -- 3. change reasons -----------------------------------------------------------------------------------------


def test_change_reasons_are_one_line_of_limited_text_in_the_header_and_the_body(curated: Curated) -> None:
    c = curated
    limit = store.REASON_LIMIT
    before = unchanged(c)
    for reason in ("line%0Abreak", "bell%07", "nel%C2%85here", "c1%C2%9F", "%FF%FE", "x" * (limit + 1)):
        refused = post_event(c, NEW_EVENT, **{"X-Change-Reason": reason})
        assert refused.status_code == 400, (reason, refused.text)
        assert refused.json()["parameter"] == "X-Change-Reason", reason
    for reason in ("two\nlines", "esc\x1b", "c1\x85", "x" * (limit + 1), 5):
        document = {"topics": [{"id": "new-topic", "label": "New"}], "reason": reason}
        refused = c.client.post("/v1/bundles", json=document, headers=c.admin)
        assert refused.status_code == 422, (reason, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["reason"]
    assert unchanged(c) == before

    longest = "é" * limit
    accepted = post_event(c, NEW_EVENT, **{"X-Change-Reason": "%C3%A9" * limit})
    assert accepted.status_code == 201, accepted.text
    assert c.get("/v1/events/beta-replies/history").json()["items"][0]["reason"] == longest


# -- 4. Last-Modified and the clock ----------------------------------------------------------------------------


def test_last_modified_never_runs_ahead_of_the_clock_and_validators_follow_every_write(
    curated: Curated, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = curated
    second = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)).replace(microsecond=0)
    path = "/v1/events/summit-meeting"

    def write_at(at: dt.datetime, title: str) -> dict[str, str]:
        monkeypatch.setattr(store, "_clock", lambda: at)
        assert c.merge(path, {"title": title}).status_code == 200
        got = c.get(path)
        last_modified = parsedate_to_datetime(got.headers["Last-Modified"])
        assert last_modified <= at, "Last-Modified is later than the write (and so than a response's Date)"
        return dict(got.headers)

    first = write_at(second + dt.timedelta(milliseconds=100), "One")
    assert first["last-modified"] == format_datetime(second, usegmt=True)
    since = {"If-Modified-Since": first["last-modified"]}
    assert c.get(path, headers=since).status_code == 304, "one write in that second: a copy dated it is current"
    seen = [first]
    for i, millis in enumerate((200, 300, 900)):  # several writes in the same second
        seen.append(write_at(second + dt.timedelta(milliseconds=millis), f"Title {i}"))
        assert c.get(path, headers=since).status_code == 200, "a copy from earlier in that second must revalidate"
    assert len({h["etag"] for h in seen}) == len(seen) and len({h["x-dataset-version"] for h in seen}) == len(seen)
    assert {h["last-modified"] for h in seen} == {first["last-modified"]}
    assert c.get(path, headers={"If-None-Match": first["etag"]}).status_code == 200
    assert c.get(path, headers={"If-None-Match": seen[-1]["etag"]}).status_code == 304

    later = write_at(second + dt.timedelta(seconds=1, milliseconds=500), "Later")
    assert parsedate_to_datetime(later["last-modified"]) == second + dt.timedelta(seconds=1)
    assert c.get(path, headers={"If-Modified-Since": later["last-modified"]}).status_code == 304


# -- 5. body problems ------------------------------------------------------------------------------------------


BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("malformed", b'{"id": ', 400, "body"),
    ("empty", b"", 400, "body"),
    ("too deep", b"[" * 100_000 + b"]" * 100_000, 400, "body"),
    ("wrong type", b"[1, 2]", 422, "body"),
]


def test_every_body_problem_has_the_field_shape(databases: Any) -> None:
    for c in make_curated(databases.new(), max_body_bytes=1_000_000):
        event = json.dumps(NEW_EVENT).encode()
        bodies = [
            *BAD_BODIES,
            ("invalid field", json.dumps(NEW_EVENT | {"date": "someday"}).encode(), 422, "date"),
            ("unknown field", json.dumps(NEW_EVENT | {"colour": "red"}).encode(), 422, "colour"),
            ("nested invalid", json.dumps(NEW_EVENT | {"participants": [{"actor": 5}]}).encode(), 422, "participants"),
        ]
        merge_type = {"Content-Type": "application/merge-patch+json", "If-Match": "*"}
        json_type = {"Content-Type": "application/json"}
        writes = [
            ("POST", "/v1/events", json_type, c.writer),
            ("PUT", "/v1/events/summit-meeting", json_type | {"If-Match": "*"}, c.writer),
            ("PATCH", "/v1/events/summit-meeting", merge_type, c.writer),
            ("POST", "/v1/bundles", json_type, c.admin),
        ]
        before = unchanged(c)
        for method, path, headers, key in writes:
            for name, content, status, field in bodies:
                if path == "/v1/bundles" and status == 422 and field != "body":
                    content = json.dumps({"events": [json.loads(content)]}).encode()
                    field = f"events.0.{field}"
                if method == "PATCH" and name in ("invalid field", "unknown field", "nested invalid"):
                    content = json.dumps({k: v for k, v in json.loads(content).items() if k in (field, "id")}).encode()
                answer = c.client.request(method, path, content=content, headers=key | headers)
                where = f"{method} {path} {name}"
                assert answer.status_code == status, (where, answer.text)
                problem = answer.json()
                assert answer.headers["content-type"] == "application/problem+json", where
                assert problem["parameter"] is None and problem["errors"], (where, problem)
                assert all(set(e) == {"field", "detail"} for e in problem["errors"]), (where, problem)
                assert problem["errors"][0]["field"].startswith(field), (where, problem)
        assert unchanged(c) == before
        assert post_event(c, json.loads(event)).status_code == 201

        operations = c.get("/openapi.json").json()["paths"]
        for path, method in [
            ("/v1/events", "post"),
            ("/v1/events/{event_id}", "put"),
            ("/v1/events/{event_id}", "patch"),
            ("/v1/actors/{actor_id}", "put"),
            ("/v1/bundles", "post"),
        ]:
            responses = operations[path][method]["responses"]
            for status, model in (("400", "WriteProblem"), ("413", "RecordProblem"), ("422", "RecordProblem")):
                schema = responses[status]["content"]["application/problem+json"]["schema"]
                assert schema["$ref"].endswith(f"/{model}"), (path, method, status, schema)


def test_a_body_over_the_limit_has_the_field_shape(databases: Any) -> None:
    for c in make_curated(databases.new(), max_body_bytes=2000):
        response = post_event(c, NEW_EVENT | {"summary": "x" * 3000})
        assert response.status_code == 413
        assert response.json()["errors"] == [{"field": "body", "detail": "larger than the limit of 2000 bytes"}]


# -- 6. writes that change nothing -----------------------------------------------------------------------------


def test_a_write_that_changes_nothing_records_nothing(curated: Curated) -> None:
    c = curated
    path = "/v1/events/summit-meeting"
    got = c.get(path)
    stored = c.get(f"{path}/history").json()["items"][-1]["after"]
    before = unchanged(c)
    for answer in (
        c.merge(path, {"title": got.json()["title"], "notes": None}, **{"If-Match": got.headers["ETag"]}),
        c.merge(path, {}),
        c.client.put(path, json=stored, headers=c.writer | {"If-Match": got.headers["ETag"]}),
    ):
        assert answer.status_code == 200, answer.text
        assert answer.headers["ETag"] == got.headers["ETag"].replace('-gzip"', '"'), "the version moved"
        assert answer.headers["X-Dataset-Version"] == got.headers["X-Dataset-Version"]
        assert answer.json()["title"] == got.json()["title"]
    assert unchanged(c) == before, "a write that changed nothing recorded a revision or moved the version"
    assert c.get(path, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    # A stale If-Match is still refused, and a real change is still recorded.
    assert c.merge(path, {"title": "Changed"}).status_code == 200
    assert c.merge(path, {}, **{"If-Match": got.headers["ETag"]}).status_code == 412
    assert [h["op"] for h in c.get(f"{path}/history").json()["items"]] == ["create", "update"]


# -- 7. blank text, controls, bounds ---------------------------------------------------------------------------


def test_blank_text_c1_controls_and_paragraphs_outside_the_section_are_refused(
    curated: Curated, tmp_path: Path
) -> None:
    c = curated
    before = unchanged(c)
    cases = [
        ("/v1/events", NEW_EVENT | {"title": "   "}, "title"),
        ("/v1/events", NEW_EVENT | {"title": "a\x85b"}, "title"),
        ("/v1/events", NEW_EVENT | {"summary": "a\x9fb"}, "summary"),
        ("/v1/events", NEW_EVENT | {"location": {"name": ""}}, "location.name"),
        ("/v1/events", NEW_EVENT | {"quotes": [{"speaker": "bob-minister", "text": " \t"}]}, "quotes.0.text"),
        ("/v1/events", NEW_EVENT | {"locators": [{"source": "test-brief", "section": "intro", "paragraph": 0}]},
         "locators.0.paragraph"),
        ("/v1/actors", {"id": "nobody", "name": "", "kind": "person"}, "name"),
        ("/v1/actors", {"id": "nobody", "name": "No Body", "kind": "person", "aliases": ["NB", "  "]}, "aliases.1"),
        ("/v1/topics", {"id": "blank", "label": "\n"}, "label"),
        ("/v1/events", NEW_EVENT | {"locators": [{"source": "test-brief", "section": "chronology", "paragraph": 4}]},
         "locators.0.paragraph"),  # the section has 3
        ("/v1/citations", {"id": "blank", "source": "test-brief", "type": "report", "title": ""}, "title"),
    ]  # fmt: skip
    for path, record, field in cases:
        refused = c.client.post(path, json=record, headers=c.writer)
        assert refused.status_code == 422, (field, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    source = c.get("/v1/sources/test-brief/history").json()["items"][-1]["after"]
    sections = [section | {"paragraphs": 1} for section in source["sections"]]  # locators cite chronology ¶3
    shrunk = c.client.put(
        "/v1/sources/test-brief", json=source | {"sections": sections}, headers=c.writer | {"If-Match": "*"}
    )
    assert shrunk.status_code == 422 and [e["field"] for e in shrunk.json()["errors"]] == ["sections.1.paragraphs"]
    assert unchanged(c) == before

    blank = tmp_path / "blank.json"
    blank.write_text(json.dumps({"topics": [{"id": "blank", "label": " "}]}))
    result = CliRunner().invoke(cli, ["load", str(blank), "--database-url", c.url])
    assert result.exit_code == 1 and "label" in result.output and "blank" in result.output
    assert unchanged(c) == before


# -- 8. revoking keys ------------------------------------------------------------------------------------------


def test_revoking_a_revoked_or_unknown_key_fails_in_one_line(curated: Curated) -> None:
    listed = run("keys", "list", "--database-url", curated.url).splitlines()
    key_id = next(line.split("\t")[0] for line in listed if "\tcurator\t" in line)
    assert "revoked key" in run("keys", "revoke", key_id, "--database-url", curated.url)
    revoked_at = [line for line in run("keys", "list", "--database-url", curated.url).splitlines() if "curator" in line]
    again = CliRunner().invoke(cli, ["keys", "revoke", key_id, "--database-url", curated.url])
    assert again.exit_code == 1
    assert again.stderr.strip().count("\n") == 0 and "already revoked" in again.stderr
    assert [line for line in run("keys", "list", "--database-url", curated.url).splitlines() if "curator" in line] == (
        revoked_at
    ), "revoking again changed the key"
    unknown = CliRunner().invoke(cli, ["keys", "revoke", "9999", "--database-url", curated.url])
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "dipevents keys revoke: no key 9999"


# -- 9. the generator's change log -----------------------------------------------------------------------------


def test_the_change_feed_of_a_generated_database_replays_it(databases: Any) -> None:
    from bench.generate import dataset_version, generate

    generated = databases.new()
    generate(generated, 12, seed=7, progress=False)
    app = create_app(Settings(database_url=generated, rate_limit_per_minute=0))
    with TestClient(app) as client:
        changes, _ = read_feed(client, limit=50)
    app.state.engine.dispose()
    assert changes and {x["op"] for x in changes} == {"create"}
    assert {x["dataset_version"] for x in changes} == {dataset_version(12, 7)}
    assert sum(x["resource"] == "events" for x in changes) == 12

    mirror = databases.new()
    upgrade(mirror)
    token = run("keys", "create", "mirror", "--scope", "admin", "--scope", "write", "--database-url", mirror).strip()
    app = create_app(Settings(database_url=mirror, rate_limit_per_minute=0))
    with TestClient(app) as client:
        replay(client, changes, _bearer(token))
    app.state.engine.dispose()
    assert data_rows(mirror) == data_rows(generated)
