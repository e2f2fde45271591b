"""A researcher's route into the API: generate a Python client from the served /openapi.json with
openapi-python-client (pinned in the test extras), import it, and use it against a live server over the bundled data.

The generator must print no warning (a warning means a part of the API is missing from the client), and what a
researcher does with the client must work through its typed interface: page through an actor's events in a date
range, fetch an actor, get typed problem documents for a 400 and a 404, download an export.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest

from tests.helpers import ROOT

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
CONFIG = ROOT / "clients" / "python" / "openapi-python-client.yaml"
PACKAGE = "dipevents_client"
# Imran Khan's events from July to December 2019: six, so three pages of two.
FILTERS: dict[str, Any] = {"actor": ["imran-khan"], "start": "2019-07", "end": "2019-12"}


@dataclass
class Generated:
    output: str  # what the generator printed
    returncode: int
    package: ModuleType


@pytest.fixture(scope="module")
def generated(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The client generated from the live server's document, imported as `dipevents_client` (removed afterwards)."""
    folder = tmp_path_factory.mktemp("python-client")
    document = folder / "openapi.json"
    document.write_bytes(httpx.get(f"{live_url}/openapi.json").raise_for_status().content)
    # The generator's post-hooks run `ruff` (one of its dependencies) from PATH: put this environment's on it.
    env = os.environ | {"PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [GENERATOR, "generate", "--path", document, "--output-path", folder / PACKAGE, "--meta", "none"]
    result = subprocess.run(
        [str(c) for c in [*command, "--config", CONFIG]], capture_output=True, text=True, env=env, timeout=300
    )
    sys.path.insert(0, str(folder))
    try:
        yield Generated(result.stdout + result.stderr, result.returncode, importlib.import_module(PACKAGE))
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture
def client(generated: Generated, live_url: str) -> Any:
    # An undocumented status raises: every status the server sends must be declared.
    return generated.package.Client(base_url=live_url, raise_on_unexpected_status=True, timeout=httpx.Timeout(30))


def operation(generated: Generated, tag: str, operation_id: str) -> Any:
    """The generated module of one operation (`listEvents` under tag `events` is `api/events/list_events.py`)."""
    name = "".join("_" + c.lower() if c.isupper() else c for c in operation_id)
    try:
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
    except ModuleNotFoundError:
        folder = Path(generated.package.__file__).parent / "api" / tag
        found = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
        pytest.fail(f"no operation {operation_id!r} under tag {tag!r}; the client has {found}")


def declared(instance: Any, field: str) -> str:
    """The annotation the generator wrote for a model field ("str", "None | str | Unset", ...)."""
    return str(attrs.fields_dict(type(instance))[field].type)


def problem_model(generated: Generated) -> type:
    return importlib.import_module(f"{PACKAGE}.models").Problem


def test_the_generator_warns_about_nothing(generated):
    assert generated.returncode == 0, generated.output
    assert "warning" not in generated.output.lower(), generated.output


def test_pages_through_an_actors_events_in_a_date_range(generated, client, live_url):
    list_events = operation(generated, "events", "listEvents")
    expected = httpx.get(f"{live_url}/v1/events", params={**FILTERS, "limit": 100}).json()["items"]
    assert len(expected) == 6

    ids, cursor, pages = [], None, 0
    while True:
        page = list_events.sync(client=client, **FILTERS, limit=2, **({"cursor": cursor} if cursor else {}))
        pages += 1
        assert page.total == len(expected)
        # Always present on a page: required and never null, so a client needs no check.
        for field in ("dataset_version", "query_url"):
            assert isinstance(getattr(page, field), str), field
            assert declared(page, field) == "str", f"page.{field} is declared {declared(page, field)}"
        for event in page.items:
            assert isinstance(event.date.start, dt.date)
            assert "None" not in declared(event.date, "start"), f"event date.start is {declared(event.date, 'start')}"
        ids += [event.id for event in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3
    assert ids == [event["id"] for event in expected]


def test_fetches_one_actor(generated, client):
    get_actor = operation(generated, "actors", "getActor")
    actor = get_actor.sync(client=client, actor_id="imran-khan")
    assert (actor.id, actor.name) == ("imran-khan", "Imran Khan")


def test_an_unknown_actor_is_a_typed_problem_naming_the_parameter(generated, client):
    list_events = operation(generated, "events", "listEvents")
    response = list_events.sync_detailed(client=client, actor=["no-such-actor"])
    assert response.status_code == 400
    problem = response.parsed
    assert isinstance(problem, problem_model(generated)), f"the 400 body was parsed as {problem!r}"
    assert (problem.status, problem.parameter) == (400, "actor")
    assert "no-such-actor" in problem.detail


def test_a_missing_event_is_a_typed_problem(generated, client):
    get_event = operation(generated, "events", "getEvent")
    response = get_event.sync_detailed(client=client, event_id="no-such-event")
    assert response.status_code == 404
    problem = response.parsed
    assert isinstance(problem, problem_model(generated)), f"the 404 body was parsed as {problem!r}"
    assert problem.status == 404 and "no-such-event" in problem.detail


def test_downloads_an_export(generated, client, live_url):
    export = operation(generated, "events", "exportEventsCsv")
    text = export.sync(client=client, **FILTERS)
    assert isinstance(text, str), f"the CSV export came back as {type(text).__name__}"
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = httpx.get(f"{live_url}/v1/events", params={**FILTERS, "limit": 100}).json()["items"]
    assert [row["id"] for row in rows] == [event["id"] for event in expected]
