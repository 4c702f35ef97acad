"""An explanation that fails mid-stream (the model server gone, its 120 s timeout): the draft
it streamed stays for the engineer, marked as not checked (it passed for a checked explanation,
with the Explain state blank), the state says why and Explain tries again; the model's words are
shown without control or bidi characters, streamed or checked."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import Qt

from aiops_desktop.models.enums import Verdict
from aiops_desktop.models.incidents import ExplainedSentence, ExplanationView
from collectors.errors import CollectorTimeout
from tests.ui.conftest import run_until
from tests.ui.test_rca_panel import incident, wired
from ui.presenters import incidents as incidents_presenter

DRAFT = "The cause is node du-7 [C1]. Drain du-7 now and reboot it [K1]. \u202eesrever"


def test_a_failed_explanation_marks_its_draft_not_checked(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme, monkeypatch
) -> None:
    calls = 0

    async def explain(*_a: Any, on_text: Any, **_k: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            on_text(DRAFT)
            await asyncio.sleep(0.1)
            raise CollectorTimeout("the model server did not finish answering within 120 s")
        s = SimpleNamespace(text="The cause is node du-7 [C1].", verdict=Verdict.VERIFIED,
                            reasons=[])  # fmt: skip
        return SimpleNamespace(explanation=SimpleNamespace(sentences=[s], truncated=False),
                               evidence=[], reply=SimpleNamespace(completion_tokens=5,
                                                                  total_ms=10))  # fmt: skip

    monkeypatch.setattr(incidents_presenter, "explain", explain)
    presenter, view, rca, tasks = wired(qtbot, theme, [incident("INC-A")])
    presenter.sig_explain_text.connect(view.rca.show_explain_text)
    presenter.sig_explained.connect(view.rca.show_explained)
    rca.gates.setdefault("INC-A", asyncio.Event()).set()
    view.select("INC-A")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.running == 0 and view.rca.explain_button.isEnabled())
    qtbot.mouseClick(view.rca.explain_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: calls == 1 and tasks.running == 0)
    qtbot.wait(100)  # a pending redraw of the draft would land over the mark
    shown = view.rca.explanation.toPlainText()
    assert not view.rca.explanation.isHidden()
    assert shown.startswith("⚠ The model stopped: this draft was not checked")
    assert "Drain du-7 now" in shown  # kept for the engineer to read
    assert "\u202e" not in shown and "esrever" in shown
    said = view.rca.explain_state.text()
    assert "not checked" in said and "within 120 s" in said
    assert view.rca.explain_button.isEnabled()  # Explain tries again
    presenter.refresh()  # a later read keeps it said
    run_until(qtbot, lambda: tasks.running == 0)
    assert "not checked" in view.rca.explain_state.text()
    qtbot.mouseClick(view.rca.explain_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: calls == 2 and tasks.running == 0)
    assert view.rca.explain_state.text() == ""
    shown = view.rca.explanation.toPlainText()
    assert "1 of 1 sentences verified" in shown and "not checked" not in shown


def test_the_checked_explanation_shows_no_control_or_bidi_character(theme) -> None:  # type: ignore[no-untyped-def]
    from ui.views.incidents_view import RcaPanel

    panel = RcaPanel(theme)
    view = ExplanationView(
        [ExplainedSentence("Drain du-7 \u202enow\x1b[2J.", True, [], Verdict.VERIFIED.value),
         ExplainedSentence("Reboot \u2066it.", False, ["no \u202eevidence"],
                           Verdict.UNVERIFIED.value)],
        [("C1", "node du-7 \u202edown")], "5 tokens", False,
    )  # fmt: skip
    panel.show_explained(view)
    shown = panel.explanation.toPlainText()
    assert "Drain du-7 now[2J." in shown and "Reboot it." in shown
    assert not any(c in shown for c in "\u202e\u2066\x1b")
    panel.deleteLater()
