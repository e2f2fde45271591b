"""How events are serialised. Field names are the public contract: add, never rename."""

from __future__ import annotations

from pydantic import Field

from app import vocab
from app.models import Event
from app.schemas.common import (
    ActorRef,
    CitationRef,
    DateOut,
    DiscrepancyOut,
    LocatorOut,
    Schema,
    TopicRef,
)


class ParticipantOut(Schema):
    actor: ActorRef
    role: str = Field(examples=["visitor"])


class LocationOut(Schema):
    name: str | None = Field(examples=["Washington, D.C."])
    country: str | None = Field(description="ISO 3166-1 alpha-2.", examples=["US"])


class QuoteOut(Schema):
    """Words an actor said, as the source quotes them."""

    speaker: ActorRef
    text: str
    footnote: int | None


class RelationOut(Schema):
    event: str = Field(validation_alias="related_id", examples=["khan-trump-meeting-white-house-2019-07-22"])
    relation: str = Field(examples=["responds_to"])


class CodesOut(Schema):
    plover: str | None = Field(description="PLOVER 2.0 event category (null where PLOVER has none).", examples=["CONSULT"])
    cameo: str = Field(description="CAMEO event code.", examples=["042"])


class EventOut(Schema):
    id: str = Field(description="Stable slug.", examples=["imran-khan-visit-to-washington-2019-07"])
    type: str = Field(description="Event type; see /v1/vocabularies.", examples=["visit"])
    codes: CodesOut
    title: str
    summary: str
    date: DateOut
    location: LocationOut | None
    participants: list[ParticipantOut]
    topics: list[TopicRef]
    citations: list[CitationRef]
    locators: list[LocatorOut]
    quotes: list[QuoteOut]
    notes: str | None = Field(description="Curator's notes, including how an imprecise date was derived.")
    discrepancies: list[DiscrepancyOut]
    quantity: int | None = Field(description="How many occurrences one record stands for ('eight visits').", examples=[8])
    parent: str | None = Field(description="The event this one is part of.", examples=[None])
    related: list[RelationOut]

    @classmethod
    def from_row(cls, event: Event) -> EventOut:
        codes = vocab.EVENT_TYPES[event.type]
        location = None
        if event.location_name or event.location_country:
            location = LocationOut(name=event.location_name, country=event.location_country)
        return cls.model_validate(
            {
                "id": event.id,
                "type": event.type,
                "codes": {"plover": codes.plover, "cameo": codes.cameo},
                "title": event.title,
                "summary": event.summary,
                "date": DateOut.from_span(event.date),
                "location": location,
                "participants": event.participants,
                "topics": event.topics,
                "citations": event.citations,
                "locators": event.locators,
                "quotes": event.quotes,
                "notes": event.notes,
                "discrepancies": event.discrepancies,
                "quantity": event.quantity,
                "parent": event.parent_id,
                "related": event.relations,
            }
        )
