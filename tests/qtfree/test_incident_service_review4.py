"""Incidents kept and acknowledged, as a fourth review found them: a closed anomaly is last
seen at its last point; an acknowledgement covers no more than the severity the person saw,
and one made while a refresh runs is reopened by what that refresh adds; past the list's
bound the published rows are those listed."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.cli import incidents as cli
from aiops_desktop.cli.args import Io, Printable
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType, IncidentStatus
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.fleet import Coverage, Domain, Finding, FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence.incidents import (
    INCIDENTS_CHANGED,
    IncidentService,
    anomaly_signals,
)
from aiops_desktop.services.runtime.access import Access
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import LIST_LIMIT, IncidentRepository
from analysis.incidents import group
from tests.qtfree.test_incident_lifecycle import _Anomalies, _Bus, _Fleet, _Poller, alert, truth

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
READ = {"metrics": Coverage.READ, "alerts": Coverage.READ}


# -- 1: a closed anomaly's last point ---------------------------------------------------------
def _anomaly(metric: str, start: datetime, worst: datetime, last: datetime | None) -> Anomaly:
    return Anomaly(cluster="c1", metric=metric, labels={"node": "w1"},
                   method=AnomalyMethod.DOMAIN_RULE, timestamp=worst, started_at=start,
                   last_at=last, score=9, threshold=2.5, severity=AnomalySeverity.CRITICAL,
                   confidence=0.9, type=AnomalyType.SPIKE, actual=99, explanation="hot",
                   open=False)  # fmt: skip


def test_a_closed_anomaly_is_last_seen_at_its_last_point_not_its_worst() -> None:
    """CPU hot from 11:10 to 11:57 (its worst at 11:15) ended 3 minutes ago: it was seen till
    11:57, so its incident is not resolved at once, and the node's memory anomaly of 11:50
    joins it (it began while the CPU one was alive) instead of opening its own."""
    cpu = _anomaly("node_cpu", T0 - timedelta(minutes=50), T0 - timedelta(minutes=45),
                   T0 - timedelta(minutes=3))  # fmt: skip
    memory = _anomaly("node_mem", T0 - timedelta(minutes=10), T0 - timedelta(minutes=9),
                      T0 - timedelta(minutes=4))  # fmt: skip
    ahead = _anomaly("node_disk", T0 - timedelta(minutes=10), T0 - timedelta(minutes=9),
                     T0 + timedelta(days=1))  # a clock ahead: bounded as now  # fmt: skip
    unknown = _anomaly("node_net", T0 - timedelta(minutes=10), T0 - timedelta(minutes=9), None)
    signals = anomaly_signals([cpu, memory, ahead, unknown], T0)
    assert [s.last_seen for s in signals] == [T0 - timedelta(minutes=3),
                                              T0 - timedelta(minutes=4), T0,
                                              T0 - timedelta(minutes=9)]  # fmt: skip
    incidents, _ = group([], signals[:2], T0)
    [one] = incidents
    assert one.state is IncidentStatus.OPEN and one.resolved_at is None
    assert [s.subject for s in one.signals] == ["node_cpu", "node_mem"]


# -- 2: an acknowledgement covers what was seen ----------------------------------------------
def _gpu(severity: FindingSeverity, reason: str) -> Finding:
    return Finding(Domain.GPU, severity, "gpu-1/gpu3", reason, since=T0)


def _signal(severity: FindingSeverity) -> IncidentSignal:
    return IncidentSignal(key=f"GPU|c1|gpu-1/gpu3|{severity.value}", source="GPU", cluster="c1",
                          subject="gpu-1/gpu3", severity=severity, reason=severity.value,
                          first_seen=T0, last_seen=T0)  # fmt: skip


def _stored(severity: FindingSeverity) -> Incident:
    return Incident(id="INC-1", title="t", severity=severity, opened_at=T0, updated_at=T0,
                    signals=[_signal(severity)])  # fmt: skip


def test_the_store_refuses_an_acknowledgement_of_an_incident_worse_than_was_seen(
    tmp_path: Path,
) -> None:
    """The person saw it WARNING; it is CRITICAL now: nothing is written, it stays OPEN (as
    returned: its severity says why). Seen CRITICAL, or seen worse than it is now: done."""
    db = Database(tmp_path / "cache.sqlite3")
    repo = IncidentRepository(db)
    later = T0 + timedelta(minutes=1)
    try:
        repo.save([_stored(FindingSeverity.CRITICAL)]).result()
        before = db.fetch_one("SELECT rowid, body FROM incidents WHERE id = 'INC-1'")
        refused = repo.acknowledge("INC-1", later, seen=FindingSeverity.WARNING).result()
        assert refused is not None and refused.state is IncidentStatus.OPEN
        assert refused.severity is FindingSeverity.CRITICAL and refused.acknowledged_at is None
        after = db.fetch_one("SELECT rowid, body FROM incidents WHERE id = 'INC-1'")
        assert before is not None and after is not None and tuple(after) == tuple(before)
        done = repo.acknowledge("INC-1", later, seen=FindingSeverity.CRITICAL).result()
        assert done is not None and done.state is IncidentStatus.ACKNOWLEDGED
        repo.save([_stored(FindingSeverity.WARNING)]).result()  # better than was seen: done
        done = repo.acknowledge("INC-1", later, seen=FindingSeverity.CRITICAL).result()
        assert done is not None and done.state is IncidentStatus.ACKNOWLEDGED
    finally:
        db.close()


def _service(db: Database, clock: list[datetime], fleet: _Fleet, bus: _Bus | None = None,
             anomalies: Any = None) -> IncidentService:  # fmt: skip
    return IncidentService(IncidentRepository(db), fleet, anomalies or _Anomalies(),  # type: ignore[arg-type]
                           _Poller({}), bus or _Bus(), clock=lambda: clock[0])  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.asyncio
async def test_a_click_queued_behind_a_refresh_that_made_it_worse_acknowledges_nothing(
    tmp_path: Path,
) -> None:
    """The window showed it WARNING; the click waits for the refresh that adds XID 79: the
    CRITICAL it was never shown is not acknowledged (it stays OPEN, and the log says why)."""
    db = Database(tmp_path / "cache.sqlite3")
    clock, fleet = [T0], _Fleet()
    svc = _service(db, clock, fleet)
    try:
        fleet.last = truth(T0, READ, [_gpu(FindingSeverity.WARNING, "temperature 91 C")])
        [shown] = await svc.refresh()
        clock[0] = T0 + timedelta(minutes=1)
        fleet.last = truth(clock[0], READ, [_gpu(FindingSeverity.WARNING, "temperature 91 C"),
                                            _gpu(FindingSeverity.CRITICAL, "XID 79")])  # fmt: skip
        await svc.refresh()
        done = await svc.acknowledge(shown.id, seen=shown.severity)
        assert done is not None and done.state is IncidentStatus.OPEN
        assert done.severity is FindingSeverity.CRITICAL
        stored = await svc.get(shown.id)
        assert stored is not None and stored.state is IncidentStatus.OPEN
        again = await svc.acknowledge(shown.id, seen=FindingSeverity.CRITICAL)  # now seen
        assert again is not None and again.state is IncidentStatus.ACKNOWLEDGED
    finally:
        db.close()


class _AckWhileRead(_Anomalies):
    """The anomalies' read of a refresh, during which another process (the CLI) acknowledges
    the incident (as the person saw it: WARNING), and the clock moves on."""

    def __init__(self, act: Any) -> None:
        super().__init__()
        self.act = act

    async def current(self, within: timedelta) -> list[Anomaly]:
        act, self.act = self.act, None
        if act is not None:
            act()
        return self.found


@pytest.mark.asyncio
async def test_an_acknowledgement_made_while_a_refresh_runs_is_reopened_by_what_it_adds(
    tmp_path: Path,
) -> None:
    """The window's refresh starts at 12:01:00; the CLI acknowledges the WARNING at 12:01:05,
    while it reads; the XID 79 it adds was grouped after that acknowledgement (it was not in
    what the person acknowledged): the incident is OPEN again, not ACKNOWLEDGED CRITICAL."""
    path = tmp_path / "cache.sqlite3"
    window_db, cli_db = Database(path), Database(path)
    clock, fleet = [T0], _Fleet()
    acked_at = T0 + timedelta(minutes=1, seconds=5)

    def cli_ack() -> None:
        done = IncidentRepository(cli_db).acknowledge(
            shown.id, acked_at, seen=FindingSeverity.WARNING).result()  # fmt: skip
        assert done is not None and done.state is IncidentStatus.ACKNOWLEDGED
        clock[0] = acked_at + timedelta(seconds=1)

    anomalies = _AckWhileRead(None)  # the first refresh: no acknowledgement
    svc = _service(window_db, clock, fleet, anomalies=anomalies)
    try:
        fleet.last = truth(T0, READ, [_gpu(FindingSeverity.WARNING, "temperature 91 C")])
        [shown] = await svc.refresh()
        anomalies.act = cli_ack
        clock[0] = T0 + timedelta(minutes=1)
        fleet.last = truth(clock[0], READ, [_gpu(FindingSeverity.WARNING, "temperature 91 C"),
                                            _gpu(FindingSeverity.CRITICAL, "XID 79")])  # fmt: skip
        await svc.refresh()
        after = IncidentRepository(cli_db).get(shown.id)
        assert after is not None and after.severity is FindingSeverity.CRITICAL
        assert after.state is IncidentStatus.OPEN and after.reopened_at is not None
        assert "XID 79" in after.reopened_because
    finally:
        window_db.close()
        cli_db.close()


class _Incidents:
    """The service as the CLI uses it: the incident WARNING when first read, CRITICAL after
    the CLI's own grouping; its acknowledgement as the store does it."""

    left_out = 0

    def __init__(self) -> None:
        self.incident = _stored(FindingSeverity.WARNING)
        self.seen: list[FindingSeverity | None] = []

    async def get(self, incident_id: str) -> Incident | None:
        return self.incident

    async def acknowledge(
        self, incident_id: str, *, seen: FindingSeverity | None = None
    ) -> Incident | None:
        self.seen.append(seen)
        return self.incident  # worse than seen: left OPEN

    async def listed(self) -> list[Incident]:
        return [self.incident]


@pytest.mark.asyncio
async def test_incidents_ack_passes_what_it_read_and_says_a_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``incidents --ack`` acknowledges the severity read before its own grouping; made
    worse by that grouping, it is refused: said, and the exit status says it failed."""
    incidents = _Incidents()

    async def worse(_core: object, _io: object) -> bool:
        incidents.incident = _stored(FindingSeverity.CRITICAL)
        return True

    monkeypatch.setattr(cli, "_regroup", worse)
    err = io.StringIO()
    said = Io(out=Printable(io.StringIO()), stdin=io.StringIO(), err=Printable(err))
    core = SimpleNamespace(incidents=incidents, capture=None, access=Access())
    args = argparse.Namespace(ack="INC-1", json=False)
    with pytest.raises(UsageError, match=r"INC-1 is CRITICAL now.*not acknowledged"):
        await cli._incidents(core, args, said)  # type: ignore[arg-type]
    assert incidents.seen == [FindingSeverity.WARNING]


# -- 3: past the list's bound ------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_refresh_publishes_the_incidents_listed_past_the_list_s_bound(
    tmp_path: Path,
) -> None:
    """1,200 incidents open: the refresh publishes the 1,000 listed (the presenter's next
    read shows the same rows), with 200 said left out."""
    db = Database(tmp_path / "cache.sqlite3")
    now = T0
    began = now - timedelta(minutes=1)
    firing = [alert("c1", "NodeNotReady", {"node": f"w{n}"}, fp=f"fp{n}", starts=began)
              for n in range(LIST_LIMIT + 200)]  # fmt: skip
    fleet, bus = _Fleet(), _Bus()
    fleet.last = truth(now, READ)
    svc = IncidentService(IncidentRepository(db), fleet, _Anomalies(), _Poller({"c1": firing}),  # type: ignore[arg-type]
                          bus, clock=lambda: now)  # type: ignore[arg-type]  # fmt: skip
    try:
        for _ in range(2):  # the first grouping, and the next
            await svc.refresh()
            published = [p for t, p in bus.published if t == INCIDENTS_CHANGED][-1]
            assert len(published) == LIST_LIMIT and svc.left_out == 200
            assert [i.id for i in published] == [i.id for i in await svc.listed()]
    finally:
        db.close()


def test_the_service_tells_grouping_when_each_dark_cluster_was_last_read() -> None:
    """What lets an incident whose signals ended before its cluster went dark resolve
    (analysis.incidents.group's last_read): each unread cluster's stale_since, not one with
    a source never read (it may show anything)."""
    from types import SimpleNamespace

    from aiops_desktop.models.fleet import ClusterTruth, Coverage, FleetTruth, Health
    from aiops_desktop.services.intelligence.incidents import IncidentService

    at = datetime(2026, 12, 7, 12, 6, tzinfo=UTC)

    def truth(name: str, coverage: Coverage, since: datetime | None) -> ClusterTruth:
        return ClusterTruth(name, name, None, Health.STALE, None, None, [],
                            {"metrics": coverage}, stale_since=since)  # fmt: skip

    fleet = SimpleNamespace(last=FleetTruth(at, [
        truth("edge-1", Coverage.UNREACHABLE, at),
        truth("edge-2", Coverage.NO_DATA, at),
        truth("edge-3", Coverage.STALE, None),
        truth("core-1", Coverage.READ, None),
    ]))  # fmt: skip
    service = IncidentService.__new__(IncidentService)
    service._fleet = fleet  # type: ignore[assignment]
    unread = service.unread_clusters()
    assert unread == {"edge-1", "edge-2", "edge-3"}
    assert service._last_read(unread) == {"edge-1": at}
