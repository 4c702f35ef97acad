"""Review fixes: a write accepted while the store closes resolves (committed, or failed as
StoreClosedError), never hangs; a chart reads the rollups of every step the cache holds, so
changing ``store.rollup_step`` does not hide the history rolled up before."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.services.polling.history import read_panel_history
from aiops_desktop.settings import StoreSettings
from aiops_desktop.store.database import Database
from aiops_desktop.store.errors import StoreClosedError
from aiops_desktop.store.series import RAW, SeriesBatch, SeriesStore
from aiops_desktop.store.writer import _STOP, WriterThread

# -- the writer closing while a write is submitted -------------------------------------------


class _CloseInTheGap(threading.Event):
    """The writer's closed flag. Its first look once armed (submit's check) starts close() on
    another thread and lets it go as far as it can (up to the writer thread's end) before
    submit goes on to queue its write: the gap a concurrent close used to fall into."""

    def __init__(self, writer: WriterThread) -> None:
        super().__init__()
        self.writer = writer
        self.armed = False
        self.closer: threading.Thread | None = None

    def is_set(self) -> bool:
        seen = super().is_set()
        if self.armed:
            self.armed = False
            self.closer = threading.Thread(target=self.writer.close)
            self.closer.start()
            self.writer._thread.join(0.5)
        return seen


def test_a_write_accepted_while_the_store_closes_is_committed(tmp_path: Path) -> None:
    writer = WriterThread(tmp_path / "w.sqlite3")
    flag = _CloseInTheGap(writer)
    writer._closed = flag
    flag.armed = True
    future = writer.submit(lambda conn: conn.execute("SELECT 7").fetchone()[0])
    assert flag.closer is not None
    flag.closer.join(10)
    assert not flag.closer.is_alive()
    # accepted, so committed before the writer stopped (it used to stay pending for ever)
    assert future.result(timeout=5) == 7
    with pytest.raises(StoreClosedError):
        writer.submit(lambda conn: None)


def test_writes_left_queued_when_the_writer_stops_fail_as_closed(tmp_path: Path) -> None:
    writer = WriterThread(tmp_path / "w.sqlite3")
    started, release = threading.Event(), threading.Event()

    def blocker(conn: object) -> str:
        started.set()
        release.wait(10)
        return "done"

    first = writer.submit(blocker)
    assert started.wait(10)
    # a stop ahead of a queued write (what close used to let happen): the writer ends after
    # the batch it is committing, with the write still queued
    writer._queue.put(_STOP)
    left = writer.submit(lambda conn: conn.execute("SELECT 1").fetchone()[0])
    release.set()
    assert first.result(timeout=10) == "done"
    writer._thread.join(10)
    assert not writer._thread.is_alive()
    with pytest.raises(StoreClosedError):
        left.result(timeout=5)
    # and the stopped writer accepts nothing more (a write queued now would never run)
    with pytest.raises(StoreClosedError):
        writer.submit(lambda conn: None)
    assert writer.close(timeout=5)


# -- history across a change of rollup step ---------------------------------------------------

_BASE = datetime(2024, 3, 1, tzinfo=UTC)
_BASE_MS = int(_BASE.timestamp() * 1000)
_HOUR_MS = 3_600_000


def _settings(step_min: int) -> StoreSettings:
    return StoreSettings(
        rollup_step=timedelta(minutes=step_min), raw_retention=timedelta(hours=1), chunk_samples=16
    )


def _record(path: Path, step_min: int, from_ms: int, to_ms: int, value: float) -> None:
    """Samples every 15 s in [from_ms, to_ms), then retention as of ``to_ms``, with the cache
    opened under this rollup step."""
    db = Database(path)
    try:
        store = SeriesStore(db, _settings(step_min))
        ts = list(range(from_ms, to_ms, 15_000))
        store.append([SeriesBatch("c1", "node_cpu", {"instance": "n1"}, ts, [value] * len(ts))])
        store.apply_retention(datetime.fromtimestamp(to_ms / 1000, UTC)).result(timeout=30)
    finally:
        db.close()


def _history(path: Path, step_min: int, hours: int) -> tuple[np.ndarray, np.ndarray, dict]:
    db = Database(path)
    try:
        store = SeriesStore(db, _settings(step_min))
        found = read_panel_history(
            store, "c1", "node_cpu", _BASE - timedelta(days=1), _BASE + timedelta(hours=hours)
        )
        stored = {
            res: store.read("node_cpu", cluster="c1", resolution_s=res) for res in (RAW, 60, 300)
        }
    finally:
        db.close()
    ((_labels, ts, values),) = found.values()
    return ts, values, stored


def test_rollups_made_under_an_earlier_coarser_step_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    _record(path, 5, _BASE_MS, _BASE_MS + 6 * _HOUR_MS, 1.0)  # rolled up at 5 min
    _record(path, 1, _BASE_MS + 6 * _HOUR_MS, _BASE_MS + 9 * _HOUR_MS, 2.0)  # now at 1 min
    ts, values, stored = _history(path, 1, 9)
    assert stored[300] and stored[60]  # both steps' rollups are in the file
    # the chart starts where the data does, not where the 1-min rollups begin
    assert ts[0] == _BASE_MS / 1000
    assert np.all(np.diff(ts) > 0)
    # every bucket of each step, the one at the seam too (it holds the last minutes rolled up
    # at 5 min, before the first 1-min bucket), then the raw samples
    fine_from = stored[60][0].timestamps_ms[0] / 1000
    raw_from = stored[RAW][0].timestamps_ms[0] / 1000
    assert ts[ts < fine_from].tolist() == (stored[300][0].timestamps_ms / 1000).tolist()
    assert (
        ts[(ts >= fine_from) & (ts < raw_from)].tolist()
        == (stored[60][0].timestamps_ms / 1000).tolist()
    )
    assert ts[ts >= raw_from].tolist() == (stored[RAW][0].timestamps_ms / 1000).tolist()
    assert np.all(values[ts < _BASE_MS / 1000 + 6 * 3600] == 1.0)
    assert np.all(values[ts >= _BASE_MS / 1000 + 6 * 3600] == 2.0)


def test_where_two_steps_overlap_the_finer_rollups_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    # rolled up at 1 min up to a cut that is not on a 5-min boundary (raw chunks of 4 min: the
    # last one rolled ends at 5 h 04 min), then at 5 min: the first 5-min bucket holds minutes
    # the 1-min rollups hold too
    cut_ms = _BASE_MS + 6 * _HOUR_MS + 6 * 60_000
    _record(path, 1, _BASE_MS, cut_ms, 1.0)
    _record(path, 5, cut_ms, _BASE_MS + 9 * _HOUR_MS, 2.0)
    ts, _values, stored = _history(path, 5, 9)
    fine = stored[60][0].timestamps_ms
    coarse = stored[300][0].timestamps_ms
    first_raw = stored[RAW][0].timestamps_ms[0]
    # 5-min buckets starting inside the 1-min ones' time: each moment is shown at one step
    overlapping = (coarse >= fine[0]) & (coarse < fine[-1] + 60_000)
    assert overlapping.any()  # the case under test is there
    rollups = np.concatenate([fine, coarse[~overlapping]])
    expected = np.concatenate([rollups[rollups < first_raw], stored[RAW][0].timestamps_ms])
    assert ts.tolist() == sorted((expected / 1000).tolist())
