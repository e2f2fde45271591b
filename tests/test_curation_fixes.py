"""Curation, after a hostile review: text longer than its column is a 422 naming the field on both databases
(the schemas read the limits from the models), lists may not repeat an item, a rename cannot hide a loop, visits
follow their events' renames and deletions, an empty write moves no version, history and change-feed pages are
bounded — through the real app, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import String
from typer.testing import CliRunner

from app.cli import cli
from app.models.base import Base
from app.schemas import bundle as b
from tests.test_curation import NEW_EVENT, TEST_BUNDLE, Curated, make_curated


def fields_of(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


# -- 1. text longer than its column ----------------------------------------------------------------------------

# Every String(n) column of a table a write fills, and the schema field whose value it stores.
WRITTEN: dict[str, tuple[type[BaseModel], str]] = {
    "topics.id": (b.TopicIn, "id"),
    "topics.label": (b.TopicIn, "label"),
    "events.id": (b.EventIn, "id"),
    "events.type": (b.EventIn, "type"),
    "events.title": (b.EventIn, "title"),
    "events.location_name": (b.LocationIn, "name"),
    "events.location_country": (b.LocationIn, "country"),
    "events.date_edtf": (b.EventIn, "date"),
    "event_participants.role": (b.ParticipantIn, "role"),
    "event_relations.relation": (b.RelationIn, "relation"),
    "actors.id": (b.ActorIn, "id"),
    "actors.name": (b.ActorIn, "name"),
    "actors.kind": (b.ActorIn, "kind"),
    "actors.country": (b.ActorIn, "country"),
    "actor_identifiers.scheme": (b.IdentifierIn, "scheme"),
    "actor_identifiers.value": (b.IdentifierIn, "value"),
    "offices.id": (b.OfficeIn, "id"),
    "offices.label": (b.OfficeIn, "label"),
    "offices.start_edtf": (b.OfficeIn, "start"),
    "offices.end_edtf": (b.OfficeIn, "end"),
    "offices.attested_edtf": (b.OfficeIn, "attested"),
    "agreements.id": (b.AgreementIn, "id"),
    "agreements.title": (b.AgreementIn, "title"),
    "agreements.kind": (b.AgreementIn, "kind"),
    "agreements.status": (b.AgreementIn, "status"),
    "agreements.currency": (b.AgreementIn, "currency"),
    "agreements.amount_qualifier": (b.AgreementIn, "amount_qualifier"),
    "agreement_parties.role": (b.AgreementPartyIn, "role"),
    "agreement_milestones.kind": (b.MilestoneIn, "kind"),
    "agreement_milestones.date_edtf": (b.MilestoneIn, "date"),
    "source_documents.id": (b.SourceIn, "id"),
    "source_documents.title": (b.SourceIn, "title"),
    "source_documents.subtitle": (b.SourceIn, "subtitle"),
    "source_documents.series": (b.SourceIn, "series"),
    "source_documents.part": (b.SourceIn, "part"),
    "source_documents.csl_type": (b.SourceIn, "type"),
    "source_documents.publisher": (b.SourceIn, "publisher"),
    "source_documents.publisher_place": (b.SourceIn, "publisher_place"),
    "source_documents.issued_edtf": (b.SourceIn, "issued"),
    "source_documents.period_edtf": (b.SourceIn, "period"),
    "source_documents.language": (b.SourceIn, "language"),
    "source_documents.url": (b.SourceIn, "url"),
    "source_sections.key": (b.SectionIn, "key"),
    "source_sections.title": (b.SectionIn, "title"),
    "source_sections.parent_key": (b.SectionIn, "parent"),
    "citations.id": (b.CitationIn, "id"),
    "citations.csl_type": (b.CitationIn, "type"),
    "citations.title": (b.CitationIn, "title"),
    "citations.container_title": (b.CitationIn, "container_title"),
    "citations.publisher": (b.CitationIn, "publisher"),
    "citations.publisher_key": (b.CitationIn, "publisher"),  # name_key(publisher), which NFKC may lengthen
    "citations.issued_edtf": (b.CitationIn, "issued"),
    "citations.url": (b.CitationIn, "url"),
}
# String columns no schema field fills: derived by the write, or written by the service itself.
NOT_FROM_A_SCHEMA = {
    "events.date_precision",
    "agreement_milestones.date_precision",
    "event_counts.scope",
    "event_counts.facet",
    "event_counts.value",
    # ids copied from records' slugs
    "changes.record_id",
    "changes.previous_id",
    "changes.replaced_by",
    "retired_ids.id",
    "retired_ids.successor",
    "topic_closure.ancestor",
    "topic_closure.descendant",
    "event_documents.event_id",
    "event_documents.rendered_by",  # app.curation.rendered.RENDERING
    "changes.resource",
    "changes.op",
    "changes.author",  # an API key's name (checked by `keys create`, below) or "cli"
    "changes.dataset_version",
    "retired_ids.resource",
    "retired_ids.reason",
    "api_keys.name",  # `dipevents keys create`: test_a_key_name_longer_than_its_column_is_one_line_of_error
    "api_keys.token_sha256",
    "dataset_state.version",
    "service_secrets.name",
    "service_secrets.value",
}


def string_columns() -> dict[str, int]:
    return {
        f"{table.name}.{column.name}": column.type.length
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String) and column.type.length is not None and not column.foreign_keys
    }


def test_every_string_column_a_write_fills_refuses_one_character_more_than_it_holds() -> None:
    columns = string_columns()
    unclassified = sorted(set(columns) - set(WRITTEN) - NOT_FROM_A_SCHEMA)
    assert not unclassified, f"new String columns: say which schema field fills them (WRITTEN): {unclassified}"
    for name, (schema, field) in WRITTEN.items():
        info = schema.model_fields[field]
        adapter: TypeAdapter[Any] = TypeAdapter(Annotated[info.annotation, info])
        too_long = "a" * (columns[name] + 1)
        with pytest.raises(ValidationError):
            adapter.validate_python(too_long)
            pytest.fail(f"{schema.__name__}.{field} accepts {len(too_long)} characters; {name} holds {columns[name]}")
    # Free text at the limit passes: the limit is the column's, not a smaller one.
    assert b.TopicIn(id="t", label="a" * columns["topics.label"]).label
    assert b.EventIn.model_fields["title"].metadata


def test_a_publisher_whose_compared_form_is_longer_than_the_column_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        b.CitationIn(id="c", source="s", type="report", title="T", publisher="\ufb03" * 120)  # "ﬃ": "ffi" compared
    assert refused.value.errors()[0]["loc"] == ("publisher",)


def test_text_longer_than_its_column_is_a_422_naming_the_field_on_every_database(curated: Curated) -> None:
    c = curated
    label = c.merge("/v1/topics/trade", {"label": "x" * 201})
    assert label.status_code == 422, label.text
    assert fields_of(label) == ["label"]
    assert c.merge("/v1/topics/trade", {"label": "x" * 200}).status_code == 200
    event = NEW_EVENT | {"title": "t" * 501, "location": {"name": "n" * 301}}
    posted = c.client.post("/v1/events", json=event, headers=c.writer)
    assert posted.status_code == 422, posted.text
    assert sorted(fields_of(posted)) == ["location.name", "title"]
    actor = {
        "id": "long-actor",
        "name": "a" * 301,
        "kind": "person",
        "identifiers": [{"scheme": "viaf", "value": "9" * 201}],
    }
    bundle = c.client.post("/v1/bundles", json={"actors": [actor]}, headers=c.admin)
    assert bundle.status_code == 422, bundle.text
    assert {e["field"].split("name")[0] for e in bundle.json()["errors"]} >= {"actors.0."}
    assert any(e["field"].endswith("identifiers.0.value") for e in bundle.json()["errors"])
    assert c.get("/v1/actors/long-actor").status_code == 404


def test_a_key_name_longer_than_its_column_is_one_line_of_error(curated: Curated) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", "k" * 250, "--database-url", curated.url])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "200 characters" in result.output
    assert "k" * 250 not in CliRunner().invoke(cli, ["keys", "list", "--database-url", curated.url]).output


# -- 2. lists that repeat an item ------------------------------------------------------------------------------


def test_a_list_that_repeats_an_item_is_a_422_naming_the_repeat_in_every_write_and_in_check(
    curated: Curated, tmp_path: Any
) -> None:
    c = curated
    ann = {"actor": "ann-leader", "role": "visitor"}
    participants = c.merge(
        "/v1/events/ann-visits-beta", {"participants": [ann, {"actor": "beta-state", "role": "host"}, ann]}
    )
    assert participants.status_code == 422, participants.text
    assert fields_of(participants) == ["participants.2"]
    related = c.merge(
        "/v1/events/trade-statement",
        {
            "related": [
                {"event": "summit-meeting", "relation": "follows"},
                {"event": "summit-meeting", "relation": "related"},
            ]
        },
    )
    assert related.status_code == 422 and fields_of(related) == ["related.1"], related.text
    topics = c.client.post("/v1/events", json=NEW_EVENT | {"topics": ["trade", "trade"]}, headers=c.writer)
    assert topics.status_code == 422 and fields_of(topics) == ["topics.1"], topics.text
    viaf = {"scheme": "viaf", "value": "123"}
    identifiers = c.merge("/v1/actors/gamma-org", {"identifiers": [viaf, viaf]})
    assert identifiers.status_code == 422 and fields_of(identifiers) == ["identifiers.1"], identifiers.text
    party = {"actor": "alpha-state", "role": "party"}
    parties = c.merge("/v1/agreements/trade-pact", {"parties": [party, party]})
    assert parties.status_code == 422 and fields_of(parties) == ["parties.1"], parties.text
    aliases = c.merge("/v1/actors/alpha-state", {"aliases": ["Alpha", "Alpha"]})
    assert aliases.status_code == 422 and fields_of(aliases) == ["aliases.1"], aliases.text
    locator = {"source": "test-brief", "section": "chronology", "paragraph": 2, "footnote": 2}
    locators = c.merge("/v1/events/ann-visits-beta", {"locators": [locator, locator]})
    assert locators.status_code == 422 and fields_of(locators) == ["locators.1"], locators.text
    milestone = {"kind": "suspended", "date": "2018"}
    milestones = c.merge("/v1/agreements/training-programme", {"milestones": [milestone, milestone]})
    assert milestones.status_code == 422 and fields_of(milestones) == ["milestones.1"], milestones.text
    twice = NEW_EVENT | {"id": "twice", "participants": [NEW_EVENT["participants"][0]] * 2}
    bundle = c.client.post("/v1/bundles", json={"events": [twice]}, headers=c.admin)
    assert bundle.status_code == 422 and fields_of(bundle) == ["events[twice].participants.1"], bundle.text
    assert c.get("/v1/events/twice").status_code == 404

    (tmp_path / "events.yaml").write_text(json.dumps({"events": [twice]}))
    for part in TEST_BUNDLE.iterdir():
        if part.name != "events.yaml":
            shutil.copy(part, tmp_path / part.name)
    checked = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert checked.exit_code != 0 and "participants.1" in checked.output, checked.output


# -- 3. loops a rename could hide ------------------------------------------------------------------------------


def test_a_rename_cannot_hide_a_parent_loop_or_a_relation_to_itself(curated: Curated) -> None:
    c = curated
    own = c.merge("/v1/topics/trade", {"id": "trade2", "parent": "trade"})
    assert own.status_code == 422 and fields_of(own) == ["parent"], own.text
    loop = c.merge("/v1/topics/security", {"id": "security2", "parent": "training"})  # training's parent: security
    assert loop.status_code == 422 and fields_of(loop) == ["parent"], loop.text
    assert c.get("/v1/topics/security").status_code == 200 and c.get("/v1/topics/trade").status_code == 200
    event = c.merge("/v1/events/ann-visits-beta", {"id": "ann-visits", "parent": "ann-visits-beta"})
    assert event.status_code == 422 and fields_of(event) == ["parent"], event.text
    related = c.merge(
        "/v1/events/september-visit",
        {"id": "sept", "related": [{"event": "september-visit", "relation": "follows"}]},
    )
    assert related.status_code == 422 and fields_of(related) == ["related.0.event"], related.text
    itself = c.merge("/v1/events/september-visit", {"related": [{"event": "september-visit", "relation": "follows"}]})
    assert itself.status_code == 422 and fields_of(itself) == ["related.0.event"], itself.text
    # A rename whose own references name the old id is kept, pointing at the new id (actor: office organisation).
    renamed = c.merge("/v1/topics/trade", {"id": "commerce"})
    assert renamed.status_code == 200 and renamed.json()["parent"] is None


def test_sections_may_not_loop_and_assessment_ids_may_not_repeat(curated: Curated) -> None:
    c = curated
    sections = [
        {"key": "intro", "title": "Introduction", "paragraphs": 1, "parent": "chronology"},
        {"key": "chronology", "title": "Chronology", "paragraphs": 3, "parent": "intro"},
    ]
    loop = c.merge("/v1/sources/test-brief", {"sections": sections})
    assert loop.status_code == 422 and sorted(fields_of(loop)) == ["sections.0.parent", "sections.1.parent"], loop.text
    own = c.merge(
        "/v1/sources/test-brief", {"sections": [sections[0] | {"parent": "intro"}, sections[1] | {"parent": None}]}
    )
    assert own.status_code == 422 and fields_of(own) == ["sections.0.parent"], own.text
    judgement = {"id": "test-judgement", "summary": "Cool.", "section": "intro", "paragraph": 1}
    repeated = c.merge("/v1/sources/test-brief", {"assessments": [judgement, judgement]})
    assert repeated.status_code == 422 and fields_of(repeated) == ["assessments.1"], repeated.text


# -- 4. visits follow their events ----------------------------------------------------------------------------


def test_a_visit_answers_301_after_its_event_is_renamed_and_410_after_it_is_deleted(curated: Curated) -> None:
    c = curated
    assert c.get("/v1/visits/september-visit").status_code == 200
    assert c.merge("/v1/events/september-visit", {"id": "sept-visit"}).status_code == 200
    moved = c.client.get("/v1/visits/september-visit", follow_redirects=False)
    assert moved.status_code == 301, moved.text
    assert moved.headers["Location"] == "/v1/visits/sept-visit"
    assert c.get(moved.headers["Location"]).json()["id"] == "sept-visit"
    deleted = c.client.delete("/v1/events/sept-visit", headers=c.writer | {"If-Match": "*"})
    assert deleted.status_code == 204
    gone = c.get("/v1/visits/sept-visit")
    assert gone.status_code == 410 and "visit" in gone.json()["detail"], gone.text
    assert c.get("/v1/visits/never-was").status_code == 404
    assert c.get("/v1/visits/trade-statement").status_code == 404  # an event, not a visit


# -- 5. a write that adds nothing ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"events": [], "topics": []}, {"reason": "nothing to add"}])
def test_a_bundle_with_no_records_moves_no_version_and_records_nothing(curated: Curated, body: dict[str, Any]) -> None:
    c = curated
    before = c.get("/v1/events/september-visit")
    feed = c.get("/v1/changes", params={"limit": 1000}).json()
    written = c.client.post("/v1/bundles", json=body, headers=c.admin)
    assert written.status_code == 200, written.text
    assert written.json()["changes"] == 0
    after = c.get("/v1/events/september-visit")
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.headers["Last-Modified"] == before.headers["Last-Modified"]
    assert c.get("/v1/changes", params={"limit": 1000}).json() == feed
    resent = c.client.post("/v1/bundles", json={"topics": [{"id": "trade", "label": "Trade"}]}, headers=c.admin)
    assert resent.status_code == 409 and c.get("/v1/events/september-visit").headers["ETag"] == before.headers["ETag"]


# -- 6. bounded history and change-feed pages ------------------------------------------------------------------


@pytest.fixture
def small_pages(databases: Any) -> Iterator[Curated]:
    yield from make_curated(databases.new(), feed_page_bytes=3000)


def test_history_is_paged_and_feed_pages_stop_at_the_byte_budget(small_pages: Curated) -> None:
    c = small_pages
    for label in ("Trade one", "Trade two", "Trade three"):
        assert c.merge("/v1/topics/trade", {"label": label}).status_code == 200
    assert c.merge("/v1/topics/trade", {"id": "commerce"}).status_code == 200
    seen: list[int] = []
    since = "0"
    while True:
        page = c.get("/v1/topics/commerce/history", params={"limit": 2, "since": since})
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [item["seq"] for item in body["items"]]
        if "Link" not in page.headers:
            break
        assert len(body["items"]) == 2 and f"since={body['next_cursor']}" in page.headers["Link"]
        since = body["next_cursor"]
    assert len(seen) == 5 and seen == sorted(seen)  # the load's create, three label changes, the rename
    assert c.get("/v1/topics/commerce/history", params={"since": str(seen[-1])}).json()["items"] == []
    assert c.get(f"/v1/topics/commerce/history/{seen[1]}").json()["after"]["label"] == "Trade one"
    # A revision number no 64-bit integer holds names no revision: a problem naming it, not a database overflow.
    for seq in ("1" + "0" * 18, "9" * 25):
        huge = c.get(f"/v1/topics/commerce/history/{seq}")
        assert huge.status_code in (400, 422) and huge.json()["parameter"] == "seq", huge.text

    # A long event: each change holds more than the whole budget, so a page holds exactly one.
    big = NEW_EVENT | {"id": "big-one", "summary": "s" * 4000}
    assert c.client.post("/v1/events", json=big, headers=c.writer).status_code == 201
    assert c.merge("/v1/events/big-one", {"summary": "t" * 4000}).status_code == 200
    feed, since, pages = [], "0", 0
    while True:
        page = c.get("/v1/changes", params={"limit": 1000, "since": since})
        body = page.json()
        if not body["items"]:
            break
        pages += 1
        assert len(json.dumps(body["items"][:-1])) <= 3000 or len(body["items"]) == 1
        feed += body["items"]
        since = body["next_cursor"]
    assert [i["seq"] for i in feed] == sorted({i["seq"] for i in feed}) and pages >= 3
    assert [i["id"] for i in feed[-2:]] == ["big-one", "big-one"]
    last = c.get("/v1/changes", params={"since": str(feed[-3]["seq"])})
    assert [i["id"] for i in last.json()["items"]] == ["big-one"] and 'rel="next"' in last.headers["Link"]


# -- 7. problems name their parameter; old ids redirect first; strict counts; invisible-only text is blank --------


def test_auth_and_media_problems_name_the_header_and_an_old_id_redirects_before_if_match(curated: Curated) -> None:
    c = curated
    anonymous = c.client.post("/v1/events", json=NEW_EVENT)
    assert anonymous.status_code == 401 and anonymous.json()["parameter"] == "Authorization"
    wrong_scope = c.client.post("/v1/bundles", json={}, headers=c.writer)
    assert wrong_scope.status_code == 403 and wrong_scope.json()["parameter"] == "Authorization"
    as_text = c.client.post(
        "/v1/events", content=json.dumps(NEW_EVENT), headers=c.writer | {"Content-Type": "text/plain"}
    )
    assert as_text.status_code == 415 and as_text.json()["parameter"] == "Content-Type"

    assert c.merge("/v1/topics/trade", {"id": "commerce"}).status_code == 200
    old = c.client.patch(
        "/v1/topics/trade",
        content=json.dumps({"label": "X"}),
        headers=c.writer | {"Content-Type": "application/merge-patch+json"},
        follow_redirects=False,
    )
    assert old.status_code == 308 and old.headers["Location"] == "/v1/topics/commerce", old.text
    stale = c.client.patch(
        "/v1/topics/trade",
        content=json.dumps({"label": "X"}),
        headers=c.writer | {"Content-Type": "application/merge-patch+json", "If-Match": '"0000000000000000-0"'},
        follow_redirects=False,
    )
    assert stale.status_code == 308, stale.text
    assert c.client.delete("/v1/topics/nothing-here", headers=c.writer).status_code == 404


def test_booleans_are_not_counts_and_invisible_text_is_blank(curated: Curated) -> None:
    c = curated
    flag = c.merge("/v1/events/repeated-visits", {"quantity": True})
    assert flag.status_code == 422 and fields_of(flag) == ["quantity"], flag.text
    assert c.merge("/v1/events/repeated-visits", {"quantity": 9}).status_code == 200
    for invisible in ("\u200b\u200d", "\ufeff", "\u00a0\u3000", "\u2060"):
        blank = c.merge("/v1/topics/trade", {"label": invisible})
        assert blank.status_code == 422 and fields_of(blank) == ["label"], (invisible, blank.text)
    assert c.merge("/v1/topics/trade", {"label": "\u200bTrade"}).status_code == 200


def test_replacing_the_dataset_with_an_empty_bundle_is_refused_and_changes_nothing(curated: Curated) -> None:
    """`replace=true` with no records would delete every record: a 422 naming the body, nothing written."""
    c = curated
    before = c.get("/v1/events", params={"limit": 100})
    for body in ({}, {"events": [], "reason": "oops"}):
        refused = c.client.post("/v1/bundles", params={"replace": "true"}, json=body, headers=c.admin)
        assert refused.status_code == 422 and fields_of(refused) == ["body"], refused.text
    after = c.get("/v1/events", params={"limit": 100})
    assert after.json()["items"] == before.json()["items"] and after.headers["ETag"] == before.headers["ETag"]
