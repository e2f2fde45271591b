"""Controlled vocabularies: event types (mapped to PLOVER and CAMEO), participant
roles, actor kinds, agreement kinds/statuses/milestones.

They live in code, not in the database, because the importer, the API
validation and the OpenAPI documentation all need the same list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    label: str
    description: str
    plover: str | None  # PLOVER 2.0 event category; None where PLOVER has none
    cameo: str  # CAMEO event code


EVENT_TYPES: dict[str, EventType] = {
    "visit": EventType("Visit", "An official travels to another country or to a multilateral venue.", "CONSULT", "042"),
    "meeting": EventType(
        "Meeting", "Leaders or officials meet: summits, talks, briefings, dialogue rounds.", "CONSULT", "040"
    ),
    "statement": EventType(
        "Statement",
        "A public statement of position not addressed as a request, offer or denial. "
        "PLOVER deliberately has no category for bare statements.",
        None,
        "010",
    ),
    "request": EventType("Request", "One actor asks another for cooperation or support.", "REQUEST", "020"),
    "mediation_request": EventType(
        "Mediation request", "An actor asks a third party to mediate a dispute.", "REQUEST", "028"
    ),
    "commitment": EventType("Commitment", "An actor pledges or reaffirms cooperation.", "AGREE", "030"),
    "mediation_offer": EventType(
        "Mediation offer", "An actor offers to mediate between parties to a dispute.", "AGREE", "039"
    ),
    "denial": EventType("Denial", "An actor publicly rejects a claim made about it.", "REJECT", "120"),
    "agreement": EventType("Agreement", "Parties sign or conclude a formal agreement.", "AGREE", "057"),
    "aid_approval": EventType(
        "Aid approval", "A government approves assistance, sales support or funding.", "AID", "070"
    ),
    "aid_suspension": EventType("Aid suspension", "A government suspends or cuts assistance.", "SANCTION", "162"),
    "programme_reinstatement": EventType(
        "Programme reinstatement", "A suspended cooperation programme is restored.", "COOPERATE", "062"
    ),
    "restrictions_eased": EventType(
        "Restrictions eased", "Restrictions (travel, diplomatic, administrative) are lifted or eased.", "CONCEDE", "081"
    ),
    "loan": EventType("Loan or bailout", "A lender approves a financing package.", "AID", "071"),
    "policy_change": EventType(
        "Policy change", "A government changes a law, status or policy that other actors react to.", None, "0"
    ),
}

ROLES: dict[str, str] = {
    "visitor": "Travels to the place of the event.",
    "host": "Receives a visitor or hosts the meeting.",
    "participant": "Takes part without a more specific role.",
    "delegation_head": "Leads a delegation.",
    "speaker": "Makes the statement.",
    "addressee": "The statement, request or briefing is addressed to them.",
    "requester": "Makes the request.",
    "mediator": "Offers or is asked to mediate.",
    "party": "A party to the dispute, agreement or decision.",
    "decider": "Takes the decision.",
    "target": "The decision or action is aimed at them.",
    "subject": "Is talked about without taking part.",
    "venue_organiser": "Organises the forum where the event takes place.",
}

# Visits (/v1/visits) are the events of this type.
VISIT = "visit"
# The visits view's roles, each standing for the stored participant roles that fill it, first term
# first. The traveller is recorded as `visitor`, or as head of the travelling delegation (how a visit to a
# multilateral venue such as the UN General Assembly is recorded); nothing else is read as a visitor or host.
VISIT_ROLES: dict[str, tuple[str, ...]] = {"visitor": ("visitor", "delegation_head"), "host": ("host",)}

ACTOR_KINDS: dict[str, str] = {
    "person": "A natural person.",
    "state": "A sovereign state.",
    "government_body": "A ministry, department, agency, armed service or other organ of a state.",
    "international_organisation": "An intergovernmental organisation, forum or standard setter.",
    "other": "Anything else: armed groups, media organisations, think tanks, companies.",
}

AGREEMENT_KINDS: dict[str, str] = {
    "agreement": "A formal agreement between parties.",
    "programme": "A standing cooperation or assistance programme.",
    "decision": "A unilateral decision with lasting effect (a suspension, an approval).",
    "loan": "A loan or bailout package.",
    "dialogue": "An agreed, recurring dialogue mechanism.",
    "initiative": "A multi-year initiative such as an infrastructure corridor.",
}

AGREEMENT_STATUSES: dict[str, str] = {
    "proposed": "Discussed or agreed in principle, not yet in effect.",
    "agreed": "Agreed by the parties.",
    "in_effect": "In effect at the latest date the source speaks of.",
    "suspended": "Suspended at the latest date the source speaks of.",
    "reinstated": "Reinstated after a suspension.",
    "ended": "Ended or expired.",
    "unknown": "The source does not say.",
}

MILESTONE_KINDS: dict[str, str] = {
    "announced": "Publicly announced.",
    "agreed": "Agreed between the parties.",
    "signed": "Signed.",
    "approved": "Approved by the deciding body.",
    "effective": "Took effect.",
    "suspended": "Suspended.",
    "reinstated": "Reinstated.",
    "first_meeting": "First meeting held.",
    "in_effect_as_of": "Reported as still in effect on this date.",
    "ended": "Ended.",
}

AGREEMENT_PARTY_ROLES: dict[str, str] = {
    "party": "A party to the agreement.",
    "donor": "Provides funds or assistance.",
    "recipient": "Receives funds or assistance.",
    "lender": "Lends the money.",
    "borrower": "Borrows the money.",
    "decider": "Takes the unilateral decision.",
    "target": "The decision is aimed at them.",
}

CSL_TYPES = (
    "article-newspaper",
    "article-magazine",
    "article-journal",
    "webpage",
    "post-weblog",
    "report",
    "speech",
    "document",
    "legislation",
    "book",
    "chapter",
    "dataset",
)
