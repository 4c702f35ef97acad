"""Time series in SQLite: a row-per-sample head for recent data, compact chunks for the rest.

Writes land in ``samples_head`` (durable at once, deduplicated by timestamp); when a series has
``chunk_samples`` head samples they are encoded into one chunk (``codec``) and removed from the
head, in the same transaction. Retention turns raw chunks older than ``raw_retention`` into
rollups (avg/min/max/count per ``rollup_step``) and drops rollups past ``rollup_retention``.
Everything here runs on the writer thread except ``read``.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from aiops_desktop.settings import StoreSettings
from aiops_desktop.store import codec
from aiops_desktop.store.database import Database

RAW = 0
_ROWS_PER_STATEMENT = 50_000
_INSERT_CHUNK = (
    "INSERT OR REPLACE INTO chunks (series_id, resolution_s, start_ms, end_ms, count, data) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_MIN_TS = -(2**63)


def labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


@dataclass
class SeriesBatch:
    """Samples for one series, as they come from a collector."""

    cluster: str
    metric: str
    labels: dict[str, str]
    timestamps_ms: Sequence[int] | np.ndarray
    values: Sequence[float] | np.ndarray


@dataclass
class SeriesData:
    """What ``read`` returns: raw samples, or rollups with min/max/count beside the average."""

    cluster: str
    metric: str
    labels: dict[str, str]
    timestamps_ms: np.ndarray
    values: np.ndarray
    resolution_s: int = RAW
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None
    counts: np.ndarray | None = field(default=None, repr=False)


class SeriesStore:
    def __init__(self, db: Database, settings: StoreSettings | None = None) -> None:
        self._db = db
        self._settings = settings or StoreSettings()
        # Writer-thread-only caches: series ids and head sizes.
        self._ids: dict[tuple[str, str, str], tuple[int, int]] = {}
        self._head_count: dict[int, int] = {}

    # -- writes (queued on the writer thread) ------------------------------------------------
    def append(self, batches: Iterable[SeriesBatch]) -> Future[int]:
        items = list(batches)
        return self._db.write(lambda conn: self._append(conn, items))

    def flush(self) -> Future[int]:
        """Compact every head sample into chunks (at shutdown, or before measuring)."""
        return self._db.write(self._flush)

    def apply_retention(self, now: datetime) -> Future[dict[str, int]]:
        return self._db.write(lambda conn: self._retention(conn, now))

    def forget_clusters(self, names: Iterable[str]) -> Future[int]:
        """Delete every series stored under these cluster names, with their samples (a
        removed cluster's: one added later under its name must not inherit them). How many
        series went."""
        wanted = sorted(set(names))
        return self._db.write(lambda conn: self._forget_clusters(conn, wanted))

    def _forget_clusters(self, conn: sqlite3.Connection, names: list[str]) -> int:
        gone = 0
        for name in names:
            sids = [(r[0],) for r in conn.execute("SELECT id FROM series WHERE cluster = ?",
                                                  (name,))]  # fmt: skip
            conn.executemany("DELETE FROM samples_head WHERE series_id = ?", sids)
            conn.executemany("DELETE FROM chunks WHERE series_id = ?", sids)
            gone += conn.execute("DELETE FROM series WHERE cluster = ?", (name,)).rowcount
            # the writer's caches: a series made again under the name starts empty
            for key in [k for k in self._ids if k[0] == name]:
                del self._ids[key]
            for (sid,) in sids:
                self._head_count.pop(sid, None)
        return gone

    def _series_id(
        self, conn: sqlite3.Connection, cluster: str, metric: str, lk: str
    ) -> tuple[int, int]:
        key = (cluster, metric, lk)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        conn.execute(
            "INSERT OR IGNORE INTO series (cluster, metric, labels) VALUES (?, ?, ?)",
            (cluster, metric, lk),
        )
        sid, until = conn.execute(
            "SELECT id, chunked_until_ms FROM series WHERE cluster=? AND metric=? AND labels=?",
            key,
        ).fetchone()
        self._ids[key] = (sid, until)
        if sid not in self._head_count:
            self._head_count[sid] = conn.execute(
                "SELECT COUNT(*) FROM samples_head WHERE series_id = ?", (sid,)
            ).fetchone()[0]
        return sid, until

    def _append(self, conn: sqlite3.Connection, items: list[SeriesBatch]) -> int:
        """One executemany for the whole batch; filtering and conversion stay in numpy, so the
        writer thread holds the GIL (and so stalls the UI thread) as little as possible."""
        rows: list[tuple[int, int, float]] = []
        touched: dict[int, int] = {}
        written = 0
        for item in items:
            sid, until = self._series_id(conn, item.cluster, item.metric, labels_key(item.labels))
            ts = np.asarray(item.timestamps_ms, dtype=np.int64)
            keep = ts > until
            if not keep.any():
                continue
            kept_ts = ts[keep].tolist()
            kept_values = np.asarray(item.values, dtype=np.float64)[keep].tolist()
            rows.extend(zip(itertools.repeat(sid, len(kept_ts)), kept_ts, kept_values, strict=True))
            touched[sid] = touched.get(sid, 0) + len(kept_ts)
            if len(rows) >= _ROWS_PER_STATEMENT:  # bounded memory for big back-fills
                written += self._insert_head(conn, rows)
        written += self._insert_head(conn, rows)
        for sid, added in touched.items():  # an upper bound; compaction counts exactly
            self._head_count[sid] = self._head_count.get(sid, 0) + added
        for sid in touched:
            if self._head_count[sid] >= self._settings.chunk_samples:
                self._compact(conn, sid, force=False)
        return written

    @staticmethod
    def _insert_head(conn: sqlite3.Connection, rows: list[tuple[int, int, float]]) -> int:
        count = len(rows)
        if count:
            conn.executemany("INSERT OR REPLACE INTO samples_head VALUES (?, ?, ?)", rows)
            rows.clear()
        return count

    def _compact(self, conn: sqlite3.Connection, sid: int, *, force: bool) -> int:
        rows = conn.execute(
            "SELECT ts_ms, value FROM samples_head WHERE series_id = ? ORDER BY ts_ms", (sid,)
        ).fetchall()
        size = self._settings.chunk_samples
        usable = len(rows) if force else len(rows) - len(rows) % size
        if usable == 0:
            return 0
        ts = np.fromiter((r[0] for r in rows[:usable]), dtype=np.int64, count=usable)
        vals = np.fromiter(
            (np.nan if r[1] is None else r[1] for r in rows[:usable]),
            dtype=np.float64,
            count=usable,
        )
        for start in range(0, usable, size):
            t, v = ts[start : start + size], vals[start : start + size]
            conn.execute(
                _INSERT_CHUNK,
                (sid, RAW, int(t[0]), int(t[-1]), int(t.size), codec.encode(t, [v])),
            )
        last = int(ts[-1])
        conn.execute("DELETE FROM samples_head WHERE series_id = ? AND ts_ms <= ?", (sid, last))
        conn.execute("UPDATE series SET chunked_until_ms = ? WHERE id = ?", (last, sid))
        for key, (cached_sid, _) in list(self._ids.items()):
            if cached_sid == sid:
                self._ids[key] = (sid, last)
        self._head_count[sid] = len(rows) - usable
        return usable

    def _flush(self, conn: sqlite3.Connection) -> int:
        sids = [r[0] for r in conn.execute("SELECT DISTINCT series_id FROM samples_head")]
        return sum(self._compact(conn, sid, force=True) for sid in sids)

    def _retention(self, conn: sqlite3.Connection, now: datetime) -> dict[str, int]:
        now_ms = int(now.timestamp() * 1000)
        step_ms = int(self._settings.rollup_step.total_seconds() * 1000)
        raw_cut = now_ms - int(self._settings.raw_retention.total_seconds() * 1000)
        raw_cut -= raw_cut % step_ms
        rollup_cut = now_ms - int(self._settings.rollup_retention.total_seconds() * 1000)
        old = conn.execute(
            "SELECT series_id, start_ms, data FROM chunks WHERE resolution_s = 0 AND end_ms < ? "
            "ORDER BY series_id, start_ms",
            (raw_cut,),
        ).fetchall()
        by_series: dict[int, list[tuple[int, bytes]]] = {}
        for sid, start, blob in old:
            by_series.setdefault(sid, []).append((start, blob))
        step_s = step_ms // 1000
        for sid, chunks in by_series.items():
            decoded = [codec.decode(blob) for _, blob in chunks]
            ts = np.concatenate([d[0] for d in decoded])
            vals = np.concatenate([d[1][0] for d in decoded])
            keep = ~np.isnan(vals)
            ts, vals = ts[keep], vals[keep]
            if ts.size:
                buckets = ts - ts % step_ms
                starts, idx = np.unique(buckets, return_index=True)
                sums = np.add.reduceat(vals, idx)
                counts = np.diff(np.append(idx, vals.size)).astype(np.float64)
                cols = [
                    sums / counts,
                    np.minimum.reduceat(vals, idx),
                    np.maximum.reduceat(vals, idx),
                    counts,
                ]
                for s in range(0, starts.size, self._settings.chunk_samples):
                    e = s + self._settings.chunk_samples
                    conn.execute(
                        _INSERT_CHUNK,
                        (
                            sid,
                            step_s,
                            int(starts[s]),
                            int(starts[min(e, starts.size) - 1]),
                            int(starts[s:e].size),
                            codec.encode(starts[s:e], [c[s:e] for c in cols]),
                        ),
                    )
            conn.executemany(
                "DELETE FROM chunks WHERE series_id = ? AND resolution_s = 0 AND start_ms = ?",
                [(sid, start) for start, _ in chunks],
            )
        dropped = conn.execute(
            "DELETE FROM chunks WHERE resolution_s > 0 AND end_ms < ?", (rollup_cut,)
        ).rowcount
        head = conn.execute("DELETE FROM samples_head WHERE ts_ms < ?", (raw_cut,)).rowcount
        self._head_count.clear()
        return {"downsampled_chunks": len(old), "dropped_rollups": dropped, "dropped_head": head}

    # -- reads (any thread) -----------------------------------------------------------------
    def read(
        self,
        metric: str,
        *,
        cluster: str | None = None,
        start_ms: int = _MIN_TS,
        end_ms: int = 2**62,
        resolution_s: int = RAW,
    ) -> list[SeriesData]:
        with self._db.reading() as conn, _snapshot(conn):
            sql = "SELECT id, cluster, labels FROM series WHERE metric = ?"
            args: list[object] = [metric]
            if cluster is not None:
                sql += " AND cluster = ?"
                args.append(cluster)
            out = []
            for sid, cl, lk in conn.execute(sql, args).fetchall():
                chunk_rows = conn.execute(
                    "SELECT data FROM chunks WHERE series_id = ? AND resolution_s = ? "
                    "AND end_ms >= ? AND start_ms <= ? ORDER BY start_ms",
                    (sid, resolution_s, start_ms, end_ms),
                ).fetchall()
                parts = [codec.decode(r[0]) for r in chunk_rows]
                if resolution_s == RAW:
                    head = conn.execute(
                        "SELECT ts_ms, value FROM samples_head WHERE series_id = ? "
                        "AND ts_ms BETWEEN ? AND ? ORDER BY ts_ms",
                        (sid, start_ms, end_ms),
                    ).fetchall()
                    ts = np.concatenate(
                        [p[0] for p in parts] + [np.array([r[0] for r in head], dtype=np.int64)]
                    )
                    vals = np.concatenate(
                        [p[1][0] for p in parts]
                        + [np.array([np.nan if r[1] is None else r[1] for r in head], dtype=float)]
                    )
                    sel = (ts >= start_ms) & (ts <= end_ms)
                    data = SeriesData(cl, metric, json.loads(lk), ts[sel], vals[sel])
                else:
                    data = _merge_rollups(
                        cl,
                        metric=metric,
                        labels=json.loads(lk),
                        resolution_s=resolution_s,
                        parts=parts,
                        start_ms=start_ms,
                        end_ms=end_ms,
                    )
                if data.timestamps_ms.size:
                    out.append(data)
        return out

    @property
    def settings(self) -> StoreSettings:
        return self._settings

    def cluster_names(self) -> list[str]:
        """Every cluster name stored series carry (a fleet hub's members among them)."""
        rows = self._db.fetch_all("SELECT DISTINCT cluster FROM series ORDER BY cluster")
        return [r[0] for r in rows]

    def stats(self) -> dict[str, int]:
        with self._db.reading() as conn:
            return {
                "series": conn.execute("SELECT COUNT(*) FROM series").fetchone()[0],
                "head_samples": conn.execute("SELECT COUNT(*) FROM samples_head").fetchone()[0],
                "chunks": conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
                "chunk_samples": conn.execute(
                    "SELECT COALESCE(SUM(count),0) FROM chunks"
                ).fetchone()[0],
            }


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: the chunks and the head are read as of one moment (a compaction
    committed between two reads would otherwise hide its samples from both)."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _merge_rollups(
    cluster: str,
    *,
    metric: str,
    labels: dict[str, str],
    resolution_s: int,
    parts: list[tuple[np.ndarray, list[np.ndarray]]],
    start_ms: int,
    end_ms: int,
) -> SeriesData:
    """Join rollup chunks; a bucket split across two retention passes is merged exactly."""
    if not parts:
        empty = np.zeros(0)
        return SeriesData(cluster, metric, labels, empty.astype(np.int64), empty, resolution_s)
    ts = np.concatenate([p[0] for p in parts])
    avg, mn, mx, cnt = (np.concatenate([p[1][i] for p in parts]) for i in range(4))
    order = np.argsort(ts, kind="stable")
    ts, avg, mn, mx, cnt = ts[order], avg[order], mn[order], mx[order], cnt[order]
    uniq, idx = np.unique(ts, return_index=True)
    total = np.add.reduceat(avg * cnt, idx)
    counts = np.add.reduceat(cnt, idx)
    sel = (uniq >= start_ms) & (uniq <= end_ms)
    return SeriesData(
        cluster,
        metric,
        labels,
        uniq[sel],
        (total / counts)[sel],
        resolution_s,
        np.minimum.reduceat(mn, idx)[sel],
        np.maximum.reduceat(mx, idx)[sel],
        counts[sel],
    )
