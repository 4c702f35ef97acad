"""Series read around a moment, none with a baseline to compare against (a pod begun two
minutes before): the RCA page says nothing could be compared, not "Nothing deviated from its
baseline" (an all-clear for data that was never compared), and offers nothing to explain."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np

from aiops_desktop.models.incidents import RcaReport
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from tests.ui.test_rca_nothing_read import AT, _Incidents, _Llm
from ui.presenters.incidents import IncidentsPresenter
from ui.views.incidents_view import IncidentsView


class _NewSeries:
    """A pod whose series began 2 minutes before the end of the window."""

    def read(self, *_a: Any, end_ms: int = 2**62, resolution_s: int = 0, **_k: Any) -> list[Any]:
        if resolution_s:
            return []
        ts = np.arange(int((AT - timedelta(minutes=2)).timestamp() * 1000), end_ms + 1, 15_000)
        return [SimpleNamespace(labels={"namespace": "ran", "pod": "du-0"}, timestamps_ms=ts,
                                values=np.full(ts.size, 1e9))]  # fmt: skip

    def rollup_resolutions(self, *_a: Any, **_k: Any) -> list[int]:
        return []


def test_series_with_no_baseline_are_no_all_clear_on_the_page(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    panels = [SimpleNamespace(id="pod_memory", rca_kind="resource", counted=False)]
    rca = RcaService(_NewSeries(), panels)  # type: ignore[arg-type]
    presenter = IncidentsPresenter(incidents=_Incidents(), rca=rca, bus=EventBus(),  # type: ignore[arg-type]
                                   tasks=tasks, llm=_Llm())  # type: ignore[arg-type]  # fmt: skip
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    presenter.sig_rca.connect(view.show_rca)
    presenter.sig_rca_failed.connect(view.show_rca_failed)
    presenter.sig_explain_state.connect(view.rca.show_explain_state)
    presenter.analyse_at("east", (AT - timedelta(minutes=5)).timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    said = view.rca.summary.text()
    assert "no signal had a baseline to compare against" in said and "east" in said, said
    assert "Nothing deviated" not in said
    assert not view.rca.explain_button.isEnabled()  # nothing to explain
    # a report with no cause shown on the page all the same is no all-clear either
    view.rca.show_report(RcaReport("east at 12:00", "30 min before to 5 min after", 4, []))
    said = view.rca.summary.text()
    assert "Nothing deviated" not in said and "no signal had a baseline" in said.lower(), said
