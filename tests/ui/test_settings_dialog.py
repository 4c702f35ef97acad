"""The Settings dialog: an emptied endpoint turns the model server off and "Remove the stored
API key" acts whatever the endpoint field says; a settings file that cannot be used is not
written over (the refusal is shown, naming the file)."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from aiops_desktop.app import DesktopApp
from aiops_desktop.services.assistant.llm import LLM_KEY_REF
from tests.ui.conftest import run_coro, run_until

ENDPOINT = "http://127.0.0.1:8080/v1"


def test_an_emptied_endpoint_turns_the_model_server_off(desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    core = desktop.core
    run_coro(qtbot, core.llm.set(endpoint=ENDPOINT, model="m", key="sk-dialog-0123456789abcdef"))
    assert core.secrets.get(LLM_KEY_REF) is not None
    dialog = desktop.window.open_settings_dialog()
    dialog.llm_endpoint.setText("")
    dialog.llm_forget.setChecked(True)
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Apply),
                     Qt.MouseButton.LeftButton)  # fmt: skip
    run_until(qtbot, lambda: core.secrets.get(LLM_KEY_REF) is None)
    run_until(qtbot, lambda: "LLM off" in dialog.status.text())
    assert "API key was removed from the OS keyring" in dialog.status.text()
    assert not core.llm.configured and core.llm.settings.model == "m"  # kept for next time
    saved = json.loads((desktop.core.paths.settings_file).read_text())
    assert saved["llm"].get("endpoint") is None and saved["llm"]["model"] == "m"
    dialog.reject()


def test_a_damaged_settings_file_is_not_written_over(desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    from aiops_desktop.models.enums import Sensitivity

    path = desktop.core.paths.settings_file
    content = json.dumps({"llm": {"endpoint": ENDPOINT, "model": "m"},
                          "poller": {"timeout_s": "60s"}})  # fmt: skip
    path.write_text(content)  # edited by hand while the app runs, with one typo
    dialog = desktop.window.open_settings_dialog()
    dialog.sensitivity.setCurrentIndex(dialog.sensitivity.findData(Sensitivity.HIGH))
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Apply),
                     Qt.MouseButton.LeftButton)  # fmt: skip
    run_until(qtbot, lambda: "nothing was changed" in dialog.status.text())
    assert str(path) in dialog.status.text() and "poller.timeout_s" in dialog.status.text()
    assert path.read_text() == content
    assert desktop.core.anomalies.sensitivity is Sensitivity.MEDIUM
    dialog.reject()
