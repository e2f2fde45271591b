"""Citation exports for reference managers: CSL-JSON, RIS (via rispy) and BibLaTeX (via bibtexparser,
text encoded by pylatexenc)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import rispy
from bibtexparser.bibdatabase import BibDatabase
from bibtexparser.bwriter import BibTexWriter
from pylatexenc.latexencode import RULE_DICT, RULE_REGEX, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

from app.exports import Export, ExportContext, fold_controls, uri
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
    names = (
        a["literal"] if a.get("literal") else ", ".join(p for p in (a.get("family"), a.get("given")) if p)
        for a in citation.authors
    )
    return [name for name in names if name]


def write_csl_json(citations: Iterable[Citation], context: ExportContext) -> Iterator[str]:
    yield "["
    for i, citation in enumerate(citations):
        yield ("," if i else "") + json.dumps(csl_item(citation), ensure_ascii=False)
    yield "]\n"


def _ris_day(day: dt.date, precision: str) -> str:
    # RIS dates are `YYYY/MM/DD/other`; the year always has four digits (strftime would write year 1 as `1`).
    year = f"{day.year:04d}"
    if precision == "day":
        return f"{year}/{day.month:02d}/{day.day:02d}"
    return f"{year}/{day.month:02d}//" if precision == "month" else f"{year}///"


def ris_entry(citation: Citation) -> dict[str, Any]:
    """The rispy record of a citation, standard RIS tags only; every text has its control characters and
    line separators folded to spaces (app.exports.fold_controls), so no value can start a new line, and
    the URL is percent-encoded where RFC 3986 requires it and at `;`, which RIS readers split URLs on."""
    text = fold_controls
    entry: dict[str, Any] = {
        "type_of_reference": RIS_TYPES.get(citation.csl_type, "GEN"),
        "title": text(citation.title),
        "id": citation.id,
    }
    if names := _names(citation):
        entry["authors"] = [text(name) for name in names]
    if citation.container_title:
        entry["secondary_title"] = text(citation.container_title)
    if citation.publisher:
        entry["publisher"] = text(citation.publisher)
    if citation.url:
        entry["urls"] = [uri(citation.url, also=";")]
    if citation.issued_date and citation.issued_start:  # stored bounds and precision, not re-parsed
        start = citation.issued_start
        entry["year"] = f"{start.year:04d}"
        entry["date"] = _ris_day(start, citation.issued_date["precision"])
    if citation.accessed:
        entry["access_date"] = _ris_day(citation.accessed, "day")
    return entry


class _RisWriter(rispy.RisWriter):  # type: ignore[misc]  # rispy ships no types
    """rispy's writer without the `1.`, `2.`… line it puts before each record, which is not RIS."""

    def set_header(self, count: int) -> str:
        return ""


def write_ris(citations: Iterable[Citation], context: ExportContext) -> Iterator[str]:
    """Records of standard tags, `ER  - ` closing each, LF line ends, UTF-8."""
    for citation in citations:
        yield rispy.dumps([ris_entry(citation)], implementation=_RisWriter)


def _bibtex_key(citation_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_:-]", "", citation_id)


# pylatexenc's encoder writes every LaTeX special (`\ { } $ & % # _ ^ ~`) and every non-ASCII character it
# knows as a LaTeX command in braces ({\"u}, {\textbackslash}); what LaTeX has no command for (Arabic,
# emoji, directional marks) stays UTF-8, which biber and XeLaTeX/LuaLaTeX read. Three of its choices are
# replaced: braces as \textbraceleft/right (BibTeX counts `\{` when balancing a field, so an unpaired one
# would end it), the double quote as \textquotedbl (its default, two apostrophes, typesets a closing curly
# quote), and pairs that TeX fonts merge into another glyph (`--` en dash, `` and '' quotes, !` ?` ,,) are
# split with an empty group.
_LATEX = UnicodeToLatexEncoder(
    conversion_rules=[
        UnicodeToLatexConversionRule(
            RULE_DICT, {ord("{"): r"\textbraceleft", ord("}"): r"\textbraceright", ord('"'): r"\textquotedbl"}
        ),
        UnicodeToLatexConversionRule(
            RULE_REGEX, [(re.compile(r"-(?=-)|`(?=`)|'(?=')|!(?=`)|\?(?=`)|,(?=,)"), r"\g<0>{}")], "none"
        ),
        "defaults",
    ],
    replacement_latex_protection="braces-all",
    unknown_char_policy="keep",
    unknown_char_warning=False,
)


def latex(text: str) -> str:
    """``text`` as LaTeX for a BibTeX field: control characters folded to spaces, then every special and
    non-ASCII character encoded (see _LATEX). The result is brace-balanced."""
    return str(_LATEX.unicode_to_latex(fold_controls(text)))


# What BibTeX splits a name list or a name at: `and` between spaces (any case), and commas.
_NAME_SPLITTERS = re.compile(r",|(?:^|\s)and(?:\s|$)", re.IGNORECASE)


def _protected(part: str) -> str:
    encoded = latex(part).strip()
    return "{" + encoded + "}" if _NAME_SPLITTERS.search(encoded) else encoded


def bibtex_names(citation: Citation) -> str:
    """The `author` field: `Family, Given` per person, each part braced only if it holds a comma or the word
    `and`; an organisation (a CSL `literal` name) braced whole, so BibTeX reads it as one name and never
    as several people or as a family and given name."""
    names = []
    for author in citation.authors:
        if literal := (author.get("literal") or "").strip():
            names.append("{" + latex(literal).strip() + "}")
            continue
        parts = [_protected(p) for p in (author.get("family"), author.get("given")) if p and p.strip()]
        if parts:
            names.append(", ".join(parts))
    return " and ".join(names)


def bibtex_entry(citation: Citation) -> dict[str, str]:
    """BibLaTeX: `@article` for newspaper/magazine/journal pieces, `@online` otherwise. Every text field
    is LaTeX (see :func:`latex`); the URL is percent-encoded where RFC 3986 requires it (so it holds no
    brace, backslash or space)."""
    article = citation.csl_type in ("article-newspaper", "article-magazine", "article-journal")
    entry = {
        "ENTRYTYPE": "article" if article else "online",
        "ID": _bibtex_key(citation.id),
        "title": latex(citation.title),
    }
    if names := bibtex_names(citation):
        entry["author"] = names
    if citation.container_title:
        entry["journaltitle" if article else "organization"] = latex(citation.container_title)
    if citation.publisher and (not article or not citation.container_title):
        entry["publisher" if article else "organization"] = latex(citation.publisher)
    if citation.issued_edtf and citation.issued_start:  # an open start (`../2020`) is no BibLaTeX date
        entry["date"] = citation.issued_edtf.split("/")[0]
    if citation.url:
        entry["url"] = uri(citation.url)
    if citation.accessed:
        entry["urldate"] = citation.accessed.isoformat()
    return entry


def write_bibtex(citations: Iterable[Citation], context: ExportContext) -> Iterator[str]:
    """One BibLaTeX entry per citation, UTF-8, LF line ends."""
    writer = BibTexWriter()
    writer.order_entries_by = None
    for citation in citations:
        database = BibDatabase()
        database.entries = [bibtex_entry(citation)]
        yield writer.write(database)


CITATION_EXPORTS: dict[str, Export] = {
    "csl-json": Export("application/vnd.citationstyles.csl+json", "json", write_csl_json),
    "ris": Export("application/x-research-info-systems", "ris", write_ris),
    "bibtex": Export("application/x-bibtex; charset=utf-8", "bib", write_bibtex),
}
