"""A frontend developer's route into the API: generate TypeScript types from the served /openapi.json with
openapi-typescript and type-check a small typed client (clients/typescript/client.ts) against them with
`tsc --noEmit --strict`. Both tools are pinned in clients/typescript/package.json and installed from its lock file
with `npm ci` (Node.js and npm are on every machine; the npm registry, or npm's cache, must be reachable).

The generator must print nothing but its banner and the file it wrote, and tsc nothing at all: client.ts relies on
stable operation ids, typed problem documents under application/problem+json, required non-null page fields and
event dates, and an export operation with one media type.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "clients" / "typescript"


def run(*command: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], cwd=PACKAGE, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def workspace(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the served openapi.json, client.ts and tsconfig.json; clients/typescript/node_modules installed
    from the lock file. Generated files go to this folder, never into the checkout."""
    installed = run("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    folder = tmp_path_factory.mktemp("typescript-client")
    (folder / "openapi.json").write_bytes(httpx.get(f"{live_url}/openapi.json").raise_for_status().content)
    for name in ("client.ts", "tsconfig.json"):
        shutil.copy(PACKAGE / name, folder / name)
    return folder


def test_types_generate_without_warnings_and_the_client_type_checks(workspace):
    # `npx --no`: the pinned tools from node_modules, never a download of whatever version is current.
    generated = run(
        "npx", "--no", "--", "openapi-typescript", workspace / "openapi.json", "-o", workspace / "schema.d.ts"
    )
    output = (generated.stdout + generated.stderr).splitlines()
    assert generated.returncode == 0, "\n".join(output)
    # Its banner ("✨ openapi-typescript 7.13.0") and the file it wrote ("🚀 openapi.json → schema.d.ts [80ms]").
    others = [line for line in output if line.strip() and "openapi-typescript" not in line and "→" not in line]
    assert others == [], "openapi-typescript warned:\n" + "\n".join(output)

    checked = run("npx", "--no", "--", "tsc", "--noEmit", "--strict", "-p", workspace)
    assert checked.returncode == 0 and not checked.stdout.strip(), (
        f"client.ts does not type-check against the generated schema.d.ts:\n{checked.stdout}{checked.stderr}"
    )
