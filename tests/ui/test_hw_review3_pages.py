"""The GPU and PTP pages and the fleet's findings tell one state for a GPU or a port read in
part: one rule (the fleet's ``kept_stale``): trouble read now is news, shown fresh whatever its
rank; only a row that reads fine and lacks a field its kept row had keeps the kept row, stale.
An XID list that aged out of the window (``[]``) is known, not a field lost. The SR-IOV
title counts the nodes of a cluster not read as not read (never as not synced), the same
whether or not the cluster was read before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from aiops_desktop.models import Cluster
from aiops_desktop.models.cnf import NodeSync, SriovObjects
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
from ui.presenters.gpu_cnf import GpuPresenter, PtpPresenter, SriovPresenter, gpu_says_less
from ui.theme import Theme
from ui.views.sriov_view import SriovView

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=1)


class Readers:
    def __init__(self, *names: str) -> None:
        self.names = names or ("prod-a",)

    def with_metrics(self) -> list[Cluster]:
        return [Cluster(name=n, api_server_url=f"https://{n}:6443") for n in self.names]

    with_kube = with_metrics


def failed(error: str) -> ClusterOutcome:
    return ClusterOutcome("prod-a", False, 30000.0, reason="timed_out", error=error)


def fleet_says(before: list[Finding], now: list[Finding], outcomes: list[Any], domain: Domain):  # type: ignore[no-untyped-def]
    """What FleetState._keep_unread makes of one cluster's domain."""
    unread: dict[str, dict[Domain, str]] = {}
    note_unread(unread, domain, outcomes)
    return kept_stale(before, now, set(unread.get("prod-a", {})))


def gpu(**values: Any) -> GpuHealth:
    base = {"util_pct": 40.0, "dbe_errors": 0, "xid": 0}
    reading = GpuReading("prod-a", "n1", "0", "GPU-0", **{**base, **values})
    return assess(reading, xid_table())


SEVERITY = {GpuState.CRITICAL: FindingSeverity.CRITICAL, GpuState.WARNING: FindingSeverity.WARNING}


def page_and_fleet(first: GpuHealth, second: GpuHealth, failure: str) -> tuple[Any, Any]:
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
    return (SEVERITY.get(h.state), page_stale), sorted({(f.severity, f.stale) for f in after})


def test_a_critical_gpu_read_warning_in_part_keeps_the_critical_on_page_and_fleet(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The temperature's query timed out: the replays read again are news, and the 86 C
    CRITICAL is not read away by them (a fresh finding replaces a kept one only where it says
    the kept one's worst reason: findings.kept_stale); page and fleet say the same."""
    page, fleet = page_and_fleet(
        gpu(temperature_c=86.0, pcie_replays_1h=3.0),
        gpu(pcie_replays_1h=3.0),
        "query timed out: DCGM_FI_DEV_GPU_TEMP",
    )
    assert fleet == [(FindingSeverity.CRITICAL, True), (FindingSeverity.WARNING, False)]
    assert page == (FindingSeverity.CRITICAL, True)


def test_an_xid_that_left_the_window_is_news_while_another_query_fails(qtbot) -> None:  # type: ignore[no-untyped-def]
    page, fleet = page_and_fleet(
        gpu(temperature_c=50.0, xid=79, recent_xids=[79], xid_since=T0.timestamp() - 600),
        gpu(temperature_c=50.0, xid=79, recent_xids=[], xid_before_window=True),
        "query timed out: DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
    )
    assert fleet == [(FindingSeverity.WARNING, False)]
    assert page == (FindingSeverity.WARNING, False)


def test_a_gpu_read_ok_without_a_field_it_had_stays_stale_on_page_and_fleet(qtbot) -> None:  # type: ignore[no-untyped-def]
    page, fleet = page_and_fleet(
        gpu(temperature_c=86.0), gpu(), "query timed out: DCGM_FI_DEV_GPU_TEMP"
    )
    assert fleet == [(FindingSeverity.CRITICAL, True)]
    assert page == (FindingSeverity.CRITICAL, True)


def test_an_empty_xid_list_is_known_not_a_field_lost(qtbot) -> None:  # type: ignore[no-untyped-def]
    kept = gpu(temperature_c=50.0, recent_xids=[43])
    new = gpu(temperature_c=50.0, recent_xids=[])
    assert new.state is GpuState.OK
    assert not gpu_says_less(new, kept)
    # a field that is gone still is
    assert gpu_says_less(gpu(recent_xids=[]), kept)


def ts(labels: dict[str, str], value: float) -> TaggedSeries:
    return TaggedSeries("prod-a", PromSeries(labels, np.array([1.7e9]), np.array([value])))


def test_a_freerun_port_read_holdover_in_part_is_holdover_on_page_and_fleet(qtbot) -> None:  # type: ignore[no-untyped-def]
    port = {"node": "du-1", "iface": "ens1f0", "process": "ptp4l"}
    window = timedelta(hours=1)
    one = PtpBoard(board_rows({"clock_state": [ts(port, 0)], "offset": [ts(port, 900)]}),
                   window, DEFAULT_THRESHOLD, [])  # fmt: skip
    outcomes = [failed("offset query timed out")]
    two = PtpBoard(board_rows({"clock_state": [ts(port, 2)]}), window, DEFAULT_THRESHOLD, outcomes)
    presenter = PtpPresenter(readers=Readers(), tasks=TaskSupervisor())  # type: ignore[arg-type]
    try:
        presenter.merged(one, [], T0)
        shown, _ = presenter.merged(two, [], LATER)
    finally:
        presenter.close()
    before = ptp_findings(one).get("prod-a", [])
    after = fleet_says(before, ptp_findings(two).get("prod-a", []), outcomes, Domain.PTP)
    assert [f.reason for f in after if f.severity is FindingSeverity.CRITICAL] == []
    assert not any(f.stale for f in after)
    (row,) = shown.rows
    assert row.state.value == "HOLDOVER" and not any(n.startswith("STALE") for n in row.notes)


# -- the SR-IOV title ------------------------------------------------------------------------
def ok(node: str) -> NodeSync:
    return NodeSync(node, "Succeeded", "", ["ens1f0 8/64"], 8)


def sriov(theme: Theme) -> tuple[SriovPresenter, SriovView]:
    presenter = SriovPresenter(readers=Readers("a", "b"), tasks=TaskSupervisor())  # type: ignore[arg-type]
    return presenter, SriovView(theme)


B_DOWN = SriovObjects(nodes=[("a", ok("a1")), ("a", ok("a2"))], problems=["b: refused"],
                      unread={"b": "b: connection refused"})  # fmt: skip


def test_an_unread_clusters_nodes_are_not_read_not_unsynced(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    presenter, view = sriov(theme)
    qtbot.addWidget(view)
    try:
        first = SriovObjects(nodes=[("a", ok("a1")), ("a", ok("a2")), ("b", ok("b1")),
                                    ("b", ok("b2")), ("b", ok("b3"))])  # fmt: skip
        view.show_nodes(presenter.nodes_merged(first, ["a", "b"], T0))
        assert view.title.text().startswith("SR-IOV · 5 nodes, all synced ·")
        lines = presenter.nodes_merged(B_DOWN, ["a", "b"], LATER)
        view.show_nodes(lines)
    finally:
        presenter.close()
    title = view.title.text()
    assert "not synced" not in title and "unknown" not in title
    assert title.startswith("SR-IOV · 2 nodes synced · 3 nodes of 1 cluster not read ·")
    kept = {r.node: r for c, r in lines if c == "b" and r.node}
    assert sorted(kept) == ["b1", "b2", "b3"]
    # their last status, said stale: not the config daemon's own "Unknown"
    assert {r.status for r in kept.values()} == {"Succeeded"}
    assert all(r.error.startswith("STALE: Succeeded as read at ") for r in kept.values())


def test_a_cluster_never_read_is_said_not_read_as_well(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    presenter, view = sriov(theme)
    qtbot.addWidget(view)
    try:
        view.show_nodes(presenter.nodes_merged(B_DOWN, ["a", "b"], T0))
    finally:
        presenter.close()
    title = view.title.text()
    assert "not synced" not in title
    assert title.startswith("SR-IOV · 2 nodes synced · 1 cluster not read ·")


def test_a_failed_node_of_an_unread_cluster_is_said_as_last_read(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    presenter, view = sriov(theme)
    qtbot.addWidget(view)
    try:
        bad = NodeSync("b1", "Failed", "failed to configure VFs")
        first = SriovObjects(nodes=[("a", ok("a1")), ("b", bad), ("b", ok("b2"))])
        view.show_nodes(presenter.nodes_merged(first, ["a", "b"], T0))
        assert view.title.text().startswith("SR-IOV · 1 of 3 nodes not synced ·")
        lines = presenter.nodes_merged(
            SriovObjects(nodes=[("a", ok("a1"))], unread={"b": "b: refused"}), ["a", "b"], LATER
        )
        view.show_nodes(lines)
    finally:
        presenter.close()
    assert view.title.text().startswith(
        "SR-IOV · 1 node synced · 2 nodes of 1 cluster not read (1 failed when last read) ·"
    )
    # the kept Failed node stays first, red, as the fleet keeps its CRITICAL (stale);
    # the kept Succeeded is grey (not known synced now), unlike the one read Succeeded
    assert [(c, r.node, r.status) for c, r in lines] == [
        ("b", "b1", "Failed"), ("b", "", "Unknown"), ("b", "b2", "Succeeded"),
        ("a", "a1", "Succeeded"),
    ]  # fmt: skip
    colours = [view.nodes.rows_model.row(i).colour for i in range(4)]
    grey = theme.status("UNKNOWN")
    assert colours == [theme.severity("critical"), grey, grey, None]


def test_a_node_the_daemon_says_unknown_is_still_not_synced(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = SriovView(theme)
    qtbot.addWidget(view)
    view.show_nodes([("a", ok("a1")), ("a", NodeSync("a2", "Unknown", ""))])
    assert view.title.text().startswith("SR-IOV · 1 of 2 nodes not synced (1 unknown) ·")
