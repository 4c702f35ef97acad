"""The Qt-free part of the app, assembled once: store, keyring, bus, supervisor, registry.

The CLI and the GUI both build a ``Core``; only the GUI adds Qt on top (layer 4/5).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiops_desktop.models import utcnow
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.anomalies import AnomalyService
from aiops_desktop.services.bus import EventBus
from aiops_desktop.services.catalog import Panel, load_catalog
from aiops_desktop.services.connections import ClientPool
from aiops_desktop.services.console import QueryConsole
from aiops_desktop.services.discovery import DiscoveryService
from aiops_desktop.services.kube_session import KubeSession
from aiops_desktop.services.live import LiveBuffers
from aiops_desktop.services.multicluster import MultiClusterQuery
from aiops_desktop.services.poller import Poller, PollerSettings
from aiops_desktop.services.registry import ClusterRegistry
from aiops_desktop.services.supervisor import TaskSupervisor
from aiops_desktop.settings import AppPaths, Settings
from aiops_desktop.store import (
    AnomalyRepository,
    ClusterRepository,
    Database,
    HealthRepository,
    QueryRepository,
    SeriesStore,
)
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.capture import CaptureManifest
from collectors.http import HttpPolicy

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
    pool: ClientPool
    live: LiveBuffers
    catalog: list[Panel]
    queries: MultiClusterQuery
    poller: Poller
    console: QueryConsole
    anomalies: AnomalyService
    discovery: DiscoveryService
    kube: KubeSession
    alert_events: AlertEventRepository
    notices: list[str] = field(default_factory=list)
    #: set when the cache is a capture's working copy: no polling, no live connections
    capture: CaptureManifest | None = None
    #: a working folder this Core owns and removes on close (an opened capture's copy)
    scratch: Path | None = None

    def now(self) -> datetime:
        """The present, or, in a capture, the moment the capture ends."""
        return self.anomalies.clock()

    @classmethod
    def open(
        cls,
        paths: AppPaths,
        settings: Settings | None = None,
        secrets: SecretStore | None = None,
        *,
        poller_settings: PollerSettings | None = None,
        http_policy: HttpPolicy | None = None,
        capture: CaptureManifest | None = None,
    ) -> Core:
        """Open the cache (raising StoreTooNewError untouched) and wire the services.
        ``capture``: the cache is an opened capture's working copy; nothing connects out."""
        settings = settings or Settings()
        paths.ensure()
        db = Database(
            paths.db_path,
            batch_max_ops=settings.store.batch_max_ops,
            batch_max_delay_s=settings.store.batch_max_delay_s,
        )
        bus = EventBus()
        secrets = secrets or SecretStore.from_environment(paths.data_dir)
        supervisor = TaskSupervisor(bus)
        registry = ClusterRegistry(ClusterRepository(db), HealthRepository(db), secrets, bus)
        series = SeriesStore(db, settings.store)
        alert_events = AlertEventRepository(db)
        offline = "opened from a capture: no live connections" if capture else None
        end = datetime.fromisoformat(capture.until) if capture else None
        clock = (lambda: end) if end is not None else utcnow
        pool = ClientPool(secrets, http_policy, offline=offline)
        live = LiveBuffers()
        catalog = load_catalog()
        poller = Poller(
            registry,
            pool,
            series=series,
            live=live,
            bus=bus,
            supervisor=supervisor,
            catalog=catalog,
            settings=poller_settings,
            alert_events=alert_events,
        )
        queries = MultiClusterQuery(pool)
        core = cls(
            paths=paths,
            settings=settings,
            db=db,
            secrets=secrets,
            bus=bus,
            supervisor=supervisor,
            registry=registry,
            series=series,
            pool=pool,
            live=live,
            catalog=catalog,
            queries=queries,
            poller=poller,
            console=QueryConsole(registry, queries, QueryRepository(db)),
            anomalies=AnomalyService(
                AnomalyRepository(db), bus, live=live, series=series, catalog=catalog, clock=clock
            ),
            discovery=DiscoveryService(registry, pool, bus),
            kube=KubeSession(registry, pool, secrets, supervisor),
            alert_events=alert_events,
            capture=capture,
        )
        if db.recovered is not None:
            core.notices.append(str(db.recovered))
        log.info("cache opened", extra={"path": str(paths.db_path), "schema": db.schema_version})
        return core

    async def shutdown(self) -> None:
        self.poller.stop()
        self.kube.unfollow()
        await self.supervisor.shutdown()
        await self.pool.aclose()
        self.close()

    def close(self) -> None:
        self.discovery.close()
        self.anomalies.close()
        self.db.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
