"""The GPU, PTP and SR-IOV pages when part of the fleet cannot be read: the clusters that
failed keep their last rows, marked stale with their age (one last read fine is not shown as
fine); every other cluster's rows are the newest read's, so a fresh CRITICAL GPU or FREERUN
port is never hidden behind an older answer. The SR-IOV page reads the Kubernetes APIs without
a Prometheus."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.cluster import ClusterStatus
from aiops_desktop.models.cnf import DpdkPortRow, NodeSync, SriovObjects, VfRow
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.gpu_cnf.readers import problems
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import assess, worst_first
from tests.ui.conftest import run_coro
from ui.presenters.gpu_cnf import (
    GpuPresenter,
    PtpPresenter,
    SriovPresenter,
    StaleDpdkPort,
    StaleVf,
    failed_clusters,
)


def cluster(name: str, **fields: Any) -> Cluster:
    return Cluster(name=name, api_server_url=f"https://{name}.example:6443", **fields)


def gpu(cluster: str, node: str, index: int, **values: Any) -> GpuHealth:
    reading = GpuReading(cluster, node, str(index), f"GPU-{cluster}-{node}-{index}",
                         model="H100", **{"temperature_c": 40.0, "xid": 0, **values})  # fmt: skip
    return assess(reading, xid_table())


def failed(cluster: str, error: str, reason: str = "timed_out") -> ClusterOutcome:
    return ClusterOutcome(cluster, False, 30000.0, reason=reason, error=error)


class Readers:
    """What ``GpuCnfReaders`` answers, one answer per read."""

    def __init__(self, *answers: Any, sources: list[Cluster] | None = None,
                 kube: list[Cluster] | None = None) -> None:  # fmt: skip
        self.answers = list(answers)
        self.sources = [cluster("ran-a"), cluster("ran-b")] if sources is None else sources
        self.kube = kube or []
        self.objects = SriovObjects()

    def with_metrics(self) -> list[Cluster]:
        return self.sources

    def with_kube(self) -> list[Cluster]:
        return self.kube

    async def gpu_fleet(self) -> GpuFleet:
        return self.answers.pop(0)

    async def ptp_board(self, _shown: Any) -> tuple[PtpBoard, list[str]]:
        board = self.answers.pop(0)
        return board, problems(board.outcomes)

    async def dataplane(self) -> tuple[list[VfRow], list[DpdkPortRow], list[ClusterOutcome]]:
        return self.answers.pop(0)

    async def sriov_objects(self) -> SriovObjects:
        return self.objects


def listen(signal: Any) -> list[Any]:
    said: list[Any] = []
    signal.connect(said.append)
    return said


def by_key(fleet: GpuFleet) -> dict[str, GpuHealth]:
    return {h.reading.key: h for h in fleet.gpus}


def test_a_fresh_critical_gpu_is_shown_while_another_cluster_is_down(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    ran_a = [gpu("ran-a", f"n{i}", 0) for i in range(8)]
    before = GpuFleet(worst_first([*ran_a, gpu("ran-b", "b1", 0), gpu("ran-b", "b1", 1)]), [])
    hot = gpu("ran-a", "n0", 0, temperature_c=90.0)
    # ran-a was CRITICAL once, and then: ran-a times out, and ran-b's GPU 0 falls off the bus
    # (its GPU 1 is no longer reported at all, its cluster read fine)
    first = GpuFleet(worst_first([hot, *before.gpus[1:]]), [])
    after = GpuFleet([gpu("ran-b", "b1", 0, xid=79)], [failed("ran-a", "timed out after 30 s")])
    presenter = GpuPresenter(readers=Readers(before, first, after), tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleets, errors = listen(presenter.sig_fleet), listen(presenter.sig_error)
    try:
        for _ in range(3):
            run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    shown = by_key(fleets[-1])
    b0 = shown["ran-b/b1/gpu0"]
    assert b0.state is GpuState.CRITICAL and "XID 79" in b0.reasons[0]  # fresh, not the old OK
    assert "ran-b/b1/gpu1" not in shown  # gone from a cluster read fine: named as gone
    assert [g.key for g in fleets[-1].gone] == ["ran-b/b1/gpu1"]
    # ran-a's eight GPUs are kept, stale: a fault stays shown, one read OK is not OK now
    assert shown["ran-a/n0/gpu0"].state is GpuState.CRITICAL
    assert shown["ran-a/n0/gpu0"].reasons[0].startswith("STALE: CRITICAL as read at ")
    kept = [shown[f"ran-a/n{i}/gpu0"] for i in range(1, 8)]
    assert {h.state for h in kept} == {GpuState.UNKNOWN}
    assert all(h.reasons[0].startswith("STALE: OK as read at ") for h in kept)
    assert fleets[-1].gpus[0].reading.key == "ran-a/n0/gpu0"  # worst first
    assert errors[-1].startswith("STALE: showing data from ")
    assert " for ran-a: ran-a: timed out after 30 s" in errors[-1]


def test_a_node_nvidia_smi_cannot_read_is_not_shown_ok(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    """A GPU falls off the bus, nvidia-smi fails on its node: the node's GPUs are not brought
    back as they read before (OK), and the cluster's other nodes are this read's."""
    first = GpuFleet([gpu("ran-a", "n1", 0), gpu("ran-a", "n2", 0), gpu("ran-a", "n2", 1)], [])
    then = GpuFleet([gpu("ran-a", "n1", 0, temperature_c=75.0)],
                    [failed("ran-a", "nvidia-smi on n2: Unable to determine the device handle",
                            reason="nvidia_smi")])  # fmt: skip
    presenter = GpuPresenter(readers=Readers(first, then), tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleets, errors = listen(presenter.sig_fleet), listen(presenter.sig_error)
    try:
        run_coro(qtbot, presenter.read())
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    shown = by_key(fleets[-1])
    assert shown["ran-a/n1/gpu0"].state is GpuState.WARNING  # this read's
    assert {shown[k].state for k in ("ran-a/n2/gpu0", "ran-a/n2/gpu1")} == {GpuState.UNKNOWN}
    assert "nvidia-smi on n2" in errors[-1] and errors[-1].startswith("STALE: ")
    assert fleets[-1].gone == []


def test_a_hub_that_fails_keeps_its_members_rows_only(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    hub = cluster("hub", kind=ClusterKind.FLEET, status=ClusterStatus(members=["m1", "m2"]))
    site = cluster("site")
    is_down = failed_clusters([hub, site], {"hub"})
    assert is_down("hub") and is_down("m1") and is_down("m2") and not is_down("site")
    assert is_down("m3")  # not listed yet (not polled), not registered: a hub answered for it
    assert not failed_clusters([hub, site], {"site"})("m3")
    assert not failed_clusters([hub, site], set())("site")
    # the SR-IOV read's outcomes name the clusters that failed, as the GPU and PTP reads do
    from_reads = failed_clusters([hub, site], {o.cluster for o in [failed("site", "timed out")]})
    assert from_reads("site") and not from_reads("elsewhere") and not from_reads("m1")

    first = GpuFleet([gpu("m1", "n", 0), gpu("m2", "n", 0), gpu("site", "n", 0)], [])
    then = GpuFleet([gpu("site", "n", 0, temperature_c=95.0)], [failed("hub", "unreachable")])
    readers = Readers(first, then, sources=[hub, site])
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleets, errors = listen(presenter.sig_fleet), listen(presenter.sig_error)
    try:
        run_coro(qtbot, presenter.read())
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    shown = by_key(fleets[-1])
    assert shown["site/n/gpu0"].state is GpuState.CRITICAL
    assert {shown["m1/n/gpu0"].state, shown["m2/n/gpu0"].state} == {GpuState.UNKNOWN}
    assert " for m1, m2: hub: unreachable" in errors[-1]


def port(cluster: str, node: str, state: ClockState, offset: float = 5.0) -> PtpRow:
    return PtpRow(cluster, node, "ens1f0", "ptp4l", state, offset_ns=offset,
                  offset_in=abs(offset) <= 100)  # fmt: skip


def board(rows: list[PtpRow], outcomes: list[ClusterOutcome] | None = None) -> PtpBoard:
    return PtpBoard(rows, timedelta(hours=1), DEFAULT_THRESHOLD, outcomes or [])


def test_a_fresh_freerun_port_is_shown_while_another_cluster_is_down(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    first = board([port("ran-a", "a1", ClockState.LOCKED),
                   port("ran-a", "a2", ClockState.HOLDOVER),
                   port("ran-b", "b1", ClockState.LOCKED),
                   port("ran-b", "b2", ClockState.LOCKED)])  # fmt: skip
    then = board([port("ran-b", "b1", ClockState.FREERUN, 8e5)],
                 [failed("ran-a", "timed out after 30 s")])  # fmt: skip
    presenter = PtpPresenter(readers=Readers(first, then), tasks=TaskSupervisor())  # type: ignore[arg-type]
    boards, errors = listen(presenter.sig_board), listen(presenter.sig_error)
    try:
        run_coro(qtbot, presenter.read())
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    rows = [(r.cluster, r.node, r.state) for r in boards[-1].rows]
    assert rows == [
        ("ran-b", "b1", ClockState.FREERUN),  # this read's, worst first
        ("ran-a", "a2", ClockState.HOLDOVER),  # kept: a fault stays shown
        ("ran-a", "a1", ClockState.UNKNOWN),  # kept: LOCKED then, not known now
        ("ran-b", "b2", ClockState.LOCKED),  # its cluster was read without it: not reported
    ]
    gone = boards[-1].rows[3]
    assert gone.notes[0].startswith("no longer reported since ")
    assert "(last LOCKED)" in gone.notes[0]
    assert not gone.needs_attention  # LOCKED when last read
    kept = boards[-1].rows[2]
    assert kept.notes[0].startswith("STALE: LOCKED as read at ") and not kept.needs_attention
    assert boards[-1].rows[1].notes[0].startswith("STALE: HOLDOVER as read at ")
    assert errors[-1].startswith("STALE: showing data from ")
    assert "for ran-a: ran-a: timed out" in errors[-1]


def test_the_sriov_page_reads_kubernetes_without_a_prometheus(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    readers = Readers(sources=[], kube=[cluster("ran-east")])
    failed_node = NodeSync("du-node-1", "Failed", "failed to set numVfs 16 on ens1f0")
    readers.objects = SriovObjects(nodes=[("ran-east", failed_node)])
    presenter = SriovPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    nodes, vfs, workloads = (listen(presenter.sig_nodes), listen(presenter.sig_vfs),
                             listen(presenter.sig_workloads))  # fmt: skip
    try:
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    assert nodes == [[("ran-east", failed_node)]]
    assert vfs == [] and workloads == [[]]  # the dataplane is not read (nor claimed empty)


def test_a_cluster_down_keeps_its_vfs_and_ports_stale(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    vf_a = VfRow("ran-a", "n", "ens1f0", "0", "0000:3b:02.0")
    vf_b = VfRow("ran-b", "n", "p", "0", "x")
    port_a = DpdkPortRow("ran-a", "n", "0", pod="cnf/du-0")
    dropping = VfRow("ran-b", "n", "p", "1", "y", rx_drops_ps=40.0)
    readers = Readers(([vf_a, vf_b], [port_a], []),
                      ([dropping], [], [failed("ran-a", "timed out after 30 s")]))  # fmt: skip
    presenter = SriovPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    vfs, ports = listen(presenter.sig_vfs), listen(presenter.sig_ports)
    errors = listen(presenter.sig_error)
    try:
        run_coro(qtbot, presenter.read())
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    # ran-b's as read now (vf_b gone), ran-a's kept and said stale (its rates are not now's)
    assert vfs[-1][0] == dropping and not hasattr(vfs[-1][0], "stale")
    kept_vf, kept_port = vfs[-1][1], ports[-1][0]
    assert len(vfs[-1]) == 2 and len(ports[-1]) == 1
    assert isinstance(kept_vf, StaleVf) and VfRow(**_fields(kept_vf, VfRow)) == vf_a
    assert isinstance(kept_port, StaleDpdkPort)
    assert DpdkPortRow(**_fields(kept_port, DpdkPortRow)) == port_a
    assert kept_vf.stale.startswith("STALE: rates as read at ")
    assert errors[-1].startswith("STALE: showing data from ") and " for ran-a: " in errors[-1]


def _fields(row: object, kind: type) -> dict[str, object]:
    """``row``'s fields that ``kind`` has (a kept row less its stale note)."""
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(kind)}
