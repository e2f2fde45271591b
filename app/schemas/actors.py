from __future__ import annotations

from pydantic import Field

from app.models import Actor, Office
from app.schemas.common import ActorRef, DateOut, DiscrepancyOut, LocatorOut, Schema
from app.schemas.terms import ActorKind


class IdentifierOut(Schema):
    scheme: str = Field(examples=["wikidata"])
    value: str = Field(examples=["Q22686"])


class OfficeOut(Schema):
    """A post held (Popolo membership): dates are null where the source does not give them."""

    id: str = Field(examples=["mike-pompeo-us-secretary-of-state"])
    label: str = Field(examples=["Secretary of State"])
    organization: ActorRef | None
    start: DateOut | None = Field(description="When the person took the post, if the source says.")
    end: DateOut | None = Field(description="When they left it, if the source says.")
    attested: DateOut | None = Field(description="When the source shows them in post.")
    notes: str | None
    discrepancies: list[DiscrepancyOut]
    locators: list[LocatorOut]

    @classmethod
    def from_row(cls, office: Office) -> OfficeOut:
        return cls.model_validate(
            {
                "id": office.id,
                "label": office.label,
                "organization": office.organization,
                "start": DateOut.stored(office.start_date),
                "end": DateOut.stored(office.end_date),
                "attested": DateOut.stored(office.attested_date),
                "notes": office.notes,
                "discrepancies": office.discrepancies,
                "locators": office.locators,
            }
        )


class ActorOut(Schema):
    id: str = Field(description="Stable slug.", examples=["mike-pompeo"])
    name: str = Field(examples=["Mike Pompeo"])
    kind: ActorKind = Field(
        description="person, state, government_body, international_organisation or other.", examples=["person"]
    )
    aliases: list[str] = Field(examples=[["Michael Pompeo"]])
    country: str | None = Field(description="ISO 3166-1 alpha-2.", examples=["US"])
    description: str
    identifiers: list[IdentifierOut]
    offices: list[OfficeOut]

    @classmethod
    def from_row(cls, actor: Actor) -> ActorOut:
        return cls.model_validate(
            {
                "id": actor.id,
                "name": actor.name,
                "kind": actor.kind,
                "aliases": actor.aliases,
                "country": actor.country,
                "description": actor.description,
                "identifiers": actor.identifiers,
                "offices": [OfficeOut.from_row(o) for o in actor.offices],
            }
        )
