"""How the API answers for an id that names no live record (used by every GET of a record and by the writes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.curation import store
from app.problems import ProblemError


def missing(
    session: Session, kind: str, record_id: str, *, for_write: bool = False, noun: str | None = None
) -> ProblemError:
    """The answer for an id with no live record of ``kind`` (as written: "events", …): 301 (308 for a write) to its
    new id if it was renamed, 410 if it was deleted (naming a replacement when there is one), else 404. ``noun``:
    what the URL calls the record, when not ``kind``'s singular (a visit is an event); the 301's Location swaps the
    id in the request's own path, so /v1/visits/<old> moves to /v1/visits/<new>."""
    found = store.retired(session, kind, record_id)
    singular = noun or kind[:-1]
    if found is None:
        return ProblemError(404, "not-found", f"no {singular} with id {record_id!r}")
    if found.reason == "renamed" and found.successor:
        status = 308 if for_write else 301
        return ProblemError(
            status,
            "moved",
            f"{singular} {record_id!r} is now {found.successor!r}",
            successor=(record_id, found.successor),
        )
    detail = f"{singular} {record_id!r} was deleted"
    if found.successor:
        detail += f"; it is replaced by {found.successor!r}"
        return ProblemError(410, "gone", detail, successor=(record_id, found.successor))
    return ProblemError(410, "gone", detail)
