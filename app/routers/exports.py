"""One operation per export format (`GET /v1/events/export.csv`, …), so a generated client gets one
typed call per format, each answering exactly one media type. The list operations still honour
`format=` and the Accept header for people using curl or a browser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.deps import ListerDep
from app.exports import Export, export_response
from app.negotiation import require_acceptable
from app.problems import problem_responses
from app.queries.resources import Resource


def add_export_operations(
    router: APIRouter,
    base: str,
    resource: Resource,
    formats: dict[str, Export],
    params: Mapping[str, type[BaseModel]],
    labels: dict[str, str],
) -> None:
    """Register `GET <base>/export.<extension>` on ``router`` for each of ``formats``, taking its ``params``
    (the list's filters, sort and the format's own options); ``labels`` names each format for the docs."""
    for name, export in formats.items():
        router.add_api_route(
            f"{base}/export.{export.extension}",
            _operation(resource, formats, name, params[name]),
            methods=["GET"],
            name=f"export_{resource.name}s_{export.extension}",
            summary=f"Export {resource.name}s as {labels[name]}",
            description=f"Every {resource.name} matching the filters, in list order, streamed as {labels[name]} "
            f"(`{export.media_type.split(';')[0]}`); the same as the list with `format={name}`.",
            responses=problem_responses(400) | export_response(export),
            response_class=StreamingResponse,
            tags=None if router.tags else [f"{resource.name}s"],
        )


def _operation(resource: Resource, formats: dict[str, Export], name: str, params: type[BaseModel]) -> Any:
    def export_operation(lister: ListerDep, query: Annotated[Any, Query()]) -> StreamingResponse:
        require_acceptable(lister.request.headers.get("accept"), formats[name].media_type)
        return lister.export(resource, query, name, formats)

    # The query model is known only here; FastAPI reads the signature's annotations.
    export_operation.__annotations__["query"] = Annotated[params, Query()]
    return export_operation
