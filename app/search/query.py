"""`q`: the query syntax, parsed in Python into a small tree and compiled for each database.

Syntax (README "Search"): words separated by spaces must all match (AND), each also matching its other
forms (``mediation`` finds *mediate*, *mediated*); ``"a phrase"`` matches those words in that order;
``mediat*`` matches words starting with ``mediat`` as written (not stemmed); ``a OR b`` accepts either
(OR binds tighter than the implicit AND: ``kashmir mediation OR talks`` = kashmir AND (mediation OR
talks)); ``-word`` / ``-"a phrase"`` excludes, and so does upper-case ``NOT`` before a word or phrase
(``kashmir NOT india`` = ``kashmir -india``). A word with inner punctuation (``imran-khan``, ``U.S.``,
``title:kashmir``) is a phrase of its parts. Matching is on normalised words (NFKC + case folding,
app.search.text).

Malformed queries (an unclosed quote, ``*`` not ending a word or doubled, ``OR`` without a term on each
side, ``NOT`` or ``-`` with no word or phrase right after it, only exclusions, no word at all) raise
:class:`QuerySyntaxError`; the filter turns it into a 400 naming `q`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.search.text import stem, words

Stream = Literal["words", "stems"]
MAX_TERMS = 20  # words in a query, counting every word of every phrase


class QuerySyntaxError(ValueError):
    """A query that does not follow the syntax; the message says what is wrong, for a 400."""


@dataclass(frozen=True)
class Term:
    """One searched unit: a word (one token) or a phrase (several, adjacent and in order), matched in
    ``stream`` (``stems`` for words and phrases, ``words`` when the last token is a ``prefix``)."""

    tokens: tuple[str, ...]
    stream: Stream
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """A parsed `q`: every clause must match (AND), a clause when any of its terms does (OR); no
    ``excluded`` term may match."""

    clauses: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms that must or may match (what ranking and snippets use), in query order."""
        return tuple(t for clause in self.clauses for t in clause)


# A query piece: an optional '-', then a quoted phrase (closed or not) or a bare run of non-space
# characters; a trailing '*' belongs to the piece.
_PIECE = re.compile(r'(-?)(?:"([^"]*)("?)|([^\s"]+))')


def _term(raw: str, prefix: bool) -> Term | None:
    tokens = tuple(words(raw))
    if not tokens:
        return None
    if prefix:
        return Term(tokens, "words", prefix=True)
    return Term(tuple(stem(t) for t in tokens), "stems")


def _piece(raw: str) -> Term | None:
    """The term of one bare word or phrase text (None when it holds no word)."""
    prefix = raw.endswith("*")
    body = raw[:-1] if prefix else raw
    if "*" in body:  # `kash**` as `**`: one '*', at the end
        raise QuerySyntaxError(f"'*' marks a prefix and must end a word: {raw!r}")
    if prefix and (not body or body[-1].isspace() or not words(body[-1])):
        raise QuerySyntaxError(f"'*' must follow a letter or digit: {raw!r}" if body else "'*' alone is not a word")
    return _term(body, prefix)


def parse(text: str) -> SearchQuery:
    """Parse `q` (see the module docstring). Raises QuerySyntaxError."""
    clauses: list[list[Term]] = []
    excluded: list[Term] = []
    joining = False  # the previous piece was OR
    negating = False  # the previous piece was NOT: the next term is excluded, as if written with '-'
    after_term = False  # the previous piece was a word or phrase (OR binds to it, never to an exclusion)
    position = 0
    count = 0
    for match in _PIECE.finditer(text):
        if text[position : match.start()].strip():
            raise QuerySyntaxError(f"cannot read {text[position : match.start()]!r}")
        position = match.end()
        minus, phrase, closed, bare = match.groups()
        if phrase is not None and not closed:
            raise QuerySyntaxError("a phrase is missing its closing '\"'")
        if bare == "-" and not minus:  # `kashmir - india`, `kashmir -`: an exclusion of nothing
            raise QuerySyntaxError("'-' must be written against the word or phrase it excludes (-india)")
        if negating and (minus or bare in ("OR", "AND", "NOT")):
            raise QuerySyntaxError(f"NOT needs a word or phrase right after it, not {match.group(0)!r}")
        if bare == "NOT" and not minus:
            negating = True
            continue
        if bare in ("OR", "AND") and not minus:
            if bare == "OR":
                if joining or not after_term:
                    raise QuerySyntaxError("OR needs a word or phrase on each side")
                joining = True
            continue
        raw = phrase if phrase is not None else bare
        minus, negating = minus or ("-" if negating else ""), False
        # A '*' inside a phrase is only allowed after its last word ("tactical and trans*").
        term = _piece(raw.strip())
        if term is None:
            if minus or joining:
                raise QuerySyntaxError(f"{match.group(0)!r} has no word in it")
            after_term = False
            continue  # bare punctuation: nothing to search
        count += len(term.tokens)
        if minus:
            if joining:
                raise QuerySyntaxError("an excluded term cannot be one side of OR")
            excluded.append(term)
            after_term = False
            continue
        after_term = True
        if joining:
            clauses[-1].append(term)
            joining = False
        else:
            clauses.append([term])
    if text[position:].strip():
        raise QuerySyntaxError(f"cannot read {text[position:]!r}")
    if negating:
        raise QuerySyntaxError("NOT needs a word or phrase right after it")
    if joining:
        raise QuerySyntaxError("OR needs a word or phrase on each side")
    if not clauses:
        alone = " (exclusions alone match nothing)" if excluded else " (punctuation and symbols are not words)"
        raise QuerySyntaxError("needs at least one word to find" + alone)
    if count > MAX_TERMS:
        raise QuerySyntaxError(f"at most {MAX_TERMS} words")
    return SearchQuery(tuple(tuple(dict.fromkeys(c)) for c in clauses), tuple(dict.fromkeys(excluded)))


# ----------------------------------------------------------------------------------------- compiling


def _fts5_term(term: Term) -> str:
    # Tokens are letters, digits and marks only (app.search.text.TOKEN), so they need no escaping in an
    # FTS5 string; doubling '"' keeps that true should the token rule ever change.
    quoted = '"' + " ".join(t.replace('"', '""') for t in term.tokens) + '"'
    return f"{{{term.stream}}} : {quoted}" + (" *" if term.prefix else "")


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression of ``query`` over a table with columns ``words`` and ``stems``:
    ``(({stems} : "mediat") OR ({words} : "talk" *)) NOT ({stems} : "india")``."""
    clauses = " AND ".join("(" + " OR ".join(f"({_fts5_term(t)})" for t in clause) + ")" for clause in query.clauses)
    if query.excluded:
        clauses = f"({clauses}) NOT (" + " OR ".join(f"({_fts5_term(t)})" for t in query.excluded) + ")"
    return clauses


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery(term: Term) -> str:
    """One term as PostgreSQL tsquery input text (cast, never parsed by a text search configuration): its
    tokens ANDed, the last a prefix for prefix terms: ``'tactic' & 'and' & 'transact'``, ``'mediat':*``.
    (The index holds no positions; app.search.sql checks a phrase's word order on the stored text.)"""
    lexemes = [_lexeme(t) for t in term.tokens]
    if term.prefix:
        lexemes[-1] += ":*"
    return " & ".join(lexemes)
