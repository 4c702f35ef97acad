"""The Settings dialog: "Test" asks the model server typed (not the one saved) and saves
nothing; a font scale set by hand with more decimals than the box shows is not rewritten by
an Apply that changes something else."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.services.assistant import llm as llm_module
from aiops_desktop.services.assistant.llm import LLM_KEY_REF, LlmService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import Settings
from collectors.llm import LlmEndpoint, Reply
from tests.ui.conftest import run_until
from ui.dialogs.settings_dialog import SettingsDialog
from ui.presenters.settings import SettingsPresenter

SAVED = "http://127.0.0.1:8080/v1"
TYPED = "http://127.0.0.1:11434/v1"
SAVED_KEY = "sk-key-of-the-saved-server-0123456789"
TYPED_KEY = "sk-key-typed-for-the-new-server-98765"


class Keyring:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {LLM_KEY_REF.key: SAVED_KEY}

    def put(self, ref: CredentialRef, secret: str) -> None:
        self.keys[ref.key] = secret

    def get(self, ref: CredentialRef) -> str | None:
        return self.keys.get(ref.key)

    def delete(self, ref: CredentialRef) -> bool:
        return self.keys.pop(ref.key, None) is not None


class Asked:
    """Stands in for the HTTP client: records the server asked and the key sent."""

    seen: ClassVar[list[LlmEndpoint]] = []

    def __init__(self, endpoint: LlmEndpoint) -> None:
        Asked.seen.append(endpoint)

    async def models(self) -> list[str]:
        return ["model-typed"]

    async def complete(self, *args: Any, **kw: Any) -> Reply:
        return Reply("ready", [], "stop", 1, 1, 5.0, 9.0)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def opened(
    tmp_path: Path, qloop: qasync.QEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SettingsDialog, Path, list[LlmEndpoint]]]:
    """The dialog over a settings file of a saved server (its key in the keyring) and a font
    scale set by hand."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"llm": {"endpoint": SAVED, "model": "saved"},
                                "ui": {"font_scale": 1.125}}))  # fmt: skip
    Asked.seen = []
    monkeypatch.setattr(llm_module, "LlmClient", Asked)
    bus = EventBus()
    detector = SimpleNamespace(sensitivity=None)  # the live detector's one setting
    prefs = SettingsService(Settings.load(path)[0], path, bus, anomalies=detector)  # type: ignore[arg-type]
    tasks = TaskSupervisor()
    llm = LlmService(prefs, Keyring(), bus)  # type: ignore[arg-type]
    presenter = SettingsPresenter(settings=prefs, tasks=tasks, llm=llm)
    dialog = SettingsDialog(presenter)
    qtbot.addWidget(dialog)
    yield dialog, path, Asked.seen
    run_until(qtbot, lambda: tasks.running == 0)


def _tested(dialog: SettingsDialog, qtbot: QtBot) -> str:
    qtbot.mouseClick(dialog.llm_test, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: not dialog.status.text().startswith("Asking"))
    return dialog.status.text()


def test_test_asks_the_server_typed_with_the_key_typed(opened, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    dialog, path, asked = opened
    before = path.read_text()
    dialog.llm_endpoint.setText(TYPED)
    dialog.llm_model.setText("typed")
    dialog.llm_verify.setChecked(False)
    dialog.llm_key.setText(TYPED_KEY)
    said = _tested(dialog, qtbot)
    assert [(e.base_url, e.model, e.verify, e.api_key) for e in asked] == [
        (TYPED, "typed", False, TYPED_KEY)
    ]
    assert "model-typed" in said
    assert path.read_text() == before  # a test saves nothing
    assert dialog.llm_key.text() == TYPED_KEY  # the key typed stays for the Apply


def test_test_of_another_server_sends_it_no_stored_key(opened, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    dialog, _path, asked = opened
    dialog.llm_endpoint.setText(TYPED)
    _tested(dialog, qtbot)
    dialog.llm_endpoint.setText(SAVED)  # the saved server: its own key
    _tested(dialog, qtbot)
    assert [(e.base_url, e.api_key) for e in asked] == [(TYPED, None), (SAVED, SAVED_KEY)]


def test_test_of_a_server_that_cannot_be_asked_says_why(opened, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    dialog, _path, asked = opened
    dialog.llm_endpoint.setText("http://10.1.2.3:8080/v1")
    assert "on this machine" in _tested(dialog, qtbot)
    assert asked == []


def _applied(dialog: SettingsDialog, qtbot: QtBot) -> None:
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Apply),
                     Qt.MouseButton.LeftButton)  # fmt: skip
    run_until(qtbot, lambda: not [t for t in asyncio.all_tasks() if not t.done()
                                  and t.get_name() in {"settings", "look"}])  # fmt: skip
    qtbot.wait(50)


def test_an_untouched_font_scale_is_not_rewritten(opened, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    dialog, path, _asked = opened
    dialog.sensitivity.setCurrentIndex(2)  # the only change
    _applied(dialog, qtbot)
    assert "Anomaly sensitivity" in dialog.status.text()
    assert "Theme" not in dialog.status.text()  # the look was not changed
    assert json.loads(path.read_text())["ui"]["font_scale"] == 1.125


def test_a_font_scale_changed_is_kept(opened, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    dialog, path, _asked = opened
    dialog.font_scale.setValue(1.5)
    _applied(dialog, qtbot)
    assert "font scale 1.5" in dialog.status.text()
    assert json.loads(path.read_text())["ui"]["font_scale"] == 1.5


def test_a_theme_changed_keeps_the_font_scale_set_by_hand(opened, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    dialog, path, _asked = opened
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    _applied(dialog, qtbot)
    assert "Theme dark" in dialog.status.text()
    kept = json.loads(path.read_text())["ui"]
    assert (kept["theme"], kept["font_scale"]) == ("dark", 1.125)  # not the box's 1.13
