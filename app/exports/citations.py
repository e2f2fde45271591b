"""Citation exports for reference managers: CSL-JSON, RIS (via rispy) and BibLaTeX (via bibtexparser)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import rispy
from bibtexparser.bibdatabase import BibDatabase
from bibtexparser.bwriter import BibTexWriter

from app.exports import Export
from app.models import Citation
from app.schemas.sources import csl_item

RIS_TYPES = {
    "article-newspaper": "NEWS",
    "article-magazine": "MGZN",
    "article-journal": "JOUR",
    "webpage": "ELEC",
    "post-weblog": "BLOG",
    "report": "RPRT",
    "speech": "SOUND",
    "book": "BOOK",
    "chapter": "CHAP",
    "dataset": "DATA",
}


def _names(citation: Citation) -> list[str]:
    return [
        a["literal"] if "literal" in a else ", ".join(p for p in (a.get("family"), a.get("given")) if p)
        for a in citation.authors
    ]


def write_csl_json(citations: Iterable[Citation]) -> Iterator[str]:
    yield "["
    for i, citation in enumerate(citations):
        yield ("," if i else "") + json.dumps(csl_item(citation), ensure_ascii=False)
    yield "]\n"


def ris_entry(citation: Citation) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type_of_reference": RIS_TYPES.get(citation.csl_type, "GEN"),
        "title": citation.title,
        "id": citation.id,
    }
    if names := _names(citation):
        entry["authors"] = names
    if citation.container_title:
        entry["secondary_title"] = citation.container_title
    if citation.publisher:
        entry["publisher"] = citation.publisher
    if citation.url:
        entry["urls"] = [citation.url]
    if citation.issued_date and citation.issued_start:  # stored bounds and precision, not re-parsed
        start, precision = citation.issued_start, citation.issued_date["precision"]
        entry["year"] = str(start.year)
        entry["date"] = start.strftime({"day": "%Y/%m/%d", "month": "%Y/%m//", "year": "%Y///"}[precision])
    if citation.accessed:
        entry["access_date"] = citation.accessed.isoformat()
    return entry


def write_ris(citations: Iterable[Citation]) -> Iterator[str]:
    for citation in citations:
        yield rispy.dumps([ris_entry(citation)])


def _bibtex_key(citation_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_:-]", "", citation_id)


_LATEX_SPECIALS = re.compile(r"([$%&#_{}])")


def _latex(text: str) -> str:
    return _LATEX_SPECIALS.sub(r"\\\1", text)


def bibtex_entry(citation: Citation) -> dict[str, str]:
    """BibLaTeX: `@article` for newspaper/magazine/journal pieces, `@online` otherwise."""
    article = citation.csl_type in ("article-newspaper", "article-magazine", "article-journal")
    entry = {
        "ENTRYTYPE": "article" if article else "online",
        "ID": _bibtex_key(citation.id),
        "title": _latex(citation.title),
    }
    if names := _names(citation):
        entry["author"] = _latex(" and ".join(names))
    if citation.container_title:
        entry["journaltitle" if article else "organization"] = _latex(citation.container_title)
    if citation.publisher and (not article or not citation.container_title):
        entry["publisher" if article else "organization"] = _latex(citation.publisher)
    if citation.issued_edtf:
        entry["date"] = citation.issued_edtf.split("/")[0]
    if citation.url:
        entry["url"] = citation.url
    if citation.accessed:
        entry["urldate"] = citation.accessed.isoformat()
    return entry


def write_bibtex(citations: Iterable[Citation]) -> Iterator[str]:
    writer = BibTexWriter()
    writer.order_entries_by = None
    for citation in citations:
        database = BibDatabase()
        database.entries = [bibtex_entry(citation)]
        yield writer.write(database)


def bibtex_ending(count: int) -> str:
    """The closing `@comment` of a complete BibTeX export (BibTeX and biber ignore comments): a saved file
    without it was cut short."""
    return f"\n@comment{{dipevents export complete: {count} entries}}\n"


CITATION_EXPORTS: dict[str, Export] = {
    "csl-json": Export("application/vnd.citationstyles.csl+json", "json", write_csl_json),
    "ris": Export("application/x-research-info-systems", "ris", write_ris),
    "bibtex": Export("application/x-bibtex; charset=utf-8", "bib", write_bibtex, ending=bibtex_ending),
}
