"""The registry presenter: cluster list, add/import/remove, and their errors, as Qt signals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import Cluster
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.models.text import count
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.fleet.state import FLEET_CHANGED
from aiops_desktop.services.runtime.access import Access, Action
from aiops_desktop.services.runtime.bus import CLUSTERS_CHANGED, TASK_FAILED, EventBus
from aiops_desktop.services.runtime.supervisor import TaskFailure, TaskSupervisor
from ui.presenters.base import Presenter


class RegistryPresenter(Presenter):
    """Signals:

    sig_clusters_changed(list[Cluster]): the registry changed (also after the first load).
    sig_loaded(): the first load finished (the window has its data).
    sig_cluster_added(int, str): add request number N registered a cluster (its name).
    sig_add_failed(int, str): add request number N failed, why (in sig_error too). A dialog
    takes only its own request's answer: another's is not about what it shows.
    sig_import_preview(list[KubeconfigContext]): the contexts of a chosen kubeconfig.
    sig_import_done(str, bool): a human summary of an import, and whether it holds
    something to read before the dialog closes (a context skipped, a warning).
    sig_error(str): an operation failed; the text is for the user.
    sig_task_failed(str): a background task failed.
    sig_fleet(FleetTruth): every cluster and hub member as the fleet's one truth judges it.
    """

    sig_clusters_changed = Signal(list)
    sig_fleet = Signal(object)  # FleetTruth: the fleet's one truth changed (sidebar badges)
    sig_loaded = Signal()
    sig_cluster_added = Signal(int, str)
    sig_add_failed = Signal(int, str)
    sig_import_preview = Signal(list)
    sig_import_done = Signal(str, bool)
    sig_task_failed = Signal(str)

    def __init__(
        self,
        *,
        registry: ClusterRegistry,
        bus: EventBus,
        tasks: TaskSupervisor,
        data_path: Path,
        notices: list[str],
        access: Access | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, parent=parent)
        self._registry = registry
        #: the role this window runs as: what it offers follows it (the services enforce it)
        self.access = access or Access()
        self.role = self.access.role
        #: an opened capture: nothing in the registry may change (no import, add, remove)
        self.read_only = registry.read_only is not None
        self.data_path = data_path
        self.notices = list(notices)
        self._adds = 0  # the number of the last add request
        self.listen(bus, CLUSTERS_CHANGED, self._on_bus_clusters_changed)
        self.listen(bus, TASK_FAILED, self._on_bus_task_failed)
        self.listen(bus, FLEET_CHANGED, self.sig_fleet.emit)

    def allows(self, action: Action) -> bool:
        """Whether the role may do ``action`` (and the registry may change at all)."""
        if action is Action.MANAGE_CLUSTERS and self.read_only:
            return False
        return self.access.allows(action)

    def clusters(self) -> list[Cluster]:
        return self._registry.clusters()

    def hub_of(self, name: str) -> Cluster | None:
        """The fleet hub a member cluster is listed under (None: registered, or unknown)."""
        return self._registry.hub_of(name)

    # -- requests from views --------------------------------------------------------------
    def load(self) -> None:
        async def work() -> None:
            await self._registry.load()
            self.sig_loaded.emit()

        self._guarded("registry-load", work)

    def add_cluster(
        self, spec: ClusterSpec, secrets: ClusterSecrets
    ) -> tuple[int, asyncio.Task[None]]:
        """Register a cluster: the request's number (its answer's, in sig_cluster_added or
        sig_add_failed) and its task, which the person may cancel (the registry undoes what
        it wrote)."""
        self._adds += 1
        request = self._adds

        def failed(text: str) -> None:
            self.sig_add_failed.emit(request, text)
            self.sig_error.emit(text)

        async def work() -> None:
            try:
                cluster = await self._registry.add(spec, secrets)
            except AppError as exc:
                failed(str(exc))
                return
            self.sig_cluster_added.emit(request, cluster.name)

        return request, self.spawn("registry-add", work(), on_error=failed)

    def preview_kubeconfig(self, path: str) -> None:
        async def work() -> None:
            self.sig_import_preview.emit(await self._registry.preview_kubeconfig(path))

        self._guarded("kubeconfig-preview", work)

    def import_kubeconfig(
        self, path: str, contexts: list[str], consented: dict[str, str] | None = None
    ) -> None:
        """Import the contexts the user ticked. One that runs a command was shown with the
        command and left unticked, so a tick is the user's say for exactly that command
        (``consented``); one that runs something else by the time it is read again (the file
        changed) is skipped and said."""

        async def work() -> None:
            report = await self._registry.import_kubeconfig(path, contexts, consented=consented)
            lines = [f"Imported {count(len(report.imported), 'cluster')}."]
            lines += [f"Credential replaced: {c.name}" for c in report.replaced]
            lines += [f"Skipped {ctx}: {why}" for ctx, why in report.skipped]
            lines += [f"Warning: {w}" for w in report.warnings]
            self.sig_import_done.emit("\n".join(lines), bool(report.skipped or report.warnings))

        self._guarded("kubeconfig-import", work)

    def remove_cluster(self, name: str) -> None:
        async def work() -> None:
            await self._registry.remove(name)

        self._guarded("registry-remove", work)

    # -- plumbing ------------------------------------------------------------------------
    def _guarded(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """The app's own errors are said as they are (they are written for the user)."""

        async def run() -> None:
            try:
                await work()
            except AppError as exc:
                self.sig_error.emit(str(exc))

        self.spawn(name, run())

    def _on_bus_clusters_changed(self, clusters: list[Cluster]) -> None:
        self.sig_clusters_changed.emit(clusters)

    def _on_bus_task_failed(self, failure: TaskFailure) -> None:
        self.sig_task_failed.emit(f"{failure.name}: {failure.error}")
