"""Review fixes for settings.json: a change made in one process keeps what another saved
meanwhile (the CLI's ``llm set`` or a hand edit while the window is open), and every number is
finite and bounded (a huge delay passed validation and then killed the store's writer thread,
so every later write waited for ever)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.models.errors import UsageError
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import LlmSettings, Settings, UiSettings, resolve_paths
from tests.qtfree.cli_runner import call_main


class _Anomalies:
    """Only ``sensitivity`` is set by SettingsService."""

    sensitivity = Sensitivity.MEDIUM


def _service(path: Path) -> SettingsService:
    """One process's settings, read at its start."""
    settings, problem = Settings.load(path)
    assert problem is None
    return SettingsService(settings, path, EventBus(), _Anomalies())  # type: ignore[arg-type]


# --- a change keeps what another process saved -------------------------------------------------


@pytest.mark.asyncio
async def test_a_change_keeps_the_sections_another_process_saved(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    window, terminal = _service(path), _service(path)  # both started before either changed
    await terminal.set_llm(LlmSettings(endpoint="http://127.0.0.1:8080/v1", model="smollm2"))
    await window.set_sensitivity(Sensitivity.HIGH)
    kept, problem = Settings.load(path)
    assert problem is None
    assert kept.llm.endpoint == "http://127.0.0.1:8080/v1" and kept.llm.model == "smollm2"
    assert kept.detection.sensitivity is Sensitivity.HIGH
    # a hand edit while the window is open is kept too; only the changed section is replaced
    on_disk = json.loads(path.read_text())
    on_disk["http"] = {"read_timeout_s": 120}
    on_disk["detection"] = {"sensitivity": "LOW"}
    path.write_text(json.dumps(on_disk))
    await window.set_ui(UiSettings(theme="dark"))
    kept, problem = Settings.load(path)
    assert problem is None and kept.ui.theme == "dark"
    assert kept.http.read_timeout_s == 120 and kept.llm.model == "smollm2"
    assert kept.detection.sensitivity is Sensitivity.LOW  # the hand edit, not the window's copy
    assert window.current.detection.sensitivity is Sensitivity.HIGH  # what the window runs with


@pytest.mark.asyncio
async def test_the_cli_llm_set_survives_the_windows_next_change(tmp_path: Path) -> None:
    """The reviewer's case end to end: the app's window open, ``aiops-desktop llm set`` in a
    terminal, then the window's Settings dialog changes the sensitivity."""
    home = tmp_path / "home"
    window = Core.open(resolve_paths(home), secrets=NoSecrets())
    try:
        code, _, err = await asyncio.to_thread(
            call_main, home, "llm", "set", "--endpoint", "http://127.0.0.1:8080/v1",
            "--model", "smollm2",
        )  # fmt: skip
        assert code == 0, err
        await window.preferences.set_sensitivity(Sensitivity.HIGH)
    finally:
        await window.shutdown()
    kept = json.loads((home / "settings.json").read_text())
    assert kept["llm"] == {"endpoint": "http://127.0.0.1:8080/v1", "model": "smollm2",
                           "key_with_server": True}  # fmt: skip
    assert kept["detection"] == {"sensitivity": "HIGH"}


@pytest.mark.skipif(sys.platform == "win32", reason="the POSIX file lock (fcntl)")
def test_a_save_waits_for_another_process_holding_the_file_lock(tmp_path: Path) -> None:
    """Read, replace one section and write happen under an OS lock, so two processes saving at
    once cannot both start from the same file (the later write would drop the earlier one)."""
    import fcntl

    path = tmp_path / "settings.json"
    path.write_text('{"http": {"read_timeout_s": 120}}')
    changed = Settings().model_copy(update={"ui": UiSettings(theme="dark")})
    lock = os.open(tmp_path / ".settings.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other process, mid-change
        saver = threading.Thread(target=changed.save, args=(path,), kwargs={"sections": ["ui"]})
        saver.start()
        saver.join(0.5)
        assert saver.is_alive()  # waiting for the lock, not written past it
        assert json.loads(path.read_text()) == {"http": {"read_timeout_s": 120}}
        path.write_text('{"http": {"read_timeout_s": 60}}')  # what the other process wrote
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    saver.join(10)
    assert not saver.is_alive()
    assert json.loads(path.read_text()) == {"http": {"read_timeout_s": 60}, "ui": {"theme": "dark"}}


def test_a_save_leaves_no_temporary_file_and_stays_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    changed = Settings().model_copy(update={"ui": UiSettings(theme="light")})
    for _ in range(3):
        changed.save(path, sections=["ui"])
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert left == ["settings.json"]
    if sys.platform != "win32":
        assert path.stat().st_mode & 0o777 == 0o600


def test_a_section_save_never_writes_over_a_file_that_cannot_be_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    content = '{"llm": {"model": "granite-8b"}, "poller": {"speed": Infinity}}'
    path.write_text(content)
    changed = Settings().model_copy(update={"ui": UiSettings(theme="dark")})
    with pytest.raises(UsageError, match=r"poller\.speed"):
        changed.save(path, sections=["ui"])
    assert path.read_text() == content


# --- every number finite and bounded -----------------------------------------------------------

NOT_FINITE: list[tuple[str, str, str]] = [
    ("store", "batch_max_delay_s", "Infinity"),  # the writer thread died on its first write
    ("store", "batch_max_delay_s", "NaN"),
    ("http", "backoff_base_s", "Infinity"),
    ("http", "backoff_max_s", "Infinity"),
    ("http", "connect_timeout_s", "NaN"),
    ("poller", "speed", "Infinity"),
    ("poller", "speed", "NaN"),
    ("poller", "timeout_s", "Infinity"),
    ("poller", "max_backoff_s", "Infinity"),
    ("llm", "temperature", "NaN"),
    ("ui", "font_scale", "Infinity"),
    # past a strict bound: the value on it is what is excluded, and the nearest one inside (a
    # timeout of 5e-324 s, a jitter of 0.9999999999999999) is no more usable
    ("poller", "timeout_s", "0"),
    ("poller", "jitter", "1.5"),
    ("poller", "timeout_s", '"a minute"'),  # the wrong type
]


@pytest.mark.parametrize(("section", "field", "value"), NOT_FINITE)
def test_a_number_not_finite_is_said_and_defaults_used(
    tmp_path: Path, section: str, field: str, value: str
) -> None:
    path = tmp_path / "settings.json"
    content = f'{{"{section}": {{"{field}": {value}}}}}'
    path.write_text(content)
    settings, problem = Settings.load(path)
    assert problem is not None and "is not valid" in problem and "defaults used" in problem
    assert f"{section}.{field}" in problem
    assert settings == Settings()
    assert path.read_text() == content  # left as it is, for the person to correct


#: (section, field, in the file, the limit used, its value in the settings)
PAST_A_LIMIT: list[tuple[str, str, str, str, object]] = [
    ("store", "batch_max_delay_s", "1e10", "10", 10),
    ("store", "batch_max_delay_s", "10.5", "10", 10),
    ("store", "rollup_step", '"P1000000D"', "P1D", timedelta(days=1)),
    ("store", "rollup_step", '"PT0.1S"', "PT1S", timedelta(seconds=1)),
    ("http", "backoff_base_s", "1e9", "60", 60),
    ("http", "backoff_max_s", "1e9", "300", 300),
    ("poller", "speed", "1e-300", "0.001", 0.001),  # every interval divided down to nothing
    ("poller", "speed", "0.0009", "0.001", 0.001),
    ("poller", "speed", "100.5", "100", 100),
    ("poller", "timeout_s", "301", "300", 300),
    ("poller", "max_backoff_s", "3601", "3600", 3600),
]


@pytest.mark.parametrize(("section", "field", "value", "limit", "used"), PAST_A_LIMIT)
def test_a_finite_number_past_its_limit_is_clamped_and_said(
    tmp_path: Path, section: str, field: str, value: str, limit: str, used: object
) -> None:
    path = tmp_path / "settings.json"
    content = f'{{"{section}": {{"{field}": {value}}}, "ui": {{"theme": "dark"}}}}'
    path.write_text(content)
    settings, notice = Settings.load(path)
    shown = json.loads(value)
    assert notice is not None and "defaults used" not in notice
    assert f"{section}.{field} {shown} is past its limit {limit}: {limit} used" in notice
    assert getattr(getattr(settings, section), field) == used
    assert settings.ui.theme == "dark"  # the rest of the file kept
    assert path.read_text() == content  # the file is the person's: not rewritten by a load


def test_an_old_file_past_the_new_limits_keeps_everything_else(tmp_path: Path) -> None:
    """A file the previous version accepted (a slow fleet's 10-minute poll timeout, a failing
    cluster retried every 2 h): the LLM endpoint, the theme and the rest are used, the two
    numbers clamped to their limits and said, and later changes are saved."""
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "poller": {"timeout_s": 600, "max_backoff_s": 7200, "global_cap": 8},
                "llm": {"endpoint": "http://llm.noc.local:8000/v1", "model": "granite"},
                "ui": {"theme": "dark"},
            }
        )
    )
    settings, notice = Settings.load(path)
    assert settings.llm.endpoint == "http://llm.noc.local:8000/v1"
    assert settings.llm.model == "granite" and settings.ui.theme == "dark"
    assert settings.poller.timeout_s == 300 and settings.poller.max_backoff_s == 3600
    assert settings.poller.global_cap == 8
    assert notice is not None and str(path) in notice and "defaults used" not in notice
    assert "poller.timeout_s 600 is past its limit 300: 300 used" in notice
    assert "poller.max_backoff_s 7200 is past its limit 3600: 3600 used" in notice
    # a change of another section is saved, and the file's poller section kept as it has it
    settings.model_copy(update={"ui": UiSettings(theme="light")}).save(path, ["ui"])
    on_disk = json.loads(path.read_text())
    assert on_disk["ui"] == {"theme": "light"}
    assert on_disk["llm"] == {"endpoint": "http://llm.noc.local:8000/v1", "model": "granite"}
    assert on_disk["poller"] == {"timeout_s": 600, "max_backoff_s": 7200, "global_cap": 8}
    again, notice = Settings.load(path)
    assert again.ui.theme == "light" and again.poller.timeout_s == 300
    assert notice is not None and "poller.timeout_s 600" in notice
    # a change of the poller section itself writes what is in use
    poller = again.poller.model_copy(update={"global_cap": 4})
    again.model_copy(update={"poller": poller}).save(path, ["poller"])
    on_disk = json.loads(path.read_text())
    assert on_disk["poller"] == {"timeout_s": 300, "max_backoff_s": 3600, "global_cap": 4}
    assert Settings.load(path)[1] is None


def test_a_file_past_a_limit_and_not_finite_elsewhere_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    content = '{"poller": {"timeout_s": 600, "speed": NaN}, "llm": {"model": "granite"}}'
    path.write_text(content)
    settings, problem = Settings.load(path)
    assert problem is not None and "defaults used" in problem and "poller.speed" in problem
    assert settings == Settings()
    with pytest.raises(UsageError, match=r"poller\.speed"):
        settings.model_copy(update={"ui": UiSettings(theme="dark")}).save(path, ["ui"])
    assert path.read_text() == content


AT_THE_LIMIT: dict[str, dict[str, Any]] = {
    "store": {"batch_max_delay_s": 10, "rollup_step": "P1D"},
    "http": {"backoff_base_s": 60, "backoff_max_s": 300},
    "poller": {"speed": 0.001, "timeout_s": 300, "max_backoff_s": 3600},
}


def test_numbers_at_their_limits_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(AT_THE_LIMIT))
    settings, problem = Settings.load(path)
    assert problem is None
    assert settings.store.batch_max_delay_s == 10 and settings.store.rollup_step.days == 1
    assert settings.http.backoff_base_s == 60 and settings.http.backoff_max_s == 300
    assert settings.poller.speed == 0.001 and settings.poller.timeout_s == 300
    assert settings.poller.max_backoff_s == 3600
    path.write_text(json.dumps({"poller": {"speed": 100}}))
    assert Settings.load(path)[0].poller.speed == 100
