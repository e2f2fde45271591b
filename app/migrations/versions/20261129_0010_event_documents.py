"""event_documents: each event's JSON document, stored and kept current by the write path

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:30:00

Lists, by-id reads and exports read an event's finished document (app.models.EventDocument) instead of
assembling it from participants, topics, citations, locators, quotes and relations per request. Existing events
are rendered here by the write path's own statement (app.curation.rendered.rebuild); from now on every write keeps
them current. At 1M events this takes about a minute. A later change to the document's shape needs a migration
that calls rebuild again, or stored databases keep serving the old shape.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.curation.rendered import rebuild

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_documents",
        sa.Column("event_id", sa.String(length=120), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_documents")),
    )
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("event_documents")
