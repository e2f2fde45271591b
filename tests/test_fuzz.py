"""Contract fuzzing: Schemathesis drives every operation of the app's own OpenAPI document in-process.

CI runs a bounded, seeded number of examples; `make fuzz` raises DIPEVENTS_FUZZ_EXAMPLES for deeper runs.
Checks: no 5xx, responses conform to their documented schema and content type, every 4xx is problem+json.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.helpers import DATA, load_into

EXAMPLES = int(os.environ.get("DIPEVENTS_FUZZ_EXAMPLES", "30"))
# One operation's examples take ~0.04 s each alone; `make fuzz` raises EXAMPLES, so the timeout grows with it.
pytestmark = pytest.mark.timeout(120 + EXAMPLES // 2)


# The document's cursor examples are signed with the deployment's key: one key for both apps, so they agree.
CURSOR_SECRET = "fuzzing-cursor-secret-of-32-characters"


def _documented_operations() -> dict:
    """The app's OpenAPI document, computed in memory: Schemathesis needs it when the module is collected
    (to make one test per operation), and collection must not touch files or databases."""
    app = create_app(Settings(database_url="sqlite://", cursor_secret=CURSOR_SECRET))
    try:
        return app.openapi()
    finally:
        app.state.engine.dispose()


schema = schemathesis.openapi.from_dict(_documented_operations())


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory):
    """The app over the bundled data, built when the first test runs."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}"
    upgrade(url)
    load_into(url, DATA)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0, cursor_secret=CURSOR_SECRET))
    assert app.openapi() == schema.raw_schema, "the fuzzed app must serve the document the cases came from"
    yield app
    app.state.engine.dispose()


def problem_json_for_client_errors(ctx, response, case):
    if 400 <= response.status_code < 500:
        assert response.headers.get("content-type", [""])[0].startswith("application/problem+json"), (
            f"{case.method} {case.path} -> {response.status_code} is not problem+json"
        )
        body = response.json()
        assert {"type", "title", "status", "detail"} <= set(body)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_its_contract(case, fuzzed_app):
    response = case.call(app=fuzzed_app)
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    problem_json_for_client_errors(None, response, case)
