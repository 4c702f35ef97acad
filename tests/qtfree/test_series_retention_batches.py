"""A retention pass is a write per bounded batch of series, each queued once the one before
has committed: a person's write (an acknowledgement) goes between them, never behind the
whole pass (one transaction over 5,000 series held the write lock 9 s), and the pass counts
and rolls up exactly what one transaction did."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.settings import StoreSettings
from aiops_desktop.store import series as series_module
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import StoreClosedError
from aiops_desktop.store.series import SeriesBatch, SeriesStore

T0 = datetime(2024, 3, 1, tzinfo=UTC)
SETTINGS = StoreSettings(chunk_samples=16, raw_retention=timedelta(hours=1),
                         rollup_retention=timedelta(days=1))  # fmt: skip
SERIES = 10


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "cache.sqlite3")
    yield database
    database.close()


def _fill(store: SeriesStore) -> None:
    """Series with raw chunks past the cut, head samples past it, and rollups past theirs;
    one series whose data is all expired."""
    rng = np.random.default_rng(5)
    start = int(T0.timestamp() * 1000)
    ts = start + np.arange(200) * 30_000
    store.append([SeriesBatch("c", "m", {"i": str(i)}, ts, np.round(rng.random(ts.size), 2))
                  for i in range(SERIES)]).result()  # fmt: skip
    store.apply_retention(T0 + timedelta(hours=3)).result()  # rollups, all of them old later
    later = ts + 30 * 3_600_000
    store.append([SeriesBatch("c", "m", {"i": str(i)}, later[: 20 + i * 17],
                              np.round(rng.random(20 + i * 17), 2))
                  for i in range(1, SERIES)]).result()  # fmt: skip


def _stored(db: Database) -> list[tuple[object, ...]]:
    with db.reading() as conn:
        return (
            conn.execute(
                "SELECT s.labels, c.resolution_s, c.start_ms, c.end_ms, c.count, c.data "
                "FROM chunks c JOIN series s ON s.id = c.series_id ORDER BY 1, 2, 3"
            ).fetchall()
            + conn.execute("SELECT count(*) FROM samples_head").fetchall()
        )


def test_a_pass_is_one_write_per_batch_of_series_and_counts_as_one(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = Database(tmp_path / "whole.sqlite3")
    try:
        _fill(SeriesStore(whole, SETTINGS))
        one_pass = SeriesStore(whole, SETTINGS).apply_retention(T0 + timedelta(days=2)).result()
        want = _stored(whole)
    finally:
        whole.close()
    monkeypatch.setattr(series_module, "RETENTION_BATCH_SERIES", 3)
    store = SeriesStore(db, SETTINGS)
    _fill(store)
    committed = db.writer.batches_committed
    done = store.apply_retention(T0 + timedelta(days=2))
    ack = db.write(lambda c: c.execute("INSERT INTO app_meta VALUES ('ack', 'x')"))
    ack_before_retention: list[bool] = []
    ack.add_done_callback(lambda _f: ack_before_retention.append(not done.done()))
    assert done.result() == one_pass
    assert one_pass["downsampled_chunks"] > 0 and one_pass["dropped_rollups"] > 0
    assert one_pass["rolled_head"] > 0 and one_pass["forgotten_series"] == 1
    ack.result()
    assert ack_before_retention == [True]  # committed between the batches, not behind them all
    assert db.writer.batches_committed - committed >= -(-SERIES // 3)
    assert _stored(db) == want


def test_a_pass_stops_when_the_store_closes_between_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch committed stands (its series done whole); the pass says it was cut short."""
    monkeypatch.setattr(series_module, "RETENTION_BATCH_SERIES", 3)
    db = Database(tmp_path / "cache.sqlite3")
    store = SeriesStore(db, SETTINGS)
    _fill(store)
    done = store.apply_retention(T0 + timedelta(days=2))
    db.close()
    with pytest.raises(StoreClosedError):  # closed between two batches: said, never left waiting
        done.result(timeout=10)
    conn = sqlite3.connect(tmp_path / "cache.sqlite3")
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        conn.close()
