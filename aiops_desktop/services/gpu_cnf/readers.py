"""The GPU, PTP, SR-IOV/DPDK and drift pages' one door: each read over every cluster with
metrics (the GPUs, and the Kubernetes objects, over those with a Kubernetes API too), through
the queries of the moment (the live clusters, or a capture's recorded answers) and the
Kubernetes session, with what could not be read named beside the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiops_desktop.models import Cluster, ClusterKind, EndpointKind
from aiops_desktop.models.cnf import DpdkPortRow, SriovObjects, VfRow
from aiops_desktop.models.drift import DriftReport
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.gpu import GpuFleet, GpuHistory, GpuReading
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import PtpBoard
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.gpu_cnf.cnf import read_sriov_objects
from aiops_desktop.services.gpu_cnf.drift import DRIFT_OBJECTS, fleet_drift
from aiops_desktop.services.gpu_cnf.gpu import (
    GPU_HISTORY_STEP,
    read_gpu_history,
    stored_gpu_history,
)
from aiops_desktop.services.gpu_cnf.gpu_fallback import read_gpus
from aiops_desktop.services.gpu_cnf.ptp import PTP_STEP, read_ptp_board
from aiops_desktop.services.gpu_cnf.sriov import read_dataplane
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.store.series import SeriesStore

PROFILES_MAX_AGE_S = 300.0  # the board reads PtpConfigs and node labels again after this


def problems(outcomes: list[ClusterOutcome]) -> list[str]:
    """What could not be read, one line per cluster and reason."""
    return [f"{o.cluster}: {o.error}" for o in outcomes]


class GpuCnfReaders:
    """``recorded``: a capture is open: there is no live exporter, so a GPU's history comes
    from the series the poller stored; ``clock``: now (a capture's end while one is open)."""

    def __init__(
        self,
        registry: ClusterRegistry,
        queries: MultiClusterQuery,
        kube: KubeSession,
        series: SeriesStore,
        *,
        clock: Callable[[], datetime],
        recorded: bool = False,
    ) -> None:
        self._registry = registry
        self._queries = queries
        self._kube = kube
        self._series = series
        self._clock = clock
        self._recorded = recorded

    def with_metrics(self) -> list[Cluster]:
        return [c for c in self._registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)]

    def with_gpus(self) -> list[Cluster]:
        """The clusters whose GPUs are read: those with a Prometheus (DCGM, else nvidia-smi)
        and those with a Kubernetes API only (nvidia-smi in the driver pods: README's
        fallback where a cluster has no DCGM series; read only where there was a Prometheus,
        a cluster registered by its API alone had its GPUs neither read nor said unread)."""
        return [c for c in self._registry.clusters()
                if c.endpoint(EndpointKind.PROMETHEUS) or has_kube_api(c)]  # fmt: skip

    async def gpu_fleet(self) -> GpuFleet:
        """Every cluster's GPUs: DCGM, else nvidia-smi (``read_gpus``: the fleet's findings
        and drift read them the same way)."""
        return await read_gpus(self._queries, self.with_gpus(), self._kube,
                               recorded=self._recorded)  # fmt: skip

    def sources_of(self, name: str) -> tuple[list[Cluster], list[Cluster]]:
        """Where a cluster's series come from, and the fleet hubs listing it that are asked
        only where it has no Prometheus or its own failed a query (the GPU read keeps a
        hub's copy of a member's series only then: asked always, a hub not needed held the
        charts and its failure was said under them). A name no registered cluster knows:
        the hubs that list it, else (no hub knows it any more) every cluster with metrics.
        One GPU's history asked of every cluster cost 5 queries on each of 200 for one
        click, and every other cluster's failure was said under that GPU's charts as its
        own."""
        clusters = self._registry.clusters()
        # hubs_of() is [] for a registered name: a hub's status.members is read here too
        hubs = {h.name: h for h in self._registry.hubs_of(name)} | {
            c.name: c for c in clusters
            if c.kind is ClusterKind.FLEET and name in c.status.members and c.name != name
        }  # fmt: skip
        served = [h for h in hubs.values() if h.endpoint(EndpointKind.PROMETHEUS)]
        if any(c.name == name for c in clusters):
            return [c for c in self.with_metrics() if c.name == name], served
        return served or self.with_metrics(), []

    async def gpu_history(self, reading: GpuReading, shown: TimeRange | None = None) -> GpuHistory:
        """One GPU's history over ``shown`` (the last hour by default), for the charts under
        the heatmap."""
        shown = shown or TimeRange()
        if self._recorded:  # no live exporter: what the capture holds
            end = shown.end or self._clock()
            return await asyncio.to_thread(
                stored_gpu_history, self._series, reading, end, shown.window
            )
        own, hubs = self.sources_of(reading.cluster)
        return await read_gpu_history(
            self._queries, own, reading, window=shown.window,
            step=shown.step(GPU_HISTORY_STEP), end=shown.end, hubs=hubs,
        )  # fmt: skip

    async def ptp_board(self, shown: TimeRange) -> tuple[PtpBoard, list[str]]:
        """The board over ``shown``, and what could not be read (clusters and PtpConfigs).
        A range up to now ends at the clock's now (a capture's end while one is open): the
        compliance window is counted from it, and a capture's samples are not "unknown"
        because the wall clock has moved on."""
        profiles, unread = await self._kube.ptp_thresholds(max_age_s=PROFILES_MAX_AGE_S)
        board = await read_ptp_board(
            self._queries, self.with_metrics(), window=shown.window,
            step=shown.step(PTP_STEP), thresholds=profiles, end=shown.end or self._clock(),
        )  # fmt: skip
        return board, problems(board.outcomes) + unread

    async def dataplane(self) -> tuple[list[VfRow], list[DpdkPortRow], list[ClusterOutcome]]:
        """The VFs and DPDK ports, and the clusters that could not be read (``problems``
        says them)."""
        return await read_dataplane(self._queries, self.with_metrics())

    async def sriov_objects(self) -> SriovObjects:
        return await read_sriov_objects(self._kube, self._registry.clusters())

    def with_kube(self) -> list[Cluster]:
        return [c for c in self._registry.clusters() if has_kube_api(c)]

    async def drift(self) -> DriftReport:
        """GPU drivers (``with_gpus``: DCGM's labels, else nvidia-smi's) and operator
        objects (clusters with a Kubernetes API) compared across the fleet, every cluster
        read at once; what could not be read, or not parsed, is named in the report beside
        the drift of the rest."""
        with_gpus = self.with_gpus()
        kinds = list(DRIFT_OBJECTS)
        gpu, lists = await gather_all(
            read_gpus(self._queries, with_gpus, self._kube, recorded=self._recorded)
            if with_gpus
            else _no_gpus(),
            gather_all(*(self._kube.objects_of_each(DRIFT_OBJECTS[k]) for k in kinds)),
        )
        objects: dict[str, dict[str, list[dict[str, Any]] | AppError]] = {}
        for kind, per_cluster in zip(kinds, lists, strict=True):
            for name, answer in per_cluster.items():
                objects.setdefault(name, {})[kind] = answer
        return fleet_drift(gpu, objects)


async def _no_gpus() -> GpuFleet:
    return GpuFleet([], [])
