"""The poller over weeks unattended: a failing or slow panel, a refused store write, a long
outage, a clock jump, late-ingested log lines and another cluster's health check never lose
or invent data (fakes and an injected clock; no servers)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
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
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import PollerSettings
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from collectors.errors import CollectorInvalidQuery, CollectorServerError
from collectors.http import BackendClient, HttpPolicy
from collectors.prometheus import PrometheusClient, PromResult
from tests.qtfree.poller_fakes import Clock, series_store
from tests.servers.prometheus import RunningPrometheus

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
store = pytest.fixture(series_store)
PROM, LOKI, AM = EndpointKind.PROMETHEUS, EndpointKind.LOKI, EndpointKind.ALERTMANAGER


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)

    def get(self, name: str) -> Cluster:
        return next(c for c in self._clusters if c.name == name)

    async def apply_check(self, *_: object, **__: object) -> None:
        pass

    async def set_members(self, *_: object, **__: object) -> None:
        pass


@dataclass
class Pool:
    prom: object = None
    loki_client: object = None
    am: object = None

    async def prometheus(self, _cluster: Cluster) -> object:
        return self.prom

    async def loki(self, _cluster: Cluster) -> object:
        return self.loki_client

    async def alertmanager(self, _cluster: Cluster) -> object:
        return self.am


class FakeProm:
    """A range query as Prometheus answers it: a point at start + k * step up to end (its
    value: its time); refuses more than 11,000 points a series, as Prometheus does."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.asked: list[tuple[str, float, float, float]] = []
        self.failing: set[str] = set()
        self.delay_s = delay_s

    async def query_range(self, promql: str, start: float, end: float, step: float) -> PromResult:
        self.asked.append((promql, start, end, step))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if any(bad in promql for bad in self.failing):
            raise CollectorServerError("HTTP 503 from prometheus", backend="prometheus", status=503)
        count = int((end - start) // step) + 1
        if count > 11_000:
            raise CollectorInvalidQuery(
                "bad_data", upstream="exceeded maximum resolution of 11,000 points per timeseries"
            )
        ts = start + np.arange(count) * step
        return PromResult("matrix", [PromSeries({"instance": "n1"}, ts, ts.copy())], [])

    async def newest_sample_age(self) -> float:
        return 0.0


def make_poller(
    clusters: list[Cluster],
    pool: Pool,
    series: object,
    clock: Callable[[], datetime],
    catalog: list[Panel] | None = None,
    supervisor: TaskSupervisor | None = None,
    **settings: float,
) -> Poller:
    return Poller(Registry(clusters), pool, series=series, live=LiveBuffers(), bus=EventBus(),  # type: ignore[arg-type]
                  supervisor=supervisor, catalog=catalog if catalog is not None else load_catalog(),  # type: ignore[arg-type]
                  settings=PollerSettings(**settings), clock=clock)  # fmt: skip


def cluster(
    name: str = "east-1", kinds: tuple[EndpointKind, ...] = (PROM,), **kw: object
) -> Cluster:
    endpoints = [Endpoint(kind=k, url=f"http://127.0.0.1:9/{k.value.lower()}") for k in kinds]
    return Cluster(name=name, endpoints=endpoints, **kw)


async def stored(series: SeriesStore, panel: str, name: str = "east-1") -> np.ndarray:
    await asyncio.wrap_future(series.flush())
    data = series.read(panel, cluster=name)
    return np.concatenate([d.timestamps_ms for d in data]) / 1000 if data else np.zeros(0)


# -- 1: a failing, slow or unwritable panel loses nothing ------------------------------------
@pytest.mark.asyncio
async def test_a_panel_that_fails_does_not_lose_what_the_others_read(store: SeriesStore) -> None:
    """A later panel's 503 used to drop the earlier panels' batches while their read marks
    had moved: node_load's stored samples had a 630 s hole the live buffer did not."""
    clock, prom = Clock(T0), FakeProm()
    east = cluster()
    poller = make_poller([east], Pool(prom=prom), store, clock)
    assert await poller.run_source(east, Source.METRICS)
    clock.advance(minutes=10)
    prom.failing = {"ALERTS"}  # alerts_firing, the last panel, answers 503 this time
    # the others were read: the source succeeded, its panel's failure said in last_error
    assert await poller.run_source(east, Source.METRICS)
    assert "503" in (poller.status[("east-1", Source.METRICS)].last_error or "")
    clock.advance(minutes=10)
    prom.failing = set()
    assert await poller.run_source(east, Source.METRICS)
    ts = await stored(store, "node_load")
    assert ts.size and np.diff(ts).max() == 30  # no hole: every step stored once
    assert ts[-1] == clock().timestamp()


class LockedOnce:
    """The store's writing side: its second write fails as a locked database does."""

    def __init__(self, inner: SeriesStore) -> None:
        self.inner, self.writes = inner, 0

    def append(self, batches: list[SeriesBatch]) -> Future[int]:
        self.writes += 1
        if self.writes == 2:
            refused: Future[int] = Future()
            refused.set_exception(sqlite3.OperationalError("database is locked"))
            return refused
        return self.inner.append(batches)


@pytest.mark.asyncio
async def test_a_refused_store_write_is_read_again(store: SeriesStore) -> None:
    """The write's outcome used to be ignored: a locked database lost a panel's samples for
    good (its read mark had moved). Now the mark goes back and the next poll reads them."""
    clock, prom = Clock(T0), FakeProm()
    east = cluster()
    node_load = [p for p in load_catalog() if p.id == "node_load"]
    poller = make_poller([east], Pool(prom=prom), LockedOnce(store), clock, catalog=node_load)
    assert await poller.run_source(east, Source.METRICS)
    clock.advance(minutes=5)
    assert await poller.run_source(east, Source.METRICS)  # its write is refused
    await asyncio.sleep(0.05)  # the writer's answer reaches the loop
    clock.advance(minutes=5)
    assert await poller.run_source(east, Source.METRICS)
    _, start, _, _ = prom.asked[-1]
    assert start == (T0 + timedelta(seconds=30)).timestamp()  # from before the refused write
    ts = await stored(store, "node_load")
    first_start = (T0 - timedelta(hours=1)).timestamp()
    assert ts[0] == first_start and np.diff(ts).max() == 30 and ts[-1] == clock().timestamp()


@pytest.mark.asyncio
async def test_a_slow_prometheus_still_gets_every_panel_read(store: SeriesStore) -> None:
    """Each query takes 0.2 s, the poll's limit is 1.9 s, 14 panels (2.8 s): every poll ran
    out of time after the same first panels (the rest never read, nothing stored). Each panel
    read is stored at once and the next poll starts with those not read, so two polls store
    all."""
    clock, prom = Clock(T0), FakeProm(delay_s=0.2)
    east = cluster()
    catalog = load_catalog()
    assert sum(p.source is PROM for p in catalog) * 0.2 > 1.9  # one poll cannot read them all
    poller = make_poller([east], Pool(prom=prom), store, clock, catalog=catalog, timeout_s=1.9)
    assert await poller.run_source(east, Source.METRICS)  # out of time, but panels were read
    clock.advance(seconds=30)
    await poller.run_source(east, Source.METRICS)
    await asyncio.wrap_future(store.flush())
    for panel in (p for p in catalog if p.source is PROM):
        assert store.read(panel.id, cluster="east-1"), panel.id


@pytest.mark.asyncio
async def test_a_poll_cut_short_keeps_what_it_read_and_goes_on_where_it_stopped(
    store: SeriesStore,
) -> None:
    """A poll out of time writes each panel it finished; the next starts with those read
    longest ago, so however slow the endpoint no panel is starved."""
    clock, prom = Clock(T0), FakeProm(delay_s=0.2)
    east = cluster()
    catalog = [p for p in load_catalog() if p.source is PROM][:4]
    poller = make_poller([east], Pool(prom=prom), store, clock, catalog=catalog, timeout_s=0.35)
    for _ in range(len(catalog) + 2):  # a panel a poll
        await poller.run_source(east, Source.METRICS)
        clock.advance(seconds=30)
    await asyncio.wrap_future(store.flush())
    assert all(store.read(p.id, cluster="east-1") for p in catalog)


# -- 2: a long outage --------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_after_a_two_day_outage_metrics_are_read_again(store: SeriesStore) -> None:
    """The catch-up read went from the newest sample held: 2 days at 15 s is past
    Prometheus's 11,000 points, refused for ever. Now it reaches back as far as a first read
    does; the stretch before that stays a gap."""
    clock, prom = Clock(T0), FakeProm()
    hub = cluster(cluster_type=ClusterType.HUB)  # 15 s
    node_load = [p for p in load_catalog() if p.id == "node_load"]
    poller = make_poller([hub], Pool(prom=prom), store, clock, catalog=node_load)
    assert await poller.run_source(hub, Source.METRICS)
    clock.advance(days=2)
    assert await poller.run_source(hub, Source.METRICS)
    _, start, end, step = prom.asked[-1]
    assert end - start <= 3600 and step == 15
    ts = await stored(store, "node_load")
    assert ts[-1] == clock().timestamp()
    assert np.diff(ts).max() == 2 * 86400 - 3600  # the gap stays a gap, nothing invented


# -- 3: a hub's members' alerts ----------------------------------------------------------------
class HubAlerts:
    async def alerts(self, _cluster: str) -> list[Alert]:
        return [Alert(fingerprint="a1", cluster="east-1", name="GPUFellOff",
                      severity=AlertSeverity.CRITICAL, starts_at=T0),
                Alert(fingerprint="a2", cluster="west-2", name="PtpFreeRun",
                      severity=AlertSeverity.CRITICAL, starts_at=T0)]  # fmt: skip


@pytest.mark.asyncio
async def test_a_hubs_member_alerts_outlive_another_clusters_health_check() -> None:
    """Every health check publishes CLUSTERS_CHANGED; the reconcile it runs used to delete
    the alerts of every name not registered, a hub's members included."""
    hub = cluster("acm-hub", (PROM, AM), kind=ClusterKind.FLEET)
    hub.status.members = ["east-1", "edge-7"]
    spoke = cluster("spoke-9")
    supervisor = TaskSupervisor()
    poller = make_poller([hub, spoke], Pool(am=HubAlerts()), None, Clock(T0), catalog=[],
                         supervisor=supervisor)  # fmt: skip
    try:
        await poller.run_source(hub, Source.ALERTS)
        poller.alerts["edge-7"] = []  # listed by the hub, no alerts
        poller.alerts["gone-1"] = []  # a cluster removed
        poller._on_clusters_changed(poller._registry.clusters())  # spoke-9's health check
        assert {k: [a.name for a in v] for k, v in poller.alerts.items()} == {
            "east-1": ["GPUFellOff"], "west-2": ["PtpFreeRun"], "edge-7": []}  # fmt: skip
        poller._on_clusters_changed([spoke])  # the hub removed: its members' alerts go with it
        assert poller.alerts == {}
    finally:
        poller.stop()
        await supervisor.shutdown()


# -- 5: a clock jump ---------------------------------------------------------------------------
class Loki:
    """Loki's count of error lines a minute, two each minute up to the real time (it has
    nothing from the future)."""

    def __init__(self, real: Callable[[], datetime]) -> None:
        self.real, self.asked = real, 0

    async def query_range(self, query: object, step_s: float) -> SimpleNamespace:
        self.asked += 1
        start, end = query.start_ns / 1e9, query.end_ns / 1e9  # type: ignore[attr-defined]
        first = start - start % step_s + (step_s if start % step_s else 0)
        points = [(float(t), 2.0) for t in np.arange(first, min(end, self.real().timestamp()) + 1,
                                                      step_s)]  # fmt: skip
        labels = {"k8s_namespace_name": "ns", "k8s_pod_name": "p"}
        return SimpleNamespace(series=[SimpleNamespace(labels=labels, points=points)])


@pytest.mark.asyncio
async def test_a_clock_jump_reads_again_and_invents_no_zeros(
    store: SeriesStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The clock 6 h ahead, then set right: the read mark, 6 h in the future, used to skip
    every read for 6 h (each poll a success) after zero-filling 6 h Loki had nothing of."""
    real = Clock(T0)
    skew = [timedelta(hours=6)]
    loki = Loki(real)
    east = cluster(kinds=(PROM, LOKI))
    errors = [p for p in load_catalog() if p.id == "error_log_lines"]
    poller = make_poller([east], Pool(loki_client=loki), store, lambda: real() + skew[0],
                         catalog=errors)  # fmt: skip
    assert await poller.run_source(east, Source.LOGS)
    skew[0] = timedelta(0)  # NTP sets it right
    real.advance(hours=1)
    asked = loki.asked
    with caplog.at_level(logging.WARNING, logger="aiops.services.poller"):
        assert await poller.run_source(east, Source.LOGS)
    assert loki.asked > asked and any("clock" in r.getMessage() for r in caplog.records)
    live = poller.live.snapshot("east-1", "error_log_lines")
    [(ts, values)] = live.series.values()
    assert ts[-1] <= real().timestamp() and set(values[ts > T0.timestamp()]) == {2.0}
    await asyncio.wrap_future(store.flush())
    [data] = store.read("error_log_lines", cluster="east-1")
    after = data.timestamps_ms / 1000 > T0.timestamp()
    assert set(data.values[after]) == {2.0}  # Loki said 2 every minute, nothing else stored
    assert data.timestamps_ms[-1] / 1000 <= real().timestamp()


# -- 6: lines Loki has a few seconds late --------------------------------------------------------
class LateLoki:
    """One error line a second, each queryable 5 s after it was logged."""

    def __init__(self, now: Clock) -> None:
        self.now = now

    async def query_range(self, query: object, step_s: float) -> SimpleNamespace:
        start, end = query.start_ns / 1e9, query.end_ns / 1e9  # type: ignore[attr-defined]
        visible = self.now().timestamp() - 5
        points = []
        for t in np.arange(start, end + 1, step_s):  # lines in (t - 60, t] visible now
            n = max(0.0, min(t, visible) - (t - 60))
            if n > 0:
                points.append((float(t), float(int(n))))
        labels = {"k8s_namespace_name": "ns", "k8s_pod_name": "p"}
        return SimpleNamespace(series=[SimpleNamespace(labels=labels, points=points)])


@pytest.mark.asyncio
async def test_a_minute_is_read_once_its_late_lines_are_in(store: SeriesStore) -> None:
    """Each minute used to be read the moment it ended and never again: with 5 s of
    ingestion lag every stored minute held 57 of its 60 lines."""
    clock = Clock(T0 + timedelta(seconds=2))
    east = cluster(kinds=(PROM, LOKI))
    errors = [p for p in load_catalog() if p.id == "error_log_lines"]
    poller = make_poller([east], Pool(loki_client=LateLoki(clock)), store, clock, catalog=errors)
    for _ in range(40):  # 20 minutes of SPOKE polls, 30 s apart
        assert await poller.run_source(east, Source.LOGS)
        clock.advance(seconds=30)
    await asyncio.wrap_future(store.flush())
    [data] = store.read("error_log_lines", cluster="east-1", start_ms=int(T0.timestamp() * 1000))
    assert data.values.size >= 18 and set(data.values) == {60.0}


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_real_prometheus_answers_the_catch_up_after_two_days(
    store: SeriesStore,
    member_prometheus: dict[str, RunningPrometheus],
) -> None:
    """The real binary refuses a 2-day range at 15 s (11,000 points a series at most): the
    read after such an outage must ask for less, or it fails for ever."""
    client = PrometheusClient(
        BackendClient(member_prometheus["east-1"].url, name="prometheus", policy=HttpPolicy())
    )
    hub = cluster(cluster_type=ClusterType.HUB)
    node_load = [p for p in load_catalog() if p.id == "node_load"]
    poller = make_poller([hub], Pool(prom=client), store, lambda: datetime.now(UTC),
                         catalog=node_load)  # fmt: skip
    try:
        poller._since[(hub.id, "node_load")] = time.time() - 2 * 86400  # held before the outage
        assert await poller.run_source(hub, Source.METRICS), poller.status[
            ("east-1", Source.METRICS)
        ].last_error
        assert poller.live.snapshot("east-1", "node_load").series
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_a_quiet_cluster_with_no_count_at_all_is_read_without_error(
    store: SeriesStore,
) -> None:
    """Nothing ever answered: nothing to zero-fill, no error (the zeros reach only past a
    count the endpoint has shown)."""

    class Quiet:
        async def query_range(self, _query: object, step_s: float) -> SimpleNamespace:
            return SimpleNamespace(series=[])

    east = cluster(kinds=(PROM, LOKI))
    errors = [p for p in load_catalog() if p.id == "error_log_lines"]
    poller = make_poller([east], Pool(loki_client=Quiet()), store, Clock(T0), catalog=errors)
    assert await poller.run_source(east, Source.LOGS)
    assert not poller.live.snapshot("east-1", "error_log_lines").series
