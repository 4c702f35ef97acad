"""Review 5, what live anomaly detection does not judge reaches people, not only the log: the
series over the detector's limit (#4) and detection moved into the window's process (#6) are
rows in Diagnostics and a line above the Anomalies page's list ("No anomaly found" stood for
series nobody looked at)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pytestqt.qtbot import QtBot

from aiops_desktop.models.anomalies import AnomalyFilter
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_coro
from ui.presenters.anomalies import AnomaliesPresenter
from ui.presenters.polling import DiagnosticsPresenter
from ui.theme import Theme
from ui.views.anomalies_view import AnomaliesView

DEGRADED = ("anomaly detection runs in the window's process (its repaints wait for it): its own "
            "process failed (SIGKILL); a new one is tried every 5 min")  # fmt: skip


class Detection:
    """The anomaly service as the pages read it."""

    def __init__(self) -> None:
        self.failed: dict[tuple[str, str], str] = {}
        self.degraded: str | None = DEGRADED
        self.unjudged = {("ran-east", "node_load"): 3, ("ran-west", "gpu_util"): 1200}
        self.detector_limit = 2383
        self.asked: list[tuple[str, ...]] = []

    def shortfalls(self, clusters: tuple[str, ...] = ()) -> list[str]:
        self.asked.append(clusters)
        return [DEGRADED, "3 series not judged: over the anomaly detector's limit of 2,383 series"]

    async def listed(self, _flt: AnomalyFilter) -> tuple[list[Any], dict[Any, int]]:
        """The rows and counts the page reads: none."""
        return [], {}


class NoBus:
    def subscribe(self, _topic: str, _callback: Any) -> Any:
        return lambda: None


def test_diagnostics_say_detection_degraded_and_the_series_not_judged(qtbot: QtBot) -> None:
    detection = Detection()
    presenter = DiagnosticsPresenter(poller=SimpleNamespace(status={}),  # type: ignore[arg-type]
                                     tasks=TaskSupervisor(), detection=detection)  # type: ignore[arg-type]  # fmt: skip
    rows = [(r.cluster, r.source, r.last_success, r.last_error) for r in presenter.rows()]
    assert rows == [
        ("all", "anomaly detection", "degraded", DEGRADED),
        ("ran-east", "anomaly detection of node_load", "partly",
         "3 series not judged: over the anomaly detector's limit of 2,383 series"),
        ("ran-west", "anomaly detection of gpu_util", "partly",
         "1,200 series not judged: over the anomaly detector's limit of 2,383 series"),
    ]  # fmt: skip
    detection.degraded, detection.unjudged = None, {}
    detection.failed[("ran-east", "node_load")] = "OSError: disk full"
    assert [(r.cluster, r.source, r.last_error) for r in presenter.rows()] == [
        ("ran-east", "anomaly detection of node_load", "OSError: disk full")
    ]


def test_the_anomalies_page_says_what_detection_does_not_judge(
    qtbot: QtBot, qloop: object, theme: Theme
) -> None:
    detection = Detection()
    fleet = SimpleNamespace(last=SimpleNamespace(clusters=[]))
    presenter = AnomaliesPresenter(anomalies=detection, fleet=fleet, bus=NoBus(),  # type: ignore[arg-type]
                                   tasks=TaskSupervisor())  # fmt: skip
    view = AnomaliesView(theme)
    qtbot.addWidget(view)
    view.show()
    presenter.sig_rows.connect(view.show_rows)
    presenter.sig_error.connect(view.show_error)
    presenter.filter = AnomalyFilter(clusters=("ran-east",))
    run_coro(qtbot, presenter.read())
    assert detection.asked == [("ran-east",)]  # the page's clusters only
    assert view.error.isVisible()
    assert view.error.text() == (
        f"{DEGRADED} · 3 series not judged: over the anomaly detector's limit of 2,383 series"
    )
    detection.shortfalls = lambda clusters=(): []  # type: ignore[method-assign]
    run_coro(qtbot, presenter.read())
    assert not view.error.isVisible()  # all judged again: nothing said
