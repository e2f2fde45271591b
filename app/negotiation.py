"""Content negotiation (RFC 9110 §12.5.1) for the endpoints that can answer in several formats.

The Accept header is weighed by python-mimeparse (q-values, then specificity: `text/csv` beats `text/*`
beats `*/*`); JSON wins ties, so `*/*`, a browser's `text/html,…,*/*;q=0.8` and no Accept at all all
get the JSON page. `format=` overrides the header. Nothing acceptable is a 406 problem listing what is.
"""

from __future__ import annotations

from collections.abc import Mapping

import mimeparse

from app.exports import Export
from app.problems import ProblemError

JSON = "application/json"


def bare(media_type: str) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return media_type.split(";")[0].strip()


def negotiate(accept: str | None, requested: str | None, formats: Mapping[str, Export]) -> str:
    """The format to answer with: ``requested`` (`format=`) when given, else the best match of the
    Accept header among JSON and the export ``formats`` ("json" or a key of ``formats``).

    Raises a 406 problem (app.problems.ProblemError) when the header accepts none of them. A header
    that cannot be parsed is treated as absent (RFC 9110 lets a server ignore it)."""
    if requested:
        return requested
    if not accept or not accept.strip():
        return "json"
    # Types and subtypes are case-insensitive (RFC 9110 §8.3.1); mimeparse compares them as given.
    accept = accept.lower()
    by_type = {bare(export.media_type): name for name, export in formats.items()}
    # mimeparse breaks ties in favour of the last candidate: JSON goes last, and among exports the first
    # declared (CSV for events) wins `text/*`.
    candidates = [*reversed(by_type), JSON]
    try:
        best = mimeparse.best_match(candidates, accept)
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        return "json"
    if not best:
        offered = ", ".join([JSON, *by_type])
        raise ProblemError(
            406,
            "not-acceptable",
            f"none of the media types in Accept is available; this resource offers {offered}",
            "Accept",
            headers={"Vary": "Accept"},
        )
    return "json" if best == JSON else by_type[best]


def require_acceptable(accept: str | None, media_type: str) -> None:
    """For an operation with one media type: a 406 problem when Accept rules it out (q=0 or not listed)."""
    if not accept or not accept.strip():
        return
    try:
        quality = mimeparse.quality(bare(media_type), accept.lower())
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        return
    if quality <= 0:
        raise ProblemError(
            406,
            "not-acceptable",
            f"this operation answers only {bare(media_type)}",
            "Accept",
            headers={"Vary": "Accept"},
        )


def wants_export(accept: str | None, requested: str | None, formats: Mapping[str, Export]) -> bool:
    """Whether a list request will be answered with an export (for the rate limiter, before routing)."""
    try:
        return negotiate(accept, requested, formats) != "json"
    except ProblemError:
        return False
