"""The series store over days: slow series are compacted and rolled up, never dropped; a rollup
bucket split across retention passes is merged, not replaced; series whose data is all gone
are forgotten (rows and the writer's caches)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.settings import StoreSettings
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore

T0 = datetime(2024, 3, 1, tzinfo=UTC)
HOUR_MS = 3_600_000


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "cache.sqlite3", batch_max_delay_s=0)
    yield database
    database.close()


def _one(db: Database, sql: str) -> int:
    row = db.fetch_one(sql)
    assert row is not None
    return int(row[0])


def _stored_samples(db: Database) -> int:
    """Raw samples (head and raw chunks) plus the samples the rollups stand for."""
    head = _one(db, "SELECT COUNT(*) FROM samples_head")
    raw = _one(db, "SELECT COALESCE(SUM(count), 0) FROM chunks WHERE resolution_s = 0")
    return (
        head
        + raw
        + sum(
            int(d.counts.sum())
            for metric in {r[0] for r in db.fetch_all("SELECT metric FROM series")}
            for d in SeriesStore(db).read(metric, resolution_s=300)
            if d.counts is not None
        )
    )


def _overlapping_chunks(db: Database) -> int:
    """Chunks of one series and resolution over the same time (what a capture refuses)."""
    return _one(
        db,
        "SELECT count(*) FROM (SELECT start_ms, resolution_s, lag(end_ms) OVER (PARTITION BY "
        "series_id, resolution_s ORDER BY start_ms) AS before FROM chunks) WHERE "
        "start_ms <= before",
    )


# -- defect 1: slow series ---------------------------------------------------------------------


def test_a_30s_series_with_hourly_retention_is_compacted_and_rolled_up(db: Database) -> None:
    """120 samples an hour never reached 240 when each hourly pass reset the head counts: the
    head was never compacted and deleted outright after 48 h, no rollups ever made."""
    store = SeriesStore(db)
    step_ms, per_hour = 30_000, 120
    t0 = _ms(T0)
    for hour in range(72):
        ts = t0 + (hour * per_hour + np.arange(per_hour)) * step_ms
        vals = (np.arange(per_hour) % 10).astype(float)
        store.append([SeriesBatch("c1", "node_load", {"i": "a"}, ts, vals)]).result()
        store.apply_retention(datetime.fromtimestamp((int(ts[-1]) + 1) / 1000, UTC)).result()
    store.apply_retention(T0 + timedelta(hours=72, minutes=5)).result()  # day 1 all past 48 h
    stats = store.stats()
    assert stats["chunks"] > 0 and stats["head_samples"] < 240
    day1 = store.read("node_load", cluster="c1", start_ms=t0, end_ms=t0 + 24 * HOUR_MS - 1,
                      resolution_s=300)  # fmt: skip
    assert len(day1) == 1 and day1[0].counts is not None and day1[0].maximum is not None
    assert day1[0].timestamps_ms.size == 288 and set(day1[0].counts.tolist()) == {10.0}
    assert np.allclose(day1[0].values, 4.5) and set(day1[0].maximum.tolist()) == {9.0}
    assert store.read("node_load", start_ms=t0, end_ms=t0 + 24 * HOUR_MS - 1) == []
    assert _stored_samples(db) == 72 * per_hour  # every sample raw or in exactly one bucket


def test_a_short_lived_series_is_rolled_up_not_deleted(db: Database) -> None:
    """A pod that lived for 100 samples (never a whole chunk): its data outlives raw
    retention as rollups."""
    store = SeriesStore(db)
    ts = _ms(T0) + np.arange(100) * 15_000
    store.append([SeriesBatch("c1", "restarts", {"pod": "p-1"}, ts, np.full(100, 3.0))]).result()
    store.apply_retention(T0 + timedelta(hours=1)).result()
    result = store.apply_retention(T0 + timedelta(days=3)).result()
    (rolled,) = store.read("restarts", resolution_s=300)
    assert rolled.counts is not None and int(rolled.counts.sum()) == 100
    assert np.allclose(rolled.values, 3.0)
    assert store.stats()["head_samples"] == 0 and result["rolled_head"] == 100


def test_head_counts_survive_a_retention_pass(db: Database) -> None:
    """After a pass the writer still knows how many samples each head holds: the next append
    that fills a chunk compacts it."""
    store = SeriesStore(db, StoreSettings(chunk_samples=16))
    t0 = _ms(T0)
    store.append([SeriesBatch("c", "m", {}, t0 + np.arange(10) * 1000, np.ones(10))]).result()
    store.apply_retention(T0 + timedelta(seconds=20)).result()
    store.append([SeriesBatch("c", "m", {}, t0 + np.arange(10, 16) * 1000, np.ones(6))]).result()
    assert store.stats()["chunks"] == 1 and store.stats()["head_samples"] == 0


# -- defect 2: a bucket split across passes ----------------------------------------------------


def test_a_bucket_split_across_passes_is_merged_not_replaced(db: Database) -> None:
    store = SeriesStore(db)
    t0 = _ms(T0)

    def put(start_ms: int, n: int, value: float) -> None:
        ts = start_ms + np.arange(n) * 30_000
        store.append([SeriesBatch("c1", "gpu_temp", {"gpu": "0"}, ts, np.full(n, value))]).result()

    put(t0, 240, 50.0)  # 00:00-01:59:30: one chunk
    put(t0 + 2 * HOUR_MS, 3, 95.0)  # 02:00:00-02:01:00, a spike
    store.flush().result()  # (a capture export compacts the head as it is)
    put(t0 + 2 * HOUR_MS + 90_000, 240, 50.0)  # 02:01:30-04:01:00: one chunk
    store.apply_retention(T0 + timedelta(hours=50)).result()
    store.apply_retention(T0 + timedelta(hours=50, minutes=5)).result()
    store.apply_retention(T0 + timedelta(hours=52, minutes=5)).result()
    (r,) = store.read("gpu_temp", resolution_s=300)
    assert r.counts is not None and r.maximum is not None and r.minimum is not None
    (i,) = np.flatnonzero(r.timestamps_ms == t0 + 2 * HOUR_MS)
    assert (r.counts[i], r.maximum[i], r.minimum[i]) == (10.0, 95.0, 50.0)
    assert r.values[i] == pytest.approx(63.5)
    assert int(r.counts.sum()) == 483 and _overlapping_chunks(db) == 0


def test_rollups_over_many_passes_equal_one_rollup_of_every_sample(db: Database) -> None:
    """Chunks ending anywhere in a bucket, rolled up by passes at random times: each bucket's
    avg/min/max/count is that of all its samples, stored once."""
    rng = np.random.default_rng(3)
    store = SeriesStore(db, StoreSettings(chunk_samples=16, raw_retention=timedelta(hours=1)))
    t0 = _ms(T0)
    ts = t0 + np.cumsum(rng.integers(5_000, 70_000, 600))
    vals = np.round(rng.normal(50, 20, ts.size), 2)
    at = 0
    while at < ts.size:
        n = int(rng.integers(1, 40))
        store.append([SeriesBatch("c", "m", {}, ts[at : at + n], vals[at : at + n])]).result()
        at = min(at + n, ts.size)
        if rng.random() < 0.3:
            store.flush().result()
        store.apply_retention(datetime.fromtimestamp(int(ts[at - 1]) / 1000, UTC)).result()
    store.apply_retention(datetime.fromtimestamp(int(ts[-1]) / 1000, UTC) + timedelta(days=1))
    store.flush().result()
    (r,) = store.read("m", resolution_s=300)
    buckets = ts - ts % 300_000
    want = np.unique(buckets)
    assert np.array_equal(r.timestamps_ms, want) and r.counts is not None
    assert r.minimum is not None and r.maximum is not None
    for k, b in enumerate(want):
        mine = vals[buckets == b]
        assert r.counts[k] == mine.size and r.values[k] == pytest.approx(mine.mean())
        assert (r.minimum[k], r.maximum[k]) == (mine.min(), mine.max())
    assert _overlapping_chunks(db) == 0


# -- defect 3: series are forgotten --------------------------------------------------------------


class _NoScan(dict[tuple[str, str, str], tuple[int, int]]):
    """The writer's id cache, refusing a walk over every series."""

    def items(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the id cache was scanned")

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the id cache was scanned")


def test_series_whose_data_is_gone_are_forgotten(db: Database) -> None:
    """Pod churn: a new set of series every day. Once their rollups expire the series rows and
    the writer's cache entries go too, so neither grows without bound."""
    settings = StoreSettings(raw_retention=timedelta(hours=2), rollup_retention=timedelta(days=2))
    store = SeriesStore(db, settings)
    per_day = 30
    for day in range(8):
        start = _ms(T0 + timedelta(days=day))
        ts = start + np.arange(20) * 60_000
        store.append([SeriesBatch("c1", "errors", {"pod": f"p-{day}-{i}"}, ts, np.ones(20))
                      for i in range(per_day)]).result()  # fmt: skip
        store.apply_retention(T0 + timedelta(days=day, hours=6)).result()
    # days 6 and 7 still have rollups (kept 2 days); older ones are gone with their series
    assert store.stats()["series"] == 2 * per_day
    assert len(store._ids) == 2 * per_day and len(store._head_count) <= 2 * per_day
    pods = {d.labels["pod"] for d in store.read("errors", resolution_s=300)}
    assert {p.split("-")[1] for p in pods} == {"6", "7"} and len(pods) == 2 * per_day
    # a forgotten series written again starts afresh, its old samples are accepted
    gone = {"pod": "p-0-0"}
    ts = _ms(T0 + timedelta(days=7, hours=5)) + np.arange(3) * 60_000
    store.append([SeriesBatch("c1", "errors", gone, ts, np.full(3, 7.0))]).result()
    (back,) = [d for d in store.read("errors") if d.labels == gone]
    assert back.values.tolist() == [7.0, 7.0, 7.0]


def test_compaction_does_not_walk_every_series(db: Database) -> None:
    store = SeriesStore(db, StoreSettings(chunk_samples=16))
    ts = _ms(T0) + np.arange(20) * 1000
    store.append([SeriesBatch("c", "m", {"i": str(i)}, ts[:10], np.ones(10))
                  for i in range(50)]).result()  # fmt: skip
    ids = store._ids
    store._ids = _NoScan(ids)
    store.append([SeriesBatch("c", "m", {"i": "1"}, ts[10:], np.ones(10))]).result()
    store.flush().result()
    assert store.stats()["head_samples"] == 0 and store.stats()["chunks"] == 51
    ids.update(store._ids.copy())
    store._ids = ids
    store.append([SeriesBatch("c", "m", {"i": "1"}, ts, np.zeros(20))]).result()
    (one,) = [d for d in store.read("m", cluster="c") if d.labels == {"i": "1"}]
    assert one.values.tolist() == [1.0] * 20  # compacted before: the re-sent samples are skipped
