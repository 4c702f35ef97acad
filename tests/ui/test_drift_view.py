"""Drift across the fleet: a GPU node left on an older driver (DCGM labels, real Prometheus),
two PtpConfigs whose same-named profile differs (its options, and the offset band one of them
widens) and two SR-IOV policies for one resource that
differ in VFs (kmock API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.app import DesktopApp
from aiops_desktop.models.drift import DriftReport, Fact
from aiops_desktop.qt_boot import save_screenshot
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.drift import find_drift
from tests.ui.conftest import add_hub_and_site, run_coro, run_until
from tests.ui.references import check_against_reference
from ui.presenters.gpu_cnf import DriftPresenter
from ui.theme import Theme
from ui.views.fleet_hw_views import DriftView


def test_find_drift_lists_every_value_most_common_first() -> None:
    facts = [Fact("GPU driver", "H100", "driver", f"c/n{i}", "550") for i in range(3)]
    facts += [Fact("GPU driver", "H100", "driver", "c/n9", "535")]
    facts += [Fact("PTP profile", "gm", "ptp4lOpts", "c/a", "-2")]  # alone: nothing to compare
    [drift] = find_drift(facts)
    assert drift.values == [("550", ["c/n0", "c/n1", "c/n2"]), ("535", ["c/n9"])]
    assert drift.outliers == ["c/n9"]


@pytest.mark.integration
def test_drift_view(desktop: DesktopApp, qtbot, gpu_hub, kube_api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core, window = desktop.core, desktop.window
    add_hub_and_site(qtbot, core, gpu_hub.url, kube_api, hub="gpu-hub", site="ran-site")
    window.show_view("drift")
    view = window.drift
    run_until(qtbot, lambda: view.table.rowCount() >= 6, timeout=20)
    rows = [
        [view.table.item(r, c).text() for c in range(view.table.columnCount())]
        for r in range(view.table.rowCount())
    ]
    kinds = list(dict.fromkeys(r[0] for r in rows))  # every row names its kind
    assert kinds == ["GPU driver", "PTP profile", "SR-IOV policy"]
    driver = rows[0:2]
    assert driver[0][2:4] == ["driver version", "550.90.07"] and driver[1][3] == "535.183.01"
    assert "ai-lab/dgx-0" in driver[1][4]
    ptp = next(i for i, r in enumerate(rows) if r[0] == "PTP profile")
    assert rows[ptp][1:3] == ["slave", "ptp4lOpts (no majority)"]  # one cluster against one
    assert {rows[ptp][3], rows[ptp + 1][3]} == {"-2 -s", "-2 -s --summary_interval -4"}
    sriov = next(i for i, r in enumerate(rows) if r[0] == "SR-IOV policy")
    assert rows[sriov][1:3] == ["du_fh", "numVfs (no majority)"]
    assert view.title.text() == (
        "Drift · 6 settings differ · 1 cluster not read"  # its own Prometheus is dead: said
        " · GPU driver, PTP profile, SR-IOV policy"
    )
    assert view.error.text().startswith("ran-site: GPU drivers not read: ")
    shot = save_screenshot(window, tmp_path / "drift.png")
    check_against_reference(shot, "drift.png", tolerance=14.0)
    window.show_view("fleet")


class KubeOnly:
    """Clusters with a Kubernetes API and no Prometheus: their operator objects are still
    compared; one of them could not be read."""

    def with_metrics(self) -> list[object]:
        return []

    def with_kube(self) -> list[object]:
        return [object(), object(), object()]

    async def drift(self) -> DriftReport:
        facts = [Fact("PTP profile", "slave", "ptp4lOpts", "ran-a/du-ptp", "-2 -s"),
                 Fact("PTP profile", "slave", "ptp4lOpts", "ran-b/du-ptp", "-2")]  # fmt: skip
        return DriftReport(find_drift(facts), not_compared={"ran-c": "PtpConfigs: unreachable"})


def test_drift_is_read_without_prometheus_and_names_what_was_not_compared(
    qtbot, qloop, theme: Theme
) -> None:  # type: ignore[no-untyped-def]
    presenter = DriftPresenter(readers=KubeOnly(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    view = DriftView(theme)
    qtbot.addWidget(view)
    presenter.sig_drift.connect(view.show_drift)
    presenter.sig_error.connect(view.show_error)
    try:
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    assert view.table.rowCount() == 2
    assert view.title.text() == "Drift · 1 setting differs · 1 cluster not read · PTP profile"
    assert view.error.text() == "ran-c: not compared: PtpConfigs: unreachable"
    view.show_drift(DriftReport([], gpu_unread={"ran-b": "timed out"}))
    assert view.title.text() == "Drift · 0 settings differ · 1 cluster not read"
