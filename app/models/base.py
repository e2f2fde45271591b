from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Boolean, Date, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.dates import DateSpan, Precision

# Deterministic constraint names so Alembic migrations are reproducible on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SLUG = String(120)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DatedMixin:
    """The six columns of an imprecise date (see :mod:`app.dates`)."""

    date_edtf: Mapped[str] = mapped_column(String(64))
    date_start: Mapped[dt.date | None] = mapped_column(Date)
    date_end: Mapped[dt.date | None] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(String(8))
    date_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    date_uncertain: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def date(self) -> DateSpan:
        return DateSpan(
            edtf=self.date_edtf,
            start=self.date_start,
            end=self.date_end,
            precision=cast(Precision, self.date_precision),  # stored from a DateSpan by the import
            approximate=self.date_approximate,
            uncertain=self.date_uncertain,
        )

    @date.setter
    def date(self, span: DateSpan) -> None:
        self.date_edtf = span.edtf
        self.date_start = span.start
        self.date_end = span.end
        self.date_precision = span.precision
        self.date_approximate = span.approximate
        self.date_uncertain = span.uncertain
