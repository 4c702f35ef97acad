"""Presenters of the GPU fleet and the PTP timing board: they read through the services on a
timer while their view is shown (never on the UI thread) and emit what they found."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QTimer, Signal

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.services.cnf import cnf_workloads_by_type, read_sriov_objects
from aiops_desktop.services.core import Core
from aiops_desktop.services.drift import DRIFT_OBJECTS, fleet_drift
from aiops_desktop.services.freshness import LastGood
from aiops_desktop.services.gpu import (
    GpuFleet,
    read_gpu_fleet,
    read_gpu_history,
    stored_gpu_history,
)
from aiops_desktop.services.kube import has_kube_api
from aiops_desktop.services.multicluster import ClusterOutcome
from aiops_desktop.services.ptp import PtpBoard, read_ptp_board
from aiops_desktop.services.sriov import DpdkPortRow, VfRow, read_dataplane
from analysis.gpu_health import GpuReading
from ui.presenters.tasks import spawn_guarded

PROFILES_MAX_AGE_S = 300.0  # the board reads PtpConfigs and node labels again after this


def _problems(outcomes: list[ClusterOutcome]) -> list[str]:
    return [f"{o.cluster}: {o.error}" for o in outcomes]


class _Periodic(QObject):
    sig_error = Signal(str)

    def __init__(self, core: Core, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._busy = False
        self._again = False  # asked again while a read ran: read once more when it ends
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()
        self._again = False

    def refresh(self) -> None:
        if self._busy:
            self._again = True
            return
        clusters = self._with_metrics()
        if not clusters:
            return
        self._busy, self._again = True, False

        async def work() -> None:
            try:
                await self._read(clusters)
            finally:
                self._busy = False
                if self._again:
                    QTimer.singleShot(0, self, self.refresh)

        spawn_guarded(self._core, type(self).__name__, work(), self.sig_error.emit)

    def _with_metrics(self) -> list[Cluster]:
        return [c for c in self._core.registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)]

    async def _read(self, clusters: list[Cluster]) -> None:
        raise NotImplementedError


class GpuPresenter(_Periodic):
    """Signals: sig_fleet(GpuFleet), sig_history(GpuHistory), sig_error(str)."""

    sig_fleet = Signal(object)
    sig_history = Signal(object)

    def __init__(
        self, core: Core, interval_ms: int = 30_000, parent: QObject | None = None
    ) -> None:
        super().__init__(core, interval_ms, parent)
        self._kept: LastGood[GpuFleet] = LastGood(lambda fleet: len(fleet.gpus))

    async def _read(self, clusters: list[Cluster]) -> None:
        fleet = await read_gpu_fleet(self._core.queries, clusters)
        shown = self._kept.offer(fleet, _problems(fleet.outcomes))
        self.sig_fleet.emit(shown.value)
        self.sig_error.emit(shown.badge())

    def read_history(self, reading: GpuReading) -> None:
        """One GPU's last hour, for the charts under the heatmap."""
        clusters = self._with_metrics()

        async def work() -> None:
            if self._core.capture is not None:  # no live exporter: what the capture holds
                history = await asyncio.to_thread(
                    stored_gpu_history, self._core.series, reading, self._core.now()
                )
            else:
                history = await read_gpu_history(self._core.queries, clusters, reading)
            self.sig_history.emit(history)

        spawn_guarded(self._core, "gpu history", work(), self.sig_error.emit)


class PtpPresenter(_Periodic):
    """Signals: sig_board(PtpBoard), sig_error(str)."""

    sig_board = Signal(object)
    WINDOWS: ClassVar[dict[str, int]] = {"15 min": 900, "1 h": 3600, "6 h": 21600}

    def __init__(
        self, core: Core, interval_ms: int = 30_000, parent: QObject | None = None
    ) -> None:
        super().__init__(core, interval_ms, parent)
        self.window = timedelta(hours=1)
        self._kept: LastGood[PtpBoard] = LastGood(lambda board: len(board.rows))

    def set_window(self, seconds: int) -> None:
        self.window = timedelta(seconds=seconds)
        self._kept = LastGood(lambda board: len(board.rows))  # another window: another answer
        self.refresh()

    async def _read(self, clusters: list[Cluster]) -> None:
        profiles, unread = await self._core.kube.ptp_thresholds(max_age_s=PROFILES_MAX_AGE_S)
        board = await read_ptp_board(
            self._core.queries, clusters, window=self.window, thresholds=profiles
        )
        shown = self._kept.offer(board, _problems(board.outcomes) + unread)
        self.sig_board.emit(shown.value)
        self.sig_error.emit(shown.badge())


class SriovPresenter(_Periodic):
    """The SR-IOV / DPDK / CNF page. Signals: sig_vfs(list[VfRow]), sig_ports(list[DpdkPortRow]),
    sig_nodes(list[tuple[str, NodeSync]]), sig_networks(list[tuple[str, NetworkRow]]),
    sig_workloads(list[CnfWorkload]), sig_error(str)."""

    sig_vfs = Signal(list)
    sig_ports = Signal(list)
    sig_nodes = Signal(list)
    sig_networks = Signal(list)
    sig_workloads = Signal(list)

    def __init__(
        self, core: Core, interval_ms: int = 30_000, parent: QObject | None = None
    ) -> None:
        super().__init__(core, interval_ms, parent)
        self._kept: LastGood[tuple[list[VfRow], list[DpdkPortRow]]] = LastGood(
            lambda plane: len(plane[0]) + len(plane[1])
        )

    async def _read(self, clusters: list[Cluster]) -> None:
        read_vfs, read_ports, failures = await read_dataplane(self._core.queries, clusters)
        shown = self._kept.offer((read_vfs, read_ports), _problems(failures))
        vfs, ports = shown.value
        self.sig_vfs.emit(vfs)
        self.sig_ports.emit(ports)
        objects = await read_sriov_objects(self._core.kube, self._core.registry.clusters())
        self.sig_nodes.emit(objects.nodes)
        self.sig_networks.emit(objects.networks)
        self.sig_workloads.emit(cnf_workloads_by_type(vfs, ports, objects.pods))
        self.sig_error.emit("; ".join(filter(None, [shown.badge(), *objects.problems])))


class DriftPresenter(_Periodic):
    """Signals: sig_drift(list[Drift]), sig_error(str)."""

    sig_drift = Signal(list)

    def __init__(
        self, core: Core, interval_ms: int = 60_000, parent: QObject | None = None
    ) -> None:
        super().__init__(core, interval_ms, parent)

    async def _read(self, clusters: list[Cluster]) -> None:
        gpu = await read_gpu_fleet(self._core.queries, clusters)
        objects: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for cluster in self._core.registry.clusters():
            if has_kube_api(cluster):
                objects[cluster.name] = {
                    kind: await self._core.kube.objects(cluster.name, path)
                    for kind, path in DRIFT_OBJECTS.items()
                }
        self.sig_drift.emit(fleet_drift(gpu, objects))
