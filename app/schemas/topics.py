from __future__ import annotations

from pydantic import Field

from app.models import Topic
from app.schemas.common import Schema


class TopicOut(Schema):
    id: str = Field(examples=["kashmir-dispute"])
    label: str = Field(examples=["Kashmir dispute"])
    description: str
    parent: str | None = Field(description="Parent topic id.", examples=["india-pakistan-relations"])
    children: list[str] = Field(description="Direct sub-topic ids.")

    @classmethod
    def from_row(cls, topic: Topic) -> TopicOut:
        return cls(
            id=topic.id,
            label=topic.label,
            description=topic.description,
            parent=topic.parent_id,
            children=[c.id for c in topic.children],
        )
