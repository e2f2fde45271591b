"""`dipevents load` / `check`: all of a bundle or nothing, and every problem reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, event, select
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine
from app.models import Event
from tests.helpers import TEST_BUNDLE, bundle_records, load_into, snapshot

runner = CliRunner()


def broken_copy(tmp_path: Path) -> Path:
    """The test bundle with a bad date, a dangling actor and a duplicate id."""
    bundle = tmp_path / "broken"
    shutil.copytree(TEST_BUNDLE, bundle)
    events = yaml.safe_load((bundle / "events.yaml").read_text())
    events["events"][0]["date"] = "2019-13-01"
    events["events"][1]["participants"].append({"actor": "no-such-actor", "role": "participant"})
    events["events"].append(dict(events["events"][2]))  # duplicate id
    (bundle / "events.yaml").write_text(yaml.safe_dump(events))
    return bundle


def test_check_accepts_the_test_bundle():
    result = runner.invoke(cli, ["check", str(TEST_BUNDLE)])
    assert result.exit_code == 0, result.output
    kinds = ("sources", "citations", "topics", "actors", "events", "agreements")  # an empty folder is "valid" too
    assert "valid (" + ", ".join(f"{len(bundle_records(kind))} {kind}" for kind in kinds) + ")" in result.output


def test_load_of_broken_bundle_reports_every_problem_and_changes_nothing(migrated_db, tmp_path):
    load_into(migrated_db, TEST_BUNDLE)
    before = snapshot(migrated_db)
    result = runner.invoke(cli, ["load", str(broken_copy(tmp_path)), "--replace", "--database-url", migrated_db])
    assert result.exit_code == 1
    output = result.output
    assert "events.yaml: event 'ann-visits-beta': date:" in output and "2019-13-01" in output
    assert "participants.2.actor: unknown actor 'no-such-actor'" in output
    assert "event 'september-visit': id: duplicate id" in output
    assert "3 problem(s); nothing was changed." in output
    assert snapshot(migrated_db) == before


def test_load_refuses_ids_already_present_and_changes_nothing(migrated_db):
    load_into(migrated_db, TEST_BUNDLE)
    before = snapshot(migrated_db)
    result = runner.invoke(cli, ["load", str(TEST_BUNDLE), "--database-url", migrated_db])
    assert result.exit_code == 1
    assert "already in the database" in result.output
    assert snapshot(migrated_db) == before


def test_load_replace_reloads_the_dataset(migrated_db, tmp_path):
    load_into(migrated_db, TEST_BUNDLE)
    edited = tmp_path / "edited"
    shutil.copytree(TEST_BUNDLE, edited)
    events = yaml.safe_load((edited / "events.yaml").read_text())
    old_title = events["events"][2]["title"]
    events["events"][2]["title"] = "Retitled visit"
    (edited / "events.yaml").write_text(yaml.safe_dump(events))
    result = runner.invoke(cli, ["load", str(edited), "--replace", "--database-url", migrated_db])
    assert result.exit_code == 0, result.output
    engine = make_engine(migrated_db)
    with engine.connect() as conn:
        titles = set(conn.scalars(select(Event.title)))
    engine.dispose()
    assert "Retitled visit" in titles and old_title not in titles
    assert len(titles) == len(events["events"])


def test_database_error_mid_import_rolls_back(migrated_db, monkeypatch):
    """A failure after rows were flushed (not caught by validation) must leave nothing behind."""
    before = snapshot(migrated_db)
    from app.curation import store

    def explode(*args, **kwargs):
        raise RuntimeError("simulated crash after sources, citations, topics and actors were written")

    inserted: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO"):
            inserted.append(statement.split()[2].strip('"'))

    monkeypatch.setattr(store, "bump_version", explode)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            load_into(migrated_db, TEST_BUNDLE)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert {"actors", "citations"} <= set(inserted), "rows should have been written before the crash"
    assert snapshot(migrated_db) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("events: {not: a list}", "must be a list of records"),
        ("evnts: []", "unknown resource kind"),
        ("events: [\n  - id: x\n    type: vist\n", "not valid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_check_reports_malformed_files(tmp_path, content, message):
    (tmp_path / "bad.yaml").write_text(content)
    result = runner.invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert message in result.output


def test_check_names_unknown_fields_and_vocabulary(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(
            {
                "topics": [{"id": "t", "label": "T", "colour": "red"}],
                "actors": [{"id": "a", "name": "A", "kind": "alien"}],
            }
        )
    )
    result = runner.invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "topic 't': colour: Extra inputs are not permitted" in result.output
    assert "actor 'a': kind:" in result.output and "unknown actor kind 'alien'" in result.output
