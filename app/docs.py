"""The human-readable pages, served without any third-party host: the event explorer at `/` (our own static files in
`app/explorer/`, built only on the public API), Swagger UI at `/docs` and ReDoc at `/redoc`.

The Swagger UI and ReDoc bundles (with their licence files) come from the `fastapi-standalone-docs` package, which
ships the upstream `swagger-ui-dist` and `redoc` builds; it is used for its files only (its `StandaloneDocs` helper
patches FastAPI globally, which a factory that builds many apps must not do). The two HTML pages are ours and carry
no inline script, so the docs' Content-Security-Policy (app.guards.DOCS_CSP) can allow scripts from `'self'` alone.

Every URL in the pages is relative (`docs/swagger-ui.css`, `openapi.json`), so the docs keep working under a proxy
that mounts the API below a prefix, without the pages having to know it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import swagger_ui_default_parameters
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response

from app.packaged import packaged_path

ASSETS_PACKAGE = "fastapi_standalone_docs"
# Short enough that a redeploy with new assets reaches browsers quickly, long enough to spare a reload's requests.
PAGE_CACHE = "public, max-age=300"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Swagger UI</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-init.js"></script>
</body>
</html>
"""

# ReDoc's own layout assumes a page without margins (an inline style would need a CSP exception).
REDOC_PAGE_CSS = "body { margin: 0; padding: 0; }\n"

# ReDoc's standalone bundle renders every <redoc spec-url> element by itself: no init script needed.
REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – ReDoc</title>
<link rel="stylesheet" href="redoc/page.css">
</head>
<body>
<redoc spec-url="{openapi}"></redoc>
<script src="redoc/redoc.standalone.js"></script>
</body>
</html>
"""


def swagger_init_script(openapi: str, parameters: dict[str, Any]) -> str:
    """The script that starts Swagger UI on the /docs page: FastAPI's default parameters plus `parameters`.

    `openapi` is the document's URL relative to the page. The online validator badge is turned off: it would send
    the document to a third-party host.
    """
    settings = {**swagger_ui_default_parameters, **parameters, "url": openapi, "validatorUrl": None}
    return (
        f"const settings = {json.dumps(settings)};\n"
        "settings.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];\n"
        "window.ui = SwaggerUIBundle(settings);\n"
    )


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` (Swagger UI), `/redoc` (ReDoc), their assets below `/docs/` and `/redoc/`, and `/` → `/docs`.

    Call it on an app built with `docs_url=None, redoc_url=None` (FastAPI's own pages load their assets from a
    CDN). None of these routes appears in the OpenAPI document; all answer GET and HEAD. Raises
    `app.packaged.PackagedFileMissing` when the assets package is not installed.
    """
    assets = packaged_path(ASSETS_PACKAGE, "static")
    openapi = (app.openapi_url or "/openapi.json").lstrip("/")
    # Our own files, each served from memory: (media type, content). Routes come before the mounts below, which
    # would otherwise answer 404 for them.
    own_files = {
        "/docs": ("text/html; charset=utf-8", SWAGGER_PAGE.format(title=app.title)),
        "/docs/swagger-init.js": ("text/javascript", swagger_init_script(openapi, app.swagger_ui_parameters or {})),
        "/redoc": ("text/html; charset=utf-8", REDOC_PAGE.format(title=app.title, openapi=openapi)),
        "/redoc/page.css": ("text/css", REDOC_PAGE_CSS),
    }
    for path, (media_type, content) in own_files.items():
        # Starlette routes, not FastAPI's: they answer HEAD as well as GET and stay out of the OpenAPI document.
        app.add_route(path, _file_endpoint(media_type, content), include_in_schema=False)

    app.mount("/docs", StaticFiles(directory=assets / "swagger"), name="swagger-ui-assets")
    # The redoc folder also holds the logo that the package's patched bundle loads from `<page>/logo-mini.svg`.
    app.mount("/redoc", StaticFiles(directory=assets / "redoc"), name="redoc-assets")


EXPLORER_ASSETS = "explorer"  # the folder inside the `app` package


def install_explorer(app: FastAPI) -> None:
    """Serve the event explorer: its page at `/` and its scripts, styles and icon below `/explorer/`.

    The page is static (no build step, no template): everything it shows it fetches from the public API with
    relative URLs, so it works offline and below a path prefix. Its Content-Security-Policy is
    `app.guards.EXPLORER_CSP`. Neither route appears in the OpenAPI document; both answer GET and HEAD. Raises
    `app.packaged.PackagedFileMissing` when the files are missing from the installed package.
    """
    folder = packaged_path("app", EXPLORER_ASSETS)
    page = (folder / "index.html").read_text(encoding="utf-8")
    app.add_route("/", _file_endpoint("text/html; charset=utf-8", page), include_in_schema=False)
    app.mount("/explorer", StaticFiles(directory=folder), name="explorer-assets")


def _file_endpoint(media_type: str, content: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return Response(content, media_type=media_type, headers={"Cache-Control": PAGE_CACHE})

    return endpoint
