"""The chat's five personas, read from ``resources/assistant/personas.json``: each one's
system prompt and the read-only tools it may call (checked against the app's tools)."""

from __future__ import annotations

import json
from functools import cache

from aiops_desktop.models.chat import Persona
from aiops_desktop.models.enums import PersonaName
from aiops_desktop.settings import resources_dir

MAX_PERSONAS_BYTES = 256 * 1024


@cache
def load_personas() -> dict[PersonaName, Persona]:
    """Every persona by name; a file without all five is a packaging fault (raised)."""
    path = resources_dir() / "assistant" / "personas.json"
    with path.open("rb") as handle:
        document = json.loads(handle.read(MAX_PERSONAS_BYTES))
    personas = {p.name: p for p in map(Persona.model_validate, document["personas"])}
    missing = set(PersonaName) - set(personas)
    if missing:
        raise ValueError(f"{path}: no persona {', '.join(sorted(missing))}")
    return personas
