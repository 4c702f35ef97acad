"""The query catalog: PromQL per panel, as data in ``resources/queries/*.json``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.errors import AppError
from aiops_desktop.settings import resources_dir


class CatalogError(AppError, ValueError):
    """A query catalog file that cannot be used."""


def load_catalog(folder: Path | None = None) -> list[Panel]:
    folder = folder or resources_dir() / "queries"
    panels: list[Panel] = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            group = str(doc["group"])
            panels += [Panel(group=group, **item) for item in doc["panels"]]
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            raise CatalogError(f"query catalog {path.name} is not valid: {exc}") from exc
    ids = [p.id for p in panels]
    if len(ids) != len(set(ids)):
        raise CatalogError("query catalog has duplicate panel ids")
    return panels


@cache
def field_queries(topic: str, name: str = "queries") -> dict[str, str]:
    """``resources/<topic>/<name>.json``: PromQL per field of a reader (keys with ``_`` are
    comments)."""
    data: dict[str, str] = json.loads((resources_dir() / topic / f"{name}.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}
