"""Rules of evidence, second pass: no date, role, amount, citation or flag claims more than the brief says.

Each test guards one kind of over-claim found by the audit of issue 17, over the whole bundle:

1. interval bounds taken from sentence order in a paragraph that is not chronological;
2. inferred dates stored without the EDTF uncertainty marker;
3. citations derived from a locator that only points at context;
4. amount qualifiers that claim more precision than the source's wording;
5. facts known only from outside the brief that contradict it without a flag;
6. discrepancies that record a contradiction the brief does not contain;

and the smaller kinds the issue lists: publishers recorded as participants, people the text makes the
addressee left out, prose that states a date the brief never gives, and attested office spans that ignore
earlier mentions.

The tests read the brief itself (``../shared/seeds``) and split it into sections, paragraphs and sentences.
Locators name a paragraph only, so ``REPORTED_IN`` below says, for every event, which sentence of that
paragraph reports it and which date expression (if any) that sentence gives *for this event*. It is the
audit's reading of the brief, written down once; the tests check every stored date, bound, citation and
flag against it. A new event without an entry fails ``test_every_event_is_mapped_to_its_sentence``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import pytest

from app.dates import DateSpan, parse_edtf
from app.importers.bundle import read_bundle
from tests.helpers import DATA, SHARED

SEED = SHARED / "seeds" / "000_f2abaf40c4b61f5c.txt"
pytestmark = pytest.mark.skipif(not SEED.exists(), reason="the source brief (../shared/seeds) is not on this machine")

SOURCE = "ips-pakistan-us-relations-2018-2020"

# event id, or "agreement-id:milestone-kind" for a milestone with no event ->
#   (section, paragraph, sentence number in the paragraph (1-based), the date the sentence gives for it)
# The date is None when the sentence gives none for this record (it may give dates for other records), one
# expression when it gives one, or (lower, upper) when the record lies between two expressions.
REPORTED_IN: dict[str, tuple[str, int, int, str | tuple[str, str] | None]] = {
    # introduction ¶1
    "us-suspends-security-assistance-2018-01": ("introduction", 1, 5, None),
    "imf-approves-bailout-2019-07": ("introduction", 1, 5, "July 2019"),
    "wells-voices-cpec-reservations-2019-11-21": ("introduction", 1, 5, None),
    # high-level visits ¶1
    "pompeo-visits-pakistan-2018-09": ("high-level-visits", 1, 2, "September 2018"),
    "dunford-visits-pakistan-2018-09": ("high-level-visits", 1, 2, "September 2018"),
    "hale-visits-pakistan-2018-09": ("high-level-visits", 1, 2, "September 2018"),
    "pakistan-seeks-sustainable-ties-2018-09": ("high-level-visits", 1, 3, None),
    "pompeo-requests-pakistan-cooperation-2018-09": ("high-level-visits", 1, 4, None),
    "pakistan-commits-afghan-peace-facilitation-2018-09": ("high-level-visits", 1, 4, None),
    # high-level visits ¶2
    "khan-trump-summit-2019-07-22": ("high-level-visits", 2, 1, "July 2, 2019"),
    "khan-visits-washington-2019-07": ("high-level-visits", 2, 2, "July 21-23, 2019"),
    "india-changes-jammu-kashmir-status-2019-08": ("high-level-visits", 2, 2, None),
    "trump-requests-afghan-peace-support-2019-07-22": ("high-level-visits", 2, 3, None),
    "khan-reaffirms-afghan-political-solution-2019-07-22": ("high-level-visits", 2, 3, None),
    "khan-statement-kashmir-dialogue-2019-07-22": ("high-level-visits", 2, 4, None),
    "trump-offers-kashmir-mediation-2019-07-22": ("high-level-visits", 2, 5, None),
    "india-mea-denies-modi-mediation-request-2019-07": ("high-level-visits", 2, 6, None),
    # high-level visits ¶3
    "khan-leads-delegation-unga-2019-09": ("high-level-visits", 3, 1, "September 2019"),
    "trump-offers-kashmir-mediation-2019-09": ("high-level-visits", 3, 2, None),
    "khan-trump-meeting-davos-2020-01-21": ("high-level-visits", 3, 3, "January 21, 2020"),
    "khan-requests-us-role-kashmir-2020-01-21": ("high-level-visits", 3, 4, None),
    "trump-reiterates-kashmir-mediation-2020-01-21": ("high-level-visits", 3, 5, None),
    # high-level visits ¶4
    "khalilzad-visits-pakistan-2018-2020": ("high-level-visits", 4, 1, None),
    "qureshi-visits-new-york-2020-01-15": ("high-level-visits", 4, 2, "January 15, 2020"),
    "qureshi-visits-washington-2020-01": ("high-level-visits", 4, 2, "January 16-17, 2020"),
    # the briefing is in the same sentence as both stops and is not placed in either
    "qureshi-briefs-us-officials-2020-01": ("high-level-visits", 4, 2, ("January 15, 2020", "January 16-17, 2020")),
    # other developments ¶1
    "us-approves-f16-support-2019-07": ("other-developments", 1, 1, "July 2019"),
    "us-pakistan-lift-diplomat-travel-restrictions-2019-08": ("other-developments", 1, 2, "August 2019"),
    "us-reinstates-imet-2020-01": ("other-developments", 1, 3, "January 2020"),
    "us-suspends-imet-2018": ("other-developments", 1, 4, "2018"),
    # the same sentence dates the suspension, not the signing
    "pakistan-russia-military-training-agreement-2018": ("other-developments", 1, 4, None),
    "us-pakistan-agree-defence-dialogue": ("other-developments", 1, 5, None),
    "defence-dialogue-first-meeting-2021-01-07": ("other-developments", 1, 6, "January 7, 2021"),
    "us-security-assistance-suspension-pakistan:in_effect_as_of": ("other-developments", 1, 7, None),
}

# Facts the brief does not give but the general public record does, which bear on its records. A record they
# contradict must carry a discrepancy with a reading attributed to the general public record.
GENERAL_RECORD = [
    # The US-Taliban agreement was signed at the end of February 2020: a record before then that speaks of
    # "the deal" as something to facilitate or support is the brief's wording, not a deal that existed.
    {"topic": "us-taliban-peace-deal", "before": dt.date(2020, 2, 29)},
    # Trump took office on 20 January 2017; the brief says he assumed power in 2016.
    {"office": "donald-trump-president-of-the-united-states", "field": "start", "date": "2017-01-20"},
]
GENERAL = "general public record"

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
ORDER_RELATIONS = {"follows", "responds_to", "contradicts", "reiterates"}  # the record is after the one named


# ------------------------------------------------------------------------------------------ the brief


@dataclass(frozen=True)
class Sentence:
    text: str
    footnotes: tuple[int, ...]  # markers in the sentence
    dates: tuple[DateSpan, ...]  # date expressions in the sentence, in order


@dataclass(frozen=True)
class Brief:
    paragraphs: dict[tuple[str, int], tuple[Sentence, ...]]
    footnotes: dict[int, str]

    def sentence(self, section: str, paragraph: int, number: int) -> Sentence:
        return self.paragraphs[(section, paragraph)][number - 1]


SECTION_HEADINGS = {
    "Pakistan-US Relations": "introduction",
    "Chronology": None,
    "(1) High-Level Visits": "high-level-visits",
    "(2) Other Developments/Defense Cooperation": "other-developments",
    "Analysis": "analysis",
}


def date_expressions(text: str) -> list[tuple[int, DateSpan]]:
    """Dates the text states, with their position: day ranges, days, months and bare years."""
    found: list[tuple[int, int, DateSpan]] = []

    def add(match: re.Match, edtf: str) -> None:
        if not any(s <= match.start() < e for s, e, _ in found):
            found.append((match.start(), match.end(), parse_edtf(edtf)))

    def month(name: str) -> int:
        return dt.datetime.strptime(name, "%B").month

    for m in re.finditer(rf"({MONTHS}) (\d{{1,2}})-(\d{{1,2}}), (\d{{4}})", text):
        y, mo = int(m[4]), month(m[1])
        add(m, f"{y:04}-{mo:02}-{int(m[2]):02}/{y:04}-{mo:02}-{int(m[3]):02}")
    for m in re.finditer(rf"({MONTHS}) (\d{{1,2}}), (\d{{4}})", text):
        add(m, f"{int(m[3]):04}-{month(m[1]):02}-{int(m[2]):02}")
    for m in re.finditer(rf"(\d{{1,2}}) ({MONTHS}) (\d{{4}})", text):
        add(m, f"{int(m[3]):04}-{month(m[2]):02}-{int(m[1]):02}")
    for m in re.finditer(r"\b(\d{4})-(\d{2})-(\d{2})\b", text):
        add(m, m[0])
    for m in re.finditer(rf"({MONTHS}) (\d{{4}})", text):
        add(m, f"{int(m[2]):04}-{month(m[1]):02}")
    for m in re.finditer(r"\b(\d{4})-(\d{2})\b", text):
        add(m, m[0])
    for m in re.finditer(r"(?<![\d$.,])(19\d\d|20\d\d)(?![\d,])", text):
        add(m, m[1])
    return [(start, span) for start, _, span in sorted(found, key=lambda f: f[0])]


def split_sentences(paragraph: str) -> tuple[Sentence, ...]:
    # A sentence ends at . ? or ! (a closing quote and footnote markers stay with it) before a capital or quote.
    ends = [m.end() for m in re.finditer(r"[.?!][\"”]?(?:<sup>\d+</sup>)*(?=\s+[\"“A-Z])", paragraph)]
    pieces, start = [], 0
    for end in [*ends, len(paragraph)]:
        piece = paragraph[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    return tuple(
        Sentence(
            text=p,
            footnotes=tuple(int(n) for n in re.findall(r"<sup>(\d+)</sup>", p)),
            dates=tuple(span for _, span in date_expressions(re.sub(r"<sup>\d+</sup>", "", p))),
        )
        for p in pieces
    )


@lru_cache
def brief() -> Brief:
    section: str | None = None
    blocks: dict[str, list[str]] = {}
    footnotes: dict[int, str] = {}
    for block in re.split(r"\n\s*\n", SEED.read_text()):
        block = " ".join(line.strip() for line in block.strip().splitlines())
        if not block:
            continue
        heading = re.match(r"^#+\s*(.*)$", block)
        if heading:
            if heading[1] in SECTION_HEADINGS:
                section = SECTION_HEADINGS[heading[1]]
            continue
        note = re.match(r"^<sup>(\d+)</sup>\s*(.*)$", block)
        if note:
            footnotes[int(note[1])] = note[2]
            continue
        if block.startswith("Prepared by:"):
            section = "credits"
        if section is None or block in ("Prepared by:", "For queries:"):
            continue
        paragraphs = blocks.setdefault(section, [])
        # A paragraph broken by a page's footnote block continues in lower case.
        if paragraphs and block[0].islower() and not re.search(r"[.?!:][\"”]?(?:<sup>\d+</sup>)*$", paragraphs[-1]):
            paragraphs[-1] += " " + block
        else:
            paragraphs.append(block)
    return Brief(
        paragraphs={(s, i): split_sentences(p) for s, ps in blocks.items() for i, p in enumerate(ps, start=1)},
        footnotes=footnotes,
    )


def covering_footnotes(section: str, paragraph: int, number: int) -> set[int]:
    """Footnotes that source a sentence: its own markers, or else, for a sentence that states no date, the
    next marker in the paragraph unless a sentence stating a date comes first (a marker closing a run of
    undated sentences covers the run)."""
    sentences = brief().paragraphs[(section, paragraph)]
    own = sentences[number - 1]
    if own.footnotes:
        return set(own.footnotes)
    if own.dates:
        return set()
    for later in sentences[number:]:
        if later.footnotes:
            return set(later.footnotes)
        if later.dates:
            return set()
    return set()


def test_the_brief_splits_as_the_source_record_describes_it():
    b = brief()
    source = next(s for s in bundle().sources if s.id == SOURCE)
    for section in source.sections:
        found = max((p for s, p in b.paragraphs if s == section.key), default=0)
        assert found == section.paragraphs, section.key
    assert sorted(b.footnotes) == list(range(1, 9))
    # spot checks on the splitter: the paragraph broken by footnotes 1-4 is one paragraph
    assert len(b.paragraphs[("high-level-visits", 2)]) == 6
    assert b.sentence("introduction", 1, 5).footnotes == (1, 2, 3, 4)
    assert covering_footnotes("high-level-visits", 2, 3) == {5}
    assert covering_footnotes("high-level-visits", 3, 2) == set()
    assert covering_footnotes("other-developments", 1, 6) == set()


# ------------------------------------------------------------------------------------------ the bundle


@lru_cache
def bundle():
    return read_bundle(DATA).bundle


@lru_cache
def events():
    return {e.id: e for e in bundle().events}


@lru_cache
def citation_by_footnote():
    return {c.footnote: c for c in bundle().citations if c.source == SOURCE}


def period() -> DateSpan:
    source = next(s for s in bundle().sources if s.id == SOURCE)
    return parse_edtf(source.period)


def parse_stated(text: str) -> DateSpan:
    spans = [span for _, span in date_expressions(text)]
    assert len(spans) == 1, f"{text!r} is not one date expression"
    return spans[0]


@dataclass
class Dated:
    """One stored date with everything that may justify it."""

    label: str
    date: str
    evidence_key: str
    locators: list
    parent: str | None
    after: list[str]  # records this one is after (by an ordering relation in either record)
    before: list[str]  # records this one is before
    readings: list[str]  # reading values of discrepancies on this date
    is_event: bool


def ordering(event_id: str) -> tuple[list[str], list[str]]:
    after = [r.event for r in events()[event_id].related if r.relation in ORDER_RELATIONS]
    before = [e.id for e in bundle().events for r in e.related if r.event == event_id and r.relation in ORDER_RELATIONS]
    return after, before


def dated_records() -> list[Dated]:
    records = []
    for e in bundle().events:
        after, before = ordering(e.id)
        readings = [r.value for d in e.discrepancies if d.field == "date" for r in d.readings]
        records.append(Dated(e.id, e.date, e.id, e.locators, e.parent, after, before, readings, True))
    for a in bundle().agreements:
        for m in a.milestones:
            readings = [r.value for d in a.discrepancies if d.field == f"milestones.{m.kind}" for r in d.readings]
            if m.event:
                e = events()[m.event]
                after, before = ordering(e.id)
                label = f"{a.id} milestone {m.kind}"
                records.append(Dated(label, m.date, e.id, e.locators, e.parent, after, before, readings, False))
            else:
                key = f"{a.id}:{m.kind}"
                label = f"{a.id} milestone {m.kind}"
                records.append(Dated(label, m.date, key, a.locators, None, [], [], readings, False))
    return records


def parts(date: str) -> list[tuple[str, str]]:
    """(part, which) for each end of a date: a single date is both the lower and the upper bound."""
    if "/" in date:
        lower, upper = date.split("/")
        return [(lower, "lower"), (upper, "upper")]
    return [(date, "both")]


def marked(part: str) -> bool:
    span = parse_edtf(part)
    return span.uncertain or span.approximate


def bound(span: DateSpan, which: str) -> dt.date | None:
    return span.start if which == "lower" else span.end


def same_bound(part: DateSpan, other: DateSpan, which: str) -> bool:
    """The part's ``which`` ("lower"/"upper") bound is the other date's, at the part's precision or a coarser one."""
    mine, theirs = bound(part, which), bound(other, which)
    if mine is None or theirs is None:
        return False
    coarser = {"day": 0, "month": 1, "year": 2}
    return coarser[part.precision] >= coarser[other.precision] and part.start <= theirs <= part.end


def stated_for(record: Dated) -> tuple[DateSpan | None, DateSpan | None]:
    _section, _paragraph, _number, stated = REPORTED_IN[record.evidence_key]
    if stated is None:
        return None, None
    lower, upper = (stated, stated) if isinstance(stated, str) else stated
    return parse_stated(lower), parse_stated(upper)


def direct(record: Dated, part: str, end: str) -> str | None:
    """How the brief or a footnote directly states this end ("lower" or "upper") of the date, or None."""
    span = parse_edtf(part)
    stated = stated_for(record)[0 if end == "lower" else 1]
    if stated is not None and same_bound(span, stated, end):
        return "stated in its sentence"
    section, paragraph, number, _ = REPORTED_IN[record.evidence_key]
    located = {loc.footnote for loc in record.locators if loc.footnote is not None}
    for n in sorted(covering_footnotes(section, paragraph, number) & located):
        issued = citation_by_footnote()[n].issued
        if issued and same_bound(span, parse_edtf(issued), end):
            return f"the date of footnote {n}, which sources its sentence"
    for value in record.readings:
        if value.split(" ")[0].rstrip("?~") == part.rstrip("?~"):
            return "a reading of its recorded date discrepancy"
    return None


def related_bound(record: Dated, part: str, end: str, *, certain_only: bool) -> str | None:
    """This end of the date is the matching end of a record known to come before (lower) or after (upper)."""
    span = parse_edtf(part)
    others = record.after if end == "lower" else record.before
    for other in others:
        theirs = events()[other].date.split("/")[0 if end == "lower" else -1]
        if (not certain_only or not marked(theirs)) and same_bound(span, parse_edtf(theirs), end):
            return f"{'after' if end == 'lower' else 'before'} {other}"
    return None


def justified_bound(record: Dated, part: str, end: str) -> str | None:
    """Any evidence for one bound ("lower" or "upper") of a stored date; None if there is none."""
    if part in ("", ".."):
        return None if record.is_event else "open"  # an event needs a known earliest day (bundle schema)
    span = parse_edtf(part)
    reason = direct(record, part, end)
    if reason:
        return reason
    if record.parent and same_bound(span, events()[record.parent].span, end):
        return f"its parent {record.parent}"
    reason = related_bound(record, part, end, certain_only=False)
    if reason:
        return reason
    if record.is_event and marked(part) and same_bound(span, period(), end):
        return "the period the brief covers, marked uncertain (an event needs a known earliest day)"
    section, paragraph, number, _ = REPORTED_IN[record.evidence_key]
    sentences = brief().paragraphs[(section, paragraph)]
    sentence = sentences[number - 1]
    offset = re.search(r"\b\w+ (?:days?|weeks?|months?) (?:before|after|later|earlier)\b", sentence.text)
    if span.approximate and offset:
        return "an offset its sentence states, marked approximate"
    if marked(part):
        # Context: a sentence with no date of its own, in a paragraph whose dates run in order, read as
        # belonging to the dated sentence before it. Never in a paragraph that goes back in time.
        starts = [d.start for s in sentences for d in s.dates]
        previous = next((s for s in reversed(sentences[: number - 1]) if s.dates), None)
        if starts == sorted(starts) and previous and any(same_bound(span, d, end) for d in previous.dates):
            return "the dated sentence before it in a paragraph that runs in order, marked uncertain"
    return None


# ------------------------------------------------------------------------------------------ the tests


def test_every_event_is_mapped_to_its_sentence():
    keys = {e.id for e in bundle().events} | {
        f"{a.id}:{m.kind}" for a in bundle().agreements for m in a.milestones if not m.event
    }
    assert keys == set(REPORTED_IN), "REPORTED_IN must name the sentence of every event (and event-less milestone)"
    for key, (section, paragraph, number, stated) in REPORTED_IN.items():
        record = events().get(key) or next(a for a in bundle().agreements if a.id == key.split(":")[0])
        assert any(loc.section == section and loc.paragraph == paragraph for loc in record.locators), key
        sentence = brief().sentence(section, paragraph, number)
        for expression in [stated] if isinstance(stated, str) else list(stated or ()):
            assert expression in sentence.text, f"{key}: {expression!r} is not in its sentence"


def test_bounds_are_not_taken_from_sentence_order():
    """Kind 1. Every bound of every stored date has evidence: the record's own sentence or footnote, its
    parent, a record it is known to follow or precede, the brief's period (events only: they need a known
    earliest day), an offset its sentence states, or a dated sentence just before it in a paragraph that runs
    in order. Where the brief gives only an upper limit, a milestone's start is open (``..``)."""
    problems = []
    for record in dated_records():
        for part, which in parts(record.date):
            for end in ["lower", "upper"] if which == "both" else [which]:
                if not justified_bound(record, part, end):
                    problems.append(f"{record.label}: the {end} bound of {record.date!r} has no evidence")
    assert not problems, "\n".join(problems)


def test_inferred_dates_are_marked_uncertain():
    """Kind 2. A date (or interval end) with no direct statement for this record, in its own sentence, a
    footnote that sources that sentence, or a reading of a recorded date discrepancy, carries ``?`` or
    ``~``. An interval end may also be the certain date of a record it is known to follow or precede."""
    problems = []
    for record in dated_records():
        for part, which in parts(record.date):
            if part in ("", "..") or marked(part):
                continue
            ends = ["lower", "upper"] if which == "both" else [which]
            if all(direct(record, part, end) for end in ends):
                continue
            if which != "both" and related_bound(record, part, which, certain_only=True):
                continue
            problems.append(f"{record.label}: {part!r} is inferred but not marked uncertain")
    assert not problems, "\n".join(problems)


STOPWORDS = {
    # function words, and words every title of this bilateral brief shares
    "the",
    "and",
    "for",
    "with",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "from",
    "its",
    "his",
    "her",
    "their",
    "a",
    "an",
    "as",
    "than",
    "least",
    "more",
    "about",
    "over",
    "into",
    "each",
    "other",
    "again",
    "once",
    "says",
    "holds",
    "meets",
    "meet",
    "agrees",
    "united",
    "states",
    "america",
    "american",
    "washington",
    "pakistan",
    "pakistani",
    "islamabad",
    "islamic",
    "republic",
    "prime",
    "minister",
    "president",
    "secretary",
    "state",
    "ambassador",
    "remarks",
    "program",
    "programme",
    "million",
    "billion",
    "official",
    "officials",
}


def stems(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {w[:5] for w in words if len(w) >= 3 and w not in STOPWORDS}


@lru_cache
def actors():
    return {a.id: a for a in bundle().actors}


@lru_cache
def topics():
    return {t.id: t for t in bundle().topics}


def vocabulary(title: str, topic_ids, actor_ids) -> set[str]:
    words = stems(title)
    for t in topic_ids:
        words |= stems(topics()[t].label)
    for a in actor_ids:
        words |= stems(" ".join([actors()[a].name, *actors()[a].aliases]))
    return words


def footnotes_of(locators) -> set[int]:
    return {loc.footnote for loc in locators if loc.source == SOURCE and loc.footnote is not None}


def test_citations_are_sources_for_the_fact():
    """Kind 3. A record's citations are derived from its locators' footnotes, so a locator that only points
    at context must not carry one. Every event citation must be dated no earlier than the event could have
    happened and be about the same thing (its title shares a word with the event's title, topics or
    participants); an agreement's citation must be about the agreement, be cited by one of its events, or
    source the sentence one of its milestones comes from."""
    problems = []
    for e in bundle().events:
        words = vocabulary(e.title, e.topics, [p.actor for p in e.participants])
        for n in sorted(footnotes_of(e.locators)):
            c = citation_by_footnote()[n]
            if c.issued and parse_edtf(c.issued).end < e.span.start:
                problems.append(f"{e.id}: footnote {n} ({c.issued}) predates the event ({e.date})")
            if not stems(c.title) & words:
                problems.append(f"{e.id}: footnote {n} ({c.title!r}) is not about this event")
    for a in bundle().agreements:
        words = vocabulary(a.title, a.topics, [p.actor for p in a.parties])
        by_events = set().union(*(footnotes_of(events()[e].locators) for e in a.events))
        by_milestones = set()
        for m in a.milestones:
            section, paragraph, number, _ = REPORTED_IN[m.event or f"{a.id}:{m.kind}"]
            by_milestones |= covering_footnotes(section, paragraph, number)
        for n in sorted(footnotes_of(a.locators)):
            c = citation_by_footnote()[n]
            if not (stems(c.title) & words or n in by_events or n in by_milestones):
                problems.append(f"{a.id}: footnote {n} ({c.title!r}) supports none of its facts")
    assert not problems, "\n".join(problems)


QUALIFIER_WORDS = {
    "at least": "at_least", "more than": "at_least", "over": "at_least",
    "about": "about", "around": "about", "approximately": "about", "nearly": "about", "some": "about",
    "roughly": "about", "exactly": "exact",
    "up to": "no qualifier in the vocabulary says 'up to'",
}  # fmt: skip
MULTIPLIERS = {None: 1, "thousand": 10**3, "million": 10**6, "billion": 10**9}


def figures(text: str) -> list[tuple[Decimal, str | None]]:
    """Dollar figures in a text with the qualifier the text puts before them (None: a bare figure)."""
    words = "|".join(sorted(QUALIFIER_WORDS, key=len, reverse=True))
    found = []
    pattern = rf"(?:\b({words})\s+)?\$\s?(\d+(?:\.\d+)?)\s*(thousand|million|billion)?\b"
    for m in re.finditer(pattern, text.replace("\\$", "$")):
        found.append((Decimal(m[2]) * MULTIPLIERS[m[3]], QUALIFIER_WORDS.get(m[1]) if m[1] else None))
    return found


def test_amount_qualifiers_say_what_the_source_says():
    """Kind 4. An amount is one the brief or a cited footnote gives, and its qualifier is the source's own
    wording: "at least" and the like, "about" and the like, "exact" only for "exactly"; a bare figure, round
    as they usually are, has no qualifier."""
    assert figures("at least $900 million; $6 billion; \\$125 million") == [
        (Decimal(900_000_000), "at_least"), (Decimal(6_000_000_000), None), (Decimal(125_000_000), None)
    ]  # fmt: skip
    problems = []
    for a in bundle().agreements:
        if a.amount is None:
            continue
        texts = []
        for loc in a.locators:
            paragraph = brief().paragraphs.get((loc.section, loc.paragraph), ())
            texts.append(" ".join(s.text for s in paragraph))
            if loc.footnote is not None:
                texts.append(citation_by_footnote()[loc.footnote].title)
        given = [(value, q) for t in texts for value, q in figures(t) if value == a.amount and a.currency == "USD"]
        if not given:
            problems.append(f"{a.id}: {a.amount} {a.currency} is not a figure its sources give")
        elif a.amount_qualifier not in {q for _, q in given}:
            wanted = sorted({str(q) for _, q in given})
            problems.append(f"{a.id}: qualifier {a.amount_qualifier!r}, but its sources word the figure as {wanted}")
    assert not problems, "\n".join(problems)


def general_readings(discrepancies, field: str | None = None) -> list:
    return [
        r for d in discrepancies if field is None or d.field == field for r in d.readings if r.per.startswith(GENERAL)
    ]


def test_what_only_the_general_record_says_is_flagged():
    """Kind 5. Where the general public record contradicts or dates what the brief says (``GENERAL_RECORD``),
    every record concerned carries a discrepancy with a reading attributed to it; such a reading always says
    it is not in the brief or its sources. The general record never becomes a milestone: the dated-record
    tests above require every milestone to rest on the brief."""
    problems = []
    offices = {o.id: o for a in bundle().actors for o in a.offices}
    for fact in GENERAL_RECORD:
        if "topic" in fact:
            for e in bundle().events:
                if fact["topic"] in e.topics and e.span.end < fact["before"] and not general_readings(e.discrepancies):
                    problems.append(f"{e.id}: speaks of {fact['topic']} before {fact['before']} without a flag")
        else:
            office = offices[fact["office"]]
            value, known = getattr(office, fact["field"]), parse_edtf(fact["date"])
            contradicts = value and not parse_edtf(value).overlaps(known.start, known.end)
            if contradicts and not general_readings(office.discrepancies, fact["field"]):
                problems.append(f"{office.id}: {fact['field']} {value} contradicts {fact['date']} without a flag")
    everything = (
        [(e.id, e.discrepancies) for e in bundle().events]
        + [(a.id, a.discrepancies) for a in bundle().agreements]
        + [(o.id, o.discrepancies) for o in offices.values()]
    )
    for record, discrepancies in everything:
        for d in discrepancies:
            for r in d.readings:
                if "general" in r.per.lower() and not (
                    r.per.startswith(GENERAL) and "not in the brief or its sources" in r.per
                ):
                    problems.append(f"{record}: reading per {r.per!r} must say it is the general record, not the brief")
    assert not problems, "\n".join(problems)


DATE_FIELDS = {"date", "start", "end", "attested"}


def reading_date(value: str) -> DateSpan | None:
    try:
        return parse_edtf(value.split(" ")[0].rstrip(",;"))
    except ValueError:
        return None


def test_discrepancies_record_a_disagreement_the_sources_contain():
    """Kind 6. A discrepancy records that two sources disagree, so: its readings come from at least two
    sources (the brief, a footnote, the general public record); a reading attributed to the brief names a
    paragraph that exists, and a footnote it relies on must source the record's sentence; on a date field
    every reading is a date, the brief's readings are dates its paragraph states, a footnote's reading is the
    footnote's date, and at least two readings cannot both be true. What the brief does not say (a framing, a
    silence, a marker on another sentence) is a note, not a discrepancy."""
    problems = []
    everything = (
        [(e.id, e.id, e.discrepancies) for e in bundle().events]
        + [(a.id, None, a.discrepancies) for a in bundle().agreements]
        + [(o.id, None, o.discrepancies) for a in bundle().actors for o in a.offices]
    )
    for record, event_id, discrepancies in everything:
        for d in discrepancies:
            where = f"{record} discrepancy on {d.field}"
            sources = set()
            spans = []
            for r in d.readings:
                brief_ref = re.match(r"^brief, ([a-z-]+) ¶(\d+)", r.per)
                footnote_ref = re.match(r"^footnote (\d+)\b", r.per)
                if brief_ref:
                    sources.add("brief")
                    key = (brief_ref[1], int(brief_ref[2]))
                    if key not in brief().paragraphs:
                        problems.append(f"{where}: the brief has no paragraph {key}")
                        continue
                    for n in map(int, re.findall(r"footnote (\d+)", r.value)):
                        if event_id and n not in covering_footnotes(*REPORTED_IN[event_id][:3]):
                            problems.append(f"{where}: the brief does not attach footnote {n} to its sentence")
                elif footnote_ref:
                    sources.add(f"footnote {footnote_ref[1]}")
                elif r.per.startswith(GENERAL):
                    sources.add(GENERAL)
                else:
                    problems.append(f"{where}: reading per {r.per!r} names no source")
                if d.field in DATE_FIELDS or d.field.startswith("milestones."):
                    span = reading_date(r.value)
                    if span is None:
                        problems.append(f"{where}: reading {r.value!r} is not a date")
                        continue
                    spans.append(span)
                    if brief_ref and key in brief().paragraphs:
                        stated = [x for s in brief().paragraphs[key] for x in s.dates]
                        if not any((x.start, x.end) == (span.start, span.end) for x in stated):
                            problems.append(f"{where}: the brief's paragraph {key} does not state {r.value!r}")
                    if footnote_ref:
                        issued = parse_edtf(citation_by_footnote()[int(footnote_ref[1])].issued)
                        if not (same_bound(span, issued, "lower") and same_bound(span, issued, "upper")):
                            problems.append(f"{where}: footnote {footnote_ref[1]} is not dated {r.value!r}")
            if len(sources) < 2:
                problems.append(f"{where}: all its readings come from {sources}")
            if spans and not any(not a.overlaps(b.start, b.end) for i, a in enumerate(spans) for b in spans[i + 1 :]):
                problems.append(f"{where}: its dates do not disagree")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ the smaller kinds the issue lists


def normalised(name: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", name.lower()))


def mentioned(actor_id: str, text: str) -> bool:
    actor = actors()[actor_id]
    plain = f" {normalised(re.sub(r'<sup>.*?</sup>', ' ', text))} "
    return any(f" {normalised(n)} " in plain for n in [actor.name, *actor.aliases])


def test_a_publisher_is_not_a_participant():
    """A body that only published a source (a footnote's publisher, or the brief's) takes part in an event
    only if the brief's sentence for that event names it."""
    publishers = {normalised(c.publisher) for c in bundle().citations if c.publisher}
    publishers |= {normalised(s.publisher) for s in bundle().sources if s.publisher}
    problems = []
    for e in bundle().events:
        sentence = brief().sentence(*REPORTED_IN[e.id][:3])
        for p in e.participants:
            actor = actors()[p.actor]
            published = {normalised(n) for n in [actor.name, *actor.aliases]} & publishers
            if published and not mentioned(p.actor, sentence.text):
                problems.append(f"{e.id}: {p.actor} ({p.role}) only published a source; the brief does not name it")
    assert not problems, "\n".join(problems)


SPEAKING_ROLES = {"requester", "speaker", "mediator"}


def test_whoever_a_record_answers_is_its_addressee():
    """Where the text makes one record the answer to another ("on X's request, Y ..."), the person who made
    the request or statement answered is an addressee of the answer."""
    problems = []
    for e in bundle().events:
        addressees = {p.actor for p in e.participants if p.role == "addressee"}
        for r in e.related:
            if r.relation != "responds_to":
                continue
            for p in events()[r.event].participants:
                if p.role in SPEAKING_ROLES and actors()[p.actor].kind == "person" and p.actor not in addressees:
                    problems.append(f"{e.id} answers {r.event} but {p.actor} is not among its addressees")
    assert not problems, "\n".join(problems)


def mentions_allowed(prose: str, allowed: list[DateSpan]) -> list[str]:
    """Date mentions in our prose that none of the allowed dates states (at the mention's precision)."""
    return [
        prose[at : at + 20]
        for at, span in date_expressions(prose)
        if not any(same_bound(span, x, "lower") for x in allowed)
    ]


def stated_near(event_id: str) -> list[DateSpan]:
    """Dates the brief states in an event's own sentence, and the dates of its cited footnotes."""
    e = events()[event_id]
    spans = list(brief().sentence(*REPORTED_IN[event_id][:3]).dates)
    spans += [parse_edtf(citation_by_footnote()[n].issued) for n in footnotes_of(e.locators)]
    return spans


def test_prose_states_no_date_the_brief_does_not():
    """A topic description, an assessment or a summary may state only a date the brief states where it says
    so: for an assessment, in its paragraph or footnote (or the period the brief covers); for a topic, in the
    sentence or footnotes of one of its records; for an event, in its own sentence or footnotes or those of
    its parent and related records; for an agreement, in those of its events and milestones."""
    problems = []
    source = next(s for s in bundle().sources if s.id == SOURCE)
    for a in source.assessments:
        allowed = [x for s in brief().paragraphs[(a.section, a.paragraph)] for x in s.dates] + [period()]
        allowed += [parse_stated(source.period.split("/")[0]), parse_stated(source.period.split("/")[1])]
        if a.footnote:
            allowed.append(parse_edtf(citation_by_footnote()[a.footnote].issued))
        problems += [f"assessment {a.id}: {m!r}" for m in mentions_allowed(a.summary, allowed)]

    def under(topic_id: str, ancestor: str) -> bool:
        while topic_id:
            if topic_id == ancestor:
                return True
            topic_id = topics()[topic_id].parent
        return False

    for t in bundle().topics:
        allowed = [x for e in bundle().events if any(under(u, t.id) for u in e.topics) for x in stated_near(e.id)]
        problems += [f"topic {t.id}: {m!r}" for m in mentions_allowed(f"{t.label}. {t.description}", allowed)]
    for e in bundle().events:
        near = [e.id] + ([e.parent] if e.parent else []) + [r.event for r in e.related]
        near += [o.id for o in bundle().events if o.parent == e.id or any(r.event == e.id for r in o.related)]
        allowed = [x for n in near for x in stated_near(n)]
        problems += [f"event {e.id}: {m!r}" for m in mentions_allowed(f"{e.title}. {e.summary}", allowed)]
    for a in bundle().agreements:
        allowed = [x for n in a.events for x in stated_near(n)]
        for m in a.milestones:
            if not m.event:
                allowed += brief().sentence(*REPORTED_IN[f"{a.id}:{m.kind}"][:3]).dates
        allowed += [parse_edtf(citation_by_footnote()[n].issued) for n in footnotes_of(a.locators)]
        problems += [f"agreement {a.id}: {m!r}" for m in mentions_allowed(f"{a.title}. {a.summary}", allowed)]
    assert not problems, "\n".join(problems)


def test_attested_office_spans_cover_every_mention():
    """An office's attested span covers every dated mention of its holder in post that the brief makes: the
    year it says they took the post, and every event they take part in."""
    problems = []
    for actor in bundle().actors:
        for office in actor.offices:
            if not office.attested:
                continue
            attested = parse_edtf(office.attested)
            mentions = [("start", office.start)] if office.start else []
            mentions += [(e.id, e.date) for e in bundle().events if any(p.actor == actor.id for p in e.participants)]
            for what, date in mentions:
                span = parse_edtf(date)
                if span.start < attested.start or span.end > attested.end:
                    problems.append(f"{office.id}: attested {office.attested} leaves out {what} ({date})")
    assert not problems, "\n".join(problems)
