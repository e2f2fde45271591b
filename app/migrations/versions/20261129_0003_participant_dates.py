"""participant dates: an (actor, date) index that answers date-filtered actor queries alone

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("date_end", sa.Date(), nullable=True))
    # Existing rows take their event's bounds as app.models.walk_bounds stores them (open ends as the
    # extreme days, undated as NULL); the importer writes them from now on.
    day = "'{}'" if op.get_bind().dialect.name == "sqlite" else "DATE '{}'"
    first, last = day.format("0001-01-01"), day.format("9999-12-31")
    event = "(SELECT e.{} FROM events e WHERE e.id = event_participants.event_id)"
    undated = f"{event.format('date_start')} IS NULL AND {event.format('date_end')} IS NULL"
    op.execute(
        f"UPDATE event_participants SET "
        f"date_start = CASE WHEN {undated} THEN NULL ELSE coalesce({event.format('date_start')}, {first}) END, "
        f"date_end = CASE WHEN {undated} THEN NULL ELSE coalesce({event.format('date_end')}, {last}) END"
    )
    with op.batch_alter_table("event_participants", schema=None) as batch_op:
        # The new index starts with actor_id, so the single-column one is redundant.
        batch_op.drop_index(batch_op.f("ix_event_participants_actor_id"))
        batch_op.create_index(
            "ix_event_participants_actor_date", ["actor_id", "date_start", "event_id", "date_end"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_event_participants_actor_date")
        batch_op.create_index(batch_op.f("ix_event_participants_actor_id"), ["actor_id"], unique=False)
        batch_op.drop_column("date_end")
        batch_op.drop_column("date_start")
