"""The event document's contract. Field names are public: add, never rename.

Documents are built from rows by `app.queries.event_documents` (no ORM objects on the hot path);
tests/test_event_documents.py holds every built document to these models."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import (
    ActorRef,
    CitationRef,
    DiscrepancyOut,
    EventDateOut,
    LocatorOut,
    Schema,
    TopicRef,
)
from app.schemas.terms import EventType, Role


class ParticipantOut(Schema):
    actor: ActorRef
    role: Role = Field(examples=["visitor"])


class LocationOut(Schema):
    name: str | None = Field(examples=["Washington, D.C."])
    country: str | None = Field(description="ISO 3166-1 alpha-2.", examples=["US"])


class QuoteOut(Schema):
    """Words an actor said, as the source quotes them."""

    speaker: ActorRef
    text: str
    footnote: int | None


class RelationOut(Schema):
    event: str = Field(validation_alias="related_id", examples=["pompeo-visits-pakistan-2018-09"])
    relation: str = Field(examples=["responds_to"])


class CodesOut(Schema):
    plover: str | None = Field(
        description="PLOVER 2.0 event category (null where PLOVER has none).", examples=["CONSULT"]
    )
    cameo: str = Field(description="CAMEO event code.", examples=["042"])


class EventOut(Schema):
    id: str = Field(description="Stable slug.", examples=["khan-visits-washington-2019-07"])
    type: EventType = Field(description="Event type; see /v1/vocabularies.", examples=["visit"])
    codes: CodesOut
    title: str
    summary: str
    date: EventDateOut
    location: LocationOut | None
    participants: list[ParticipantOut]
    topics: list[TopicRef]
    citations: list[CitationRef]
    locators: list[LocatorOut]
    quotes: list[QuoteOut]
    notes: str | None = Field(description="Curator's notes, including how an imprecise date was derived.")
    discrepancies: list[DiscrepancyOut]
    quantity: int | None = Field(
        description="How many occurrences one record stands for ('eight visits').", examples=[8]
    )
    parent: str | None = Field(description="The event this one is part of.", examples=[None])
    related: list[RelationOut]
