"""curation: change log (history and change feed), retired ids (renames, deletes), API keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=120), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("previous_id", sa.String(length=120), nullable=True),
        sa.Column("replaced_by", sa.String(length=120), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dataset_version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_changes")),
    )
    op.create_index("ix_changes_resource_record", "changes", ["resource", "record_id", "seq"], unique=False)
    op.create_index(op.f("ix_changes_dataset_version"), "changes", ["dataset_version"], unique=False)
    op.create_table(
        "retired_ids",
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("successor", sa.String(length=120), nullable=True),
        sa.Column("seq", SEQ, nullable=False),
        sa.PrimaryKeyConstraint("resource", "id", name=op.f("pk_retired_ids")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_keys_token_sha256")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("retired_ids")
    op.drop_index(op.f("ix_changes_dataset_version"), table_name="changes")
    op.drop_index("ix_changes_resource_record", table_name="changes")
    op.drop_table("changes")
