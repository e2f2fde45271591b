"""Search in SQL: which table and columns a resource's `q` reads, the match condition for each
database, the relevance score both compute identically, and snippets.

**Matching.** On SQLite, ``<table>_fts`` (FTS5, `ascii` tokenizer, contentless, columns ``words`` and
``stems``) indexes the stored streams, mapped to record ids by ``<table>_search_rows``; triggers on the
table keep both in step with every insert, update and delete (migration 0006). On PostgreSQL,
GIN indexes over generated columns ``array_to_tsvector(string_to_array(column, ' '))`` (one lexeme per
stored token: no parser or dictionary involved) serve ``@@``, and a phrase is also checked for adjacency in the
stored text. Queries are compiled from the same tree (app.search.query), so both databases match exactly
the same records.

**Relevance** (``sort=relevance``) is a score computed by the same integer arithmetic on both databases
from the stored streams, not FTS5's ``bm25()`` or PostgreSQL's ``ts_rank`` (different formulas and
floating-point results, so the orders would differ). For each term of the query that a record matches
(excluded terms do not count), with ``tf`` its occurrences in the record's stream (the title counts twice,
see app.search.text) and ``dl`` the stream's length in characters::

    score += 1000 · n · tf · (k1 + 1) / (tf + k1 · (1 − b + b · dl / L))      (integer division)

that is BM25's saturation of repeated words and its preference for short records (k1 = 1.2, b = 0.75,
lengths in characters, a fixed typical length L = 200 characters instead of the corpus average), weighted
by ``n``, the words in the term (a phrase of three counts three). Measured at 100k events (bench/search.py):
counting tokens and doubling spaces in SQL (three more ``replace`` per term and row) made ranking 17k
matches about three times slower (723 -> 241 ms). BM25's inverse document frequency is left out: with AND, every
match contains every term, and dropping it keeps a record's score a function of the record alone (no
corpus counts per request). Ties are broken by id, ascending; the score is an integer, so a cursor
holds it exactly and pages over a relevance order never skip or repeat a record.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import table
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Boolean

from app.search.query import SearchQuery, Term, fts5_match, tsquery
from app.search.text import FIELD_BREAK, stem, word_spans

K1_TENTHS, B_HUNDREDTHS, TYPICAL_LENGTH, SCALE = 12, 75, 200, 1000


@dataclass(frozen=True)
class SearchIndex:
    """What `q` searches in one table: its id column, the two stored streams, and the display columns a
    snippet is cut from (the first that contains a match)."""

    table: str
    id: Any
    words: Any
    stems: Any
    shown: tuple[Any, ...]

    def stream(self, name: str) -> Any:
        return self.words if name == "words" else self.stems


def fts_table(table_name: str) -> str:
    """The SQLite FTS5 table indexing ``table_name`` (created by migration 0006)."""
    return f"{table_name}_fts"


def rows_table(table_name: str) -> str:
    """The SQLite table mapping FTS5 rowids to record ids (created by migration 0006)."""
    return f"{table_name}_search_rows"


class SearchCondition(ColumnElement[bool]):
    """Records of ``index`` matching ``query``; compiled per database below."""

    type = Boolean()
    _is_implicitly_boolean = True  # a condition, not a boolean column: no "= 1" appended on SQLite
    inherit_cache = False  # the query text is part of the SQL structure; such statements are not cached

    def __init__(self, index: SearchIndex, query: SearchQuery, per_row: bool = False) -> None:
        self.index = index
        self.query = query
        # SQLite: test each record as the outer query (in date order) reaches it, rather than drive the query
        # from the matches; the plan asks for it when the words are common. Never for counting.
        self.per_row = per_row

    @property
    def _from_objects(self) -> list[Any]:
        from_objects: list[Any] = self.index.id._from_objects
        return from_objects

    def get_children(self, **kw: Any) -> Sequence[Any]:
        # The columns read, as column expressions (ORM attributes are not visited), so that a statement
        # over walked link rows sees that it must join the searched table (plan.walked_select).
        return tuple(c.expression for c in (self.index.id, self.index.words, self.index.stems))


def _fts_match(index: SearchIndex, query: SearchQuery) -> ColumnElement[bool]:
    return literal_column(fts_table(index.table)).op("MATCH", return_type=Boolean)(literal(fts5_match(query)))


def fts_matches(index: SearchIndex, query: SearchQuery) -> Select[Any]:
    """SQLite: the FTS5 rowids of the records matching ``query``, straight off the index (no record lookups):
    for sizing up a query's matches cheaply (app.queries.plan)."""
    fts = table(fts_table(index.table), literal_column("rowid"))
    return select(fts.c.rowid).where(_fts_match(index, query))


@compiles(SearchCondition, "sqlite")
def _sqlite_match(element: SearchCondition, compiler: SQLCompiler, **kw: Any) -> str:
    name = element.index.table
    fts = table(fts_table(name), literal_column("rowid"))
    rows = table(rows_table(name), literal_column("rowid"), literal_column("record_id"))
    matched = fts_matches(element.index, element.query)
    condition: ColumnElement[bool]
    prefix = any(t.prefix for t in (*element.query.terms, *element.query.excluded))
    if element.per_row and not prefix:
        # Probe FTS5 for each record as the outer query reaches it: record id -> its FTS5 rowid (unique index)
        # -> MATCH restricted to that rowid, one doclist seek per term (~20-90 µs).
        probe: Select[Any] = select(literal_column("1")).select_from(rows.join(fts, fts.c.rowid == rows.c.rowid))
        condition = exists(probe.where(rows.c.record_id == element.index.id, _fts_match(element.index, element.query)))
    elif element.per_row:
        # A prefix expands to every word it starts, so a per-rowid probe costs milliseconds. SQLite's unary `+`
        # (a no-op on any value) keeps the planner from looking the matches up by id instead: it collects the
        # matching ids once into a temporary index and tests each row the outer query delivers against it.
        identity: ColumnElement[Any] = literal_column("+" + compiler.process(element.index.id, **kw))
        condition = identity.in_(select(rows.c.record_id).where(rows.c.rowid.in_(matched)))
    else:
        condition = element.index.id.in_(select(rows.c.record_id).where(rows.c.rowid.in_(matched)))
    return "(" + compiler.process(condition, **kw) + ")"


def tsvector(table_name: str, column: Any) -> ColumnElement[Any]:
    """PostgreSQL: the stored tokens of ``column`` as a ``tsvector``: the generated, GIN-indexed column
    ``<column>_tsv`` that migration 0006 adds (not in the models: PostgreSQL only)."""
    return literal_column(f"{table_name}.{column.expression.name}_tsv")


def _postgresql_term(index: SearchIndex, term: Term) -> ColumnElement[bool]:
    """Records with ``term``: every token (the last as a prefix, for prefix terms) in the GIN-indexed
    tsvector, and for a phrase, the tokens next to each other in the stored stream (``LIKE`` on the
    space-padded text: tokens hold no ``%``, ``_`` or ``\\``, and both sides are case-folded, so ``LIKE`` means
    the same on both databases and to FTS5's phrase match)."""
    column = index.stream(term.stream)
    condition: ColumnElement[bool] = tsvector(index.table, column).op("@@", return_type=Boolean)(
        cast(literal(tsquery(term), String), TSQUERY)
    )
    if len(term.tokens) > 1:
        pattern = "% " + " ".join(term.tokens) + ("%" if term.prefix else " %")
        padded = literal(" ", String) + column + literal(" ", String)
        condition = and_(condition, padded.like(literal(pattern, String)))
    return condition


@compiles(SearchCondition, "postgresql")
def _postgresql_match(element: SearchCondition, compiler: SQLCompiler, **kw: Any) -> str:
    index, query = element.index, element.query
    conditions = [or_(*(_postgresql_term(index, t) for t in clause)) for clause in query.clauses]
    conditions += [not_(_postgresql_term(index, t)) for t in query.excluded]
    # Parenthesised: the element is one operand of the statement's AND (an OR of terms would otherwise
    # bind to the next condition).
    return "(" + compiler.process(and_(*conditions), **kw) + ")"


# ------------------------------------------------------------------------------------------- relevance


def _length(expression: Any) -> ColumnElement[int]:
    return func.length(expression, type_=Integer)


def relevance(index: SearchIndex, query: SearchQuery) -> ColumnElement[int]:
    """The integer relevance score of a matching record (see the module docstring); plain SQL
    (``length``, ``replace``, ``||``, integer arithmetic) that both databases evaluate alike."""
    score: ColumnElement[int] | None = None
    for term in query.terms:
        column = index.stream(term.stream)
        # Occurrences of ' tok ' in the space-padded stream (' tok' for a prefix), by how much removing them
        # shortens it. Adjacent repeats share a space and count once: the same on both databases, and the
        # cheapest count (one replace per term and row).
        padded = literal(" ", String) + column + literal(" ", String)
        pattern = " " + " ".join(term.tokens) + ("" if term.prefix else " ")
        # 64-bit from here on: PostgreSQL's int4 would overflow in the numerator (SQLite's integers are 64-bit).
        tf = cast(
            (_length(padded) - _length(func.replace(padded, pattern, "", type_=String))) // len(pattern), BigInteger
        )
        dl = cast(_length(column), BigInteger)  # characters: BM25's document length without counting tokens in SQL
        numerator = tf * (SCALE * len(term.tokens) * (10 + K1_TENTHS) * 100 * TYPICAL_LENGTH)
        # k1 · (1 − b + b · dl / L), times 1000 · L, as integers
        denominator = tf * (1000 * TYPICAL_LENGTH) + (
            K1_TENTHS * (100 - B_HUNDREDTHS) * TYPICAL_LENGTH + K1_TENTHS * B_HUNDREDTHS * dl
        )
        part = numerator // denominator
        score = part if score is None else score + part
    assert score is not None, "a parsed query has at least one term"
    return score


# -------------------------------------------------------------------------------------------- snippets

SNIPPET_WORDS = 24  # at most this many words in a snippet…
SNIPPET_CHARS = 240  # …and at most this many characters of text (text without spaces has no words to count)
_BEFORE_WORDS, _BEFORE_CHARS = SNIPPET_WORDS // 3, SNIPPET_CHARS // 4  # context shown before the first match


def _matches(token: str, term: Term, position: int) -> bool:
    """Whether indexed word ``token`` matches the term's token at ``position`` (stems for words and phrases;
    the words themselves for a prefix term, whose last token is a prefix)."""
    wanted = term.tokens[position]
    if term.prefix:
        return token.startswith(wanted) if position == len(term.tokens) - 1 else token == wanted
    return stem(token) == wanted


def _marked(spans: Sequence[tuple[int, int, str]], terms: Sequence[Term]) -> list[tuple[int, int]]:
    """The character ranges to highlight: each occurrence of a term, a phrase as one range from its first word
    to its last (the punctuation and spaces between included, as the index ignores them); overlapping ranges
    (a word in two terms, neighbouring CJK bigrams) merged, in text order."""
    found = []
    for term in terms:
        size = len(term.tokens)
        for i in range(len(spans) - size + 1):
            if all(_matches(spans[i + j][2], term, j) for j in range(size)):
                found.append((spans[i][0], spans[i + size - 1][1]))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, spans: Sequence[tuple[int, int, str]], first: int) -> tuple[int, int]:
    """``[start, end)`` of the extract shown around character ``first``: from up to _BEFORE_WORDS words (at
    most _BEFORE_CHARS characters) before it, for at most SNIPPET_WORDS words and SNIPPET_CHARS characters."""
    starts = sorted({s for s, _, _ in spans})
    before = [s for s in starts if s <= first]
    start = before[-_BEFORE_WORDS - 1] if len(before) > _BEFORE_WORDS else 0
    if start < first - _BEFORE_CHARS:  # long words or text without spaces: cut by characters
        start = first - _BEFORE_CHARS
    end = min(len(text), start + SNIPPET_CHARS)
    later = [s for s in starts if s >= start]
    if len(later) > SNIPPET_WORDS:
        # The SNIPPET_WORDS-th word's end: the last character before the next word starts.
        end = min(end, later[SNIPPET_WORDS] - 1)
    return start, max(end, min(len(text), first + 1))


def _render(text: str, start: int, end: int, marks: Sequence[tuple[int, int]]) -> str:
    out, at = [], start
    for mark_start, mark_end in marks:
        mark_start, mark_end = max(mark_start, start), min(mark_end, end)
        if mark_start >= mark_end:
            continue
        out += [html.escape(text[at:mark_start], quote=False), "<mark>"]
        out += [html.escape(text[mark_start:mark_end], quote=False), "</mark>"]
        at = mark_end
    out.append(html.escape(text[at:end], quote=False))
    body = "".join(out).strip()
    return ("… " if start > 0 else "") + body + (" …" if end < len(text) else "")


def snippet(fields: Sequence[str | None], query: SearchQuery) -> str:
    """A short extract of the first of ``fields`` (display text, in order) that contains a term of the query:
    up to SNIPPET_WORDS words and SNIPPET_CHARS characters (whatever the text: a 5,000-character token or a
    long run of Chinese is cut too) around its first match, runs of white space shown as one space, each match
    in ``<mark>…</mark>`` (a phrase as one mark, from its first word to its last), everything else
    HTML-escaped (so it can be inserted into a page as it is); ``…`` marks a cut. When no field shows a
    match (a record found by a participant's name or a topic label), the start of the first field, unmarked.
    Computed in Python from the fetched display text, so identical on both databases."""
    terms = query.terms
    texts = [" ".join(f.split()) for f in fields if f and f.strip() and f.strip() != FIELD_BREAK]
    if not texts:
        return ""
    for text in texts:
        spans = word_spans(text)
        marks = _marked(spans, terms)
        if marks:
            start, end = _window(text, spans, marks[0][0])
            # A later match the cut would split ends the extract before it instead.
            end = next((a for a, b in marks[1:] if a < end < b), end)
            return _render(text, start, end, marks)
    text = texts[0]
    start, end = _window(text, word_spans(text), 0)
    return _render(text, start, end, [])


def derived_by_migration(name: str | None, type_: str, parent_names: Any = None) -> bool:
    """Alembic ``include_name`` hook: False for the search objects migration 0006 creates outside the
    models (SQLite FTS5 tables and their shadow tables, the rowid maps; PostgreSQL tsvector columns and
    their indexes),
    so comparing the models with a database does not report them."""
    if name is None:
        return True
    if type_ == "table":
        return not re.search(r"_fts(_\w+)?$|_search_rows$", name)
    if type_ in ("index", "column"):
        return not name.endswith("_tsv")
    return True
