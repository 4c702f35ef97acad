"""A cluster at a moment where nothing was read (no series stored there, a time outside the
data): the RCA page says nothing was read, as the CLI refuses it, not "Nothing deviated from
its baseline" (an all-clear it cannot give); nor does one that read series, none with a
baseline to compare against (every signal with one is ranked, at confidence 0 if it did not
move)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiops_desktop.services.intelligence.rca import RcaResult, RcaService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from ui.presenters.incidents import IncidentsPresenter
from ui.views.incidents_view import IncidentsView

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class _Series:
    """A series store that holds nothing."""

    def read(self, *_a: Any, **_k: Any) -> list[Any]:
        return []


class _Incidents:
    async def listed(self) -> list[Any]:
        return []


class _Llm:
    configured = True
    client = None


def test_a_moment_where_nothing_was_read_is_no_all_clear(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    rca = RcaService(_Series(), [])  # type: ignore[arg-type]
    presenter = IncidentsPresenter(incidents=_Incidents(), rca=rca, bus=EventBus(),  # type: ignore[arg-type]
                                   tasks=tasks, llm=_Llm())  # type: ignore[arg-type]  # fmt: skip
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    presenter.sig_rca.connect(view.show_rca)
    presenter.sig_rca_failed.connect(view.show_rca_failed)
    presenter.sig_explain_state.connect(view.rca.show_explain_state)
    presenter.analyse_at("east", AT.timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    said = view.rca.summary.text()
    assert "nothing was read" in said and "east" in said, said
    assert "Nothing deviated" not in said
    assert not view.rca.explain_button.isEnabled()  # nothing to explain

    async def something(*_a: Any, **_k: Any) -> RcaResult:
        result = await RcaService.for_cluster(rca, *_a, **_k)
        result.signals_read = 3  # read, and no cause: none had a baseline (review 4)
        return result

    rca.for_cluster = something  # type: ignore[method-assign]
    presenter.analyse_at("east", AT.timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    said = view.rca.summary.text()
    assert "3 signals read" in said and "no signal had a baseline" in said, said
    assert "Nothing deviated" not in said
