"""Deterministic synthetic data for the benchmark, loaded straight into a migrated database.

    python -m bench.generate --events 100000 [--url sqlite:///var/bench/events-100000.sqlite3] [--seed 42]

The shape (see README.md here): ~2,000 actors with Zipf-like popularity plus `actor-popular` (~10% of
events) and `actor-rare` (~0.05%), 60 topics (24 of them sub-topics), one source document with eight
sections, a few thousand citations, and per event 1–4 participants, 1–3 topics and 1–3 citations (each
with its locator), dated 1990–2025 at day/month/year precision with some multi-day intervals.

Rows go in with SQLAlchemy Core `insert()` executemany (SQLite) or COPY (PostgreSQL) in chunks of
`CHUNK` events, all in one transaction. The generator makes records in the bundle form; their rows (search text,
date bounds, participants' copies of them, inferred citations) come from the app's write path (app.curation),
exactly as `dipevents load` and the API derive them, and each record's `create` is logged as `load` logs it (so the
change feed of a generated database replays it); the aggregation tables are then counted by
app.curation.aggregates.rebuild. `dataset_state` is written last, so a half-written database
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

from sqlalchemy import JSON, Connection, Table, create_engine, event, func, select
from sqlalchemy.engine import make_url

from app import models as m
from app.curation import aggregates, rendered
from app.curation.store import DATA_TABLES, bump_version, derive_rows
from app.curation.validate import footnote_index, parents_first
from app.migrate import upgrade
from app.schemas.bundle import (
    ActorIn,
    Bundle,
    CitationIn,
    CslName,
    EventIn,
    LocationIn,
    LocatorIn,
    ParticipantIn,
    SectionIn,
    SourceIn,
    TopicIn,
)

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
SHAPE = 4  # bump when the generated data changes, so stale benchmark databases are regenerated

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
        self.locator_id = 0

    # -- reference data -------------------------------------------------------------------------

    def source(self) -> SourceIn:
        return SourceIn(
            id=SOURCE,
            title="Synthetic diplomatic chronicle",
            series="Benchmarks",
            type="report",
            publisher="dipevents",
            authors=[CslName(literal="dipevents benchmark")],
            issued="2025",
            period="1990/2025",
            language="en",
            description="Generated by bench/generate.py.",
            sections=[SectionIn(key=key, title=key.title(), paragraphs=40) for key in SECTIONS],
        )

    def topics(self) -> list[TopicIn]:
        records = []
        for i, topic_id in enumerate(self.topic_ids):
            # 0–11 roots with children, 12–35 their children, 36–59 standalone
            parent = self.topic_ids[(i - 12) % 12] if 12 <= i < 36 else None
            label = f"{WORDS[(i * 7) % len(WORDS)].title()} {WORDS[(i * 13 + 5) % len(WORDS)]}"
            records.append(TopicIn(id=topic_id, label=label, description=f"Synthetic topic {i}.", parent=parent))
        return records

    def actors(self) -> list[ActorIn]:
        rng, records = self.rng, []
        specials = [(POPULAR, "Popular Envoy", "person"), (RARE, "Rare Emissary", "person")]
        ordinary = [(a, f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(ACTOR_KINDS)) for a in self.actor_ids]
        for actor_id, name, kind in specials + ordinary:
            aliases = [name.split()[-1]] if rng.random() < 0.2 else []
            self.actor_names[actor_id] = name
            records.append(ActorIn(id=actor_id, name=name, kind=kind, aliases=aliases, country=rng.choice(PLACES)[1]))
        return records

    def citations(self, n: int) -> list[CitationIn]:
        rng, records = self.rng, []
        for footnote in range(1, n + 1):
            issued = dt.date(rng.randint(FIRST_YEAR, LAST_YEAR), rng.randint(1, 12), rng.randint(1, 28))
            records.append(
                CitationIn(
                    id=f"cite-{footnote:05d}",
                    source=SOURCE,
                    footnote=footnote,
                    type=rng.choice(["webpage", "article-newspaper", "report"]),
                    title=" ".join(rng.choice(WORDS) for _ in range(6)).capitalize(),
                    publisher=rng.choice(PUBLISHERS),
                    issued=issued.isoformat(),
                    url=f"https://example.org/news/{footnote}",
                )
            )
        return records

    # -- events ---------------------------------------------------------------------------------

    def date(self) -> str:
        """An EDTF date: a day (3% approximate), sometimes a multi-day interval, a month (2% uncertain) or a year."""
        rng = self.rng
        year, month = rng.randint(FIRST_YEAR, LAST_YEAR), rng.randint(1, 12)
        last_day = calendar.monthrange(year, month)[1]
        r = rng.random()
        if r < 0.70:
            start = dt.date(year, month, rng.randint(1, last_day))
            if rng.random() < 0.15:  # a multi-day visit or conference
                end = start + dt.timedelta(days=rng.randint(1, 6))
                return f"{start}/{end}"
            approximate = rng.random() < 0.03
            return f"{start}{'~' if approximate else ''}"
        if r < 0.90:
            uncertain = rng.random() < 0.02
            return f"{year}-{month:02d}{'?' if uncertain else ''}"
        return str(year)

    def events(self, start: int, count: int, citations: int) -> list[EventIn]:
        """Events in bundle form, built without validation (``model_construct``): the generator's own output, and
        validating a million nested models would dominate the run. The rows come from app.curation.derive."""
        rng = self.rng
        records = []
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
            participants = [ParticipantIn.model_construct(actor=a, role=rng.choice(ROLES)) for a in actors]
            topics = sorted({self.topic_ids[_pick(rng, self.topic_weights)] for _ in range(rng.randint(1, 3))})
            locators = [
                LocatorIn.model_construct(
                    source=SOURCE,
                    section=rng.choice(SECTIONS),
                    paragraph=rng.randint(1, 40),
                    footnote=footnote,
                    note=None,
                )
                for footnote in sorted(rng.sample(range(1, citations + 1), rng.randint(1, 3)))
            ]
            type_ = self.types[bisect.bisect(self.type_weights, rng.random() * self.type_weights[-1])]
            place, country = rng.choice(PLACES) if rng.random() < 0.85 else (None, None)
            lead = self.actor_names[next(iter(actors))]
            title = f"{lead} {rng.choice(VERBS)} {rng.choice(WORDS)} and {rng.choice(WORDS)}"
            summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 18))).capitalize() + "."
            records.append(
                EventIn.model_construct(
                    id=event_id,
                    type=type_,
                    title=title,
                    summary=summary,
                    date=self.date(),
                    location=LocationIn.model_construct(name=place, country=country) if place else None,
                    participants=participants,
                    topics=topics,
                    locators=locators,
                    parent=None,
                    related=[],
                    quantity=None,
                    notes=None,
                    discrepancies=[],
                    quotes=[],
                )
            )
        return records


def _write_rows(conn: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    for table in DATA_TABLES:
        _write(conn, table, rows.get(table.name, []))


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


def _log_creates(conn: Connection, kind: str, records: list[Any], version: str) -> None:
    """One `create` change per record, with its document, in the order written (parents first), as `dipevents load`
    records a bulk import (app.curation.store.import_records): the change feed of a generated database replays it.
    All in the one commit, so all at the one dataset version; the author is the generator, not an API key."""
    ordered = parents_first(records) if kind in ("topics", "events") else records
    rows = [
        {
            "resource": kind,
            "record_id": r.id,
            "op": "create",
            "after": r.model_dump(mode="json"),
            "author": "bench.generate",
            "at": UPDATED_AT,
            "dataset_version": version,
        }
        for r in ordered
    ]  # the columns left out (before, previous_id, replaced_by, key_id, reason) are NULL
    _write(conn, m.Change.__table__, rows)  # type: ignore[arg-type]


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
    bar = _progress(events, progress)
    version = dataset_version(events, seed)
    with engine.begin() as conn:
        # Reference data first, then events in chunks: rows derived by the app's write path (app.curation.store,
        # app.curation.derive), written here with COPY, each record's change logged as `dipevents load` logs it.
        source, topics, actors, citations = gen.source(), gen.topics(), gen.actors(), gen.citations(n_citations)
        bundle = Bundle.model_construct(None, sources=[source], citations=citations, topics=topics, actors=actors)
        footnotes = footnote_index(bundle, None)
        for kind, records in (("sources", [source]), ("citations", citations), ("topics", topics), ("actors", actors)):
            _write_rows(conn, derive_rows(kind, records, footnotes))
            _log_creates(conn, kind, records, version)
        for start, count in _chunks(events, CHUNK):
            records = gen.events(start, count, n_citations)
            _write_rows(conn, derive_rows("events", records, footnotes))
            _log_creates(conn, "events", records, version)
            bar.update(count)
        # The aggregation tables, counted once from the loaded rows by the write path's own recomputation.
        aggregates.rebuild(conn)
        rendered.rebuild(conn)  # each event's stored document, rendered by the write path's own statement
        bump_version(conn, "", fresh=True, version=version, at=UPDATED_AT)
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
