"""The one owner of the fleet's state: every registered cluster and every member of every fleet
hub, with its state, health score, data age and findings.

``snapshot()`` judges what is known now (cheap: the registry, the poller's sources and alerts,
and the findings of the last ``refresh``); ``refresh()`` reads GPU health, the PTP board and
kube-state-metrics (NotReady nodes, crash-looping pods) over every cluster's Prometheus (a
capture's recorded answers offline) and the last hour's anomalies, then publishes the new
truth on the bus (``FLEET_CHANGED``). The Fleet page, the sidebar, the wall and ``fleet`` read
it; nothing else derives state.

The rule (README, "One fleet truth"):
- no source configured: NOT CONFIGURED; every configured source unreachable: OFFLINE (one
  that answered but refused the credential, 401 or 403, is stale: "credentials refused");
- else a CRITICAL finding: CRITICAL; a source unreachable or stale: STALE; a WARNING finding:
  DEGRADED; a source with no data yet: NO DATA; else OK.
- health score: 100 - 25 per CRITICAL finding - 10 per WARNING - 2 per INFO (9 at most in
  all: an OK cluster scores above any DEGRADED one, whose one WARNING costs 10) - 15 per
  unreachable or stale source, at least 0; none while NO DATA or NOT CONFIGURED; 0 OFFLINE.
- the findings read over a cluster's Prometheus (for a hub, its members') are a source too:
  a failed read makes it unreachable and keeps what was found before, marked stale (never
  dropped: an unread CRITICAL is not OK, nor news when read again); a cluster whose metrics
  poll fails now is not asked (its poll's reason said; read again once its poll answers);
  its own last read ended more than three refreshes ago makes it stale. A hub member its
  hub's answers no longer have is stale from when they last did (listed still, not gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from aiops_desktop.logs import redact
from aiops_desktop.models import Cluster, ClusterKind, ClusterState, EndpointKind, utcnow
from aiops_desktop.models.fleet import (
    HEALTH_RANK,
    SEVERITY_RANK,
    ClusterTruth,
    Coverage,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, lost_reads
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.services.fleet.findings import (
    GpusGone,
    PerCluster,
    PortsGone,
    Unread,
    alert_findings,
    anomaly_findings,
    distinct,
    gpu_findings,
    kept_stale,
    kube_findings,
    note_unread,
    ptp_findings,
    sriov_findings,
)
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.polling.poller import POLL_STATUS_CHANGED
from aiops_desktop.services.queries.multicluster import ANSWERED
from aiops_desktop.services.runtime.gathering import gather_all
from collectors.errors import says_refused

if TYPE_CHECKING:
    from aiops_desktop.models.gpu import GpuFleet
    from aiops_desktop.models.ptp import PtpBoard, Threshold
    from aiops_desktop.services.clusters.registry import ClusterRegistry
    from aiops_desktop.services.gpu_cnf.gpu_fallback import ExecReader
    from aiops_desktop.services.gpu_cnf.ptp import Thresholds
    from aiops_desktop.services.intelligence.anomalies import AnomalyService
    from aiops_desktop.services.kube.session import KubeSession
    from aiops_desktop.services.polling.poller import Poller
    from aiops_desktop.services.queries.multicluster import MultiClusterQuery
    from aiops_desktop.services.runtime.bus import EventBus
    from aiops_desktop.store.series import SeriesStore

log = logging.getLogger("aiops.services.fleet")

FLEET_CHANGED = "fleet.changed"  # payload: FleetTruth
REFRESH_EVERY_S = 60.0  # a 200-cluster fleet's GPU and PTP reads: about a second of CPU
ANOMALIES_WITHIN = timedelta(hours=1)
PTP_WINDOW = timedelta(minutes=10)  # the board's state and offset now (compliance: the PTP page)
#: findings not refreshed for this long are stale (three missed refreshes, as a poll's source)
FINDINGS_STALE_AFTER = timedelta(seconds=3 * REFRESH_EVERY_S)
PENALTY = {FindingSeverity.CRITICAL: 25, FindingSeverity.WARNING: 10, FindingSeverity.INFO: 2}
#: what every INFO finding together costs at most: drift alone makes LOW anomalies by the
#: hundred, and 50 of them scored an OK cluster 0, below a DEGRADED one's 90
INFO_PENALTY_CAP = PENALTY[FindingSeverity.WARNING] - 1
SOURCE_PENALTY = 15
#: why a Kubernetes API that answered the SR-IOV node states 403 has no SR-IOV findings
SRIOV_FORBIDDEN = "SR-IOV not readable (403)"
DOMAIN_ORDER = {d: i for i, d in enumerate(Domain)}
_READ = (Coverage.READ, Coverage.RECORDED)
#: what the findings read over a cluster's Prometheus can be said to be, least lost first
_FINDINGS_WORST = (Coverage.NO_DATA, Coverage.STALE, Coverage.UNREACHABLE)
_SOURCES = {"metrics": (EndpointKind.PROMETHEUS, Source.METRICS),
            "alerts": (EndpointKind.ALERTMANAGER, Source.ALERTS)}  # fmt: skip
#: the Prometheus domains a findings refresh reads (a cluster left out of it reads none)
_READ_OVER_PROMETHEUS = (Domain.GPU, Domain.PTP, Domain.KUBERNETES)
#: how a source that answered but refused the credential is said (STALE, not UNREACHABLE)
REFUSED = "credentials refused: "
#: a left-out cluster whose poll answers again is read again at once, but no sooner than
#: this after the last refresh (a site coming back answers cluster by cluster)
READ_AGAIN_AFTER_S = 10.0


@dataclass(frozen=True)
class Readings:
    """What a refresh's findings were read from: ``GpusGone`` and ``PortsGone`` compare them
    with the last read's."""

    gpus: GpuFleet
    board: PtpBoard


def refused(why: str | None) -> bool:
    """Whether a source's failure is its credential or access refused (401, 403): it
    answered (the health check says it reachable), so it is STALE, never UNREACHABLE (a
    rotated token read OFFLINE, score 0, sorted with the sites that are gone). Told by the
    words every backend says it in (a poll's status keeps its failure's words only)."""
    return says_refused(why)


def said_lost(why: str) -> str:
    """Why a source was not read, a refusal said as one ("credentials refused: ...")."""
    return f"{REFUSED}{why}" if refused(why) and not why.startswith(REFUSED) else why


def judge(  # noqa: PLR0911 (the rule, one rung per state)
    coverage: dict[str, Coverage], findings: list[Finding]
) -> tuple[Health, int | None]:
    """The state and health score from what is known of the sources and what was found."""
    configured = [c for c in coverage.values() if c is not Coverage.NOT_CONFIGURED]
    worst = {f.severity for f in findings}
    lost = sum(1 for c in configured if c in (Coverage.UNREACHABLE, Coverage.STALE))
    info = sum(PENALTY[f.severity] for f in findings if f.severity is FindingSeverity.INFO)
    worse = sum(PENALTY[f.severity] for f in findings if f.severity is not FindingSeverity.INFO)
    score = max(0, 100 - worse - min(info, INFO_PENALTY_CAP) - SOURCE_PENALTY * lost)
    if not configured:
        return Health.NOT_CONFIGURED, None
    if all(c is Coverage.UNREACHABLE for c in configured):
        return Health.OFFLINE, 0
    if FindingSeverity.CRITICAL in worst:
        return Health.CRITICAL, score
    if lost:
        return Health.STALE, score
    if FindingSeverity.WARNING in worst:
        return Health.DEGRADED, score
    if any(c is Coverage.NO_DATA for c in configured):
        return Health.NO_DATA, None
    return Health.OK, score


async def read_metric_findings(
    queries: MultiClusterQuery,
    clusters: list[Cluster],
    now: datetime,
    *,
    kube: ExecReader | None = None,
    recorded: bool = False,
    thresholds: Callable[[], Awaitable[Thresholds]] | None = None,
) -> tuple[PerCluster, Unread, Readings | None]:
    """GPU health, the PTP board and kube-state-metrics over every cluster's Prometheus at
    once, as findings (a capture's export runs it too, so the capture holds its answers); the
    clusters whose queries failed, per domain: none found there is not "none there"; and the
    GPUs and PTP board read (None: no cluster to read).
    The GPUs are read as the GPU page reads them (``read_gpus``: DCGM, else nvidia-smi in the
    driver pods through ``kube``; a cluster known to have GPUs that neither can read is GPU
    "not read", never OK); ``recorded``: a capture's answers, no exec (a query it did not
    record is not counted, as its objects are not; one that failed at export is: its cluster
    was not read); ``thresholds``: the nodes' PtpConfig profile bands (as the PTP page judges
    them; the default band without), read while the GPUs and kube-state-metrics are."""
    from aiops_desktop.services.gpu_cnf.gpu_fallback import read_gpus
    from aiops_desktop.services.gpu_cnf.ptp import read_ptp_board

    found: PerCluster = {}
    unread: Unread = {}
    if not clusters:
        return found, unread, None
    kube_ql = field_queries("kube")

    async def ptp_board() -> PtpBoard:
        profiles = None if thresholds is None else await thresholds()
        return await read_ptp_board(
            queries, clusters, window=PTP_WINDOW, step=timedelta(seconds=30),
            thresholds=profiles, end=now,
        )  # fmt: skip

    gpus, board, not_ready, looping = await gather_all(
        read_gpus(queries, clusters, kube, at=now, recorded=recorded),
        ptp_board(),
        queries.run(MetricQuery(promql=kube_ql["not_ready"], end=now), clusters),
        queries.run(MetricQuery(promql=kube_ql["crash_looping"], end=now), clusters),
    )
    parts = (gpu_findings(gpus), ptp_findings(board),
             kube_findings(not_ready.series, looping.series))  # fmt: skip
    for part in parts:
        for name, items in part.items():
            found.setdefault(name, []).extend(items)
    found = {name: distinct(items) for name, items in found.items()}  # a cluster read twice

    def counted(outcomes: list[ClusterOutcome]) -> list[ClusterOutcome]:
        return lost_reads(outcomes, recorded=recorded)

    note_unread(unread, Domain.GPU, counted(gpus.outcomes))
    note_unread(unread, Domain.PTP, counted(board.outcomes))
    note_unread(unread, Domain.KUBERNETES, counted([*not_ready.failures, *looping.failures]))
    return found, unread, Readings(gpus, board)


def unread_sources(
    polled: Iterable[SourceStatus], clusters: Iterable[ClusterTruth]
) -> tuple[list[str], int]:
    """The sources that could not be read, each as "cluster/source: why" (a poll's sources,
    then the Kubernetes APIs), and how many sources there were: what the CLI says on stderr
    and the assistant's tools return, so that "nothing found" is not read as "all clear"."""
    clusters = list(clusters)
    polled, apis = list(polled), [t for t in clusters if "kubernetes" in t.coverage]
    # the findings are read over each registered cluster's Prometheus (a hub's for its members)
    no = Coverage.NOT_CONFIGURED
    readers = [t for t in clusters if t.hub is None and t.coverage.get("metrics", no) is not no]
    out = [f"{s.cluster}/{s.source}: {s.last_error or 'not read'}"
           for s in polled if s.consecutive_errors]  # fmt: skip
    out += [f"{t.name}/kubernetes: {t.unread.get('kubernetes') or t.last_error or 'not read'}"
            for t in apis if t.coverage["kubernetes"] is Coverage.UNREACHABLE]  # fmt: skip
    out += [f"{t.name}/findings: {t.unread.get('findings') or 'not read'}"
            for t in readers if t.coverage.get("findings") is Coverage.UNREACHABLE
            or "findings" in t.unread]  # fmt: skip
    return out, len(polled) + len(apis) + len(readers)


def _worst_first(t: ClusterTruth) -> tuple[int, int, int, str]:
    """The fleet's order: by state, then the lower health score, then more findings."""
    score = 101 if t.health_score is None else t.health_score
    return HEALTH_RANK[t.state], score, -len(t.findings), t.name


def _unread_said(per: Mapping[Domain, str], left_out: str | None) -> str:
    """Why a cluster's findings were not read: its poll's failure when it was left out, a
    refused credential as one, else each domain's reason."""
    if left_out is not None:
        said = said_lost(left_out)
        return said if said != left_out else f"not read while its metrics poll fails: {said}"
    if per and all(refused(why) for why in per.values()):
        return said_lost(next(iter(per.values())))
    return "; ".join(f"{d.value}: {why}" for d, why in per.items())


def worst_first(findings: list[Finding]) -> list[Finding]:
    return sorted(
        findings, key=lambda f: (SEVERITY_RANK[f.severity], DOMAIN_ORDER[f.domain], f.subject)
    )


class FleetState:
    def __init__(
        self,
        registry: ClusterRegistry,
        poller: Poller,
        queries: MultiClusterQuery,
        anomalies: AnomalyService,
        bus: EventBus,
        *,
        kube: KubeSession | None = None,
        series: SeriesStore | None = None,
        clock: Callable[[], datetime] = utcnow,
        recorded: bool = False,
    ) -> None:
        """``recorded``: a capture: its sources are its recorded answers, not live polls;
        ``kube``: where SR-IOV node sync is read (none: not read); ``series``: the cache,
        whose stored cluster names name a hub's members before any poll has."""
        self._registry = registry
        self._poller = poller
        self._queries = queries
        self._anomalies = anomalies
        self._kube = kube
        self._series = series
        self._stored: list[str] = []  # cluster names the cache holds series of
        self._bus = bus
        self._clock = clock
        self._recorded = recorded
        self._found: PerCluster = {}  # the last refresh's GPU, PTP, SR-IOV, anomaly findings
        self._unread: dict[str, str] = {}  # the last refresh's failed findings reads: why
        self._refused: set[str] = set()  # of those, the ones refused their credential
        #: the clusters the last refresh left out, their metrics poll failing: why
        self._left_out: dict[str, str] = {}
        #: each cluster's last good findings read, when it ended (its last answer)
        self._read_at: dict[str, datetime] = {}
        #: the id each name had when the last refresh read it (a cluster removed and added
        #: again under its name between two refreshes is another cluster: not read yet)
        self._read_ids: dict[str, UUID] = {}
        self._kube_read: dict[str, Coverage] = {}  # the last refresh's Kubernetes APIs
        self._kube_errors: dict[str, str] = {}
        self._kube_at: dict[str, datetime] = {}  # each cluster's last good Kubernetes read
        self._refreshed_at: datetime | None = None
        self._gpus_gone = GpusGone()  # the GPUs not OK at the last read, to say one gone
        self._ports_gone = PortsGone()  # the PTP ports not OK at the last read, likewise
        #: each cluster's ptp4l ports' offset bands, (node, iface) -> band, as last read
        self._ptp_bands: dict[str, dict[tuple[str, str], Threshold]] = {}
        self.last: FleetTruth | None = None

    @property
    def refreshed_at(self) -> datetime | None:
        """When the findings were last refreshed (None: not yet): what they are as of."""
        return self._refreshed_at

    # -- reading -------------------------------------------------------------------------------
    async def refresh(self) -> FleetTruth:
        """Read what the findings come from (every cluster's Prometheus at once), judge, and
        publish the new truth."""
        registered = self._registry.clusters()
        clusters = [c for c in registered if c.endpoint(EndpointKind.PROMETHEUS)]
        now = self._clock()
        # a cluster whose metrics poll fails now is not asked: each such Prometheus (a site
        # dark) held a slot of every query for its whole limit, and the minute's refresh
        # took three; it is read again as soon as its poll answers (``run``)
        self._left_out = left_out = self._polls_failing(clusters)
        reading = [c for c in clusters if c.name not in left_out]
        answered: dict[str, datetime] = {}  # each cluster's last answer, when it came

        def note(cluster: str) -> None:
            answered[cluster] = self._clock()

        told = ANSWERED.set(note)
        try:
            (found, unread, read), (sriov, kube_read, kube_errors) = await gather_all(
                read_metric_findings(
                    self._queries,
                    reading,
                    now,
                    kube=self._kube,
                    recorded=self._recorded,
                    thresholds=self._ptp_thresholds,
                ),
                self._read_sriov(),
            )
        finally:
            ANSWERED.reset(told)
        done = self._clock()
        self._kube_read, self._kube_errors = kube_read, kube_errors
        for name, why in left_out.items():  # not read: what it had is kept, marked stale
            unread[name] = dict.fromkeys(_READ_OVER_PROMETHEUS, why)
        if read is not None:
            self._add_gone(found, read, unread, now)
            self._note_ptp_bands(read.board, unread)
        for name, items in sriov.items():
            found.setdefault(name, []).extend(items)
        recent = await self._anomalies.current(ANOMALIES_WITHIN)
        for name, items in anomaly_findings(recent).items():
            found.setdefault(name, []).extend(items)
        if self._series is not None:
            self._stored = await asyncio.to_thread(self._series.cluster_names)
        self._found = self._keep_unread(found, unread)
        self._unread = {name: _unread_said(per, left_out.get(name))
                        for name, per in unread.items()}  # fmt: skip
        # a findings read refused (401, 403) answered: STALE, not UNREACHABLE
        self._refused = {name for name, per in unread.items()
                         if all(refused(why) for why in per.values())}  # fmt: skip
        # only the clusters registered now: one removed and added again under its name was
        # "read" before any refresh had read it, and showed OK over a GPU at 95 C
        named = {c.name for c in self._registry.clusters()}
        self._read_at = {n: t for n, t in self._read_at.items() if n in named}
        # each cluster's findings are as old as its own read, ended with its last answer (as
        # of the refresh's start, a dark cluster's wait made every healthy one STALE)
        self._read_at.update(
            (c.name, answered.get(c.name, done)) for c in reading if c.name not in unread
        )
        self._read_ids = {c.name: c.id for c in registered}  # what was read is theirs
        self._kube_at = {n: t for n, t in self._kube_at.items() if n in named}
        self._kube_at.update((n, now) for n, c in self._kube_read.items() if c in _READ)
        self._refreshed_at = now
        truth = self.snapshot()
        self._bus.publish(FLEET_CHANGED, truth)
        return truth

    def _polls_failing(self, clusters: Iterable[Cluster]) -> dict[str, str]:
        """The clusters with no connection now, each with why their metrics poll fails: left
        out of the findings read (not a capture's: its answers are recorded, none waits). No
        connection: the poll got no answer (a connect timeout, none in the poll's limit: the
        poller's ``unanswered``), or the cluster's health check reached no endpoint at all. A
        poll failing otherwise (a dashboard panel refused as too heavy, HTTP 422) is no
        outage: its Prometheus answers the light findings queries, read as ever (left out, a
        node gone NotReady meanwhile was never found)."""
        if self._recorded:
            return {}
        out = {}
        for cluster in clusters:
            status = self._poller.status.get((cluster.name, Source.METRICS))
            if status is None or not status.consecutive_errors:
                continue
            if self._poller.unanswered(cluster.name, Source.METRICS) or self._unreachable(cluster):
                out[cluster.name] = status.last_error or "its metrics poll fails"
        return out

    def _unreachable(self, cluster: Cluster) -> bool:
        """Whether the cluster's health check fails now, having reached none of its endpoints
        (OFFLINE: none answered, not even with a refusal)."""
        health = self._poller.status.get((cluster.name, Source.HEALTH))
        failing = health is not None and bool(health.consecutive_errors)
        return failing and cluster.status.state is ClusterState.OFFLINE

    def _add_gone(self, found: PerCluster, read: Readings, unread: Unread, now: datetime) -> None:
        """A finding in ``found`` for each GPU or PTP port that was not OK and is no longer
        reported (``GpusGone``, ``PortsGone``); none where its domain's read failed (the
        failure path says that)."""
        lost = self._lost(unread)
        registered = self._registry.clusters()
        names = {c.name for c in registered}
        # what is kept of a cluster neither registered, a hub's member nor reporting is dropped
        reporting = {h.reading.cluster for h in read.gpus.gpus}.union(
            r.cluster for r in read.board.rows
        )
        served = names.union(reporting, *(self._members(c, names) for c in registered))

        def not_read(domain: Domain) -> set[str]:
            return {name for name, domains in lost.items() if domain in domains}

        gpus = self._gpus_gone.findings(read.gpus, not_read(Domain.GPU), served, now)
        ports = self._ports_gone.findings(read.board, not_read(Domain.PTP), served, now)
        for part in (gpus, ports):
            for name, items in part.items():
                found.setdefault(name, []).extend(items)

    def _note_ptp_bands(self, board: PtpBoard, unread: Unread) -> None:
        """Each ptp4l port's offset band as ``board`` judged it (its PtpConfig profile's, else
        the default); a cluster whose PTP read failed keeps its last (a failed read is no
        change of profile)."""
        lost = {name for name, domains in self._lost(unread).items() if Domain.PTP in domains}
        bands = {name: ports for name, ports in self._ptp_bands.items() if name in lost}
        for row in board.rows:
            if row.process == "ptp4l":
                bands.setdefault(row.cluster, {})[row.node, row.iface] = row.threshold
        self._ptp_bands = bands

    def ptp_bands(self, cluster: str) -> Mapping[tuple[str, str], Threshold]:
        """``cluster``'s ptp4l ports' offset bands, (node, iface) -> band, as the last refresh
        read them with the PtpConfig profiles (empty before one has): what the wall judges a
        live offset by, synchronously, as the truth judged it at that refresh."""
        return self._ptp_bands.get(cluster, {})

    def _lost(self, unread: Unread) -> dict[str, set[Domain]]:
        """The domains not read this time of each cluster (a hub's, each of its members')."""
        lost: dict[str, set[Domain]] = {}
        by_name = {c.name: c for c in self._registry.clusters()}
        for name, per in unread.items():
            cluster = by_name.get(name)
            served = [name] if cluster is None else [name, *self._members(cluster, by_name)]
            for member in served:
                lost.setdefault(member, set()).update(per)
        return lost

    def _keep_unread(self, found: PerCluster, unread: Unread) -> PerCluster:
        """``found``, with the last known findings of what could not be read this time (a
        cluster's failed domains, for a hub each of its members; the SR-IOV of a Kubernetes
        API unreachable or refusing its list) kept, marked stale, rather than dropped."""
        lost = self._lost(unread)
        for name in self._kube_errors:  # its API unreachable, or it refused the list
            lost.setdefault(name, set()).add(Domain.SRIOV)
        by_name = {c.name: c for c in self._registry.clusters()}
        for name, domains in lost.items():
            last = self._last_found(name, by_name.get(name))
            if kept := kept_stale(last, found.get(name, []), domains):
                found[name] = kept
        return found

    def _last_found(self, name: str, cluster: Cluster | None) -> list[Finding]:
        """The last refresh's findings of ``name``: a hub member's, or the registered
        ``cluster``'s when that refresh read it (one removed and added again under its name
        since is another cluster, not read yet: it showed the old one's NotReady nodes)."""
        if cluster is not None and not self._read_as(cluster):
            return []
        return self._found.get(name, [])

    def _read_as(self, cluster: Cluster) -> bool:
        """Whether what the last refresh read by ``cluster``'s name was read of it, not of one
        removed since whose name it was given again."""
        return self._read_ids.get(cluster.name, cluster.id) == cluster.id

    def _members(self, hub: Cluster, registered: Iterable[str]) -> list[str]:
        """A fleet hub's members (none for a cluster): those the registry names or its polls
        were seen serving; for a hub that has named none, the names its data has gone by
        (findings, alerts, the cache) that are neither registered nor another hub's (one
        that never answered took every other hub's members, and showed them OFFLINE)."""
        if hub.kind is not ClusterKind.FLEET:
            return []
        registered = set(registered)
        marks = self._poller.member_seen
        own = [n for n in marks.get(hub.name, {}) if n not in registered]
        others = {n for name, seen in marks.items() if name != hub.name for n in seen}
        unnamed: list[str] = []
        if not own:  # made only then: a member's dashboard asks for its hub on every tick
            known = {*self._found, *self._poller.alerts, *self._stored}
            unnamed = sorted(known.difference(registered, others))
        named = self._registry.members(hub, unnamed)
        listed = set(named)  # looked up per member: a list scanned was quadratic
        return [*named, *(n for n in own if n not in listed)]

    async def current(self) -> FleetTruth:
        """The truth as of the last refresh when that is recent (the window and the wall
        refresh every minute), else read now."""
        if self._refreshed_at is not None and self._clock() - self._refreshed_at < timedelta(
            seconds=REFRESH_EVERY_S * 1.5
        ):
            return self.snapshot()
        return await self.refresh()

    async def _ptp_thresholds(self) -> Thresholds:
        """The nodes' PtpConfig profile bands, read as the PTP page reads them (kept a while:
        they change rarely); a cluster whose profiles cannot be read, or all of them, keep
        the default band (the PTP page says which; here it is logged)."""
        from aiops_desktop.models.errors import AppError
        from aiops_desktop.services.gpu_cnf.readers import PROFILES_MAX_AGE_S

        if self._kube is None:
            return {}
        try:
            profiles, unread = await self._kube.ptp_thresholds(max_age_s=PROFILES_MAX_AGE_S)
        except AppError as exc:
            profiles, unread = {}, [redact(str(exc))]
        if unread:
            log.debug("PTP offsets judged against the default band: %s", "; ".join(unread))
        return profiles

    async def _read_sriov(self) -> tuple[PerCluster, dict[str, Coverage], dict[str, str]]:
        """SriovNetworkNodeState of every cluster with a Kubernetes API, all at once; an API that
        cannot be read is its cluster's Kubernetes source, unreachable (a capture that did not
        record it: not counted); one that refuses the list (403) answered: SR-IOV is said not
        readable there, its last findings kept stale (``_keep_unread``)."""
        from aiops_desktop.models.errors import AppError
        from aiops_desktop.services.gpu_cnf.sriov import node_sync_rows
        from aiops_desktop.services.kube.session import SRIOV_STATES
        from aiops_desktop.services.outputs.recorded import FailedAtExport
        from collectors.errors import KubeForbidden

        if self._kube is None:
            return {}, {}, {}
        found: PerCluster = {}
        read: dict[str, Coverage] = {}
        errors: dict[str, str] = {}
        for name, answer in (await self._kube.objects_of_each(SRIOV_STATES)).items():
            if isinstance(answer, KubeForbidden):
                # the API answered: a least-privilege token may not list them (none is
                # installed, as like as not); SR-IOV is not read, the API is not unreachable
                read[name] = Coverage.RECORDED if self._recorded else Coverage.READ
                errors[name] = SRIOV_FORBIDDEN
                continue
            if isinstance(answer, AppError):
                # a capture's list not recorded is not counted; one its export could not
                # read is unreachable, as it was live (it opened NOT CONFIGURED)
                if not self._recorded or isinstance(answer, FailedAtExport):
                    read[name], errors[name] = Coverage.UNREACHABLE, redact(str(answer))
                continue
            try:
                rows = node_sync_rows(answer)
            except AppError as exc:  # objects not in Kubernetes format: said, not trusted
                read[name], errors[name] = Coverage.UNREACHABLE, redact(str(exc))
                continue
            read[name] = Coverage.RECORDED if self._recorded else Coverage.READ
            found.update(sriov_findings(name, rows))
        return found, read, errors

    async def run(
        self, every_s: float = REFRESH_EVERY_S, *, soonest_s: float = READ_AGAIN_AFTER_S
    ) -> None:
        """The supervisor's task in the window and the wall: refresh, again and again; at
        once (``soonest_s`` after the last refresh at the earliest) when a cluster the last
        one left out, its metrics poll failing, is polled again and answers."""
        loop = asyncio.get_running_loop()
        back = asyncio.Event()

        def polled(status: SourceStatus) -> None:
            if (status.source == Source.METRICS and status.answered
                    and status.cluster in self._left_out):  # fmt: skip
                back.set()

        unsubscribe = self._bus.subscribe(POLL_STATUS_CHANGED, polled)
        try:
            while True:
                back.clear()
                try:
                    await self.refresh()
                except Exception:  # a reader's failure is its sources' coverage, said elsewhere
                    log.exception("the fleet's findings could not be read")
                ended = loop.time()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(every_s):
                        await back.wait()
                        await asyncio.sleep(max(0.0, ended + soonest_s - loop.time()))
        finally:
            unsubscribe()

    # -- judging -------------------------------------------------------------------------------
    def snapshot(self) -> FleetTruth:
        now = self._clock()
        registered = self._registry.clusters()
        names = {c.name for c in registered}
        out = [self._judge(c.name, c.title, c, None, now)
               for c in sorted(registered, key=lambda c: c.name)]  # fmt: skip
        for member, hubs in self._hubs_by_member(registered, names).items():
            hub = self._best_hub(hubs, member, now)
            out.append(self._judge(member, member, hub, hub.name, now, hubs=hubs))
        out.sort(key=_worst_first)
        self.last = FleetTruth(at=now, clusters=out)
        return self.last

    def serving_hub(self, member: str) -> Cluster | None:
        """The fleet hub serving ``member`` now, as ``snapshot`` judges it (None: a registered
        cluster, or a name no hub serves). In memory and cheap: a member's dashboard asks on
        every tick (the truth published every refresh kept a hub that went down for up to a
        minute, STALE with its error over charts the other hub fed)."""
        registered = self._registry.clusters()
        hubs = self._hubs_by_member(registered, {c.name for c in registered}).get(member)
        return self._best_hub(hubs, member, self._clock()) if hubs else None

    def _hubs_by_member(
        self, registered: list[Cluster], names: set[str]
    ) -> dict[str, list[Cluster]]:
        """Each hub member not registered itself, and the hubs that list it, by name."""
        serving: dict[str, list[Cluster]] = {}
        for cluster in sorted(registered, key=lambda c: c.name):
            for member in self._members(cluster, names):
                if member not in names:
                    serving.setdefault(member, []).append(cluster)
        return serving

    def _best_hub(self, hubs: list[Cluster], member: str, now: datetime) -> Cluster:
        """Of the hubs (by name) serving ``member``, the one it is judged from: a member of two
        hubs is listed once, from the one serving it now (the first by name of those): the
        first hub being down made it OFFLINE while the other read it; OFFLINE only when every
        hub serving it is unreachable."""
        return min(hubs, key=lambda h: self._serving(h, member, now))

    def _serving(self, hub: Cluster, member: str, now: datetime) -> int:
        """How well ``hub`` serves ``member`` now, best first: its metrics read and its last
        poll had the member's series (or the member is not polled yet in this run); read
        without them; some source of the hub reachable; none."""
        status = self._poller.status.get((hub.name, Source.METRICS))
        if self._coverage(hub, EndpointKind.PROMETHEUS, status, now) in _READ:
            _, stale, _ = self._member_freshness(hub.name, member, now)
            return 1 if stale else 0
        configured = [
            self._coverage(hub, kind, self._poller.status.get((hub.name, polled)), now)
            for kind, polled in _SOURCES.values()
            if hub.endpoint(kind)
        ]
        return 3 if all(c is Coverage.UNREACHABLE for c in configured) else 2

    def _judge(
        self, name: str, title: str, source: Cluster, hub: str | None, now: datetime, *,
        hubs: Iterable[Cluster] = (),
    ) -> ClusterTruth:  # fmt: skip
        """``source``: the cluster whose endpoints serve ``name``'s data (itself, or its hub);
        ``hubs``: every hub serving a member, whose findings are read over each of them."""
        coverage: dict[str, Coverage] = {}
        unread: dict[str, str] = {}  # source -> why it was not read
        read_at: dict[str, datetime | None] = {}  # source -> when it was last read
        for key, (kind, polled) in _SOURCES.items():
            status = self._poller.status.get((source.name, polled))
            coverage[key] = self._coverage(source, kind, status, now)
            read_at[key] = status.last_success if status is not None else None
            if status is not None and status.consecutive_errors and status.last_error:
                unread[key] = said_lost(status.last_error)
        # a Kubernetes API not in the last refresh's reads: not read yet (before the first
        # refresh, or added since, under a removed one's name too: live, each refresh answers
        # every API; a capture's unrecorded one is not counted)
        not_read_yet = self._refreshed_at is None or not self._recorded
        kube = self._kube_read.get(name) if hub is None and self._read_as(source) else None
        if kube is not None:
            coverage["kubernetes"] = kube
            read_at["kubernetes"] = self._kube_at.get(name)
            if name in self._kube_errors:
                unread["kubernetes"] = self._kube_errors[name]
        elif hub is None and self._kube and has_kube_api(source) and not_read_yet:
            coverage["kubernetes"] = Coverage.NO_DATA
        # a member's findings are read over each of its hubs: one whose read failed keeps
        # its last findings (``_keep_unread``), so the member's findings source is lost
        readers = [source, *(h for h in hubs if h is not source)]
        said = [(c, cov) for c in readers if (cov := self._findings_coverage(c, now)) is not None]
        if said:
            reader, coverage["findings"] = max(said, key=lambda x: _FINDINGS_WORST.index(x[1]))
            read_at["findings"] = self._read_at.get(reader.name)
            if reader.name in self._unread:
                unread["findings"] = self._unread[reader.name]
        metrics = self._poller.status.get((source.name, Source.METRICS))
        age = metrics.age_s(now) if metrics is not None else None
        if hub is not None and coverage["metrics"] is Coverage.READ and metrics is not None:
            age, stale, read_at["metrics"] = self._member_freshness(source.name, name, now)
            if stale:
                coverage["metrics"] = Coverage.STALE
        # a hub's own alerts and series (no member's cluster label) are filed under the hub:
        # its own findings, judged as any cluster's (an XID of the hub's own GPU is CRITICAL)
        findings = alert_findings(self._poller.alerts.get(name, []))
        findings = distinct([*findings, *self._last_found(name, source if hub is None else None)])
        state, score = judge(coverage, findings)
        truth = ClusterTruth(
            name=name, title=title, hub=hub, state=state, health_score=score, data_age_s=age,
            findings=worst_first(findings), coverage=coverage,
            last_error=next(iter(unread.values()), None) or source.status.last_error,
            unread=unread,
        )  # fmt: skip
        read = [at for k in truth.lost() if (at := read_at.get(k)) is not None]
        truth.stale_since = min(read, default=None)
        return truth

    def _member_freshness(
        self, hub: str, member: str, now: datetime
    ) -> tuple[float | None, bool, datetime | None]:
        """How old a hub member's data is: since a poll of the hub last had its series (the
        hub answering does not make a member that stopped reporting fresh); whether it is
        stale (not seen since the app started though the hub was polled, or older than the
        hub's metrics status may get: a poll's time limit on top of 3 intervals; by 3
        intervals alone the hub was READ and each member STALE part of every slow poll); and
        when it was seen."""
        metrics = self._poller.status.get((hub, Source.METRICS))
        marks = self._poller.member_seen.get(hub, {})
        if member not in marks:  # not polled yet in this run: the hub's poll says
            if metrics is None:
                return None, False, None
            return metrics.age_s(now), False, metrics.last_success
        seen = marks[member]
        if seen is None:
            return None, True, None
        age = max(0.0, (now - seen).total_seconds())
        return age, metrics is not None and metrics.seen_stale(seen, now), seen

    def _findings_coverage(self, source: Cluster, now: datetime) -> Coverage | None:
        """What is known of the findings read over ``source``'s Prometheus: not read yet
        (before the first refresh, or added since the last one: a cluster, or a Prometheus
        endpoint of one), its read failed, or the last good refresh is long past (its task
        stopped or fails as a whole); None when they are read (not listed: the sources are
        metrics, alerts)."""
        if not source.endpoint(EndpointKind.PROMETHEUS):
            return None
        if source.name in self._unread:  # a refusal answered: stale, not unreachable
            return Coverage.STALE if source.name in self._refused else Coverage.UNREACHABLE
        read_at = self._read_at.get(source.name)
        if self._refreshed_at is None or read_at is None or not self._read_as(source):
            return Coverage.NO_DATA  # GPU, PTP, Kubernetes, anomalies: not read yet
        if not self._recorded and now - read_at > FINDINGS_STALE_AFTER:
            return Coverage.STALE  # as old as its own read, not the refresh's start
        return None

    def _coverage(
        self, cluster: Cluster, kind: EndpointKind, status: SourceStatus | None, now: datetime
    ) -> Coverage:
        if not cluster.endpoint(kind):
            return Coverage.NOT_CONFIGURED
        if self._recorded:
            return Coverage.RECORDED
        if status is None or status.not_heard_from:
            return Coverage.NO_DATA
        if status.consecutive_errors:
            # one that answered but refused the credential is there: stale, never OFFLINE
            return Coverage.STALE if refused(status.last_error) else Coverage.UNREACHABLE
        return Coverage.STALE if status.stale(now) else Coverage.READ
