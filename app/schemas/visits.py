"""The visit document's contract: a visit is an event of type `visit`, seen the way travel datasets see it
(traveller, host, destination, dates). Field names are public: add, never rename.

Documents are built by `app.queries.visit_documents` from the event's own document, so a visit and its
event always agree (same id, date, topics, citations and locators)."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import ActorRef, CitationRef, EventDateOut, LocatorOut, Schema, TopicRef
from app.schemas.terms import Role


class OfficeRef(Schema):
    """A post the person is known to have held on every day the visit may denote."""

    id: str = Field(examples=["mike-pompeo-us-secretary-of-state"])
    label: str = Field(examples=["Secretary of State"])
    organization: ActorRef | None


class VisitorOut(ActorRef):
    """The traveller, and the post they held at the time when the data shows it."""

    role: Role = Field(
        description="The role the record gives the traveller: `visitor`, or `delegation_head` for the head of a "
        "delegation (e.g. to the UN General Assembly).",
        examples=["visitor"],
    )
    office: OfficeRef | None = Field(
        description="The office the visitor held on every day the visit may denote, per the office's recorded "
        "start/end and attested span (see `/v1/actors/{id}`); null when the data does not show one for the whole "
        "visit. A start with no end and no attested span does not show that the post was still held."
    )


class CoordinatesOut(Schema):
    lon: float = Field(description="Longitude, WGS84 degrees.", examples=[-77.0364])
    lat: float = Field(description="Latitude, WGS84 degrees.", examples=[38.8951])
    geonames: int | None = Field(description="GeoNames id of the place.", examples=[4140963])


class DestinationOut(Schema):
    name: str | None = Field(
        description="The place as the source names it: a city, or only the country when no city is given.",
        examples=["Washington, D.C."],
    )
    country: str | None = Field(description="ISO 3166-1 alpha-2.", examples=["US"])
    coordinates: CoordinatesOut | None = Field(
        description="From the curated gazetteer (`app/exports/gazetteer.yaml`); null for places it does not list "
        "(such as a country named without a city): nothing is geocoded by guess."
    )


class VisitOut(Schema):
    id: str = Field(
        description="The event's id: `/v1/events/{id}` is the same record.", examples=["pompeo-visits-pakistan-2018-09"]
    )
    title: str
    summary: str
    visitor: VisitorOut | None = Field(
        description="Who travelled; null when the record names no visitor or head of delegation (never guessed). "
        "A record naming several gives the first recorded visitor here (`actor=<id>&role=visitor` finds the record "
        "by any of them); `/v1/events/{id}` lists every participant."
    )
    host: ActorRef | None = Field(description="Who received the visitor; null when the record names no host.")
    destination: DestinationOut | None = Field(description="Where the visit went; null when the record gives no place.")
    date: EventDateOut
    quantity: int | None = Field(
        description="How many visits this one record stands for ('eight visits'), with the date range covering all "
        "of them; null for a single visit. Such a record is never split into invented dated trips.",
        examples=[None],
    )
    purpose: list[TopicRef] = Field(description="What the visit was about: the event's topics.")
    events: list[str] = Field(
        description="Ids of the events that took place during the visit (meetings, statements, requests…): its "
        "parts, and their parts, by the events' `parent` links; earliest first.",
        examples=[["khan-trump-summit-2019-07-22"]],
    )
    citations: list[CitationRef]
    locators: list[LocatorOut]
    notes: str | None = Field(description="Curator's notes, including how an imprecise date was derived.")
