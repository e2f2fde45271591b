"""Files shipped inside the package: the Alembic migrations, the bundled dataset and the gazetteer.

They are found through `importlib.resources`, never relative to the source tree or the working directory, so a
source checkout, an editable install and a wheel installed into any environment all resolve them the same way.
A file that should be there and is not is an incomplete install: it raises, it never degrades to an empty value.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

MIGRATIONS = "app.migrations"
# The top-level `data/` folder, installed as this package (pyproject.toml maps one onto the other).
BUNDLED_DATA = "app.bundled"


class PackagedFileMissing(FileNotFoundError):
    """A file or folder the installed package should contain is absent (reinstalling dipevents fixes it)."""


def packaged_path(package: str, name: str = "") -> Path:
    """The file or folder `name` inside `package` (a dotted package name; "" for the package's own folder).

    Returns a filesystem path: Alembic and the bundle reader need real files. Raises `PackagedFileMissing` when
    the package is not installed, when it is not installed as plain files (imported from a zip archive), or when
    `name` is not in it.
    """
    try:
        root = files(package)
    except ModuleNotFoundError as exc:
        raise PackagedFileMissing(
            f"package {package} is not installed; reinstall dipevents (`pip install .`, or `pip install -e .` "
            f"in a checkout after pyproject.toml changed)"
        ) from exc
    resource = root.joinpath(name) if name else root
    if not isinstance(resource, Path):
        raise PackagedFileMissing(f"{package}/{name} is not a file on disk ({resource!r}); install dipevents unzipped")
    if not resource.exists():
        raise PackagedFileMissing(f"{resource} is missing from the installed dipevents package; reinstall dipevents")
    return resource


def migrations_folder() -> Path:
    """The Alembic script folder (env.py, script.py.mako, versions/) shipped inside the package."""
    return packaged_path(MIGRATIONS)


def bundled_data() -> Path:
    """The curated dataset shipped with the package (the YAML bundle of the top-level `data/` folder).

    `dipevents serve` loads it into an empty database unless `DATA_PATH` names another bundle.
    """
    return packaged_path(BUNDLED_DATA)
