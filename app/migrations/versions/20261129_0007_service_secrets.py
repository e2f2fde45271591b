"""service secrets: the cursor signing key, generated here (on first start) so every process agrees on it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 12:45:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_secrets")),
    )
    # 256 random bits, new for every database: a cursor signed by one deployment is refused by another.
    op.bulk_insert(table, [{"name": "cursor-signing", "value": secrets.token_urlsafe(32)}])


def downgrade() -> None:
    op.drop_table("service_secrets")
