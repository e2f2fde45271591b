"""Keyset pagination with opaque cursors.

A cursor holds the sort key of the last row served, so page N costs the same
as page 1 (no OFFSET). It is signed so that a hand-edited or foreign cursor is
refused with a clear error instead of silently seeking somewhere odd.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, tuple_

from app.problems import bad_parameter

# Signs only the examples in the OpenAPI document when no deployment's key is at hand (app.main re-signs them
# with the deployment's key when it can read it). Real cursors are signed with the deployment's key: CURSOR_SECRET,
# or the one the migrations stored (app.models.ServiceSecret).
EXAMPLE_KEY = b"dipevents-example-cursor"


@dataclass(frozen=True)
class SortKey:
    column: ColumnElement[Any]
    decode: Callable[[Any], Any]  # JSON value -> Python value for the column
    descending: bool = False


# Decoders of cursor values: each accepts only what its column can hold, so a cursor that passes the
# signature check but carries an odd value is a 400, never a database error.
MAX_KEY_TEXT = 500


def as_date(value: Any) -> dt.date:
    """An ISO day (`YYYY-MM-DD`); raises ValueError or TypeError otherwise."""
    if not isinstance(value, str) or len(value) != 10:
        raise TypeError("expected an ISO date")
    return dt.date.fromisoformat(value)


def as_str(value: Any) -> str:
    """Text the databases can compare (no NUL, bounded length); raises TypeError or ValueError otherwise."""
    if not isinstance(value, str):
        raise TypeError("expected a string")
    if "\x00" in value or len(value) > MAX_KEY_TEXT:
        raise ValueError("not a key value")
    value.encode("utf-8")  # a lone surrogate (JSON allows "\ud800") cannot reach a database: UnicodeEncodeError
    return value


def as_int(value: Any) -> int:
    """A 64-bit integer (JSON booleans and floats refused); raises TypeError or ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    if not -(2**63) <= value < 2**63:
        raise ValueError("out of range")
    return value


def _encode_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def encode_cursor(sort: str, values: list[Any], query: str, key: bytes) -> str:
    """An opaque cursor for the position ``values`` (the last row's sort keys) of the list ordered by
    ``sort`` and filtered as fingerprinted by ``query`` (see :func:`query_fingerprint`), signed (HMAC-SHA-256,
    72 bits) with ``key``."""
    payload = json.dumps(
        {"s": sort, "q": query, "k": [_encode_value(v) for v in values]}, separators=(",", ":")
    ).encode()
    return _signed(payload, key)


def _signed(payload: bytes, key: bytes) -> str:
    signature = hmac.new(key, payload, hashlib.sha256).digest()[:9]
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + base64.urlsafe_b64encode(signature).decode()


def resign(cursor: str, key: bytes) -> str:
    """The same position signed with ``key`` (for the OpenAPI examples). Raises ValueError for a malformed
    cursor."""
    body = cursor.split(".", 1)[0]
    return _signed(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), key)


def query_fingerprint(resource: str, filters: Mapping[str, Any]) -> str:
    """A short hash of the list (``resource``) and the filter values that select its rows: a cursor made
    for another list or under other filters would seek into another result set and skip or repeat rows."""
    selected = sorted((k, v) for k, v in filters.items() if v not in (None, []))
    canonical = json.dumps([resource, selected], default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def decode_cursor(cursor: str, sort: str, keys: list[SortKey], query: str, key: bytes) -> list[Any]:
    """The position a cursor holds. Raises a 400 problem naming `cursor` when it was not signed with ``key``
    (not issued by this deployment), was issued for another sort or other filters, or holds a value its
    column cannot (each checked by its SortKey's decoder)."""
    try:
        body, signature = cursor.split(".", 1)
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        expected = hmac.new(key, payload, hashlib.sha256).digest()[:9]
        if not hmac.compare_digest(base64.urlsafe_b64decode(signature), expected):
            raise ValueError("bad signature")
        data = json.loads(payload)
        if data["s"] != sort:
            raise bad_parameter(
                "cursor", f"this cursor belongs to sort={data['s']!r}, not sort={sort!r}", "invalid-cursor"
            )
        if data.get("q", "") != query:
            raise bad_parameter(
                "cursor", "this cursor belongs to a query with other filters; start again without it", "invalid-cursor"
            )
        values = data["k"]
        if len(values) != len(keys):
            raise ValueError("wrong arity")
        return [key.decode(value) for key, value in zip(keys, values, strict=True)]
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError, UnicodeDecodeError):
        raise bad_parameter(
            "cursor", "not a cursor issued by this API; omit it to start from the first page", "invalid-cursor"
        ) from None


def after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order given by ``keys`` (works with mixed directions)."""
    if len({k.descending for k in keys}) == 1:
        # One direction: a row-value comparison, which both databases turn into an index range, so a
        # deep page starts where the cursor points instead of re-reading the rows before it.
        row, position = tuple_(*[k.column for k in keys]), tuple_(*[literal(v) for v in values])
        return row < position if keys[0].descending else row > position
    clauses = []
    for i, key in enumerate(keys):
        equal_before = [k.column == v for k, v in zip(keys[:i], values[:i], strict=True)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


def order_by(keys: list[SortKey]) -> list[Any]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]
