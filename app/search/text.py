"""What search reads: normalised words and their stems, composed once per record by the write path.

Every searchable record stores two token streams, space-separated, in the same order:

* ``search_text`` — its words, NFKC-normalised and case-folded (``Zürich``, ``ZU\u0308RICH`` -> ``zürich``);
  prefix queries (``mediat*``) and snippets match these;
* ``search_stems`` — the same words reduced to their English Snowball (Porter2) stems (``mediation``,
  ``mediate`` -> ``mediat``); words and phrases match these.

Both are computed here, in Python, for both databases, so SQLite (an FTS5 index with the `ascii` tokenizer,
which only splits at spaces) and PostgreSQL (a GIN-indexed `tsvector` of the same tokens, built by
`array_to_tsvector`) index exactly the same tokens; the databases' own stemmers and
case folding (Porter vs Snowball, ASCII-only ``lower()``) never get a say. Migration 0006 derives the
indexes from these two columns (SQLite: triggers; PostgreSQL: expression indexes).

A record's main field (title, name, label) is written twice, so a word in it counts twice in the
relevance score (app.search.rank); fields are separated by :data:`FIELD_BREAK`, a token no query can
produce, so a phrase never matches across two fields.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import snowballstemmer

FIELD_BREAK = "¶"  # a pilcrow: punctuation, so never a token of any text or query
MAX_TOKEN = 64  # characters; longer runs (hashes, pasted junk) are cut, in records and queries alike
# Words indexed per record (and per field): later words are not searchable. PostgreSQL's tsvector holds at most
# 1 MB, so a record's index has to stop somewhere; 10,000 words is a long report's summary many times over.
MAX_FIELD_WORDS = 10_000


def _token_class() -> str:
    """A regex class of the characters tokens are made of besides letters and digits: combining marks
    (Devanagari vowel signs, Arabic harakat…) and private-use characters, which Python's ``\\w`` omits."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x300, min(sys.maxunicode, 0x1FFFF) + 1):
        if unicodedata.category(chr(code))[0] == "M" or 0xE000 <= code <= 0xF8FF:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)


# A token: a run of letters, digits, combining marks or private-use characters (Unicode categories L, N, M,
# Co); everything else (spaces, punctuation, symbols, emoji) separates tokens.
TOKEN = re.compile(rf"(?:[^\W_]|[{_token_class()}])+")


def normalise(text: str) -> str:
    """NFKC + case folding (+ NFKC again: folding can leave a string that NFKC would still change): the one
    form in which stored text and queries are compared, on both databases. ``"ZU\\u0308RICH"`` -> ``"zürich"``."""
    # The dotted capital I folds to i + U+0307, which no lowercase i carries: dropping the dot lets "İstanbul"
    # and "Istanbul" find each other.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.replace("i\u0307", "i")


# Scripts written without spaces between words: Han ideographs (with their radicals and iteration marks), kana
# and Hangul (Lucene's CJKBigramFilter set). Their runs are indexed as overlapping character bigrams.
_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3130-\u318f\u3190-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\U00020000-\U0003134f"
)
CJK = re.compile(f"[{_CJK}]")
_PARTS = re.compile(f"[{_CJK}]+|[^{_CJK}]+")


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


def _pieces(token: str) -> list[str]:
    """The indexed words of one normalised token: itself (cut to MAX_TOKEN), or, where it holds a run of
    :data:`CJK` characters, each such run as its overlapping character bigrams (``和平谈判`` -> ``和平 平谈 谈判``)
    and the rest as words of their own."""
    if not CJK.search(token):
        return [token[:MAX_TOKEN]]
    return [p for part in _PARTS.findall(token) for p in (_bigrams(part) if CJK.match(part) else [part[:MAX_TOKEN]])]


def words(text: str | None) -> list[str]:
    """The normalised words of ``text`` in order (see :data:`TOKEN`), each cut to :data:`MAX_TOKEN`
    characters. ``"Imran Khan's visit (2019)"`` -> ``["imran", "khan", "s", "visit", "2019"]``.

    Chinese, Japanese and Korean are written without spaces between words, so a run of their characters is
    indexed as overlapping bigrams, as Lucene's CJK analyser does: a query of two or more such characters is a
    phrase of its bigrams and finds them inside any longer run (``谈判`` finds ``和平谈判``); a query of one such
    character finds only that character standing alone."""
    if not text:
        return []
    tokens = TOKEN.findall(normalise(text))
    if not any(CJK.search(t) for t in tokens):
        return [token[:MAX_TOKEN] for token in tokens[:MAX_FIELD_WORDS]]
    return [p for token in tokens for p in _pieces(token)][:MAX_FIELD_WORDS]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """Each indexed word of ``text`` (as :func:`words` gives them) with the ``[start, end)`` characters of
    ``text`` it comes from, for highlighting: a CJK bigram spans its two characters (so neighbours overlap);
    a word that normalisation turns into several (``½`` -> ``1 2``) gives each the whole span."""
    spans = []
    for match in TOKEN.finditer(text):
        offset = match.start()
        for part in _PARTS.findall(match.group()) if CJK.search(match.group()) else [match.group()]:
            found = words(part)
            if CJK.match(part) and len(found) == max(1, len(part) - 1):
                spans += [(offset + i, offset + min(i + 2, len(part)), w) for i, w in enumerate(found)]
            else:
                spans += [(offset, offset + len(part), w) for w in found]
            offset += len(part)
    return spans


_local = threading.local()  # Snowball stemmer objects keep state between calls: one per thread


@functools.lru_cache(maxsize=100_000)  # a vocabulary repeats; the pure-Python stemmer is ~100 µs a word
def stem(word: str) -> str:
    """The English Snowball (Porter2) stem of a normalised word: ``"mediation"`` -> ``"mediat"``."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    stemmed: str = stemmer.stemWord(word)
    return stemmed


@dataclass(frozen=True)
class Indexed:
    """A record's two token streams as stored (see the module docstring)."""

    words: str
    stems: str

    def columns(self) -> dict[str, str]:
        """As the model columns that store them."""
        return {"search_text": self.words, "search_stems": self.stems}


def index_text(main: Iterable[str | None], rest: Iterable[str | None]) -> Indexed:
    """The stored streams of a record whose ``main`` fields (title, name…) weigh double and whose
    ``rest`` (summary, notes, labels…) count once; empty fields are skipped."""
    fields = [words(text) for text in main]
    main_words = [w for field in fields for w in field]
    groups = [main_words, main_words] if main_words else []
    groups += [tokens for tokens in (words(text) for text in rest) if tokens]
    # At most MAX_FIELD_WORDS words in all: PostgreSQL's tsvector (1 MB) must hold the record's whole index.
    budget, kept = MAX_FIELD_WORDS, []
    for tokens in groups:
        if budget <= 0:
            break
        kept.append(tokens[:budget])
        budget -= len(kept[-1])
    groups = kept
    streams = [" ".join(tokens) for tokens in groups]
    stems = [" ".join(stem(w) for w in tokens) for tokens in groups]
    separator = f" {FIELD_BREAK} "
    return Indexed(separator.join(streams), separator.join(stems))


# --------------------------------------------------------------------------- what each resource searches


def person_names(names: Sequence[Mapping[str, Any]]) -> list[str]:
    """CSL-JSON name objects (``{"family", "given"}`` or ``{"literal"}``) as display strings."""
    return [
        str(n.get("literal") or " ".join(str(n[k]) for k in ("given", "family") if n.get(k)))
        for n in names
        if n.get("literal") or n.get("family") or n.get("given")
    ]


def participant_names(actors: Iterable[Sequence[str]]) -> list[str]:
    """The names an event is found by from its participants (each actor's name and aliases, in
    participant order), each once."""
    return list(dict.fromkeys(name for names in actors for name in names))


def event_text(
    *,
    title: str,
    summary: str | None,
    location: str | None,
    notes: str | None,
    quotes: Iterable[str],
    participants: Iterable[str],
    topics: Iterable[str],
) -> Indexed:
    """An event: its title (double), summary, place, notes, the quotes' words, its participants' names
    (and aliases) and its topics' labels."""
    return index_text([title], [summary, location, notes, *quotes, *participants, *topics])


def actor_text(*, id: str, name: str, aliases: Iterable[str], offices: Iterable[str]) -> Indexed:
    """An actor: name (double), aliases, the titles of the offices held, and the id (``imran-khan``)."""
    return index_text([name], [*aliases, *offices, id])


def agreement_text(*, title: str, summary: str | None, notes: str | None) -> Indexed:
    """An agreement: title (double), summary and notes."""
    return index_text([title], [summary, notes])


def topic_text(*, id: str, label: str, description: str | None) -> Indexed:
    """A topic: label (double), description and id."""
    return index_text([label], [description, id])


def source_text(
    *,
    title: str,
    subtitle: str | None,
    series: str | None,
    publisher: str | None,
    authors: Sequence[Mapping[str, Any]],
    description: str | None,
    assessments: Iterable[str] = (),
) -> Indexed:
    """A source document: title (double), subtitle, series, publisher, authors, description and the
    summaries of the judgements it makes (its assessments)."""
    return index_text([title], [subtitle, series, publisher, *person_names(authors), description, *assessments])


def citation_text(
    *, title: str, authors: Sequence[Mapping[str, Any]], publisher: str | None, container_title: str | None
) -> Indexed:
    """A citation: title (double), authors, publisher and the newspaper or journal it appeared in."""
    return index_text([title], [*person_names(authors), publisher, container_title])


def name_key(publisher: str | None) -> str | None:
    """How name filters (`publisher=`) compare names: normalised (:func:`normalise`) with runs of white space made one
    space, so ``"REUTERS "`` and ``"Reuters"`` are the same publisher."""
    return " ".join(normalise(publisher).split()) if publisher else None
