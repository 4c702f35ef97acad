"""The polling engine: one task per cluster and source, under the task supervisor.

Sources: ``health`` (readiness of each endpoint, scored by the registry's state machine),
``alerts`` (Alertmanager, every 10 s), ``metrics`` (the query catalog's PromQL panels), and
where a cluster has Loki or Tempo, ``logs`` and ``traces`` (the catalog's LogQL and TraceQL
metrics panels: error log lines, failed spans and span latency per pod). Intervals
come from the cluster type (HUB 15 s ... FAR_EDGE 120 s), with jitter; failures back off
exponentially and trip a circuit breaker per cluster and source; a per-cluster and a global
cap bound concurrency, the cluster's slot taken first (a poll waiting for it holds no global
one). A poll of a failing source, or of a cluster gone dark (its health check failing, or a
source of it unanswered), takes its global slot from a small share of them, judged when a slot
comes free for it (slots.py): black-holed endpoints, each holding a slot a connect timeout,
leave the healthy clusters slots. A source's panels are read one after another, the stalest
first (one whose read failed after those read since), each ending before the poll does. A
poll that read some panels is a success of its source (those that failed are said in its
status' last_error); only one that read none backs off.
Metrics are fetched as range queries from the newest sample held, so after an outage the gap
is filled, not left blank, as far back as a first read goes (BACKFILL, or the panel's own);
an older stretch stays a gap. Results go to the live buffers (charts) and through the writer
thread to the store as each panel is read (a write the store refuses moves the panel's read
mark back: read again); every value keeps the time it was fetched. Counts per step (Loki,
Tempo) are read once a step has ended SETTLE_S ago, so lines ingested late are in it. A
clock set back (read marks ahead of it) is logged and the cluster's panels are read afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import httpx
import numpy as np

from aiops_desktop.logs import redact
from aiops_desktop.models import Cluster, ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.metrics import MetricQuery, PromSeries
from aiops_desktop.models.observability import LogQuery
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.services.clusters.connections import ClientPool, kube_signature
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.polling.breaker import CircuitBreaker
from aiops_desktop.services.polling.live import LiveBuffers, SeriesKey, series_key
from aiops_desktop.services.polling.slots import Slots
from aiops_desktop.services.queries.multicluster import MOST_POINTS, aligned_range, fleet_member
from aiops_desktop.services.runtime.bus import CLUSTERS_CHANGED, EventBus
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import PollerSettings
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from analysis.incidents import same_alert
from collectors.errors import (
    CollectorAuthError,
    CollectorBadResponse,
    CollectorError,
    CollectorInvalidQuery,
    CollectorRateLimited,
    CollectorResponseTooLarge,
    CollectorTimeout,
    CollectorUnreachable,
)
from collectors.http import retried_failures

if TYPE_CHECKING:
    from collectors.prometheus import PrometheusClient
    from collectors.tempo import TempoClient

log = logging.getLogger("aiops.services.poller")

POLL_STATUS_CHANGED = "poller.status"  # payload: SourceStatus
ALERTS_CHANGED = "poller.alerts"  # payload: dict[str, list[Alert]]
ALERTS_INTERVAL_S = 10.0
PROBE_SHARE = 0.8  # a health probe's share of the source timeout: the check always lands
#: the seconds a LokiStack/TempoStack gateway's health probe reads (its API: no /ready there)
GATEWAY_PROBE_S = 300
BACKFILL = timedelta(hours=1)
UNSUPPORTED_RETRY_S = 3600.0  # a source its endpoint does not offer is asked again this late
MIN_STEP_S = 15.0
#: a panel read in whole steps reads a step once it ended this long ago: Loki and Tempo make
#: a line or span queryable some seconds after it happened, and a step is read only once
SETTLE_S = 30.0
#: a counted series (error lines, failed spans) missing from an answer is 0 for this long
#: after it was last answered (at least ZERO_FILL_STEPS steps): a pod gone since is not
#: filled with zeros for ever (50 pods, 2 replaced a minute, held 2,928 series after a day)
ZERO_FILL_S = 900.0
ZERO_FILL_STEPS = 4
#: a series with no new sample for longer than it spans (and this many steps) is forgotten
#: by the live buffers
KEEP_IDLE_STEPS = 10
#: a hub member no poll has had series of for this long is no longer listed (until then it
#: is, STALE from when it was last seen: a member powered off must not just disappear)
MEMBER_KEPT = timedelta(days=1)
#: a panel read has what its poll has left but a tenth (it ends before the poll does, its
#: failure said); none starts with less than this share of the poll's limit left: it could
#: hardly land (it is read first next time)
PANEL_MIN_LEFT = 0.1
#: a panel with no answer in this share of the poll's limit at least is slow (a
#: histogram_quantile over a big cluster's buckets slower than the whole poll): it is read
#: after the others next time, not first in every poll with every poll ending in it. One cut
#: shorter (its poll near its end) was not given its chance: it is read first next time.
PANEL_FAIR_SHARE = 0.5
#: the share of the global slots that failing sources (in backoff, a breaker's trial; or of a
#: cluster gone dark: _failing_now) take theirs from: a site's black-holed endpoints each
#: hold a slot for a connect timeout
FAILING_SHARE = 0.25
#: the series a panel's answer is read for (the first ones; the cut said in its source's
#: status): a fleet hub of 2,000 GPU nodes of 8 GPUs each answers 16,000 a GPU panel, read
#: whole. A runaway label (a fresh value each scrape) or a hostile server answered 200,000:
#: 8 s of the event loop (the UI's thread) a poll, and the app grew to 850 MB.
PANEL_MOST_SERIES = 50_000
#: a panel's series filed between two turns of the event loop (a series ~30 us: a few ms);
#: an answer with more is sorted out in a worker thread first
FILE_SLICE = 200


@dataclass
class _PollNote:
    """What one poll of a source did: run_source's, filled in by _read_panels."""

    deadline: float | None = None  # the event loop's time the poll's limit ends
    read: int = 0  # panels read
    failed: list[str] = field(default_factory=list)  # "panel: why", those not read


#: the poll under way in this task (each poll runs in its own task: its own note)
_POLL: contextvars.ContextVar[_PollNote | None] = contextvars.ContextVar("poll", default=None)


class SourceUnsupported(CollectorError):
    """The endpoint does not offer what a source reads (Tempo before 2.4: no TraceQL
    metrics): not a failure, the source is left alone (its panels hidden, its status says
    why) and asked again after UNSUPPORTED_RETRY_S, or at once when its endpoint changes."""


class EndpointNotFound(CollectorError):
    """A 404 from every path of the endpoint's API asked (not only the one a source reads):
    its URL is wrong; no further panel is started."""


class _SlowPanel(CollectorError):
    """A panel's query that did not answer within the time its poll gave it: that query is
    slow (the endpoint may answer the others), not the endpoint down."""

    fair = False  # given PANEL_FAIR_SHARE of the poll at least: it is slow, not cut short


#: a panel's read failure that says the endpoint is down or refuses every query: the poll
#: starts no further panel (they are read first next time, that one after them). A timeout
#: is one only where no connection was made (_slow_query: else that query is slow), or the
#: second of a poll that has read no panel yet (_read_panels: a hung endpoint)
_ENDPOINT_DOWN = (CollectorUnreachable, CollectorTimeout, CollectorAuthError,
                  CollectorRateLimited, SourceUnsupported, EndpointNotFound)  # fmt: skip


def _slow_query(exc: CollectorError) -> bool:
    """The HTTP client's timeout on a query whose connection was made (its read limit,
    [http].read_timeout_s, shorter than what the poll gave it: [poller].timeout_s is allowed
    up to 300 s): that query slow, as a _SlowPanel, not the endpoint down. Taken for down, a
    heavy first panel failed the whole poll, kept its place, and every poll after it."""
    return isinstance(exc, CollectorTimeout) and not isinstance(exc.__cause__, httpx.ConnectTimeout)


#: the poller's source that reads an endpoint's panels
PANEL_SOURCES = {EndpointKind.PROMETHEUS: Source.METRICS, EndpointKind.LOKI: Source.LOGS,
                 EndpointKind.TEMPO: Source.TRACES}  # fmt: skip


class Poller:
    def __init__(
        self,
        registry: ClusterRegistry,
        pool: ClientPool,
        *,
        series: SeriesStore,
        live: LiveBuffers,
        bus: EventBus,
        supervisor: TaskSupervisor,
        catalog: list[Panel],
        settings: PollerSettings | None = None,
        alert_events: AlertEventRepository | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``clock``: "now", the end of every range read (a replayed day in tests)."""
        self._clock = clock
        self._registry = registry
        self._alert_events = alert_events
        #: hub -> member -> its Alertmanager's alerts for the member in its last answer (those
        #: it files): a member's are every hub's, added up (_member_alerts)
        self._hub_alerts: dict[str, dict[str, list[Alert]]] = {}
        #: name -> the cluster whose poll filed ``alerts[name]`` last
        self._alerts_from: dict[str, str] = {}
        self._pool = pool
        self._series = series
        self.live = live
        self._bus = bus
        self._supervisor = supervisor
        self.catalog = catalog
        self.settings = settings or PollerSettings()
        self.status: dict[tuple[str, str], SourceStatus] = {}
        self.alerts: dict[str, list[Alert]] = {}
        #: when a fleet hub's newest sample was, as its last metrics poll said
        self.hub_newest: dict[str, datetime | None] = {}
        #: hub -> member -> when a poll last had its series (None: not since the app started)
        self.member_seen: dict[str, dict[str, datetime | None]] = {}
        self._started = clock()
        #: (cluster, source) -> why its endpoint does not offer it
        self.unsupported: dict[tuple[str, str], str] = {}
        self._tasks: dict[tuple[UUID, str], asyncio.Task[None]] = {}
        #: what each task reads with as it was started (changed: it is started afresh)
        self._polled_with: dict[tuple[UUID, str], _Uses] = {}
        #: per cluster, what its polls are made of (_made_of)
        self._made: dict[UUID, _Made] = {}
        self._slots = Slots(
            self.settings.global_cap, max(1, int(FAILING_SHARE * self.settings.global_cap))
        )
        #: cluster name -> its sources whose last poll got no answer in time (a connect timeout,
        #: the poll's limit), and when: the cluster gone dark since another source answered,
        #: that one's polls are failing ones (_failing_now) before their own first failure
        self._unanswered: dict[str, dict[str, datetime]] = {}
        self._per_cluster: dict[UUID, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.settings.per_cluster_cap)
        )
        self._unsubscribe: Callable[[], None] | None = None
        self._since: dict[tuple[UUID, str], float] = {}  # newest sample fetched per panel
        #: per panel, each counted series -> when an answer last had it (zero-filled after)
        self._answered: dict[tuple[UUID, str], dict[SeriesKey, float]] = {}
        #: per panel, when its read last failed (the poll's "now"): it goes after the panels
        #: read since, as if read then (one slower than the poll first in every poll held
        #: every other panel; its read mark, never moving, put it first)
        self._failed: dict[tuple[UUID, str], float] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._unsubscribe = self._bus.subscribe(CLUSTERS_CHANGED, self._on_clusters_changed)
        self._reconcile(self._registry.clusters())

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self._polled_with.clear()
        self._made.clear()

    def hub_age_s(self, hub: str, now: datetime | None = None) -> float | None:
        """How old a fleet hub's newest sample is ``now`` (it ages between polls: one
        stored as an age said "5 s old" for as long as the hub went unread)."""
        newest = self.hub_newest.get(hub)
        return None if newest is None else max(0.0, ((now or utcnow()) - newest).total_seconds())

    def _on_clusters_changed(self, clusters: list[Cluster]) -> None:
        self._reconcile(clusters)

    def forget(self, cluster: Cluster, names: Iterable[str] = ()) -> None:
        """A removed cluster: its polls stop now (one under way writes nothing more), and
        what is held by its name goes (its sources' statuses, those its endpoints do not
        offer, its alerts; ``names``: the names its data went by, a hub's members), so a
        cluster added later under that name starts afresh."""
        for task_key in [k for k in self._tasks if k[0] == cluster.id]:
            self._tasks.pop(task_key).cancel()
            self._polled_with.pop(task_key, None)
        for marks in (self._since, self._answered, self._failed):
            for mark in [k for k in marks if k[0] == cluster.id]:
                del marks[mark]
        self._per_cluster.pop(cluster.id, None)
        self._made.pop(cluster.id, None)
        gone = {cluster.name, *names}
        for held in (self.status, self.unsupported):
            for key in [k for k in held if k[0] in gone]:
                del held[key]
        self._unanswered.pop(cluster.name, None)
        for named in (self.hub_newest, self.member_seen):
            named.pop(cluster.name, None)
        withdrawn = self._withdraw_alerts(cluster.name)
        alerted = [name for name in gone if name in self.alerts]
        for name in alerted:
            del self.alerts[name]
        for name in [n for n, by in self._alerts_from.items() if n in gone or by in gone]:
            del self._alerts_from[name]
        if alerted or withdrawn:
            self._bus.publish(ALERTS_CHANGED, dict(self.alerts))

    def _sources(self, cluster: Cluster) -> list[str]:
        sources = [Source.HEALTH]
        if cluster.endpoint(EndpointKind.ALERTMANAGER):
            sources.append(Source.ALERTS)
        # metrics always: a hub reports its members and its newest sample's age through them
        polled = {p.source for p in self.catalog} | {EndpointKind.PROMETHEUS}
        sources += [source for kind, source in PANEL_SOURCES.items()
                    if kind in polled and cluster.endpoint(kind)]  # fmt: skip
        return sources

    def _reconcile(self, clusters: list[Cluster]) -> None:
        made = {c.id: self._made_of(c) for c in clusters}
        wanted = {(c.id, s): c for c in clusters for s in made[c.id].sources}
        for key in [k for k in self._tasks if k not in wanted]:
            self._tasks.pop(key).cancel()
            self._polled_with.pop(key, None)
        dropped = self._drop_unpolled(clusters, {(c.name, s) for (_, s), c in wanted.items()})
        known = {c.name for c in clusters}
        for hub in [n for n in self._hub_alerts if n not in known]:  # a removed hub's alerts
            dropped = self._withdraw_alerts(hub) or dropped
        ids = {c.id for c in clusters}  # a removed cluster's read marks go with it
        for marks in (self._since, self._answered, self._failed):
            for key in [k for k in marks if k[0] not in ids]:
                del marks[key]
        for cluster_id in [k for k in self._made if k not in ids]:
            del self._made[cluster_id]
        for held in (self.hub_newest, self.member_seen):
            for name in [n for n in held if n not in known]:  # a removed hub's, with it
                del held[name]
        # the alerts of a name neither registered nor a registered hub's member (those its
        # alert poll files alerts under): a removed cluster's, or a removed hub's members'
        members = {m for c in clusters if c.kind is ClusterKind.FLEET for m in c.status.members}
        members.update(*self._hub_alerts.values())
        for name in [n for n in self.alerts if n not in known | members]:
            del self.alerts[name]
            self._alerts_from.pop(name, None)
            dropped = True
        if dropped:
            self._bus.publish(ALERTS_CHANGED, dict(self.alerts))
        for key, cluster in wanted.items():
            uses = made[cluster.id].uses[key[1]]
            if key in self._tasks and self._polled_with.get(key) != uses:
                # its endpoint changed (a URL fixed): read now, not after the hour a source
                # not offered waits or a failing one's backoff; the new one may offer it
                self._tasks.pop(key).cancel()
                self.unsupported.pop((cluster.name, key[1]), None)
            if key not in self._tasks:
                self._polled_with[key] = uses
                self._tasks[key] = self._supervisor.spawn(
                    self._loop(cluster.id, key[1]), name=f"poll-{cluster.name}-{key[1]}"
                )

    def _made_of(self, cluster: Cluster) -> _Made:
        """What a cluster's polls are made of (its sources, what each reads with: _uses),
        worked out again only when a setting of it (a field but its status) or the catalog is
        another object than it was made from: a health check's copy of it has only its status
        new. Each check publishes the fleet, and every cluster's endpoints and CA bundles were
        dumped to JSON again (500 clusters checked every 30 s: 0.5 s of the event loop, the
        UI's thread, a second)."""
        parts = (self.catalog, *(getattr(cluster, name) for name in _SETTINGS))
        made = self._made.get(cluster.id)
        if made is None or any(a is not b for a, b in zip(made.parts, parts, strict=True)):
            sources = self._sources(cluster)
            uses = {source: self._uses(cluster, source) for source in sources}
            made = self._made[cluster.id] = _Made(parts, sources, uses)
        return made

    @staticmethod
    def _uses(cluster: Cluster, source: str) -> _Uses:
        """What a source of a cluster reads with, in no order: its endpoint as the client
        pool tells it apart, and the cluster's CA bundle it falls back to; the health check
        every endpoint and the API server (its URL, credential, CA and TLS check, as the
        pool's). A re-discovery listing the same endpoints in another order restarted the
        health check mid-check; a rotated kubeconfig credential left it to its backoff."""
        api: str | None
        if source == Source.HEALTH:
            endpoints = cluster.endpoints
            api = kube_signature(cluster)
        else:
            kind = next((k for k, s in PANEL_SOURCES.items() if s == source),
                        EndpointKind.ALERTMANAGER)  # fmt: skip
            endpoints = [e for e in cluster.endpoints if e.kind is kind]
            api = cluster.ca_bundle_pem
        return frozenset(e.model_dump_json() for e in endpoints), api

    def _drop_unpolled(self, clusters: list[Cluster], polled: set[tuple[str, str]]) -> bool:
        """A source a cluster no longer has (its endpoint removed; ``polled``: the (name,
        source) of those it has): what its polls held goes with it (its alerts stayed FIRING
        for good, with no Alertmanager left to vouch for them, and nothing badged them
        stale). Whether alerts went."""
        known = {c.name for c in clusters}
        for held in (self.status, self.unsupported):
            for key in [k for k in held if k[0] in known and k not in polled]:
                del held[key]
        for name in [n for n in self._unanswered if n not in known]:  # a removed cluster's
            del self._unanswered[name]
        for name, sources in self._unanswered.items():
            for source in [s for s in sources if (name, s) not in polled]:
                del sources[source]
        dropped = False
        for manager in {n for n in known if (n, Source.ALERTS) not in polled}:
            dropped = self._withdraw_alerts(manager) or dropped
        return dropped

    def _withdraw_alerts(self, manager: str) -> bool:
        """A cluster's Alertmanager no longer read (its endpoint or the cluster removed): the
        names its alerts were filed under keep the other hubs' alerts for them, or go where
        none has any (nothing is left to vouch for them), in the alert history too (a shared
        member's stayed FIRING there for good: past reports, the assistant). Whether any
        were filed by it."""
        names = {*self._hub_alerts.pop(manager, {})}
        names.update(n for n, by in self._alerts_from.items() if by == manager)
        hubs = self._alerting_hubs()
        now = utcnow()
        for name in names:
            left = self._member_alerts(name, hubs)
            if left:
                self.alerts[name] = left
                self._alerts_from[name] = next(h for h in hubs if name in self._hub_alerts[h])
            else:
                self.alerts.pop(name, None)
                self._alerts_from.pop(name, None)
            if self._alert_events is not None:  # the history, as a poll tells it
                self._alert_events.record(name, left, now)
        return bool(names)

    # -- the loop ------------------------------------------------------------------------------
    def interval_s(self, cluster: Cluster, source: str) -> float:
        base = ALERTS_INTERVAL_S if source == Source.ALERTS else float(cluster.check_interval_s)
        return base * self.settings.speed

    def _cluster(self, cluster_id: UUID) -> Cluster | None:
        return next((c for c in self._registry.clusters() if c.id == cluster_id), None)

    async def _loop(self, cluster_id: UUID, source: str) -> None:
        breaker = CircuitBreaker(reset_after_s=60 * self.settings.speed)
        delay = random.uniform(0, 0.2) * self.settings.speed  # noqa: S311 (spread the start)
        while True:
            await asyncio.sleep(delay)
            cluster = self._cluster(cluster_id)
            if cluster is None:
                return
            interval = self.interval_s(cluster, source)
            status = self._status(cluster, source, interval)
            if not breaker.allow():
                status.breaker = breaker.state
                delay = interval
                continue
            await self.run_source(cluster, source, breaker)
            jitter = random.uniform(1 - self.settings.jitter, 1 + self.settings.jitter)  # noqa: S311
            delay = self.wait_after(status)
            if status.not_offered is None:
                delay *= jitter

    def wait_after(self, status: SourceStatus) -> float:
        """How long a source waits after its read before it is read again (jitter aside): its
        interval after an answer, a failing one's backoff (its interval doubled per failure,
        to max_backoff_s), one its endpoint does not offer UNSUPPORTED_RETRY_S. The window's
        loop and a headless MCP server's re-reads wait alike."""
        if status.not_offered is not None:
            return UNSUPPORTED_RETRY_S * self.settings.speed
        if not status.consecutive_errors:
            return status.interval_s
        backoff = status.interval_s * 2 ** min(status.consecutive_errors, 6)
        return min(self.settings.max_backoff_s * self.settings.speed, backoff)

    def _status(self, cluster: Cluster, source: str, interval: float) -> SourceStatus:
        key = (cluster.name, source)
        status = self.status.get(key)
        if status is None:
            status = self.status[key] = SourceStatus(cluster.name, source, interval)
        status.interval_s = interval
        status.timeout_s = self.settings.timeout_s
        return status

    async def run_source(
        self, cluster: Cluster, source: str, breaker: CircuitBreaker | None = None
    ) -> bool:
        """One poll of one source; records timing, errors and breaker state. Never raises.
        Whether the source answered: a poll that read some of its panels did (those that
        failed are its last_error); only one that read none backs off and trips the breaker
        (and the health check says Prometheus' queries fail)."""
        status = self._status(cluster, source, self.interval_s(cluster, source))
        work: Callable[[Cluster], Awaitable[None]] = {
            Source.HEALTH: self._health,
            Source.ALERTS: self._alerts,
            Source.METRICS: self._metrics,
            Source.LOGS: self._logs,
            Source.TRACES: self._traces,
        }[source]
        started = time.perf_counter()
        status.last_attempt = utcnow()
        status.polls += 1
        # a source failing when a slot comes free for it (black-holed endpoints wait out a
        # connect timeout) takes it from a small share of them: the healthy clusters always
        # have the rest. The cluster's slot first: waiting for it, a poll holds no global one
        # (the same order everywhere: Slots takes a share's slot and a global one at once)
        failing = functools.partial(self._failing_now, cluster, source)
        note = _PollNote()
        token = _POLL.set(note)
        try:
            async with self._per_cluster[cluster.id], self._slots.slot(failing):
                try:
                    why, timed_out = await self._poll(cluster, work, note)
                except SourceUnsupported as exc:
                    self._not_offered(cluster, source, status, exc)
                    ok, timed_out = None, False
                else:
                    ok = self._record(cluster, source, status, breaker, note=note, why=why)
                # recorded before the slots are given back: the polls waiting for one are
                # judged failing or not by it (their cluster dark)
                unanswered = self._unanswered.setdefault(cluster.name, {})
                if timed_out and not ok:
                    unanswered[source] = utcnow()
                else:
                    unanswered.pop(source, None)
        finally:
            _POLL.reset(token)
        status.latency_ms = (time.perf_counter() - started) * 1000
        if ok is None:  # not offered: not a failure
            self._bus.publish(POLL_STATUS_CHANGED, status)
            return True
        if breaker is not None:
            status.breaker = breaker.state
        self._bus.publish(POLL_STATUS_CHANGED, status)
        return ok

    async def _poll(
        self, cluster: Cluster, work: Callable[[Cluster], Awaitable[None]], note: _PollNote
    ) -> tuple[str | None, bool]:
        """``work`` within the poll's time limit: why it failed (None: it did not), and
        whether for want of an answer in time. Raises only a cancel and SourceUnsupported."""
        with retried_failures() as retried:
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancel that
                # comes as the poll ends, and the loop would sleep through the app's shutdown
                async with asyncio.timeout(self.settings.timeout_s) as limit:
                    note.deadline = limit.when()
                    await work(cluster)
            except (asyncio.CancelledError, SourceUnsupported):
                raise
            except TimeoutError:
                why = f"the poll's time limit ({self.settings.timeout_s:g} s) ended it"
                if retried.last is not None:  # cut short while retrying: what it was failing with
                    why += f"; it was failing with: {redact(str(retried.last))}"
                return why, True
            except Exception as exc:  # every failure is recorded and shown, none kills the loop
                timed_out = isinstance(exc, CollectorTimeout | _SlowPanel)
                return redact(str(exc)) or type(exc).__name__, timed_out
        return None, False

    def _not_offered(
        self, cluster: Cluster, source: str, status: SourceStatus, exc: SourceUnsupported
    ) -> None:
        """A source its endpoint does not offer: not a failure (its panels hidden, asked again
        after UNSUPPORTED_RETRY_S), but said: the row was deleted, nothing anywhere told why
        the trace panels went. Its status says so itself: never read, no error, it was stale
        and "still being read"."""
        if (cluster.name, source) not in self.unsupported:
            log.info("source not offered", extra={"cluster": cluster.name, "source": source,
                                                  "reason": str(exc)})  # fmt: skip
        self.unsupported[(cluster.name, source)] = str(exc)
        status.consecutive_errors = 0
        status.not_offered = str(exc)
        status.last_error = f"not offered: {exc}"

    def _failing_now(self, cluster: Cluster, source: str) -> bool:
        """Whether a poll is a failing one (asked when a slot comes free for it): its source's
        last poll failed, or its cluster is dark: its health check fails (no endpoint
        answered), or a source of it got no answer in time since this one last answered (a
        site gone dark: its clusters' first polls each held a common slot a connect timeout,
        the healthy clusters' polls queued behind them). A source refused quickly (a 503 on
        every query, a wrong URL's 404) leaves the cluster's others on the common slots, as
        does one black-holed for good (a Tempo's wrong address) those that answer since."""
        for which in (source, Source.HEALTH):
            status = self.status.get((cluster.name, which))
            if status is not None and status.consecutive_errors:
                return True
        return self.unanswered(cluster.name, source)

    def unanswered(self, cluster: str, source: str) -> bool:
        """Whether ``cluster``'s ``source`` has no connection now: its last poll got no answer
        in time (a connect timeout, the poll's limit), or another source of the cluster got
        none since this one last answered (the cluster gone dark). A poll refused (an HTTP
        422, a 503) was answered: not this. Read-only."""
        own = self.status.get((cluster, source))
        answered = own.last_success if own is not None else None
        unanswered = self._unanswered.get(cluster, {}).values()
        return any(answered is None or at >= answered for at in unanswered)

    def _record(
        self,
        cluster: Cluster,
        source: str,
        status: SourceStatus,
        breaker: CircuitBreaker | None,
        *,
        note: _PollNote,
        why: str | None,
    ) -> bool:
        """A poll's outcome in its status and breaker; whether the source answered. A poll
        that failed (``why``) before any panel was read counts against the source; one that
        read panels is a success, what it could not read said in last_error (a heavy query's
        503 throttled every panel and had the health check say Prometheus down)."""
        status.not_offered = None  # read again: answered or failing, offered or not, it says
        if why is not None and not note.read:
            status.consecutive_errors += 1
            status.total_errors += 1
            status.last_error = why
            if breaker is not None:
                breaker.record_failure()
            log.warning(
                "poll failed", extra={"cluster": cluster.name, "source": source, "error": why}
            )
            return False
        if why is not None:
            note.failed.append(why)
        self.unsupported.pop((cluster.name, source), None)
        status.consecutive_errors = 0
        status.last_error = _said(note.failed)
        status.last_success = utcnow()
        if breaker is not None:
            breaker.record_success()
        return True

    async def poll_once(self, clusters: list[Cluster] | None = None) -> list[SourceStatus]:
        """Every source of every cluster once (the CLI's `fleet`): metrics and alerts in
        parallel, then health, which takes their outcome into account. The statuses of the
        sources polled, each saying whether it could be read."""
        chosen = clusters if clusters is not None else self._registry.clusters()
        data = [(c, s) for c in chosen for s in self._sources(c) if s != Source.HEALTH]
        await gather_all(*(self.run_source(c, s) for c, s in data))
        await gather_all(*(self.run_source(c, Source.HEALTH) for c in chosen))
        return [self.status[(c.name, s)] for c in chosen for s in self._sources(c)
                if (c.name, s) in self.status]  # fmt: skip

    # -- sources --------------------------------------------------------------------------------
    async def _probe(self, cluster: Cluster, kind: EndpointKind) -> tuple[bool, str | None, bool]:
        """Down, with the reason, when it fails or does not answer in time: a probe that
        hangs must not leave the cluster's state as it was (UNKNOWN, score 100). The last:
        whether it answered at all (however refused: reachable, ``health.reachable``)."""
        limit = PROBE_SHARE * self.settings.timeout_s
        try:
            async with asyncio.timeout(limit):
                return await self._ask(cluster, kind)
        except TimeoutError:
            return False, f"{kind.value.lower()}: no answer within {limit:.0f} s", False

    async def _ask(self, cluster: Cluster, kind: EndpointKind) -> tuple[bool, str | None, bool]:
        try:
            if kind is EndpointKind.PROMETHEUS:
                ok = await (await self._pool.prometheus(cluster)).ready()
            elif kind is EndpointKind.ALERTMANAGER:
                ok = await (await self._pool.alertmanager(cluster)).ready()
            elif kind is EndpointKind.API_SERVER:
                await (await self._pool.kube(cluster)).get("/version")
                ok = True
            else:
                ok = await self._logs_or_traces_ready(cluster, kind)
        except CollectorError as exc:
            # an HTTP answer (a refusal, a redirect, another 4xx; or one that could not be
            # read) says it is there; a 5xx does not: a gateway (Rancher, OCM cluster-proxy,
            # a load balancer) whose cluster is gone answers 502/503/504 (the spec: OFFLINE)
            there = (exc.status is not None and 300 <= exc.status < 500) or (
                exc.status is None
                and isinstance(exc, CollectorBadResponse | CollectorResponseTooLarge)
            )
            return False, str(exc), there
        except Exception as exc:  # a failed probe is a "down" verdict with its reason
            return False, str(exc), False
        # not ready (a readiness endpoint's 503, or a gateway's 5xx: one cannot tell them
        # apart) is no sign that the endpoint is there
        return ok, None if ok else f"{kind.value.lower()}: not ready", ok

    async def _logs_or_traces_ready(self, cluster: Cluster, kind: EndpointKind) -> bool:
        """Loki's and Tempo's own ``/ready``; a LokiStack/TempoStack gateway's API read over
        the last GATEWAY_PROBE_S instead: the gateway (observatorium) serves only its tenants'
        API on the port its route exposes, its ``/ready`` on an internal one, so ``/ready``
        asked through the route is a 404 and a working gateway was said not ready. The reads
        are ones its query RBAC lets a reader do (it forbids Tempo's tags and echo): Loki's
        label names, a Tempo search for one trace. A read that fails raises, as a query's."""
        from collectors.prometheus import ready_answer
        from collectors.tempo import api_prefix

        end_s = int(self._clock().timestamp())
        if kind is EndpointKind.LOKI:
            loki = await self._pool.loki(cluster)
            if loki.paths.gateway:
                await loki.labels((end_s - GATEWAY_PROBE_S) * 10**9, end_s * 10**9)
                return True
        else:
            tempo = await self._pool.tempo(cluster)
            if api_prefix(tempo.http.base_url):
                await tempo.search(limit=1, start_s=end_s - GATEWAY_PROBE_S, end_s=end_s)
                return True
        backend = await self._pool.backend(cluster, kind)
        return ready_answer(backend, await backend.status("/ready"))

    async def _note_members(self, hub: str, seen: set[str], *, complete: bool) -> None:
        """A hub's members: those with series in this poll, and those it had before that
        stopped reporting (powered off, cut off), kept for MEMBER_KEPT after they were last
        seen (``member_seen``: the truth says them STALE). Only a poll in which the hub
        answered in full (``complete``: a panel of it read, none cut at PANEL_MOST_SERIES)
        forgets one, whatever its other panels did: such a poll is one since the member was
        last seen, and it did not have it (only a poll with no panel failed forgot one: a
        panel failing every poll, a 503 or a slow query, kept a powered-off member listed,
        and its buffers, for good); a cut answer's members past the cut were not seen."""
        now = self._clock()
        try:
            known = self._registry.get(hub).status.members
        except ClusterNotFoundError:
            return  # removed while we were polling
        marks = self.member_seen.setdefault(hub, {})
        for member in known:
            marks.setdefault(member, None)  # listed before this run: not seen in it yet
        marks.update(dict.fromkeys(seen, now))
        if complete:
            for member in [
                m for m, at in marks.items() if now - (at or self._started) > MEMBER_KEPT
            ]:
                del marks[member]
                self._drop_member(member)
        try:
            await self._registry.set_members(hub, sorted(marks))
        except ClusterNotFoundError:
            return  # removed while we were polling

    def _drop_member(self, member: str) -> None:
        """A member no hub lists any more: its live buffers go (they were kept for as long as
        the app ran, one more set for every member that ever reported), unless it is a
        registered cluster (its own place) or another hub still lists it."""
        if any(c.name == member for c in self._registry.clusters()):
            return
        if any(member in seen for seen in self.member_seen.values()):
            return
        self.live.drop_cluster(member)

    async def _health(self, cluster: Cluster) -> None:
        kinds = [e.kind for e in cluster.endpoints]
        if has_kube_api(cluster):
            kinds.insert(0, EndpointKind.API_SERVER)
        if not kinds:
            return
        verdicts = await gather_all(*(self._probe(cluster, k) for k in kinds))
        results = {k: ok for k, (ok, _, _) in zip(kinds, verdicts, strict=True)}
        # down but there (a refused token, a redirect): reachable, not OFFLINE / DISCONNECTED
        answered = [k for k, (_, _, there) in zip(kinds, verdicts, strict=True) if there]
        errors = [e for _, e, _ in verdicts if e]
        metrics = self.status.get((cluster.name, Source.METRICS))
        if results.get(EndpointKind.PROMETHEUS) and metrics and metrics.consecutive_errors:
            # ready, but its queries fail (a proxy's HTML page, malformed answers): not up
            results[EndpointKind.PROMETHEUS] = False
            errors.append(f"prometheus: its queries fail: {metrics.last_error}")
        try:
            # the reasons one by one: each is cut to its share of what is stored
            await self._registry.apply_check(cluster.name, results, errors, answered=answered)
        except ClusterNotFoundError:
            return  # removed while we were probing
        if not any(results.values()):
            raise CollectorError(errors[0] if errors else "no endpoint answered")

    async def _alerts(self, cluster: Cluster) -> None:
        client = await self._pool.alertmanager(cluster)
        alerts = await client.alerts(cluster.name)
        if cluster.kind is ClusterKind.FLEET:
            files = self._files(cluster, Source.ALERTS)
            by_member: dict[str, list[Alert]] = defaultdict(list)
            for alert in alerts:
                if files(alert.cluster):
                    by_member[alert.cluster].append(alert)
            # a member whose alerts here all ended has none of them now (not the last ones);
            # one it names with alerts of a hub failing now has them without that hub's
            held = {*self._hub_alerts.get(cluster.name, {}), *by_member}
            self._hub_alerts[cluster.name] = dict(by_member)
            hubs = self._alerting_hubs(cluster.name)
            named = {*self.member_seen.get(cluster.name, {}), *cluster.status.members}
            held.update(n for h, f in self._hub_alerts.items() if h not in hubs for n in f
                        if n in named)  # fmt: skip
            answered = sorted(n for n in held if files(n))
            for name in answered:
                self.alerts[name] = self._member_alerts(name, hubs)
                self._alerts_from[name] = cluster.name
            self._drop_ended(cluster.name, held | named)
        else:
            self.alerts[cluster.name] = [
                a.model_copy(update={"cluster": cluster.name}) for a in alerts
            ]
            self._alerts_from[cluster.name] = cluster.name
            answered = [cluster.name]
        if self._alert_events is not None:  # the history (the writer thread; nothing waits)
            now = utcnow()
            for name in answered:
                self._alert_events.record(name, self.alerts.get(name, []), now)
        self._bus.publish(ALERTS_CHANGED, dict(self.alerts))

    def _alerting_hubs(self, polled: str | None = None) -> list[str]:
        """The hubs whose alerts count now, by name: each whose Alertmanager answered its
        last poll, and ``polled``, answering now. One failing stops adding its own: the next
        poll of another hub naming the member files it without them."""

        def answered(hub: str) -> bool:
            status = self.status.get((hub, Source.ALERTS))
            return status is not None and status.answered

        return sorted(h for h in self._hub_alerts if h == polled or answered(h))

    def _member_alerts(self, member: str, hubs: list[str]) -> list[Alert]:
        """A member's alerts: those each of ``hubs`` has for it, one of each (an alert two
        hubs forward: the first hub's). Two Alertmanagers' answers each filed in turn
        overwrote each other each poll; only one's filed hid the other's (a CRITICAL of the
        second hub's nowhere in the app). A later hub's copy of an alert an earlier hub
        filed is left by ``same_alert``, not its fingerprint: each hub's Prometheus or ruler
        labels its copy with itself (two CRITICAL findings, the health score cut twice, two
        history rows). Within one hub's answer every alert is kept, one of each by its
        fingerprint: two alerts of one Alertmanager that differ only in a label
        ``same_alert`` leaves out (a clusterID, a managed_cluster, the replica they are
        about) are two (the second, a CRITICAL, was lost); so a later hub's copy stands for
        one earlier alert of its kind at most (its second replica's still fires there where
        the first hub has ended it: it was lost too)."""
        found: dict[str, Alert] = {}
        filed: Counter[tuple[str, frozenset[tuple[str, str]]]] = Counter()  # by hubs before
        for hub in hubs:
            own = []
            for alert in self._hub_alerts[hub].get(member, ()):
                kind = same_alert(alert)
                if filed[kind] > 0:  # a copy of one an earlier hub filed
                    filed[kind] -= 1
                    continue
                own.append(alert)
            for alert in own:
                found.setdefault(alert.fingerprint, alert)
            filed.update(same_alert(a) for a in own)
        return list(found.values())

    def _drop_ended(self, hub: str, held: set[str]) -> None:
        """A name a hub's alerts filed, whose alerts ended (its empty list published once, the
        poll before) goes where nothing keeps it: not ``held`` (answered now, or listed by the
        hub), not registered, no hub's member. Each short-lived cluster a hub's alerts named
        (CI, hosted control planes) was kept for good, published every poll."""
        registered = self._registry.clusters()
        kept = held | {c.name for c in registered}
        kept.update(m for c in registered if c.kind is ClusterKind.FLEET for m in c.status.members)
        for name in [n for n, by in self._alerts_from.items()
                     if by == hub and n not in kept and not self.alerts.get(n)]:  # fmt: skip
            del self._alerts_from[name]
            self.alerts.pop(name, None)

    async def _metrics(self, cluster: Cluster) -> None:
        client = await self._pool.prometheus(cluster)

        def rows(series: list[PromSeries]) -> list[Read]:
            return [(dict(s.labels), s.timestamps, s.values) for s in series]

        async def read(panel: Panel, start: float, end: float, step: float) -> list[Read]:
            series = (await client.query_range(panel.promql, start, end, step)).series
            if len(series) > FILE_SLICE:  # in a worker thread, as its other work (_sorted_out)
                return await asyncio.to_thread(rows, series)
            return rows(series)

        seen, cut = await self._read_panels(cluster, EndpointKind.PROMETHEUS, read)
        if cluster.kind is ClusterKind.FLEET:
            # the members first: a freshness query failing (or slow) on a big hub left the
            # members read never noted, those noted before shown STALE with their data fresh.
            # The hub answered: a panel of it was read (else the read raised); an answer cut
            # has members past the cut not seen, the hub reporting them: none is forgotten
            await self._note_members(cluster.name, seen, complete=not cut)
            await self._note_newest(cluster, client)

    async def _note_newest(self, hub: Cluster, client: PrometheusClient) -> None:
        """When a fleet hub's newest sample was, asked within the poll's time left (less a
        margin: it ends before the poll does). One that fails leaves what was known (or
        nothing), said in the poll's note: the panels were read all the same. (A share of the
        poll's limit, 6 s, failed a big hub's every poll: its query, a subquery over an hour
        of its series, takes longer, and it had the poll's time left before.)"""
        loop = asyncio.get_running_loop()
        note = _POLL.get()
        limit = self.settings.timeout_s
        if note is not None and note.deadline is not None:
            limit = max(0.0, 0.9 * (note.deadline - loop.time()))
        try:
            async with asyncio.timeout(limit):
                age = await client.newest_sample_age()
        except TimeoutError:
            why = f"no answer within {limit:.3g} s"
        except Exception as exc:  # any failure of it is said, none undoes the panels read
            why = redact(str(exc)) or type(exc).__name__
        else:
            newest = None if age is None else utcnow() - timedelta(seconds=age)
            self.hub_newest[hub.name] = newest
            return
        log.warning("a hub's newest sample unknown", extra={"cluster": hub.name, "error": why})
        if note is not None:
            note.failed.append(f"newest sample: {why}")

    async def _logs(self, cluster: Cluster) -> None:
        """The Loki panels: LogQL metric queries (error lines a minute per pod)."""
        client = await self._pool.loki(cluster)

        async def read(panel: Panel, start: float, end: float, step: float) -> list[Read]:
            query = LogQuery(logql=panel.logql, start_ns=int(start * 1e9), end_ns=int(end * 1e9))
            answer = await client.query_range(query, step_s=step)
            return [_points(s.labels, s.points) for s in answer.series]

        await self._read_panels(cluster, EndpointKind.LOKI, read)

    async def _traces(self, cluster: Cluster) -> None:
        """The Tempo panels: TraceQL metrics (failed spans and span latency per pod)."""
        client = await self._pool.tempo(cluster)

        async def read(panel: Panel, start: float, end: float, step: float) -> list[Read]:
            # a Tempo sample at t is the step from t on: asked a step earlier and labelled by
            # its end, it says what came before t, as Loki's and Prometheus' samples do
            try:
                found = await client.metrics_range(
                    panel.traceql, start_s=int(start - step), end_s=int(end), step_s=int(step)
                )
            except CollectorError as exc:
                if exc.status == 404:
                    raise await _not_found(client, exc) from exc
                raise
            return [_points(s.labels, [(t + step, v) for t, v in s.points]) for s in found]

        await self._read_panels(cluster, EndpointKind.TEMPO, read)

    async def _read_panels(
        self,
        cluster: Cluster,
        source: EndpointKind,
        read: Callable[[Panel, float, float, float], Awaitable[list[Read]]],
    ) -> tuple[set[str], bool]:
        """Each of the catalog's panels on ``source``, from the newest sample held (the last
        BACKFILL at first, and at most that far back after an outage) to now, into the live
        buffers and the store. A fleet hub's Prometheus series go to the member their labels
        name, where the hub serves it (_files). (The members seen, and whether the answer of
        a panel read was cut: members past the cut not seen.)

        Panels are read one after another (a lost endpoint leaves one request open), those
        read longest ago first: a poll that ran out of time goes on next time where it
        stopped. Each read ends before the poll does, and a panel whose read failed (one
        slower than the whole poll) counts as read then (it goes after those read since), so
        however slow the endpoint or one query no panel is starved. Each panel's samples go to
        the store as soon as it is read, and its read mark moves with them: a panel that
        fails or a poll cut short loses nothing of the panels read before; a write the store
        refuses moves the mark back (read again next time). A failure saying the endpoint is
        down or refuses every query (unreachable, no answer in time, denied, rate limited,
        not offered, not there) starts no further panel, as does a second read timeout
        before any panel was read (a hung endpoint, connected and never answering: each
        timeout taken for one slow panel, every poll of it took the poll's whole limit). The
        panels that failed ("panel: why"), and those whose answer was cut, go to the poll's
        note (its status says them); the first failure is raised only when no panel was read
        (the source did not answer)."""
        panels = [p for p in self.catalog if p.source is source]
        now = self._clock().timestamp()
        self._check_clock(cluster, panels, now)
        panels.sort(key=lambda p: self._turn(cluster.id, p.id))
        loop = asyncio.get_running_loop()
        note = _POLL.get()
        deadline = note.deadline if note is not None else None
        if deadline is None:  # (read outside a poll: a test's)
            deadline = loop.time() + self.settings.timeout_s
        failures: list[str] = []
        errors: list[Exception] = []
        seen: set[str] = set()  # a fleet hub's members with series in this poll
        done = 0
        cut_any = False  # a panel read only in part (its first PANEL_MOST_SERIES series)
        timed_out = False  # a query ended in the HTTP client's read timeout
        for panel in panels:
            left = deadline - loop.time()
            if left < PANEL_MIN_LEFT * self.settings.timeout_s:
                break  # the rest are the stalest next time, read first
            try:
                had, cut = await self._read_within(cluster, panel, now, read, 0.9 * left)
            except SourceUnsupported:
                raise
            except CollectorError as exc:  # this panel's (a 503, a malformed answer, slow)
                # one read timeout is that query slow; a second with nothing read yet is the
                # endpoint not answering at all
                slow = _slow_query(exc)
                down = isinstance(exc, _ENDPOINT_DOWN) and (not slow or (timed_out and not done))
                timed_out = timed_out or slow
                if down and not done:
                    # the panels not read are read first next time, this one after them (kept
                    # first, each poll ended in it: a panel the endpoint fails alone starved
                    # the others)
                    self._failed[(cluster.id, panel.id)] = now
                    raise
                if not isinstance(exc, CollectorInvalidQuery):
                    errors.append(exc)
                why = exc.upstream if isinstance(exc, CollectorInvalidQuery) else str(exc)
                failures.append(f"{panel.id}: {redact(why)}")
                if not isinstance(exc, _SlowPanel) or exc.fair:  # (else first next time)
                    self._failed[(cluster.id, panel.id)] = now
                if down:
                    break  # down or refusing every query now: no further panel
            else:
                done += 1
                seen.update(had)
                self._failed.pop((cluster.id, panel.id), None)
                failures += cut  # read, not whole: said (and a hub's members not forgotten)
                cut_any = cut_any or bool(cut)
        if note is not None:
            note.read += done
            note.failed += failures
        if not done and panels:  # the source did not answer
            raise _unread(errors, failures)
        return seen, cut_any

    def _turn(self, cluster_id: UUID, panel: str) -> tuple[float, bool]:
        """A panel's place in its source's next poll: the stalest first, one whose read
        failed as if read when it failed (after one read up to that time)."""
        key = (cluster_id, panel)
        since, failed = self._since.get(key, -math.inf), self._failed.get(key, -math.inf)
        return max(since, failed), failed >= since

    async def _read_within(
        self,
        cluster: Cluster,
        panel: Panel,
        now: float,
        read: Callable[[Panel, float, float, float], Awaitable[list[Read]]],
        limit: float,
    ) -> tuple[set[str], list[str]]:
        """_read_panel within ``limit`` s of its own (the poll's limit ends it as a cancel):
        a query slower than the poll no longer ends every poll inside it."""
        try:
            with retried_failures() as retried:
                async with asyncio.timeout(limit):
                    return await self._read_panel(cluster, panel, now, read)
        except TimeoutError:
            said = f"no answer within {limit:.3g} s"
            if retried.last is not None:  # cut short while retrying: what it was failing with
                said += f"; it was failing with: {retried.last}"
            slow = _SlowPanel(said, backend=panel.source.value.lower())
            slow.fair = limit >= PANEL_FAIR_SHARE * self.settings.timeout_s
            raise slow from None

    def _window(self, cluster: Cluster, panel: Panel, now: float) -> tuple[float, float]:
        """A panel's step and the end of its next read: now (on the step's grid), or for a
        panel read in whole steps (a count per minute is only complete when the minute is)
        the last step that ended SETTLE_S ago at least (Loki and Tempo make a line or span
        queryable seconds after it happened: a minute read the moment it ends misses its last
        lines for good)."""
        if not panel.step_s:
            step = max(MIN_STEP_S, float(cluster.check_interval_s))
            return step, _on_grid(panel, now, now, step)[1]
        # a panel with its own step counts over a fixed range at each step (Loki's
        # count_over_time(...[1m])): read a step at a time whatever the cluster's interval,
        # or a FAR_EDGE cluster's 120 s step left every other minute uncounted
        step = max(MIN_STEP_S, float(panel.step_s))
        settled = now - SETTLE_S
        return step, settled - settled % step

    def _check_clock(self, cluster: Cluster, panels: list[Panel], now: float) -> None:
        """A read mark more than a step past the end of the next read: the clock went back
        (it was ahead and was set right). Every read would be skipped (and each poll a
        success) until the clock caught up with it, and the live buffers, holding points from
        the "future", would take nothing newer: the cluster's marks and buffers start afresh,
        as at start (each panel reads its backfill again; the store keeps what it has). A
        hub's members seen "in the future" were seen now at the latest (one that stopped
        reporting then was judged fresh, age 0, for as long as the clock had been ahead)."""
        for panel in panels:
            step, end = self._window(cluster, panel, now)
            since = self._since.get((cluster.id, panel.id))
            if since is None or since <= end + step:
                continue
            log.warning(
                "the clock went back: reading afresh",
                extra={"cluster": cluster.name, "panel": panel.id,
                       "ahead_s": round(since - end)},
            )  # fmt: skip
            for marks in (self._since, self._answered, self._failed):
                for key in [k for k in marks if k[0] == cluster.id]:
                    del marks[key]
            names = {cluster.name, *cluster.status.members,
                     *self.member_seen.get(cluster.name, {})}  # fmt: skip
            for name in names:
                self.live.drop_cluster(name)
            seen = self.member_seen.get(cluster.name, {})
            at = datetime.fromtimestamp(now, UTC)
            seen.update({m: at for m, when in seen.items() if when is not None and when > at})
            return

    async def _read_panel(
        self,
        cluster: Cluster,
        panel: Panel,
        now: float,
        read: Callable[[Panel, float, float, float], Awaitable[list[Read]]],
    ) -> tuple[set[str], list[str]]:
        """One panel's read (see _read_panels); the members it had series of, and the cut
        ("panel: why") where its answer had more series than are read (else none)."""
        step, end = self._window(cluster, panel, now)
        key = (cluster.id, panel.id)
        since = self._since.get(key)
        # at first the panel's backfill; after an outage as far back as that at most: a longer
        # range may be past what the endpoint answers (Prometheus and Loki: 11,000 points a
        # series), refused every time until the app is restarted; the stretch before stays a gap
        back = panel.backfill_h * 3600 or BACKFILL.total_seconds()
        reach = min(back, (MOST_POINTS - 1) * step)  # Prometheus and Loki refuse more
        if since is not None and since + step < end - reach:
            log.info(
                "catching up after an outage: the oldest stretch stays a gap",
                extra={"cluster": cluster.name, "panel": panel.id,
                       "gap_s": round(end - reach - since)},
            )  # fmt: skip
        start = min(max(since + step, end - reach) if since is not None else end - reach, end)
        start = _on_grid(panel, start, end, step)[0]
        if panel.step_s and since is not None and since >= end:
            return set(), []  # no whole step has ended since the last read: the data is current
        by_member = cluster.kind is ClusterKind.FLEET and panel.source is EndpointKind.PROMETHEUS
        found, cut = await self._sorted_out(
            cluster, panel, await read(panel, start, end, step), (start, end, step), by_member
        )
        members = {cluster.name} if not by_member else set()
        filed = set(members)  # those whose series are written here
        files = self._files(cluster, Source.METRICS) if by_member else None
        batches: list[SeriesBatch] = []
        newest = -math.inf
        # filed on the loop (what the live buffers and the store are given, and the read mark,
        # move together there: a poll cancelled, its cluster forgotten, files nothing more),
        # FILE_SLICE series at a time with the loop's other work between them
        for at, (member_of, labels, timestamps, values, millis) in enumerate(found):
            if at and not at % FILE_SLICE:
                await asyncio.sleep(0)
            member = member_of or cluster.name
            members.add(member)  # the hub has it, written or not (its serving is judged by it)
            if timestamps.size:  # read up to here, written or not: not read again next time
                newest = max(newest, float(timestamps[-1]))
            if files is not None and not files(member):
                continue
            filed.add(member)
            self.live.append(member, panel.id, labels, timestamps, values)
            batches.append(SeriesBatch(member, panel.id, labels, millis, values))
        for member in filed:
            self.live.touch(member, panel.id)
            await prune_live(self.live, member, panel.id, at_least_s=KEEP_IDLE_STEPS * step)
        if panel.step_s:  # whole steps up to ``end`` are read: one without a sample had none
            newest = max(newest, end)
        if newest > -math.inf:
            self._since[key] = max(self._since.get(key, -math.inf), newest)
        if batches:  # the writer thread commits it; nothing waits here
            written = self._series.append(batches)
            if isinstance(written, Future):  # (a test's stand-in store may return nothing)
                self._on_refused_write(written, cluster, panel.id, since)
        return members, cut

    async def _sorted_out(
        self,
        cluster: Cluster,
        panel: Panel,
        answer: list[Read],
        window: tuple[float, float, float],
        by_member: bool,
    ) -> tuple[list[Sorted], list[str]]:
        """A panel's answer as _read_panel files it (_sorted_out), its first PANEL_MOST_SERIES
        series; and the cut where it had more (none else). The per-series work, which touches
        nothing shared, runs in a worker thread for a big answer (20,000 series held the event
        loop, the UI's thread under qasync, 0.65 s), or where a counted panel holds many
        series (each zero-filled: 10 series answered beside 60,000 held took the loop 1 s);
        its marks as a copy, held again here unless they were dropped meanwhile (a clock set
        back: read afresh). The cut says the server's count, not the series zero-filled."""
        key = (cluster.id, panel.id)
        answered = len(answer)
        answer = answer[:PANEL_MOST_SERIES]
        held = self._answered.get(key)
        marks = dict(held or {}) if panel.empty_is_zero else None
        start, end, step = window
        hub = cluster.name if by_member else None
        prepare = functools.partial(_sorted_out, panel, answer, start=start, end=end, step=step,
                                    marks=marks, hub=hub)  # fmt: skip
        work = len(answer) + len(marks or ())  # (the series held are zero-filled too)
        found = await asyncio.to_thread(prepare) if work > FILE_SLICE else prepare()
        if marks is not None and self._answered.get(key) is held:
            self._answered[key] = marks
        if answered <= PANEL_MOST_SERIES and len(found) <= PANEL_MOST_SERIES:
            return found, []
        log.warning("a panel's answer cut", extra={"cluster": cluster.name, "panel": panel.id,
                                                   "series": answered})  # fmt: skip
        quiet = f" ({len(found):,} with those quiet now)" if len(found) > answered else ""
        cut = (f"{panel.id}: {answered:,} series answered{quiet}, only the first "
               f"{PANEL_MOST_SERIES:,} read")  # fmt: skip
        return found[:PANEL_MOST_SERIES], [cut]

    def _on_refused_write(
        self, written: Future[int], cluster: Cluster, panel: str, since: float | None
    ) -> None:
        """Should the store refuse the write (a locked or full disk), the panel's read mark
        goes back to where it was (the live buffers ignore what they hold already): the next
        poll reads the samples again instead of leaving a hole in the history."""
        loop = asyncio.get_running_loop()
        key = (cluster.id, panel)

        def rewind() -> None:
            log.warning("the store refused a poll's samples: they are read again",
                        extra={"cluster": cluster.name, "panel": panel})  # fmt: skip
            if since is None:
                self._since.pop(key, None)
            elif key in self._since:
                self._since[key] = min(self._since[key], since)

        def done(future: Future[int]) -> None:  # the writer thread's: the loop rewinds
            if not future.cancelled() and future.exception() is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed: nothing to rewind
                    loop.call_soon_threadsafe(rewind)

        written.add_done_callback(done)

    def _files(self, hub: Cluster, source: str) -> Callable[[str], bool]:
        """Whether a fleet hub's answer of ``source`` (its Prometheus' series, its
        Alertmanager's alerts) for a name is filed under that name now. As a fleet query has
        it (multicluster.read_once, the registry's members), not for a registered cluster
        that reads the source itself: it has its own place. Alerts add up (a member's are
        every hub's: _member_alerts); series do not: one source a name, or two time grids
        interleave in one series (two hubs' values a zig-zag). As the fleet truth has it (a
        member of two hubs is listed under the first, judged from the first serving it:
        fleet/state.py _serving), a hub's series are not filed for a member a hub before
        this one by name reads now: only while every such one fails is this hub's copy all
        there is, and taken. Alerts are filed whatever a hub before this one reads: none of
        that is asked for them."""
        kind = EndpointKind.ALERTMANAGER if source == Source.ALERTS else EndpointKind.PROMETHEUS
        registered = self._registry.clusters()
        own = {c.name for c in registered if c.endpoint(kind)}
        if source == Source.ALERTS:
            return lambda member: member == hub.name or member not in own
        hubs = [c for c in registered if c.kind is ClusterKind.FLEET and c.endpoint(kind)]
        before = [c for c in hubs if c.name < hub.name]
        now = self._clock()

        def reads(other: Cluster, member: str) -> bool:
            """``other`` (a hub) read ``member`` in its last poll, and that poll is recent."""
            status = self.status.get((other.name, source))
            if status is None or not status.answered:
                return False
            at = self.member_seen.get(other.name, {}).get(member)
            return not status.seen_stale(at, now)  # (its status' limit: a slow poll's on top)

        @functools.cache
        def files(member: str) -> bool:
            if member == hub.name:
                return True
            if member in own:
                return False
            return not any(reads(other, member) for other in before)

        return files


#: what a source reads with (Poller._uses): its endpoints, and the API server's settings
_Uses = tuple[frozenset[str], str | None]
#: a cluster's fields a poll may be made of: all but its status (a health check's, each)
_SETTINGS = tuple(name for name in Cluster.model_fields if name != "status")


@dataclass
class _Made:
    """What a cluster's polls are made of (Poller._made_of): its sources, what each reads
    with, and the very objects (the catalog, its settings) they were worked out from."""

    parts: tuple[object, ...]
    sources: list[str]
    uses: dict[str, _Uses]


#: one series read: its labels, its times (unix s) and values
Read = tuple[dict[str, str], np.ndarray, np.ndarray]
#: one series as it is filed: its member (None: the cluster read), labels, times (unix s),
#: values and times in ms
Sorted = tuple[str | None, dict[str, str], np.ndarray, np.ndarray, np.ndarray]


async def prune_live(live: LiveBuffers, cluster: str, panel: str, *, at_least_s: float) -> int:
    """``LiveBuffers.prune`` with the loop's other work between its slices (a hub's
    110,000 series held the loop 145 ms in one go). How many series were dropped."""
    dropped = 0
    for count in live.prune_slices(cluster, panel, at_least_s=at_least_s):
        dropped += count
        await asyncio.sleep(0)
    return dropped


def _recently_answered(
    marks: dict[SeriesKey, float], panel: Panel, found: list[Read], end: float, step: float
) -> tuple[list[SeriesKey], float]:
    """The counted series of a panel with a count within ZERO_FILL_S of ``end`` (those in
    ``found`` now, marked by their newest step in its ``marks``): the ones a step without a
    count is 0 for. Older ones are forgotten, and past PANEL_MOST_SERIES the oldest (a
    runaway label's fresh series each poll, each zero-filled every poll, grew without bound).
    And how far zeros may go: ZERO_FILL_S past the newest count answered (not the clock's
    ``end``: no zeros where the endpoint has shown nothing)."""
    for raw, ts, _ in found:
        if ts.size:
            held = series_key(panel.relabelled(raw))
            marks[held] = max(marks.get(held, -math.inf), float(ts[-1]))
    hold = max(ZERO_FILL_S, ZERO_FILL_STEPS * step)
    upto = max(marks.values(), default=-math.inf) + hold
    for gone in [k for k, at in marks.items() if at < end - hold]:
        del marks[gone]
    if (over := len(marks) - PANEL_MOST_SERIES) > 0:
        for gone in sorted(marks, key=marks.__getitem__)[:over]:  # (a tie: the longer held)
            del marks[gone]
    return list(marks), upto


def _sorted_out(
    panel: Panel,
    answer: list[Read],
    *,
    start: float,
    end: float,
    step: float,
    marks: dict[SeriesKey, float] | None,
    hub: str | None,
) -> list[Sorted]:
    """A panel's answer as it is filed: each series' member (a fleet ``hub``'s answer: the
    one its labels name; else None), labels, times, values and times in ms, its points
    within the read (_within); a counted panel's (``marks``: its series answered, updated)
    with zeros for its quiet steps. Touches nothing but ``marks`` (run in a worker thread)."""
    found = [_within(r, start, end, step) for r in answer]
    if marks is not None:
        # zeros for quiet steps only up to the zero-fill span past the newest count ever
        # answered: a clock ahead must not store hours of zeros the endpoint never had
        recent, upto = _recently_answered(marks, panel, found, end, step)
        found = _zero_filled(panel, found, start, min(end, upto), step=step, known=recent)
    out = []
    for raw, ts, values in found:
        member, labels = None, panel.relabelled(raw)
        if hub is not None:
            member, labels = fleet_member(labels, hub)
        out.append((member, labels, ts, values, (ts * 1000).astype(np.int64)))
    return out


async def _not_found(client: TempoClient, exc: CollectorError) -> CollectorError:
    """What Tempo's 404 to a TraceQL metrics query says: where its search answers at the
    same URL, a Tempo without them (before 2.4): not offered. Else the URL is wrong (a path
    prefix missing, an ingress mid-rollout): a failure shown and retried as any other (every
    404 hid the trace panels for an hour, no error shown anywhere)."""
    try:
        await client.tags()
    except CollectorError as other:
        return EndpointNotFound(f"{exc.backend or 'tempo'}: HTTP 404 to TraceQL metrics, and its "
                                f"search does not answer either ({other}): is the URL right?",
                                backend=exc.backend, status=404)  # fmt: skip
    return SourceUnsupported(str(exc), backend=exc.backend, status=404)


def _unread(errors: list[Exception], failures: list[str]) -> Exception:
    """Why a poll read no panel: the first failure that was not a refused query, or every
    query refused, or none started (what came before the panels took the poll's time)."""
    if errors:
        return errors[0]
    if failures:
        return CollectorError("every panel query failed: " + "; ".join(failures[:3]))
    return CollectorTimeout("no time left in the poll to read a panel")


def _said(failed: list[str]) -> str | None:
    """What a poll that answered could not read (its first few), or None."""
    if not failed:
        return None
    more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
    return "; ".join(failed[:3]) + more


def _zero_filled(
    panel: Panel,
    found: list[Read],
    start: float,
    end: float,
    *,
    step: float,
    known: Iterable[SeriesKey],
) -> list[Read]:
    """Counted events (error lines, failed spans): Loki and Tempo leave out a step with none,
    which is 0, not unknown. Each series answered, and each already known that had none this
    time, gets a value at every whole step from ``start`` to ``end``."""
    first = math.ceil(start / step) * step
    grid = np.arange(first, end + step / 2, step) if end >= first else np.zeros(0)
    out: dict[SeriesKey, Read] = {}
    for raw, ts, values in found:
        filled = np.zeros(grid.size)
        at = np.rint((ts - grid[0]) / step).astype(int) if grid.size else np.array([], int)
        inside = (at >= 0) & (at < grid.size)
        np.add.at(filled, at[inside], values[inside])
        out[series_key(panel.relabelled(raw))] = (raw, grid, filled)
    renamed_back = {v: k for k, v in panel.rename.items()}
    for key in known:
        if key not in out and grid.size:
            raw = {renamed_back.get(k, k): v for k, v in key}
            out[key] = (raw, grid, np.zeros(grid.size))
    return list(out.values())


def _on_grid(panel: Panel, start: float, end: float, step: float) -> tuple[float, float]:
    """A Prometheus range read's start and end on its step's grid (multiples of it), as the
    charts' own queries are: a poller started afresh (the app restarted, each CLI run) reads
    its backfill on the timestamps the store holds already, not on a grid of its own beside
    them (the store keeps one sample a timestamp: two grids kept both, each step twice). A
    panel read in whole steps is on its grid already."""
    if panel.step_s:
        return start, end
    query = MetricQuery(
        promql=panel.promql,
        start=datetime.fromtimestamp(start, UTC),
        end=datetime.fromtimestamp(end, UTC),
        step=timedelta(seconds=step),
    )
    first, last, _ = aligned_range(query)
    return first, last


def _within(found: Read, start: float, end: float, step: float) -> Read:
    """A series with only its points from a step before ``start`` to ``end`` (Tempo's,
    labelled by the end of their step, may be a step past it), in order, each time once (the
    first): nothing is held from after the read's end. A server's stray point (one far ahead
    placed first, the last still in range) went into the live ring out of order, which then
    took nothing newer, and into the store's head, which after compaction dropped every later
    sample of the series."""
    raw, ts, values = found
    if not ts.size or (ts[0] >= start - step and ts[-1] <= end and np.all(np.diff(ts) > 0)):
        return found
    keep = (ts >= start - step) & (ts <= end)  # (a NaN time is neither)
    ts, values = ts[keep], values[keep]
    ts, first = np.unique(ts, return_index=True)  # sorted, each time once
    return raw, ts, values[first]


def _points(labels: dict[str, str], points: list[tuple[float, float]]) -> Read:
    """A Loki or Tempo series as the poller records it."""
    ts = np.fromiter((t for t, _ in points), float, len(points))
    values = np.fromiter((v for _, v in points), float, len(points))
    return dict(labels), ts, values
