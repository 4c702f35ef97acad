"""Time series in SQLite: a row-per-sample head for recent data, compact chunks for the rest.

Writes land in ``samples_head`` (durable at once, deduplicated by timestamp); when a series has
``chunk_samples`` head samples they are encoded into one chunk (``codec``) and removed from the
head, in the same transaction. Retention turns raw samples older than ``raw_retention`` (in
chunks, or still in the head of a slow or stopped series) into rollups (avg/min/max/count per
``rollup_step``), drops rollups past ``rollup_retention``, and forgets the series left with
no data. Everything here runs on the writer thread except ``read``.

Retention is measured from the time it is given: maintenance gives it the newest sample's
(``newest_ms``) when the clock is past that, as Prometheus measures from its newest block. A
chunk that cannot be decoded, or holds other times than its row says (bit rot inside a BLOB
passes ``PRAGMA quick_check``; its header's first time is outside zlib's checksum), is left out
of reads and deleted by retention, with a warning, so that it costs its own samples only; a
series whose labels text is damaged is left out of reads, with a warning, and left in place
(store/bodies.py). No sample more than ``FUTURE_ALLOWANCE`` past the clock is stored.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from pydantic import TypeAdapter

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
#: How far past this machine's clock a sample may be and still be stored. A series' samples up
#: to its newest compacted one are never written again (``chunked_until_ms``), so one sample
#: far ahead (a hostile or broken server) would drop every later one for good; a server whose
#: clock runs ahead of ours (hosts' clocks differ by seconds, by minutes where NTP is off) must
#: still be stored. 10 minutes, as Mimir's and Cortex's ``creation_grace_period``: at most
#: that much is lost when a sample inside it pins a series.
FUTURE_ALLOWANCE = timedelta(minutes=10)

#: The series one write of a retention pass takes (their stale head samples, raw chunks past
#: the cut, expired rollups, and the series left empty). One pass in one transaction held the
#: write lock 9 s after a weekend closed (5,000 series): a person's acknowledgement waited
#: behind it, another process's write failed "database is locked", the -wal grew to 31 MB.
RETENTION_BATCH_SERIES = 200
#: what a retention pass counts, in its answer's order
_RETENTION_COUNTS = ("downsampled_chunks", "dropped_rollups", "rolled_head", "forgotten_series")
#: series ids past which a retention batch starts and ends: every id SQLite can hold
_BEFORE_EVERY_ID, _AFTER_EVERY_ID = -(2**63), 2**63 - 1

log = logging.getLogger("aiops.store.series")
#: a chunk's series id, resolution, first and last time, and count, as its row says
_ChunkAt = tuple[int, int, int, int, int]
_LABELS = TypeAdapter(dict[str, str])


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
        # Writer-thread-only caches: series ids (both ways), how far each is chunked, and head
        # sizes. They hold only what is committed: the writer drops them when a write rolls
        # back or another process (a second window, the CLI) has committed since our last
        # write, so that none points at a series row that is gone or has moved on.
        self._ids: dict[tuple[str, str, str], tuple[int, int]] = {}
        self._keys: dict[int, tuple[str, str, str]] = {}
        self._head_count: dict[int, int] = {}
        # damaged chunks reads have warned of (once each: a chart reads every few seconds)
        self._damaged: set[int] = set()
        # series whose labels reads have warned of, and those written samples far ahead (once
        # each: a chart reads every few seconds, a poller writes every few)
        self._damaged_labels: set[int] = set()
        self._ahead: set[int] = set()
        db.writer.on_cache_reset(self._drop_caches)

    def _drop_caches(self) -> None:
        self._ids.clear()
        self._keys.clear()
        self._head_count.clear()

    # -- writes (queued on the writer thread) ------------------------------------------------
    def append(self, batches: Iterable[SeriesBatch]) -> Future[int]:
        items = list(batches)
        # bulk: refused while the writer is far behind (the poller reads them again next time)
        return self._db.write(lambda conn: self._append(conn, items), bulk=True)

    def flush(self) -> Future[int]:
        """Compact every head sample into chunks (at shutdown, or before measuring)."""
        return self._db.write(self._flush)

    def apply_retention(self, now: datetime) -> Future[dict[str, int]]:
        """Roll up and drop what is older than the retentions before ``now``: not the clock
        where that is past ``newest_ms`` (a clock days ahead would delete what it should not).
        One write per ``RETENTION_BATCH_SERIES`` series, each queued once the one before has
        committed (queued together, they would share one transaction), so that other writes
        go between them; the future holds the whole pass's counts, or the first batch's
        error (the batches committed before it stand: each finished its series)."""
        done: Future[dict[str, int]] = Future()
        totals = dict.fromkeys(_RETENTION_COUNTS, 0)

        def queue_batch(after: int) -> None:
            try:
                batch = self._db.write(lambda conn: self._retention(conn, now, after))
            except Exception as exc:  # the store closed between two batches
                done.set_exception(exc)
                return
            batch.add_done_callback(settle)

        def settle(batch: Future[tuple[dict[str, int], int | None]]) -> None:
            if done.cancelled():  # whoever awaited it is gone: the rest is left for next time
                return
            try:
                counts, last = batch.result()
            except Exception as exc:
                done.set_exception(exc)
                return
            for name, n in counts.items():
                totals[name] += n
            if last is None:
                done.set_result(totals)
            else:
                queue_batch(last)

        queue_batch(_BEFORE_EVERY_ID)
        return done

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
            self._uncache(sid for (sid,) in sids)
        return gone

    def _uncache(self, sids: Iterable[int]) -> None:
        for sid in sids:
            key = self._keys.pop(sid, None)
            if key is not None:
                self._ids.pop(key, None)
            self._head_count.pop(sid, None)

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
        self._keys[sid] = key
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
        latest = int(time.time() * 1000 + FUTURE_ALLOWANCE.total_seconds() * 1000)
        for item in items:
            sid, until = self._series_id(conn, item.cluster, item.metric, labels_key(item.labels))
            ts = np.asarray(item.timestamps_ms, dtype=np.int64)
            ahead = ts > latest
            if ahead.any():
                self._refuse_ahead(sid, item, int(np.count_nonzero(ahead)))
            keep = (ts > until) & ~ahead
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

    def _refuse_ahead(self, sid: int, item: SeriesBatch, count: int) -> None:
        """Samples past the clock are not stored (once compacted, one would stop every later
        sample of its series); a warning once a series."""
        if sid in self._ahead:
            return
        self._ahead.add(sid)
        log.warning(
            "samples more than %s past this machine's clock were not stored (a server's clock "
            "far ahead, or a broken answer); said once a series", FUTURE_ALLOWANCE,
            extra={"cluster": item.cluster, "metric": item.metric, "refused": count},
        )  # fmt: skip

    @staticmethod
    def _insert_head(conn: sqlite3.Connection, rows: list[tuple[int, int, float]]) -> int:
        count = len(rows)
        if count:
            conn.executemany("INSERT OR REPLACE INTO samples_head VALUES (?, ?, ?)", rows)
            rows.clear()
        return count

    def _compact(
        self, conn: sqlite3.Connection, sid: int, *, force: bool, before_ms: int | None = None
    ) -> int:
        """Head samples into chunks: whole chunks, or (``force``) all of them; only those
        before ``before_ms`` when given. Returns how many samples were compacted."""
        if before_ms is None:
            rows = conn.execute(
                "SELECT ts_ms, value FROM samples_head WHERE series_id = ? ORDER BY ts_ms", (sid,)
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT ts_ms, value FROM samples_head WHERE series_id = ? AND ts_ms < ? "
                "ORDER BY ts_ms",
                (sid, before_ms),
            ).fetchall()
        size = self._settings.chunk_samples
        usable = len(rows) if force else len(rows) - len(rows) % size
        if usable == 0:
            if before_ms is None:  # the count was an upper bound (re-sent samples replace)
                self._head_count[sid] = len(rows)
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
        key = self._keys.get(sid)
        if key is not None:
            self._ids[key] = (sid, last)
        if before_ms is None:
            self._head_count[sid] = len(rows) - usable
        else:  # samples after before_ms stay in the head
            self._head_count[sid] = conn.execute(
                "SELECT COUNT(*) FROM samples_head WHERE series_id = ?", (sid,)
            ).fetchone()[0]
        return usable

    def _flush(self, conn: sqlite3.Connection) -> int:
        sids = [r[0] for r in conn.execute("SELECT DISTINCT series_id FROM samples_head")]
        return sum(self._compact(conn, sid, force=True) for sid in sids)

    def _retention(
        self, conn: sqlite3.Connection, now: datetime, after: int
    ) -> tuple[dict[str, int], int | None]:
        """One batch of a retention pass: the next ``RETENTION_BATCH_SERIES`` series past id
        ``after`` (and the samples of any id between them that no series row has). Its counts
        and the last id it took, None once it took every series left."""
        row = conn.execute(
            "SELECT id FROM series WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?",
            (after, RETENTION_BATCH_SERIES - 1),
        ).fetchone()
        last = None if row is None else int(row[0])
        ids = (after, _AFTER_EVERY_ID if last is None else last)
        now_ms = int(now.timestamp() * 1000)
        step_ms = int(self._settings.rollup_step.total_seconds() * 1000)
        raw_cut = now_ms - int(self._settings.raw_retention.total_seconds() * 1000)
        raw_cut -= raw_cut % step_ms
        rollup_cut = now_ms - int(self._settings.rollup_retention.total_seconds() * 1000)
        # Head samples past raw retention (a series too slow to fill a chunk in that time, or
        # one that stopped) become chunks first, so they are rolled up below, not lost.
        stale = conn.execute(
            "SELECT DISTINCT series_id FROM samples_head WHERE series_id > ? AND series_id <= ? "
            "AND ts_ms < ?",
            (*ids, raw_cut),
        ).fetchall()
        rolled_head = sum(
            self._compact(conn, sid, force=True, before_ms=raw_cut) for (sid,) in stale
        )
        # found in the batch's series' own index (+resolution_s: not in every old chunk's of
        # every batch), which tells the chunks that start past the cut without their rows
        old = conn.execute(
            "SELECT series_id, start_ms, end_ms, count, data FROM chunks WHERE series_id > ? "
            "AND series_id <= ? AND +resolution_s = 0 AND start_ms < ? AND end_ms < ? "
            "ORDER BY series_id, start_ms",
            (*ids, raw_cut, raw_cut),
        ).fetchall()
        by_series: dict[int, list[tuple[int, int, int, bytes]]] = {}
        for sid, start, end, count, blob in old:
            by_series.setdefault(sid, []).append((start, end, count, blob))
        step_s = step_ms // 1000
        for sid, chunks in by_series.items():
            # a damaged chunk is deleted with the others (it can never be read again), its
            # samples lost; the series' other chunks are rolled up as usual
            decoded = [
                d
                for start, end, count, blob in chunks
                if (d := _decoded(conn, blob, (sid, RAW, start, end, count))) is not None
            ]
            ts, vals = _each_once(
                np.concatenate([d[0] for d in decoded] or [np.zeros(0, np.int64)]),
                np.concatenate([d[1][0] for d in decoded] or [np.zeros(0)]),
            )
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
                self._add_rollups(conn, sid, step_s, starts, cols)
            conn.executemany(
                "DELETE FROM chunks WHERE series_id = ? AND resolution_s = 0 AND start_ms = ?",
                [(sid, start) for start, *_ in chunks],
            )
        dropped = conn.execute(
            "DELETE FROM chunks WHERE series_id > ? AND series_id <= ? AND +resolution_s > 0 "
            "AND start_ms < ? AND end_ms < ?",
            (*ids, rollup_cut, rollup_cut),
        ).rowcount
        # series with nothing left (their rollups expired): the row and the caches go; one
        # written again is made afresh
        empty = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM series s WHERE id > ? AND id <= ? AND NOT EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.series_id = s.id) AND NOT EXISTS "
                "(SELECT 1 FROM samples_head h WHERE h.series_id = s.id)",
                ids,
            )
        ]
        conn.executemany("DELETE FROM series WHERE id = ?", [(sid,) for sid in empty])
        self._uncache(empty)
        tally = (len(old), dropped, rolled_head, len(empty))
        return dict(zip(_RETENTION_COUNTS, tally, strict=True)), last

    def _add_rollups(
        self,
        conn: sqlite3.Connection,
        sid: int,
        step_s: int,
        starts: np.ndarray,
        cols: list[np.ndarray],
    ) -> None:
        """Store rollup buckets (sorted, unique) with the series' rollup chunks, each bucket
        once: a stored chunk holding one of these buckets (an earlier pass rolled up a raw
        chunk that ended inside it) is merged with them, as is the chunk just before them
        while it is not full (so chunks fill up to ``chunk_samples`` buckets, where each pass
        used to add a small one), and written again."""
        size = self._settings.chunk_samples
        lo, hi = int(starts[0]), int(starts[-1])
        where = "FROM chunks WHERE series_id = ? AND resolution_s = ?"
        found = conn.execute(  # chunks are in time order: only the one before can reach in
            f"SELECT id, start_ms, end_ms, count, data {where} AND start_ms < ? "
            "ORDER BY start_ms DESC LIMIT 1",
            (sid, step_s, lo),
        ).fetchall()
        found = [
            (cid, start, end, count, blob)
            for cid, start, end, count, blob in found
            if end >= lo or (count < size and lo - start < size * step_s * 1000)
        ]
        found += conn.execute(
            f"SELECT id, start_ms, end_ms, count, data {where} AND start_ms BETWEEN ? AND ?",
            (sid, step_s, lo, hi),
        ).fetchall()
        taken: dict[int, tuple[np.ndarray, list[np.ndarray]]] = {}
        while found:
            for cid, start, end, count, blob in found:
                # a damaged one is deleted with those merged (its buckets lost), so that the
                # new chunks can take its place
                d = _decoded(conn, blob, (sid, step_s, start, end, count))
                taken[cid] = d if d is not None else (np.zeros(0, np.int64), [np.zeros(0)] * 4)
            parts = [(starts, cols), *taken.values()]
            merged_ts, merged = _combine(
                np.concatenate([p[0] for p in parts]),
                *(np.concatenate([p[1][i] for p in parts]) for i in range(4)),
            )
            # a chunk written anew may not start where another one (not merged) starts
            firsts = merged_ts[::size].tolist()
            found = [
                r
                for r in conn.execute(
                    f"SELECT id, start_ms, end_ms, count, data {where} "
                    f"AND start_ms IN ({','.join('?' * len(firsts))})",
                    (sid, step_s, *firsts),
                )
                if r[0] not in taken
            ]
        if taken:
            conn.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in taken])
            starts, cols = merged_ts, merged
        for s in range(0, starts.size, size):
            e = min(s + size, starts.size)
            conn.execute(
                _INSERT_CHUNK,
                (
                    sid,
                    step_s,
                    int(starts[s]),
                    int(starts[e - 1]),
                    e - s,
                    codec.encode(starts[s:e], [c[s:e] for c in cols]),
                ),
            )

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
                labels = self._labels(sid, cl, metric, lk)
                if labels is None:
                    continue
                chunk_rows = conn.execute(
                    "SELECT id, start_ms, end_ms, count, data FROM chunks WHERE series_id = ? "
                    "AND resolution_s = ? AND end_ms >= ? AND start_ms <= ? ORDER BY start_ms",
                    (sid, resolution_s, start_ms, end_ms),
                ).fetchall()
                parts = [
                    d
                    for cid, c_start, c_end, c_count, blob in chunk_rows
                    if (
                        d := self._read_chunk(
                            conn, cid, blob, (sid, resolution_s, c_start, c_end, c_count)
                        )
                    )
                    is not None
                ]
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
                    ts, vals = _each_once(ts, vals)
                    sel = (ts >= start_ms) & (ts <= end_ms)
                    data = SeriesData(cl, metric, labels, ts[sel], vals[sel])
                else:
                    data = _merge_rollups(
                        cl,
                        metric=metric,
                        labels=labels,
                        resolution_s=resolution_s,
                        parts=parts,
                        start_ms=start_ms,
                        end_ms=end_ms,
                    )
                if data.timestamps_ms.size:
                    out.append(data)
        return out

    def _read_chunk(
        self,
        conn: sqlite3.Connection,
        cid: int,
        blob: bytes,
        at: _ChunkAt,
    ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """A chunk decoded, or None when it is damaged (or holds other times than its row
        says): a read leaves it out (the series' other samples are still shown) and warns once
        a chunk; retention deletes it."""
        try:
            return _decode_at(blob, at)
        except codec.ChunkFormatError as exc:
            if cid not in self._damaged:
                self._damaged.add(cid)
                _warn_damaged(conn, exc, at, "left out of reads")
            return None

    def _labels(self, sid: int, cluster: str, metric: str, text: object) -> dict[str, str] | None:
        """A series' labels, or None when its row's text is damaged (a disk error or a hand
        edit passes ``PRAGMA quick_check``): reads leave that series out, not every series
        beside it, and warn once a series (never with what the row holds); the row is left in
        place (store/bodies.py)."""
        try:
            return _LABELS.validate_json(text if isinstance(text, str | bytes) else "")
        except ValueError:  # pydantic's ValidationError among them
            if sid not in self._damaged_labels:
                self._damaged_labels.add(sid)
                log.warning(
                    "damaged series row left out of reads (its labels cannot be read); left "
                    "in place", extra={"cluster": cluster, "metric": metric, "series_id": sid},
                )  # fmt: skip
            return None

    @property
    def settings(self) -> StoreSettings:
        return self._settings

    @property
    def db(self) -> Database:
        """The cache this store keeps its series in (maintenance finds the newest row of the
        other tables there)."""
        return self._db

    def newest_ms(self) -> int | None:
        """The newest sample stored (raw, or a rollup bucket's start), None when none is."""
        step_s = int(self._settings.rollup_step.total_seconds())
        with self._db.reading() as conn, _snapshot(conn):
            found = [
                conn.execute("SELECT MAX(ts_ms) FROM samples_head").fetchone()[0],
                *(
                    conn.execute(
                        "SELECT MAX(end_ms) FROM chunks WHERE resolution_s = ?", (res,)
                    ).fetchone()[0]
                    for res in (RAW, step_s)
                ),
            ]
        return max((t for t in found if t is not None), default=None)

    def rollup_resolutions(
        self, metric: str, *, cluster: str, start_ms: int = _MIN_TS, end_ms: int = 2**62
    ) -> list[int]:
        """The rollup steps (s) stored for ``metric``'s series on ``cluster`` with buckets in
        [start_ms, end_ms], finest first: those of an earlier ``rollup_step`` too, which stay
        until retention ends them."""
        rows = self._db.fetch_all(
            "SELECT DISTINCT c.resolution_s FROM series s JOIN chunks c ON c.series_id = s.id "
            "WHERE s.metric = ? AND s.cluster = ? AND c.resolution_s > 0 "
            "AND c.end_ms >= ? AND c.start_ms <= ? ORDER BY c.resolution_s",
            (metric, cluster, start_ms, end_ms),
        )
        return [int(r[0]) for r in rows]

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


def _decoded(
    conn: sqlite3.Connection, blob: bytes, at: _ChunkAt
) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """A chunk retention reads, decoded; None, with a warning, when it is damaged (the caller
    deletes it)."""
    try:
        return _decode_at(blob, at)
    except codec.ChunkFormatError as exc:
        _warn_damaged(conn, exc, at, "deleted")
        return None


def _decode_at(blob: bytes, at: _ChunkAt) -> tuple[np.ndarray, list[np.ndarray]]:
    """A chunk decoded, checked against its row (bit rot in its header moved its samples in
    time); ChunkFormatError where it is damaged."""
    _sid, _resolution_s, start_ms, end_ms, count = at
    return codec.decode_row(blob, start_ms, end_ms, count)


def _warn_damaged(conn: sqlite3.Connection, exc: Exception, at: _ChunkAt, done: str) -> None:
    """A warning naming the damaged chunk's series and time range."""
    sid, resolution_s, start_ms, end_ms, _count = at
    row = conn.execute("SELECT cluster, metric, labels FROM series WHERE id = ?", (sid,)).fetchone()
    cluster, metric, labels = row if row is not None else (None, None, None)
    log.warning(
        f"damaged chunk {done}: its samples are lost",
        extra={"cluster": cluster, "metric": metric, "labels": labels,
               "resolution_s": resolution_s, "start_ms": start_ms, "end_ms": end_ms,
               "error": str(exc)},
    )  # fmt: skip


def _each_once(ts: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw samples in time order, each timestamp once (the last given: the head's, the newest).
    Stored samples are that already; a file an older version wrote from two processes at once
    may hold some twice, in overlapping chunks."""
    if ts.size < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return ts, vals
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    last = np.append(ts[1:] != ts[:-1], True)
    return ts[last], vals[last]


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
    """Join rollup chunks; a bucket stored twice (by an older version) is merged exactly."""
    if not parts:
        empty = np.zeros(0)
        return SeriesData(cluster, metric, labels, empty.astype(np.int64), empty, resolution_s)
    uniq, (avg, mn, mx, counts) = _combine(
        np.concatenate([p[0] for p in parts]),
        *(np.concatenate([p[1][i] for p in parts]) for i in range(4)),
    )
    sel = (uniq >= start_ms) & (uniq <= end_ms)
    return SeriesData(
        cluster,
        metric,
        labels,
        uniq[sel],
        avg[sel],
        resolution_s,
        mn[sel],
        mx[sel],
        counts[sel],
    )


def _combine(
    ts: np.ndarray, avg: np.ndarray, mn: np.ndarray, mx: np.ndarray, cnt: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rollup buckets in time order, one per start: those given more than once merged (the
    count-weighted average, the least minimum, the greatest maximum, the summed count); one
    given once keeps its values bit for bit."""
    order = np.argsort(ts, kind="stable")
    ts, avg, mn, mx, cnt = ts[order], avg[order], mn[order], mx[order], cnt[order]
    uniq, idx = np.unique(ts, return_index=True)
    counts = np.add.reduceat(cnt, idx)
    merged = np.diff(np.append(idx, ts.size)) > 1
    means = avg[idx]
    means[merged] = (np.add.reduceat(avg * cnt, idx) / counts)[merged]
    return uniq, [means, np.minimum.reduceat(mn, idx), np.maximum.reduceat(mx, idx), counts]
