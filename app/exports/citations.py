"""Citation exports for reference managers: CSL-JSON, RIS (via rispy) and BibLaTeX (via bibtexparser,
text encoded by pylatexenc)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import rispy
from bibtexparser.bibdatabase import BibDatabase
from bibtexparser.bwriter import BibTexWriter
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexencode import (
    RULE_DICT,
    RULE_REGEX,
    UnicodeToLatexConversionRule,
    UnicodeToLatexEncoder,
    get_builtin_uni2latex_dict,
)

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
    """Each author as one line of text (RIS `AU`): a person as `Family, Given` (the RIS specification's
    `Lastname, Firstname`), an organisation's `literal` name followed by a comma (``Ministry of Foreign Affairs,
    Pakistan,``): the convention EndNote and Biblioscape document for corporate authors, so that a reader takes
    the whole name as one name instead of splitting it at its commas into `Last, First`. Control characters
    folded to spaces, names without text left out."""
    names = []
    for author in citation.authors:
        if literal := fold_controls(author.get("literal") or "").strip():
            names.append(literal + ",")
            continue
        parts = (fold_controls(author.get(key) or "").strip() for key in ("family", "given"))
        names.append(", ".join(p for p in parts if p))
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
        entry["authors"] = names
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


# The LaTeX specials, each as a text-mode command: braces as \textbraceleft/right because BibTeX counts
# `\{` when balancing a field (an unpaired one would end it), the double quote as \textquotedbl (pylatexenc's
# default, two apostrophes, typesets a closing curly quote; babel makes `"` active).
_SPECIALS = {
    ord("\\"): r"\textbackslash",
    ord("{"): r"\textbraceleft",
    ord("}"): r"\textbraceright",
    ord("$"): r"\$",
    ord("&"): r"\&",
    ord("%"): r"\%",
    ord("#"): r"\#",
    ord("_"): r"\_",
    ord("^"): r"\textasciicircum",
    ord("~"): r"\textasciitilde",
    ord('"'): r"\textquotedbl",
}
# Pairs that TeX fonts merge into another glyph (`--` en dash, `` and '' curly quotes, !` ?` ,, << >>) are
# split with an empty group.
_LIGATURES = re.compile(r"-(?=-)|`(?=`)|'(?=')|!(?=`)|\?(?=`)|,(?=,)|<(?=<)|>(?=>)")


@lru_cache(maxsize=1)
def _latex_encoder() -> UnicodeToLatexEncoder:
    """pylatexenc's encoder over its maintained table of LaTeX commands for non-ASCII characters, keeping
    only the commands its own LaTeX-to-text reads back as the same character: about 320 of ~1,540 are
    approximations (Greek capitals as Latin letters, ű as ú) and would change the text. Characters without
    a faithful command (Greek, Arabic, emoji, directional marks) stay UTF-8, which biber and
    XeLaTeX/LuaLaTeX read. Built on first use (~1.5 s), not at import."""
    decoder = LatexNodes2Text(math_mode="verbatim")
    table = {code: command for code, command in get_builtin_uni2latex_dict().items() if code > 0x7F}
    quiet = logging.getLogger("pylatexenc")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it warns about its own table while decoding
    try:
        # One decoding of every command, each in its own group (no argument can reach the next one).
        decoded = decoder.latex_to_text("@@@".join("{" + command + "}" for command in table.values())).split("@@@")
    finally:
        quiet.setLevel(level)
    faithful = {
        code: command for (code, command), text in zip(table.items(), decoded, strict=True) if text == chr(code)
    }
    return UnicodeToLatexEncoder(
        conversion_rules=[
            UnicodeToLatexConversionRule(RULE_DICT, _SPECIALS),
            UnicodeToLatexConversionRule(RULE_REGEX, [(_LIGATURES, r"\g<0>{}")], "none"),
            UnicodeToLatexConversionRule(RULE_DICT, faithful),
        ],
        replacement_latex_protection="braces-all",
        unknown_char_policy="keep",
        unknown_char_warning=False,
    )


def latex(text: str) -> str:
    """``text`` as LaTeX for a BibTeX field: control characters folded to spaces, every LaTeX special and
    every non-ASCII character with a faithful LaTeX command encoded (see _latex_encoder), TeX ligatures
    broken. The result is brace-balanced."""
    return str(_latex_encoder().unicode_to_latex(fold_controls(text)))


# What BibTeX splits a name list or a name at: `and` between spaces (any case), and commas.
_NAME_SPLITTERS = re.compile(r",|(?:^|\s)and(?:\s|$)", re.IGNORECASE)


def _name_part(part: str | None) -> str:
    """One part of a personal name as LaTeX, braced if BibTeX would split it; "" when it has no text."""
    text = fold_controls(part or "").strip()
    encoded = latex(text) if text else ""
    return "{" + encoded + "}" if _NAME_SPLITTERS.search(encoded) else encoded


def bibtex_names(citation: Citation) -> str:
    """The `author` field: `Family, Given` per person, each part braced only if it holds a comma or the word
    `and`; an organisation (a CSL `literal` name) braced whole, so BibTeX reads it as one name and never
    as several people or as a family and given name."""
    names = []
    for author in citation.authors:
        if literal := fold_controls(author.get("literal") or "").strip():
            names.append("{" + latex(literal) + "}")
            continue
        if parts := [p for p in (_name_part(author.get("family")), _name_part(author.get("given"))) if p]:
            names.append(", ".join(parts))
    return " and ".join(names)


def bibtex_literal_list(*items: str | None) -> str:
    """A BibLaTeX literal list field (`organization`, `publisher`, `institution`, `location`: biber splits
    each at ` and ` as it splits names) from its items, each braced whole as LaTeX, so that an item holding
    the word `and` (``Ministry of Foreign Affairs and Overseas Pakistanis``) stays one item; items without
    text left out. ``{Dawn} and {Reuters}`` for two."""
    texts = (fold_controls(item or "").strip() for item in items)
    return " and ".join("{" + latex(text) + "}" for text in texts if text)


def bibtex_entry(citation: Citation) -> dict[str, str]:
    """BibLaTeX: `@article` for newspaper/magazine/journal pieces, `@online` otherwise. Every text field
    is LaTeX (see :func:`latex`); a list field (`author`, `organization`, `publisher`) braces each name
    whole unless it is a person's (see :func:`bibtex_names`, :func:`bibtex_literal_list`); the URL is
    percent-encoded where RFC 3986 requires it (so it holds no brace, backslash or space)."""
    article = citation.csl_type in ("article-newspaper", "article-magazine", "article-journal")
    entry = {
        "ENTRYTYPE": "article" if article else "online",
        "ID": _bibtex_key(citation.id),
        "title": latex(citation.title),
    }
    if names := bibtex_names(citation):
        entry["author"] = names
    if citation.container_title and article:
        entry["journaltitle"] = latex(citation.container_title)
    if organisation := bibtex_literal_list(citation.publisher) or bibtex_literal_list(citation.container_title):
        # @online's `organization` is the publisher, else the site; an @article names its publisher only
        # without a journal title.
        if not article:
            entry["organization"] = organisation
        elif not citation.container_title:
            entry["publisher"] = organisation
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


def bibtex_ending(count: int) -> str:
    """The closing `@comment` of a complete BibTeX export (BibTeX and biber ignore comments): a saved file
    without it was cut short."""
    return f"\n@comment{{dipevents export complete: {count} entries}}\n"


CITATION_EXPORTS: dict[str, Export] = {
    "csl-json": Export("application/vnd.citationstyles.csl+json", "json", write_csl_json),
    "ris": Export("application/x-research-info-systems", "ris", write_ris),
    "bibtex": Export("application/x-bibtex; charset=utf-8", "bib", write_bibtex, ending=bibtex_ending),
}
