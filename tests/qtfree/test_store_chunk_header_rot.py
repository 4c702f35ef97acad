"""Bit rot in a chunk's header: its first timestamp and its count are outside zlib's checksum,
so one flipped bit there decoded cleanly and moved every sample of the chunk in time (hours
ahead of now, with no warning). A chunk that does not hold what its row says (its first and
last time, its count) is damaged: left out of reads and deleted by retention, with a warning,
as any other damaged chunk; one the store itself writes always holds what its row says."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.settings import StoreSettings
from aiops_desktop.store import codec
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import RAW, SeriesBatch, SeriesStore

NOW = datetime.now(UTC).replace(microsecond=0)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000
OLD_MS = NOW_MS - 4 * DAY_MS - NOW_MS % 300_000  # past raw retention; on a 5-min bucket
#: the header: version (1 byte), value mode (1), count (4), columns (2), first timestamp (8)
COUNT_AT, FIRST_TS_AT = 2, 8


def _open(path: Path) -> tuple[Database, SeriesStore]:
    db = Database(path, batch_max_delay_s=0)
    return db, SeriesStore(db, StoreSettings(chunk_samples=240))


def _rot(path: Path, byte: int, *, resolution_s: int = RAW) -> tuple[int, int]:
    """Flip one bit of the header byte ``byte`` in the first chunk of ``resolution_s``: the
    chunk's row (start_ms, end_ms) is left as it was."""
    conn = sqlite3.connect(path)
    try:
        cid, blob, start, end = conn.execute(
            "SELECT id, data, start_ms, end_ms FROM chunks WHERE resolution_s = ? "
            "ORDER BY start_ms LIMIT 1",
            (resolution_s,),
        ).fetchone()
        rotten = bytearray(blob)
        rotten[byte] ^= 0x01
        conn.execute("UPDATE chunks SET data = ? WHERE id = ?", (bytes(rotten), cid))
        conn.commit()
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        return int(start), int(end)
    finally:
        conn.close()


def _store_hours(path: Path, hours: int, start_ms: int = OLD_MS) -> None:
    """One series, ``hours`` at 15 s (240 samples, one chunk, an hour)."""
    db, store = _open(path)
    try:
        ts = start_ms + np.arange(240 * hours) * 15_000
        store.append([SeriesBatch("c1", "cpu", {"node": "n0"}, ts, np.arange(ts.size) % 7.0)])
        store.flush().result()
    finally:
        db.close()


def _every_chunk_holds_its_row(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT start_ms, end_ms, count, data FROM chunks").fetchall()
        for start, end, count, blob in rows:
            codec.decode_row(blob, start, end, count)  # raises where one does not
        return len(rows)
    finally:
        conn.close()


@pytest.mark.parametrize(("byte", "bit"), [(FIRST_TS_AT + 3, 0x01), (COUNT_AT, 0x01)])
def test_a_chunk_that_does_not_hold_its_rows_times_or_count_is_refused(byte: int, bit: int) -> None:
    ts = OLD_MS + np.arange(240, dtype=np.int64) * 15_000
    blob = codec.encode(ts, [np.ones(240)])
    assert codec.decode_row(blob, int(ts[0]), int(ts[-1]), 240)[0].tolist() == ts.tolist()
    rotten = bytearray(blob)
    rotten[byte] ^= bit
    with pytest.raises(codec.ChunkFormatError):
        codec.decode_row(bytes(rotten), int(ts[0]), int(ts[-1]), 240)
    for start, end, count in ((ts[0] + 1, ts[-1], 240), (ts[0], ts[-1] - 1, 240),
                              (ts[0], ts[-1], 239)):  # fmt: skip
        with pytest.raises(codec.ChunkFormatError, match="other times than its row says"):
            codec.decode_row(blob, int(start), int(end), count)


@pytest.mark.parametrize("byte", [FIRST_TS_AT + 3, COUNT_AT])
def test_a_chunk_whose_header_rotted_is_left_out_of_reads_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, byte: int
) -> None:
    """The reviewer's repro: bit 24 of the first timestamp moved the chunk's 240 samples
    4.66 h later, past now, silently."""
    path = tmp_path / "cache.sqlite3"
    _store_hours(path, 3)
    start, end = _rot(path, byte)
    db, store = _open(path)
    try:
        with caplog.at_level(logging.WARNING, logger="aiops.store.series"):
            (data,) = store.read("cpu")
        assert data.timestamps_ms.size == 480  # the other two hours, at their own times
        assert not ((data.timestamps_ms >= start) & (data.timestamps_ms <= end)).any()
        assert int(data.timestamps_ms.max()) == OLD_MS + (720 - 1) * 15_000
        warned = [r for r in caplog.records if "damaged chunk" in r.getMessage()]
        assert len(warned) == 1 and warned[0].__dict__["start_ms"] == start
    finally:
        db.close()


def test_retention_deletes_a_chunk_whose_header_rotted_not_rolls_it_up_elsewhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.sqlite3"
    _store_hours(path, 3)
    _rot(path, FIRST_TS_AT + 3)
    db, store = _open(path)
    try:
        with caplog.at_level(logging.WARNING, logger="aiops.store.series"):
            assert store.apply_retention(NOW).result()["downsampled_chunks"] == 3
        assert any("damaged chunk deleted" in r.getMessage() for r in caplog.records)
        (rolled,) = store.read("cpu", resolution_s=300)
        # 3 h at 5 min is 36 buckets; the rotten hour's 12 are gone, none moved hours on
        assert rolled.timestamps_ms.size == 24
        assert int(rolled.timestamps_ms.min()) == OLD_MS + 3_600_000
        assert int(rolled.timestamps_ms.max()) < OLD_MS + 3 * 3_600_000
    finally:
        db.close()


def test_a_rollup_chunk_whose_header_rotted_is_not_merged_at_another_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.sqlite3"
    _store_hours(path, 2)
    db, store = _open(path)
    store.apply_retention(NOW).result()
    db.close()
    _rot(path, FIRST_TS_AT + 3, resolution_s=300)
    # the next 2 h, still past raw retention: their buckets join the rotten rollup chunk's
    _store_hours(path, 2, OLD_MS + 2 * 3_600_000)
    db, store = _open(path)
    try:
        with caplog.at_level(logging.WARNING, logger="aiops.store.series"):
            store.apply_retention(NOW).result()
        assert any("damaged chunk deleted" in r.getMessage() for r in caplog.records)
        (rolled,) = store.read("cpu", resolution_s=300)
        assert rolled.timestamps_ms.tolist() == [
            OLD_MS + 2 * 3_600_000 + i * 300_000 for i in range(24)
        ]
    finally:
        db.close()
    assert _every_chunk_holds_its_row(path) == 1


def test_every_chunk_the_store_writes_holds_what_its_row_says(tmp_path: Path) -> None:
    """Compaction (whole chunks, a flush's short one, retention's stale head) and rollups
    (merged into the chunk before, several passes) all write rows that ``decode_row``
    accepts: no sound chunk is refused."""
    path = tmp_path / "cache.sqlite3"
    db, store = _open(path)
    try:
        for hour in range(6):  # an hour and a bit at a time: chunks of 240 and short ones
            ts = OLD_MS + hour * 3_600_000 + np.arange(250) * 15_000
            store.append([SeriesBatch("c1", "cpu", {"node": "n0"}, ts, np.sqrt(ts % 97.0))])
            store.flush().result()
            store.apply_retention(NOW - timedelta(hours=5 - hour)).result()
        slow = OLD_MS + np.arange(3) * 600_000  # a slow series: its head rolled up
        store.append([SeriesBatch("c1", "mem", {"node": "n0"}, slow, [1.0, 2.0, 3.0])]).result()
        recent = NOW_MS - 3_600_000 + np.arange(500) * 5_000
        store.append([SeriesBatch("c1", "net", {"node": "n0"}, recent, np.ones(500))]).result()
        store.apply_retention(NOW).result()
        store.flush().result()
        stats = store.stats()
    finally:
        db.close()
    assert _every_chunk_holds_its_row(path) == stats["chunks"] > 3
