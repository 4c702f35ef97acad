"""Presenters of the GPU fleet, the PTP timing board, the SR-IOV/DPDK/CNF page and drift:
they read through ``GpuCnfReaders`` on a timer while their page is shown (never on the UI
thread) and keep a cluster's last rows, marked stale with their age, while it cannot be read
(the other clusters' rows are always the newest read's)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import ClusterKind, utcnow
from aiops_desktop.models.cnf import DpdkPortRow, VfRow
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import ClockState, PtpBoard, PtpRow
from aiops_desktop.models.text import age_text, time_text
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.gpu_cnf.cnf import cnf_workloads_by_type
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders, problems
from aiops_desktop.services.polling.freshness import LastGoodRows, ShownRows
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import health_changes, worst_first
from ui.presenters.base import Presenter

READ_EVERY_MS = 30_000


class ReaderPresenter(Presenter):
    """Reads the clusters through ``GpuCnfReaders`` on a timer (while its page is shown), and
    keeps each cluster's last rows read without trouble (``LastGoodRows``): a row a newer read
    lacks because its cluster (or the hub answering for it) failed stays shown, marked stale
    with its age; every cluster read fine shows its new rows."""

    def __init__(
        self,
        *,
        readers: GpuCnfReaders,
        tasks: TaskSupervisor,
        interval_ms: int = READ_EVERY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, interval_ms, parent)
        self._readers = readers
        self.forget()

    def forget(self) -> None:
        """The kept rows no longer apply (another window, another question)."""


def stale_note(as_of: datetime, was: str, now: datetime | None = None) -> str:
    """What a row kept from an earlier read says of itself: what it read then, and when."""
    age = age_text(((now or utcnow()) - as_of).total_seconds())
    return f"STALE: {was} as read at {time_text(as_of, seconds=True)} ({age})"


def failed_clusters(sources: Sequence[Any], failed: Iterable[str]) -> Callable[[str], bool]:
    """Whether a row of the cluster named could not be read this time: ``failed`` names the
    sources that failed (a cluster, or a hub: its outcomes are under its own name). A hub's
    failure covers its members (those it lists, or a cluster no hub lists and not registered
    itself: one a hub answered for before polls named it)."""
    names = {name for c in sources if isinstance(name := getattr(c, "name", None), str)}
    down = set(failed)
    if not down:
        return lambda _name: False
    hubs = [c for c in sources if getattr(c, "kind", None) is ClusterKind.FLEET]
    listed: dict[str, set[str]] = {}
    for hub in hubs:
        for member in hub.status.members:
            listed.setdefault(member, set()).add(hub.name)
    any_hub_down = any(hub.name in down for hub in hubs)

    def is_down(name: str) -> bool:
        if name in down:
            return True
        if name in listed:
            return bool(listed[name] & down)
        return any_hub_down and name not in names

    return is_down


def stale_gpu(health: GpuHealth, as_of: datetime, now: datetime) -> GpuHealth:
    """A GPU kept from the read at ``as_of``: its state then (one read OK is UNKNOWN: its
    cluster cannot say it still is; a fault stays shown), said stale first among its reasons."""
    state = GpuState.UNKNOWN if health.state is GpuState.OK else health.state
    note = stale_note(as_of, health.state.value, now)
    return replace(health, state=state, reasons=[note, *health.reasons])


def stale_port(row: PtpRow, as_of: datetime, now: datetime) -> PtpRow:
    """A port kept from the read at ``as_of``: a fault stays shown as it was read; one read
    fine (or unknown) is UNKNOWN now; said stale first among its notes."""
    state = row.state if row.needs_attention else ClockState.UNKNOWN
    return replace(row, state=state, notes=[stale_note(as_of, row.state.value, now), *row.notes])


#: GPUs no longer reported that the GPU page keeps naming, at most (a whole hub gone)
MAX_GONE = 5000


class GpuPresenter(ReaderPresenter):
    """Signals: sig_fleet(GpuFleet), sig_history(GpuHistory), sig_error(str).

    A GPU an earlier read reported and a newer one does not (off the bus, its node or its
    exporter gone) does not just vanish from the page: it stays named in the fleet's ``gone``
    until it is reported again (or the page is asked another question: ``forget``)."""

    sig_fleet = Signal(object)
    sig_history = Signal(object)

    def forget(self) -> None:
        self._kept: LastGoodRows[GpuHealth] = LastGoodRows(
            lambda h: h.reading.key, lambda h: h.reading.cluster
        )
        self._seen: dict[str, GpuHealth] = {}  # key -> its last health, gone ones included

    def merged(self, fleet: GpuFleet, now: datetime | None = None) -> tuple[GpuFleet, str]:
        """``fleet`` with the GPUs of the clusters that could not be read (all of them, or
        a node's nvidia-smi) kept from earlier reads, each marked stale with its age (one
        last read OK is UNKNOWN now: nothing says it still is), worst first; and the
        badge. The other clusters' GPUs are this read's, whatever failed elsewhere."""
        now = now or utcnow()
        said = problems(fleet.outcomes)
        down = failed_clusters(self._readers.with_metrics(), {o.cluster for o in fleet.outcomes})
        shown = self._kept.offer(fleet.gpus, said, down, now)
        gpus = [a.row if not a.stale else stale_gpu(a.row, a.as_of, now) for a in shown.rows]
        return replace(fleet, gpus=worst_first(gpus)), shown.badge(now)

    def with_gone(self, fleet: GpuFleet) -> GpuFleet:
        """``fleet`` with the GPUs seen before and not in it, as ``health_changes`` finds
        them; remembered for the next read."""
        before = list(self._seen.values())
        gone = [c for c in health_changes(before, fleet.gpus) if c.after is None][:MAX_GONE]
        kept = {h.reading.key: h for h in before}
        self._seen = {c.key: kept[c.key] for c in gone} | {h.reading.key: h for h in fleet.gpus}
        return replace(fleet, gone=gone)

    async def read(self) -> None:
        if not self._readers.with_metrics():
            return
        fleet, badge = self.merged(await self._readers.gpu_fleet())
        fleet = self.with_gone(fleet)  # a GPU kept stale is not gone
        self.sig_fleet.emit(fleet)
        self.sig_error.emit("; ".join(filter(None, [badge, *fleet.notes])))

    range = TimeRange()
    _chosen: GpuReading | None = None
    _asked = 0  # the history reads asked for: only the last one's answer is shown

    def read_history(self, reading: GpuReading) -> None:
        """One GPU's history over the page's range, for the charts under the heatmap. An
        answer to an earlier question (another GPU, another range: a longer range's read
        may end last) is dropped: the charts show what the page now asks."""
        self._chosen = reading
        shown = self.range
        self._asked += 1
        asked = self._asked

        async def work() -> None:
            history = await self._readers.gpu_history(reading, shown)
            if asked == self._asked:
                self.sig_history.emit(history)

        self.spawn("gpu history", work())

    def set_range(self, chosen: TimeRange) -> None:
        """The page's range: the chosen GPU's charts are read again over it."""
        self.range = chosen
        if self._chosen is not None:
            self.read_history(self._chosen)


class PtpPresenter(ReaderPresenter):
    """Signals: sig_board(PtpBoard), sig_error(str)."""

    sig_board = Signal(object)
    range = TimeRange()
    _ranges = 0  # the ranges chosen: a read's answer counts only for the one it was asked

    def forget(self) -> None:
        self._kept: LastGoodRows[PtpRow] = LastGoodRows(
            lambda r: (r.cluster, r.node, r.iface, r.process), lambda r: r.cluster
        )

    def merged(
        self, board: PtpBoard, unread: list[str], now: datetime | None = None
    ) -> tuple[PtpBoard, str]:
        """``board`` with the ports of the clusters that could not be read kept from earlier
        reads, each marked stale with its age (a port last read fine is UNKNOWN now), worst
        first; and the badge. The other clusters' ports are this read's."""
        now = now or utcnow()
        down = failed_clusters(self._readers.with_metrics(), {o.cluster for o in board.outcomes})
        shown = self._kept.offer(board.rows, unread, down, now)
        rows = [a.row if not a.stale else stale_port(a.row, a.as_of, now) for a in shown.rows]
        rows.sort(key=lambda r: (r.rank, r.cluster, r.node, r.iface, r.process))
        return replace(board, rows=rows), shown.badge(now)

    def set_range(self, chosen: TimeRange) -> None:
        """The board's compliance window and its offset charts."""
        self.range = chosen
        self._ranges += 1
        self.forget()  # another range: another answer
        self.refresh()

    async def read(self) -> None:
        if not self._readers.with_metrics():
            return
        asked = self._ranges
        answer = await self._readers.ptp_board(self.range)
        if asked != self._ranges:
            return  # read over the range left: not shown, not kept (a read of the new follows)
        board, badge = self.merged(*answer)
        self.sig_board.emit(board)
        self.sig_error.emit(badge)


class SriovPresenter(ReaderPresenter):
    """The SR-IOV / DPDK / CNF page. Signals: sig_vfs(list[VfRow]), sig_ports(list[DpdkPortRow]),
    sig_nodes(list[tuple[str, NodeSync]]), sig_networks(list[tuple[str, NetworkRow]]),
    sig_workloads(list[CnfWorkload]), sig_error(str)."""

    sig_vfs = Signal(list)
    sig_ports = Signal(list)
    sig_nodes = Signal(list)
    sig_networks = Signal(list)
    sig_workloads = Signal(list)

    def forget(self) -> None:
        self._vfs: LastGoodRows[VfRow] = LastGoodRows(
            lambda r: (r.cluster, r.node, r.pf, r.vf), lambda r: r.cluster
        )
        self._ports: LastGoodRows[DpdkPortRow] = LastGoodRows(
            lambda r: (r.cluster, r.node, r.pod, r.port), lambda r: r.cluster
        )

    async def read(self) -> None:
        """The VFs' and DPDK ports' rates come from metrics (read where a cluster has them);
        node sync states, SriovNetworks and CNF pods from the Kubernetes APIs (read where a
        cluster has one, with or without metrics)."""
        metrics = self._readers.with_metrics()
        if not metrics and not self._readers.with_kube():
            return
        vfs: list[VfRow] = []
        ports: list[DpdkPortRow] = []
        badge = ""
        if metrics:
            vfs, ports, badge = self.merged(*await self._readers.dataplane())
            self.sig_vfs.emit(vfs)
            self.sig_ports.emit(ports)
        objects = await self._readers.sriov_objects()
        self.sig_nodes.emit(objects.nodes)
        self.sig_networks.emit(objects.networks)
        self.sig_workloads.emit(cnf_workloads_by_type(vfs, ports, objects.pods))
        self.sig_error.emit("; ".join(filter(None, [badge, *objects.problems])))

    def merged(
        self,
        read_vfs: list[VfRow],
        read_ports: list[DpdkPortRow],
        outcomes: list[ClusterOutcome],
        now: datetime | None = None,
    ) -> tuple[list[VfRow], list[DpdkPortRow], str]:
        """The VFs and ports read, with those of the clusters that could not be read
        (``outcomes``) kept from earlier reads (the badge names those clusters and how old
        their rows are), trouble first; the other clusters' rows are this read's."""
        now = now or utcnow()
        failures = problems(outcomes)
        down = failed_clusters(self._readers.with_metrics(), {o.cluster for o in outcomes})
        vfs = self._vfs.offer(read_vfs, failures, down, now)
        ports = self._ports.offer(read_ports, failures, down, now)
        stale = vfs.stale | {c: min(t, vfs.stale.get(c, t)) for c, t in ports.stale.items()}
        badge = ShownRows([], failures, stale).badge(now)
        by_vf = sorted(vfs.values, key=lambda r: (-r.trouble, r.cluster, r.node, r.pf, r.vf))
        by_port = sorted(ports.values, key=lambda r: (-r.trouble, r.cluster, r.node, r.pod, r.port))
        return by_vf, by_port, badge


class DriftPresenter(ReaderPresenter):
    """Signals: sig_drift(DriftReport), sig_error(str): the clusters not compared, and why.

    Drift is read where any cluster has metrics (GPU drivers) or a Kubernetes API (PtpConfigs,
    SR-IOV policies). A comparison is not kept past a read that left clusters out: the page
    shows what this read compared and names what it did not."""

    sig_drift = Signal(object)

    async def read(self) -> None:
        if not self._readers.with_metrics() and not self._readers.with_kube():
            return
        report = await self._readers.drift()
        self.sig_drift.emit(report)
        self.sig_error.emit("; ".join(report.problems))
