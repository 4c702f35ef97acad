"""Settings: sections with defaults, the person's file (kept whole, owner-only), a damaged file
said and left alone, and the live detector's sensitivity changed and kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aiops_desktop.models.enums import Sensitivity, UserRole
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import AccessSettings, HttpPolicy, Settings, resolve_paths


def test_defaults_and_a_file_with_only_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings, problem = Settings.load(path)
    assert problem is None and settings == Settings()
    assert settings.detection.sensitivity is Sensitivity.MEDIUM
    assert settings.http.read_timeout_s == 30.0 and settings.poller.speed == 1.0
    changed = settings.model_copy(update={"http": HttpPolicy(read_timeout_s=12.0)})
    changed.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().count(":") == 2  # only http.read_timeout_s is written
    again, problem = Settings.load(path)
    assert problem is None and again.http.read_timeout_s == 12.0 and again.http.retries == 3


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('{"detection": {"sensitivity": "LOUD"}}', "detection.sensitivity"),
        ('{"http": {"read_timeout_s": -1}}', "http.read_timeout_s"),
        ('{"ui": "dark"}', "ui"),  # a field unknown is a newer version's: test_settings_file_review
        ("{not json", "not valid"),
        (" " * 70_000, "too large"),
    ],
)
def test_a_damaged_file_is_said_and_left_as_it_is(tmp_path: Path, content: str, said: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    settings, problem = Settings.load(path)
    # defaults, but never a higher role than the file gives: one that cannot be read at all
    # runs as viewer (services/runtime/access.py)
    unreadable = said in ("not valid", "too large")
    role = UserRole.VIEWER if unreadable else UserRole.ADMIN
    assert settings == Settings(access=AccessSettings(role=role))
    assert problem is not None and said in problem and "defaults used" in problem
    assert path.read_text() == content


@pytest.mark.asyncio
async def test_sensitivity_applies_at_once_and_is_kept(tmp_path: Path, secret_service) -> None:  # type: ignore[no-untyped-def]
    paths = resolve_paths(tmp_path / "home")
    core = Core.open(paths, secrets=SecretStore(secret_service.backend()))
    try:
        assert core.anomalies.sensitivity is Sensitivity.MEDIUM
        await core.preferences.set_sensitivity(Sensitivity.HIGH)
        assert core.anomalies.sensitivity is Sensitivity.HIGH
        assert '"HIGH"' in paths.settings_file.read_text()
    finally:
        await core.shutdown()
    reopened = Core.open(paths, secrets=SecretStore(secret_service.backend()))
    try:
        assert reopened.anomalies.sensitivity is Sensitivity.HIGH
        assert not reopened.notices
    finally:
        await reopened.shutdown()

    paths.settings_file.write_text('{"detection": {"sensitivity": 7}}')
    damaged = Core.open(paths, secrets=SecretStore(secret_service.backend()))
    try:
        assert damaged.anomalies.sensitivity is Sensitivity.MEDIUM
        assert any("settings file" in n and "defaults used" in n for n in damaged.notices)
    finally:
        await damaged.shutdown()
