"""The Kubernetes page of a cluster: who am I and what may I read, nodes, pods, events."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from aiops_desktop.services.core import Core
from aiops_desktop.services.inventory import EventTimeline
from aiops_desktop.services.kube import ValidationResult, has_kube_api
from ui.presenters.tasks import spawn_guarded

EVENTS_SHOWN = 500


class KubePresenter(QObject):
    """Signals:

    sig_validation(ValidationResult): identity, version and permissions of the credentials.
    sig_inventory(Inventory): nodes and pods, worst first.
    sig_events(list[EventRow]): the events timeline, newest first (redrawn when it moves).
    sig_status(str): what is being done, or what went wrong, in one line.
    """

    sig_validation = Signal(object)
    sig_inventory = Signal(object)
    sig_events = Signal(list)
    sig_status = Signal(str)

    def __init__(self, core: Core, redraw_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self.cluster: str | None = None
        self._timeline: EventTimeline | None = None
        self._drawn = -1
        self._timer = QTimer(self)
        self._timer.setInterval(redraw_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    def show_cluster(self, name: str) -> None:
        if name == self.cluster and self._timer.isActive():
            return
        self.stop()
        self.cluster = name
        cluster = self._core.registry.get(name)
        if not has_kube_api(cluster):
            self.sig_status.emit(f"{name} has no Kubernetes API configured (metrics only)")
            return
        self.refresh()
        self._timeline, _ = self._core.kube.follow(name)
        self._drawn = -1
        self._timer.start()

    def refresh(self) -> None:
        name = self.cluster
        if name is None:
            return
        self.sig_status.emit(f"asking {name}'s API server ...")

        async def check() -> None:
            result: ValidationResult = await self._core.kube.validate(name)
            if name == self.cluster:
                self.sig_validation.emit(result)
                self.sig_status.emit(f"{result.outcome.value}: {result.reason}")

        async def inventory() -> None:
            taken = await self._core.kube.inventory(name)
            if name == self.cluster:
                self.sig_inventory.emit(taken)

        spawn_guarded(self._core, f"validate {name}", check(), self.sig_status.emit)
        spawn_guarded(self._core, f"inventory {name}", inventory(), self.sig_status.emit)

    def discover(self) -> None:
        name = self.cluster
        if name is None:
            return
        self.sig_status.emit(f"discovering {name} ...")

        async def work() -> None:
            found = await self._core.discovery.run(name)
            caps = found.capabilities
            text = (
                f"discovered {len(found.endpoints)} endpoint(s), {caps.gpu_count} GPUs, "
                f"PTP {'yes' if caps.has_ptp else 'no'}, SR-IOV {'yes' if caps.has_sriov else 'no'}"
            )
            if found.vanished:
                text += f"; VANISHED: {', '.join(found.vanished)}"
            self.sig_status.emit(text)

        spawn_guarded(self._core, f"discover {name}", work(), self.sig_status.emit)

    def stop(self) -> None:
        self._timer.stop()
        if self.cluster is not None:
            self._core.kube.unfollow(self.cluster)
        self._timeline = None

    def _on_timer_timeout(self) -> None:
        timeline = self._timeline
        if timeline is not None and timeline.version != self._drawn:
            self._drawn = timeline.version
            self.sig_events.emit(timeline.newest_first()[:EVENTS_SHOWN])
