"""The first retry's wait where settings.json gives none: the environment's
AIOPS_DESKTOP_BACKOFF_S when it is a number from 0 to 60 s (the test suite's 0.01 s), else 0.5 s;
a settings file's own value wins over both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiops_desktop.settings import BACKOFF_BASE_S, BACKOFF_ENV, HttpPolicy, Settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [("0.01", 0.01), ("0", 0.0), ("60", 60.0), ("61", BACKOFF_BASE_S), ("-1", BACKOFF_BASE_S),
     ("nan", BACKOFF_BASE_S), ("inf", BACKOFF_BASE_S), ("soon", BACKOFF_BASE_S),
     ("", BACKOFF_BASE_S)],
)  # fmt: skip
def test_the_environment_sets_the_default_within_its_bounds(
    monkeypatch: pytest.MonkeyPatch, env: str, expected: float
) -> None:
    monkeypatch.setenv(BACKOFF_ENV, env)
    assert HttpPolicy().backoff_base_s == expected


def test_without_the_environment_the_default_is_half_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BACKOFF_ENV, raising=False)
    assert HttpPolicy().backoff_base_s == BACKOFF_BASE_S == 0.5


def test_a_settings_files_value_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(BACKOFF_ENV, "0.01")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"http": {"backoff_base_s": 2.0}}))
    settings, notice = Settings.load(path)
    assert notice is None and settings.http.backoff_base_s == 2.0
