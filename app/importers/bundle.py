"""Read, validate and import a data bundle (a directory of YAML files).

Validation collects *every* problem (file, record, field) before anything is
written; the import then goes through the write path (app.curation.store: derived
values, change log, dataset version) in the caller's single transaction, so a
failed load leaves the database exactly as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import models as m
from app.curation import store
from app.curation.validate import Problem, RecordsInvalid, check_references
from app.schemas.bundle import (
    ActorIn,
    AgreementIn,
    Bundle,
    CitationIn,
    EventIn,
    SourceIn,
    TopicIn,
)

RECORD_TYPES: dict[str, type[BaseModel]] = {
    "sources": SourceIn,
    "citations": CitationIn,
    "topics": TopicIn,
    "actors": ActorIn,
    "events": EventIn,
    "agreements": AgreementIn,
}


# The importer's names for the write path's problem and error (app.curation.validate).
BundleInvalid = RecordsInvalid
__all__ = ["BundleInvalid", "LoadedBundle", "Problem", "dataset_is_empty", "import_bundle", "read_bundle"]


@dataclass
class LoadedBundle:
    bundle: Bundle
    origin: dict[tuple[str, str], str]  # (kind, id) -> file it came from


def bundle_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())


def read_bundle(path: str | Path, *, standalone: bool = True) -> LoadedBundle:
    """Parse and validate every file under ``path``; raise :class:`BundleInvalid` listing all problems.

    ``standalone``: also check that every reference points inside the bundle. A load that adds to a database passes
    False: the write path then checks references against the bundle and the database together."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.exists():
        raise BundleInvalid([Problem(str(root), "-", "", "no such file or directory")])
    files = bundle_files(root)
    if not files:
        raise BundleInvalid([Problem(str(root), "-", "", "no .yaml, .yml or .json files found")])

    merged: dict[str, list[Any]] = {kind: [] for kind in RECORD_TYPES}
    origin: dict[tuple[str, str], str] = {}
    invalid_ids: set[str] = set()
    for file in files:
        name = str(file)
        try:
            text = file.read_text(encoding="utf-8")
            # JSON is YAML, but the JSON parser is much faster on machine-written bundles.
            document = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, "-", "", f"not valid YAML/JSON: {exc}"))
            continue
        if document is None:
            continue
        if not isinstance(document, dict):
            problems.append(Problem(name, "-", "", "top level must be a mapping of resource kinds"))
            continue
        for kind, records in document.items():
            schema = RECORD_TYPES.get(kind)
            if schema is None:
                problems.append(
                    Problem(name, "-", str(kind), f"unknown resource kind; expected one of {', '.join(RECORD_TYPES)}")
                )
                continue
            if not isinstance(records, list):
                problems.append(Problem(name, "-", kind, "must be a list of records"))
                continue
            for index, raw in enumerate(records):
                label = _record_label(kind, index, raw)
                try:
                    record = schema.model_validate(raw)
                except ValidationError as exc:
                    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                        invalid_ids.add(raw["id"])  # known to exist: don't also report references to it
                    for error in exc.errors():
                        field = ".".join(str(part) for part in error["loc"])
                        problems.append(Problem(name, label, field, error["msg"]))
                    continue
                merged[kind].append(record)
                key = (kind, record.id)  # type: ignore[attr-defined]
                if key in origin:
                    problems.append(Problem(name, label, "id", f"duplicate id (also in {origin[key]})"))
                else:
                    origin[key] = name

    bundle = Bundle.model_construct(None, **merged)
    if standalone:
        problems.extend(check_references(bundle, origin, invalid_ids))
    if problems:
        raise BundleInvalid(problems)
    return LoadedBundle(bundle, origin)


def _record_label(kind: str, index: int, raw: Any) -> str:
    singular = kind[:-1]
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"{singular} {raw['id']!r}"
    return f"{singular} #{index + 1}"


def dataset_is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(m.SourceDocument)) == 0


def import_bundle(session: Session, loaded: LoadedBundle, *, replace: bool = False) -> dict[str, int]:
    """Write a validated bundle through the write path (app.curation.store.import_records) in the session's
    transaction, as the command line: the caller commits or rolls back. Counts per kind."""
    written = store.import_records(session, loaded.bundle, store.CLI, replace_all=replace, origin=loaded.origin)
    return written.counts
