"""Settings files that cannot be used: never written over by a later change (the person's
other values would be lost), nesting too deep for json said like any other damage (not a crash
at start), a Notepad BOM accepted, and store durations that would wreck retention refused."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models.enums import Sensitivity, UserRole
from aiops_desktop.models.errors import UsageError
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SETTINGS_CHANGED, SettingsService
from aiops_desktop.settings import Settings

DEEP = 20_000  # far past json's (and pydantic's) nesting limits


class _Anomalies:
    """Only ``sensitivity`` is set by SettingsService."""

    sensitivity = Sensitivity.MEDIUM


@pytest.mark.asyncio
async def test_a_change_is_refused_while_the_file_cannot_be_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    content = json.dumps({
        "llm": {"endpoint": "http://127.0.0.1:8080/v1", "model": "granite-8b"},
        "http": {"read_timeout_s": 120},
        "poller": {"timeout_s": "60s"},  # the one typo
    })  # fmt: skip
    path.write_text(content)
    settings, problem = Settings.load(path)
    assert problem is not None and "poller.timeout_s" in problem
    assert settings.access.role is UserRole.ADMIN  # no access section: the role it would give
    bus, anomalies, published = EventBus(), _Anomalies(), []
    bus.subscribe(SETTINGS_CHANGED, published.append)
    service = SettingsService(settings, path, bus, anomalies)  # type: ignore[arg-type]
    with pytest.raises(UsageError) as refused:
        await service.set_sensitivity(Sensitivity.HIGH)
    said = str(refused.value)
    assert str(path) in said and "poller.timeout_s" in said and "nothing was changed" in said
    assert path.read_text() == content  # the endpoint, model and timeouts are all still there
    assert service.current == settings and anomalies.sensitivity is Sensitivity.MEDIUM
    assert published == []
    path.write_text('{"poller": {"timeout_s": 60}}')  # corrected: changes are kept again
    await service.set_sensitivity(Sensitivity.HIGH)
    assert Settings.load(path)[0].detection.sensitivity is Sensitivity.HIGH


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * DEEP,
        b'{"access": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        b'{"access": {"role": "admin"}, "ui": ' + b"[" * DEEP + b"}",
    ],
    ids=["top", "under-access", "beside-access"],
)
def test_nesting_too_deep_is_said_and_runs_as_viewer(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(raw)
    settings, problem = Settings.load(path)  # no RecursionError at start
    assert problem is not None and str(path) in problem and "defaults used" in problem
    assert settings == Settings().model_copy(update={"access": settings.access})
    assert settings.access.role is UserRole.VIEWER and "viewer role" in problem
    assert path.read_bytes() == raw


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b'\xef\xbb\xbf{"ui": {"theme": "dark"}, "access": {"role": "operator"}}')
    settings, problem = Settings.load(path)
    assert problem is None
    assert settings.ui.theme == "dark" and settings.access.role is UserRole.OPERATOR


@pytest.mark.parametrize(
    ("store", "field"),
    [
        ({"raw_retention": "-PT1H"}, "store.raw_retention"),  # every raw sample deleted
        ({"raw_retention": "PT0S"}, "store.raw_retention"),
        ({"rollup_retention": "-P1D"}, "store.rollup_retention"),
        ({"health_retention": "PT0S"}, "store.health_retention"),
    ],
)
def test_store_durations_must_be_positive(
    tmp_path: Path, store: dict[str, Any], field: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"store": store}))
    settings, problem = Settings.load(path)
    assert problem is not None and field in problem and "defaults used" in problem
    assert settings.store == Settings().store


@pytest.mark.parametrize("step", ["PT0S", "PT0.5S"])
def test_a_rollup_step_under_a_second_is_a_second(tmp_path: Path, step: str) -> None:
    """0 s: every retention pass divided by it; under a second: kept as resolution 0 (raw).
    Past its bound, it is the bound, and said (the rest of the file kept)."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"store": {"rollup_step": step}, "ui": {"theme": "dark"}}))
    settings, problem = Settings.load(path)
    assert problem is not None and "store.rollup_step" in problem and "PT1S used" in problem
    assert settings.store.rollup_step == timedelta(seconds=1) and settings.ui.theme == "dark"


@pytest.mark.parametrize("field", ["raw_retention", "rollup_retention", "health_retention"])
def test_store_retentions_have_a_maximum(tmp_path: Path, field: str) -> None:
    """A "keep for ever" written as a huge duration was accepted, and then every maintenance
    pass failed (now minus it is before year 1): nothing was pruned again, the keyring's
    orphans were never swept. Earlier versions took it: used at 10 years, and said."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"store": {field: "P1000000D"}}))
    settings, problem = Settings.load(path)
    assert problem is not None and f"store.{field} P1000000D is past its limit P10Y" in problem
    assert getattr(settings.store, field).days == 3650 and "defaults used" not in problem
    path.write_text(json.dumps({"store": {field: "P3650D"}}))
    settings, problem = Settings.load(path)
    assert problem is None and getattr(settings.store, field).days == 3650


def test_store_durations_at_their_least(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"store": {"rollup_step": "PT1S", "raw_retention": "PT1M"}}))
    settings, problem = Settings.load(path)
    assert problem is None and settings.store.rollup_step.total_seconds() == 1
