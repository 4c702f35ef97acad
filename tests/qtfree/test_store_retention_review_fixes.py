"""Retention that survives what a desktop meets: a damaged chunk costs its own samples only (not
every later pass, nor every read of its metric); a clock days ahead deletes nothing it should
keep; an anomaly episode still open is never purged by the age of its worst point."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.enums import (
    AnomalyMethod,
    AnomalySeverity,
    AnomalyType,
    FindingSeverity,
    IncidentStatus,
)
from aiops_desktop.models.incidents import Incident
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime import maintenance
from aiops_desktop.services.runtime.maintenance import MaintenanceError, maintain_once
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
from aiops_desktop.store.series import RAW, SeriesBatch, SeriesStore

NOW = datetime.now(UTC).replace(microsecond=0)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000
OLD_MS = NOW_MS - 4 * DAY_MS - NOW_MS % 300_000  # past raw retention; on a 5-min bucket


def _open(path: Path) -> tuple[Database, SeriesStore]:
    db = Database(path, batch_max_delay_s=0)
    return db, SeriesStore(db)


def _samples(store: SeriesStore, metric: str, resolution_s: int = RAW) -> dict[str, int]:
    return {
        d.labels["node"]: int(d.timestamps_ms.size)
        for d in store.read(metric, resolution_s=resolution_s)
    }


def _damage(path: Path, sql: str) -> int:
    """Flip two bytes inside the BLOB of the chunk ``sql`` selects (id, data): bit rot that
    PRAGMA quick_check does not see."""
    conn = sqlite3.connect(path)
    try:
        cid, blob = conn.execute(sql).fetchone()
        damaged = bytearray(blob)
        damaged[30] ^= 0xFF
        damaged[31] ^= 0xFF
        conn.execute("UPDATE chunks SET data = ? WHERE id = ?", (bytes(damaged), cid))
        conn.commit()
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        return int(cid)
    finally:
        conn.close()


def _four_days_old(store: SeriesStore, start_ms: int) -> None:
    """Three cpu series and one mem series (another cluster), 4 h at 15 s each."""
    ts = start_ms + np.arange(960) * 15_000
    batches = [SeriesBatch("c1", "cpu", {"node": f"n{i}"}, ts, np.ones(960)) for i in range(3)]
    batches.append(SeriesBatch("c2", "mem", {"node": "x"}, ts, np.full(960, 2.0)))
    store.append(batches).result()
    store.flush().result()


# -- defect 2: one damaged chunk -------------------------------------------------------------


def test_a_damaged_chunk_is_left_out_of_reads_not_the_whole_metric(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every read of the metric (all its series) raised ChunkFormatError."""
    path = tmp_path / "cache.sqlite3"
    db, store = _open(path)
    _four_days_old(store, OLD_MS)
    db.close()
    _damage(path, "SELECT c.id, c.data FROM chunks c JOIN series s ON s.id = c.series_id "
                  "WHERE s.labels = '{\"node\":\"n0\"}' ORDER BY c.start_ms LIMIT 1")  # fmt: skip
    db, store = _open(path)
    try:
        with caplog.at_level(logging.WARNING, logger="aiops.store.series"):
            assert _samples(store, "cpu") == {"n0": 720, "n1": 960, "n2": 960}
            assert _samples(store, "cpu") == {"n0": 720, "n1": 960, "n2": 960}
        warned = [r for r in caplog.records if "damaged chunk" in r.getMessage()]
        assert len(warned) == 1  # once a chunk, not every read of a chart
        assert warned[0].__dict__["metric"] == "cpu" and "n0" in warned[0].__dict__["labels"]
    finally:
        db.close()


def test_retention_deletes_a_damaged_chunk_and_rolls_up_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The retention pass is one write: a chunk that did not decode rolled it all back, every
    hour for ever (no series rolled up, the file growing without bound)."""
    path = tmp_path / "cache.sqlite3"
    db, store = _open(path)
    _four_days_old(store, OLD_MS)
    db.close()
    _damage(path, "SELECT id, data FROM chunks ORDER BY id LIMIT 1")
    db, store = _open(path)
    try:
        with caplog.at_level(logging.WARNING, logger="aiops.store.series"):
            done = store.apply_retention(NOW).result()
        assert done["downsampled_chunks"] == 16
        warned = [r for r in caplog.records if "damaged chunk deleted" in r.getMessage()]
        assert len(warned) == 1
        assert warned[0].__dict__["start_ms"] == OLD_MS
        assert store.stats()["chunks"] == 4  # one rollup chunk a series; no raw chunk left
        # 4 h at 5 min: 48 buckets each; the damaged hour's 12 are gone
        assert _samples(store, "cpu", 300) == {"n0": 36, "n1": 48, "n2": 48}
        assert _samples(store, "mem", 300) == {"x": 48}
        assert store.apply_retention(NOW).result()["downsampled_chunks"] == 0
    finally:
        db.close()


def test_a_damaged_rollup_chunk_is_replaced_when_new_buckets_merge_into_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.sqlite3"
    db, store = _open(path)
    _four_days_old(store, OLD_MS)
    store.apply_retention(NOW).result()
    db.close()
    _damage(path, "SELECT c.id, c.data FROM chunks c JOIN series s ON s.id = c.series_id "
                  "WHERE s.metric = 'mem'")  # fmt: skip
    db, store = _open(path)
    try:
        # the next 4 h (still past raw retention): their buckets join the damaged chunk's
        ts = OLD_MS + (960 + np.arange(960)) * 15_000
        store.append([SeriesBatch("c2", "mem", {"node": "x"}, ts, np.ones(960))]).result()
        store.flush().result()
        with caplog.at_level(logging.WARNING, logger="aiops.store.series"):
            assert store.apply_retention(NOW).result()["downsampled_chunks"] == 4
        assert any("damaged chunk deleted" in r.getMessage() for r in caplog.records)
        assert _samples(store, "mem", 300) == {"x": 48}  # the new 4 h; the damaged 4 h gone
        assert _samples(store, "cpu", 300) == {"n0": 48, "n1": 48, "n2": 48}
    finally:
        db.close()


class _Registry:
    """The registry's two maintenance calls; its health history locked by another process."""

    async def prune_history(self, now: datetime, keep: timedelta) -> int:
        raise sqlite3.OperationalError("database is locked")

    async def sweep_orphans(self) -> int:
        return 0


def _anomaly(
    metric: str, at: datetime, *, last: datetime | None = None, is_open: bool = False
) -> Anomaly:
    return Anomaly(cluster="ran-1", metric=metric, labels={"iface": "ens1f0"},
                   method=AnomalyMethod.DOMAIN_RULE, timestamp=at, started_at=at,
                   last_at=last, score=10, threshold=1, severity=AnomalySeverity.CRITICAL,
                   confidence=1, type=AnomalyType.THRESHOLD_BREACH, actual=6,
                   explanation="clock state FREERUN", open=is_open)  # fmt: skip


@pytest.mark.asyncio
async def test_a_failed_maintenance_step_does_not_stop_the_others(tmp_path: Path) -> None:
    """maintain_once stopped at the first error: the anomaly and incident pruning after it
    never ran while the step before kept failing."""
    db = Database(tmp_path / "cache.sqlite3")
    try:
        anomalies = AnomalyRepository(db)
        anomalies.save([_anomaly("old", NOW - timedelta(days=40))]).result()
        anomalies.save([_anomaly("recent", NOW - timedelta(hours=1))]).result()
        series = SeriesStore(db)
        with pytest.raises(MaintenanceError) as failed:
            await maintain_once(
                cast(ClusterRegistry, _Registry()), series, AlertEventRepository(db),
                anomalies=anomalies, incidents=IncidentRepository(db),
            )  # fmt: skip
        assert "health: OperationalError: database is locked" in str(failed.value)
        assert list(failed.value.report.failed) == ["health"]
        assert failed.value.report.retention["anomalies"] == 1
        assert [a.metric for a in anomalies.list()] == ["recent"]
    finally:
        db.close()


# -- defect 3: a clock ahead -------------------------------------------------------------------


class _NoHealth:
    """The registry's two maintenance calls, with no clusters or keyring behind them."""

    async def prune_history(self, now: datetime, keep: timedelta) -> int:
        return 0

    async def sweep_orphans(self) -> int:
        return 0


async def _maintain_at(
    monkeypatch: pytest.MonkeyPatch, store: SeriesStore, clock: datetime
) -> dict[str, int]:
    monkeypatch.setattr(maintenance, "utcnow", lambda: clock)
    report = await maintain_once(cast(ClusterRegistry, _NoHealth()), store)
    return report.retention


@pytest.mark.asyncio
async def test_a_clock_days_ahead_deletes_no_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Cut-offs came from the clock: one pass 31 days ahead deleted every sample, rollup and
    series; 3 days ahead rolled every raw sample up."""
    db, store = _open(tmp_path / "cache.sqlite3")
    try:
        ts = NOW_MS - np.arange(2000)[::-1] * 15_000  # the last ~8 h
        store.append([SeriesBatch("c1", "cpu", {"node": "n1"}, ts, np.ones(2000))]).result()
        before = store.stats()
        with caplog.at_level(logging.WARNING, logger="aiops.services.maintenance"):
            for days in (3, 31):
                done = await _maintain_at(monkeypatch, store, NOW + timedelta(days=days))
                assert not any(done.values()), done
        assert store.stats() == before
        assert _samples(store, "cpu") == {"n1": 2000}
        warned = [r for r in caplog.records if "far past the newest sample" in r.getMessage()]
        assert len(warned) == 2
    finally:
        db.close()


@pytest.mark.asyncio
async def test_retention_still_runs_from_the_newest_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Measured from the newest sample, not from the clock: what is older than raw retention
    before it is rolled up, even with the clock far ahead."""
    db, store = _open(tmp_path / "cache.sqlite3")
    try:
        ts = NOW_MS - np.arange(0, 3 * DAY_MS, 60_000)[::-1]  # 3 days at 1 min
        store.append([SeriesBatch("c1", "cpu", {"node": "n1"}, ts, np.ones(ts.size))]).result()
        assert store.newest_ms() == NOW_MS
        assert (await _maintain_at(monkeypatch, store, NOW + timedelta(days=31)))[
            "downsampled_chunks"
        ] > 0
        (raw,) = store.read("cpu")
        assert raw.timestamps_ms[-1] == NOW_MS
        # 48 h, to a chunk (4 h at 1 min) and a bucket
        assert 2 * DAY_MS <= NOW_MS - raw.timestamps_ms[0] <= 2 * DAY_MS + 4 * 3_600_000 + 300_000
        (rolled,) = store.read("cpu", resolution_s=300)
        assert rolled.timestamps_ms[0] == ts[0] - ts[0] % 300_000
    finally:
        db.close()


@pytest.mark.asyncio
async def test_maintenance_with_the_clock_ahead_keeps_every_table(
    tmp_path: Path,
    secret_service: object,  # the keyring Core.open finds
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Health and alert history went with the clock 8 days ahead, anomalies and resolved
    incidents with it 31 days ahead; each is measured from its own newest row now."""
    core = Core.open(resolve_paths(tmp_path / "home"))
    try:
        await core.registry.add(ClusterSpec(name="c-1", api_server_url="https://a:6443"))
        for hours in range(10):
            await core.registry.apply_check(
                "c-1", {EndpointKind.API_SERVER: True}, at=NOW - timedelta(hours=hours)
            )
        fired = Alert(name="NodeDown", cluster="c-1", starts_at=NOW - timedelta(hours=2),
                      fingerprint="f1", annotations={"summary": "node down"})  # fmt: skip
        core.alert_events.record("c-1", [fired], NOW - timedelta(hours=1)).result()
        anomalies, incidents = AnomalyRepository(core.db), IncidentRepository(core.db)
        anomalies.save([_anomaly("cpu", NOW - timedelta(hours=1))]).result()
        incidents.save([Incident(
            id="i1", title="i1", severity=FindingSeverity.WARNING, state=IncidentStatus.RESOLVED,
            opened_at=NOW - timedelta(days=1), updated_at=NOW - timedelta(hours=1),
            resolved_at=NOW - timedelta(hours=1),
        )]).result()  # fmt: skip
        for days in (8, 31):
            monkeypatch.setattr(maintenance, "utcnow", lambda d=days: NOW + timedelta(days=d))
            with caplog.at_level(logging.WARNING, logger="aiops.services.maintenance"):
                report = await maintain_once(
                    core.registry, core.series, core.alert_events,
                    anomalies=anomalies, incidents=incidents,
                )  # fmt: skip
            assert report.health_pruned == 0 and not report.failed
            assert report.retention["alert_events"] == 0
            assert report.retention["anomalies"] == report.retention["incidents"] == 0
        assert len(await core.registry.health_history("c-1")) == 10
        assert len(core.alert_events.between(["c-1"], NOW - timedelta(days=1), NOW)) == 1
        assert len(anomalies.list()) == 1 and len(incidents.list()) == 1
        assert any("clock is far past the newest health check" in r.getMessage()
                   for r in caplog.records)  # fmt: skip
    finally:
        await core.shutdown()


# -- defect 4: open anomaly episodes -----------------------------------------------------------


def test_an_open_episode_is_never_purged_by_the_age_of_its_worst_point(tmp_path: Path) -> None:
    """A month-long breach (PTP FREERUN) was deleted by its worst point's age; the next live
    round saved it again as a new episode (notified again), every hour."""
    db = Database(tmp_path / "cache.sqlite3")
    try:
        repo = AnomalyRepository(db)
        start = NOW - timedelta(days=31)
        repo.save([_anomaly("ptp_clock_state", start, last=NOW, is_open=True)]).result()
        # ended long ago; and one whose worst point is old but that ended lately
        repo.save([_anomaly("ended_long_ago", start, last=start + timedelta(hours=1))]).result()
        repo.save([_anomaly("ended_lately", start, last=NOW - timedelta(days=1))]).result()
        cut = (NOW - timedelta(days=30)).timestamp()
        assert repo.purge_before(cut).result() == 1
        assert sorted(a.metric for a in repo.list()) == ["ended_lately", "ptp_clock_state"]
        assert len(repo.list(AnomalyFilter(open_only=True))) == 1
        again = _anomaly("ptp_clock_state", start, last=NOW + timedelta(minutes=1), is_open=True)
        assert repo.save([again]).result() == set()  # the same episode, not a new one
    finally:
        db.close()


@pytest.mark.asyncio
async def test_rows_written_at_a_clock_ahead_do_not_move_retention_on_the_next_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first pass with the clock 31 days ahead kept everything, but the running app wrote
    an alert event and an incident at its own clock, and the next pass measured from them: a
    real week of alert history and incidents gone. The samples' time is their endpoint's (the
    query grid), and no table is measured from past it."""
    db = Database(tmp_path / "c.sqlite3")
    try:
        series, events, incidents = (
            SeriesStore(db),
            AlertEventRepository(db),
            IncidentRepository(db),
        )

        class Registry:
            async def prune_history(self, now: datetime, keep: timedelta) -> int:
                return 0

            async def sweep_orphans(self) -> int:
                return 0

        def resolved(name: str, at: datetime) -> Incident:
            return Incident(id=name, title=name, severity=FindingSeverity.WARNING,
                            state=IncidentStatus.RESOLVED, opened_at=at - timedelta(hours=1),
                            updated_at=at, resolved_at=at)  # fmt: skip

        for day in range(7):  # a real week
            at = NOW - timedelta(days=day, hours=1)
            fired = Alert(name="NodeDown", cluster="c1", starts_at=at - timedelta(minutes=5),
                          fingerprint=f"f{day}")  # fmt: skip
            events.record("c1", [fired], at).result()
            incidents.save([resolved(f"i{day}", at)]).result()
        ts = NOW_MS - np.arange(20, dtype=np.int64)[::-1] * 15_000  # polled up to now
        series.append([SeriesBatch("c1", "cpu", {"node": "n1"}, ts, np.ones(20))]).result()
        series.flush().result()
        ahead = NOW + timedelta(days=31)
        for at in (ahead, ahead + timedelta(hours=1)):
            monkeypatch.setattr(maintenance, "utcnow", lambda at=at: at)
            report = await maintain_once(Registry(), series, events, incidents=incidents)  # type: ignore[arg-type]
            assert report.retention["alert_events"] == report.retention["incidents"] == 0
            # the app goes on: what fires and what resolves, stamped with its clock
            new = Alert(name="KubePodCrashLooping", cluster="c1", starts_at=at, fingerprint="n")
            events.record("c1", [new], at).result()
            incidents.save([resolved(f"new-{at.hour}", at)]).result()
        assert len(events.between(["c1"], NOW - timedelta(days=8), NOW)) == 7
        assert {f"i{d}" for d in range(7)} <= {i.id for i in incidents.list()}
        assert len(series.read("cpu", cluster="c1")[0].values) == 20
    finally:
        db.close()
