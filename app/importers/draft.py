"""Draft a data bundle from a policy brief written in Markdown.

The next brief in a series should start from parsed citations and a section
skeleton instead of retyping them. Everything here is a *draft*: a curator
reviews it, writes descriptions in their own words and adds events. No prose
is copied from the brief (only headings, names and footnote metadata).

Mapping rules (derived from the layout of the series, never from its words):

Title block -- the run of headings before the first body text.
  * A heading like ``Part-5`` / ``No. 3`` / ``Issue 2`` is the *part*; the
    heading right after it is the *title* and ends the title block. Without a
    part heading the title is the last heading before any numbered heading.
  * A heading like ``(2018-2020)`` gives ``period`` as EDTF ``2018/2020``.
  * ``series`` = the headings before the period joined with ": ", plus
    " (2018-2020)". Headings between the period and the part heading are
    labels (e.g. "Policy Brief") prefixed to the part: "Policy Brief, Part-5".
  * ``subtitle`` is set only when the title heading has the form "Title: Sub".
  * ``description`` stays empty: curators write it.

Sections -- every later heading; body text before the first one is the
``introduction`` section.
  * Numbered headings ("(1) X", "2. Y") get a slug key without the number.
    Their Markdown level is unreliable in these briefs, so a numbered heading
    is the child of the nearest preceding *unnumbered* heading (e.g.
    "Chronology"). Unnumbered headings nest by level among themselves only.
  * ``paragraphs`` counts body paragraphs. Footnote lines are not counted,
    nor bare page numbers or rules. A paragraph with no terminal punctuation
    followed (possibly after a footnote block) by a body paragraph that
    starts lowercase is one paragraph split by a page break: counted once.
  * A credits label ("Prepared by:", "For queries:", ...) starts a ``credits``
    section that runs to the next heading; each label counts one paragraph.
    Bold names under an authoring label ("Prepared by", "Written by", ...)
    become the source's authors ("Ambassador (retd) Tajammul Altaf" ->
    given "Tajammul", family "Altaf"; the last word is the family name). The
    affiliation under the first name is split into lines and comma pieces;
    the last piece naming an organisation is the publisher, the next the place.

Citations -- every ``<sup>N</sup> ...`` line. Shapes understood:
  ``Authors, "Title," Container, Month D, YYYY, <url>`` and
  ``Publisher: 'Title,' DD Month YYYY, <url>``, optionally followed by
  "(accessed DATE)". Dates are read with ``datetime.strptime`` and a few
  explicit formats only (day, month or year precision). Ids are
  ``outlet-date-title-words`` (stopwords and numbers dropped, ``-2`` on a
  clash), or ``<source>-fn-N`` when fewer than two of those are known. Type
  heuristic:
  ministries, embassies, governments, institutes and IGOs (by name, or a
  government URL) -> ``webpage`` with ``publisher``; an italic container ->
  ``article-magazine`` if its name looks like a magazine, else
  ``article-newspaper`` (``container_title`` only, the publisher is unknown);
  any other named outlet (wire services) -> ``article-newspaper`` with the
  name as both ``container_title`` and ``publisher``. Whatever cannot be
  parsed yields a record with what was found and ``notes: "draft: ..."``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import yaml

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_FOOTNOTE = re.compile(r"^<sup>\s*(\d+)\s*</sup>\s*(.*)$")
_SKIP = re.compile(r"^(?:\d{1,3}|[-*_]{3,})$")  # bare page numbers, horizontal rules
_PART = re.compile(r"^(?:part|no\.?|number|issue|vol(?:ume|\.)?)\s*[-–.:#]?\s*[\w.]+$", re.I)
_PERIOD = re.compile(r"^\(?\s*(\d{4})\s*(?:[-–—/]\s*(\d{4}))?\s*\)?$")
_NUMBERED = re.compile(r"^(?:\((?:\d+|[ivx]+|[a-z])\)|\d+[.)])\s+", re.I)
_CREDIT_LABEL = re.compile(
    r"^(?P<label>(?:prepared|written|compiled|authored|edited|researched)\s+by|authors?"
    r"|for\s+(?:queries|enquiries|inquiries|more\s+information)|contacts?)\s*:\s*(?P<rest>.*)$",
    re.I,
)
_AUTHORING = re.compile(r"^(?:prepared|written|compiled|authored|researched)\s+by|authors?$", re.I)
_HONORIFIC = re.compile(
    r"^(?:(?:ambassador|amb|dr|prof|professor|mr|mrs|ms|sir|dame|gen|general|lt|lieutenant|maj|major"
    r"|brig|brigadier|col|colonel|cdr|capt|captain|air|marshal|vice|rear|admiral|adm|justice|senator"
    r"|hon|engr)\b\.?\s*|\((?:retd?|r|retired)\.?\)\s*)+",
    re.I,
)
_POSTNOMINAL = re.compile(r"(?:,?\s*\((?:retd?|r|retired)\.?\)|,\s*(?:phd|ph\.d\.|jr\.?|sr\.?))+$", re.I)
_INSTITUTION = re.compile(
    r"\b(?:ministry|embassy|consulate|government|department|office|mission|secretariat|parliament"
    r"|senate|white\s+house|mofa|mfa|mea|ispr|institute|centre|center|university|council|foundation"
    r"|commission|fund|bank|united\s+nations|un|imf|nato)\b",
    re.I,
)
_MAGAZINE = re.compile(
    r"\b(?:magazine|review|quarterly|monthly|weekly|affairs|foreign\s+policy|economist|diplomat|atlantic)\b",
    re.I,
)
_GOV_URL = re.compile(r"^https?://[^/]*\.(?:gov|mil|gob|gouv)(?:\.[a-z]{2})?(?:[:/]|$)", re.I)
_URL = re.compile(r"<(https?://[^>\s]+)>|\[[^\]]*\]\((https?://[^)\s]+)\)|(https?://\S+)")
_ACCESSED = re.compile(r"\b(?:accessed|retrieved|last\s+visited)\b[:\s]*(?P<date>.*)$", re.I)

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
# Most specific first; each pattern lists the strptime formats tried on its normalised match.
_DATES: list[tuple[re.Pattern[str], tuple[str, ...], str]] = [
    (re.compile(rf"\b{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}\b"), ("%B %d %Y", "%b %d %Y"), "%Y-%m-%d"),
    (re.compile(rf"\b\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}\b"), ("%d %B %Y", "%d %b %Y"), "%Y-%m-%d"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), ("%Y-%m-%d",), "%Y-%m-%d"),
    (re.compile(rf"\b{_MONTH},?\s+\d{{4}}\b"), ("%B %Y", "%b %Y"), "%Y-%m"),
    (re.compile(r"\b(?:1[89]|20)\d{2}\b"), ("%Y",), "%Y"),
]
_SOURCE_ORDER = (
    "title",
    "subtitle",
    "series",
    "part",
    "type",
    "publisher",
    "publisher_place",
    "authors",
    "period",
    "description",
    "notes",
    "sections",
)
_CITATION_ORDER = (
    "id",
    "source",
    "footnote",
    "type",
    "title",
    "container_title",
    "publisher",
    "authors",
    "issued",
    "url",
    "accessed",
    "notes",
)
# Words dropped from id slugs: they make ids long without telling records apart.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "and",
        "or",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "its",
        "it",
        "this",
        "that",
        "least",
        "about",
        "over",
        "under",
        "into",
        "than",
        "per",
        "million",
        "billion",
        "trillion",
        "thousand",
        "percent",
    ]
)


@dataclass
class _Block:
    kind: str  # "heading" | "footnote" | "text"
    text: str
    level: int = 0  # heading level
    number: int = 0  # footnote number
    lines: list[str] = field(default_factory=list)


@dataclass
class _Section:
    key: str
    title: str
    parent: str | None = None
    paragraphs: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "title": self.title}
        if self.parent:
            out["parent"] = self.parent
        out["paragraphs"] = self.paragraphs
        return out


# --------------------------------------------------------------------------- text helpers


def _unescape(text: str) -> str:
    """Undo Markdown backslash escapes (the brief writes ``\\$900``)."""
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!$&<>|~\"'])", r"\1", text)


def _plain(text: str) -> str:
    """Markdown inline text -> plain text (emphasis markers and escapes removed)."""
    text = re.sub(r"(?<!\\)(\*\*|__|\*|_(?=\S)|(?<=\S)_)", "", text)
    return _unescape(text).strip()


def _slugify(text: str, max_words: int | None = None, drop_stopwords: bool = False) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    # Drop apostrophes and dots so "Wells'" -> "wells" and "U.S." -> "us", not "u-s".
    words = re.sub(r"[^a-z0-9]+", " ", re.sub(r"['.]", "", ascii_text.lower())).split()
    if drop_stopwords:
        words = [w for w in words if w not in _STOPWORDS and not w.isdigit()]
    return _cap("-".join(words[:max_words] if max_words else words))


def _cap(slug: str, limit: int = 80) -> str:
    """Cut a slug at a word boundary: the schema caps ids and keys at 120 characters."""
    return slug if len(slug) <= limit else slug[: limit + 1].rsplit("-", 1)[0]


def _ends_open(text: str) -> bool:
    """True if a paragraph stops mid-sentence (no terminal punctuation)."""
    tail = re.sub(r"(?:<sup>\s*\d+\s*</sup>|[\s\"'”’)\]*_])+$", "", text)
    return not tail.endswith((".", "!", "?", ":"))


def _starts_lower(text: str) -> bool:
    stripped = text.lstrip("*_\"'“‘( ")
    return bool(stripped) and stripped[0].islower()


def _parse_date(text: str) -> tuple[str, re.Match[str]] | None:
    """First date in ``text`` as EDTF, with its match. Explicit formats only."""
    for pattern, formats, edtf_format in _DATES:
        for match in pattern.finditer(text):
            normalised = re.sub(r"\s+", " ", match.group().replace(",", "").replace(".", ""))
            normalised = re.sub(r"^Sept\b|(?<= )Sept\b", "Sep", normalised)
            for fmt in formats:
                try:
                    return dt.datetime.strptime(normalised, fmt).strftime(edtf_format), match
                except ValueError:
                    continue
    return None


def _csl_name(raw: str) -> dict[str, str]:
    """'Ambassador (retd) Tajammul Altaf' -> {family: Altaf, given: Tajammul}."""
    name = _POSTNOMINAL.sub("", _HONORIFIC.sub("", _plain(raw))).strip(" ,.")
    words = name.split()
    if len(words) < 2:
        return {"literal": name}
    return {"family": words[-1], "given": " ".join(words[:-1])}


# --------------------------------------------------------------------------- blocks


def _blocks(markdown: str) -> list[_Block]:
    """Split Markdown into headings, footnotes (one per ``<sup>N</sup>`` line) and text blocks."""
    blocks: list[_Block] = []
    para: list[str] = []
    prev_blank = True

    def flush() -> None:
        if para:
            lines = [line.strip() for line in para]
            text = " ".join(lines)
            if not _SKIP.match(text):
                blocks.append(_Block("text", text, lines=lines))
            para.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif heading := _HEADING.match(line):
            flush()
            blocks.append(_Block("heading", _plain(heading.group(2)), level=len(heading.group(1))))
        elif footnote := _FOOTNOTE.match(line):
            flush()
            blocks.append(_Block("footnote", footnote.group(2).strip(), number=int(footnote.group(1))))
        elif blocks and blocks[-1].kind == "footnote" and not para and not prev_blank:
            blocks[-1].text += " " + line  # a footnote wrapped onto the next line
        else:
            para.append(raw)
        prev_blank = not line
    flush()
    return blocks


# --------------------------------------------------------------------------- source


def _title_block(headings: list[str]) -> tuple[dict[str, Any], int]:
    """Source metadata from the leading headings, and how many headings it used."""
    if not headings:
        return {}, 0
    part_i = next((i for i, h in enumerate(headings) if _PART.match(h)), None)
    if part_i is not None and part_i + 1 < len(headings):
        title_i = part_i + 1
    else:
        # No part heading: a numbered heading cannot be in the title block (a brief with no
        # opening paragraph goes straight from its title to "(1) ...").
        first_numbered = next((i for i, h in enumerate(headings) if _NUMBERED.match(h)), len(headings))
        part_i, title_i = None, max(first_numbered, 1) - 1
    before = headings[: part_i if part_i is not None else title_i]
    period_i = next((i for i, h in enumerate(before) if _PERIOD.match(h)), None)
    series_heads, labels = (before[:period_i], before[period_i + 1 :]) if period_i is not None else (before, [])

    meta: dict[str, Any] = {}
    title = headings[title_i]
    title, _, subtitle = title.partition(": ")
    meta["title"] = title
    if subtitle:
        meta["subtitle"] = subtitle
    series = ": ".join(series_heads)
    if period_i is not None:
        match = _PERIOD.match(before[period_i])
        assert match  # found by the same pattern above
        start, end = match.group(1), match.group(2)
        meta["period"] = f"{start}/{end}" if end else start
        series = f"{series} ({start}-{end})" if end else f"{series} ({start})"
    if series.strip():
        meta["series"] = series.strip()
    part = labels + ([headings[part_i]] if part_i is not None else [])
    if part:
        meta["part"] = ", ".join(part)
    return meta, title_i + 1


def _credits(groups: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """Authors, publisher and place from the authoring credit groups."""
    meta: dict[str, Any] = {"authors": []}
    for label, lines in groups:
        if not _AUTHORING.match(label):
            continue  # "For queries:" names a contact, not an author
        for i, line in enumerate(lines):
            bold = re.match(r"^\*\*(.+?)\*\*", line)
            if not bold:
                continue
            meta["authors"].append(_csl_name(bold.group(1)))
            if "publisher" in meta:
                continue
            # Affiliation pieces, whether one per line or comma-separated on one line:
            # [role, organisation, place]. The last piece naming an organisation wins.
            affiliation: list[str] = []
            for follow in lines[i + 1 :]:
                if follow.startswith("**"):
                    break
                affiliation += [p.strip(" .;") for p in _plain(follow).split(",") if p.strip(" .;")]
            org_i = max((j for j, a in enumerate(affiliation) if _INSTITUTION.search(a)), default=None)
            if org_i is not None:
                meta["publisher"] = affiliation[org_i]
                if org_i + 1 < len(affiliation):
                    meta["publisher_place"] = affiliation[org_i + 1]
    return meta


# --------------------------------------------------------------------------- citations


def _split_authors(text: str) -> list[dict[str, str]] | None:
    """'A B and C D' / 'A B, C D & E F' -> CSL names; None if it does not look like names."""
    parts = [p.strip() for p in re.split(r",?\s+(?:and|&)\s+|\s*[;,]\s*", text) if p.strip()]
    if not parts or any(len(p.split()) > 5 or re.search(r"\d", p) for p in parts):
        return None
    return [_csl_name(p) for p in parts]


def _find_title(text: str) -> re.Match[str] | None:
    """The quoted title: double quotes first to last; single quotes ending in ,' or .'."""
    return (
        re.search(r"[“\"](?P<t>.+)[”\"]", text)
        or re.search(r"(?:^|(?<=[\s:]))[‘'](?P<t>.+?)[,.][’']", text)
        or re.search(r"(?:^|(?<=[\s:]))[‘'](?P<t>.+)[’']", text)
    )


def _citation(number: int, raw: str, source_id: str) -> dict[str, Any]:
    record: dict[str, Any] = {"source": source_id, "footnote": number if number >= 1 else None}
    problems: list[str] = []
    text = raw.strip()

    url_match = _URL.search(text)
    if url_match:
        record["url"] = next(g for g in url_match.groups() if g).rstrip(".,;")
        text = (text[: url_match.start()] + text[url_match.end() :]).strip()
    else:
        problems.append("url")
    text = text.rstrip(" ,.;")

    title_match = _find_title(text)
    if title_match:
        record["title"] = _plain(title_match.group("t")).rstrip(" ,.")
        before, after = text[: title_match.start()].strip(), text[title_match.end() :]
    else:
        problems.append("title")
        before, after = "", text

    accessed = _ACCESSED.search(after)
    if accessed:
        found = _parse_date(accessed.group("date"))
        if found:
            record["accessed"] = found[0]
        after = after[: accessed.start()]
    date = _parse_date(after)
    if date:
        record["issued"] = date[0]
        after = after[: date[1].start()] + after[date[1].end() :]
    else:
        problems.append("date")

    # What is left once title, date, url and access date are cut out is the outlet; drop
    # the separators and brackets those cuts leave behind ("Courier, ,  (").
    name = ", ".join(p for p in (p.strip(" .;:()[]") for p in after.split(",")) if p)
    if before.endswith(":"):  # "Publisher: 'Title,' date" shape
        name = name or before[:-1].strip()
    elif before:
        authors = _split_authors(_plain(before).rstrip(" ,."))
        if authors:
            record["authors"] = authors
        else:
            problems.append("authors")
    italic = bool(re.fullmatch(r"(\*|_)[^*_]+\1", name))
    name = _plain(name)

    if not title_match:
        record["title"] = name or _plain(raw)[:200] or f"footnote {number}"
        name = ""
    if name and (_INSTITUTION.search(name) or _GOV_URL.match(record.get("url", ""))):
        record.update(type="webpage", publisher=name)
    elif name and italic:
        record.update(type="article-magazine" if _MAGAZINE.search(name) else "article-newspaper", container_title=name)
    elif name:
        record.update(type="article-newspaper", container_title=name, publisher=name)
    else:
        record["type"] = "webpage" if "url" in record else "document"
        if title_match:
            problems.append("publisher")

    if problems:
        record["notes"] = f"draft: could not parse {', '.join(problems)} from footnote: {_unescape(raw)}"
    return record


def _citation_id(record: dict[str, Any]) -> str:
    """outlet-date-title-words; "" when fewer than two parts are known (too weak to be unique)."""
    parts = [
        _slugify(record.get("container_title") or record.get("publisher") or "", max_words=3, drop_stopwords=True),
        record.get("issued", ""),
        _slugify(record.get("title", ""), max_words=4, drop_stopwords=True),
    ]
    known = [p for p in parts if p]
    return _cap("-".join(known), 110) if len(known) >= 2 else ""


def _safe_citation(number: int, raw: str, source_id: str) -> dict[str, Any]:
    """A footnote must never abort the draft: fall back to a bare record."""
    try:
        record = _citation(number, raw, source_id)
    except Exception as exc:
        record = {
            "source": source_id,
            "footnote": number if number >= 1 else None,
            "type": "document",
            "title": _plain(raw)[:200] or f"footnote {number}",
            "notes": f"draft: could not parse footnote ({type(exc).__name__}): {_unescape(raw)}",
        }
    record["id"] = _citation_id(record) or f"{source_id}-fn-{number}"
    ordered = {k: record[k] for k in _CITATION_ORDER if k in record}  # the order curators write
    return {k: v for k, v in ordered.items() if v not in (None, [], "")}


# --------------------------------------------------------------------------- public API


def draft_bundle(markdown: str, source_id: str) -> dict[str, Any]:
    """Return {"sources": [source], "citations": [...]} in the bundle format.

    See the module docstring for the mapping rules. The result validates with
    ``app.schemas.bundle.Bundle`` but is a draft: review before committing.
    """
    blocks = _blocks(markdown)
    leading = 0
    while leading < len(blocks) and blocks[leading].kind == "heading":
        leading += 1
    meta, used = _title_block([b.text for b in blocks[:leading]])

    sections: list[_Section] = []
    keys: set[str] = set()
    citations: list[dict[str, Any]] = []
    credit_groups: list[tuple[str, list[str]]] = []
    current: _Section | None = None
    credits: _Section | None = None
    in_credits = False
    open_paragraph = False  # the last body paragraph of `current` stopped mid-sentence
    level_stack: list[tuple[int, str]] = []  # unnumbered headings, for nesting by level

    def new_section(base: str, title: str, parent: str | None, at_front: bool = False) -> _Section:
        key, n = base or "section", 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.add(key)
        section = _Section(key, title, parent)
        sections.insert(0, section) if at_front else sections.append(section)
        return section

    for block in blocks[used:]:
        if block.kind == "footnote":
            citations.append(_safe_citation(block.number, block.text, source_id))
        elif block.kind == "heading":
            in_credits, open_paragraph = False, False
            numbered = _NUMBERED.match(block.text)
            if numbered:
                parent = level_stack[-1][1] if level_stack else None
                current = new_section(_slugify(block.text[numbered.end() :]), block.text, parent)
            else:
                while level_stack and level_stack[-1][0] >= block.level:
                    level_stack.pop()
                parent = level_stack[-1][1] if level_stack else None
                current = new_section(_slugify(block.text), block.text, parent)
                level_stack.append((block.level, current.key))
        elif label := _CREDIT_LABEL.match(block.lines[0]):
            in_credits = True
            if credits is None:
                credits = new_section("credits", "", None)
            credits.paragraphs += 1
            lines = ([label.group("rest")] if label.group("rest") else []) + block.lines[1:]
            credit_groups.append((label.group("label"), lines))
        elif in_credits:
            credit_groups[-1][1].extend(block.lines)  # the block under the last label
        elif open_paragraph and current is not None and _starts_lower(block.text):
            open_paragraph = _ends_open(block.text)  # continuation after a page break: same paragraph
        else:
            if current is None:
                current = new_section("introduction", "Introduction (untitled opening text)", None, at_front=True)
            current.paragraphs += 1
            open_paragraph = _ends_open(block.text)

    if credits is not None:
        credits.title = " / ".join(dict.fromkeys(label for label, _ in credit_groups))
    people = _credits(credit_groups)

    found: dict[str, Any] = {**meta, **{k: v for k, v in people.items() if v}, "type": "report", "description": ""}
    if not found.get("title"):
        found.update(title=source_id, notes="draft: no title heading found")
    found["sections"] = [s.as_dict() for s in sections] or [
        {"key": "body", "title": "(no sections found)", "paragraphs": 0}
    ]
    source = {"id": source_id, **{k: found[k] for k in _SOURCE_ORDER if k in found}}

    taken: set[str] = set()
    for record in citations:  # deduplicate ids in document order: -2, -3, ...
        base, n = record["id"], 2
        while record["id"] in taken:
            record["id"], n = f"{base}-{n}", n + 1
        taken.add(record["id"])
    citations.sort(key=lambda c: c.get("footnote") or 0)
    return {"sources": [source], "citations": citations}


def dump_draft(bundle: dict[str, Any]) -> str:
    """YAML text for ``bundle``, headed by a comment saying it is a draft to review."""
    source_id = (bundle.get("sources") or [{}])[0].get("id", "?")
    header = (
        f"# DRAFT generated by app.importers.draft for source {source_id!r}.\n"
        "# Review every record against the brief before committing: check names, dates,\n"
        "# types and section counts, write the description, and remove 'draft:' notes.\n"
    )
    return header + yaml.safe_dump(bundle, sort_keys=False, allow_unicode=True, width=100)
