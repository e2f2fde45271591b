"""aggregate tables: the topic closure and precomputed event counts, backfilled from the data

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 15:30:00

``topic_closure`` (every ancestor/descendant pair of the topic tree) and ``event_counts`` (per scope — all
events, one topic, one actor — the events per facet value and per (first year, last year) span): see
app.models.aggregates. Existing rows are counted here by the write path's own recomputation
(app.curation.aggregates.rebuild); from now on every write keeps them current. At 1M events this takes about a
minute.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.curation.aggregates import rebuild

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_closure",
        sa.Column("ancestor", sa.String(length=120), nullable=False),
        sa.Column("descendant", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("ancestor", "descendant", name=op.f("pk_topic_closure")),
    )
    op.create_index("ix_topic_closure_descendant", "topic_closure", ["descendant", "ancestor"], unique=False)
    op.create_table(
        "event_counts",
        sa.Column("scope", sa.String(length=130), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=130), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "facet", "value", name=op.f("pk_event_counts")),
    )
    zero = sa.text("n = 0")
    op.create_index("ix_event_counts_emptied", "event_counts", ["scope"], sqlite_where=zero, postgresql_where=zero)
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_event_counts_emptied", table_name="event_counts")
    op.drop_table("event_counts")
    op.drop_index("ix_topic_closure_descendant", table_name="topic_closure")
    op.drop_table("topic_closure")
