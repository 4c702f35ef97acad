"""What the poller writes under a name is one source's, on one time grid: a registered
cluster is not also written from its hub's answer, a member of two hubs from one of them (its
alerts too); a restarted poller reads on the grid the store holds; a removed Alertmanager's
alerts go; a forgotten hub member's buffers go; a count over a fixed minute is read a minute
at a time on any cluster (fakes and an injected clock; no servers)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterKind, ClusterType, EndpointKind
from aiops_desktop.models.alerts import Alert, AlertSeverity
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.metrics import PromSeries
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import ALERTS_CHANGED, MEMBER_KEPT, Poller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import PollerSettings
from aiops_desktop.store.series import SeriesStore
from collectors.errors import CollectorServerError
from collectors.prometheus import PromResult
from tests.qtfree.poller_fakes import Clock, series_store

T0 = datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)  # "now" has a fraction of a second
store = pytest.fixture(series_store)
PROM, LOKI, AM = EndpointKind.PROMETHEUS, EndpointKind.LOKI, EndpointKind.ALERTMANAGER
LOAD = Panel(id="node_load", title="load", promql="node_load1")


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)

    def get(self, name: str) -> Cluster:
        return next(c for c in self._clusters if c.name == name)

    async def apply_check(self, *_: object, **__: object) -> None:
        pass

    async def set_members(self, hub: str, members: list[str]) -> None:
        self.get(hub).status.members = list(members)


class Pool:
    """Each cluster's own clients, by its name."""

    def __init__(self, **by: object) -> None:
        self.by = by

    async def prometheus(self, cluster: Cluster) -> object:
        return self.by[cluster.name]

    async def alertmanager(self, cluster: Cluster) -> object:
        return self.by[cluster.name]

    async def loki(self, cluster: Cluster) -> object:
        return self.by[cluster.name]


class FakeProm:
    """A range query as Prometheus answers it: a point at start + k * step up to end (start
    and end to the millisecond, as the client sends them), each series' value fixed."""

    def __init__(self, series: dict[tuple[tuple[str, str], ...], float] | None = None) -> None:
        self.series = series or {(("instance", "n1"),): 1.0}
        self.asked: list[tuple[float, float, float]] = []
        self.failing = False

    async def query_range(self, _promql: str, start: float, end: float, step: float) -> PromResult:
        start, end = round(start, 3), round(end, 3)
        self.asked.append((start, end, step))
        if self.failing:
            raise CollectorServerError("HTTP 503 from prometheus", backend="prometheus", status=503)
        ts = start + np.arange(int((end - start) // step) + 1) * step
        found = [PromSeries(dict(k), ts, np.full(ts.size, v)) for k, v in self.series.items()]
        return PromResult("matrix", found, [])

    async def newest_sample_age(self) -> float:
        return 0.0


class FakeAM:
    def __init__(self, firing: dict[str, str] | None = None) -> None:
        self.firing = firing or {}  # fingerprint -> the member it fires on
        self.failing = False

    async def alerts(self, name: str) -> list[Alert]:
        if self.failing:
            raise CollectorServerError("HTTP 503 from alertmanager", backend="am", status=503)
        return [Alert(fingerprint=f, cluster=on, name="KubeNodeNotReady",
                      severity=AlertSeverity.CRITICAL, starts_at=T0)
                for f, on in self.firing.items()]  # fmt: skip


def cluster(name: str, kinds: tuple[EndpointKind, ...] = (PROM,), **kw: object) -> Cluster:
    endpoints = [Endpoint(kind=k, url=f"http://127.0.0.1:9/{k.value.lower()}") for k in kinds]
    return Cluster(name=name, endpoints=endpoints, **kw)


def fleet_hub(name: str, kinds: tuple[EndpointKind, ...] = (PROM,)) -> Cluster:
    return cluster(name, kinds, kind=ClusterKind.FLEET, cluster_type=ClusterType.HUB)


def make_poller(
    clusters: list[Cluster],
    pool: Pool,
    series: object,
    clock: Callable[[], datetime],
    catalog: list[Panel],
    bus: EventBus | None = None,
    supervisor: TaskSupervisor | None = None,
) -> Poller:
    return Poller(Registry(clusters), pool, series=series, live=LiveBuffers(),  # type: ignore[arg-type]
                  bus=bus or EventBus(), supervisor=supervisor, catalog=catalog,  # type: ignore[arg-type]
                  settings=PollerSettings(), clock=clock)  # fmt: skip


async def stored(series: SeriesStore, name: str, panel: str = LOAD.id) -> list[SimpleNamespace]:
    await asyncio.wrap_future(series.flush())
    return [SimpleNamespace(labels=s.labels, ts=s.timestamps_ms / 1000, values=s.values)
            for s in series.read(panel, cluster=name)]  # fmt: skip


def live_values(poller: Poller, name: str) -> np.ndarray:
    return poller.live.snapshot(name, LOAD.id).series[(("instance", "n1"),)][1]


# -- A: one source per name ------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_registered_cluster_is_not_written_from_its_hubs_answer(
    store: SeriesStore,
) -> None:
    """east-1 is registered (its own Prometheus, every 30 s) and its hub answers for it too
    (every 15 s, with its own external label): both polls went into east-1's buffer and
    stored series, two grids interleaved and the hub's copy beside its own."""
    east, acm = cluster("east-1"), fleet_hub("acm-hub")
    hub_prom = FakeProm({(("cluster", "east-1"), ("instance", "n1")): 2.0,
                         (("cluster", "east-1"), ("instance", "n1"), ("receive", "true")): 2.0,
                         (("cluster", "edge-7"), ("instance", "n1")): 7.0})  # fmt: skip
    clock = Clock(T0)
    poller = make_poller([east, acm], Pool(**{"east-1": FakeProm(), "acm-hub": hub_prom}),
                         store, clock, [LOAD])  # fmt: skip
    for i in range(8):
        assert await poller.run_source(acm, Source.METRICS)
        clock.advance(seconds=7.3)
        if i % 2 == 0:
            assert await poller.run_source(east, Source.METRICS)
        clock.advance(seconds=7.7)
    assert list(poller.live.snapshot("east-1", LOAD.id).series) == [(("instance", "n1"),)]
    assert set(live_values(poller, "east-1")) == {1.0}
    (own,) = await stored(store, "east-1")
    assert own.labels == {"instance": "n1"} and set(own.values) == {1.0}
    assert set(np.diff(own.ts)) == {30.0}  # its own grid only
    assert set(live_values(poller, "edge-7")) == {7.0}  # the hub's other members as before
    assert "east-1" in poller.member_seen["acm-hub"]  # the hub still said it has it


@pytest.mark.asyncio
async def test_a_member_of_two_hubs_is_written_from_the_one_serving_it(
    store: SeriesStore,
) -> None:
    """edge-7 is a member of two hubs (listed once, under the first): both hubs' answers
    went into its one series, a zig-zag between their values. Now the first hub reading it
    serves it; the other takes over only while that one fails."""
    a = FakeProm({(("cluster", "edge-7"), ("instance", "n1")): 40.0})
    b = FakeProm({(("cluster", "edge-7"), ("instance", "n1")): 90.0})
    hub_a, hub_b = fleet_hub("thanos-a"), fleet_hub("thanos-b")
    clock = Clock(T0)
    poller = make_poller([hub_a, hub_b], Pool(**{"thanos-a": a, "thanos-b": b}), store, clock,
                         [LOAD])  # fmt: skip

    async def rounds(n: int) -> None:
        for _ in range(n):
            await poller.run_source(hub_a, Source.METRICS)
            clock.advance(seconds=6)
            await poller.run_source(hub_b, Source.METRICS)
            clock.advance(seconds=9)

    await rounds(8)
    assert set(live_values(poller, "edge-7")) == {40.0}
    (series,) = await stored(store, "edge-7")
    assert set(series.values) == {40.0}
    assert "edge-7" in poller.member_seen["thanos-b"]  # b does have it (it ranks b's serving)
    a.failing = True  # thanos-a fails: thanos-b's answer is all there is, and is taken
    await rounds(3)
    assert live_values(poller, "edge-7")[-1] == 90.0
    a.failing = False
    await rounds(3)  # thanos-a back: it serves edge-7 again, thanos-b's are left out
    values = live_values(poller, "edge-7")
    after = values[np.flatnonzero(values == 90.0)[-1] + 1 :]
    assert after.size >= 3 and set(after) == {40.0}
    (series,) = await stored(store, "edge-7")  # (thanos-a reads back its gap, on one grid)
    assert set(np.diff(series.ts)) == {15.0}


def fingerprints(poller: Poller, name: str) -> set[str]:
    return {a.fingerprint for a in poller.alerts.get(name, [])}


@pytest.mark.asyncio
async def test_a_shared_members_alerts_come_from_every_alertmanager() -> None:
    """Two hubs alerting for edge-7 overwrote each other's alerts[edge-7] each poll, and a
    hub's alerts for east-1 (registered, with its own Alertmanager) its own. A shared
    member's alerts are every answering hub's, added up (only the first hub's had hidden a
    CRITICAL only the second held); a registered cluster's are its own Alertmanager's."""
    east = cluster("east-1", (PROM, AM))
    hub_a, hub_b = fleet_hub("thanos-a", (PROM, AM)), fleet_hub("thanos-b", (PROM, AM))
    for each in (hub_a, hub_b):
        each.status.members = ["east-1", "edge-7"]
    ams = {"east-1": FakeAM({"own": "east-1"}),
           "thanos-a": FakeAM({"a-edge": "edge-7", "a-east": "east-1"}),
           "thanos-b": FakeAM({"b-edge": "edge-7", "b-east": "east-1"})}  # fmt: skip
    poller = make_poller([east, hub_a, hub_b], Pool(**ams), None, Clock(T0), [])

    async def rounds(n: int) -> None:
        for _ in range(n):
            for c in (hub_a, east, hub_b):
                await poller.run_source(c, Source.ALERTS)

    await rounds(2)
    assert fingerprints(poller, "edge-7") == {"a-edge", "b-edge"}
    assert fingerprints(poller, "east-1") == {"own"}
    ams["thanos-a"].failing = True  # thanos-a's Alertmanager fails: thanos-b's alone count
    await rounds(1)
    assert fingerprints(poller, "edge-7") == {"b-edge"}
    ams["thanos-a"].failing = False  # back, with its edge-7 alert ended: thanos-b's stays
    ams["thanos-a"].firing = {"a-east": "east-1"}
    await rounds(2)
    assert fingerprints(poller, "edge-7") == {"b-edge"}
    assert fingerprints(poller, "east-1") == {"own"}


# -- B: a removed Alertmanager's alerts -------------------------------------------------------
@pytest.mark.asyncio
async def test_the_alerts_of_a_removed_alertmanager_go_with_it() -> None:
    """Its alerts task was cancelled, but its last alerts stayed firing for good (and with
    no Alertmanager left to vouch for them, nothing badged them stale)."""
    east = cluster("east-1", (PROM, AM))
    acm = fleet_hub("acm-hub", (PROM, AM))
    acm.status.members = ["edge-7"]
    bus, supervisor = EventBus(), TaskSupervisor()
    published: list[dict[str, list[Alert]]] = []
    bus.subscribe(ALERTS_CHANGED, published.append)
    ams = {"east-1": FakeAM({"f1": "east-1"}), "acm-hub": FakeAM({"f2": "edge-7"})}
    poller = make_poller([east, acm], Pool(**ams), None, Clock(T0), [], bus, supervisor)
    try:
        await poller.run_source(east, Source.ALERTS)
        await poller.run_source(acm, Source.ALERTS)
        assert fingerprints(poller, "east-1") == {"f1"} and fingerprints(poller, "edge-7") == {"f2"}
        without = [c.model_copy(update={"endpoints": [e for e in c.endpoints if e.kind is not AM]})
                   for c in (east, acm)]  # fmt: skip
        poller._registry._clusters = without  # type: ignore[assignment]
        published.clear()
        poller._on_clusters_changed(without)
        assert not any(poller.alerts.values())
        assert ("east-1", Source.ALERTS) not in poller.status
        assert ("acm-hub", Source.ALERTS) not in poller.status
        assert published and not any(published[-1].values())
    finally:
        poller.stop()
        await supervisor.shutdown()


# -- C: a new poller reads on the grid the store holds -------------------------------------
@pytest.mark.asyncio
async def test_a_restarted_poller_reads_on_the_grid_the_store_holds(store: SeriesStore) -> None:
    """Each new Poller (the app restarted, each CLI run) read its backfill from now - 1 h,
    off the step's grid: the store kept both grids' samples, the same minutes twice."""
    east, prom, clock = cluster("east-1"), FakeProm(), Clock(T0)
    first = make_poller([east], Pool(**{"east-1": prom}), store, clock, [LOAD])
    for _ in range(60):
        assert await first.run_source(east, Source.METRICS)
        clock.advance(seconds=30.4)
    shut = clock().timestamp()
    clock.advance(minutes=5, seconds=0.6)
    cli = make_poller([east], Pool(**{"east-1": prom}), store, clock, [LOAD])
    await cli.poll_once([east])
    assert all(start % 30 == 0 and end % 30 == 0 for start, end, _ in prom.asked)
    (series,) = await stored(store, "east-1")
    held = series.ts[series.ts <= shut]
    assert set(np.diff(held)) == {30.0}  # each step once


# -- D: a forgotten member's buffers ---------------------------------------------------------
@pytest.mark.asyncio
async def test_a_forgotten_members_live_buffers_are_dropped() -> None:
    """A member not seen for MEMBER_KEPT stopped being listed, but its live buffers were
    kept for as long as the app ran: they grew with every member that ever reported. A
    registered cluster the hub stops naming keeps its own."""
    acm, east = fleet_hub("acm-hub"), cluster("east-1")
    prom = FakeProm({(("cluster", "old-1"), ("instance", "n1")): 1.0,
                     (("cluster", "east-1"), ("instance", "n1")): 1.0})  # fmt: skip
    clock = Clock(T0)
    poller = make_poller([acm, east], Pool(**{"acm-hub": prom, "east-1": FakeProm()}),
                         SimpleNamespace(append=lambda _b: None), clock, [LOAD])  # fmt: skip
    assert await poller.run_source(acm, Source.METRICS)
    assert await poller.run_source(east, Source.METRICS)
    assert {"old-1", "east-1"} <= set(poller.live.clusters())
    prom.series = {(("cluster", "new-1"), ("instance", "n1")): 1.0}
    end = clock() + MEMBER_KEPT + timedelta(hours=1)
    while clock() < end:
        clock.advance(hours=1)
        assert await poller.run_source(acm, Source.METRICS)
    assert "old-1" not in poller.member_seen["acm-hub"]
    assert set(poller.live.clusters()) == {"east-1", "new-1"}


# -- E: a count over a fixed minute ----------------------------------------------------------
LINES_FROM = T0.timestamp() - 14 * 3600


class Loki:
    """``count_over_time(...[1m])`` as Loki evaluates it: at start, start + step, ... up to
    end, each point the lines in (t - 60 s, t]; an error line every 10 s."""

    def __init__(self) -> None:
        self.steps: set[float] = set()

    async def query_range(self, query: object, step_s: float) -> SimpleNamespace:
        self.steps.add(step_s)
        start, end = query.start_ns / 1e9, query.end_ns / 1e9  # type: ignore[attr-defined]
        points = []
        for t in np.arange(start, end + 1e-6, step_s):
            lines = np.arange(LINES_FROM, t + 1e-6, 10.0)
            if count := int((lines > t - 60).sum()):
                points.append((float(t), float(count)))
        labels = {"k8s_namespace_name": "shop", "k8s_pod_name": "cart-1"}
        return SimpleNamespace(series=[SimpleNamespace(labels=labels, points=points)])


@pytest.mark.asyncio
async def test_a_count_over_a_minute_is_read_a_minute_at_a_time_on_a_far_edge_cluster() -> None:
    """A FAR_EDGE cluster is checked every 120 s, and the panel counting error lines over
    [1m] was read at a 120 s step: the minute between two points was never counted."""
    panel = next(p for p in load_catalog() if p.id == "error_log_lines")
    site = cluster("site-1", (LOKI,), cluster_type=ClusterType.FAR_EDGE)
    loki, clock, got = Loki(), Clock(T0), dict[int, float]()

    def append(batches: list[object]) -> None:
        for b in batches:
            got.update(zip(b.timestamps_ms.tolist(), b.values.tolist(), strict=True))  # type: ignore[attr-defined]

    poller = make_poller([site], Pool(**{"site-1": loki}), SimpleNamespace(append=append),
                         clock, [panel])  # fmt: skip
    for _ in range(10):
        assert await poller.run_source(site, Source.LOGS)
        clock.advance(seconds=site.check_interval_s)
    assert loki.steps == {60.0}
    stamps = sorted(got)
    assert set(np.diff(stamps)) == {60_000}  # every minute, each once
    assert set(got.values()) == {6.0}  # six lines a minute, all of them counted
