"""Deterministic synthetic data for the benchmark, loaded straight into a migrated database.

    python -m bench.generate --events 100000 [--url sqlite:///var/bench/events-100000.sqlite3] [--seed 42]

The shape (see README.md here): ~2,000 actors with Zipf-like popularity plus `actor-popular` (~10% of
events) and `actor-rare` (~0.05%), 60 topics (24 of them sub-topics), one source document with eight
sections, a few thousand citations, and per event 1–4 participants, 1–3 topics and 1–3 citations (each
with its locator), dated 1990–2025 at day/month/year precision with some multi-day intervals.

Rows go in with SQLAlchemy Core `insert()` executemany (SQLite) or COPY (PostgreSQL) in chunks of
`CHUNK` events, all in one transaction; `dataset_state` is written last, so a half-written database
never looks complete. Only stdlib + the app's own dependencies are needed (tqdm is optional).
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import datetime as dt
import hashlib
import itertools
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Table, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from app import models as m
from app.dates import date_record
from app.migrate import upgrade
from app.search import text as search

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 5_000  # events per batch (≈ 5k events, 12k participants, 10k topics/citations/locators)
N_ACTORS = 2_000
N_TOPICS = 60
POPULAR, RARE = "actor-popular", "actor-rare"
POPULAR_SHARE, RARE_SHARE = 0.10, 0.0005
SOURCE = "bench-source"
SECTIONS = ["summary", "background", "visits", "security", "economy", "regional", "multilateral", "outlook"]
SEARCH_WORD = "ceasefire"  # in ≈ 9% of summaries; no other vocabulary word contains it
TOPIC_WITH_CHILDREN = "topic-00"  # a root with two sub-topics (Q2)
FIRST_YEAR, LAST_YEAR = 1990, 2025
UPDATED_AT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SHAPE = 3  # bump when the generated data changes, so stale benchmark databases are regenerated

WORDS = [
    "accord",
    "agenda",
    "aid",
    "alliance",
    "ambassador",
    "arms",
    "assistance",
    "bilateral",
    "border",
    "briefing",
    "cabinet",
    "capital",
    "ceasefire",
    "charter",
    "coalition",
    "commerce",
    "communique",
    "conference",
    "consulate",
    "corridor",
    "council",
    "counterpart",
    "crisis",
    "customs",
    "debt",
    "defence",
    "delegation",
    "democracy",
    "deployment",
    "dialogue",
    "diplomacy",
    "dispute",
    "drought",
    "election",
    "embassy",
    "emergency",
    "energy",
    "envoy",
    "exchange",
    "exports",
    "famine",
    "finance",
    "fisheries",
    "framework",
    "frontier",
    "funding",
    "gas",
    "grain",
    "growth",
    "harbour",
    "humanitarian",
    "imports",
    "industry",
    "infrastructure",
    "initiative",
    "investment",
    "irrigation",
    "justice",
    "labour",
    "loan",
    "maritime",
    "mediation",
    "migration",
    "military",
    "minister",
    "mission",
    "monsoon",
    "negotiation",
    "nuclear",
    "observer",
    "oil",
    "parliament",
    "partnership",
    "patrol",
    "peace",
    "pipeline",
    "pledge",
    "police",
    "port",
    "powers",
    "protocol",
    "railway",
    "reconstruction",
    "reform",
    "refugees",
    "region",
    "relief",
    "resolution",
    "rights",
    "road",
    "sanctions",
    "satellite",
    "security",
    "settlement",
    "shipping",
    "sovereignty",
    "statement",
    "steel",
    "summit",
    "talks",
    "tariff",
    "telecom",
    "terrorism",
    "textile",
    "tourism",
    "trade",
    "training",
    "transit",
    "treaty",
    "troops",
    "truce",
    "tunnel",
    "uranium",
    "vaccine",
    "visa",
    "water",
    "wheat",
    "withdrawal",
    "workshop",
    "youth",
]
VERBS = ["discusses", "reviews", "announces", "welcomes", "raises", "rejects", "supports", "signs", "proposes"]
FIRST = [
    "Amina",
    "Bilal",
    "Chen",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hassan",
    "Ines",
    "Jamal",
    "Kenji",
    "Leila",
    "Marco",
    "Nadia",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yusuf",
    "Zara",
]
LAST = [
    "Abbasi",
    "Baker",
    "Chaudhry",
    "Dubois",
    "Evans",
    "Fischer",
    "Gill",
    "Haider",
    "Iqbal",
    "Jensen",
    "Khan",
    "Lopez",
    "Malik",
    "Novak",
    "Okafor",
    "Petrov",
    "Qureshi",
    "Rahman",
    "Singh",
    "Tanaka",
    "Usman",
    "Volkov",
]
PLACES = [
    ("Islamabad", "PK"),
    ("Washington, D.C.", "US"),
    ("Kabul", "AF"),
    ("Beijing", "CN"),
    ("New Delhi", "IN"),
    ("Riyadh", "SA"),
    ("Doha", "QA"),
    ("Tehran", "IR"),
    ("Moscow", "RU"),
    ("London", "GB"),
    ("Brussels", "BE"),
    ("Geneva", "CH"),
    ("New York", "US"),
    ("Tokyo", "JP"),
    ("Ankara", "TR"),
    ("Dubai", "AE"),
    ("Lahore", "PK"),
    ("Karachi", "PK"),
    ("Berlin", "DE"),
    ("Paris", "FR"),
    ("Dhaka", "BD"),
    ("Kathmandu", "NP"),
    ("Colombo", "LK"),
    ("Tashkent", "UZ"),
    ("Astana", "KZ"),
    ("Baku", "AZ"),
    ("Cairo", "EG"),
    ("Nairobi", "KE"),
]
ROLES = ["participant", "visitor", "host", "speaker", "addressee", "delegation_head", "mediator", "party"]
TYPE_WEIGHTS = {
    "visit": 20,
    "meeting": 25,
    "statement": 20,
    "request": 5,
    "commitment": 6,
    "mediation_offer": 2,
    "mediation_request": 2,
    "denial": 3,
    "agreement": 4,
    "aid_approval": 4,
    "aid_suspension": 2,
    "programme_reinstatement": 1,
    "restrictions_eased": 2,
    "loan": 2,
    "policy_change": 2,
}
PUBLISHERS = [
    "Reuters",
    "Dawn",
    "The Express Tribune",
    "Associated Press",
    "Al Jazeera",
    "BBC News",
    "The Hindu",
    "Ministry of Foreign Affairs, Pakistan",
    "U.S. Department of State",
    "The White House",
    "Xinhua",
    "The New York Times",
    "The Washington Post",
    "Financial Times",
    "Geo News",
    "Arab News",
]
ACTOR_KINDS = ["person"] * 6 + ["state", "government_body", "international_organisation", "other"]


@dataclass(frozen=True)
class Counts:
    events: int
    actors: int
    topics: int
    citations: int
    participants: int
    event_topics: int
    event_citations: int
    locators: int


def dataset_version(events: int, seed: int) -> str:
    """What `dataset_state.version` holds, so the runner can tell a complete, matching database."""
    return hashlib.sha256(f"dipevents-bench:{SHAPE}:{events}:{seed}".encode()).hexdigest()[:16]


def citation_count(events: int) -> int:
    return min(3_000, max(30, events // 3))


def _cumulative(n: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(n)))


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    return bisect.bisect(cumulative, rng.random() * cumulative[-1])


class Generator:
    """Produces rows as dicts keyed by column name; one `random.Random(seed)` drives everything."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.actor_ids = [f"actor-{i:04d}" for i in range(1, N_ACTORS + 1)]
        self.actor_weights = _cumulative(N_ACTORS, 0.7)  # the busiest ordinary actor: ~8% of events
        self.topic_ids = [f"topic-{i:02d}" for i in range(N_TOPICS)]
        self.topic_weights = _cumulative(N_TOPICS, 0.7)
        self.types = list(TYPE_WEIGHTS)
        self.type_weights = list(itertools.accumulate(TYPE_WEIGHTS.values()))
        self.actor_names: dict[str, str] = {}
        self.actor_aliases: dict[str, list[str]] = {}
        self.topic_labels: dict[str, str] = {}
        self.locator_id = 0

    # -- reference data -------------------------------------------------------------------------

    def source(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        document = {
            "id": SOURCE,
            "title": "Synthetic diplomatic chronicle",
            "subtitle": None,
            "series": "Benchmarks",
            "part": None,
            "csl_type": "report",
            "publisher": "dipevents",
            "publisher_place": None,
            "authors": [{"literal": "dipevents benchmark"}],
            "issued_edtf": "2025",
            "period_edtf": "1990/2025",
            "period_start": dt.date(1990, 1, 1),
            "period_end": dt.date(2025, 12, 31),
            "language": "en",
            "issued_date": date_record("2025"),
            "period_date": date_record("1990/2025"),
            "url": None,
            "description": "Generated by bench/generate.py.",
            "notes": None,
            "assessments": [],
        }
        document |= search.source_text(
            title=document["title"],
            subtitle=None,
            series=document["series"],
            publisher=document["publisher"],
            authors=document["authors"],
            description=document["description"],
        ).columns()
        sections = [
            {"source_id": SOURCE, "key": key, "title": key.title(), "ordinal": i, "parent_key": None, "paragraphs": 40}
            for i, key in enumerate(SECTIONS)
        ]
        return [document], sections

    def topics(self) -> list[dict[str, Any]]:
        rows = []
        for i, topic_id in enumerate(self.topic_ids):
            # 0–11 roots with children, 12–35 their children, 36–59 standalone
            parent = self.topic_ids[(i - 12) % 12] if 12 <= i < 36 else None
            label = f"{WORDS[(i * 7) % len(WORDS)].title()} {WORDS[(i * 13 + 5) % len(WORDS)]}"
            description = f"Synthetic topic {i}."
            self.topic_labels[topic_id] = label
            rows.append(
                {"id": topic_id, "label": label, "description": description, "parent_id": parent}
                | search.topic_text(id=topic_id, label=label, description=description).columns()
            )
        return rows  # parents (0–11) come before their children

    def actors(self) -> list[dict[str, Any]]:
        rng, rows = self.rng, []
        specials = [(POPULAR, "Popular Envoy", "person"), (RARE, "Rare Emissary", "person")]
        ordinary = [(a, f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(ACTOR_KINDS)) for a in self.actor_ids]
        for actor_id, name, kind in specials + ordinary:
            aliases = [name.split()[-1]] if rng.random() < 0.2 else []
            self.actor_names[actor_id] = name
            self.actor_aliases[actor_id] = aliases
            rows.append(
                {
                    "id": actor_id,
                    "name": name,
                    "kind": kind,
                    "aliases": aliases,
                    "country": rng.choice(PLACES)[1],
                    "description": "",
                }
                | search.actor_text(id=actor_id, name=name, aliases=aliases, offices=[]).columns()
            )
        return rows

    def citations(self, n: int) -> list[dict[str, Any]]:
        rng, rows = self.rng, []
        for footnote in range(1, n + 1):
            issued = dt.date(rng.randint(FIRST_YEAR, LAST_YEAR), rng.randint(1, 12), rng.randint(1, 28))
            title = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
            publisher = rng.choice(PUBLISHERS)
            rows.append(
                {
                    "id": f"cite-{footnote:05d}",
                    "source_id": SOURCE,
                    "footnote": footnote,
                    "csl_type": rng.choice(["webpage", "article-newspaper", "report"]),
                    "title": title,
                    "container_title": None,
                    "publisher": publisher,
                    "publisher_key": search.name_key(publisher),
                    "authors": [],
                    "issued_edtf": issued.isoformat(),
                    "issued_start": issued,
                    "issued_end": issued,
                    "issued_date": date_record(issued.isoformat()),
                    "url": f"https://example.org/news/{footnote}",
                    "accessed": None,
                    "notes": None,
                }
                | search.citation_text(title=title, authors=[], publisher=publisher, container_title=None).columns()
            )
        return rows

    # -- events ---------------------------------------------------------------------------------

    def date(self) -> tuple[str, dt.date, dt.date, str, bool, bool]:
        """(edtf, start, end, precision, approximate, uncertain), consistent with app.dates.parse_edtf."""
        rng = self.rng
        year, month = rng.randint(FIRST_YEAR, LAST_YEAR), rng.randint(1, 12)
        last_day = calendar.monthrange(year, month)[1]
        r = rng.random()
        if r < 0.70:
            start = dt.date(year, month, rng.randint(1, last_day))
            if rng.random() < 0.15:  # a multi-day visit or conference
                end = start + dt.timedelta(days=rng.randint(1, 6))
                return f"{start}/{end}", start, end, "day", False, False
            approximate = rng.random() < 0.03
            return f"{start}{'~' if approximate else ''}", start, start, "day", approximate, False
        if r < 0.90:
            uncertain = rng.random() < 0.02
            edtf = f"{year}-{month:02d}{'?' if uncertain else ''}"
            return edtf, dt.date(year, month, 1), dt.date(year, month, last_day), "month", False, uncertain
        return str(year), dt.date(year, 1, 1), dt.date(year, 12, 31), "year", False, False

    def events(self, start: int, count: int, citations: int) -> dict[str, list[dict[str, Any]]]:
        rng = self.rng
        out: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("events", "participants", "topics", "citations", "locators")
        }
        for number in range(start, start + count):
            event_id = f"ev-{number:07d}"
            actors: dict[str, None] = {}
            if rng.random() < POPULAR_SHARE:
                actors[POPULAR] = None
            if rng.random() < RARE_SHARE:
                actors[RARE] = None
            wanted = rng.randint(1, 4)
            while len(actors) < wanted:
                actors[self.actor_ids[_pick(rng, self.actor_weights)]] = None
            participants = [
                {"event_id": event_id, "actor_id": actor_id, "role": rng.choice(ROLES), "ordinal": ordinal}
                for ordinal, actor_id in enumerate(actors)
            ]
            out["participants"] += participants
            topics = sorted({self.topic_ids[_pick(rng, self.topic_weights)] for _ in range(rng.randint(1, 3))})
            for topic in topics:
                out["topics"].append({"event_id": event_id, "topic_id": topic})
            for footnote in sorted(rng.sample(range(1, citations + 1), rng.randint(1, 3))):
                out["citations"].append({"event_id": event_id, "citation_id": f"cite-{footnote:05d}"})
                self.locator_id += 1
                out["locators"].append(
                    {
                        "id": self.locator_id,
                        "source_id": SOURCE,
                        "section": rng.choice(SECTIONS),
                        "paragraph": rng.randint(1, 40),
                        "footnote": footnote,
                        "event_id": event_id,
                        "agreement_id": None,
                        "office_id": None,
                        "note": None,
                    }
                )
            type_ = self.types[bisect.bisect(self.type_weights, rng.random() * self.type_weights[-1])]
            place, country = rng.choice(PLACES) if rng.random() < 0.85 else (None, None)
            lead = self.actor_names[next(iter(actors))]
            title = f"{lead} {rng.choice(VERBS)} {rng.choice(WORDS)} and {rng.choice(WORDS)}"
            summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 18))).capitalize() + "."
            edtf, date_start, date_end, precision, approximate, uncertain = self.date()
            for participant in participants:  # the importer's denormalised copy of the event's bounds
                participant.update(date_start=date_start, date_end=date_end)
            out["events"].append(
                {
                    "id": event_id,
                    "type": type_,
                    "title": title,
                    "summary": summary,
                    "location_name": place,
                    "location_country": country,
                    "quantity": None,
                    "notes": None,
                    "discrepancies": [],
                    "parent_id": None,
                    **search.event_text(
                        title=title,
                        summary=summary,
                        location=place,
                        notes=None,
                        quotes=[],
                        participants=search.participant_names(
                            [self.actor_names[a], *self.actor_aliases[a]] for a in actors
                        ),
                        topics=[self.topic_labels[t] for t in topics],
                    ).columns(),
                    "date_edtf": edtf,
                    "date_start": date_start,
                    "date_end": date_end,
                    "date_precision": precision,
                    "date_approximate": approximate,
                    "date_uncertain": uncertain,
                }
            )
        return out


def _write(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Core executemany on SQLite; COPY on PostgreSQL (an order of magnitude faster there)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
    cursor = conn.connection.driver_connection.cursor()  # same transaction as `conn`
    with cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in as_json else row[c] for c in columns])


def _progress(total: int, enabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # the smoke test runs without the bench requirements
        enabled = False
    if not enabled:

        class Silent:
            def update(self, _n: int) -> None: ...
            def close(self) -> None: ...

        return Silent()
    return tqdm(total=total, unit="ev", unit_scale=True, desc="events", smoothing=0.1)


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def generate(url: str, events: int, seed: int = 42, progress: bool = True) -> Counts:
    """Migrate `url` (which must be empty) and fill it with `events` synthetic events."""
    upgrade(url)
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:  # bulk-load settings for this connection only; the app sets its own pragmas

        @event.listens_for(engine, "connect")
        def _fast(dbapi_connection: Any, _record: Any) -> None:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
                dbapi_connection.execute(f"PRAGMA {pragma}")

    gen = Generator(seed)
    n_citations = citation_count(events)
    tables = {
        "events": m.Event.__table__,
        "participants": m.EventParticipant.__table__,
        "topics": m.EventTopic.__table__,
        "citations": m.EventCitation.__table__,
        "locators": m.Locator.__table__,
    }
    bar = _progress(events, progress)
    with engine.begin() as conn:
        documents, sections = gen.source()
        _write(conn, m.SourceDocument.__table__, documents)
        _write(conn, m.Section.__table__, sections)
        _write(conn, m.Topic.__table__, gen.topics())
        _write(conn, m.Actor.__table__, gen.actors())
        _write(conn, m.Citation.__table__, gen.citations(n_citations))
        for start, count in _chunks(events, CHUNK):
            rows = gen.events(start, count, n_citations)
            for key, table in tables.items():
                _write(conn, table, rows[key])
            bar.update(count)
        if not sqlite:  # explicit locator ids bypassed the sequence
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('locators', 'id'), (SELECT max(id) FROM locators))")
            )
        _write(
            conn,
            m.DatasetState.__table__,
            [{"id": 1, "version": dataset_version(events, seed), "updated_at": UPDATED_AT}],
        )
    bar.close()
    finish(engine)
    counts = count_rows(engine)
    engine.dispose()
    return counts


def finish(engine: Any) -> None:
    """Statistics for the planner, as an operator would gather after a bulk load (autovacuum does it
    on PostgreSQL within minutes anyway); WAL, as the app would set on first connect."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def count_rows(engine: Any) -> Counts:
    models = {
        "events": m.Event,
        "actors": m.Actor,
        "topics": m.Topic,
        "citations": m.Citation,
        "participants": m.EventParticipant,
        "event_topics": m.EventTopic,
        "event_citations": m.EventCitation,
        "locators": m.Locator,
    }
    with engine.connect() as conn:
        return Counts(**{k: conn.scalar(select(func.count()).select_from(model)) for k, model in models.items()})


def stored_version(url: str) -> str | None:
    """dataset_state.version of an existing database, or None if it is missing or incomplete."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(m.DatasetState.version).where(m.DatasetState.id == 1))
    except Exception:
        return None
    finally:
        engine.dispose()


def sqlite_path(events: int) -> Path:
    return ROOT / "var" / "bench" / f"events-{events}.sqlite3"


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--url", help="empty database URL (default: a new SQLite file under var/bench/)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(list(argv) if argv is not None else None)
    url = args.url
    if url is None:
        path = sqlite_path(args.events)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    started = dt.datetime.now()
    counts = generate(url, args.events, args.seed)
    print(f"{counts} in {(dt.datetime.now() - started).total_seconds():.0f}s -> {url}")


if __name__ == "__main__":
    main()
