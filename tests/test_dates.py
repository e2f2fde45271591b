import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import dates
from app.dates import InvalidDate, parse_edtf, parse_query_bound


@pytest.mark.parametrize(
    ("text", "start", "end", "precision", "approximate", "uncertain"),
    [
        ("2018-09", dt.date(2018, 9, 1), dt.date(2018, 9, 30), "month", False, False),
        ("2019-07-21/2019-07-23", dt.date(2019, 7, 21), dt.date(2019, 7, 23), "day", False, False),
        ("2020-01-16/2020-01-17", dt.date(2020, 1, 16), dt.date(2020, 1, 17), "day", False, False),
        ("2018", dt.date(2018, 1, 1), dt.date(2018, 12, 31), "year", False, False),
        ("2020-02", dt.date(2020, 2, 1), dt.date(2020, 2, 29), "month", False, False),
        ("2019-08~", dt.date(2019, 8, 1), dt.date(2019, 8, 31), "month", True, False),
        ("2018?/2020?", dt.date(2018, 1, 1), dt.date(2020, 12, 31), "year", False, True),
        ("2019-07-22/2019-07", dt.date(2019, 7, 22), dt.date(2019, 7, 31), "month", False, False),
        ("2021-06-10/..", dt.date(2021, 6, 10), None, "day", False, False),
        ("../2020", None, dt.date(2020, 12, 31), "year", False, False),
        # An unknown end is no bound at all (the edtf package guesses one ten years away: an invented date).
        ("/2020", None, dt.date(2020, 12, 31), "year", False, False),
        ("2018-09/", dt.date(2018, 9, 1), None, "month", False, False),
        # The ends of the calendar, leap days and unspecified digits (as precise as the days they may denote).
        ("0001-01-01", dt.date(1, 1, 1), dt.date(1, 1, 1), "day", False, False),
        ("9999", dt.date(9999, 1, 1), dt.date(9999, 12, 31), "year", False, False),
        ("9999-12-31/..", dt.date(9999, 12, 31), None, "day", False, False),
        ("../0001-01-01", None, dt.date(1, 1, 1), "day", False, False),
        ("2000-02-29", dt.date(2000, 2, 29), dt.date(2000, 2, 29), "day", False, False),
        ("2020-02-XX", dt.date(2020, 2, 1), dt.date(2020, 2, 29), "month", False, False),
        ("0001-XX-XX", dt.date(1, 1, 1), dt.date(1, 12, 31), "year", False, False),
        ("9999-XX", dt.date(9999, 1, 1), dt.date(9999, 12, 31), "year", False, False),
    ],
)
def test_edtf_bounds_precision_and_flags(text, start, end, precision, approximate, uncertain):
    span = parse_edtf(text)
    assert (span.edtf, span.start, span.end, span.precision) == (text, start, end, precision)
    assert (span.approximate, span.uncertain) == (approximate, uncertain)


@pytest.mark.parametrize(
    "text",
    [
        "2019-13-01",
        "2019-02-29",
        "1900-02-29",
        "0000",
        "10000",
        "9999-24",
        "July 2019",
        "2019-07-23/2019-07-21",
        "../..",
        "/",
        "",
        "   ",
        "2019-7",
    ],
)
def test_invalid_edtf_is_refused(text):
    with pytest.raises(InvalidDate):
        parse_edtf(text)


def test_overlap_uses_inclusive_bounds_and_open_ends():
    month = parse_edtf("2018-09")
    assert month.overlaps(dt.date(2018, 9, 15), dt.date(2018, 9, 15))
    assert month.overlaps(dt.date(2018, 9, 30), None)
    assert not month.overlaps(dt.date(2018, 10, 1), None)
    assert parse_edtf("2021-06-10/..").overlaps(dt.date(2030, 1, 1), dt.date(2030, 1, 1))


@pytest.mark.parametrize(
    ("text", "upper", "expected"),
    [
        ("2019", False, dt.date(2019, 1, 1)),
        ("2019", True, dt.date(2019, 12, 31)),
        ("2019-07", False, dt.date(2019, 7, 1)),
        ("2019-07", True, dt.date(2019, 7, 31)),
        ("2019-07-22", True, dt.date(2019, 7, 22)),
        ("0001", False, dt.date(1, 1, 1)),
        ("9999", True, dt.date(9999, 12, 31)),
        ("9999-12", True, dt.date(9999, 12, 31)),
        ("2020-02", True, dt.date(2020, 2, 29)),
        ("1900-02", True, dt.date(1900, 2, 28)),
    ],
)
def test_query_bounds_expand_to_first_or_last_day(text, upper, expected):
    assert parse_query_bound(text, upper=upper) == expected


@pytest.mark.parametrize(
    "text", ["2019-07~", "2019/2020", "19", "2019-13", "20190722", "2019-07-22T10:00", "0000", "10000", "2019-02-29"]
)
def test_query_bounds_accept_only_plain_dates(text):
    with pytest.raises(InvalidDate):
        parse_query_bound(text, upper=False)


def _plain(year: int, month: int | None, day: int | None) -> str:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD` of any digits (so invalid months and days too)."""
    text = f"{year:04d}" + (f"-{month:02d}" if month is not None else "")
    return text + (f"-{day:02d}" if month is not None and day is not None else "")


def _agrees_with_the_package(fast: dates.DateSpan | None, text: str) -> bool:
    """Assert that the fast path (``fast``; None: not taken) answers as the edtf package does, refusing what it
    refuses; True when the package accepts ``text``."""
    try:
        slow = dates._parse_with_library(text)
    except dates.InvalidDate:
        assert fast is None
        return False
    assert fast is None or fast == slow
    return True


@settings(max_examples=100, deadline=None)
@given(
    year=st.integers(0, 9999),
    month=st.one_of(st.none(), st.integers(0, 24)),
    day=st.one_of(st.none(), st.integers(0, 32)),
)
def test_plain_dates_parse_as_the_edtf_package_parses_them(year: int, month: int | None, day: int | None) -> None:
    # app.dates parses plain years, months and days itself (the package's parser is slow); both must agree,
    # including on what they refuse.
    text = _plain(year, month, day)
    _agrees_with_the_package(dates._plain_date(text), text)


_PLAIN = st.builds(
    _plain, st.integers(0, 9999), st.one_of(st.none(), st.integers(0, 14)), st.one_of(st.none(), st.integers(0, 32))
)


@settings(max_examples=150, deadline=None)
@given(
    text=st.one_of(
        st.tuples(_PLAIN, st.sampled_from("~?%")).map("".join),
        st.tuples(_PLAIN, _PLAIN).map("/".join),
    )
)
def test_qualified_dates_and_intervals_parse_as_the_edtf_package_parses_them(text: str) -> None:
    # The fast path also takes a plain date qualified as a whole and a closed interval of two plain dates
    # (a tenth of a generated benchmark dataset); where it answers, it must answer as the package does.
    fast = dates._fast_date(text)
    if _agrees_with_the_package(fast, text) and "/" not in text:
        assert fast is not None, "a valid plain date with one qualifier takes the fast path"
