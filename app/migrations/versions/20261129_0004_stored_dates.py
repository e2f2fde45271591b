"""stored dates: offices, citations and source documents keep their dates as served, so reads never parse EDTF

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from app.dates import date_record

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# table -> (stored JSON column, EDTF column it is derived from)
COLUMNS = {
    "offices": [("start_date", "start_edtf"), ("end_date", "end_edtf"), ("attested_date", "attested_edtf")],
    "citations": [("issued_date", "issued_edtf")],
    "source_documents": [("issued_date", "issued_edtf"), ("period_date", "period_edtf")],
}


def upgrade() -> None:
    # Plain ALTER TABLE, no batch copy: both databases add and drop columns in place (SQLite since 3.35), and
    # a batch copy of a table other tables reference fails SQLite's foreign-key check.
    for table, columns in COLUMNS.items():
        for stored, _ in columns:
            op.add_column(table, sa.Column(stored, sa.JSON(), nullable=True))
    # Existing rows: derived here once with the same function the import uses from now on.
    bind = op.get_bind()
    for table, columns in COLUMNS.items():
        edtf_columns = ", ".join(source for _, source in columns)
        for row in bind.execute(sa.text(f"SELECT id, {edtf_columns} FROM {table}")).all():
            values = {
                stored: json.dumps(date_record(text)) if text else None
                for (stored, _), text in zip(columns, row[1:], strict=True)
            }
            assignments = ", ".join(f"{stored} = :{stored}" for stored in values)
            bind.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**values, "id": row[0]})


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        for stored, _ in reversed(columns):
            op.drop_column(table, stored)
