"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from app.models.actors import Actor, ActorIdentifier, Office
from app.models.aggregates import EventCount, EventDocument, TopicClosure
from app.models.agreements import (
    Agreement,
    AgreementCitation,
    AgreementEvent,
    AgreementMilestone,
    AgreementParty,
    AgreementTopic,
)
from app.models.base import Base
from app.models.curation import ApiKey, Change, RetiredId
from app.models.dataset import DatasetState, ServiceSecret
from app.models.events import (
    Event,
    EventCitation,
    EventParticipant,
    EventQuote,
    EventRelation,
    EventTopic,
    walk_bounds,
)
from app.models.sources import Citation, Locator, Section, SourceDocument
from app.models.topics import Topic

__all__ = [
    "Actor",
    "ActorIdentifier",
    "Agreement",
    "AgreementCitation",
    "AgreementEvent",
    "AgreementMilestone",
    "AgreementParty",
    "AgreementTopic",
    "ApiKey",
    "Base",
    "Change",
    "Citation",
    "DatasetState",
    "Event",
    "EventCitation",
    "EventCount",
    "EventDocument",
    "EventParticipant",
    "EventQuote",
    "EventRelation",
    "EventTopic",
    "Locator",
    "Office",
    "RetiredId",
    "Section",
    "ServiceSecret",
    "SourceDocument",
    "Topic",
    "TopicClosure",
    "walk_bounds",
]
