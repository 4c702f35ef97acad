"""The polling loop's third review: a hub's freshness query has the poll's time left (not a
share of its limit); a counted panel's zero-fill of the series it holds runs off the event
loop, those it holds are bounded, and a cut says the server's count; a source not offered
is neither stale nor "still being read"; a poll restarts on what its source uses changing,
not on the order the endpoints are listed in (fakes and an injected clock; no servers)."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint, EndpointSource
from aiops_desktop.models.credentials import CredentialKind, CredentialRef
from aiops_desktop.models.observability import LogQuery, LogSeries
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.services.assistant.tools import _pending
from aiops_desktop.services.polling import poller as poller_module
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.runtime.bus import CLUSTERS_CHANGED, EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import PollerSettings
from tests.qtfree.poller_fakes import Clock
from tests.qtfree.test_poller_data_fixes import (
    AM,
    LOAD,
    LOKI,
    PROM,
    FakeProm,
    Pool,
    Registry,
    cluster,
    fleet_hub,
    make_poller,
)
from tests.qtfree.test_poller_review2 import T0, FakeTempo, tempo_poller

ERRORS = next(p for p in load_catalog() if p.id == "error_log_lines")  # a counted panel


class Nothing:
    def append(self, _: object) -> None:
        pass


# -- 1: a slow hub freshness query -------------------------------------------------------------
class SlowAgeProm(FakeProm):
    """A big hub: its panels fast, its freshness query (a subquery over an hour of every
    series) 30 % of the poll's limit."""

    async def newest_sample_age(self) -> float:
        await asyncio.sleep(0.3)
        return 5.0


@pytest.mark.asyncio
async def test_a_slow_hub_freshness_query_has_the_polls_time_left() -> None:
    """It was cut at a fifth of the poll's limit: a hub whose query takes longer failed it
    every poll (its freshness never known), with most of the poll's time still left."""
    hub = fleet_hub("acm-hub")
    prom = SlowAgeProm({(("cluster", "edge-7"), ("instance", "n1")): 7.0})
    poller = make_poller([hub], Pool(**{"acm-hub": prom}), Nothing(), Clock(T0), [LOAD])
    poller.settings = PollerSettings(timeout_s=1.0)
    assert await poller.run_source(hub, Source.METRICS)
    age = poller.hub_age_s("acm-hub")
    assert age is not None and age == pytest.approx(5.0, abs=1.0)
    assert poller.status[("acm-hub", Source.METRICS)].last_error is None
    assert set(poller.member_seen["acm-hub"]) == {"edge-7"}


# -- 2: a counted panel's series held ----------------------------------------------------------
class ChurnLoki:
    """Each poll: ``n`` pods never answered before, each with one error line at the read's
    last step (a runaway pod name)."""

    def __init__(self, n: int) -> None:
        self.n, self.generation = n, 0
        self.points = True  # False: each series answered without a point

    async def query_range(self, query: LogQuery, step_s: float) -> SimpleNamespace:
        assert query.end_ns is not None
        end = query.end_ns / 1e9
        self.generation += 1
        pods = [f"p{self.generation}-{i}" for i in range(self.n)]
        labels = [{"k8s_namespace_name": "shop", "k8s_pod_name": pod} for pod in pods]
        points = [(end, 1.0)] if self.points else []
        return SimpleNamespace(series=[LogSeries(labels=lb, points=points) for lb in labels])


def loki_poller(loki: ChurnLoki, clock: Clock) -> tuple[Poller, Cluster]:
    site = cluster("site-1", (LOKI,))
    return make_poller([site], Pool(**{"site-1": loki}), Nothing(), clock, [ERRORS]), site


@pytest.mark.asyncio
async def test_a_small_answer_zero_fills_the_series_held_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whether the work went to a thread was judged by the answer alone: 10 series answered
    zero-filled the 60,000 held from earlier answers on the loop (the UI's thread), 1 s."""
    where: list[bool] = []
    sort_out = poller_module._sorted_out

    def watched(*args: Any, **kw: Any) -> list[Any]:
        where.append(threading.current_thread() is threading.main_thread())
        return sort_out(*args, **kw)

    monkeypatch.setattr(poller_module, "_sorted_out", watched)
    loki, clock = ChurnLoki(poller_module.FILE_SLICE + 100), Clock(T0)
    poller, site = loki_poller(loki, clock)
    for _ in range(2):
        assert await poller.run_source(site, Source.LOGS)
        clock.advance(seconds=60)
    assert len(poller._answered[(site.id, ERRORS.id)]) == 2 * loki.n
    loki.n = 10
    where.clear()
    assert await poller.run_source(site, Source.LOGS)
    assert where == [False], "the held series were zero-filled on the event loop"
    assert poller.live.series_count() == 2 * (poller_module.FILE_SLICE + 100) + 10


@pytest.mark.asyncio
async def test_a_counted_panels_series_held_are_bounded_and_a_cut_says_the_servers_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The series a counted panel holds (zero-filled while quiet) grew past PANEL_MOST_SERIES
    with each poll's new ones; and a cut said the zero-filled count as "series answered"."""
    monkeypatch.setattr(poller_module, "PANEL_MOST_SERIES", 50)
    loki, clock = ChurnLoki(40), Clock(T0)
    poller, site = loki_poller(loki, clock)
    for _ in range(3):
        assert await poller.run_source(site, Source.LOGS)
        clock.advance(seconds=60)
        marks = poller._answered[(site.id, ERRORS.id)]
        assert len(marks) <= 50
        newest = {dict(key)["pod"] for key in marks if marks[key] == max(marks.values())}
        assert newest == {f"p{loki.generation}-{i}" for i in range(40)}  # the newest kept
    status = poller.status[("site-1", Source.LOGS)]
    assert status.last_error is None  # 40 answered: nothing cut
    loki.n = 60
    assert await poller.run_source(site, Source.LOGS)
    assert len(poller._answered[(site.id, ERRORS.id)]) <= 50
    assert status.consecutive_errors == 0
    assert status.last_error is not None
    assert f"{ERRORS.id}: 60 series answered, only the first 50 read" in status.last_error
    # series without a point (not marked) beside the 50 held: zero-filled 100, answered 60
    loki.points = False
    clock.advance(seconds=60)
    assert await poller.run_source(site, Source.LOGS)
    assert status.last_error is not None
    assert f"{ERRORS.id}: 60 series answered (100 with those quiet now)" in status.last_error


# -- 3: a source not offered -------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_source_not_offered_is_neither_stale_nor_pending() -> None:
    """A Tempo without TraceQL metrics kept a status never read, no error: stale (Diagnostics)
    and, to the assistant, "still being read" for good."""
    east, tempo = cluster("east-1", (EndpointKind.TEMPO,)), FakeTempo(searches=True)
    poller, _, _ = tempo_poller([east], tempo)
    assert await poller.run_source(east, Source.TRACES)
    status = poller.status[("east-1", Source.TRACES)]
    assert status.not_offered is not None and "404" in status.not_offered
    assert not status.stale()
    waiting = SourceStatus("west-2", Source.METRICS, 30.0, polls=1)  # read, no answer yet
    poller.status[("west-2", Source.METRICS)] = waiting
    pending = _pending(SimpleNamespace(poller=poller))  # type: ignore[arg-type]
    assert pending == [f"west-2/metrics: {pending[0].split(': ', 1)[1]}"]  # only that one
    assert _pending(SimpleNamespace(poller=poller), Source.TRACES) == []  # type: ignore[arg-type]
    tempo.offers = True  # upgraded: read again, offered
    assert await poller.run_source(east, Source.TRACES)
    assert status.not_offered is None and not status.stale()
    # a failing read after it (the URL now wrong): a failure, no longer "not offered"
    tempo = FakeTempo(searches=True)
    poller, _, _ = tempo_poller([east], tempo)
    assert await poller.run_source(east, Source.TRACES)
    status = poller.status[("east-1", Source.TRACES)]
    assert status.not_offered is not None
    tempo.searches = False
    assert not await poller.run_source(east, Source.TRACES)
    assert status.not_offered is None and status.stale()


# -- 4: what restarts a source's poll ----------------------------------------------------------
def _started(clusters: list[Cluster]) -> tuple[Poller, Registry, EventBus]:
    registry, bus = Registry(clusters), EventBus()
    poller = Poller(registry, object(), series=None, live=LiveBuffers(), bus=bus,  # type: ignore[arg-type]
                    supervisor=TaskSupervisor(bus), catalog=[LOAD],
                    settings=PollerSettings(speed=100))  # fmt: skip
    poller.start()
    return poller, registry, bus


@pytest.mark.asyncio
async def test_the_same_endpoints_reordered_restart_nothing() -> None:
    """A re-discovery finding what the cluster has, beside an endpoint the user set, lists
    them in another order: the health check was cancelled mid-check and started afresh."""
    found = [Endpoint(kind=k, url=f"https://{k.value.lower()}.apps.east",
                      source=EndpointSource.DISCOVERED) for k in (PROM, AM)]  # fmt: skip
    mine = Endpoint(kind=LOKI, url="https://loki.mine")
    east = Cluster(name="east", endpoints=[*found, mine])
    poller, registry, bus = _started([east])
    try:
        before = dict(poller._tasks)
        registry._clusters[:] = [east.model_copy(update={"endpoints": [mine, *found]})]
        bus.publish(CLUSTERS_CHANGED, registry.clusters())
        restarted = [src for key, task in before.items() if poller._tasks[key] is not task
                     for src in [key[1]]]  # fmt: skip
        assert restarted == []
    finally:
        poller.stop()
        await poller._supervisor.shutdown()


@pytest.mark.parametrize(
    "change",
    [
        {"api_server_url": "https://api.new:6443"},
        {"credential": "cluster/x/kubeconfig-2"},
        {"ca_bundle_pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
        {"tls_verify": False},
    ],
    ids=["url", "credential", "ca-bundle", "tls-verify"],
)
@pytest.mark.asyncio
async def test_a_changed_api_server_restarts_the_health_check(change: dict[str, Any]) -> None:
    """A kubeconfig re-import (a rotated credential, a fixed URL or CA) on a cluster whose
    only source is its API server: the health check sat out its backoff on the old one."""
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/kubeconfig-1",
                        context="east")  # fmt: skip
    api = Cluster(name="api-only", api_server_url="https://api.old:6443", credential=ref)
    poller, registry, bus = _started([api])
    try:
        health = poller._tasks[(api.id, Source.HEALTH)]
        if "credential" in change:
            change = {"credential": ref.model_copy(update={"key": change["credential"]})}
        registry._clusters[:] = [api.model_copy(update=change)]
        bus.publish(CLUSTERS_CHANGED, registry.clusters())
        assert poller._tasks[(api.id, Source.HEALTH)] is not health
        again = poller._tasks[(api.id, Source.HEALTH)]
        bus.publish(CLUSTERS_CHANGED, registry.clusters())  # the same again: kept
        assert poller._tasks[(api.id, Source.HEALTH)] is again
    finally:
        poller.stop()
        await poller._supervisor.shutdown()
