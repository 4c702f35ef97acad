"""The GPU and PTP pages keep a row read while its cluster's read failed in part as the fleet
keeps its findings (``kept_stale``): a kept finding stands, stale, unless what is read now of
the same GPU or port is as severe, or trouble of the same kind (a port's clock state). A port
whose clock-state query timed out and whose offset warning is read again is not its offset
warning alone: page and fleet keep its FREERUN, marked stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from aiops_desktop.models import Cluster
from aiops_desktop.models.fleet import Domain, Finding, FindingSeverity
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, PtpBoard
from aiops_desktop.services.fleet.findings import (
    gpu_findings,
    kept_stale,
    note_unread,
    ptp_findings,
)
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import assess
from ui.presenters.gpu_cnf import GpuPresenter, PtpPresenter

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=1)
PORT = {"node": "du-1", "iface": "ens1f0", "process": "ptp4l"}
SEVERITY = {
    GpuState.CRITICAL: FindingSeverity.CRITICAL,
    GpuState.WARNING: FindingSeverity.WARNING,
    GpuState.UNKNOWN: FindingSeverity.WARNING,
}


class Readers:
    def with_metrics(self) -> list[Cluster]:
        return [Cluster(name="prod-a", api_server_url="https://prod-a:6443")]


def failed(error: str) -> ClusterOutcome:
    return ClusterOutcome("prod-a", False, 30000.0, reason="timed_out", error=error)


def fleet_says(before: list[Finding], now: list[Finding], outcomes: list[Any], domain: Domain):  # type: ignore[no-untyped-def]
    """What FleetState._keep_unread makes of one cluster's domain."""
    unread: dict[str, dict[Domain, str]] = {}
    note_unread(unread, domain, outcomes)
    return kept_stale(before, now, set(unread.get("prod-a", {})))


def ts(value: float) -> TaggedSeries:
    return TaggedSeries("prod-a", PromSeries(PORT, np.array([1.7e9]), np.array([value])))


def board(answers: dict[str, list[TaggedSeries]], outcomes: list[ClusterOutcome]) -> PtpBoard:
    return PtpBoard(board_rows(answers), timedelta(hours=1), DEFAULT_THRESHOLD, outcomes)


def ports_page_and_fleet(one: PtpBoard, two: PtpBoard) -> tuple[Any, Any]:
    """The port as the PTP page shows it after ``two`` (its state, and whether it is said
    stale), and the fleet's findings of it (severity, reason's first word, stale)."""
    presenter = PtpPresenter(readers=Readers(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    try:
        presenter.merged(one, [], T0)
        shown, badge = presenter.merged(two, [], LATER)
    finally:
        presenter.close()
    before = fleet_says([], ptp_findings(one).get("prod-a", []), [], Domain.PTP)
    after = fleet_says(before, ptp_findings(two).get("prod-a", []), two.outcomes, Domain.PTP)
    (row,) = shown.rows
    page_stale = any(n.startswith("STALE: ") for n in row.notes)
    fleet = sorted((f.severity.value, f.reason.split(" (")[0], f.stale) for f in after)
    return (row.state.value, page_stale, badge.startswith("STALE")), fleet


def test_a_freerun_port_whose_clock_state_read_failed_is_freerun_still(qtbot) -> None:  # type: ignore[no-untyped-def]
    one = board({"clock_state": [ts(0)], "offset": [ts(900)], "role": [ts(1)]}, [])
    # only the clock-state query timed out: the port (its SLAVE role) and its offset warning
    # are read again, fresh
    two = board({"offset": [ts(900)], "role": [ts(1)]},
                [failed("query timed out: openshift_ptp_clock_state")])  # fmt: skip
    assert [r.state.value for r in two.rows] == ["UNKNOWN"]
    assert "offset 900 ns beyond" in str(ptp_findings(two))  # trouble read now
    page, fleet = ports_page_and_fleet(one, two)
    assert ("CRITICAL", "clock in FREERUN", True) in fleet
    assert page == ("FREERUN", True, True)


def test_a_port_read_holdover_after_freerun_is_holdover_on_page_and_fleet(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The same kind read now (its clock state) replaces the kept one, whatever its rank."""
    one = board({"clock_state": [ts(0)], "offset": [ts(900)], "role": [ts(1)]}, [])
    two = board({"clock_state": [ts(2)], "offset": [ts(900)], "role": [ts(1)]},
                [failed("clock class query timed out")])  # fmt: skip
    page, fleet = ports_page_and_fleet(one, two)
    assert not any(stale for *_, stale in fleet)
    assert page == ("HOLDOVER", False, False)


def gpu(**values: Any) -> GpuHealth:
    base = {"util_pct": 40.0, "dbe_errors": 0, "xid": 0}
    return assess(GpuReading("prod-a", "n1", "0", "GPU-0", **{**base, **values}), xid_table())


def gpus_page_and_fleet(first: GpuHealth, second: GpuHealth, failure: str) -> tuple[Any, Any]:
    presenter = GpuPresenter(readers=Readers(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    try:
        one = GpuFleet([first], [])
        presenter.merged(one, T0)
        before = fleet_says([], gpu_findings(one).get("prod-a", []), [], Domain.GPU)
        two = GpuFleet([second], [failed(failure)])
        shown, _ = presenter.merged(two, LATER)
        after = fleet_says(before, gpu_findings(two).get("prod-a", []), two.outcomes, Domain.GPU)
    finally:
        presenter.close()
    (h,) = shown.gpus
    page_stale = bool(h.reasons) and h.reasons[0].startswith("STALE: ")
    worst = [(f.severity, f.stale) for f in after if f.severity is not FindingSeverity.INFO]
    return (SEVERITY.get(h.state), page_stale), sorted(worst)


def test_a_critical_gpu_read_ok_with_a_note_while_its_cluster_failed_stays_critical(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A corrected-ECC note read now says nothing of the temperature that was CRITICAL: the
    fleet keeps the CRITICAL (stale) while the cluster's read fails in part; so does the page."""
    page, fleet = gpus_page_and_fleet(
        gpu(temperature_c=86.0, sbe_errors=3),
        gpu(temperature_c=50.0, sbe_errors=3),
        "nvidia-smi: n2: exec timed out",
    )
    assert fleet == [(FindingSeverity.CRITICAL, True)]
    assert page == (FindingSeverity.CRITICAL, True)


def test_a_critical_gpu_read_warning_keeps_the_critical_stale_on_page_and_fleet(qtbot) -> None:  # type: ignore[no-untyped-def]
    """While the cluster's GPU read failed in part, a fresh WARNING that does not say the kept
    CRITICAL's reason keeps it beside, stale (a finding cannot tell a field read fine from one
    not read), as a fresh INFO note does above; page and fleet say the same."""
    page, fleet = gpus_page_and_fleet(
        gpu(temperature_c=86.0), gpu(temperature_c=50.0, pcie_replays_1h=3.0), "nvidia-smi: n2"
    )
    assert fleet == [(FindingSeverity.CRITICAL, True), (FindingSeverity.WARNING, False)]
    assert page == (FindingSeverity.CRITICAL, True)
