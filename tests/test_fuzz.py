"""Contract fuzzing: Schemathesis drives every operation of the app's own OpenAPI document in-process.

CI runs a bounded, seeded number of examples; `make fuzz` raises DIPEVENTS_FUZZ_EXAMPLES for deeper runs.
Checks: no 5xx, responses conform to their documented schema and content type, every 4xx is problem+json.
"""

from __future__ import annotations

import os
import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import Settings
from tests.conftest import DATA, load_into

EXAMPLES = int(os.environ.get("DIPEVENTS_FUZZ_EXAMPLES", "30"))


def _app_over_bundled_data():
    """Built at import time: Schemathesis reads the schema when the module is collected."""
    from app.migrate import upgrade

    url = f"sqlite:///{tempfile.mkdtemp(prefix='dipevents-fuzz-')}/fuzz.sqlite3"
    upgrade(url)
    load_into(url, DATA)
    return create_app(Settings(database_url=url, rate_limit_per_minute=0))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app_over_bundled_data())


def problem_json_for_client_errors(ctx, response, case):  # noqa: ANN001, ARG001
    if 400 <= response.status_code < 500:
        assert response.headers.get("content-type", [""])[0].startswith("application/problem+json"), (
            f"{case.method} {case.path} -> {response.status_code} is not problem+json"
        )
        body = response.json()
        assert {"type", "title", "status", "detail"} <= set(body)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_its_contract(case):
    response = case.call()
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    problem_json_for_client_errors(None, response, case)
