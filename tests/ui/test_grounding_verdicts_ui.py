"""An explanation's three verdicts as the Root cause tab shows them: a verified sentence has the
tick, a sentence that cites real items but holds nothing to check is "cited, not checked" (in
neither the tick nor the warning colour), an unverified one has the warning and its reason;
the header counts the verified and the cited, not checked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextDocument

from aiops_desktop.services.assistant.explain import Explained
from analysis.grounding import NOT_CHECKED, EvidenceItem, Verdict, verify
from collectors.llm import Reply
from tests.ui.conftest import run_until
from tests.ui.test_rca_panel import incident, wired
from ui.presenters import incidents as incidents_presenter

ITEMS = [EvidenceItem("I1", "Incident INC-A: 3 signals on east."),
         EvidenceItem("C1", "Likely cause number 1: node du-2, confidence 0.50.")]  # fmt: skip
TEXT = ("The incident has 3 signals [I1]. "
        "The cause is a failed power supply [C1]. "
        "The incident has 12 signals [I1].")  # fmt: skip


def test_each_verdict_has_its_own_marker_and_the_header_counts_them(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    explanation = verify(TEXT, ITEMS)
    assert [s.verdict for s in explanation.sentences] == [
        Verdict.VERIFIED, Verdict.CITED, Verdict.UNVERIFIED]  # fmt: skip

    async def explained(*_a: Any, **_k: Any) -> Explained:
        return Explained(ITEMS, TEXT, explanation, Reply(TEXT, [], "stop", 10, 30, 5.0, 900.0))

    monkeypatch.setattr(incidents_presenter, "explain", explained)
    presenter, view, rca, tasks = wired(qtbot, theme, [incident("INC-A")])
    presenter.sig_explained.connect(view.rca.show_explained)
    rca.gates.setdefault("INC-A", asyncio.Event()).set()
    view.select("INC-A")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.running == 0 and view.rca.explain_button.isEnabled())
    qtbot.mouseClick(view.rca.explain_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "sentences verified" in view.rca.explanation.toPlainText())

    lines = view.rca.explanation.toPlainText().splitlines()
    assert lines[0].startswith("1 of 3 sentences verified against the evidence "
                               "(1 cited, not checked)")  # fmt: skip
    assert "✓ verified The incident has 3 signals [I1]." in lines
    assert "○ cited, not checked The cause is a failed power supply [C1]." in lines
    assert "⚠ unverified The incident has 12 signals [I1]." in lines
    assert NOT_CHECKED in lines  # why it is not verified, as for an unverified one
    assert "the number 12 is in none of the items it cites" in lines
    # the cited sentence wears neither the tick's colour nor the warning's
    colours = marker_colours(view.rca.explanation.document())
    ok, warn = QColor(theme.status("OK")).name(), QColor(theme.severity("warning")).name()
    assert colours["✓ verified"] == ok and colours["⚠ unverified"] == warn
    assert colours["○ cited, not checked"] not in (ok, warn)


def marker_colours(doc: QTextDocument) -> dict[str, str]:
    """Each text fragment of ``doc`` and the colour it is drawn in."""
    found = {}
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            found[fragment.text().strip()] = fragment.charFormat().foreground().color().name()
            it += 1
        block = block.next()
    return found
