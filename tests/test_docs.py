"""/docs and /redoc work on a machine without internet: their assets come from this server, their pages run no
inline script, and headless Chromium with every other host unresolvable renders the operations under the docs'
Content-Security-Policy without a single console message (a blocked asset or a CSP violation is one)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from app.guards import DOCS_CSP

CHROMIUM = Path("/usr/bin/chromium")
# CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"{CHROMIUM} is missing: `apt-get install chromium` to check that the docs render offline",
)
OPERATION = "List or export events"  # the summary of GET /v1/events


def test_docs_pages_name_only_this_server(client):
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == DOCS_CSP
        # Relative URLs only: no other host, and no absolute path that a proxy's prefix would break.
        urls = re.findall(r'(?:src|href|spec-url)="([^"]*)"', response.text)
        assert urls and all(not u.startswith(("/", "http:", "https:", "//")) for u in urls), urls
        assert "<script>" not in response.text, "an inline script needs 'unsafe-inline'"
        for url in urls:
            asset = client.get(f"/{url}")
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].split(";")[0] in (
                "text/javascript",
                "application/javascript",
                "text/css",
                "application/json",
            )
        assert client.head(page).status_code == 200


def test_docs_csp_allows_this_origin_only():
    directives = dict(d.strip().split(" ", 1) for d in DOCS_CSP.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert "unsafe-inline" not in DOCS_CSP and "unsafe-eval" not in DOCS_CSP
    assert not re.search(r"https?:|\*", DOCS_CSP), "the docs name another host"


def test_the_asset_licences_are_served(client):
    assert "Apache License" in client.get("/docs/LICENSE").text  # swagger-ui-dist
    assert "ReDoc" in client.get("/redoc/redoc.standalone.js.LICENSE.txt").text


def test_docs_routes_stay_out_of_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith(("/docs", "/redoc"))]


def render(url: str, folder: Path) -> tuple[str, list[str], Path]:
    """Load `url` in headless Chromium that can reach 127.0.0.1 only; return the DOM after scripts ran (10 s of
    virtual time), the page's console messages, and a screenshot (kept in the test's tmp folder)."""
    folder.mkdir()
    screenshot = folder / "page.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={folder / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
        "--virtual-time-budget=10000",
        f"--screenshot={screenshot}",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-3000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console, screenshot


@needs_chromium
@pytest.mark.parametrize(
    ("page", "rendered"),
    [
        # Swagger UI: one block per operation, with its summary.
        ("/docs", rf'class="opblock-summary-description"[^>]*>{OPERATION}<'),
        # ReDoc: a heading per operation (after its anchor).
        ("/redoc", rf"<h2[^>]*>(?:<a [^>]*></a>)?{OPERATION}\s*</h2>"),
    ],
)
def test_docs_render_offline_in_a_browser(live_url, tmp_path, page, rendered):
    dom, console, screenshot = render(live_url + page, tmp_path / page.strip("/"))
    assert re.search(rendered, dom), f"{page} rendered no operation (screenshot: {screenshot}):\n{dom[:2000]}"
    assert console == [], f"{page} logged to the console (screenshot: {screenshot}):\n" + "\n".join(console)
    assert screenshot.stat().st_size > 50_000, f"{screenshot} looks blank"
