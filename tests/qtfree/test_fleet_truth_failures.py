"""The fleet's one truth when a read fails: nothing unread is ever OK.

The bundled sample capture's recorded answers stand for the hub's Prometheus (its GPU, PTP
and kube-state-metrics series, through the real readers), with a live-mode truth over them:
the findings queries then fail for the hub (a timeout, as a Thanos querier under load gives)
and answer again. What was CRITICAL stays CRITICAL (its findings kept, marked stale), the
findings source is unreachable for the hub and its members, `fleet` counts it as unread, and
nothing is told as new when the read succeeds again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import AlertSeverity, Cluster, ClusterKind, EndpointKind
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.fleet import (
    Coverage,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
    new_critical,
)
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, QueryAnswer, QueryStatus
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.text import age_text
from aiops_desktop.models.wall import TILE_LINES, WallPage
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.core import Core
from aiops_desktop.services.fleet.state import FleetState, unread_sources
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.outputs.wall import WallService
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller as RealPoller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import PollerSettings, resources_dir

SAMPLE = resources_dir() / "samples" / "sample.aiops"
MEMBERS = ("ran-east", "ran-west", "ai-lab")


@dataclass
class Poller:
    """What the truth and the wall read of the poller: its sources' statuses, the alerts
    firing, each hub's newest sample's age and when each member was last seen, and how
    often it reads a cluster (the wall's staleness)."""

    status: dict[tuple[str, str], SourceStatus] = field(default_factory=dict)
    alerts: dict[str, list[Alert]] = field(default_factory=dict)
    hub_newest: dict[str, datetime | None] = field(default_factory=dict)
    hub_age_s = RealPoller.hub_age_s  # the poller's own rule: the age at the time asked
    member_seen: dict[str, dict[str, datetime | None]] = field(default_factory=dict)
    settings: PollerSettings = field(default_factory=PollerSettings)
    catalog: list[Panel] = field(default_factory=list)

    def interval_s(self, cluster: Cluster, source: str) -> float:
        return float(cluster.check_interval_s)


class NoAnomalies:
    async def current(self, within: timedelta) -> list[object]:
        return []


class Flaky:
    """The capture's recorded answers; the queries ``failing`` picks time out instead, for
    every cluster asked (as a querier under load answers)."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.failing: Callable[[MetricQuery], bool] = lambda query: False

    async def run(self, query: MetricQuery, clusters: list) -> QueryAnswer:
        if not self.failing(query):
            return await self.real.run(query, clusters)
        out = [
            ClusterOutcome(c.name, False, 30000.0, reason="timed_out",
                           error=f"{c.name}: no answer within 30 s")
            for c in clusters
        ]  # fmt: skip
        return QueryAnswer(query, QueryStatus.ERROR, [], out, 30000.0)


@dataclass
class Live:
    core: Core
    poller: Poller
    queries: Flaky
    fleet: FleetState


@pytest_asyncio.fixture
async def live() -> AsyncIterator[Live]:
    """A live-mode truth (its hub's metrics poll answering) over the sample's answers."""
    core = await asyncio.to_thread(open_capture, SAMPLE)
    try:
        await core.registry.load()
        now = core.now()
        poller = Poller()
        for c in core.registry.clusters():
            s = poller.status[(c.name, Source.METRICS)] = SourceStatus(c.name, Source.METRICS, 15.0)
            s.polls, s.last_success = 10, now - timedelta(seconds=5)
        queries = Flaky(core.queries)
        fleet = FleetState(core.registry, poller, queries, NoAnomalies(), EventBus(),
                           clock=core.now)  # fmt: skip
        yield Live(core, poller, queries, fleet)
    finally:
        await core.shutdown()


def states(truth: FleetTruth) -> dict[str, Health]:
    return {t.name: t.state for t in truth.clusters}


@pytest.mark.asyncio
async def test_a_failed_findings_read_is_unreachable_not_ok(live: Live) -> None:
    first = await live.fleet.refresh()
    assert states(first)["ran-east"] is Health.CRITICAL
    assert states(first)["ai-lab"] is Health.DEGRADED
    assert all("findings" not in t.coverage for t in first.clusters)  # read: not listed
    before = {f.subject for f in first.get("ran-east").findings}

    live.queries.failing = lambda query: True  # every findings query times out for the hub
    failed = await live.fleet.refresh()
    got = states(failed)
    assert got["ran-east"] is Health.CRITICAL  # what was known is kept, not turned OK
    assert got["ai-lab"] is Health.STALE and got["ran-west"] is Health.STALE
    assert got["ran-hub"] is Health.STALE  # the hub's own findings were not read either
    for name in ("ran-hub", *MEMBERS):
        truth = failed.get(name)
        assert truth is not None and truth.coverage["findings"] is Coverage.UNREACHABLE
        assert truth.health_score is not None and truth.health_score < 100
        assert "no answer within 30 s" in (truth.unread.get("findings") or "")
    east = failed.get("ran-east")
    assert east is not None and {f.subject for f in east.findings} == before
    assert all(f.stale for f in east.findings) and east.findings[0].line().endswith("(last known)")
    assert east.stale_since == first.at  # the last good read
    # `fleet` says the hub's findings were not read (and so exits 3)
    unread, sources = unread_sources([], failed.clusters)
    assert unread == ["ran-hub/findings: GPU: ran-hub: no answer within 30 s; "
                      "PTP: ran-hub: no answer within 30 s; "
                      "Kubernetes: ran-hub: no answer within 30 s"]  # fmt: skip
    assert sources == 1
    assert new_critical(first, failed) == []

    live.queries.failing = lambda query: False
    again = await live.fleet.refresh()
    assert states(again) == states(first)
    assert all("findings" not in t.coverage for t in again.clusters)
    assert not any(f.stale for t in again.clusters for f in t.findings)
    # already known before the failed read: not news (no re-notification, no re-flash)
    assert new_critical(failed, again) == []
    assert unread_sources([], again.clusters)[0] == []


@pytest.mark.asyncio
async def test_only_the_domain_not_read_is_kept_stale(live: Live) -> None:
    await live.fleet.refresh()
    live.queries.failing = lambda query: "ptp" in query.promql  # the PTP board's queries only
    truth = await live.fleet.refresh()
    east = truth.get("ran-east")
    assert east is not None and east.coverage["findings"] is Coverage.UNREACHABLE
    ptp = [f for f in east.findings if f.domain is Domain.PTP]
    gpu = [f for f in east.findings if f.domain is Domain.GPU]
    assert ptp and all(f.stale for f in ptp)  # FREERUN on du-2: last known
    assert gpu and not any(f.stale for f in gpu)  # read now
    assert list(east.unread) == ["findings"] and east.unread["findings"].startswith("PTP: ")


@pytest.mark.asyncio
async def test_findings_not_refreshed_for_long_are_stale(live: Live) -> None:
    """The refresh task failing as a whole (or stopped) leaves the findings as they were:
    after three missed refreshes they are said to be stale."""
    await live.fleet.refresh()
    start = live.core.now()
    live.fleet._clock = lambda: start + timedelta(minutes=4)
    for s in live.poller.status.values():
        s.last_success = start + timedelta(minutes=4)
    east = live.fleet.snapshot().get("ran-east")
    assert east is not None and east.coverage["findings"] is Coverage.STALE
    assert east.stale_since == start and east.state is Health.CRITICAL
    assert live.fleet.snapshot().get("ai-lab").state is Health.STALE


# -- what the wall makes of the truth ------------------------------------------------------
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


class Registry:
    """The registry's reading side over given clusters, with its real rule for members."""

    members = ClusterRegistry.members
    hubs_of = ClusterRegistry.hubs_of
    hub_of = ClusterRegistry.hub_of

    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = {c.id: c for c in clusters}

    def clusters(self) -> list[Cluster]:
        return list(self._clusters.values())


def cluster(name: str, *, hub: bool = False, members: tuple[str, ...] = ()) -> Cluster:
    made = Cluster(
        name=name, kind=ClusterKind.FLEET if hub else ClusterKind.CLUSTER,
        endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=f"http://{name}.invalid:9090"),
                   Endpoint(kind=EndpointKind.ALERTMANAGER, url=f"http://{name}.invalid:9093")],
    )  # fmt: skip
    made.status.members = list(members)
    return made


def polled(poller: Poller, name: str, source: str, at: datetime, *, failing: bool = False) -> None:
    status = poller.status.setdefault((name, source), SourceStatus(name, source, 30.0))
    status.polls += 1
    if failing:
        status.consecutive_errors += 1
        status.last_error = "connect: connection refused"
    else:
        status.consecutive_errors, status.last_error, status.last_success = 0, None, at


@dataclass
class Wall:
    poller: Poller
    live: LiveBuffers
    fleet: FleetState
    wall: WallService
    now: list[datetime]

    def page(self, name: str) -> WallPage:
        return next(p for p in self.wall.build([name]).pages if p.name == name)


def make_wall(clusters: list[Cluster], *, findings: dict[str, list[Finding]] | None = None) -> Wall:
    registry, poller, live, now = Registry(clusters), Poller(), LiveBuffers(), [T0]
    fleet = FleetState(registry, poller, None, NoAnomalies(), EventBus(),
                       clock=lambda: now[0])  # fmt: skip
    fleet._found, fleet._refreshed_at = dict(findings or {}), T0  # a refresh read these
    fleet._read_at = {c.name: T0 for c in clusters}
    wall = WallService(registry, poller, live, fleet, lambda: now[0])
    for c in clusters:
        for source in (Source.METRICS, Source.ALERTS):
            polled(poller, c.name, source, T0)
    fleet.snapshot()  # as the refresh publishes it
    return Wall(poller, live, fleet, wall, now)


def gpus(live: LiveBuffers, name: str, at: datetime, *, util: bool = True) -> None:
    ts = np.array([at.timestamp()])
    for g in range(4):
        labels = {"node": "gpu-1", "gpu": str(g)}
        live.append(name, "gpu_temperature", labels, ts, np.array([61.0]))
        if util:
            live.append(name, "gpu_util", labels, ts, np.array([50.0]))


XID = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-1/gpu3", "XID 79: GPU has fallen off")


def test_a_gpu_tile_of_a_cluster_not_read_is_unknown_never_ok() -> None:
    w = make_wall([cluster("ran-east")], findings={"ran-east": [XID]})
    gpus(w.live, "ran-east", T0)
    assert w.page("gpu").tiles[0].state == "CRITICAL"
    w.now[0] = T0 + timedelta(seconds=90)  # ran-east is lost; the refresh read nothing of it
    for source in (Source.METRICS, Source.ALERTS):
        polled(w.poller, "ran-east", source, w.now[0], failing=True)
    w.fleet._found = {}
    tile = w.page("gpu").tiles[0]
    assert tile.state == "UNKNOWN" and tile.stale
    assert tile.lines[0] == "UNKNOWN · cluster OFFLINE" and tile.stale_since == T0
    fleet = w.page("fleet").tiles[0]
    assert fleet.lines[:2] == ["OFFLINE · score 0", "nothing found in what was read"]
    assert fleet.stale and fleet.stale_since == T0


def test_a_gpu_tile_whose_findings_were_not_read_keeps_its_critical_stale() -> None:
    """Its kept CRITICAL stays CRITICAL, badged stale, as the fleet's page keeps it (it was
    UNKNOWN here, CRITICAL there, and the GPU page rotated after a WARNING-only page)."""
    w = make_wall([cluster("ran-east")], findings={"ran-east": [replace(XID, stale=True)]})
    w.fleet._unread = {"ran-east": "GPU: ran-east: no answer within 30 s"}
    gpus(w.live, "ran-east", T0)
    tile = w.page("gpu").tiles[0]
    assert tile.state == "CRITICAL" and tile.stale
    assert tile.lines[0] == ("CRITICAL · gpu-1/gpu3: XID 79: GPU has fallen off (last known); "
                             "findings unreachable")  # fmt: skip
    w.fleet._unread, w.fleet._found = {}, {}  # read: none found
    assert w.page("gpu").tiles[0].lines[0] == "OK · no GPU findings"


def test_a_gpu_tile_says_why_first_and_fits_its_lines() -> None:
    w = make_wall([cluster("ran-east")], findings={"ran-east": [XID]})
    gpus(w.live, "ran-east", T0, util=False)  # DCGM's utilisation not exported (MIG)
    tile = w.page("gpu").tiles[0]
    assert tile.lines[0] == "CRITICAL · gpu-1/gpu3: XID 79: GPU has fallen off"
    assert len(tile.lines) <= TILE_LINES
    assert tile.lines[1] == "4 GPUs · utilisation not read"  # not "nan% busy"


def test_a_member_of_two_hubs_has_one_tile_and_each_hub_counts_it() -> None:
    hubs = [cluster("gpu-hub", hub=True, members=("ran-east",)),
            cluster("ptp-hub", hub=True, members=("ran-east",))]  # fmt: skip
    w = make_wall(hubs)
    gpus(w.live, "ran-east", T0)
    w.live.append("ran-east", "ptp_clock_state", {"node": "du-1", "iface": "ens1f0"},
                  np.array([T0.timestamp()]), np.array([1.0]))  # fmt: skip
    assert [t.title for t in w.page("gpu").tiles] == ["ran-east"]
    assert [t.title for t in w.page("ptp").tiles] == ["ran-east"]
    fleet = {t.title: t for t in w.page("fleet").tiles}
    assert fleet["ptp-hub"].lines[1] == "fleet hub of 1 member cluster"
    w.poller.hub_newest["gpu-hub"] = T0 - timedelta(seconds=45)  # as its last poll said
    fleet = {t.title: t for t in w.page("fleet").tiles}
    assert fleet["gpu-hub"].lines[1] == "fleet hub of 1 member cluster · newest sample 45 s ago"
    w.now[0] = T0 + timedelta(minutes=10)  # not polled since: the sample only gets older
    fleet = {t.title: t for t in w.page("fleet").tiles}
    assert fleet["gpu-hub"].lines[1].endswith(f"newest sample {age_text(645)}")


def alert(name: str, severity: AlertSeverity, began: datetime, where: str = "ran-east") -> Alert:
    return Alert(fingerprint=name + where, cluster=where, name=name, severity=severity,
                 starts_at=began)  # fmt: skip


def test_the_alerts_page_says_what_it_leaves_out_and_how_old() -> None:
    w = make_wall([cluster("ran-east")])
    w.poller.alerts["ran-east"] = [
        alert(f"Alert{i:02d}", AlertSeverity.CRITICAL if i >= 15 else AlertSeverity.WARNING,
              T0 - timedelta(days=2, minutes=i))
        for i in range(20)
    ]  # fmt: skip
    tiles = w.page("alerts").tiles
    assert len(tiles) == 13 and tiles[-1].title == "More alert groups"
    assert tiles[-1].lines == ["8 more alert groups not shown", "8 alerts firing · 0 critical"]
    assert tiles[0].lines[2] == "for 48.3 h"  # not "for 2895 min"
    assert tiles[0].age_s == 0 and not tiles[0].stale


def test_an_alert_from_an_unreachable_alertmanager_is_badged_stale() -> None:
    w = make_wall([cluster("ran-east"), cluster("ran-west")])
    w.poller.alerts = {"ran-east": [alert("PtpClockFreerun", AlertSeverity.CRITICAL, T0)],
                       "ran-west": []}  # fmt: skip
    w.now[0] = T0 + timedelta(hours=3)
    polled(w.poller, "ran-east", Source.ALERTS, w.now[0], failing=True)
    for source in (Source.ALERTS, Source.METRICS):
        polled(w.poller, "ran-west", source, w.now[0])
    polled(w.poller, "ran-east", Source.METRICS, w.now[0])
    tile = w.page("alerts").tiles[0]
    assert tile.stale and tile.stale_since == T0 and tile.age_s == 3 * 3600
    # a fleet tile with any source lost is stale, whatever its state
    east = next(t for t in w.page("fleet").tiles if t.title == "ran-east")
    assert east.state == "CRITICAL" and east.stale and east.stale_since == T0


def test_the_wall_judges_alerts_as_the_alerts_page_does() -> None:
    """One rule for both: "nothing firing" only where every Alertmanager answered recently
    (one that stopped being polled, with no error counted, read as known), and a hub
    member's alert is as fresh as its hub's Alertmanager, since when it went quiet."""
    w = make_wall([cluster("ran-east"), cluster("ran-west")])
    w.poller.alerts = {"ran-east": [], "ran-west": []}
    w.now[0] = T0 + timedelta(hours=3)
    polled(w.poller, "ran-east", Source.ALERTS, w.now[0])  # ran-west's last read is 3 h old
    [tile] = w.page("alerts").tiles
    assert tile.title == "No alerts firing" and tile.state == "UNKNOWN"
    assert tile.lines[:1] == ["1 of 2 Alertmanagers read"]
    assert tile.lines[1].startswith("ran-west: no answer (last read ")
    polled(w.poller, "ran-west", Source.ALERTS, w.now[0])
    assert w.page("alerts").tiles[0].state == "OK"

    hub = make_wall([cluster("ran-hub", hub=True, members=("du-east",))])
    hub.poller.alerts = {"du-east": [alert("PtpClockFreerun", AlertSeverity.CRITICAL, T0,
                                           where="du-east")]}  # fmt: skip
    hub.now[0] = T0 + timedelta(hours=1)
    polled(hub.poller, "ran-hub", Source.ALERTS, hub.now[0], failing=True)
    tile, unread = hub.page("alerts").tiles  # the hub's Alertmanager is failing: said too
    assert tile.stale and tile.stale_since == T0 and tile.age_s == 3600
    assert unread.title == "Alertmanagers not read"


def test_the_wall_lists_the_fleet_in_the_truths_order() -> None:
    """STALE before DEGRADED, as the Fleet page and `fleet` list them."""
    warn = Finding(Domain.GPU, FindingSeverity.WARNING, "gpu-0/gpu1", "2 rows remapped")
    w = make_wall([cluster("ai-lab"), cluster("ran-west")], findings={"ai-lab": [warn]})
    w.now[0] = T0 + timedelta(minutes=2)
    polled(w.poller, "ai-lab", Source.METRICS, w.now[0])
    polled(w.poller, "ai-lab", Source.ALERTS, w.now[0])
    polled(w.poller, "ran-west", Source.METRICS, w.now[0], failing=True)
    truth = [t.name for t in w.fleet.snapshot().clusters]
    assert truth == ["ran-west", "ai-lab"]  # STALE, DEGRADED
    assert [t.title for t in w.page("fleet").tiles] == truth


def test_a_hubs_own_alert_reaches_the_truth() -> None:
    w = make_wall([cluster("ran-hub", hub=True, members=("ran-east",))])
    w.poller.alerts = {"ran-hub": [alert("ThanosReceiveDown", AlertSeverity.CRITICAL,
                                         T0 - timedelta(minutes=20), "ran-hub")],
                       "ran-east": []}  # fmt: skip
    truth = w.fleet.snapshot()
    hub = truth.get("ran-hub")
    assert hub is not None and hub.state is Health.CRITICAL
    assert ("ran-hub", "alerts", "ThanosReceiveDownran-hub") in truth.critical()  # fingerprint
    assert w.page("fleet").tiles[0].title == "ran-hub"


class HubRegistry(Registry):
    """With what the poller notes of a hub's members."""

    def get(self, name: str) -> Cluster:
        return next(c for c in self.clusters() if c.name == name)

    async def set_members(self, name: str, members: list[str]) -> None:
        self.get(name).status.members = list(members)


class NoStore:
    def append(self, batches: list[object]) -> None:
        pass


@pytest.mark.asyncio
async def test_a_member_that_stops_reporting_goes_stale_not_away() -> None:
    """A hub member powered off leaves the hub's answers: it stays listed, STALE from when a
    poll last had its series (the hub's own poll answering does not make it fresh), until it
    is back; a day without it and it is no longer listed."""
    from aiops_desktop.services.polling.catalog import load_catalog
    from aiops_desktop.services.polling.poller import Poller as RealPoller

    hub = cluster("ran-hub", hub=True)
    registry, now = HubRegistry([hub]), [T0]
    panels = [p for p in load_catalog() if p.source is EndpointKind.PROMETHEUS][:2]
    poller = RealPoller(
        registry=registry, pool=None, series=NoStore(), live=LiveBuffers(), bus=EventBus(),
        supervisor=None, catalog=panels, clock=lambda: now[0],
    )  # fmt: skip
    fleet = FleetState(registry, poller, None, NoAnomalies(), EventBus(), clock=lambda: now[0])
    reporting: list[str] = []

    async def read(_panel: object, start: float, end: float, step: float) -> list[tuple]:
        grid = np.arange(start, end + 1, step)
        return [({"cluster": m, "node": "n1"}, grid, np.ones(grid.size)) for m in reporting]

    async def poll(after: timedelta, *members: str) -> FleetTruth:
        reporting[:] = members
        now[0] += after
        seen, failures = await poller._read_panels(hub, EndpointKind.PROMETHEUS, read)
        await poller._note_members("ran-hub", seen, complete=not failures)
        polled(poller, "ran-hub", Source.METRICS, now[0])
        polled(poller, "ran-hub", Source.ALERTS, now[0])
        fleet._refreshed_at = now[0]  # the findings are read (none)
        fleet._read_at["ran-hub"] = now[0]
        return fleet.snapshot()

    first = await poll(timedelta(minutes=6), "ai-lab", "ran-east")
    assert states(first) == {"ran-hub": Health.OK, "ai-lab": Health.OK, "ran-east": Health.OK}
    gone = await poll(timedelta(minutes=6), "ai-lab")  # ran-east powered off
    east = gone.get("ran-east")
    assert east is not None and east.state is Health.STALE
    assert east.coverage["metrics"] is Coverage.STALE and east.data_age_s == 360
    assert east.stale_since == T0 + timedelta(minutes=6)
    assert states(gone)["ai-lab"] is Health.OK and hub.status.members == ["ai-lab", "ran-east"]
    back = await poll(timedelta(minutes=6), "ai-lab", "ran-east")
    assert states(back)["ran-east"] is Health.OK
    await poll(timedelta(hours=12), "ai-lab")
    assert hub.status.members == ["ai-lab", "ran-east"]  # still listed, STALE
    await poll(timedelta(hours=13), "ai-lab")
    assert hub.status.members == ["ai-lab"]  # a day without it: no longer listed
