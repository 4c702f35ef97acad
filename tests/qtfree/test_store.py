"""The SQLite cache: migrations, damaged and newer files, the writer, series and retention."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterState, EndpointKind, HealthRecord
from aiops_desktop.settings import StoreSettings
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import StoreClosedError, StoreTooNewError
from aiops_desktop.store.health import HealthRepository
from aiops_desktop.store.migrations import SCHEMA_VERSION, migrate
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from analysis.detect import SeriesInput, detect_anomalies


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "cache.sqlite3")
    yield database
    database.close()


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_new_file_is_created_at_the_newest_version_in_wal_mode(tmp_path: Path) -> None:
    database = Database(tmp_path / "new.sqlite3")
    try:
        assert database.schema_version == SCHEMA_VERSION
        mode = database.fetch_one("PRAGMA journal_mode")[0]
        assert mode == "wal"
        assert {"clusters", "health_history", "series", "chunks", "app_meta"} <= _tables(
            database.path
        )
    finally:
        database.close()


@pytest.mark.parametrize("start_version", range(1, SCHEMA_VERSION))
def test_migration_from_each_earlier_version_keeps_data(tmp_path: Path, start_version: int) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=start_version) == start_version
    cluster = Cluster(name="kept-cluster", api_server_url="https://api.kept:6443")
    conn.execute(
        "INSERT INTO clusters VALUES (?, ?, ?, ?)",
        (str(cluster.id), cluster.name, cluster.model_dump_json(), cluster.updated_at.isoformat()),
    )
    if start_version >= 2:
        conn.execute("INSERT INTO series (cluster, metric, labels) VALUES ('c', 'up', '{}')")
    conn.close()
    database = Database(path)
    try:
        assert database.schema_version == SCHEMA_VERSION
        assert [c.name for c in ClusterRepository(database).list()] == ["kept-cluster"]
        if start_version >= 2:
            assert database.fetch_one("SELECT COUNT(*) FROM series")[0] == 1
    finally:
        database.close()


def test_damaged_file_is_moved_aside_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    original = b"this is not a database at all " * 200
    path.write_bytes(original)
    database = Database(path)
    try:
        assert database.recovered is not None
        backup = database.recovered.backup
        assert backup.read_bytes() == original  # kept, byte for byte
        assert "moved to" in str(database.recovered) and str(backup) in str(database.recovered)
        assert database.schema_version == SCHEMA_VERSION
    finally:
        database.close()


def test_file_with_damaged_pages_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    database = Database(path)
    repo = ClusterRepository(database)
    saves = [
        repo.save(Cluster(name=f"cluster-{i:03d}", api_server_url="https://api.x:6443"))
        for i in range(200)
    ]
    assert all(f.result() for f in saves)
    database.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 2, len(data), 4096):
        data[offset + 10 : offset + 400] = b"\xff" * 390  # smash every page after the second
    path.write_bytes(bytes(data))
    reopened = Database(path)
    try:
        assert reopened.recovered is not None
        assert reopened.recovered.backup.exists()
        assert ClusterRepository(reopened).list() == []
    finally:
        reopened.close()


def test_newer_version_is_refused_without_change(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreTooNewError, match="newer than this app supports"):
        Database(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_one_failing_write_does_not_spoil_its_batch(db: Database) -> None:
    repo = ClusterRepository(db)
    good = repo.save(Cluster(name="good-one", api_server_url="https://a:6443"))

    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    failing = db.write(bad)
    other = repo.save(Cluster(name="good-two", api_server_url="https://b:6443"))
    with pytest.raises(sqlite3.OperationalError):
        failing.result()
    assert good.result().name == "good-one" and other.result().name == "good-two"
    assert [c.name for c in repo.list()] == ["good-one", "good-two"]


def test_writes_are_batched_into_few_transactions(tmp_path: Path) -> None:
    database = Database(tmp_path / "b.sqlite3", batch_max_delay_s=0.2)
    try:
        futures = [
            database.write(
                lambda c, i=i: c.execute("INSERT INTO app_meta VALUES (?, ?)", (f"k{i}", "v"))
            )
            for i in range(300)
        ]
        for f in futures:
            f.result()
        assert database.writer.batches_committed <= 5
    finally:
        database.close()


def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    database = Database(tmp_path / "c.sqlite3")
    database.close()
    with pytest.raises(StoreClosedError):
        database.write(lambda c: None)


def test_close_waits_for_a_read_running_on_another_thread(tmp_path: Path) -> None:
    """Closing a connection under a running statement crashes the interpreter (seen in CI when
    the window closed while a worker listed anomalies): close waits for the read to end."""
    database = Database(tmp_path / "cache.sqlite3")
    started, results = threading.Event(), []
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
        "SELECT COUNT(*) FROM n"
    )

    def read() -> None:
        with database.reading() as conn:
            started.set()
            results.append(conn.execute(slow).fetchone()[0])

    worker = threading.Thread(target=read)
    worker.start()
    assert started.wait(5)
    database.close()
    worker.join(10)
    assert results == [3000000]
    with pytest.raises(StoreClosedError):
        database.fetch_all("SELECT 1")


def test_a_read_inside_a_read_on_one_thread_does_not_deadlock(db: Database) -> None:
    with db.reading() as conn:
        outer = conn.execute("SELECT 1").fetchone()[0]
        inner = db.fetch_one("SELECT 2")
    assert (outer, inner[0] if inner else None) == (1, 2)


def test_series_append_dedup_compaction_and_read(db: Database) -> None:
    store = SeriesStore(db, StoreSettings(chunk_samples=100))
    ts = 1_700_000_000_000 + np.arange(250) * 30_000
    vals = np.round(np.linspace(0, 50, 250), 3)
    labels = {"instance": "node-1", "job": "node"}
    assert store.append([SeriesBatch("c1", "node_load1", labels, ts, vals)]).result() == 250
    stats = store.stats()
    assert stats["chunks"] == 2 and stats["head_samples"] == 50
    # a re-poll overlapping the past: compacted samples are skipped, head ones replaced
    store.append([SeriesBatch("c1", "node_load1", labels, ts[150:], vals[150:])]).result()
    (data,) = store.read("node_load1", cluster="c1")
    assert data.labels == labels
    assert np.array_equal(data.timestamps_ms, ts) and np.array_equal(data.values, vals)
    part = store.read("node_load1", start_ms=int(ts[10]), end_ms=int(ts[20]))[0]
    assert part.timestamps_ms.tolist() == ts[10:21].tolist()
    assert store.flush().result() == 50
    assert store.stats()["head_samples"] == 0
    assert np.array_equal(store.read("node_load1")[0].values, vals)


def test_retention_downsamples_to_rollups_and_drops_old(db: Database) -> None:
    settings = StoreSettings(
        chunk_samples=120, raw_retention=timedelta(hours=1), rollup_retention=timedelta(hours=6)
    )
    store = SeriesStore(db, settings)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    start = int((now - timedelta(hours=8)).timestamp() * 1000)
    ts = start + np.arange(8 * 240) * 15_000  # 8 h at 15 s
    vals = (np.arange(ts.size) % 20).astype(float)
    store.append([SeriesBatch("c", "m", {}, ts, vals)]).result()
    store.flush().result()
    result = store.apply_retention(now).result()
    assert result["downsampled_chunks"] > 0
    raw = store.read("m")[0]
    assert raw.timestamps_ms.min() >= int((now - timedelta(hours=1, minutes=5)).timestamp() * 1000)
    rollup = store.read("m", resolution_s=300)[0]
    assert rollup.counts is not None and rollup.minimum is not None and rollup.maximum is not None
    full = rollup.counts == 20
    assert np.allclose(rollup.values[full], 9.5)
    assert set(rollup.minimum[full]) == {0.0} and set(rollup.maximum[full]) == {19.0}
    # a later pass downsamples the rest; a bucket split across passes is merged exactly
    store.apply_retention(now + timedelta(hours=3)).result()
    later = store.read("m", resolution_s=300)[0]
    assert np.all(np.diff(later.timestamps_ms) > 0)
    assert later.counts is not None and later.counts.max() == 20
    assert later.counts.sum() == ts.size  # every raw sample is in exactly one bucket
    # retention drops whole rollup chunks once they end before the cut-off
    far = now + timedelta(days=2)
    assert store.apply_retention(far).result()["dropped_rollups"] >= 1
    assert store.read("m", resolution_s=300) == []


def test_health_history_and_prune(db: Database) -> None:
    health = HealthRepository(db)
    cid = uuid4()
    ClusterRepository(db).save(
        Cluster(id=cid, name="hh-1", api_server_url="https://a:6443")
    ).result()
    now = datetime.now(UTC)
    for days in (10, 8, 1, 0):
        health.record(
            HealthRecord(
                cluster_id=cid,
                checked_at=now - timedelta(days=days),
                state=ClusterState.ONLINE,
                health_score=100 - days,
                endpoint_health={EndpointKind.API_SERVER: True},
            )
        ).result()
    assert len(health.history(cid)) == 4
    assert health.prune(now - timedelta(days=7)).result() == 2
    kept = health.history(cid)
    assert [r.health_score for r in kept] == [99, 100]
    assert kept[0].endpoint_health == {EndpointKind.API_SERVER: True}


def test_an_open_anomaly_found_ended_is_stored_ended(db: Database) -> None:
    """A rule breach running into the last sample is stored open; the next analysis finds the
    same episode ended (and less bad by then): the store keeps the worse finding, marked
    ended, so its incident is not kept alive by a stale flag."""
    repo = AnomalyRepository(db)
    ts = 1_700_000_000 + np.arange(60) * 15.0
    state = np.ones(60)
    state[50:] = 0.0  # FREERUN into the last sample
    (running,) = detect_anomalies(SeriesInput("c1", "openshift_ptp_clock_state", {}, ts, state))
    assert running.open
    assert repo.save([running]).result() == {running.identity}
    later = np.ones(70)
    later[50:60] = 0.0  # the same episode, LOCKED again since
    (ended,) = detect_anomalies(
        SeriesInput("c1", "openshift_ptp_clock_state", {}, 1_700_000_000 + np.arange(70) * 15.0,
                    later)
    )  # fmt: skip
    assert ended.identity == running.identity and not ended.open
    assert repo.save([ended.model_copy(update={"score": running.score / 2})]).result() == set()
    (stored,) = repo.list()
    assert not stored.open and stored.score == running.score
    assert "still open" not in stored.explanation


def test_a_damaged_incident_or_anomaly_row_is_skipped_and_said(db: Database, caplog) -> None:  # type: ignore[no-untyped-def]
    """One damaged row (a disk, a hand edit) must not stop every list holding it: it is
    skipped and logged, left in place; asked for by its id, it is a clear error."""
    from aiops_desktop.models.fleet import FindingSeverity
    from aiops_desktop.models.incidents import Incident
    from aiops_desktop.store.bodies import DamagedRowError
    from aiops_desktop.store.incidents import IncidentRepository

    at = datetime(2026, 12, 5, 10, tzinfo=UTC)
    repo = IncidentRepository(db)
    good, bad = (Incident(id=i, title=i, severity=FindingSeverity.WARNING, opened_at=at,
                          updated_at=at) for i in ("INC-good", "INC-bad"))  # fmt: skip
    repo.save([good, bad]).result()
    db.write(lambda c: c.execute("UPDATE incidents SET body='{not json' WHERE id='INC-bad'"))
    db.write(lambda c: c.execute("SELECT 1")).result()
    assert [i.id for i in repo.list()] == ["INC-good"]
    assert [i.id for i in repo.active(resolved_since=0)] == ["INC-good"]
    assert "damaged incident rows in the cache were skipped" in caplog.text
    with pytest.raises(DamagedRowError, match="incident INC-bad is damaged"):
        repo.get("INC-bad")
    assert tuple(db.fetch_one("SELECT body FROM incidents WHERE id='INC-bad'")) == ("{not json",)
    anomalies = AnomalyRepository(db)
    db.write(
        lambda c: c.execute("INSERT INTO anomalies VALUES ('x','c','m','LOW','SPIKE',0,1,'[')")
    )
    ts = 1_700_000_000 + np.arange(60) * 15.0
    state = np.ones(60)
    state[50:] = 0.0
    (found,) = detect_anomalies(SeriesInput("c1", "openshift_ptp_clock_state", {}, ts, state))
    naive = found.model_dump_json().replace("+00:00", "").replace("Z", "")  # no zone: refused
    db.write(lambda c: c.execute("INSERT INTO anomalies VALUES ('y','c','m','LOW','SPIKE',0,1,?)",
                                 (naive,)))  # fmt: skip
    db.write(lambda c: c.execute("SELECT 1")).result()
    assert anomalies.list() == []  # neither stops the list (nor the incidents read from it)


def test_anomalies_are_listed_by_when_their_episode_began(db: Database) -> None:
    """A past period's report reads the excursions that began in it and were worst after its
    end: the store filters on the episode's start (a read of the day after, cut at 1,000 by
    worst point, lost the ones worst just after the period)."""
    from aiops_desktop.models.anomalies import AnomalyFilter

    repo = AnomalyRepository(db)
    ts = 1_700_000_000 + np.arange(60) * 15.0
    state = np.ones(60)
    state[50:] = 0.0
    (base,) = detect_anomalies(SeriesInput("c1", "openshift_ptp_clock_state", {}, ts, state))
    began = [base.model_copy(update={"started_at": base.timestamp - timedelta(minutes=m),
                                     "labels": {"n": str(m)}}) for m in (5, 50, 500)]  # fmt: skip
    repo.save(began).result()
    t = base.timestamp.timestamp()
    found = repo.list(AnomalyFilter(started_since=t - 3600, started_until=t - 60))
    assert sorted(a.labels["n"] for a in found) == ["5", "50"]
