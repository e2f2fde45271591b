"""Imprecise dates: EDTF text in, inclusive day bounds + precision out.

Parsing is delegated to the `edtf` package (strict bounds); we never use its
natural-language parser. Open interval ends come back as ±infinity there and
are mapped to ``None`` here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

import edtf
from edtf.parser.edtf_exceptions import EDTFParseException

Precision = Literal["day", "month", "year"]
_PRECISION_ORDER = {"day": 0, "month": 1, "year": 2}


class InvalidDate(ValueError):
    pass


@dataclass(frozen=True)
class DateSpan:
    """A date as a source states it, with the inclusive range of days it may denote."""

    edtf: str
    start: dt.date | None
    end: dt.date | None
    precision: Precision
    approximate: bool
    uncertain: bool

    def overlaps(self, lower: dt.date | None, upper: dt.date | None) -> bool:
        return (upper is None or self.start is None or self.start <= upper) and (
            lower is None or self.end is None or self.end >= lower
        )


def _bound(value: object) -> dt.date | None:
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, time.struct_time):
        return dt.date(value.tm_year, value.tm_mon, value.tm_mday)
    raise InvalidDate(f"unsupported EDTF bound {value!r}")


def _precision(node: object) -> str | None:
    precision = getattr(node, "precision", None)
    if isinstance(precision, str) and precision in _PRECISION_ORDER:
        return precision
    inner = getattr(node, "date", None)  # UncertainOrApproximate wraps a Date
    if inner is not None:
        return _precision(inner)
    return None


def parse_edtf(text: str) -> DateSpan:
    """Parse an EDTF string (levels 0–1) into a :class:`DateSpan`.

    Raises :class:`InvalidDate` with a readable message on anything else.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidDate("empty date")
    return _parse_edtf(text.strip())


# The edtf package's parser costs milliseconds per call and bundles repeat the same few
# thousand date strings, so results are memoised (DateSpan is immutable; failures are not cached).
@lru_cache(maxsize=65536)
def _parse_edtf(text: str) -> DateSpan:
    return _fast_date(text) or _parse_with_library(text)


def _parse_with_library(text: str) -> DateSpan:
    try:
        parsed = edtf.parse_edtf(text)
    except (EDTFParseException, ValueError, TypeError) as exc:
        raise InvalidDate(f"{text!r} is not a valid EDTF date") from exc
    try:
        start = _bound(parsed.lower_strict())
        end = _bound(parsed.upper_strict())
    except (ValueError, OverflowError) as exc:
        raise InvalidDate(f"{text!r} is not a valid calendar date") from exc
    # An unknown end (`/2000`, `2000/`) is a bound the source does not give; the edtf package fills it in
    # with a guess (ten years away), which would be an invented date.
    if text.startswith("/"):
        start = None
    if text.endswith("/"):
        end = None
    if start is not None and end is not None and start > end:
        raise InvalidDate(f"{text!r} ends before it starts")
    if start is None and end is None:
        raise InvalidDate(f"{text!r} has no bounded end")
    ends = [getattr(parsed, "lower", None), getattr(parsed, "upper", None)]
    parts = [node for node in ends if node is not None] or [parsed]
    precisions = [p for p in (_precision(node) for node in parts) if p]
    if not precisions:
        raise InvalidDate(f"{text!r}: unsupported EDTF feature")
    coarsest = max(precisions, key=_PRECISION_ORDER.__getitem__)
    if "X" in text and "/" not in text and start is not None and end is not None:
        # Unspecified digits (`2020-02-XX`, `0001-XX-XX`): the edtf package reports the precision the text is
        # written to, but the date is only as precise as the days it may denote.
        coarsest = "day" if start == end else "month" if (start.year, start.month) == (end.year, end.month) else "year"
    return DateSpan(
        edtf=text,
        start=start,
        end=end,
        precision=cast(Precision, coarsest),  # one of _PRECISION_ORDER's keys
        approximate=bool(getattr(parsed, "is_approximate", False) or "~" in text or "%" in text),
        uncertain=bool(getattr(parsed, "is_uncertain", False) or "?" in text or "%" in text),
    )


_PLAIN_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)


def _plain_date(text: str) -> DateSpan | None:
    """A plain calendar year, month or day (EDTF level 0, most dates there are) without the edtf package's
    parser, which costs ~20 ms a call (most of generating a benchmark dataset); None for anything else
    (qualifiers, intervals, seasons, year 0, impossible days), which the package parses or refuses.
    tests/test_dates.py checks that both agree."""
    match = _PLAIN_DATE.fullmatch(text)
    if match is None:
        return None
    year = int(match[1])
    month = int(match[2]) if match[2] else None
    if year == 0 or (month is not None and not 1 <= month <= 12):
        return None
    try:
        if month is None:
            start, end, precision = dt.date(year, 1, 1), dt.date(year, 12, 31), "year"
        elif match[3] is None:
            end = dt.date(year, 12, 31) if month == 12 else dt.date(year, month + 1, 1) - dt.timedelta(days=1)
            start, precision = dt.date(year, month, 1), "month"
        else:
            start = end = dt.date(year, month, int(match[3]))
            precision = "day"
    except (ValueError, OverflowError):
        return None
    return DateSpan(text, start, end, cast(Precision, precision), approximate=False, uncertain=False)


def _fast_date(text: str) -> DateSpan | None:
    """A plain date (see :func:`_plain_date`), one qualified as a whole (`2004-06~`, `1990?`, `2001-02-03%`), or a
    closed interval of two plain dates (`2004-06-01/2004-06-05`), without the edtf package's parser; None for
    anything else. The interval's precision is its coarser end's, as the package reports it; an interval that
    ends before it starts is left to the package, which refuses it. tests/test_dates.py checks the agreement."""
    if "/" in text:
        lower, _, upper = text.partition("/")
        first, last = _plain_date(lower), _plain_date(upper)
        if first is None or last is None or first.start is None or last.end is None or first.start > last.end:
            return None
        precision = max(first.precision, last.precision, key=_PRECISION_ORDER.__getitem__)
        return DateSpan(text, first.start, last.end, precision, approximate=False, uncertain=False)
    qualifier = text[-1:]
    if qualifier not in ("~", "?", "%"):
        return _plain_date(text)
    span = _plain_date(text[:-1])
    if span is None:
        return None
    return DateSpan(
        text, span.start, span.end, span.precision, approximate=qualifier in "~%", uncertain=qualifier in "?%"
    )


def date_record(text: str | None) -> dict[str, object] | None:
    """What the write path stores for a date served as a `DateOut` (JSON: edtf, start/end as ISO days
    or null, precision, approximate, uncertain), so reads never parse EDTF; None for no date.
    Raises :class:`InvalidDate` like :func:`parse_edtf`."""
    if text is None:
        return None
    span = parse_edtf(text)
    return {
        "edtf": span.edtf,
        "start": span.start.isoformat() if span.start else None,
        "end": span.end.isoformat() if span.end else None,
        "precision": span.precision,
        "approximate": span.approximate,
        "uncertain": span.uncertain,
    }


_QUERY_BOUND = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?", re.ASCII)


def parse_query_bound(text: str, *, upper: bool) -> dt.date:
    """Parse a filter value `YYYY`, `YYYY-MM` or `YYYY-MM-DD` to its first
    (``upper=False``) or last (``upper=True``) day."""
    if not _QUERY_BOUND.fullmatch(text):
        raise InvalidDate(f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    try:  # a real calendar day or month (EDTF would read 2019-21 as a season)
        dt.date(int(text[:4]), int(text[5:7] or 1), int(text[8:10] or 1))
    except ValueError:
        raise InvalidDate(f"{text!r} is not a calendar date") from None
    span = parse_edtf(text)
    if span.approximate or span.uncertain or "/" in text:
        raise InvalidDate(f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    bound = span.end if upper else span.start
    assert bound is not None
    return bound
