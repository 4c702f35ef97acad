"""Incidents kept and acknowledged, at the edges a review found: two processes grouping into
one cache (the window and the wall, or the CLI), a repeated events.k8s.io warning, an alert's
unbounded annotation, and ``incidents --ack`` of an incident that is not open."""

from __future__ import annotations

import argparse
import asyncio
import io
import threading
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
from aiops_desktop.settings import DB_FILENAME
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
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


# -- 6: a repeated events.k8s.io warning --------------------------------------------------------
def test_a_repeated_event_begins_at_its_event_time_not_its_latest_repeat() -> None:
    """The scheduler's FailedScheduling (events.k8s.io: firstTimestamp and lastTimestamp
    null): eventTime is its first occurrence, series.lastObservedTime its latest."""
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
    assert s.last_seen == datetime(2026, 1, 5, 11, 58, tzinfo=UTC)
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

    async def acknowledge(self, incident_id: str) -> Incident | None:
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
    core = SimpleNamespace(incidents=incidents, capture=None)
    args = argparse.Namespace(ack="INC-ACKED-1", json=False)
    assert await cli._incidents(core, args, said) == 0  # type: ignore[arg-type]
    assert "INC-ACKED-1 is already acknowledged" in err.getvalue()
    assert incidents.acked == ["INC-ACKED-1"]  # asked of the service: who may not is refused
    assert out.getvalue().startswith("INC-ACKED-1  ACKNOWLEDGED")  # and listed
