"""event_documents: each event's JSON document, stored and kept current by the write path

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:30:00

Lists, by-id reads and document exports read an event's finished document (app.models.EventDocument) instead of
assembling it from participants, topics, citations, locators, quotes and relations per request. The table is
created empty: the documents of existing events are rendered right after the upgrade by
app.curation.rendered.ensure_current (app.migrate.upgrade calls it whenever it brings a database to the head), with
the code of that release, so this revision does not depend on how a later release renders them. At 1M events
rendering takes about a minute; from then on every write keeps the documents current.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_documents",
        sa.Column("event_id", sa.String(length=120), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("rendered_by", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_documents")),
    )
    op.create_index("ix_event_documents_rendered_by", "event_documents", ["rendered_by"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_documents_rendered_by", table_name="event_documents")
    op.drop_table("event_documents")
