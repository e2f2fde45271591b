"""search: runs of Chinese, Japanese and Korean characters indexed as overlapping bigrams

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 15:30:00

Until now a run of CJK characters (written without spaces) was one indexed word, cut at 64 characters, so a
two-character query never found a longer run holding it. app.search.text now indexes such runs as overlapping
character bigrams; this rewrites the stored streams that hold CJK characters the same way. It works from the
stored words (their runs were already cut at 64 characters, so such a run stays searchable over its first 64
characters until the record is next written, which indexes it whole); records without CJK text are untouched
and their FTS5 rows / tsvector columns follow through the triggers and generated columns of migration 0006.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.search.text import CJK, FIELD_BREAK, MAX_FIELD_WORDS, stem, words

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ["events", "actors", "agreements", "topics", "source_documents", "citations"]


def rebuilt(stored: str) -> tuple[str, str]:
    """A stored ``search_text`` with its CJK words as bigrams, and the matching ``search_stems``."""
    out: list[str] = []
    budget = MAX_FIELD_WORDS
    for token in stored.split(" "):
        if token == FIELD_BREAK:
            out.append(token)
            continue
        pieces = words(token) if CJK.search(token) else [token]
        pieces = pieces[: max(budget, 0)]
        budget -= len(pieces)
        out += pieces
    return " ".join(out), " ".join(w if w == FIELD_BREAK else stem(w) for w in out)


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        query = sa.text(f"SELECT id, search_text FROM {table}")
        if bind.dialect.name == "postgresql":  # only rows with CJK text cross the wire
            query = sa.text(f"SELECT id, search_text FROM {table} WHERE search_text ~ :cjk").bindparams(cjk=CJK.pattern)
        changed = []
        for record_id, stored in bind.execute(query):
            if stored and CJK.search(stored):
                text, stems = rebuilt(stored)
                if text != stored:
                    changed.append({"id": record_id, "words": text, "stems": stems})
        if changed:
            bind.execute(
                sa.text(f"UPDATE {table} SET search_text = :words, search_stems = :stems WHERE id = :id"), changed
            )


def downgrade() -> None:
    # Bigrams stay searchable as they are under 0007's code (a phrase of two-character words); nothing to undo.
    pass
