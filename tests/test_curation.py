"""Curation (issue 13): the one write path, API keys, record writes with optimistic concurrency, history, the change
feed, renames and deletes — through the real app, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade
from app.models import ApiKey, Base
from app.settings import Settings
from tests.helpers import TEST_BUNDLE, snapshot

DATA_TABLES = [
    t.name
    for t in Base.metadata.sorted_tables
    if t.name not in ("changes", "api_keys", "dataset_state", "service_secrets")
]
NEW_EVENT: dict[str, Any] = {
    "id": "beta-replies",
    "type": "statement",
    "title": "Betaland replies",
    "summary": "A reply about training.",
    "date": "2020-02-03",
    "location": {"name": "Beta City", "country": "BB"},
    "participants": [{"actor": "bob-minister", "role": "speaker"}],
    "topics": ["training"],
    "locators": [{"source": "test-brief", "section": "chronology", "paragraph": 2, "footnote": 2}],
}


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@dataclass
class Curated:
    url: str
    client: TestClient
    writer: dict[str, str]  # Authorization headers
    admin: dict[str, str]
    admin_only: dict[str, str]

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def merge(self, path: str, changes: dict[str, Any], **headers: str) -> Any:
        """PATCH ``changes`` as a JSON Merge Patch with the writer's key and `If-Match: *` (``headers`` override)."""
        sent = self.writer | {"If-Match": "*", "Content-Type": "application/merge-patch+json"} | headers
        return self.client.patch(path, content=json.dumps(changes), headers=sent)

    def etag(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return str(response.headers["ETag"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_curated(url: str, **settings: Any) -> Iterator[Curated]:
    upgrade(url)
    run("load", str(TEST_BUNDLE), "--database-url", url)
    writer = run("keys", "create", "curator", "--database-url", url).strip()
    admin = run("keys", "create", "bulk", "--scope", "admin", "--scope", "write", "--database-url", url).strip()
    admin_only = run("keys", "create", "ops", "--scope", "admin", "--database-url", url).strip()
    app = create_app(Settings(database_url=url, **({"rate_limit_per_minute": 0} | settings)))
    with TestClient(app) as client:
        yield Curated(url, client, _bearer(writer), _bearer(admin), _bearer(admin_only))
    app.state.engine.dispose()


def data_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every data table (locators without their surrogate id), for comparing databases."""
    found = snapshot(url)
    rows = {name: found[name] for name in DATA_TABLES if name != "locators"}
    engine = make_engine(url)
    with engine.connect() as conn:
        columns = [c for c in Base.metadata.tables["locators"].c if c.name != "id"]
        rows["locators"] = sorted(tuple(map(repr, row)) for row in conn.execute(select(*columns)))
    engine.dispose()
    return rows


def without_keys(found: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {name: rows for name, rows in found.items() if name != "api_keys"}


def post_event(c: Curated, record: dict[str, Any], **headers: str) -> Any:
    return c.client.post("/v1/events", json=record, headers=c.writer | headers)


# -- credentials -----------------------------------------------------------------------------------------------


def test_keys_are_stored_hashed_and_listed_with_last_use(curated: Curated) -> None:
    token = curated.writer["Authorization"].removeprefix("Bearer ")
    engine = make_engine(curated.url)
    with engine.connect() as conn:
        stored = [tuple(map(str, row)) for row in conn.execute(select(ApiKey.__table__))]
    engine.dispose()
    assert stored and not any(token in value for row in stored for value in row), "a token was stored in plain text"
    assert "never" in run("keys", "list", "--database-url", curated.url).splitlines()[0]
    assert post_event(curated, NEW_EVENT).status_code == 201
    first = run("keys", "list", "--database-url", curated.url).splitlines()[0]
    assert first.startswith("1\tcurator\twrite") and "last used 20" in first, first


def test_writes_need_a_live_key_with_the_scope(curated: Curated) -> None:
    before = without_keys(snapshot(curated.url))
    cases = [
        ({}, 401),
        ({"Authorization": "Bearer dpk_not-a-key"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        (curated.admin_only, 403),
    ]
    for headers, status in cases:
        response = curated.client.post("/v1/events", json=NEW_EVENT, headers=headers)
        assert response.status_code == status, (headers, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == ("/problems/unauthorized" if status == 401 else "/problems/forbidden")
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="dipevents"')
    # A write key is not enough for a whole bundle.
    assert curated.client.post("/v1/bundles", json={}, headers=curated.writer).status_code == 403
    key_id = next(
        line.split("\t")[0]
        for line in run("keys", "list", "--database-url", curated.url).splitlines()
        if "\tcurator\t" in line
    )
    run("keys", "revoke", key_id, "--database-url", curated.url)
    revoked = post_event(curated, NEW_EVENT)
    assert revoked.status_code == 401 and revoked.json()["type"] == "/problems/unauthorized"
    assert without_keys(snapshot(curated.url)) == before
    assert "revoked" in run("keys", "list", "--database-url", curated.url)


def test_every_write_operation_declares_the_key_and_its_errors(curated: Curated) -> None:
    schema = curated.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiKey"]["description"],
    }
    writes = [
        (path, method, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in ("post", "put", "patch", "delete")
    ]
    assert len(writes) == 6 * 4 + 1
    for path, method, op in writes:
        assert op.get("security") == [{"apiKey": []}], (path, method)
        for status in ("401", "403", "413"):
            assert status in op["responses"], (path, method, status)
        if method in ("put", "patch", "delete"):
            assert {"412", "428"} <= set(op["responses"]), (path, method)
        if method != "delete":
            problem = op["responses"]["422"]["content"]["application/problem+json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/RecordProblem"}, (path, method)
    reads = [op for ops in schema["paths"].values() for method, op in ops.items() if method == "get"]
    assert all("security" not in op for op in reads)


# -- writes ----------------------------------------------------------------------------------------------------


def test_create_read_patch_and_history(curated: Curated) -> None:
    created = post_event(curated, NEW_EVENT, **{"X-Change-Reason": "added%20from%20footnote%202%20%E2%80%93%20MOFA"})
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/v1/events/beta-replies"
    got = curated.get("/v1/events/beta-replies")
    assert got.status_code == 200 and got.json()["title"] == "Betaland replies"
    assert created.headers["ETag"] == got.headers["ETag"], "a write answers with the ETag a GET then gives"
    assert [p["actor"]["id"] for p in got.json()["participants"]] == ["bob-minister"]
    listed = curated.get("/v1/events", params={"q": "betaland replies"}).json()["items"]
    assert [e["id"] for e in listed] == ["beta-replies"]  # search text derived on the API path too

    patch = {"summary": "A corrected reply.", "location": None}
    headers = curated.writer | {"If-Match": got.headers["ETag"], "Content-Type": "application/merge-patch+json"}
    patched = curated.client.patch("/v1/events/beta-replies", content=json.dumps(patch), headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["summary"] == "A corrected reply." and patched.json()["location"] is None
    after = curated.get("/v1/events/beta-replies")
    assert after.json()["summary"] == "A corrected reply." and after.json()["location"] is None
    assert after.headers["X-Dataset-Version"] != got.headers["X-Dataset-Version"]
    assert after.headers["ETag"] != got.headers["ETag"]  # (Last-Modified may not move: two writes in one second)

    history = curated.get("/v1/events/beta-replies/history").json()["items"]
    assert [h["op"] for h in history] == ["create", "update"]
    assert history[0]["reason"] == "added from footnote 2 – MOFA" and history[0]["author"] == "curator"
    assert history[1]["before"]["summary"] == "A reply about training."
    assert history[1]["after"]["summary"] == "A corrected reply."
    one = curated.get(f"/v1/events/beta-replies/history/{history[0]['seq']}")
    assert one.status_code == 200 and one.json()["after"]["location"] == {"name": "Beta City", "country": "BB"}
    assert curated.get("/v1/events/beta-replies/history/999999").status_code == 404


def test_a_bad_record_is_a_422_naming_each_field_and_writes_nothing(curated: Curated) -> None:
    before = without_keys(snapshot(curated.url))
    bad = NEW_EVENT | {
        "date": "2020-13-45",
        "participants": [{"actor": "nobody", "role": "speaker"}],
        "topics": ["no-such-topic"],
    }
    response = post_event(curated, bad)
    assert response.status_code == 422 and response.json()["type"] == "/problems/invalid-record"
    assert {e["field"] for e in response.json()["errors"]} == {"date"}  # schema first: the date is unparseable
    response = post_event(
        curated,
        NEW_EVENT
        | {"participants": [{"actor": "nobody", "role": "speaker"}], "topics": ["no-such-topic"], "parent": "nothing"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"participants.0.actor", "topics.0", "parent"}
    taken = post_event(curated, NEW_EVENT | {"id": "summit-meeting"})
    assert taken.status_code == 409 and taken.json()["errors"] == [{"field": "id", "detail": "already exists"}]
    not_json = curated.client.post(
        "/v1/events", content=b"{", headers=curated.writer | {"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    wrong_type = curated.client.post(
        "/v1/events", content=json.dumps(NEW_EVENT), headers=curated.writer | {"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert without_keys(snapshot(curated.url)) == before


def test_if_match_is_required_and_a_stale_one_refused(curated: Curated) -> None:
    path = "/v1/events/september-visit"
    stale = curated.etag(path)
    record = curated.get(f"{path}/history").json()["items"][-1]["after"]
    missing = curated.client.put(path, json=record, headers=curated.writer)
    assert missing.status_code == 428 and missing.json()["type"] == "/problems/precondition-required"
    first = curated.client.put(
        path, json=record | {"title": "First edit"}, headers=curated.writer | {"If-Match": stale}
    )
    assert first.status_code == 200, first.text
    # Another record changing does not make this copy stale; this record changing does.
    other = curated.client.put(path, json=record | {"title": "Lost edit"}, headers=curated.writer | {"If-Match": stale})
    assert other.status_code == 412 and other.json()["type"] == "/problems/precondition-failed"
    assert curated.get(path).json()["title"] == "First edit"
    fresh = curated.etag(path)
    assert post_event(curated, NEW_EVENT).status_code == 201
    again = curated.client.put(
        path, json=record | {"title": "Second edit"}, headers=curated.writer | {"If-Match": fresh}
    )
    assert again.status_code == 200, "a write to another record must not invalidate this record's ETag"
    wrong = curated.etag("/v1/events/summit-meeting")
    foreign = curated.client.put(path, json=record, headers=curated.writer | {"If-Match": wrong})
    assert foreign.status_code == 412, "an ETag of another record is not this record's"


def test_concurrent_updates_one_wins_one_412(curated: Curated) -> None:
    path = "/v1/events/september-visit"
    tag = curated.etag(path)
    record = curated.get(f"{path}/history").json()["items"][-1]["after"]
    engine = make_engine(curated.url)
    holder = engine.connect()
    postgres = engine.dialect.name == "postgresql"
    if postgres:  # hold the writers' lock so both requests are in flight, past their If-Match parsing, at once
        from app.curation.store import WRITE_LOCK

        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": WRITE_LOCK})
    results: list[int] = []
    started = threading.Barrier(3)

    def edit(title: str) -> None:
        started.wait()
        response = curated.client.put(path, json=record | {"title": title}, headers=curated.writer | {"If-Match": tag})
        results.append(response.status_code)

    threads = [threading.Thread(target=edit, args=(f"Edit {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    started.wait()
    if postgres:
        waiting = 0
        for _ in range(200):  # until both requests wait for the lock
            waiting = holder.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
            if waiting >= 2:
                break
            threading.Event().wait(0.05)
        assert waiting >= 2
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITE_LOCK})
    for thread in threads:
        thread.join()
    holder.close()
    engine.dispose()
    assert sorted(results) == [200, 412]
    history = curated.get(f"{path}/history").json()["items"]
    assert [h["op"] for h in history] == ["create", "update"], "exactly one edit was recorded"


def test_body_size_limit(databases: Any) -> None:
    for c in make_curated(databases.new(), max_body_bytes=2000):
        big = NEW_EVENT | {"summary": "x" * 3000}
        response = post_event(c, big)
        assert response.status_code == 413 and response.json()["type"] == "/problems/request-too-large"
        assert post_event(c, NEW_EVENT).status_code == 201


# -- renames and deletes ---------------------------------------------------------------------------------------


def test_rename_keeps_the_old_id_working(curated: Curated) -> None:
    path = "/v1/actors/bob-minister"
    headers = curated.writer | {"If-Match": curated.etag(path), "Content-Type": "application/merge-patch+json"}
    renamed = curated.client.patch(path, content=json.dumps({"id": "robert-minister"}), headers=headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["Content-Location"] == "/v1/actors/robert-minister"
    moved = curated.get(path, follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == "/v1/actors/robert-minister"
    assert moved.json()["type"] == "/problems/moved"
    followed = curated.get(path)  # the client follows the 301
    assert followed.status_code == 200 and followed.json()["name"] == "Bob Minister"
    network = curated.get(f"{path}/network", params={"limit": 5}, follow_redirects=False)
    assert network.status_code == 301 and network.headers["Location"] == "/v1/actors/robert-minister/network?limit=5"
    # Other records' references follow; list filters accept the old id.
    by_old = curated.get("/v1/events", params={"actor": "bob-minister"}).json()["items"]
    by_new = curated.get("/v1/events", params={"actor": "robert-minister"}).json()["items"]
    assert by_old == by_new and {e["id"] for e in by_new} >= {"summit-meeting", "september-visit"}
    summit = curated.get("/v1/events/summit-meeting").json()
    assert "robert-minister" in {p["actor"]["id"] for p in summit["participants"]}
    history = curated.get("/v1/actors/robert-minister/history").json()["items"]
    assert [(h["op"], h["previous_id"]) for h in history] == [("create", None), ("update", "bob-minister")]
    # Renamed again: the first id leads straight to the newest.
    headers["If-Match"] = curated.etag("/v1/actors/robert-minister")
    again = curated.client.patch(
        "/v1/actors/robert-minister", content=json.dumps({"id": "rob-minister"}), headers=headers
    )
    assert again.status_code == 200
    assert curated.get(path, follow_redirects=False).headers["Location"] == "/v1/actors/rob-minister"


def test_delete_answers_410_and_leaves_lists(curated: Curated) -> None:
    referenced = curated.client.delete(
        "/v1/actors/bob-minister", headers=curated.writer | {"If-Match": curated.etag("/v1/actors/bob-minister")}
    )
    assert referenced.status_code == 409 and "events/summit-meeting" in referenced.json()["detail"]
    path = "/v1/events/september-visit"
    gone = curated.client.delete(
        path, params={"replaced_by": "ann-visits-beta"}, headers=curated.writer | {"If-Match": curated.etag(path)}
    )
    assert gone.status_code == 204, gone.text
    answer = curated.get(path)
    assert answer.status_code == 410 and answer.json()["type"] == "/problems/gone"
    assert answer.headers["Link"] == '</v1/events/ann-visits-beta>; rel="successor-version"'
    listed = [e["id"] for e in curated.get("/v1/events", params={"limit": 100}).json()["items"]]
    assert "september-visit" not in listed and "ann-visits-beta" in listed
    history = curated.get(f"{path}/history").json()["items"]
    assert history[-1]["op"] == "delete" and history[-1]["before"]["title"] == "Bob Minister visits Alphaland"
    # Writing to a deleted record is a 410 as well; creating it again brings it back.
    assert curated.client.delete(path, headers=curated.writer | {"If-Match": "*"}).status_code == 410
    restored = curated.client.post("/v1/events", json=history[-1]["before"], headers=curated.writer)
    assert restored.status_code == 201 and curated.get(path).status_code == 200


# -- bundles and the change feed -------------------------------------------------------------------------------


def test_a_failing_bundle_leaves_no_trace(curated: Curated) -> None:
    before = without_keys(snapshot(curated.url))
    feed = curated.get("/v1/changes").json()
    good_topic = {"id": "new-topic", "label": "New"}
    bad = {"topics": [good_topic], "events": [NEW_EVENT | {"participants": [{"actor": "nobody", "role": "speaker"}]}]}
    response = curated.client.post("/v1/bundles", json=bad, headers=curated.admin)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "events[beta-replies].participants.0.actor", "detail": "unknown actor 'nobody'"}
    ]
    clash = {"topics": [good_topic], "events": [NEW_EVENT | {"id": "summit-meeting"}]}
    assert curated.client.post("/v1/bundles", json=clash, headers=curated.admin).status_code == 409
    assert without_keys(snapshot(curated.url)) == before
    assert curated.get("/v1/changes").json() == feed
    assert curated.get("/v1/topics/new-topic").status_code == 404
    assert curated.get("/v1/topics/new-topic/history").status_code == 404
    ok = curated.client.post(
        "/v1/bundles", json={"topics": [good_topic], "events": [NEW_EVENT], "reason": "batch"}, headers=curated.admin
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["counts"]["events"] == 1 and ok.json()["changes"] == 2
    assert curated.get("/v1/events/beta-replies/history").json()["items"][0]["reason"] == "batch"


def read_feed(client: TestClient, since: str = "0", limit: int = 7) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get("/v1/changes", params={"since": since, "limit": limit}).json()
        items += page["items"]
        if not page["items"]:
            return items, since
        since = page["next_cursor"]


def replay(client: TestClient, changes: list[dict[str, Any]], admin: dict[str, str]) -> None:
    """A mirror: each commit's creates as one bundle (their references may point forward), then updates and deletes
    through the record endpoints."""
    pending: dict[str, list[dict[str, Any]]] = {}
    version, replace = None, False

    def flush() -> None:
        nonlocal replace
        if pending or replace:
            params = {"replace": "true"} if replace else {}
            assert client.post("/v1/bundles", json=pending, params=params, headers=admin).status_code == 200
            pending.clear()
            replace = False

    for change in changes:
        if change["dataset_version"] != version or change["op"] not in ("create", "reset"):
            flush()
        version = change["dataset_version"]
        path = f"/v1/{change['resource']}/{change['previous_id'] or change['id']}"
        if change["op"] == "reset":  # the commit replaced the whole dataset: its creates are the new one
            replace = True
        elif change["op"] == "create":
            pending.setdefault(change["resource"], []).append(change["after"])
        elif change["op"] == "update":
            answer = client.put(path, json=change["after"], headers=admin | {"If-Match": "*"})
            assert answer.status_code == 200, answer.text
        elif change["op"] == "delete":
            params = {"replaced_by": change["replaced_by"]} if change["replaced_by"] else {}
            answer = client.delete(path, params=params, headers=admin | {"If-Match": "*"})
            assert answer.status_code == 204, answer.text
    flush()


def test_replaying_the_change_feed_reproduces_the_data(curated: Curated, databases: Any) -> None:
    c = curated
    assert post_event(c, NEW_EVENT).status_code == 201
    run("load", str(TEST_BUNDLE), "--replace", "--database-url", c.url)  # a `reset` and the creates after it
    assert post_event(c, NEW_EVENT).status_code == 201
    record = c.get("/v1/events/september-visit/history").json()["items"][-1]["after"]
    put = c.client.put(
        "/v1/events/september-visit",
        json=record | {"title": "Edited", "topics": ["trade"]},
        headers=c.writer | {"If-Match": "*"},
    )
    assert put.status_code == 200
    patch = {"id": "robert-minister", "aliases": ["Bob"]}
    headers = c.writer | {"If-Match": "*", "Content-Type": "application/merge-patch+json"}
    assert c.client.patch("/v1/actors/bob-minister", content=json.dumps(patch), headers=headers).status_code == 200
    headers = c.writer | {"If-Match": "*", "Content-Type": "application/merge-patch+json"}
    assert (
        c.client.patch("/v1/topics/trade", content=json.dumps({"id": "commerce"}), headers=headers).status_code == 200
    )
    assert c.client.delete("/v1/events/beta-replies", headers=c.writer | {"If-Match": "*"}).status_code == 204
    changes, cursor = read_feed(c.client)
    assert [x["seq"] for x in changes] == sorted({x["seq"] for x in changes})
    assert c.get("/v1/changes", params={"since": cursor}).json() == {"items": [], "next_cursor": cursor}

    mirror = databases.new()
    upgrade(mirror)
    run("keys", "create", "mirror", "--scope", "admin", "--scope", "write", "--database-url", mirror)
    token = run("keys", "create", "mirror2", "--scope", "admin", "--scope", "write", "--database-url", mirror).strip()
    app = create_app(Settings(database_url=mirror, rate_limit_per_minute=0))
    with TestClient(app) as client:
        replay(client, changes, _bearer(token))
    app.state.engine.dispose()
    assert data_rows(mirror) == data_rows(c.url)
    assert snapshot(mirror)["retired_ids"] != [], "renames and deletes were replayed as such"


def test_the_change_feed_is_gapless_under_concurrent_writes(curated: Curated) -> None:
    c = curated
    start = read_feed(c.client)[1]
    record = c.get("/v1/events/september-visit/history").json()["items"][-1]["after"]
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        since = start
        while True:
            finished = done.is_set()
            page = c.get("/v1/changes", params={"since": since, "limit": 3}).json()
            seen.extend(x["seq"] for x in page["items"])
            since = page["next_cursor"]
            if finished and not page["items"]:
                return

    def write(n: int) -> None:
        for i in range(6):
            event = NEW_EVENT | {"id": f"writer-{n}-{i}", "title": f"Writer {n} event {i}"}
            assert post_event(c, event).status_code == 201
            edited = record | {"title": f"Edited by {n}/{i}"}
            response = c.client.put("/v1/events/september-visit", json=edited, headers=c.writer | {"If-Match": "*"})
            assert response.status_code == 200

    reader = threading.Thread(target=follow)
    writers = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    everything = [x["seq"] for x in read_feed(c.client, start, limit=1000)[0]]
    assert len(everything) == 36
    assert seen == everything, "the follower skipped or repeated a change"


# -- one write path --------------------------------------------------------------------------------------------


def test_a_record_comes_out_identical_through_the_api_load_and_the_generator(databases: Any, tmp_path: Path) -> None:
    from bench.generate import Generator, citation_count, generate

    events, seed = 12, 7
    generated = databases.new()
    generate(generated, events, seed=seed, progress=False)

    gen = Generator(seed)
    reference = {
        "sources": [gen.source()],
        "topics": gen.topics(),
        "actors": gen.actors(),
        "citations": gen.citations(citation_count(events)),
    }
    records = gen.events(0, events, citation_count(events))
    dumped = {kind: [r.model_dump(mode="json") for r in found] for kind, found in reference.items()}
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(dumped | {"events": [r.model_dump(mode="json") for r in records]}))
    loaded = databases.new()
    run("migrate", "--database-url", loaded)
    run("load", str(bundle), "--database-url", loaded)

    through_api = databases.new()
    upgrade(through_api)
    token = run("keys", "create", "api", "--scope", "admin", "--scope", "write", "--database-url", through_api).strip()
    app = create_app(Settings(database_url=through_api, rate_limit_per_minute=0))
    with TestClient(app) as client:
        assert client.post("/v1/bundles", json=dumped, headers=_bearer(token)).status_code == 200
        for record in records:
            response = client.post("/v1/events", json=record.model_dump(mode="json"), headers=_bearer(token))
            assert response.status_code == 201, response.text
    app.state.engine.dispose()

    expected = data_rows(generated)
    assert len(expected["events"]) == events and expected["event_participants"] and expected["event_citations"]
    assert data_rows(loaded) == expected
    assert data_rows(through_api) == expected


def test_issued_keys_are_rate_limited_apart_and_unknown_keys_as_their_address(databases: Any) -> None:
    facets = "/v1/events/facets"
    for c in make_curated(databases.new(), rate_limit_per_minute=60, rate_limit_burst=2):
        anonymous = [c.get(facets).status_code for _ in range(3)]
        invented = [c.get(facets, headers={"Authorization": f"Bearer dpk_invented-{i}"}).status_code for i in range(2)]
        with_key = [c.get(facets, headers=c.writer).status_code for _ in range(3)]
        other_key = c.get(facets, headers=c.admin).status_code
    assert anonymous == [200, 200, 429]
    assert invented == [429, 429], "an unknown key is the anonymous client at its address"
    assert with_key == [200, 200, 429], "an issued key has its own budget"
    assert other_key == 200


def test_load_adds_records_that_point_at_stored_ones(curated: Curated, tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"events": [NEW_EVENT]}))
    run("load", str(extra), "--database-url", curated.url)
    history = curated.get("/v1/events/beta-replies/history").json()["items"]
    assert [(h["op"], h["author"], h["key_id"]) for h in history] == [("create", "cli", None)]
    before = without_keys(snapshot(curated.url))
    dangling = tmp_path / "dangling.json"
    dangling.write_text(
        json.dumps(
            {"events": [NEW_EVENT | {"id": "another", "participants": [{"actor": "nobody", "role": "speaker"}]}]}
        )
    )
    result = CliRunner().invoke(cli, ["load", str(dangling), "--database-url", curated.url])
    assert result.exit_code == 1 and "participants.0.actor: unknown actor 'nobody'" in result.output
    assert without_keys(snapshot(curated.url)) == before


def test_every_table_is_data_or_bookkeeping() -> None:
    """Replacing the dataset clears exactly the data tables: a new table must say which it is (a bookkeeping table
    listed here survives `load --replace`; a data table must get its rows from app.curation.derive)."""
    from app.curation.derive import DATA_TABLE_NAMES

    bookkeeping = {"changes", "retired_ids", "api_keys", "dataset_state", "service_secrets"}
    # Derived from the data by the write path (app.curation.aggregates, app.curation.rendered), rebuilt by a
    # replacing import.
    aggregates = {"topic_closure", "event_counts", "event_documents"}
    assert set(Base.metadata.tables) == DATA_TABLE_NAMES | bookkeeping | aggregates
    assert not DATA_TABLE_NAMES & bookkeeping


def test_records_with_amounts_can_be_edited_and_oversized_numbers_are_422s(curated: Curated) -> None:
    # An agreement's amount is a Decimal in the database: its revision (the record before the write) must still be
    # storable as JSON, and the history must give it back as the schema reads it.
    patch_headers = curated.writer | {"If-Match": "*", "Content-Type": "application/merge-patch+json"}
    edited = curated.client.patch("/v1/agreements/training-programme", content=b'{"notes":"x"}', headers=patch_headers)
    assert edited.status_code == 200, edited.text
    history = curated.get("/v1/agreements/training-programme/history").json()
    assert Decimal(str(history["items"][-1]["before"]["amount"])) == Decimal(125000000)
    # Values beyond what the columns hold are refused by validation, the same on both databases, never a 500.
    for body in ({"amount": 1e30}, {"amount": "0.001"}):
        refused = curated.client.patch(
            "/v1/agreements/training-programme", content=json.dumps(body).encode(), headers=patch_headers
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "amount", refused.text
    for body in (
        {"quantity": 2**31},
        {"locators": [{"source": "test-brief", "section": "chronology", "paragraph": 2**63}]},
    ):
        refused = curated.client.patch(
            "/v1/events/september-visit", content=json.dumps(body).encode(), headers=patch_headers
        )
        assert refused.status_code == 422, refused.text
    for title in ("nul\x00here", "bell\x07"):
        refused = curated.client.patch(
            "/v1/events/september-visit", content=json.dumps({"title": title}).encode(), headers=patch_headers
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "title", refused.text


def test_renaming_an_actor_or_relabelling_a_topic_reaches_the_events_search_at_once(curated: Curated) -> None:
    headers = curated.writer | {"If-Match": "*", "Content-Type": "application/merge-patch+json"}
    events_of = {
        e["id"] for e in curated.get("/v1/events", params={"actor": "ann-leader", "limit": 500}).json()["items"]
    }
    assert events_of
    body = json.dumps({"name": "Quuxbertson Leader", "aliases": ["Frobnitzer"]}).encode()
    assert curated.client.patch("/v1/actors/ann-leader", content=body, headers=headers).status_code == 200
    for word in ("quuxbertson", "frobnitzer"):
        found = {e["id"] for e in curated.get("/v1/events", params={"q": word, "limit": 500}).json()["items"]}
        assert found == events_of, word
    topic = curated.get("/v1/topics", params={"limit": 1}).json()["items"][0]["id"]
    tagged = {e["id"] for e in curated.get("/v1/events", params={"topic": topic, "limit": 500}).json()["items"]}
    body = json.dumps({"label": "Marimbaphonic matters"}).encode()
    assert curated.client.patch(f"/v1/topics/{topic}", content=body, headers=headers).status_code == 200
    found = {e["id"] for e in curated.get("/v1/events", params={"q": "marimbaphonic", "limit": 500}).json()["items"]}
    # The topic filter includes sub-topics; the label is searched on the events tagged with the topic itself.
    assert found and found <= tagged
