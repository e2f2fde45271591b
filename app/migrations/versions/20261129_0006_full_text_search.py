"""full-text search: stored word and stem streams, FTS5 (SQLite) and GIN tsvector (PostgreSQL) indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:30:00

Every searchable table gets ``search_text`` (normalised words; events, actors and agreements had a
lower-cased copy of a few fields under that name) and ``search_stems``, both composed in Python by
app.search.text; citations also get ``publisher_key`` (the publisher as `publisher=` compares it).
The indexes are derived from the two columns by the database, so any writer keeps them current:

* SQLite: ``<table>_search_rows`` (an integer rowid per record id: the tables' own rowids are not
  stable across VACUUM) and ``<table>_fts``, a contentless FTS5 table with the `ascii` tokenizer (which
  only splits at the spaces between our tokens), maintained by triggers on insert, update and delete;
* PostgreSQL: generated columns ``<column>_tsv`` = ``array_to_tsvector(string_to_array(column, ' '))`` (one
  lexeme per stored token, no parser or dictionary; phrases are checked against the stored text,
  app.search.sql), GIN-indexed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.search import text as search

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ["events", "actors", "agreements", "topics", "source_documents", "citations"]
NEW_TEXT = ["topics", "source_documents", "citations"]  # tables that had no search_text


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _backfill(bind: sa.Connection) -> None:
    """Existing rows get the streams the import writes from now on (app.search.text)."""
    rows: dict[str, dict[str, search.Indexed]] = {}
    names: dict[str, list[str]] = {}
    for actor_id, name, aliases in bind.execute(sa.text("SELECT id, name, aliases FROM actors")):
        names[actor_id] = [name, *(_loads(aliases) or [])]
    offices: defaultdict[str, list[str]] = defaultdict(list)
    for person, label in bind.execute(sa.text("SELECT person_id, label FROM offices ORDER BY person_id, label")):
        offices[person].append(label)
    rows["actors"] = {
        actor_id: search.actor_text(id=actor_id, name=n[0], aliases=n[1:], offices=offices[actor_id])
        for actor_id, n in names.items()
    }
    labels = {}
    rows["topics"] = {}
    for topic_id, label, description in bind.execute(sa.text("SELECT id, label, description FROM topics")):
        labels[topic_id] = label
        rows["topics"][topic_id] = search.topic_text(id=topic_id, label=label, description=description)
    participants: defaultdict[str, list[list[str]]] = defaultdict(list)
    for event_id, actor_id in bind.execute(
        sa.text("SELECT event_id, actor_id FROM event_participants ORDER BY event_id, ordinal")
    ):
        participants[event_id].append(names[actor_id])
    quotes: defaultdict[str, list[str]] = defaultdict(list)
    for event_id, quote in bind.execute(sa.text("SELECT event_id, text FROM event_quotes ORDER BY event_id, ordinal")):
        quotes[event_id].append(quote)
    topics: defaultdict[str, list[str]] = defaultdict(list)
    for event_id, topic_id in bind.execute(sa.text("SELECT event_id, topic_id FROM event_topics ORDER BY topic_id")):
        topics[event_id].append(labels[topic_id])
    rows["events"] = {
        event_id: search.event_text(
            title=title,
            summary=summary,
            location=location,
            notes=notes,
            quotes=quotes[event_id],
            participants=search.participant_names(participants[event_id]),
            topics=topics[event_id],
        )
        for event_id, title, summary, location, notes in bind.execute(
            sa.text("SELECT id, title, summary, location_name, notes FROM events")
        )
    }
    rows["agreements"] = {
        agreement_id: search.agreement_text(title=title, summary=summary, notes=notes)
        for agreement_id, title, summary, notes in bind.execute(
            sa.text("SELECT id, title, summary, notes FROM agreements")
        )
    }
    rows["source_documents"] = {
        source_id: search.source_text(
            title=title,
            subtitle=subtitle,
            series=series,
            publisher=publisher,
            authors=_loads(authors) or [],
            description=description,
            assessments=[a["summary"] for a in _loads(assessments) or []],
        )
        for source_id, title, subtitle, series, publisher, authors, description, assessments in bind.execute(
            sa.text(
                "SELECT id, title, subtitle, series, publisher, authors, description, assessments FROM source_documents"
            )
        )
    }
    rows["citations"] = {}
    for citation_id, title, authors, publisher, container in bind.execute(
        sa.text("SELECT id, title, authors, publisher, container_title FROM citations")
    ):
        rows["citations"][citation_id] = search.citation_text(
            title=title, authors=_loads(authors) or [], publisher=publisher, container_title=container
        )
        bind.execute(
            sa.text("UPDATE citations SET publisher_key = :key WHERE id = :id"),
            {"key": search.name_key(publisher), "id": citation_id},
        )
    for table, indexed in rows.items():
        for record_id, streams in indexed.items():
            bind.execute(
                sa.text(f"UPDATE {table} SET search_text = :words, search_stems = :stems WHERE id = :id"),
                {"words": streams.words, "stems": streams.stems, "id": record_id},
            )


def _sqlite_index(table: str) -> list[str]:
    fts, mapped = f"{table}_fts", f"{table}_search_rows"
    add = (
        f"INSERT INTO {mapped}(record_id) VALUES (new.id); "
        f"INSERT INTO {fts}(rowid, words, stems) "
        f"SELECT rowid, new.search_text, new.search_stems FROM {mapped} WHERE record_id = new.id;"
    )
    remove = (
        f"INSERT INTO {fts}({fts}, rowid, words, stems) "
        f"SELECT 'delete', rowid, old.search_text, old.search_stems FROM {mapped} WHERE record_id = old.id; "
        f"DELETE FROM {mapped} WHERE record_id = old.id;"
    )
    return [
        f"CREATE TABLE {mapped} (rowid INTEGER PRIMARY KEY, record_id VARCHAR(120) NOT NULL UNIQUE)",
        f"CREATE VIRTUAL TABLE {fts} USING fts5(words, stems, content='', tokenize='ascii')",
        f"INSERT INTO {mapped}(record_id) SELECT id FROM {table} ORDER BY id",
        f"INSERT INTO {fts}(rowid, words, stems) SELECT m.rowid, t.search_text, t.search_stems "
        f"FROM {table} t JOIN {mapped} m ON m.record_id = t.id",
        f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF id, search_text, search_stems ON {table} "
        f"BEGIN {remove} {add} END",
    ]


def upgrade() -> None:
    for table in TABLES:
        if table in NEW_TEXT:
            op.add_column(table, sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        op.add_column(table, sa.Column("search_stems", sa.Text(), nullable=False, server_default=""))
    op.add_column("citations", sa.Column("publisher_key", sa.String(300), nullable=True))
    op.create_index("ix_citations_publisher_key", "citations", ["publisher_key"])
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == "sqlite":
        for table in TABLES:
            for statement in _sqlite_index(table):
                op.execute(statement)
    else:
        for table in TABLES:
            for column in ("search_text", "search_stems"):
                # Stored, not an expression index: the planner costs array_to_tsvector() as nearly free and
                # preferred recomputing it for every row (930 ms at 100k events) over the GIN index.
                op.execute(
                    f"ALTER TABLE {table} ADD COLUMN {column}_tsv tsvector "
                    f"GENERATED ALWAYS AS (array_to_tsvector(string_to_array({column}, ' '))) STORED"
                )
                op.execute(f"CREATE INDEX ix_{table}_{column}_tsv ON {table} USING gin ({column}_tsv)")


def downgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        if bind.dialect.name == "sqlite":
            for kind in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_search_{kind}")
            op.execute(f"DROP TABLE {table}_fts")
            op.execute(f"DROP TABLE {table}_search_rows")
        else:
            for column in ("search_text", "search_stems"):
                op.execute(f"DROP INDEX ix_{table}_{column}_tsv")
                op.execute(f"ALTER TABLE {table} DROP COLUMN {column}_tsv")
    op.drop_index("ix_citations_publisher_key", "citations")
    op.drop_column("citations", "publisher_key")
    for table in TABLES:
        op.drop_column(table, "search_stems")
        if table in NEW_TEXT:
            op.drop_column(table, "search_text")
