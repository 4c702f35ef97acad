"""Review fixes for settings.json: a file an earlier or a newer version wrote is used, not
refused whole. A retention past the 10-year limit (earlier versions had none) is used at the
limit and said, like every other number past its limit; a field this version does not know is
ignored and a theme it does not know is the default, each said, and both are kept in the file
by every save (a newer version sharing the file loses nothing). Before, each of these sent
every setting in the file back to its default and refused every change until a hand edit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models.enums import Sensitivity, UserRole
from aiops_desktop.models.errors import UsageError
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import MAX_RETENTION, Settings, UiSettings

LLM = {"endpoint": "http://127.0.0.1:8080/v1", "model": "qwen"}
DEEP = 20_000  # far past json's (and pydantic's) nesting limits


class _Anomalies:
    """Only ``sensitivity`` is set by SettingsService."""

    sensitivity = Sensitivity.MEDIUM


def _file(tmp_path: Path, doc: dict[str, Any]) -> tuple[Path, str]:
    path = tmp_path / "settings.json"
    content = json.dumps(doc)
    path.write_text(content)
    return path, content


def _the_rest_used(settings: Settings) -> None:
    """What every file below holds besides the part this version cannot take as it is."""
    assert settings.detection.sensitivity is Sensitivity.HIGH
    assert settings.llm.endpoint == LLM["endpoint"] and settings.llm.model == "qwen"
    assert settings.poller.timeout_s == 120 and settings.ui.font_scale == 1.5


# --- #4 a retention past 10 years ---------------------------------------------------------------


@pytest.mark.parametrize("field", ["raw_retention", "rollup_retention", "health_retention"])
@pytest.mark.parametrize("value", ["P7300D", "P1000000D"])
def test_a_retention_past_10_years_is_used_at_the_limit_and_said(
    tmp_path: Path, field: str, value: str
) -> None:
    """An earlier version took any retention (a "keep for ever" of 20 years): the file is used,
    that retention at 10 years, and later changes are saved with the file's own text kept."""
    path, content = _file(tmp_path, {
        "store": {field: value}, "detection": {"sensitivity": "HIGH"}, "llm": LLM,
        "poller": {"timeout_s": 120}, "ui": {"theme": "dark", "font_scale": 1.5},
    })  # fmt: skip
    settings, notice = Settings.load(path)
    assert notice is not None and "defaults used" not in notice and str(path) in notice
    assert f"store.{field} {value} is past its limit P10Y: P10Y used" in notice
    assert getattr(settings.store, field) == MAX_RETENTION == timedelta(days=3650)
    _the_rest_used(settings)
    assert settings.ui.theme == "dark"
    assert path.read_text() == content  # a load never rewrites the person's file
    settings.model_copy(update={"ui": UiSettings(theme="light")}).save(path, ["ui"])
    on_disk = json.loads(path.read_text())
    assert on_disk["ui"] == {"theme": "light"} and on_disk["store"] == {field: value}


# --- #8 a file from a newer version -------------------------------------------------------------

NEWER: dict[str, dict[str, Any]] = {
    "a field": {"ui": {"theme": "dark", "font_scale": 1.5, "density": "compact"}},
    "a section": {"ui": {"theme": "dark", "font_scale": 1.5}, "wall": {"rotate_s": 30}},
}


@pytest.mark.parametrize("name", list(NEWER))
@pytest.mark.asyncio
async def test_what_this_version_does_not_know_is_ignored_said_and_kept(
    tmp_path: Path, name: str
) -> None:
    path, content = _file(tmp_path, {
        **NEWER[name], "detection": {"sensitivity": "HIGH"}, "llm": LLM,
        "poller": {"timeout_s": 120},
    })  # fmt: skip
    unknown = "ui.density" if name == "a field" else "wall"
    settings, notice = Settings.load(path)
    assert notice is not None and "defaults used" not in notice and str(path) in notice
    assert f"{unknown} is not known to this version: ignored" in notice
    _the_rest_used(settings)
    assert settings.ui.theme == "dark"
    assert path.read_text() == content
    # every change is saved, and what this version did not understand is kept as it was
    service = SettingsService(settings, path, EventBus(), _Anomalies())  # type: ignore[arg-type]
    await service.set_sensitivity(Sensitivity.LOW)
    await service.set_ui(UiSettings(theme="light", font_scale=1.25))
    on_disk = json.loads(path.read_text())
    assert on_disk["detection"] == {"sensitivity": "LOW"} and on_disk["llm"] == LLM
    if name == "a field":
        assert on_disk["ui"] == {"theme": "light", "font_scale": 1.25, "density": "compact"}
    else:
        assert on_disk["ui"] == {"theme": "light", "font_scale": 1.25}
        assert on_disk["wall"] == {"rotate_s": 30}
    # a whole save too, and a section whose every value is now a default keeps them
    Settings().save(path)
    on_disk = json.loads(path.read_text())
    newer = {"ui": {"density": "compact"}} if name == "a field" else {"wall": {"rotate_s": 30}}
    assert on_disk == newer


@pytest.mark.asyncio
async def test_a_theme_this_version_does_not_know_is_the_default_alone(tmp_path: Path) -> None:
    path, content = _file(tmp_path, {
        "ui": {"theme": "solarized", "font_scale": 1.5, "notify_critical": True},
        "detection": {"sensitivity": "HIGH"}, "llm": LLM, "poller": {"timeout_s": 120},
    })  # fmt: skip
    settings, notice = Settings.load(path)
    assert notice is not None and "defaults used" not in notice
    assert "ui.theme 'solarized' is not one this version knows: 'system' used" in notice
    assert settings.ui.theme == "system" and settings.ui.notify_critical is True
    _the_rest_used(settings)
    assert path.read_text() == content
    service = SettingsService(settings, path, EventBus(), _Anomalies())  # type: ignore[arg-type]
    # the font changed, the theme not: the newer version's theme stays in the file
    await service.set_ui(settings.ui.model_copy(update={"font_scale": 1.25}))
    on_disk = json.loads(path.read_text())
    assert on_disk["ui"] == {"theme": "solarized", "font_scale": 1.25, "notify_critical": True}
    assert Settings.load(path)[0].ui.font_scale == 1.25
    # a theme the person chooses here is written
    await service.set_ui(service.current.ui.model_copy(update={"theme": "dark"}))
    assert json.loads(path.read_text())["ui"]["theme"] == "dark"
    again, notice = Settings.load(path)
    assert again.ui.theme == "dark" and notice is None


def test_an_unknown_fields_value_is_never_said(tmp_path: Path) -> None:
    """Notices are shown and logged: a field this version does not know is named, its value
    (it may be a secret a newer version or a hand edit put there) is not."""
    secret = "sk-a-key-put-here-by-hand-0123456789"
    path, _ = _file(tmp_path, {"ui": {"api_key": secret}, "llm": LLM})
    settings, notice = Settings.load(path)
    assert notice is not None and "ui.api_key is not known" in notice
    assert secret not in notice and settings.llm.model == "qwen"
    # in the llm section the file is refused (below): still named, never its value
    path, _ = _file(tmp_path, {"llm": {**LLM, "api_key": secret}})
    settings, problem = Settings.load(path)
    assert problem is not None and "llm.api_key" in problem and "defaults used" in problem
    assert secret not in problem and not settings.llm.configured


# --- review #3: an unknown field of the llm section fails closed --------------------------------

#: what a hand edit's typo (or a newer version's privacy choice) next to the LLM looks like
REMOTE = {"endpoint": "https://llm.corp.example/v1", "model": "m", "allow_remote": True}


@pytest.mark.parametrize(
    "beside",
    [
        {},
        {"ui": {"density": "compact"}},  # a newer field elsewhere, ignored alone
        {"store": {"a": 1, "b": 2, "c": 3}, "ui": {"theme": "solarized"}},  # many named first
    ],
)
def test_an_unknown_llm_field_refuses_the_file_and_the_llm_stays_off(
    tmp_path: Path, beside: dict[str, Any]
) -> None:
    """``"redact_ip": true`` (a typo of redact_ips) or a newer version's privacy field: ignoring
    it while the rest applied turned the model server on with IP addresses sent unredacted.
    The file is refused as any damaged one (the LLM off, nothing sent), said with the field,
    left as it is, and the role it gives kept."""
    doc = {**beside, "llm": {**REMOTE, "redact_ip": True}, "access": {"role": "operator"}}
    path, content = _file(tmp_path, doc)
    settings, problem = Settings.load(path)
    assert problem is not None and "defaults used" in problem
    assert "llm.redact_ip" in problem and "LLM stays off" in problem
    assert not settings.llm.configured and settings.llm.endpoint is None
    assert settings.access.role is UserRole.OPERATOR  # no higher, no lower than the file's
    with pytest.raises(UsageError, match="nothing was changed"):
        Settings().save(path, ["ui"])
    assert path.read_text() == content
    # corrected, the file is used whole again
    path, _ = _file(tmp_path, {**doc, "llm": {**REMOTE, "redact_ips": True}})
    settings, notice = Settings.load(path)
    assert settings.llm.configured and settings.llm.redact_ips
    assert notice is None or "defaults used" not in notice


def test_an_unknown_field_never_raises_the_role(tmp_path: Path) -> None:
    path, _ = _file(tmp_path, {"access": {"role": "viewer", "scope": "fleet-a"}})
    settings, notice = Settings.load(path)
    assert settings.access.role is UserRole.VIEWER
    assert notice is not None and "access.scope is not known" in notice
    # an access section with a field unknown and no role (a typo of it) is not the default
    # admin: the file is refused, viewer
    path, content = _file(tmp_path, {"access": {"rolle": "viewer"}, "llm": LLM})
    settings, problem = Settings.load(path)
    assert problem is not None and "access.rolle" in problem and "defaults used" in problem
    assert settings.access.role is UserRole.VIEWER and path.read_text() == content
    path, _ = _file(tmp_path, {"access": {"role": "operator", "scope": "fleet-a"}})
    assert Settings.load(path)[0].access.role is UserRole.OPERATOR
    # a role this version cannot read is still damage, and viewer: never the default admin
    path, content = _file(tmp_path, {"access": {"role": "auditor"}, "ui": {"density": 1}})
    settings, problem = Settings.load(path)
    assert problem is not None and "access.role" in problem and "defaults used" in problem
    assert settings.access.role is UserRole.VIEWER and path.read_text() == content


@pytest.mark.parametrize(
    "doc",
    [
        {"ui": {"density": "compact"}, "poller": {"timeout_s": "60s"}},  # a typo beside it
        {"ui": {"theme": 7, "density": "compact"}},  # not a theme's name at all
        {"ui": {"theme": "solarized"}, "poller": {"speed": "NaN"}},
    ],
)
def test_damage_beside_a_newer_field_still_refuses_the_file(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    path, content = _file(tmp_path, doc)
    settings, problem = Settings.load(path)
    assert problem is not None and "defaults used" in problem
    assert "density" not in problem  # the damage said, not what is merely newer
    assert settings == Settings()
    with pytest.raises(UsageError, match="nothing was changed"):
        Settings().save(path, ["detection"])
    assert path.read_text() == content


def test_an_unknown_field_nested_too_deep_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    raw = b'{"llm": {"model": "qwen"}, "future": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    path.write_bytes(raw)
    settings, problem = Settings.load(path)
    assert problem is not None and "defaults used" in problem
    assert settings.llm.model == "" and settings.access.role is UserRole.VIEWER
    with pytest.raises(UsageError):
        Settings().save(path, ["ui"])
    assert path.read_bytes() == raw
