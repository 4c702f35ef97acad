"""The Qt-free part of the app, assembled once: store, keyring, bus, supervisor, registry, and
the services over them.

The CLI and the GUI both build a ``Core``; only the GUI adds Qt on top. What every use needs
(the cache, the keyring, the bus, the supervisor, the registry, the client pool) is made at
``open``; every other service is made on first use (and its heavy imports with it), so a
command such as ``clusters list`` loads neither the poller nor numpy nor the detectors.
"""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import Future
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops_desktop.models import Cluster, ClusterKind, utcnow
from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import UsageError
from aiops_desktop.secrets import NoSecrets, SecretStore
from aiops_desktop.services.clusters.connections import ClientPool
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.runtime.access import Access, resolve_role
from aiops_desktop.services.runtime.bus import CLUSTER_REMOVED, EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import AppPaths, HttpPolicy, PollerSettings, Settings
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.credential_keys import CredentialKeyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.health import HealthRepository

if TYPE_CHECKING:
    from aiops_desktop.models.catalog import Panel
    from aiops_desktop.services.assistant.chat import ChatService
    from aiops_desktop.services.assistant.llm import LlmService
    from aiops_desktop.services.assistant.toolbox import ToolBox
    from aiops_desktop.services.fleet.state import FleetState
    from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
    from aiops_desktop.services.intelligence.anomalies import AnomalyService
    from aiops_desktop.services.intelligence.incidents import IncidentService
    from aiops_desktop.services.intelligence.rca import RcaService
    from aiops_desktop.services.kube.discovery import DiscoveryService
    from aiops_desktop.services.kube.session import KubeSession
    from aiops_desktop.services.outputs.recorded_logs import RecordedLogsTraces
    from aiops_desktop.services.outputs.reports import ReportService
    from aiops_desktop.services.outputs.wall import WallService
    from aiops_desktop.services.polling.live import LiveBuffers
    from aiops_desktop.services.polling.poller import Poller
    from aiops_desktop.services.queries.console import QueryConsole
    from aiops_desktop.services.queries.logs_traces import LogsTraces
    from aiops_desktop.services.queries.multicluster import MultiClusterQuery
    from aiops_desktop.services.runtime.settings import SettingsService
    from aiops_desktop.store.alert_events import AlertEventRepository
    from aiops_desktop.store.capture import CaptureManifest
    from aiops_desktop.store.series import SeriesStore

log = logging.getLogger("aiops.core")
#: the services made on first use, in an order that makes each one's parts first
SERVICES = (
    "series", "alert_events", "live", "catalog", "poller", "queries", "console", "anomalies",
    "fleet", "incidents", "rca", "discovery", "kube", "gpu_cnf", "wall", "reports",
    "preferences", "llm", "tools", "chat",
)  # fmt: skip


class Core:
    """``capture``: the cache is an opened capture's working copy: nothing connects out, "now"
    is the capture's end, and the live pages are answered from what was recorded at export
    (``recorded_answers``: their PromQL answers, ``recorded_objects``: the Kubernetes objects
    they read)."""

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings,
        db: Database,
        secrets: SecretStore,
        *,
        capture: CaptureManifest | None = None,
        recorded_answers: Any = None,
        recorded_objects: Any = None,
        recorded_logs_traces: Any = None,
        access: Access | None = None,
    ) -> None:
        self.paths = paths
        #: the role this session runs as, enforced by the services that change things
        self.access = access or Access()
        self.settings = settings
        self.db = db
        self.secrets = secrets
        self.capture = capture
        self._recorded_answers = recorded_answers
        self._recorded_objects = recorded_objects
        self._recorded_logs_traces = recorded_logs_traces
        self.bus = EventBus()
        self.supervisor = TaskSupervisor(self.bus)
        self.registry = ClusterRegistry(
            ClusterRepository(db), HealthRepository(db), secrets, self.bus,
            keys=CredentialKeyRepository(db), access=self.access,
            read_only="a capture is read-only: nothing in it can be changed" if capture else None,
        )  # fmt: skip
        offline = "opened from a capture: no live connections" if capture else None
        self.pool = ClientPool(secrets, settings.http, offline=offline)
        end = datetime.fromisoformat(capture.until) if capture else None
        self._end = end
        self.notices: list[str] = []
        #: a working folder this Core owns and removes on close (an opened capture's copy)
        self.scratch: Path | None = None
        self._isolate_detection = False  # assemble(): detection in a process of its own
        self.bus.subscribe(CLUSTER_REMOVED, self._on_cluster_removed)

    def now(self) -> datetime:
        """The present, or, in a capture, the moment the capture ends."""
        return self._end if self._end is not None else utcnow()

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
        recorded_answers: Any = None,
        recorded_objects: Any = None,
        recorded_logs_traces: Any = None,
        role: UserRole | None = None,
    ) -> Core:
        """Open the cache (raising StoreTooNewError untouched) and the keyring; the services
        come when first asked for. ``role``: asked for at start (``--role``), at most the
        account's (services/runtime/access.py); None: the account's. Above the viewer role a
        settings file that cannot be used falls back to (its access section unusable too), the
        file's damage is what is said: not that an admin set that role, and before the notice
        that would name it. A refused file's own valid role is the admin's, and said so."""
        paths.ensure()
        problem = role_refused = None
        if settings is None:
            settings, problem, role_refused = Settings.read(paths.settings_file)
        try:
            access = Access(resolve_role(role, settings.access.role))
        except UsageError as exc:
            if role_refused is None or role is None:
                raise
            raise UsageError(
                f"the settings file {paths.settings_file} {role_refused}: the "
                f"{settings.access.role.value} role applies until it is fixed, so --role "
                f"{role.value} cannot be used"
            ) from exc
        if poller_settings is not None or http_policy is not None:  # tests, benchmarks
            settings = settings.model_copy(
                update={"poller": poller_settings or settings.poller,
                        "http": http_policy or settings.http}
            )  # fmt: skip
        db = Database(
            paths.db_path,
            batch_max_ops=settings.store.batch_max_ops,
            batch_max_delay_s=settings.store.batch_max_delay_s,
        )
        if capture is not None:
            secrets = NoSecrets()  # a capture names no keyring entry and uses none
        core = cls(
            paths, settings, db, secrets or SecretStore.from_environment(paths.data_dir),
            capture=capture, recorded_answers=recorded_answers,
            recorded_objects=recorded_objects, recorded_logs_traces=recorded_logs_traces,
            access=access,
        )  # fmt: skip
        if db.recovered is not None:
            core.notices.append(str(db.recovered))
        if problem is not None:
            core.notices.append(problem)
        core.notices.extend(ClusterRepository(db).damaged())  # skipped by every cluster list
        log.info("cache opened", extra={"path": str(paths.db_path), "schema": db.schema_version})
        return core

    # -- made on first use ------------------------------------------------------------------
    @cached_property
    def series(self) -> SeriesStore:
        from aiops_desktop.store.series import SeriesStore

        return SeriesStore(self.db, self.settings.store)

    @cached_property
    def alert_events(self) -> AlertEventRepository:
        from aiops_desktop.store.alert_events import AlertEventRepository

        return AlertEventRepository(self.db)

    @cached_property
    def live(self) -> LiveBuffers:
        from aiops_desktop.services.polling.live import LiveBuffers

        return LiveBuffers()

    @cached_property
    def catalog(self) -> list[Panel]:
        from aiops_desktop.services.polling.catalog import load_catalog

        return load_catalog()

    @cached_property
    def poller(self) -> Poller:
        from aiops_desktop.services.polling.poller import Poller

        return Poller(
            self.registry,
            self.pool,
            series=self.series,
            live=self.live,
            bus=self.bus,
            supervisor=self.supervisor,
            catalog=self.catalog,
            settings=self.settings.poller,
            alert_events=self.alert_events,
        )

    @cached_property
    def queries(self) -> MultiClusterQuery:
        from aiops_desktop.services.outputs.recorded import RecordedQueries
        from aiops_desktop.services.queries.multicluster import MultiClusterQuery

        if self.capture is not None and self._recorded_answers is not None:
            return RecordedQueries(self.pool, self._recorded_answers, ends=self.now())
        return MultiClusterQuery(self.pool)

    @cached_property
    def logs_traces(self) -> LogsTraces | RecordedLogsTraces:
        """Loki and Tempo; a capture answers from the lines and traces it kept."""
        if self.capture is not None:
            from aiops_desktop.services.outputs.recorded_logs import RecordedLogsTraces

            return RecordedLogsTraces(
                self._recorded_logs_traces,  # its clusters and the members of its hubs
                lambda: [n for c in self.registry.clusters() for n in (c.name, *c.status.members)],
                registered=self.registry.clusters,  # one with no Loki or Tempo: not recorded
            )
        from aiops_desktop.services.queries.logs_traces import LogsTraces

        return LogsTraces(self.registry, self.pool)

    @cached_property
    def console(self) -> QueryConsole:
        from aiops_desktop.services.queries.console import QueryConsole
        from aiops_desktop.store.queries import QueryRepository

        read_only = (
            "a capture is read-only: save queries in the app's own cache"
            if (self.capture is not None)
            else None
        )
        return QueryConsole(self.registry, self.queries, QueryRepository(self.db),
                            access=self.access, read_only=read_only)  # fmt: skip

    @cached_property
    def anomalies(self) -> AnomalyService:
        """Its live rounds at the sensitivity settings.json holds before each one
        (``preferences``, made at the first round where not before): the process running the
        cache's live detection may be the wall, which shows no Settings of its own. A
        capture's sensitivity is its own: no file followed."""
        from aiops_desktop.services.intelligence.anomalies import AnomalyService
        from aiops_desktop.store.anomalies import AnomalyRepository

        service = AnomalyService(
            AnomalyRepository(self.db), self.bus, live=self.live, series=self.series,
            catalog=self.catalog, clock=self.now, sensitivity=self.settings.detection.sensitivity,
            isolated=self._isolate_detection, recorded=self.capture is not None,
        )  # fmt: skip
        if self.capture is None:
            service.before_round = self._follow_sensitivity
        return service

    async def _follow_sensitivity(self) -> None:
        await self.preferences.follow_sensitivity()

    @cached_property
    def fleet(self) -> FleetState:
        """The one owner of the fleet's state (services/fleet/state.py)."""
        from aiops_desktop.services.fleet.state import FleetState

        return FleetState(
            self.registry, self.poller, self.queries, self.anomalies, self.bus,
            kube=self.kube, series=self.series, clock=self.now,
            recorded=self.capture is not None,
        )  # fmt: skip

    @cached_property
    def incidents(self) -> IncidentService:
        """Incidents grouped from the fleet's truth, alerts and anomalies."""
        from aiops_desktop.services.intelligence.incidents import IncidentService
        from aiops_desktop.store.incidents import IncidentRepository

        return IncidentService(
            IncidentRepository(self.db), self.fleet, self.anomalies, self.poller, self.bus,
            kube=self.kube, clock=self.now, access=self.access,
            recorded=self.capture is not None,  # a capture is read-only: no acknowledgement
        )  # fmt: skip

    @cached_property
    def rca(self) -> RcaService:
        from aiops_desktop.services.intelligence.rca import RcaService
        from aiops_desktop.services.intelligence.rca_logs_traces import LogsTracesAround
        from aiops_desktop.services.intelligence.rca_topology import RcaTopology

        topology = RcaTopology(self.queries, self.registry)
        around = LogsTracesAround(self.logs_traces, self.registry)
        return RcaService(self.series, self.catalog, clock=self.now, topology=topology,
                          logs_traces=around)  # fmt: skip

    @cached_property
    def discovery(self) -> DiscoveryService:
        from aiops_desktop.services.kube.discovery import DiscoveryService

        return DiscoveryService(self.registry, self.pool, self.bus)

    @cached_property
    def kube(self) -> KubeSession:
        from aiops_desktop.services.kube.session import KubeSession
        from aiops_desktop.services.outputs.recorded import recorded_objects

        kube = KubeSession(self.registry, self.pool, self.secrets, self.supervisor)
        if self.capture is not None:
            kube.recorded = recorded_objects(self._recorded_objects)
        return kube

    @cached_property
    def gpu_cnf(self) -> GpuCnfReaders:
        from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders

        return GpuCnfReaders(
            self.registry, self.queries, self.kube, self.series, clock=self.now,
            recorded=self.capture is not None,
        )  # fmt: skip

    async def maintain(self) -> None:
        """Keep the cache bounded for as long as the app (or the wall) runs: health history,
        samples and rollups, alert firings, anomalies and resolved incidents past their
        retention, chats past those the list shows (``maintenance_loop``)."""
        from aiops_desktop.services.runtime.maintenance import maintenance_loop
        from aiops_desktop.store.anomalies import AnomalyRepository
        from aiops_desktop.store.chats import ChatRepository
        from aiops_desktop.store.incidents import IncidentRepository

        await maintenance_loop(
            self.registry, self.series, self.alert_events,
            anomalies=AnomalyRepository(self.db), incidents=IncidentRepository(self.db),
            chats=ChatRepository(self.db),
        )  # fmt: skip

    @cached_property
    def wall(self) -> WallService:
        from aiops_desktop.services.outputs.wall import WallService

        return WallService(
            self.registry, self.poller, self.live, self.fleet, self.now, self.capture,
            incidents=self.incidents, bus=self.bus,
        )  # fmt: skip

    @cached_property
    def reports(self) -> ReportService:
        from aiops_desktop.services.outputs.reports import ReportService

        return ReportService(
            registry=self.registry,
            series=self.series,
            settings=self.settings,
            catalog=self.catalog,
            capture=self.capture,
            queries=self.queries,
            kube=self.kube,
            anomalies=self.anomalies,
            alert_events=self.alert_events,
            poller=self.poller,
            clock=self.now,
            folder=self.paths.reports_dir,
            fleet=self.fleet,
            incidents=self.incidents,
            rca=self.rca,
            access=self.access,
        )

    @cached_property
    def preferences(self) -> SettingsService:
        from aiops_desktop.services.runtime.settings import SettingsService

        return SettingsService(
            self.settings, self.paths.settings_file, self.bus, self.anomalies,
            persist=self.capture is None, access=self.access,
        )  # fmt: skip

    @cached_property
    def llm(self) -> LlmService:
        """The person's model server (optional): endpoint and model in settings, key in the
        keyring. A capture has no keyring: its Core has no model unless told one."""
        from aiops_desktop.services.assistant.llm import LlmService

        return LlmService(self.preferences, self.secrets, self.bus)

    @cached_property
    def tools(self) -> ToolBox:
        """The app's read-only tools, for the chat and the MCP server alike."""
        from aiops_desktop.services.assistant.toolbox import ToolBox
        from aiops_desktop.services.assistant.tools import all_tools

        return ToolBox(self, all_tools())

    @cached_property
    def chat(self) -> ChatService:
        from aiops_desktop.services.assistant.chat import ChatService
        from aiops_desktop.store.chats import ChatRepository

        return ChatService(
            self.tools, ChatRepository(self.db), self.llm.client, clock=self.now,
            access=self.access,
        )  # fmt: skip

    def assemble(self) -> Core:
        """Make every service now (the window and the wall: in the worker thread that opened
        the cache, so their imports and file reads never land on the UI thread). Anomaly
        detection then runs in a process of its own (services/intelligence/detect_worker.py)."""
        self._isolate_detection = True
        for name in SERVICES:
            getattr(self, name)
        return self

    def _made(self, name: str) -> Any:
        """A service already made, or None (shutdown makes none)."""
        return self.__dict__.get(name)

    # -- a cluster removed ------------------------------------------------------------------
    def _data_names(self, cluster: Cluster) -> list[str]:
        """The names a removed cluster's data went by: its own, and a fleet hub's members
        that are neither registered clusters nor members of a hub still registered (those
        are still fed, and still someone's)."""
        others = [c for c in self.registry.clusters() if c.id != cluster.id]
        kept = {c.name for c in others}
        # every row's name too: a damaged one is in no list, but still registered (left for
        # repair), and its data is its own
        kept.update(ClusterRepository(self.db).names() - {cluster.name})
        kept.update(m for c in others if c.kind is ClusterKind.FLEET for m in c.status.members)
        members = cluster.status.members if cluster.kind is ClusterKind.FLEET else []
        return sorted({cluster.name} | {m for m in members if m not in kept})

    def _on_cluster_removed(self, cluster: Cluster) -> None:
        """What the app keeps by a removed cluster's name goes with it, so a cluster added
        later under that name inherits none of it (its charts, reports and RCA): its polls
        and their statuses, its live buffers and clients now, its stored series, anomalies
        and alert history through the writer thread (nothing waits here). A capture is
        read-only: nothing of it is deleted."""
        if self.capture is not None:
            return
        names = self._data_names(cluster)
        if (poller := self._made("poller")) is not None:
            poller.forget(cluster, names)
        if (live := self._made("live")) is not None:
            for name in names:
                live.drop_cluster(name)
        try:
            self.supervisor.spawn(self.pool.forget(cluster.id), name=f"forget-{cluster.name}")
            if (anomalies := self._made("anomalies")) is not None:
                self.supervisor.spawn(anomalies.forget_clusters(names),
                                      name=f"forget-detectors-{cluster.name}")  # fmt: skip
        except RuntimeError:  # shutting down (or no loop): closing the pool closes them all
            log.debug("clients and detectors of a removed cluster left to the shutdown")
        from aiops_desktop.store.anomalies import AnomalyRepository

        writes: list[Future[int]] = [
            self.series.forget_clusters(names),
            AnomalyRepository(self.db).forget_clusters(names),
            self.alert_events.forget_clusters(names),
        ]
        for write in writes:
            write.add_done_callback(_log_failed_forget)
        log.info("removed cluster's data to be deleted", extra={"cluster": cluster.name,
                                                          "names": len(names)})  # fmt: skip

    # -- the end ----------------------------------------------------------------------------
    async def shutdown(self) -> None:
        if (poller := self._made("poller")) is not None:
            poller.stop()
        if (kube := self._made("kube")) is not None:
            kube.unfollow()
        await self.supervisor.shutdown()
        if (anomalies := self._made("anomalies")) is not None:
            await anomalies.forget_live()  # a worker thread's detectors outlive the service
        await self.pool.aclose()
        self.close()

    def close(self) -> None:
        for name in ("discovery", "anomalies"):
            if (service := self._made(name)) is not None:
                service.close()
        self.db.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _log_failed_forget(write: Future[int]) -> None:
    if not write.cancelled() and (exc := write.exception()) is not None:
        log.error("a removed cluster's data could not be deleted: %s", exc)
