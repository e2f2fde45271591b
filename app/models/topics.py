from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import SLUG, Base


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[str] = mapped_column(SLUG, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("topics.id"), index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")  # app.search.text.topic_text
    search_stems: Mapped[str] = mapped_column(Text, default="")

    parent: Mapped[Topic | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Topic]] = relationship(back_populates="parent", order_by="Topic.id")
