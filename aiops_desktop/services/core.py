"""The Qt-free part of the app, assembled once: store, keyring, bus, supervisor, registry.

The CLI and the GUI both build a ``Core``; only the GUI adds Qt on top (layer 4/5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.bus import EventBus
from aiops_desktop.services.registry import ClusterRegistry
from aiops_desktop.services.supervisor import TaskSupervisor
from aiops_desktop.settings import AppPaths, Settings
from aiops_desktop.store import ClusterRepository, Database, HealthRepository, SeriesStore

log = logging.getLogger("aiops.core")


@dataclass
class Core:
    paths: AppPaths
    settings: Settings
    db: Database
    secrets: SecretStore
    bus: EventBus
    supervisor: TaskSupervisor
    registry: ClusterRegistry
    series: SeriesStore
    notices: list[str] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        paths: AppPaths,
        settings: Settings | None = None,
        secrets: SecretStore | None = None,
    ) -> Core:
        """Open the cache (raising StoreTooNewError untouched) and wire the services."""
        settings = settings or Settings()
        paths.ensure()
        db = Database(
            paths.db_path,
            batch_max_ops=settings.store.batch_max_ops,
            batch_max_delay_s=settings.store.batch_max_delay_s,
        )
        bus = EventBus()
        secrets = secrets or SecretStore.from_environment(paths.data_dir)
        core = cls(
            paths=paths,
            settings=settings,
            db=db,
            secrets=secrets,
            bus=bus,
            supervisor=TaskSupervisor(bus),
            registry=ClusterRegistry(ClusterRepository(db), HealthRepository(db), secrets, bus),
            series=SeriesStore(db, settings.store),
        )
        if db.recovered is not None:
            core.notices.append(str(db.recovered))
        log.info("cache opened", extra={"path": str(paths.db_path), "schema": db.schema_version})
        return core

    async def shutdown(self) -> None:
        await self.supervisor.shutdown()
        self.close()

    def close(self) -> None:
        self.db.close()
