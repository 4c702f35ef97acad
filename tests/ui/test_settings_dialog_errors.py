"""The Settings dialog when a change is refused: the API key typed stays in its field until
the model server's settings are kept, and a refusal is not replaced by the message of another
change of the same Apply (nor by one of a change that was not made)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt

from aiops_desktop.app import DesktopApp
from aiops_desktop.services.assistant.llm import LLM_KEY_REF
from tests.ui.conftest import run_until
from ui.dialogs.settings_dialog import SettingsDialog

ENDPOINT = "http://127.0.0.1:8080/v1"
KEY = "sk-long-api-key-typed-by-hand-0123456789"
REFUSED = "give the model's name"
APPLY_WORK = {"settings", "look", "role", "LLM settings"}  # the presenter's task names


def _apply_and_wait(dialog: SettingsDialog, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Apply, and wait until every change it started has ended."""
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Apply),
                     Qt.MouseButton.LeftButton)  # fmt: skip
    run_until(qtbot, lambda: not [t for t in asyncio.all_tasks()
                                  if t.get_name() in APPLY_WORK and not t.done()])  # fmt: skip
    qtbot.wait(50)  # the signals of the last one delivered


def test_a_refused_model_server_keeps_the_key_typed_and_says_why(  # type: ignore[no-untyped-def]
    desktop: DesktopApp, qtbot
) -> None:
    core = desktop.core
    dialog = desktop.window.open_settings_dialog()
    dialog.llm_endpoint.setText(ENDPOINT)
    dialog.llm_model.setText("")  # forgotten
    dialog.llm_key.setText(KEY)
    _apply_and_wait(dialog, qtbot)
    assert REFUSED in dialog.status.text()
    assert "Anomaly sensitivity" not in dialog.status.text()  # not changed: not said saved
    assert dialog.llm_key.text() == KEY  # not to be typed again
    assert core.secrets.get(LLM_KEY_REF) is None
    dialog.llm_model.setText("m")
    _apply_and_wait(dialog, qtbot)
    assert "the API key is in the OS keyring" in dialog.status.text()
    assert REFUSED not in dialog.status.text()  # the earlier Apply's refusal is gone
    assert dialog.llm_key.text() == ""
    # kept with the server it belongs to (sent to no other)
    assert core.secrets.get_json(LLM_KEY_REF) == {"endpoint": ENDPOINT, "token": KEY}
    dialog.reject()


def test_a_refusal_is_not_replaced_by_another_change_kept(  # type: ignore[no-untyped-def]
    desktop: DesktopApp, qtbot
) -> None:
    dialog = desktop.window.open_settings_dialog()
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.llm_endpoint.setText(ENDPOINT)
    dialog.llm_key.setText(KEY)
    _apply_and_wait(dialog, qtbot)
    said = dialog.status.text()
    assert REFUSED in said and "Theme dark" in said
    assert said.index(REFUSED) < said.index("Theme dark")  # the refusal first
    assert dialog.llm_key.text() == KEY
    dialog.reject()


def test_an_apply_with_nothing_changed_says_so(desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = desktop.window.open_settings_dialog()
    _apply_and_wait(dialog, qtbot)
    assert dialog.status.text() == "Nothing was changed."
    dialog.reject()
