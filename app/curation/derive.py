"""Every value the database stores that a curator does not write: derived here, once, from a record in its
bundle form (app.schemas.bundle), for every writer — the bundle import, the HTTP write endpoints and the
benchmark generator (app.curation.store writes the rows).

Derived values: the normalised words and stems `q` searches (app.search.text says what each resource is found
by; an event also by its participants' names and its topics' labels, looked up through the FootnoteIndex), the
stored date records and bounds (app.dates), the participants' copy of their event's date bounds, an agreement's date range (envelope of its milestones), and
the citations of events and agreements inferred from their locators' footnotes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from app import models as m
from app.dates import date_record, parse_edtf
from app.schemas.bundle import ActorIn, AgreementIn, CitationIn, EventIn, LocatorIn, SourceIn, TopicIn
from app.search import text as search

# table name -> rows (column -> value); a record's main row comes first, under its own table.
Rows = dict[str, list[dict[str, Any]]]
# Every table the rows below go to: the data. (The change log, retired ids, keys, the dataset version and any other
# bookkeeping table are not, so replacing the dataset never touches them; tests/test_curation.py makes every new
# table be one or the other.)
DATA_TABLE_NAMES = frozenset(
    {
        "source_documents",
        "source_sections",
        "citations",
        "topics",
        "actors",
        "actor_identifiers",
        "offices",
        "locators",
        "events",
        "event_participants",
        "event_quotes",
        "event_citations",
        "event_relations",
        "event_topics",
        "agreements",
        "agreement_parties",
        "agreement_milestones",
        "agreement_topics",
        "agreement_citations",
        "agreement_events",
    }
)


# (source id, footnote) -> citation id: where an event's or agreement's footnoted locators point.
class FootnoteIndex(Protocol):
    """What a derivation looks up in other records (app.curation.validate.FootnoteIndex implements it)."""

    def __getitem__(self, key: tuple[str, int]) -> str: ...

    def actor_names(self, actor_id: str) -> list[str]:
        """An actor's name and aliases, which an event's search text holds ([] when unknown)."""
        ...

    def topic_label(self, topic_id: str) -> str | None:
        """A topic's label, which an event's search text holds (None when unknown)."""
        ...


def _dumped(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


def _locators(items: list[LocatorIn], **owner: str | None) -> list[dict[str, Any]]:
    keys = {"event_id": None, "agreement_id": None, "office_id": None, **owner}
    return [
        {"source_id": x.source, "section": x.section, "paragraph": x.paragraph, "footnote": x.footnote, "note": x.note}
        | keys
        for x in items
    ]


def cited(locators: list[LocatorIn], footnotes: FootnoteIndex) -> list[str]:
    """The citations a record's locators point at through their footnotes (sorted, each once)."""
    return sorted({footnotes[(x.source, x.footnote)] for x in locators if x.footnote is not None})


def _span_columns(edtf: str) -> dict[str, Any]:
    span = parse_edtf(edtf)
    return {
        "date_edtf": span.edtf,
        "date_start": span.start,
        "date_end": span.end,
        "date_precision": span.precision,
        "date_approximate": span.approximate,
        "date_uncertain": span.uncertain,
    }


def source_rows(source: SourceIn, _footnotes: FootnoteIndex) -> Rows:
    period = parse_edtf(source.period) if source.period else None
    main = {
        "id": source.id,
        "title": source.title,
        "subtitle": source.subtitle,
        "series": source.series,
        "part": source.part,
        "csl_type": source.type,
        "publisher": source.publisher,
        "publisher_place": source.publisher_place,
        "authors": _dumped(source.authors),
        "issued_edtf": source.issued,
        "period_edtf": source.period,
        "period_start": period.start if period else None,
        "period_end": period.end if period else None,
        "issued_date": date_record(source.issued),
        "period_date": date_record(source.period),
        "language": source.language,
        "url": str(source.url) if source.url else None,
        "description": source.description,
        "notes": source.notes,
        "assessments": _dumped(source.assessments),
        **search.source_text(
            title=source.title,
            subtitle=source.subtitle,
            series=source.series,
            publisher=source.publisher,
            authors=_dumped(source.authors),
            description=source.description,
            assessments=[a.summary for a in source.assessments],
        ).columns(),
    }
    sections = [
        {
            "source_id": source.id,
            "key": s.key,
            "title": s.title,
            "ordinal": i,
            "parent_key": s.parent,
            "paragraphs": s.paragraphs,
        }
        for i, s in enumerate(source.sections)
    ]
    return {"source_documents": [main], "source_sections": sections}


def citation_rows(citation: CitationIn, _footnotes: FootnoteIndex) -> Rows:
    issued = parse_edtf(citation.issued) if citation.issued else None
    main = {
        "id": citation.id,
        "source_id": citation.source,
        "footnote": citation.footnote,
        "csl_type": citation.type,
        "title": citation.title,
        "container_title": citation.container_title,
        "publisher": citation.publisher,
        "publisher_key": search.name_key(citation.publisher),
        "authors": _dumped(citation.authors),
        "issued_edtf": citation.issued,
        "issued_start": issued.start if issued else None,
        "issued_end": issued.end if issued else None,
        "issued_date": date_record(citation.issued),
        "url": citation.url,
        "accessed": citation.accessed,
        "notes": citation.notes,
        **search.citation_text(
            title=citation.title,
            authors=_dumped(citation.authors),
            publisher=citation.publisher,
            container_title=citation.container_title,
        ).columns(),
    }
    return {"citations": [main]}


def topic_rows(topic: TopicIn, _footnotes: FootnoteIndex) -> Rows:
    main = {
        "id": topic.id,
        "label": topic.label,
        "description": topic.description,
        "parent_id": topic.parent,
        **search.topic_text(id=topic.id, label=topic.label, description=topic.description).columns(),
    }
    return {"topics": [main]}


def actor_rows(actor: ActorIn, _footnotes: FootnoteIndex) -> Rows:
    main = {
        "id": actor.id,
        "name": actor.name,
        "kind": actor.kind,
        "aliases": list(actor.aliases),
        "country": actor.country,
        "description": actor.description,
        **search.actor_text(
            id=actor.id, name=actor.name, aliases=actor.aliases, offices=sorted(o.label for o in actor.offices)
        ).columns(),
    }
    identifiers = [{"actor_id": actor.id, "scheme": i.scheme, "value": i.value} for i in actor.identifiers]
    offices, locators = [], []
    for office in actor.offices:
        offices.append(
            {
                "id": office.id,
                "person_id": actor.id,
                "label": office.label,
                "organization_id": office.organization,
                "start_edtf": office.start,
                "end_edtf": office.end,
                "attested_edtf": office.attested,
                "start_date": date_record(office.start),
                "end_date": date_record(office.end),
                "attested_date": date_record(office.attested),
                "from_date": parse_edtf(office.start).start if office.start else None,
                "to_date": parse_edtf(office.end).end if office.end else None,
                "notes": office.notes,
                "discrepancies": [d.model_dump() for d in office.discrepancies],
            }
        )
        locators += _locators(office.locators, office_id=office.id)
    return {"actors": [main], "actor_identifiers": identifiers, "offices": offices, "locators": locators}


def event_rows(event: EventIn, footnotes: FootnoteIndex) -> Rows:
    span = event.span
    # The participants carry the event's bounds so an actor's events in a date range come from one index
    # (app.models.events.EventParticipant).
    walk_start, walk_end = m.walk_bounds(span.start, span.end)
    main = {
        "id": event.id,
        "type": event.type,
        "title": event.title,
        "summary": event.summary,
        "location_name": event.location.name if event.location else None,
        "location_country": event.location.country if event.location else None,
        "quantity": event.quantity,
        "notes": event.notes,
        "discrepancies": [d.model_dump() for d in event.discrepancies],
        "parent_id": event.parent,
        **search.event_text(
            title=event.title,
            summary=event.summary,
            location=event.location.name if event.location else None,
            notes=event.notes,
            quotes=[q.text for q in event.quotes],
            participants=search.participant_names(footnotes.actor_names(p.actor) for p in event.participants),
            topics=[label for t in sorted(event.topics) if (label := footnotes.topic_label(t))],
        ).columns(),
        **_span_columns(event.date),
    }
    return {
        "events": [main],
        "event_participants": [
            {
                "event_id": event.id,
                "actor_id": p.actor,
                "role": p.role,
                "ordinal": i,
                "date_start": walk_start,
                "date_end": walk_end,
            }
            for i, p in enumerate(event.participants)
        ],
        "locators": _locators(event.locators, event_id=event.id),
        "event_quotes": [
            {"event_id": event.id, "ordinal": i, "speaker_id": q.speaker, "text": q.text, "footnote": q.footnote}
            for i, q in enumerate(event.quotes)
        ],
        "event_citations": [{"event_id": event.id, "citation_id": c} for c in cited(event.locators, footnotes)],
        "event_relations": [
            {"event_id": event.id, "related_id": r.event, "relation": r.relation} for r in event.related
        ],
        "event_topics": [{"event_id": event.id, "topic_id": t} for t in dict.fromkeys(event.topics)],
    }


def agreement_rows(agreement: AgreementIn, footnotes: FootnoteIndex) -> Rows:
    milestones: list[dict[str, Any]] = [
        {"agreement_id": agreement.id, "ordinal": i, "kind": ms.kind, "event_id": ms.event, "note": ms.note}
        | _span_columns(ms.date)
        for i, ms in enumerate(agreement.milestones)
    ]
    # The agreement's date range is the envelope of its milestones, so date filters match it like an event.
    starts: list[dt.date] = [ms["date_start"] for ms in milestones if ms["date_start"]]
    ends: list[dt.date] = [ms["date_end"] for ms in milestones if ms["date_end"]]
    main = {
        "id": agreement.id,
        "title": agreement.title,
        "kind": agreement.kind,
        "status": agreement.status,
        "summary": agreement.summary,
        "amount": agreement.amount,
        "currency": agreement.currency,
        "amount_qualifier": agreement.amount_qualifier,
        "notes": agreement.notes,
        "discrepancies": [d.model_dump() for d in agreement.discrepancies],
        "date_start": min(starts) if starts else None,
        "date_end": max(ends) if ends else None,
        **search.agreement_text(title=agreement.title, summary=agreement.summary, notes=agreement.notes).columns(),
    }
    return {
        "agreements": [main],
        "agreement_parties": [
            {"agreement_id": agreement.id, "actor_id": p.actor, "role": p.role, "ordinal": i}
            for i, p in enumerate(agreement.parties)
        ],
        "agreement_milestones": milestones,
        "locators": _locators(agreement.locators, agreement_id=agreement.id),
        "agreement_topics": [{"agreement_id": agreement.id, "topic_id": t} for t in dict.fromkeys(agreement.topics)],
        "agreement_citations": [
            {"agreement_id": agreement.id, "citation_id": c} for c in cited(agreement.locators, footnotes)
        ],
        "agreement_events": [{"agreement_id": agreement.id, "event_id": e} for e in dict.fromkeys(agreement.events)],
    }
