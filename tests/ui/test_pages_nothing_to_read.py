"""First run (no cluster registered, or none with Prometheus or a Kubernetes API): the GPU,
PTP, SR-IOV and Drift pages say there is nothing to read, at once, instead of "Not read yet"
for ever."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from PySide6.QtWidgets import QWidget

from aiops_desktop.models import utcnow
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_coro
from ui.page_views import drift, gpu, ptp, sriov
from ui.presenters.gpu_cnf import (
    DriftPresenter,
    GpuPresenter,
    PtpPresenter,
    ReaderPresenter,
    SriovPresenter,
)
from ui.theme import Theme
from ui.views.rows_table import RowsTable


class EmptyRegistry:
    """The readers of an empty home: no cluster at all."""

    def with_metrics(self) -> list[object]:
        return []

    def with_kube(self) -> list[object]:
        return []


class Dashboard:
    """The clock the GPU and PTP pages' time bars ask (the app's now)."""

    def now(self) -> datetime:
        return utcnow()


class Presenters:
    """What the page builders take: each page's presenter over the empty registry."""

    def __init__(self) -> None:
        kw = {"readers": EmptyRegistry(), "tasks": TaskSupervisor()}
        self.gpu = GpuPresenter(**kw)  # type: ignore[arg-type]
        self.ptp = PtpPresenter(**kw)  # type: ignore[arg-type]
        self.sriov = SriovPresenter(**kw)  # type: ignore[arg-type]
        self.drift = DriftPresenter(**kw)  # type: ignore[arg-type]
        self.dashboard = Dashboard()


PAGES: dict[str, Callable[..., QWidget]] = {"gpu": gpu, "ptp": ptp, "sriov": sriov,
                                            "drift": drift}  # fmt: skip
NOTHING = "no cluster with Prometheus or a Kubernetes API: nothing to read"
#: the PTP board is read from metrics only: a Kubernetes API alone gives it nothing
SAYS = {"gpu": NOTHING, "ptp": "no cluster with Prometheus: nothing to read", "sriov": NOTHING,
        "drift": NOTHING}  # fmt: skip


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_with_no_cluster_to_read_says_so(qtbot, qloop, theme: Theme, name: str) -> None:  # type: ignore[no-untyped-def]
    p = Presenters()
    view = PAGES[name](p, theme, None)
    qtbot.addWidget(view)
    presenter: ReaderPresenter = getattr(p, name)
    try:
        run_coro(qtbot, presenter.read())
    finally:
        for other in (p.gpu, p.ptp, p.sriov, p.drift):
            other.close()
    assert view.error.text() == SAYS[name]  # type: ignore[attr-defined]
    tables = view.findChildren(RowsTable)
    assert tables and not [t for t in tables if t.empty_message() == "Not read yet"]
