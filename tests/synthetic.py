"""A synthetic bundle of any size, for fault and load tests (not benchmark-grade; see bench/)."""

from __future__ import annotations

import json
import random
from pathlib import Path


def write_bundle(directory: Path, events: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    source = "synthetic-source"
    actors = [{"id": f"actor-{i}", "name": f"Actor {i}", "kind": "person"} for i in range(200)]
    topics = [{"id": f"topic-{i}", "label": f"Topic {i}"} for i in range(20)]
    bundle = {
        "sources": [
            {"id": source, "title": "Synthetic", "sections": [{"key": "body", "title": "Body", "paragraphs": 100}]}
        ],
        "citations": [
            {
                "id": f"cite-{n}",
                "source": source,
                "footnote": n,
                "type": "webpage",
                "title": f"Cite {n}",
                "publisher": "P",
                "url": f"https://example.org/{n}",
            }
            for n in range(1, 51)
        ],
        "topics": topics,
        "actors": actors,
        "events": [
            {
                "id": f"event-{i}",
                "type": rng.choice(["visit", "meeting", "statement"]),
                "title": f"Synthetic event {i}",
                "summary": "Generated for fault and load tests.",
                "date": f"{rng.randint(1990, 2025)}-{rng.randint(1, 12):02d}",
                "participants": [{"actor": a["id"], "role": "participant"} for a in rng.sample(actors, 2)],
                "topics": [rng.choice(topics)["id"]],
                "locators": [{"source": source, "section": "body", "paragraph": 1, "footnote": rng.randint(1, 50)}],
            }
            for i in range(events)
        ],
    }
    (directory / "bundle.json").write_text(json.dumps(bundle))
    return directory
