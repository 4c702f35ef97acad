"""The console's Saved list: Save… asks a name and hands the form's query on; a saved query
is listed by name and, double-clicked, put back in the form as it was saved."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QInputDialog

from aiops_desktop.models.metrics import QueryRecord
from ui.theme import Theme
from ui.views.console_view import QUERY_SHOWN, SAVED_NAME_SHOWN, ConsoleView

pytestmark = pytest.mark.qt


def _view(qtbot: Any, theme: Theme) -> ConsoleView:
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    view.set_clusters(["ran-east", "ran-west", "ai-lab"])
    view.show()
    return view


def test_save_asks_a_name_and_hands_on_the_forms_query(
    qtbot: Any, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = _view(qtbot, theme)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("  GPU heat ", True))
    saved: list[tuple[str, Any]] = []
    view.sig_save.connect(lambda name, request: saved.append((name, request)))
    view.save_button.click()
    assert saved == [] and "Type a PromQL query first" in view.status.text()
    view.editor.setPlainText("max(DCGM_FI_DEV_GPU_TEMP)")
    view.mode.setCurrentText("Range 6 h")
    view.save_button.click()
    ((name, request),) = saved
    assert name == "GPU heat" and request.promql == "max(DCGM_FI_DEV_GPU_TEMP)"
    assert (request.range_s, request.step_s) == (21600, 120)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", False))  # cancelled
    view.save_button.click()
    assert len(saved) == 1


def test_a_saved_query_double_clicked_is_put_back_as_saved(qtbot: Any, theme: Theme) -> None:
    view = _view(qtbot, theme)
    rec = QueryRecord(promql="sum(up)", clusters=["ran-west"], query_type="RANGE",
                      range_s=7200, step_s=60, aggregation="SUM", name="West up")  # fmt: skip
    view.show_saved([rec])
    item = view.saved.item(0)
    assert item.text().splitlines() == ["West up", "   sum(up)", "   ran-west"]
    view.saved.itemDoubleClicked.emit(item)
    request = view.request()
    assert (request.promql, request.clusters) == ("sum(up)", ["ran-west"])
    assert (request.range_s, request.step_s, request.aggregation.value) == (7200, 60, "SUM")
    assert view.mode.currentText() == "Range 2 h"


def test_the_presenter_saves_off_the_ui_thread_and_lists_them_again(
    qtbot: Any, qloop: Any, theme: Theme, tmp_path: Any
) -> None:
    """Through the real service and cache: a save lists the saved queries again; a refused
    one (a viewer, here) is said on the status line, and nothing is listed."""
    from aiops_desktop.models.enums import UserRole
    from aiops_desktop.models.metrics import ConsoleRequest
    from aiops_desktop.services.queries.console import QueryConsole
    from aiops_desktop.services.runtime.access import Access
    from aiops_desktop.services.runtime.supervisor import TaskSupervisor
    from aiops_desktop.store.database import Database
    from aiops_desktop.store.queries import QueryRepository
    from tests.ui.conftest import run_until
    from ui.presenters.console import ConsolePresenter

    db = Database(tmp_path / "cache.sqlite3")
    try:
        tasks = TaskSupervisor()
        view = _view(qtbot, theme)
        for role, name in ((UserRole.OPERATOR, "Up"), (UserRole.VIEWER, "Down")):
            console = QueryConsole(None, None, QueryRepository(db), access=Access(role))  # type: ignore[arg-type]
            presenter = ConsolePresenter(console=console, registry=None, tasks=tasks)  # type: ignore[arg-type]
            presenter.sig_saved.connect(view.show_saved)
            presenter.sig_error.connect(view.show_error)
            presenter.save(name, ConsoleRequest(promql="up", clusters=[]))
            run_until(qtbot, lambda: tasks.running == 0)
        assert [view.saved.item(i).text().splitlines()[0] for i in range(view.saved.count())] == [
            "Up"
        ]
        assert "not saved: the viewer role may not save or delete queries" in view.status.text()
    finally:
        db.close()


def test_a_saved_query_from_elsewhere_is_listed_as_one_cut_line_each(
    qtbot: Any, theme: Theme
) -> None:
    """A saved query may come from an opened capture (a file someone sent), never through
    save()'s rule: its name, PromQL and clusters are shown one printable cut line each (line
    breaks forged rows, a right-to-left override read backwards, a 200 KB name was listed
    whole); double-clicked, it is put back as it was kept (review of da25f29)."""
    view = _view(qtbot, theme)
    name = "GPU temps\nFAKE: rm -rf / \u202eevil\u202c" + "x" * 200_000
    promql = "up\n" + "y" * 100_000
    rec = QueryRecord(promql=promql, clusters=["ran-west\n" + "z" * 5000], query_type="INSTANT",
                      range_s=None, step_s=60, aggregation="MERGE", name=name)  # fmt: skip
    view.show_saved([rec])
    shown, query, where = view.saved.item(0).text().split("\n")
    assert shown.startswith("GPU temps FAKE: rm -rf / evil") and "\u202e" not in shown
    assert len(shown) <= SAVED_NAME_SHOWN and shown.endswith("…")
    assert query.startswith("   up y") and len(query) <= 3 + QUERY_SHOWN
    assert where.startswith("   ran-west z") and len(where) <= 3 + QUERY_SHOWN
    view.saved.itemDoubleClicked.emit(view.saved.item(0))
    assert view.editor.toPlainText() == promql
    view.show_history([rec])  # a capture's history alike
    query, where = view.history.item(0).text().split("\n")
    assert query.startswith("         up y") and len(query) <= 9 + QUERY_SHOWN
    assert where.startswith("   ran-west z") and len(where) < 30 + QUERY_SHOWN
