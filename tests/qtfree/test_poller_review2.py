"""The polling loop's second review: an answer's stray points (one far ahead, out of order,
twice) are not held; a hub whose freshness query fails still has its members noted; a big
answer is cut (and the cut said) and filed without holding the event loop; a Tempo 404 is
"not offered" only where Tempo's search answers at that URL, shown as a status, and a fixed
endpoint is read at once; the names a hub's alerts once named do not pile up (fakes and an
injected clock; no servers)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.metrics import PromSeries
from aiops_desktop.models.observability import LogSeries
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling import poller as poller_module
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import ALERTS_CHANGED, Poller
from aiops_desktop.services.runtime.bus import CLUSTERS_CHANGED, EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import PollerSettings
from aiops_desktop.store.series import SeriesBatch
from collectors.errors import CollectorError, CollectorServerError
from collectors.prometheus import PromResult
from tests.qtfree.poller_fakes import Clock
from tests.qtfree.test_poller_data_fixes import (
    AM,
    LOAD,
    PROM,
    FakeAM,
    FakeProm,
    Pool,
    Registry,
    cluster,
    fleet_hub,
    make_poller,
)

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
TEMPO = EndpointKind.TEMPO


class Recorded:
    """A stand-in store: the batches the poller hands it."""

    def __init__(self) -> None:
        self.batches: list[SeriesBatch] = []

    def append(self, batches: list[SeriesBatch]) -> None:
        self.batches += list(batches)


# -- 1: stray points ---------------------------------------------------------------------------
class StrayProm(FakeProm):
    """Each series answered with a point ten years ahead first, one from long before the
    range, its points in reverse order and its newest twice."""

    async def query_range(self, promql: str, start: float, end: float, step: float) -> PromResult:
        answer = await super().query_range(promql, start, end, step)
        out = []
        for s in answer.series:
            ts = np.concatenate([[T0.timestamp() + 10 * 365 * 86400.0, 1.0],
                                 s.timestamps[::-1], s.timestamps[-1:]])  # fmt: skip
            out.append(PromSeries(s.labels, ts, np.arange(ts.size, dtype=float)))
        return PromResult("matrix", out, [])


@pytest.mark.asyncio
async def test_an_answers_stray_points_are_not_held_nor_written() -> None:
    """A point far ahead placed first passed the clip (only the last point was checked): it
    went into the live ring (out of order, every later point refused) and the store's head
    (after compaction the store dropped every later sample of the series)."""
    east, clock, written = cluster("east-1"), Clock(T0), Recorded()
    poller = make_poller([east], Pool(**{"east-1": StrayProm()}), written, clock, [LOAD])
    for _ in range(3):
        assert await poller.run_source(east, Source.METRICS)
        clock.advance(seconds=30)
    newest = (clock() - timedelta(seconds=30)).timestamp()
    ts, _ = poller.live.snapshot("east-1", LOAD.id).series[(("instance", "n1"),)]
    assert np.all(np.diff(ts) > 0)  # in order, each time once
    assert ts[-1] <= newest and ts[-1] > newest - 30  # the last poll's points were taken
    assert ts[0] >= T0.timestamp() - 3600 - 30  # nothing from long before the range
    assert len(written.batches) == 3
    for batch in written.batches:
        assert np.all(np.diff(batch.timestamps_ms) > 0)
        assert batch.timestamps_ms[-1] <= newest * 1000
        assert batch.timestamps_ms[0] >= (T0.timestamp() - 3600 - 30) * 1000


# -- 2: a hub's freshness query fails ----------------------------------------------------------
class HubProm(FakeProm):
    def __init__(self) -> None:
        super().__init__({(("cluster", "edge-7"), ("instance", "n1")): 7.0,
                          (("cluster", "edge-8"), ("instance", "n1")): 8.0})  # fmt: skip
        self.age: str = "ok"

    async def newest_sample_age(self) -> float:
        if self.age == "hang":
            await asyncio.sleep(3600)
        if self.age == "fail":
            raise CollectorServerError("HTTP 503 from prometheus", backend="prom", status=503)
        return 5.0


@pytest.mark.asyncio
async def test_a_hub_whose_freshness_query_fails_still_notes_its_members() -> None:
    """The panels read fine, the freshness query failed (or ran past the poll's end): the
    members read were never noted, and those noted before froze at their last time (shown
    STALE while their data came in)."""
    hub, prom, clock = fleet_hub("acm-hub"), HubProm(), Clock(T0)
    poller = make_poller([hub], Pool(**{"acm-hub": prom}), Recorded(), clock, [LOAD])
    poller.settings = PollerSettings(timeout_s=1.0)
    assert await poller.run_source(hub, Source.METRICS)
    newest = poller.hub_newest["acm-hub"]
    assert newest is not None
    for age in ("fail", "hang"):
        prom.age = age
        clock.advance(seconds=15)
        assert await poller.run_source(hub, Source.METRICS)
        assert poller.member_seen["acm-hub"] == {"edge-7": clock(), "edge-8": clock()}
        assert hub.status.members == ["edge-7", "edge-8"]
        assert poller.hub_newest["acm-hub"] == newest  # as it was: not made up
        status = poller.status[("acm-hub", Source.METRICS)]
        assert status.consecutive_errors == 0
        assert status.last_error and "newest sample" in status.last_error
    # a hub never answering it: members noted all the same, its freshness unknown
    other, fresh = fleet_hub("thanos"), HubProm()
    fresh.age = "fail"
    poller = make_poller([other], Pool(thanos=fresh), Recorded(), clock, [LOAD])
    assert await poller.run_source(other, Source.METRICS)
    assert set(poller.member_seen["thanos"]) == {"edge-7", "edge-8"}
    assert poller.hub_age_s("thanos") is None


# -- 3: a big answer ---------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_panels_answer_is_cut_to_its_first_series_and_the_cut_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(poller_module, "PANEL_MOST_SERIES", 5)
    many = FakeProm({(("instance", f"n{i:02}"),): float(i) for i in range(12)})
    east, written = cluster("east-1"), Recorded()
    poller = make_poller([east], Pool(**{"east-1": many}), written, Clock(T0), [LOAD])
    assert await poller.run_source(east, Source.METRICS)
    held = poller.live.snapshot("east-1", LOAD.id).series
    assert sorted(held) == [(("instance", f"n{i:02}"),) for i in range(5)]  # the first ones
    assert len(written.batches) == 5
    status = poller.status[("east-1", Source.METRICS)]
    assert status.consecutive_errors == 0  # read (what was kept), not failed
    assert status.last_error is not None
    assert LOAD.id in status.last_error and "12" in status.last_error
    assert "5" in status.last_error


@pytest.mark.asyncio
async def test_a_big_answer_is_filed_without_holding_the_event_loop() -> None:
    """Its series were filed in one go on the loop (the UI's thread under qasync): 20,000
    series held it 0.65 s. Another task now runs while they are filed."""
    n = 2000
    big = FakeProm({(("instance", f"n{i}"),): 1.0 for i in range(n)})
    east = cluster("east-1")
    poller = make_poller([east], Pool(**{"east-1": big}), Recorded(), Clock(T0), [LOAD])
    counts: list[int] = []

    async def watch() -> None:
        while True:
            counts.append(poller.live.series_count())
            await asyncio.sleep(0)

    watcher = asyncio.ensure_future(watch())
    await asyncio.sleep(0)
    try:
        assert await poller.run_source(east, Source.METRICS)
    finally:
        watcher.cancel()
    assert poller.live.series_count() == n
    assert any(0 < c < n for c in counts), "the loop ran nothing while the series were filed"


# -- 4: Tempo's 404 ----------------------------------------------------------------------------
class FakeTempo:
    def __init__(self, *, searches: bool) -> None:
        self.searches = searches  # whether Tempo's search API answers at the URL
        self.offers = False  # whether its TraceQL metrics do
        self.calls = 0

    async def metrics_range(
        self, traceql: str, *, start_s: int, end_s: int, step_s: int
    ) -> list[LogSeries]:
        self.calls += 1
        if not self.offers:
            raise CollectorError("tempo: HTTP 404", backend="tempo", status=404)
        return []

    async def tags(self) -> list[str]:
        if not self.searches:
            raise CollectorError("tempo: HTTP 404", backend="tempo", status=404)
        return ["service.name"]


class TempoPool:
    def __init__(self, tempo: FakeTempo) -> None:
        self.t = tempo

    async def tempo(self, _: Cluster) -> FakeTempo:
        return self.t

    async def backend(self, _: Cluster, __: EndpointKind) -> object:
        raise CollectorError("no probe here")


def tempo_poller(
    clusters: list[Cluster], tempo: FakeTempo, **kw: object
) -> tuple[Poller, Registry, EventBus]:
    registry, bus = Registry(clusters), EventBus()
    poller = Poller(registry, TempoPool(tempo), series=Recorded(), live=LiveBuffers(),  # type: ignore[arg-type]
                    bus=bus, supervisor=TaskSupervisor(bus),
                    catalog=[p for p in load_catalog() if p.source is TEMPO],
                    settings=PollerSettings(**kw))  # fmt: skip
    return poller, registry, bus


@pytest.mark.asyncio
async def test_a_tempo_without_traceql_metrics_is_said_in_its_status() -> None:
    """Tempo answers its search at the URL, not its metrics: not offered (panels hidden,
    asked again later), and said in the source's status, not a failure."""
    east, tempo = cluster("east-1", (TEMPO,)), FakeTempo(searches=True)
    poller, _, _ = tempo_poller([east], tempo)
    assert await poller.run_source(east, Source.TRACES)
    assert ("east-1", Source.TRACES) in poller.unsupported
    status = poller.status[("east-1", Source.TRACES)]  # shown, not deleted
    assert status.consecutive_errors == 0
    assert status.last_error is not None and "404" in status.last_error
    tempo.offers = True  # upgraded
    assert await poller.run_source(east, Source.TRACES)
    assert not poller.unsupported and status.last_error is None


@pytest.mark.asyncio
async def test_a_404_where_tempos_search_is_missing_too_is_a_failure() -> None:
    """A wrong path in the URL (an ingress mid-rollout): every path 404s. It hid the trace
    panels for an hour with no error shown anywhere."""
    east = cluster("east-1", (TEMPO,))
    poller, _, _ = tempo_poller([east], FakeTempo(searches=False))
    assert not await poller.run_source(east, Source.TRACES)
    assert ("east-1", Source.TRACES) not in poller.unsupported
    status = poller.status[("east-1", Source.TRACES)]
    assert status.consecutive_errors == 1
    assert status.last_error is not None and "404" in status.last_error


@pytest.mark.asyncio
async def test_a_fixed_endpoint_is_read_at_once() -> None:
    """A source's task slept out its hour (or its backoff) after the endpoint was fixed: a
    changed endpoint now restarts it."""
    east, tempo = cluster("east-1", (TEMPO,)), FakeTempo(searches=True)
    poller, registry, bus = tempo_poller([east], tempo, speed=0.01)
    poller.start()
    try:
        for _ in range(200):
            if ("east-1", Source.TRACES) in poller.unsupported:
                break
            await asyncio.sleep(0.01)
        assert ("east-1", Source.TRACES) in poller.unsupported
        old = poller._tasks[(east.id, Source.TRACES)]
        health = poller._tasks[(east.id, Source.HEALTH)]
        calls = tempo.calls
        tempo.offers = True
        url = "http://127.0.0.1:9/tempo/fixed"
        fixed = east.model_copy(update={"endpoints": [Endpoint(kind=TEMPO, url=url)]})
        registry._clusters[:] = [fixed]
        bus.publish(CLUSTERS_CHANGED, registry.clusters())
        assert poller._tasks[(east.id, Source.TRACES)] is not old
        await asyncio.sleep(0)
        assert old.cancelled()
        assert poller._tasks[(east.id, Source.HEALTH)] is not health  # its probes too
        for _ in range(300):  # (its hour is 36 s at this speed)
            if tempo.calls > calls:
                break
            await asyncio.sleep(0.01)
        assert tempo.calls > calls
        # the same endpoints published again: nothing restarted
        same = poller._tasks[(east.id, Source.TRACES)]
        bus.publish(CLUSTERS_CHANGED, registry.clusters())
        assert poller._tasks[(east.id, Source.TRACES)] is same
    finally:
        poller.stop()
        await poller._supervisor.shutdown()


# -- 5: the names a hub's alerts named ---------------------------------------------------------
@pytest.mark.asyncio
async def test_the_names_a_hubs_alerts_once_named_do_not_pile_up() -> None:
    """Short-lived clusters named by a hub's alerts (CI, hosted control planes) each stayed
    in ``alerts`` (an empty list) for good, published every poll."""
    hub, east = fleet_hub("acm-hub", (PROM, AM)), cluster("east-1", (PROM, AM))
    hub.status.members = ["edge-7"]
    am = FakeAM()
    bus = EventBus()
    published: list[dict[str, list[Alert]]] = []
    bus.subscribe(ALERTS_CHANGED, published.append)
    poller = make_poller([hub, east], Pool(**{"acm-hub": am, "east-1": FakeAM()}), None,
                         Clock(T0), [LOAD], bus=bus)  # fmt: skip
    am.firing = {"e7": "edge-7", "own": "acm-hub"}
    await poller.run_source(hub, Source.ALERTS)
    await poller.run_source(east, Source.ALERTS)
    for i in range(30):
        am.firing = {f"fp{i}": f"ci-{i // 3}"}  # a new name every third poll
        await poller.run_source(hub, Source.ALERTS)
    assert set(poller.alerts) == {"ci-9", "acm-hub", "edge-7", "east-1"}
    assert poller.alerts["edge-7"] == [] and poller.alerts["acm-hub"] == []  # listed, kept
    assert set(poller._alerts_from) == set(poller.alerts)
    for n in range(9):  # each ended name was published empty once before it went
        name = f"ci-{n}"
        ended = [i for i, p in enumerate(published) if p.get(name) == []]
        assert len(ended) == 1, name
        assert all(name not in p for p in published[ended[0] + 1 :])
