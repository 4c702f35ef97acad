"""Incidents kept and acknowledged, at the edges a review found: two processes grouping into
one cache (the window and the wall, or the CLI), a repeated events.k8s.io warning, an alert's
unbounded annotation, and ``incidents --ack`` of an incident that is not open."""

from __future__ import annotations

import argparse
import asyncio
import io
import threading
from collections.abc import Container
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.cli import incidents as cli
from aiops_desktop.cli.args import Io, Printable
from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.fleet import ClusterTruth, Coverage, FindingSeverity, FleetTruth, Health
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence import incidents as service_module
from aiops_desktop.services.intelligence.incidents import (
    IncidentService,
    alert_signals,
    event_signals,
)
from aiops_desktop.services.runtime.access import Access
from aiops_desktop.settings import DB_FILENAME
from aiops_desktop.store import incidents as store_incidents
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
from analysis.incidents import acknowledge, group
from tests.qtfree.cli_runner import call_main

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class _Fleet:
    def __init__(self, now: datetime) -> None:
        self.last = FleetTruth(at=now, clusters=[ClusterTruth(
            "c1", "c1", None, Health.OK, None, None, [],
            {"metrics": Coverage.READ, "alerts": Coverage.READ})])  # fmt: skip

    def snapshot(self) -> FleetTruth:
        return self.last

    async def refresh(self) -> FleetTruth:
        return self.last


class _Anomalies:
    async def current(self, _within: object) -> list[Any]:
        return []


class _Bus:
    def publish(self, *_args: object) -> None:
        pass


class _Poller:
    def __init__(self, alerts: dict[str, list[Alert]]) -> None:
        self.alerts = alerts


def _service(db: Database, now: datetime, alerts: dict[str, list[Alert]]) -> IncidentService:
    return IncidentService(IncidentRepository(db), _Fleet(now), _Anomalies(),  # type: ignore[arg-type]
                           _Poller(alerts), _Bus(), clock=lambda: now)  # type: ignore[arg-type]  # fmt: skip


# -- 4: two processes grouping into one cache --------------------------------------------------
@pytest.mark.asyncio
async def test_two_groupers_of_one_cache_open_one_incident_for_a_new_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window groups a new alert; the wall (its own connection: another process) groups
    the same alert while the window's grouping runs. The wall waits for the window's write
    and joins its incident: one live incident, not a second one ("-2") for the same
    signal."""
    now = T0 + timedelta(minutes=1)
    firing = Alert(fingerprint="fp1", cluster="c1", name="GpuXid79",
                   severity=AlertSeverity.CRITICAL,
                   labels={"alertname": "GpuXid79", "Hostname": "du-1", "gpu": "0"},
                   annotations={"summary": "GPU has fallen off the bus"}, starts_at=T0)  # fmt: skip
    path = tmp_path / "cache.sqlite3"
    db_window, db_wall = Database(path), Database(path)
    window = _service(db_window, now, {"c1": [firing]})
    wall = _service(db_wall, now, {"c1": [firing]})
    real = service_module.group
    wall_grouped: list[list[Incident]] = []
    calls: list[int] = []

    def wall_refresh() -> None:
        wall_grouped.append(asyncio.run(wall.refresh()))

    def window_grouping(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # the window's: the wall groups meanwhile
            other = threading.Thread(target=wall_refresh)
            other.start()
            other.join(timeout=1.5)  # it finishes, or waits for this grouping's write
            grouping_threads.append(other)
        return real(*args, **kwargs)

    grouping_threads: list[threading.Thread] = []
    monkeypatch.setattr(service_module, "group", window_grouping)
    try:
        await window.refresh()
        for other in grouping_threads:
            other.join(timeout=30)
        assert wall_grouped, "the wall's grouping did not finish"
        stored, _ = IncidentRepository(db_window).listed()
        live = [i for i in stored if i.state is not IncidentStatus.RESOLVED]
        assert [[s.key for s in i.signals] for i in live] == [["alert|c1|fp1"]]
        assert [i.id for i in wall_grouped[0]] == [live[0].id]  # the wall joined it
    finally:
        db_window.close()
        db_wall.close()


# -- 4b: grouping outside the write transaction ------------------------------------------------
def _firing(now: datetime, key: str = "alert|c1|fp1") -> IncidentSignal:
    return IncidentSignal(key=key, source="alert", cluster="c1", subject="GpuXid79",
                          severity=FindingSeverity.CRITICAL, reason="GPU has fallen off the bus",
                          first_seen=T0, last_seen=now, topology=["node:du-1"],
                          alert_name="GpuXid79", entity="c1 node du-1")  # fmt: skip


def test_grouping_holds_no_write_lock_while_it_runs(tmp_path: Path) -> None:
    """While a regroup groups (seconds for a fleet's alert storm), this process's other writes
    (series, health, anomalies) and another process's are committed; the grouping's result
    is written after."""
    path = tmp_path / "cache.sqlite3"
    db, other = Database(path), Database(path)
    repo = IncidentRepository(db)
    now = T0 + timedelta(minutes=1)
    grouping_runs, release = threading.Event(), threading.Event()

    def grouping(active: list[Incident], taken: Container[str]) -> tuple[list[Incident], set[str]]:
        grouping_runs.set()
        release.wait(timeout=30)
        return group(active, [_firing(now)], now, taken=taken)

    done: list[tuple[list[Incident], set[str]]] = []
    regrouping = threading.Thread(
        target=lambda: done.append(repo.regroup(grouping, resolved_since=0))
    )
    try:
        regrouping.start()
        try:
            assert grouping_runs.wait(timeout=10)
            db.write(lambda c: c.execute("CREATE TABLE mine (x)")).result(timeout=3)
            other.write(lambda c: c.execute("CREATE TABLE theirs (x)")).result(timeout=3)
        finally:
            release.set()
            regrouping.join(timeout=30)
        [(grouped, changed)] = done
        [inc] = grouped
        assert changed == {inc.id} and [s.key for s in inc.signals] == ["alert|c1|fp1"]
        assert [i.id for i in repo.list()] == [inc.id]
    finally:
        db.close()
        other.close()


def test_an_incident_written_while_grouping_is_grouped_over_not_opened_twice(
    tmp_path: Path,
) -> None:
    """The wall (another process) opens an incident for a new alert while the window groups
    the same alert over what it read before: the window's write sees the incidents changed,
    groups again over the wall's, and joins it; no second incident ("-2") for one signal."""
    path = tmp_path / "cache.sqlite3"
    db_window, db_wall = Database(path), Database(path)
    window, wall = IncidentRepository(db_window), IncidentRepository(db_wall)
    now = T0 + timedelta(minutes=1)
    seen: list[list[str]] = []

    def wall_grouping(active: list[Incident], taken: Container[str]) -> Any:
        return group(active, [_firing(now)], now, taken=taken)

    def window_grouping(active: list[Incident], taken: Container[str]) -> Any:
        seen.append([i.id for i in active])
        if len(seen) == 1:  # the wall groups and writes meanwhile
            wall.regroup(wall_grouping, resolved_since=0)
        return group(active, [_firing(now)], now, taken=taken)

    try:
        grouped, _ = window.regroup(window_grouping, resolved_since=0)
        stored = window.list()
        assert len(stored) == 1, [i.id for i in stored]
        [wall_id] = [i.id for i in stored]
        assert seen == [[], [wall_id]]  # grouped again, over the wall's incident
        assert [i.id for i in grouped] == [wall_id]
        assert [s.key for s in stored[0].signals] == ["alert|c1|fp1"]
    finally:
        db_window.close()
        db_wall.close()


def _kept(now: datetime) -> tuple[Incident, Incident]:
    """An open incident (its alert firing) and one resolved a month ago."""
    [opened], _ = group([], [_firing(T0)], T0)
    s = _signal(now - timedelta(days=30))
    old = Incident(id="INC-OLD-1", title="c1: du-1/gpu0: XID 79",
                   severity=FindingSeverity.CRITICAL, state=IncidentStatus.RESOLVED,
                   opened_at=s.first_seen, updated_at=now - timedelta(days=30),
                   resolved_at=now - timedelta(days=30), signals=[s])  # fmt: skip
    return opened, old


@pytest.mark.parametrize("write", ["save", "acknowledge", "prune"])
def test_every_write_of_another_process_meanwhile_is_grouped_over(
    tmp_path: Path, write: str
) -> None:
    """Whatever the other process writes to the incidents while this one groups (an incident
    saved, one acknowledged: its updated_at unchanged, old ones pruned), the grouping is done
    again over what is stored then."""
    path = tmp_path / "cache.sqlite3"
    db, other_db = Database(path), Database(path)
    repo, other = IncidentRepository(db), IncidentRepository(other_db)
    now = T0 + timedelta(minutes=5)
    opened, old = _kept(now)
    repo.save([opened, old]).result()
    newcomer = opened.model_copy(update={"id": "INC-NEW-1"})
    views: list[tuple[list[tuple[str, IncidentStatus]], bool]] = []

    def grouping(active: list[Incident], taken: Container[str]) -> Any:
        views.append((sorted((i.id, i.state) for i in active), old.id in taken))
        if len(views) == 1:
            if write == "save":
                other.save([newcomer]).result()
            elif write == "acknowledge":
                other.save([acknowledge(opened, now)]).result()
            else:
                assert other.prune_resolved((now - timedelta(days=7)).timestamp()).result() == 1
        return group(active, [_firing(now)], now, taken=taken)

    try:
        repo.regroup(grouping, resolved_since=(now - timedelta(hours=2)).timestamp())
        assert views[0] == ([(opened.id, IncidentStatus.OPEN)], True)
        assert len(views) == 2, views
        expected = {
            "save": ([(newcomer.id, IncidentStatus.OPEN), (opened.id, IncidentStatus.OPEN)],
                     True),
            "acknowledge": ([(opened.id, IncidentStatus.ACKNOWLEDGED)], True),
            "prune": ([(opened.id, IncidentStatus.OPEN)], False),
        }[write]  # fmt: skip
        assert views[1] == (sorted(expected[0]), expected[1])
        assert max(i.updated_at for i in repo.list()) == now  # the second grouping, written
        stored = repo.get(opened.id)
        assert stored is not None
        if write == "acknowledge":
            assert stored.state is IncidentStatus.ACKNOWLEDGED
    finally:
        db.close()
        other_db.close()


def test_a_grouping_raced_every_time_is_done_inside_the_write_transaction(
    tmp_path: Path,
) -> None:
    """Another process writes incidents during each optimistic round: the last grouping is
    done in the write transaction (on the writer thread, as it was before), over them all."""
    path = tmp_path / "cache.sqlite3"
    db, other_db = Database(path), Database(path)
    repo, other = IncidentRepository(db), IncidentRepository(other_db)
    now = T0 + timedelta(minutes=5)
    opened, _ = _kept(now)
    views: list[tuple[list[str], str]] = []

    def grouping(active: list[Incident], taken: Container[str]) -> Any:
        views.append((sorted(i.id for i in active), threading.current_thread().name))
        if len(views) <= store_incidents.OPTIMISTIC_ROUNDS:
            other.save([opened.model_copy(update={"id": f"INC-RACE-{len(views)}"})]).result()
        return group(active, [_firing(now)], now, taken=taken)

    try:
        grouped, _ = repo.regroup(grouping, resolved_since=0)
        rounds = store_incidents.OPTIMISTIC_ROUNDS
        assert len(views) == rounds + 1
        assert views[-1][0] == [f"INC-RACE-{n}" for n in range(1, rounds + 1)]
        assert views[-1][1] != views[0][1]  # the writer's thread, not the caller's
        assert sorted(i.id for i in grouped) == views[-1][0]  # joined, none opened
        assert len(repo.list()) == rounds
    finally:
        db.close()
        other_db.close()


# -- 6: a repeated events.k8s.io warning --------------------------------------------------------
def test_a_repeated_event_begins_at_its_event_time_not_its_latest_repeat() -> None:
    """The scheduler's FailedScheduling (events.k8s.io: firstTimestamp and lastTimestamp
    null): eventTime is its first occurrence, series.lastObservedTime its latest written
    (client-go writes an ongoing series every 30 minutes: seen until the next, up to now)."""
    now = T0
    ev = {"type": "Warning", "reason": "FailedScheduling",
          "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
          "firstTimestamp": None, "lastTimestamp": None,
          "eventTime": "2026-01-05T11:20:00.000000Z",
          "series": {"count": 40, "lastObservedTime": "2026-01-05T11:58:00.000000Z"},
          "involvedObject": {"kind": "Pod", "namespace": "ran-du", "name": "du-l1-0"},
          "metadata": {"uid": "u1"}}  # fmt: skip
    [s] = event_signals("ran-east", [ev], now)
    assert s.first_seen == datetime(2026, 1, 5, 11, 20, tzinfo=UTC)
    assert s.last_seen == now  # 11:58 written: still repeating till 12:28, for all we know
    # a core/v1 event: firstTimestamp first, lastTimestamp last, as before
    old = {**ev, "firstTimestamp": "2026-01-05T11:10:00Z", "lastTimestamp": "2026-01-05T11:50:00Z",
           "eventTime": None, "series": None, "metadata": {"uid": "u2"}}  # fmt: skip
    [s] = event_signals("ran-east", [old], now)
    assert (s.first_seen, s.last_seen) == (datetime(2026, 1, 5, 11, 10, tzinfo=UTC),
                                           datetime(2026, 1, 5, 11, 50, tzinfo=UTC))  # fmt: skip


# -- 7: an alert's annotation, name and subject bounded and cleaned -----------------------------
def test_an_alert_s_reason_and_name_are_cleaned_and_cut() -> None:
    """A crafted Alertmanager answer: an annotation and a name of 200,000 characters with
    terminal escapes and line breaks are one printable line, bounded as an event's are."""
    crafted = "Evil\x1b[2J\x1b[31m\r\nFAKE: all clear\x07" + "A" * 200_000
    firing = Alert(fingerprint="f1", cluster="c1", name=crafted, severity=AlertSeverity.CRITICAL,
                   labels={"alertname": crafted}, annotations={"summary": crafted},
                   starts_at=T0)  # fmt: skip
    [s] = alert_signals({"c1": [firing]}, T0 + timedelta(minutes=1))
    for text in (s.reason, s.subject, s.alert_name or ""):
        assert 0 < len(text) <= 300
        assert not any(c in text for c in "\x1b\r\n\x07")
    assert s.reason.startswith("Evil[2J[31m FAKE: all clear")
    assert s.subject == s.alert_name


# -- 8: `incidents --ack` of an incident not open -----------------------------------------------
def _signal(now: datetime) -> IncidentSignal:
    return IncidentSignal(key="k", source="GPU", cluster="c1", subject="du-1/gpu0",
                          severity=FindingSeverity.CRITICAL, reason="XID 79",
                          first_seen=now - timedelta(hours=1),
                          last_seen=now - timedelta(minutes=40))  # fmt: skip


def test_acknowledging_a_resolved_incident_says_so_and_fails(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    s = _signal(now)
    done = Incident(id="INC-RESOLVED-1", title="c1: du-1/gpu0: XID 79",
                    severity=FindingSeverity.CRITICAL, state=IncidentStatus.RESOLVED,
                    opened_at=s.first_seen, updated_at=now - timedelta(minutes=30),
                    resolved_at=now - timedelta(minutes=30), signals=[s])  # fmt: skip
    db = Database(tmp_path / DB_FILENAME)
    try:
        IncidentRepository(db).save([done]).result()
    finally:
        db.close()
    code, _out, err = call_main(tmp_path, "incidents", "--ack", "INC-RESOLVED-1")
    assert code != 0
    assert "INC-RESOLVED-1 is RESOLVED: nothing to acknowledge" in err
    db = Database(tmp_path / DB_FILENAME)
    try:
        stored = IncidentRepository(db).get("INC-RESOLVED-1")
        assert stored is not None and stored.state is IncidentStatus.RESOLVED
        assert stored.acknowledged_at is None
    finally:
        db.close()


class _Incidents:
    left_out = 0

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.acked: list[str] = []

    async def get(self, incident_id: str) -> Incident | None:
        return self.incident if incident_id == self.incident.id else None

    async def acknowledge(self, incident_id: str, *, seen: object = None) -> Incident | None:
        self.acked.append(incident_id)
        return self.incident if incident_id == self.incident.id else None

    async def listed(self) -> list[Incident]:
        return [self.incident]


@pytest.mark.asyncio
async def test_acknowledging_an_acknowledged_incident_says_so_and_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def whole(_core: object, _io: object) -> bool:
        return True

    monkeypatch.setattr(cli, "_regroup", whole)
    s = _signal(T0)
    acked = Incident(id="INC-ACKED-1", title="c1: du-1/gpu0: XID 79",
                     severity=FindingSeverity.CRITICAL, state=IncidentStatus.ACKNOWLEDGED,
                     opened_at=s.first_seen, updated_at=T0, acknowledged_at=T0,
                     signals=[s])  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    said = Io(out=Printable(out), stdin=io.StringIO(), err=Printable(err))
    incidents = _Incidents(acked)
    core = SimpleNamespace(incidents=incidents, capture=None, access=Access())
    args = argparse.Namespace(ack="INC-ACKED-1", json=False)
    assert await cli._incidents(core, args, said) == 0  # type: ignore[arg-type]
    assert "INC-ACKED-1 is already acknowledged" in err.getvalue()
    assert incidents.acked == ["INC-ACKED-1"]  # asked of the service: who may not is refused
    assert out.getvalue().startswith("INC-ACKED-1  ACKNOWLEDGED")  # and listed
