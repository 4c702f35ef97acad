"""The Kubernetes page of a cluster: who am I and what may I read, nodes, pods, events."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.kube.discovery import DiscoveryService
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

EVENTS_SHOWN = 500


class KubePresenter(Presenter):
    """Signals:

    sig_validation(ValidationResult): identity, version and permissions of the credentials.
    sig_inventory(Inventory): nodes and pods, worst first.
    sig_events(list[EventRow]): the events timeline, newest first (redrawn when it moves, at
    most once a second).
    sig_status(str): what is being done, or what went wrong, in one line.
    """

    sig_validation = Signal(object)
    sig_inventory = Signal(object)
    sig_events = Signal(list)
    sig_status = Signal(str)

    def __init__(
        self,
        *,
        registry: ClusterRegistry,
        kube: KubeSession,
        discovery: DiscoveryService,
        tasks: TaskSupervisor,
        redraw_ms: int = 1000,  # a newest-first table repaints whole: once a second
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, redraw_ms, parent)
        self._registry = registry
        self._kube = kube
        self._discovery = discovery
        self.cluster: str | None = None
        self._timeline: EventTimeline | None = None
        self._drawn = -1

    def show_cluster(self, name: str) -> None:
        if name == self.cluster and self._timeline is not None:
            return
        self.stop()
        self.cluster = name
        hub = self._registry.hub_of(name)
        if hub is not None:
            self.sig_status.emit(
                f"no API server registered for this member: {name}'s metrics and alerts come "
                f"through fleet hub {hub.name}; register it to see its nodes, pods and events"
            )
            return
        try:
            cluster = self._registry.get(name)
        except ClusterNotFoundError as exc:  # removed meanwhile
            self.sig_status.emit(str(exc))
            return
        if not has_kube_api(cluster):
            self.sig_status.emit(f"{name} has no Kubernetes API configured (metrics only)")
            return
        self.reload()
        self._timeline, _ = self._kube.follow(name)
        self._drawn = -1
        self.start()

    def reload(self) -> None:
        """Ask the API server again: who am I, what may I read, nodes and pods."""
        name = self.cluster
        if name is None:
            return
        self.sig_status.emit(f"asking {name}'s API server ...")

        async def check() -> None:
            result = await self._kube.validate(name)
            if name == self.cluster:
                self.sig_validation.emit(result)
                self.sig_status.emit(f"{result.outcome.value}: {result.reason}")

        async def inventory() -> None:
            taken = await self._kube.inventory(name)
            if name == self.cluster:
                self.sig_inventory.emit(taken)

        self.spawn(f"validate {name}", check(), self.sig_status.emit)
        self.spawn(f"inventory {name}", inventory(), self.sig_status.emit)

    def discover(self) -> None:
        name = self.cluster
        if name is None:
            return
        self.sig_status.emit(f"discovering {name} ...")

        async def work() -> None:
            found = await self._discovery.run(name)
            caps = found.capabilities
            text = (
                f"discovered {len(found.endpoints)} endpoint(s), {caps.gpu_count} GPUs, "
                f"PTP {'yes' if caps.has_ptp else 'no'}, SR-IOV {'yes' if caps.has_sriov else 'no'}"
            )
            if found.vanished:
                text += f"; VANISHED: {', '.join(found.vanished)}"
            self.sig_status.emit(text)

        self.spawn(f"discover {name}", work(), self.sig_status.emit)

    def stop(self) -> None:
        super().stop()
        if self.cluster is not None:
            self._kube.unfollow(self.cluster)
        self._timeline = None

    def refresh(self) -> None:
        """A redraw tick: the events timeline, when it moved."""
        timeline = self._timeline
        if timeline is not None and timeline.version != self._drawn:
            self._drawn = timeline.version
            self.sig_events.emit(timeline.newest_first()[:EVENTS_SHOWN])
