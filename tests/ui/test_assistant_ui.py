"""The local model in the window, over the bundled sample capture and a real llama.cpp server
(SmolLM2-135M, temperature 0): the Chat page runs a tool-calling exchange (the tool step shows
its arguments and result, the reply its figures, the session is listed), Stop ends a reply;
"Explain" on the Root cause tab marks each sentence verified or not; without a model the page
says so and the analysis stands. Reference screenshots of the chat and the explained incident,
looked at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt

from aiops_desktop.app import DesktopApp
from aiops_desktop.qt_boot import save_screenshot
from aiops_desktop.settings import LlmSettings, Settings
from tests.servers.llama import MODEL_NAME, RunningLlama
from tests.ui.conftest import SAMPLE, _shown, run_until
from tests.ui.references import check_against_reference
from ui.theme import Theme
from ui.views.chat_view import ToolStep

pytestmark = pytest.mark.integration


@pytest.fixture
def llm_desktop(
    qtbot, qloop: qasync.QEventLoop, theme: Theme, llama: RunningLlama
) -> Iterator[DesktopApp]:  # type: ignore[no-untyped-def]
    """The sample capture with the person's model server configured (as `llm set` keeps it)."""
    from aiops_desktop.services.outputs.capture import open_capture

    own = LlmSettings(endpoint=llama.url, model=MODEL_NAME, temperature=0.0)
    core = open_capture(SAMPLE, person=Settings(llm=own)).assemble()
    yield from _shown(qtbot, DesktopApp(core, theme), 1400, 900)


def test_a_tool_calling_chat(llm_desktop: DesktopApp, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = llm_desktop.window
    window.show_view("chat")
    view = window.page("chat")
    chat = llm_desktop.presenters.chat
    assert not view.notice.isVisible() and view.send_button.isEnabled()
    chat.ask("Which clusters are in the fleet?", tool_choice="list_clusters")
    run_until(qtbot, view.stop_button.isEnabled, timeout=20)
    run_until(qtbot, lambda: not chat.busy, timeout=120)
    steps = view.findChildren(ToolStep)
    assert steps and steps[0].name == "list_clusters"
    assert not steps[0].is_error and "ran-east" in steps[0].result
    assert steps[0].header.text().startswith("Tool list_clusters(")
    assert not steps[0].details.isVisible()
    qtbot.mouseClick(steps[0].header, Qt.MouseButton.LeftButton)  # opens the step
    assert steps[0].details.isVisible()
    assert "result: " in steps[0].details.toPlainText()
    assert view.sessions.count() == 1
    assert view.sessions.item(0).text().startswith("Which clusters are in the fleet?")
    footers = [w.text() for w in view.transcript.findChildren(type(view.title))
               if " tokens · " in w.text()]  # fmt: skip
    assert footers  # every reply says its tokens and latency
    assert not view.stop_button.isEnabled() and view.send_button.isEnabled()
    shot = save_screenshot(window, tmp_path / "chat_tool_call.png")
    check_against_reference(shot, "chat_tool_call.png", tolerance=14.0)


def test_explain_an_incidents_root_cause(llm_desktop: DesktopApp, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = llm_desktop.window
    window.show_view("incidents")
    view = window.page("incidents")
    run_until(qtbot, lambda: any("FREERUN" in i.title for i in view._all), timeout=20)
    freerun = next(i for i in view._rows if "FREERUN" in i.title)
    view.select(freerun.id)
    assert not view.rca.explain_button.isEnabled()  # nothing to explain yet
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, view.rca.explain_button.isEnabled, timeout=30)
    qtbot.mouseClick(view.rca.explain_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "sentences verified" in view.rca.explanation.toPlainText(),
              timeout=120)  # fmt: skip
    text = view.rca.explanation.toPlainText()
    assert "Evidence given to the model:" in text
    assert "ran-east du-2/ens1f0" in text  # the evidence the model was given, listed
    # Explain comes back once the explaining task has ended (just after its words are shown)
    run_until(qtbot, view.rca.explain_button.isEnabled, timeout=10)
    shot = save_screenshot(window, tmp_path / "rca_explained.png")
    check_against_reference(shot, "rca_explained.png", tolerance=14.0)


def test_without_a_model_the_pages_say_so(sample_desktop: DesktopApp, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    window.show_view("chat")
    chat = window.page("chat")
    run_until(qtbot, chat.notice.isVisible)
    assert "no LLM is configured" in chat.notice.text() and not chat.send_button.isEnabled()
    window.show_view("incidents")
    view = window.page("incidents")
    run_until(qtbot, lambda: "no LLM is configured" in view.rca.explain_state.text())
    assert not view.rca.explain_button.isEnabled()


def test_the_settings_dialog_sets_and_tests_the_model_server(
    desktop: DesktopApp, qtbot, llama: RunningLlama
) -> None:  # type: ignore[no-untyped-def]
    """Endpoint and model kept in settings.json beside the sensitivity (one owner: neither
    change overwrites the other), the API key in the OS keyring only, and Test asks the server."""
    from aiops_desktop.models.enums import Sensitivity
    from aiops_desktop.services.assistant.llm import LLM_KEY_REF

    dialog = desktop.window.open_settings_dialog()
    dialog.sensitivity.setCurrentIndex(dialog.sensitivity.findData(Sensitivity.HIGH))
    dialog.llm_endpoint.setText(llama.url)
    dialog.llm_model.setText(MODEL_NAME)
    dialog.llm_key.setText("sk-dialog-key-0123456789abcdef")
    apply = dialog.buttons.button(dialog.buttons.StandardButton.Apply)
    qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: desktop.core.llm.configured and "LLM:" in dialog.status.text())
    kept = desktop.core.paths.settings_file.read_text()
    assert '"HIGH"' in kept and llama.url in kept and MODEL_NAME in kept
    assert "sk-dialog-key" not in kept and dialog.llm_key.text() == ""
    assert desktop.core.secrets.get_json(LLM_KEY_REF) == {
        "endpoint": llama.url,
        "token": "sk-dialog-key-0123456789abcdef",
    }
    qtbot.mouseClick(dialog.llm_test, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "The server answers" in dialog.status.text(), timeout=60)
    assert MODEL_NAME in dialog.status.text() and "first token" in dialog.status.text()
    dialog.reject()
