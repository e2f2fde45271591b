"""The write surface: create, replace (PUT), merge-patch (PATCH, RFC 7396) and delete records of every kind; whole
bundles; each record's history; the change feed. Every write goes through app.curation.store (the one write path)
inside app.curation.store.write_transaction, and needs an API key (`Authorization: Bearer`, app.curation.keys).

Optimistic concurrency: a write to an existing record must send `If-Match` with an ETag a GET of that record
answered with (or `*`). The tag names the dataset version it was served at; the write goes ahead only if the
record has not changed since that version (checked under the write lock, so two curators racing on one record
cannot both win): 428 without `If-Match`, 412 when stale.
"""

# No `from __future__ import annotations`: the record endpoints are built per kind, and FastAPI reads their
# parameter types (the kind's bundle schema) from the annotations at definition time.

import datetime as dt
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import models as m
from app.curation import keys, store
from app.curation.answers import missing
from app.curation.store import KINDS, Author, NotFound, PreconditionFailed, Written
from app.curation.validate import RecordsInvalid
from app.deps import SnapshotDep, app_path, public_base
from app.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemError, RecordProblem, WriteProblem
from app.representation import VERSION_HEADER, ContractRoute, etag_of

router = APIRouter(route_class=ContractRoute)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key from `dipevents keys create`, sent as `Authorization: Bearer <token>`. Reads need none.",
)

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
TAGS = {"sources": "sources", "citations": "citations", "topics": "topics", "actors": "actors"}
EXAMPLE_IDS = {
    "events": "khan-trump-meeting-davos-2020-01-21",
    "actors": "imran-khan",
    "agreements": "imet-pakistan",
    "citations": "reuters-2018-01-05-us-suspends-security-aid",
    "topics": "kashmir-dispute",
    "sources": "ips-pakistan-us-relations-2018-2020",
}


# -- credentials -----------------------------------------------------------------------------------------------


def _unauthorized(detail: str, error: str | None = None) -> ProblemError:
    challenge = 'Bearer realm="dipevents"' + (f', error="{error}"' if error else "")
    return ProblemError(401, "unauthorized", detail, "Authorization", headers={"WWW-Authenticate": challenge})


def _author(
    request: Request, credentials: HTTPAuthorizationCredentials | None, scope: str, reason: str | None
) -> Author:
    if credentials is None:
        raise _unauthorized("send an API key as `Authorization: Bearer <token>`")
    with request.app.state.sessions() as session:
        key = keys.find_key(session, credentials.credentials)
    if key is None:
        raise _unauthorized("unknown or revoked API key", "invalid_token")
    if scope not in key.scopes:
        raise ProblemError(
            403,
            "forbidden",
            f"this key's scopes ({', '.join(key.scopes)}) do not include {scope!r}",
            "Authorization",
            headers={"WWW-Authenticate": f'Bearer realm="dipevents", error="insufficient_scope", scope="{scope}"'},
        )
    if keys.due_for_use_record(key):
        # A write of its own (SQLite: the write lock), so it can neither be lost with a failed write nor find its
        # read snapshot stale.
        with store.write_transaction(request.app.state.sessions) as session:
            keys.record_use(session, key)
    return Author(key.id, key.name, _header_reason(reason))


def _header_reason(raw: str | None) -> str | None:
    """X-Change-Reason, percent-decoded and checked (store.clean_reason); 400 naming the header otherwise."""
    if raw is None:
        return None
    try:
        return store.clean_reason(urllib.parse.unquote(raw, errors="strict"))
    except UnicodeDecodeError:
        problem = "is not percent-encoded UTF-8"
    except ValueError as exc:
        problem = str(exc)
    raise ProblemError(400, "invalid-parameter", problem, "X-Change-Reason")


ReasonHeader = Annotated[
    str | None,
    Header(
        alias="X-Change-Reason",
        description="Why the change is made, kept in the record's history: one line of text, at most "
        f"{store.REASON_LIMIT} characters, no control characters (percent-encode non-ASCII text as UTF-8). 400 "
        "otherwise.",
        examples=["Date corrected from the MOFA press release"],
    ),
]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def writer(request: Request, credentials: Credentials, reason: ReasonHeader = None) -> Author:
    """The caller of a record write: a live key with the `write` scope (401, 403 otherwise)."""
    return _author(request, credentials, "write", reason)


def administrator(request: Request, credentials: Credentials, reason: ReasonHeader = None) -> Author:
    """The caller of a bundle write: a live key with the `admin` scope."""
    return _author(request, credentials, "admin", reason)


WriterDep = Annotated[Author, Depends(writer)]
AdminDep = Annotated[Author, Depends(administrator)]


def _content_type(request: Request, *allowed: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given not in allowed:
        raise ProblemError(
            415,
            "unsupported-media-type",
            f"send the body as {' or '.join(allowed)}",
            "Content-Type",
            headers={"Accept-Post": allowed[0]},
        )


def json_body(request: Request) -> None:
    _content_type(request, JSON)


def merge_patch_body(request: Request) -> None:
    _content_type(request, MERGE_PATCH)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag of the record as last read (GET of the record), or `*`. Required: 428 without it, "
        "412 if the record changed since.",
        examples=['"3f2a9c1d0b7e4a56-1a2b3c4d5e6f"'],
    ),
]


def _client_version(request: Request, if_match: str | None, record_path: str, kind: str, record_id: str) -> str | None:
    """The dataset version the client's copy was served at (None for `*`); 428 without If-Match, 412 when no tag
    is one this API served for the record's JSON representation. An id with no live record is answered first
    (308 to the new id of a renamed record, 410, 404), so a client following a rename learns where to write."""
    with request.app.state.sessions() as session:
        table = KINDS[kind].table
        if session.scalar(select(table.c.id).where(table.c.id == record_id)) is None:
            raise missing(session, kind, record_id, for_write=True)
    if if_match is None:
        raise ProblemError(
            428, "precondition-required", "send If-Match with the record's ETag (or `*`) to write it", "If-Match"
        )
    for raw in if_match.split(","):
        tag = raw.strip()
        if tag == "*":
            return None
        if tag.startswith("W/") or not (tag.startswith('"') and tag.endswith('"')):
            continue  # If-Match compares strong tags only (RFC 9110 §13.1.1)
        opaque = tag[1:-1].removesuffix("-gzip")
        version, _, _ = opaque.rpartition("-")
        if version and etag_of(version, record_path, "", JSON) == f'"{opaque}"':
            return version
    raise ProblemError(412, "precondition-failed", "no ETag in If-Match belongs to this record", "If-Match")


# -- answers ---------------------------------------------------------------------------------------------------


def _problem_of(exc: RecordsInvalid, single: bool) -> ProblemError:
    def field(p: Any) -> str:
        if single or not p.kind:
            return p.field or "body"
        return f"{p.kind}[{p.record_id}].{p.field}" if p.field else f"{p.kind}[{p.record_id}]"

    errors = [{"field": field(p), "detail": p.message} for p in exc.problems]
    kind = "conflict" if exc.status == 409 else "invalid-record"
    detail = "; ".join(f"{e['field']}: {e['detail']}" for e in errors[:20])
    if len(errors) > 20:
        detail += f"; … {len(errors) - 20} more in errors"
    return ProblemError(exc.status, kind, detail, errors=errors)


def _written(request: Request, written: Written, record_path: str, status: int) -> Response:
    """The record as written, with the validators a GET of it now answers with."""
    headers = {VERSION_HEADER: written.version, "Cache-Control": "no-store"}
    if written.document is None:
        return Response(status_code=204, headers=headers)
    headers["ETag"] = etag_of(written.version, record_path, "", JSON)
    headers["Content-Location"] = record_path
    if status == 201:
        headers["Location"] = record_path
    return JSONResponse(written.document, status_code=status, headers=headers)


@contextmanager
def _writing(request: Request, kind: str, record_id: str | None) -> Iterator[Session]:
    """The write transaction, with the domain's refusals turned into problem documents (nothing is committed)."""
    try:
        with store.write_transaction(request.app.state.sessions) as session:
            yield session
    except RecordsInvalid as exc:
        raise _problem_of(exc, single=kind != "bundles") from None
    except PreconditionFailed:
        raise ProblemError(
            412, "precondition-failed", "the record changed since the ETag in If-Match; GET it again", "If-Match"
        ) from None
    except NotFound:
        assert record_id is not None
        with request.app.state.sessions() as session:
            raise missing(session, kind, record_id, for_write=True) from None


def _renamed_path(record_path: str, old: str, new: str) -> str:
    head, _, last = record_path.rpartition("/")
    return f"{head}/{new}" if last == old else record_path


# -- record endpoints, per kind --------------------------------------------------------------------------------

WRITE_ERRORS = {
    400: "A query parameter or header (`X-Change-Reason`) is invalid: `parameter` names it.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key lacks the `write` scope.",
    413: "Body larger than the limit (`errors[].field` is `body`).",
    415: "Body not sent as the documented media type.",
}
BODY_400 = (
    "The body is not a JSON document (malformed, empty or nested too deeply: `errors[].field` is `body`), or a "
    "query parameter or header (`X-Change-Reason`) is invalid (`parameter` names it)."
)


def _responses(*statuses: int, record: tuple[int, ...] = (), body: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a write: every problem it can answer. With a ``body``, every problem with the body
    (400, 413, and the statuses in ``record``) has the field shape, `errors: [{field, detail}]`."""
    described = {
        **WRITE_ERRORS,
        404: "No record with this id.",
        409: "The id is taken, or other records still point at this one.",
        410: "The record was deleted.",
        412: "The record changed since the ETag in If-Match.",
        422: "The record does not validate; `errors` names each field.",
        428: "If-Match is missing.",
        308: "The id was renamed; repeat the request at `Location`.",
    }
    if body:
        described[400] = BODY_400
    out: dict[int | str, dict[str, Any]] = {}
    for status in (*WRITE_ERRORS, *statuses, *record):
        model: Any = Problem
        if body and status == 400:
            model = WriteProblem
        elif status in record or (body and status == 413):
            model = RecordProblem
        out[status] = {"model": model, "description": described[status], "content": {PROBLEM_MEDIA_TYPE: {}}}
    return out


def add_record_routes(kind: str) -> None:
    """POST /v1/{kind}, PUT/PATCH/DELETE /v1/{kind}/{id}, GET …/history and …/history/{seq} for one kind."""
    spec = KINDS[kind]
    schema: Any = spec.schema
    singular = spec.singular
    tag = TAGS.get(kind, kind)
    collection = f"/v1/{kind}"
    # Named as in the kind's GET route (`event_id`…), so each record has one path in the OpenAPI document.
    id_param = Annotated[
        str,
        Path(
            alias=f"{singular}_id",
            description=f"{singular.capitalize()} id (a stable slug).",
            examples=[EXAMPLE_IDS[kind]],
        ),
    ]

    def create_record(
        request: Request,
        author: WriterDep,
        record: Annotated[schema, Body(description=f"The {singular}, in the bundle format (`data/*.yaml`).")],
        _media: Annotated[None, Depends(json_body)] = None,
    ) -> Response:
        with _writing(request, kind, None) as session:
            written = store.create(session, kind, record, author)
        return _written(request, written, f"{request.url.path}/{record.id}", 201)

    def replace_record(
        request: Request,
        record_id: id_param,
        author: WriterDep,
        record: Annotated[schema, Body(description=f"The whole {singular}; a different `id` renames it.")],
        if_match: IfMatch = None,
        _media: Annotated[None, Depends(json_body)] = None,
    ) -> Response:
        version = _client_version(request, if_match, request.url.path, kind, record_id)
        with _writing(request, kind, record_id) as session:
            written = store.replace(session, kind, record_id, record, author, version)
        return _written(request, written, _renamed_path(request.url.path, record_id, record.id), 200)

    def patch_record(
        request: Request,
        record_id: id_param,
        author: WriterDep,
        changes: Annotated[
            dict[str, Any],
            Body(
                media_type=MERGE_PATCH,
                description="A JSON Merge Patch (RFC 7396) of the record's document: members replace, `null` "
                "removes, arrays are replaced whole. A new `id` renames the record.",
                examples=[{"summary": "Corrected summary.", "notes": None}],
            ),
        ],
        if_match: IfMatch = None,
        _media: Annotated[None, Depends(merge_patch_body)] = None,
    ) -> Response:
        version = _client_version(request, if_match, request.url.path, kind, record_id)
        with _writing(request, kind, record_id) as session:
            written = store.patch(session, kind, record_id, changes, author, version)
        new_id = (written.document or {}).get("id", record_id)
        return _written(request, written, _renamed_path(request.url.path, record_id, new_id), 200)

    def delete_record(
        request: Request,
        record_id: id_param,
        author: WriterDep,
        replaced_by: Annotated[
            str | None,
            Query(
                description=f"Id of the {singular} that replaces this one: its old URL's 410 then points there.",
                examples=[EXAMPLE_IDS[kind]],
            ),
        ] = None,
        if_match: IfMatch = None,
    ) -> Response:
        version = _client_version(request, if_match, request.url.path, kind, record_id)
        with _writing(request, kind, record_id) as session:
            written = store.remove(session, kind, record_id, author, version, replaced_by)
        return _written(request, written, request.url.path, 204)

    def list_history(
        request: Request, snapshot: SnapshotDep, record_id: id_param, since: SinceParam = "0", limit: LimitParam = 100
    ) -> Response:
        query = _history(snapshot.session, kind, record_id).where(m.Change.seq > int(since))
        items, page = _change_page(request, snapshot.session, query, int(since), limit)
        if since == "0" and not items and spec.read(snapshot.session, record_id) is None:
            raise missing(snapshot.session, kind, record_id)  # (a record written before the log began has none)
        return page

    def get_revision(
        snapshot: SnapshotDep,
        record_id: id_param,
        seq: Annotated[
            int,
            # At most 18 digits, as `since` (the SQLite and PostgreSQL 64-bit integers hold them): a larger number
            # names no revision and must not reach the database as one it cannot hold.
            Path(description="The revision's number (`seq` in the history).", examples=[42], ge=1, le=10**18 - 1),
        ],
    ) -> Response:
        revision = snapshot.session.scalars(_history(snapshot.session, kind, record_id).where(m.Change.seq == seq))
        found = revision.first()
        if found is not None:
            return JSONResponse(_revision(found))
        raise ProblemError(404, "not-found", f"{singular} {record_id!r} has no revision {seq}")

    item = collection + "/{" + singular + "_id}"
    common: dict[str, Any] = {"tags": [tag]}  # the security requirement comes from the key dependency
    router.add_api_route(
        collection,
        create_record,
        methods=["POST"],
        name=f"create_{singular}",
        status_code=201,
        summary=f"Create a {singular}",
        description=f"Validated like a bundle record (references must exist); 201 with the {singular}, `Location` "
        "and `ETag`. An id that was deleted may be used again (that restores the record), a former id of another "
        "record may not (409). References may name a record by an id it was renamed from; the current id is stored.",
        response_model=schema,
        responses=_responses(409, record=(409, 422)),
        **common,
    )
    router.add_api_route(
        item,
        replace_record,
        methods=["PUT"],
        name=f"replace_{singular}",
        summary=f"Replace a {singular} (or rename it)",
        description=f"The whole {singular} in the bundle format. A different `id` in the body renames it: other "
        "records' references follow, and the old id answers 301 (writes: 308) to the new one. A rename cannot take "
        "the id of a deleted record or a former id of another record (409). A PUT of the stored record changes "
        "nothing and records nothing (200, the same ETag).",
        response_model=schema,
        responses=_responses(308, 404, 410, 412, 428, record=(409, 422)),
        **common,
    )
    router.add_api_route(
        item,
        patch_record,
        methods=["PATCH"],
        name=f"update_{singular}",
        summary=f"Change part of a {singular} (JSON Merge Patch)",
        description="Send `Content-Type: application/merge-patch+json`. The patched document is validated whole. A "
        "patch that changes nothing records nothing (200, the same ETag).",
        response_model=schema,
        responses=_responses(308, 404, 410, 412, 428, record=(409, 422)),
        **common,
    )
    router.add_api_route(
        item,
        delete_record,
        methods=["DELETE"],
        name=f"delete_{singular}",
        status_code=204,
        summary=f"Delete a {singular}",
        description="The record leaves every list; its URL answers 410 Gone (pointing at `replaced_by` if given) "
        "and its history stays readable. Refused (409) while other records point at it.",
        responses=_responses(308, 404, 410, 412, 428, record=(409, 422), body=False),
        **common,
    )
    router.add_api_route(
        item + "/history",
        list_history,
        methods=["GET"],
        name=f"list_{singular}_history",
        summary=f"A {singular}'s revisions",
        description="Every change to the record, oldest first, under this id and any earlier ids it was renamed "
        "from: who (key), when, why, and the document before and after. Paged like the change feed: at most `limit` "
        "changes and about `feed_page_bytes` (8 MiB by default) of JSON per page, never fewer than one change; "
        "`next_cursor` (also a `Link: rel=next`) continues.",
        response_model=ChangesOut,
        responses={404: {"model": Problem, "description": "No record ever had this id."}},
        tags=[tag],
    )
    router.add_api_route(
        item + "/history/{seq}",
        get_revision,
        methods=["GET"],
        name=f"get_{singular}_revision",
        summary=f"One past revision of a {singular}",
        description="The change with this number, if it is one of the record's: who, when, why, before and after.",
        response_model=RevisionOut,
        responses={404: {"model": Problem, "description": "No such revision of this record."}},
        tags=[tag],
    )


# -- history and change feed -----------------------------------------------------------------------------------


class RevisionOut(BaseModel):
    seq: int = Field(description="The change's number: its position in the change feed.", examples=[42])
    resource: str = Field(description="events, actors, agreements, citations, topics, sources.", examples=["events"])
    id: str = Field(description="The record's id after the change.", examples=["khan-trump-meeting-davos-2020-01-21"])
    op: str = Field(description="create, update or delete (`reset`: the whole dataset was replaced).")
    previous_id: str | None = Field(description="The id before the change, when the change renamed the record.")
    replaced_by: str | None = Field(description="For a delete: the record named as its replacement.")
    at: str = Field(description="When it was committed (UTC, ISO 8601).", examples=["2026-11-29T12:00:00+00:00"])
    key_id: int | None = Field(description="The API key that made it; null for the command line.")
    author: str = Field(description="The key's name, or `cli`.", examples=["curator: Ayesha"])
    reason: str | None = Field(description="Why, as the curator said (`X-Change-Reason`).")
    dataset_version: str = Field(description="The dataset version this change's commit produced.")
    before: dict[str, Any] | None = Field(description="The record before (bundle format); null for a create.")
    after: dict[str, Any] | None = Field(description="The record after; null for a delete.")


class ChangesOut(BaseModel):
    items: list[RevisionOut] = Field(description="Changes after `since`, in commit order.")
    next_cursor: str = Field(
        description="Pass back as `since` to continue; when `items` is empty it is `since` again (poll with it)."
    )


SinceParam = Annotated[
    str,
    Query(
        description="A `next_cursor` from an earlier page; `0` (the default) starts from the first change.",
        examples=["0"],
        pattern=r"^[0-9]{1,18}$",
    ),
]
LimitParam = Annotated[int, Query(ge=1, le=1000, description="Most changes per page.", examples=[100])]


def _change_page(
    request: Request, session: Session, query: Any, after: int, limit: int
) -> tuple[list[dict[str, Any]], JSONResponse]:
    """One page of the changes ``query`` selects (ordered here by seq): at most ``limit``, and no more once the
    page's JSON passes ``feed_page_bytes`` (a change holds two whole documents, each up to the body limit, so a
    count alone does not bound a page), but always at least one. Rows are read in small batches, so a page stops
    reading once it is full. ``next_cursor`` continues (also as `Link: rel=next` when the page stopped short of
    the end); on an empty page it is ``after`` again."""
    budget = request.app.state.settings.feed_page_bytes
    items: list[dict[str, Any]] = []
    size = 0
    more = False
    rows = session.scalars(query.order_by(m.Change.seq).limit(limit + 1).execution_options(yield_per=20))
    for change in rows:
        if len(items) == limit or (items and size > budget):
            more = True
            break
        item = _revision(change)
        size += len(json.dumps(item, default=str))
        items.append(item)
    rows.close()
    cursor = str(items[-1]["seq"]) if items else str(after)
    headers = {}
    if more:
        here = request.url.include_query_params(since=cursor)
        headers["Link"] = f'<{public_base(request) + app_path(request) + "?" + here.query}>; rel="next"'
    return items, JSONResponse({"items": items, "next_cursor": cursor}, headers=headers)


def _revision(change: m.Change) -> dict[str, Any]:
    at = change.at if change.at.tzinfo else change.at.replace(tzinfo=dt.UTC)
    return {
        "seq": change.seq,
        "resource": change.resource,
        "id": change.record_id,
        "op": change.op,
        "previous_id": change.previous_id,
        "replaced_by": change.replaced_by,
        "at": at.astimezone(dt.UTC).isoformat(),
        "key_id": change.key_id,
        "author": change.author,
        "reason": change.reason,
        "dataset_version": change.dataset_version,
        "before": change.before,
        "after": change.after,
    }


def _history(session: Session, kind: str, record_id: str) -> Any:
    """The query of the record's changes under ``record_id`` and every id it was renamed from (unordered)."""
    ids, frontier = {record_id}, {record_id}
    while frontier:  # follow renames backwards
        earlier = select(m.Change.previous_id).where(
            m.Change.resource == kind, m.Change.record_id.in_(frontier), m.Change.previous_id.is_not(None)
        )
        found = {p for p in session.scalars(earlier) if p} - ids
        ids |= found
        frontier = found
    return select(m.Change).where(
        m.Change.resource == kind, or_(m.Change.record_id.in_(ids), m.Change.previous_id.in_(ids))
    )


@router.get(
    "/v1/changes",
    response_model=ChangesOut,
    tags=["service"],
    summary="The change feed",
    description="Every committed create, update and delete, of every kind, in commit order, each with the "
    "record's document. Follow `next_cursor` to stay in sync: no change is ever skipped, even under concurrent "
    "writes (writers take turns, so change numbers increase in commit order). Replaying the feed from the start "
    "through the write endpoints reproduces the data. A page holds at most `limit` changes and stops early once its "
    "JSON passes `feed_page_bytes` (8 MiB by default), never holding fewer than one change.",
    responses={400: {"model": Problem, "description": "Invalid `since` or `limit`."}},
)
def list_changes(request: Request, snapshot: SnapshotDep, since: SinceParam = "0", limit: LimitParam = 100) -> Response:
    after = int(since)
    return _change_page(request, snapshot.session, select(m.Change).where(m.Change.seq > after), after, limit)[1]


# -- bundles ---------------------------------------------------------------------------------------------------


class BundleWritten(BaseModel):
    counts: dict[str, int] = Field(description="Records written per kind.", examples=[{"events": 3, "actors": 1}])
    changes: int = Field(description="Changes recorded (one per record; plus one `reset` with `replace`).")
    dataset_version: str = Field(description="The dataset version after the write.")


def write_bundle(
    request: Request,
    author: AdminDep,
    document: Annotated[dict[str, Any], Body(description="The bundle.")],
    replace: Annotated[
        bool, Query(description="Replace the whole dataset (as `dipevents load --replace`).", examples=[False])
    ] = False,
    _media: Annotated[None, Depends(json_body)] = None,
) -> Response:
    try:
        reason = store.clean_reason(document.pop("reason", None))
    except ValueError as exc:
        raise ProblemError(
            422, "invalid-record", f"reason: {exc}", errors=[{"field": "reason", "detail": str(exc)}]
        ) from None
    if reason:
        author = Author(author.key_id, author.name, reason)
    try:
        bundle = store.as_bundle(document)
    except RecordsInvalid as exc:
        raise _problem_of(exc, single=False) from None
    if replace and not any(records for _, records in bundle):
        # Replacing the dataset with nothing deletes every record: far likelier a mistake (a body that did not
        # arrive, a wrong file) than a wish (`dipevents load` likewise refuses a folder without records files).
        raise ProblemError(
            422,
            "invalid-record",
            "replace=true with a bundle holding no records would delete the whole dataset; send the records",
            errors=[{"field": "body", "detail": "no records to replace the dataset with"}],
        )
    with _writing(request, "bundles", None) as session:
        written = store.import_records(session, bundle, author, replace_all=replace)
    body = {"counts": written.counts, "changes": written.changes, "dataset_version": written.version}
    return JSONResponse(body, headers={VERSION_HEADER: written.version, "Cache-Control": "no-store"})


router.add_api_route(
    "/v1/bundles",
    write_bundle,
    methods=["POST"],
    name="write_bundle",
    response_model=BundleWritten,
    tags=["service"],
    summary="Write a whole bundle",
    description="A bundle (the `data/*.yaml` format as JSON: `{sources: […], citations: […], topics: […], actors: […], "
    "events: […], agreements: […]}`, each optional; an optional `reason` member) written in one transaction — all of "
    "it or nothing, exactly as `dipevents load`. References may point at records already stored. `replace=true` "
    "replaces the whole dataset. Needs a key with the `admin` scope.",
    responses=_responses(409, record=(409, 422)),
)

for _kind in store.ORDER:
    add_record_routes(_kind)


__all__ = ["add_record_routes", "router"]
