"""Presenters of the GPU fleet, the PTP timing board, the SR-IOV/DPDK/CNF page and drift:
they read through ``GpuCnfReaders`` on a timer while their page is shown (never on the UI
thread) and keep the last complete answer, badged stale, when a read fails."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.gpu_cnf.cnf import cnf_workloads_by_type
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders, problems
from aiops_desktop.services.polling.freshness import LastGood, Shown
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import health_changes
from ui.presenters.base import Presenter

READ_EVERY_MS = 30_000


class ReaderPresenter(Presenter):
    """Reads the clusters through ``GpuCnfReaders`` on a timer (while its page is shown), and
    keeps the last answer read without trouble: ``shown`` gives it again, badged stale, when
    a newer read failed somewhere and holds fewer rows (``rows``)."""

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

    @staticmethod
    def rows(answer: Any) -> int:
        return 0

    def forget(self) -> None:
        """The kept answer no longer applies (another window, another question)."""
        self._kept: LastGood[Any] = LastGood(self.rows)

    def shown(self, answer: Any, trouble: list[str]) -> Shown[Any]:
        return self._kept.offer(answer, trouble)


#: GPUs no longer reported that the GPU page keeps naming, at most (a whole hub gone)
MAX_GONE = 5000


class GpuPresenter(ReaderPresenter):
    """Signals: sig_fleet(GpuFleet), sig_history(GpuHistory), sig_error(str).

    A GPU an earlier read reported and a newer one does not (off the bus, its node or its
    exporter gone) does not just vanish from the page: it stays named in the fleet's ``gone``
    until it is reported again (or the page is asked another question: ``forget``)."""

    sig_fleet = Signal(object)
    sig_history = Signal(object)

    @staticmethod
    def rows(answer: Any) -> int:
        return len(answer.gpus)

    def forget(self) -> None:
        super().forget()
        self._seen: dict[str, GpuHealth] = {}  # key -> its last health, gone ones included

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
        fleet = self.with_gone(await self._readers.gpu_fleet())
        shown = self.shown(fleet, problems(fleet.outcomes))
        self.sig_fleet.emit(shown.value)
        self.sig_error.emit("; ".join(filter(None, [shown.badge(), *fleet.notes])))

    range = TimeRange()
    _chosen: GpuReading | None = None

    def read_history(self, reading: GpuReading) -> None:
        """One GPU's history over the page's range, for the charts under the heatmap."""
        self._chosen = reading
        shown = self.range

        async def work() -> None:
            self.sig_history.emit(await self._readers.gpu_history(reading, shown))

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

    @staticmethod
    def rows(answer: Any) -> int:
        return len(answer.rows)

    def set_range(self, chosen: TimeRange) -> None:
        """The board's compliance window and its offset charts."""
        self.range = chosen
        self.forget()  # another range: another answer
        self.refresh()

    async def read(self) -> None:
        if not self._readers.with_metrics():
            return
        board, unread = await self._readers.ptp_board(self.range)
        shown = self.shown(board, unread)
        self.sig_board.emit(shown.value)
        self.sig_error.emit(shown.badge())


class SriovPresenter(ReaderPresenter):
    """The SR-IOV / DPDK / CNF page. Signals: sig_vfs(list[VfRow]), sig_ports(list[DpdkPortRow]),
    sig_nodes(list[tuple[str, NodeSync]]), sig_networks(list[tuple[str, NetworkRow]]),
    sig_workloads(list[CnfWorkload]), sig_error(str)."""

    sig_vfs = Signal(list)
    sig_ports = Signal(list)
    sig_nodes = Signal(list)
    sig_networks = Signal(list)
    sig_workloads = Signal(list)

    @staticmethod
    def rows(answer: Any) -> int:
        vfs, ports = answer
        return len(vfs) + len(ports)

    async def read(self) -> None:
        if not self._readers.with_metrics():
            return
        read_vfs, read_ports, failures = await self._readers.dataplane()
        shown = self.shown((read_vfs, read_ports), failures)
        vfs, ports = shown.value
        self.sig_vfs.emit(vfs)
        self.sig_ports.emit(ports)
        objects = await self._readers.sriov_objects()
        self.sig_nodes.emit(objects.nodes)
        self.sig_networks.emit(objects.networks)
        self.sig_workloads.emit(cnf_workloads_by_type(vfs, ports, objects.pods))
        self.sig_error.emit("; ".join(filter(None, [shown.badge(), *objects.problems])))


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
