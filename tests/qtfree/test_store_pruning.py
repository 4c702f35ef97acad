"""The maintenance pass keeps the anomalies and incidents tables bounded too: anomalies older
than store.rollup_retention and incidents resolved before it are deleted (an incident not
resolved stays, however old)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from aiops_desktop.models import utcnow
from aiops_desktop.models.anomalies import Anomaly, AnomalyMethod, AnomalySeverity, AnomalyType
from aiops_desktop.models.enums import FindingSeverity, IncidentStatus
from aiops_desktop.models.incidents import Incident
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.maintenance import maintain_once
from aiops_desktop.settings import StoreSettings
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
from aiops_desktop.store.series import SeriesStore

KEPT = timedelta(days=30)


class _Registry:
    """The registry's two maintenance calls, with no clusters or keyring behind them."""

    async def prune_history(self, now: datetime, keep: timedelta) -> int:
        return 0

    async def sweep_orphans(self) -> int:
        return 0


def _anomaly(metric: str, at: datetime) -> Anomaly:
    return Anomaly(cluster="site-a", metric=metric, method=AnomalyMethod.DOMAIN_RULE,
                   timestamp=at, score=10, threshold=2.5, severity=AnomalySeverity.CRITICAL,
                   confidence=1, type=AnomalyType.THRESHOLD_BREACH, actual=99,
                   explanation="CPU pegged")  # fmt: skip


def _incident(name: str, state: IncidentStatus, changed: datetime) -> Incident:
    return Incident(
        id=name, title=name, severity=FindingSeverity.WARNING, state=state,
        opened_at=changed - timedelta(days=1), updated_at=changed,
        resolved_at=changed if state is IncidentStatus.RESOLVED else None,
    )  # fmt: skip


@pytest.mark.asyncio
async def test_old_anomalies_and_long_resolved_incidents_are_pruned(tmp_path: Path) -> None:
    db = Database(tmp_path / "cache.sqlite3")
    try:
        now = utcnow()
        old, recent = now - KEPT - timedelta(days=1), now - KEPT + timedelta(days=1)
        anomalies, incidents = AnomalyRepository(db), IncidentRepository(db)
        # and one each now: each table's retention is measured from its newest row
        found = [_anomaly("old", old), _anomaly("recent", recent), _anomaly("now", now)]
        anomalies.save(found).result()
        incidents.save([
            _incident("resolved-long-ago", IncidentStatus.RESOLVED, old),
            _incident("resolved-lately", IncidentStatus.RESOLVED, recent),
            _incident("resolved-now", IncidentStatus.RESOLVED, now),
            _incident("open-long", IncidentStatus.OPEN, old),
            _incident("acknowledged-long", IncidentStatus.ACKNOWLEDGED, old),
        ]).result()  # fmt: skip
        series = SeriesStore(db, StoreSettings(rollup_retention=KEPT))
        report = await maintain_once(
            cast(ClusterRegistry, _Registry()), series, AlertEventRepository(db),
            anomalies=anomalies, incidents=incidents,
        )  # fmt: skip
        assert report.retention["anomalies"] == 1
        assert report.retention["incidents"] == 1
        assert [a.metric for a in anomalies.list()] == ["now", "recent"]
        assert sorted(i.id for i in incidents.list()) == [
            "acknowledged-long", "open-long", "resolved-lately", "resolved-now",
        ]  # fmt: skip
    finally:
        db.close()


def test_prune_resolved_keeps_those_not_resolved_whatever_their_age(tmp_path: Path) -> None:
    db = Database(tmp_path / "cache.sqlite3")
    try:
        now = utcnow()
        incidents = IncidentRepository(db)
        incidents.save([
            _incident("resolved", IncidentStatus.RESOLVED, now - timedelta(days=400)),
            _incident("open", IncidentStatus.OPEN, now - timedelta(days=400)),
        ]).result()  # fmt: skip
        assert incidents.prune_resolved((now - KEPT).timestamp()).result() == 1
        assert [i.id for i in incidents.list()] == ["open"]
    finally:
        db.close()


@pytest.mark.asyncio
async def test_the_apps_maintenance_prunes_anomalies_and_incidents_too(core: Core) -> None:
    """What the window and the wall run (``Core.maintain``) is given both repositories."""
    import asyncio

    now = utcnow()
    old = now - core.settings.store.rollup_retention - timedelta(days=1)
    anomalies, incidents = AnomalyRepository(core.db), IncidentRepository(core.db)
    # and one each now: each table's retention is measured from its newest row
    anomalies.save([_anomaly("old", old), _anomaly("now", now)]).result()
    incidents.save([
        _incident("resolved-long-ago", IncidentStatus.RESOLVED, old),
        _incident("resolved-now", IncidentStatus.RESOLVED, now),
    ]).result()  # fmt: skip
    running = asyncio.create_task(core.maintain())
    try:
        async with asyncio.timeout(20):
            while len(anomalies.list()) > 1 or len(incidents.list()) > 1:
                await asyncio.sleep(0.05)
        assert [a.metric for a in anomalies.list()] == ["now"]
        assert [i.id for i in incidents.list()] == ["resolved-now"]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


@pytest.mark.asyncio
async def test_the_apps_maintenance_keeps_only_the_chats_the_list_shows(core: Core) -> None:
    """``Core.maintain`` is given the chat store: was not (the sessions past the list's 200,
    never to be opened or deleted again, stayed in the file for good)."""
    import asyncio

    from aiops_desktop.models.chat import ChatSession
    from aiops_desktop.store.chats import CHAT_KEPT, LIST_LIMIT, ChatRepository

    chats = ChatRepository(core.db)
    now = utcnow()
    old = now - CHAT_KEPT - timedelta(days=1)  # past the list, they go once that old
    for n in range(LIST_LIMIT + 2):
        chats.save(ChatSession(title=f"night shift {n}", updated_at=old - timedelta(minutes=n)))
    chats.save(ChatSession(title="the last", updated_at=now)).result()
    running = asyncio.create_task(core.maintain())
    try:
        async with asyncio.timeout(20):
            while len(chats.listed()) > LIST_LIMIT or _stored_chats(core) > LIST_LIMIT:
                await asyncio.sleep(0.05)
        assert _stored_chats(core) == LIST_LIMIT
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def _stored_chats(core: Core) -> int:
    row = core.db.fetch_one("SELECT count(*) FROM chat_sessions")
    assert row is not None
    return int(row[0])
