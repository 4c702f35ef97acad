"""The registry presenter: cluster list, add/import/remove, and their errors, as Qt signals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import Cluster
from aiops_desktop.services.bus import CLUSTERS_CHANGED, TASK_FAILED
from aiops_desktop.services.core import Core
from aiops_desktop.services.kubeconfig import KubeconfigContext, KubeconfigError, read_contexts
from aiops_desktop.services.registry import ClusterSecrets, ClusterSpec, RegistryError
from aiops_desktop.services.supervisor import TaskFailure

log = logging.getLogger("aiops.ui.registry")


class RegistryPresenter(QObject):
    """Signals:

    sig_clusters_changed(list[Cluster]): the registry changed (also after the first load).
    sig_loaded(): the first load finished (the window has its data).
    sig_cluster_added(str): a cluster was registered (its name).
    sig_import_preview(list[KubeconfigContext]): the contexts of a chosen kubeconfig.
    sig_import_done(str): a human summary of an import.
    sig_error(str): an operation failed; the text is for the user.
    sig_task_failed(str): a background task failed.
    """

    sig_clusters_changed = Signal(list)
    sig_loaded = Signal()
    sig_cluster_added = Signal(str)
    sig_import_preview = Signal(list)
    sig_import_done = Signal(str)
    sig_error = Signal(str)
    sig_task_failed = Signal(str)

    def __init__(self, core: Core, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._unsubscribe = [
            core.bus.subscribe(CLUSTERS_CHANGED, self._on_bus_clusters_changed),
            core.bus.subscribe(TASK_FAILED, self._on_bus_task_failed),
        ]

    @property
    def notices(self) -> list[str]:
        return list(self._core.notices)

    @property
    def data_path(self) -> Path:
        return self._core.paths.db_path

    def clusters(self) -> list[Cluster]:
        return self._core.registry.clusters()

    def running_tasks(self) -> int:
        return self._core.supervisor.running

    # -- requests from views --------------------------------------------------------------
    def load(self) -> None:
        self._spawn("registry-load", self._load)

    def add_cluster(self, spec: ClusterSpec, secrets: ClusterSecrets) -> None:
        async def work() -> None:
            if secrets.token or secrets.basic_password or secrets.client_key_pem:
                await self._to_thread(self._core.secrets.check)
            cluster = await self._core.registry.add(spec, secrets)
            self.sig_cluster_added.emit(cluster.name)

        self._spawn("registry-add", work)

    def preview_kubeconfig(self, path: str) -> None:
        async def work() -> None:
            contexts: list[KubeconfigContext] = await self._to_thread(read_contexts, path)
            self.sig_import_preview.emit(contexts)

        self._spawn("kubeconfig-preview", work)

    def import_kubeconfig(self, path: str, contexts: list[str]) -> None:
        async def work() -> None:
            await self._to_thread(self._core.secrets.check)
            report = await self._core.registry.import_kubeconfig(path, contexts)
            lines = [f"Imported {len(report.imported)} cluster(s)."]
            lines += [f"Skipped {ctx}: {why}" for ctx, why in report.skipped]
            lines += [f"Warning: {w}" for w in report.warnings]
            self.sig_import_done.emit("\n".join(lines))

        self._spawn("kubeconfig-import", work)

    def remove_cluster(self, name: str) -> None:
        async def work() -> None:
            await self._core.registry.remove(name)

        self._spawn("registry-remove", work)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # -- plumbing ------------------------------------------------------------------------
    async def _load(self) -> None:
        await self._core.registry.load()
        self.sig_loaded.emit()

    @staticmethod
    async def _to_thread(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    def _spawn(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async def guarded() -> None:
            try:
                await work()
            except (RegistryError, KubeconfigError) as exc:
                self.sig_error.emit(str(exc))
            except Exception as exc:
                # Keyring and store errors carry user-facing messages too.
                log.exception("%s failed", name)
                self.sig_error.emit(str(exc) or type(exc).__name__)

        self._core.supervisor.spawn(guarded(), name=name)

    def _on_bus_clusters_changed(self, clusters: list[Cluster]) -> None:
        self.sig_clusters_changed.emit(clusters)

    def _on_bus_task_failed(self, failure: TaskFailure) -> None:
        self.sig_task_failed.emit(f"{failure.name}: {failure.error}")
