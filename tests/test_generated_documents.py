"""The database-built event documents (app.queries.event_documents) against their contract, EventOut, on
generated records where every optional field occurs both present and absent (the bundled data cannot
cover every combination), on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.main import create_app
from app.migrate import upgrade
from app.schemas.events import EventOut
from app.settings import Settings
from tests.helpers import load_into

LOCATIONS = [None, {"name": "Somewhere"}, {"country": "PK"}, {"name": "Islamabad", "country": "PK"}]
DATES = ["2019-07-22", "2019-07", "2019~", "2019-06/..", "2018?/2020?", "2019-07-21/2019-07-23"]
FOOTNOTES = [None, 1, 2, 3]  # 3: a citation with no url, publisher or issued date
QUOTES = [[], [{"speaker": "b", "text": "We agree", "footnote": 1}], [{"speaker": "a", "text": "Perhaps"}]]
DISCREPANCY = {
    "field": "date",
    "description": "Two dates.",
    "resolution": "The later one.",
    "readings": [{"value": "2019-07-01", "per": "brief"}, {"value": "2019-07-22", "per": "footnote 1"}],
}


# Never empty for a valid record (app.schemas.bundle): every event has a start, a participant, a topic and a
# locator; an event's citations come from its locators' footnotes; a discrepancy has readings.
REQUIRED_BY_THE_BUNDLE = {
    "date.start",
    "participants",
    "topics",
    "locators",
    "citations[].footnote",
    "discrepancies[].readings",
}


def generated_bundle(count: int = 48) -> dict[str, Any]:
    events = []
    for index in range(count):
        # Coprime-ish strides, so each option meets the others in many combinations.
        location, date = LOCATIONS[index % 4], DATES[index % 6]
        footnote, quotes = FOOTNOTES[(index // 3) % 4], QUOTES[(index // 2) % 3]
        locator: dict[str, Any] = {"source": "s", "section": "body"}
        if index % 2:
            locator |= {"paragraph": 1 + index % 3, "note": "Read with care."}
        if footnote is not None:
            locator["footnote"] = footnote
        event: dict[str, Any] = {
            "id": f"e{index:03d}",
            "type": ["visit", "meeting", "statement", "policy_change"][index % 4],
            "title": f"Event {index}",
            "summary": "" if index % 5 == 0 else "Something happened.",
            "date": date,
            "participants": [{"actor": "a", "role": "host"}]
            + ([{"actor": "b", "role": "visitor"}] if index % 3 else []),
            "topics": ["t"] + (["u"] if index % 2 else []),
            "locators": [locator],
            # A quote's footnote must be one of the event's locators' footnotes.
            "quotes": [
                {k: v for k, v in q.items() if k != "footnote" or footnote is not None}
                | ({"footnote": footnote} if "footnote" in q and footnote is not None else {})
                for q in quotes
            ],
        }
        if location is not None:
            event["location"] = location
        if index % 4 == 1:
            event |= {"notes": "Dated by inference.", "quantity": 8, "discrepancies": [DISCREPANCY]}
        if index % 6 == 5:
            event["parent"] = "e000"
        if index % 7 == 3:
            event["related"] = [{"event": "e001", "relation": "follows"}]
        events.append(event)
    return {
        "sources": [{"id": "s", "title": "S", "sections": [{"key": "body", "title": "Body", "paragraphs": 3}]}],
        "citations": [
            {
                "id": "c1",
                "source": "s",
                "footnote": 1,
                "type": "webpage",
                "title": "One",
                "publisher": "P",
                "issued": "2019-07-22",
                "url": "https://example.org/1",
            },
            {
                "id": "c2",
                "source": "s",
                "footnote": 2,
                "type": "article-newspaper",
                "title": "Two",
                "issued": "2019",
                "url": "https://example.org/2",
            },
            {"id": "c3", "source": "s", "footnote": 3, "type": "report", "title": "Three"},
        ],
        "topics": [{"id": "t", "label": "T"}, {"id": "u", "label": "U", "parent": "t"}],
        "actors": [
            {"id": "a", "name": "A", "kind": "person"},
            {"id": "b", "name": "B", "kind": "state", "country": "PK"},
        ],
        "events": events,
    }


def leaves(value: Any, model: type[BaseModel], path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every field the model declares, list items included, for coverage."""
    for name, info in model.model_fields.items():
        item = value[name]
        yield f"{path}{name}", item
        inner = [
            a for a in getattr(info.annotation, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            inner = [info.annotation]
        if inner and isinstance(item, dict):
            yield from leaves(item, inner[0], f"{path}{name}.")
        elif inner and isinstance(item, list):
            for element in item:
                yield from leaves(element, inner[0], f"{path}{name}[].")


def test_generated_documents_are_exactly_the_documented_model(databases, tmp_path) -> None:
    url = databases.new()
    upgrade(url)
    (tmp_path / "bundle.json").write_text(json.dumps(generated_bundle()))
    load_into(url, tmp_path)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    with TestClient(app) as client:
        documents = client.get("/v1/events", params={"limit": 500}).json()["items"]
        single = [client.get(f"/v1/events/{d['id']}").json() for d in documents[:5]]
    app.state.engine.dispose()
    assert len(documents) == 48 and single == documents[:5]
    seen: dict[str, set[str]] = {}
    for document in documents:
        # No missing, extra or mistyped field: validating and dumping again gives the same JSON.
        assert EventOut.model_validate(document, by_alias=False, by_name=True).model_dump(mode="json") == document, (
            document["id"]
        )
        for path, value in leaves(document, EventOut):
            seen.setdefault(path, set()).add("absent" if value in (None, [], "") else "present")
    optional = {path for path, _ in _optional_fields(EventOut)} - REQUIRED_BY_THE_BUNDLE
    assert len(optional) > 10, "EventOut has optional fields to cover"
    assert all(seen[p] == {"present"} for p in REQUIRED_BY_THE_BUNDLE)
    not_both = sorted(p for p in optional if seen.get(p) != {"absent", "present"})
    assert not_both == [], f"optional fields not seen both present and absent: {not_both}"


def _optional_fields(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, Any]]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        if type(None) in args or getattr(annotation, "__origin__", None) is list:
            yield f"{path}{name}", info
        nested = [a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            suffix = "[]." if getattr(annotation, "__origin__", None) is list else "."
            yield from _optional_fields(nested[0], f"{path}{name}{suffix}")
