"""The controlled vocabularies (app.vocab) as types: each is an enum in OpenAPI, so generated clients get
the terms, and a value outside it fails validation. To the type checker they are plain strings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from app import vocab


def terms(names: Any) -> Any:
    """A ``Literal`` of a vocabulary's terms (built from data, so not spelt out twice)."""
    return Literal.__getitem__(tuple(names))


if TYPE_CHECKING:
    EventType: TypeAlias = str
    Role: TypeAlias = str
    ActorKind: TypeAlias = str
    AgreementKind: TypeAlias = str
    AgreementStatus: TypeAlias = str
    MilestoneKind: TypeAlias = str
    PartyRole: TypeAlias = str
    CslType: TypeAlias = str
else:
    EventType = terms(vocab.EVENT_TYPES)
    Role = terms(vocab.ROLES)
    ActorKind = terms(vocab.ACTOR_KINDS)
    AgreementKind = terms(vocab.AGREEMENT_KINDS)
    AgreementStatus = terms(vocab.AGREEMENT_STATUSES)
    MilestoneKind = terms(vocab.MILESTONE_KINDS)
    PartyRole = terms(vocab.AGREEMENT_PARTY_ROLES)
    CslType = terms(vocab.CSL_TYPES)
