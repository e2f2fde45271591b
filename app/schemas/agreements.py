from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from app.models import Agreement
from app.schemas.common import (
    ActorRef,
    CitationRef,
    DateOut,
    DiscrepancyOut,
    LocatorOut,
    Schema,
    TopicRef,
)
from app.schemas.terms import AgreementKind, AgreementStatus, MilestoneKind, PartyRole


class PartyOut(Schema):
    actor: ActorRef
    role: PartyRole = Field(examples=["donor"])


class MilestoneOut(Schema):
    kind: MilestoneKind = Field(
        description="announced, signed, approved, suspended, reinstated, …", examples=["suspended"]
    )
    date: DateOut
    event: str | None = Field(description="The event that records this step, if any.")
    note: str | None


class AmountOut(Schema):
    value: Decimal = Field(examples=["125000000"])
    currency: str | None = Field(description="ISO 4217.", examples=["USD"])
    qualifier: str | None = Field(
        description="`exact`, `at_least` or `about`, as the source words it.", examples=["exact"]
    )


class AgreementOut(Schema):
    id: str = Field(examples=["imet-pakistan"])
    title: str
    kind: AgreementKind = Field(examples=["programme"])
    status: AgreementStatus = Field(
        description="Status at the latest date the source speaks of.", examples=["reinstated"]
    )
    summary: str
    amount: AmountOut | None
    parties: list[PartyOut]
    milestones: list[MilestoneOut]
    events: list[str] = Field(description="Ids of related events.")
    topics: list[TopicRef]
    citations: list[CitationRef]
    locators: list[LocatorOut]
    notes: str | None
    discrepancies: list[DiscrepancyOut]

    @classmethod
    def from_row(cls, agreement: Agreement) -> AgreementOut:
        amount = None
        if agreement.amount is not None:
            amount = AmountOut(
                value=agreement.amount, currency=agreement.currency, qualifier=agreement.amount_qualifier
            )
        return cls.model_validate(
            {
                "id": agreement.id,
                "title": agreement.title,
                "kind": agreement.kind,
                "status": agreement.status,
                "summary": agreement.summary,
                "amount": amount,
                "parties": agreement.parties,
                "milestones": [
                    {"kind": ms.kind, "date": DateOut.from_span(ms.date), "event": ms.event_id, "note": ms.note}
                    for ms in agreement.milestones
                ],
                "events": [e.id for e in agreement.events],
                "topics": agreement.topics,
                "citations": agreement.citations,
                "locators": agreement.locators,
                "notes": agreement.notes,
                "discrepancies": agreement.discrepancies,
            }
        )
