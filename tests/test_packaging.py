"""The package stands on its own: importing it builds nothing, its files are found through importlib.resources,
and a regular (non-editable) install into a fresh virtual environment migrates and serves from an empty folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.db import make_engine, session_factory
from app.exports.events import gazetteer
from app.models import Event
from app.packaged import PackagedFileMissing, bundled_data, migrations_folder, packaged_path
from tests.helpers import DATA, ROOT, free_port, serving

BUNDLED_EVENTS = 33
# What a checkout holds besides the source: never part of what `pip install .` is asked to build.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "var", ".pytest_cache", ".hypothesis", "*.sqlite3*"
)


def files_under(root: Path, *, skip: tuple[str, ...] = ()) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.relative_to(root).as_posix() not in skip
    }


def test_importing_the_app_builds_nothing(tmp_path):
    code = (
        "import gc, os, app.main, app.cli; "
        "assert not hasattr(app.main, 'app'), 'an app built at import'; "
        "assert gc.get_freeze_count() == 0, 'gc.freeze() at import'; "
        "assert os.listdir('.') == [], os.listdir('.')"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_packaged_files_are_the_checkouts_own():
    assert files_under(bundled_data(), skip=("__init__.py",)) == files_under(DATA, skip=("__init__.py",))
    assert (migrations_folder() / "env.py").is_file()
    assert (migrations_folder() / "script.py.mako").is_file()
    assert list((migrations_folder() / "versions").glob("*.py"))
    assert gazetteer()


def test_a_missing_packaged_file_raises(monkeypatch, tmp_path):
    with pytest.raises(PackagedFileMissing, match=r"no-such-file\.yaml"):
        packaged_path("app.exports", "no-such-file.yaml")
    with pytest.raises(PackagedFileMissing, match="not installed"):
        packaged_path("app.no_such_package")
    # An install without the gazetteer must fail GeoJSON exports loudly, not export no features.
    monkeypatch.setattr("app.packaged.files", lambda package: tmp_path)
    gazetteer.cache_clear()
    try:
        with pytest.raises(PackagedFileMissing, match=r"gazetteer\.yaml"):
            gazetteer()
    finally:
        gazetteer.cache_clear()


def test_every_subpackage_is_declared_in_pyproject():
    """pyproject.toml lists packages (app.bundled is mapped from data/); a subpackage left out would be
    missing from the wheel while every test of the checkout still passed."""
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "app").rglob("*.py") if "__pycache__" not in p.parts
    }
    assert found - declared == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_serve_loads_the_bundled_data_when_no_data_path_is_set(empty_db, tmp_path, monkeypatch):
    """From a folder without `data/`, `dipevents serve` loads the dataset shipped in the package and hands uvicorn
    the factory (uvicorn itself is replaced here)."""
    import uvicorn

    from app.cli import cli
    from app.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", empty_db)
    monkeypatch.delenv("DATA_PATH", raising=False)
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append((args, kwargs)))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [(args, kwargs)] = served
    assert args == ("app.main:create_app",) and kwargs["factory"] is True
    engine = make_engine(empty_db)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == BUNDLED_EVENTS
    engine.dispose()


# -- a regular install, used from elsewhere ---------------------------------------------------------------


class Installed:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.source = root / "source"
        self.venv = root / "venv"
        self.bin = self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment without anything that would let the installed code see the checkout or its settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DATABASE_URL", "DATA_PATH", "HOST", "PORT")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return {**env, **extra}

    def run(self, *command: str | Path, cwd: Path, timeout: float = 120, **env: str) -> str:
        result = subprocess.run(
            [str(c) for c in command], cwd=cwd, env=self.env(**env), capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip install <copy of the checkout>` (not editable) into a new virtual environment.

    The build runs on a copy, so it neither writes build/ into the checkout nor packages stale files from it.
    """
    inst = Installed(tmp_path_factory.mktemp("installed"))
    shutil.copytree(ROOT, inst.source, ignore=NOT_SOURCE)
    inst.run(sys.executable, "-m", "venv", inst.venv, cwd=inst.root)
    inst.run(inst.bin / "python", "-m", "pip", "install", "--quiet", inst.source, cwd=inst.root, timeout=600)
    shutil.rmtree(inst.source)  # from here on, nothing but the install exists
    return inst


def test_the_wheel_ships_the_code_migrations_and_data(installed, tmp_path):
    where = installed.run(installed.bin / "python", "-c", "import app; print(app.__file__)", cwd=tmp_path).strip()
    site_app = Path(where).parent
    assert site_app.is_relative_to(installed.venv), f"imported {where}, not the installed package"
    assert files_under(site_app) - {f"bundled/{f}" for f in files_under(DATA)} == files_under(ROOT / "app")
    assert files_under(site_app / "bundled") == files_under(DATA)


@pytest.fixture
def served(installed, empty_db, tmp_path) -> Iterator[str]:
    """`dipevents migrate`, then `dipevents serve`, from an empty folder with only DATABASE_URL set."""
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    out = installed.run(installed.bin / "dipevents", "migrate", cwd=run_dir, DATABASE_URL=empty_db)
    assert "latest schema revision" in out
    port = free_port()
    command = [str(installed.bin / "dipevents"), "serve", "--port", str(port)]
    with serving(command, run_dir, installed.env(DATABASE_URL=empty_db), tmp_path / "serve.log", port) as base:
        yield base
    # The SQLite file lives elsewhere: serving must not have written into the working folder.
    assert list(run_dir.iterdir()) == []


def test_installed_package_migrates_and_serves_the_bundled_data_from_an_empty_folder(served):
    with httpx.Client(base_url=served, timeout=10) as client:
        events = client.get("/v1/events", params={"limit": 100})
        assert events.status_code == 200, events.text
        assert events.json()["total"] == BUNDLED_EVENTS
        assert len(events.json()["items"]) == BUNDLED_EVENTS
        openapi = client.get("/openapi.json")
        assert openapi.status_code == 200
        assert "/v1/events" in openapi.json()["paths"]
        geojson = client.get("/v1/events", params={"format": "geojson"})
        assert geojson.status_code == 200
        assert geojson.json()["features"], "the packaged gazetteer placed no event"
