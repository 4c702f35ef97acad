"""Bounded in-memory buffers of recent samples, per cluster, panel and series.

The poller appends; chart presenters read snapshots on a redraw timer. Each buffer keeps at
most ``capacity`` points (a ring), so memory stays flat however long the app runs.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

DEFAULT_CAPACITY = 720

SeriesKey = tuple[tuple[str, str], ...]


def series_key(labels: dict[str, str]) -> SeriesKey:
    return tuple(sorted(labels.items()))


#: rings a prune judges at a time, the lock (and the loop) free between: ~2.6 ms each
PRUNE_SLICE = 2000
FIRST_ROOM = 64  # a ring starts this big and doubles up to its capacity


@dataclass
class Ring:
    """The recent points of one series, at most ``capacity``. Its arrays grow as points
    come (12,000 series of a big fleet, each at full capacity from its first point, held
    67 MB in the scale benchmark's tracemalloc census)."""

    capacity: int
    ts: np.ndarray = field(init=False)
    values: np.ndarray = field(init=False)
    size: int = 0

    def __post_init__(self) -> None:
        room = min(self.capacity, FIRST_ROOM)
        self.ts = np.empty(room)
        self.values = np.empty(room)

    @property
    def last_ts(self) -> float:
        return float(self.ts[self.size - 1]) if self.size else float("-inf")

    @property
    def span(self) -> float:
        """The time its points cover, first to last (s)."""
        return float(self.ts[self.size - 1] - self.ts[0]) if self.size else 0.0

    def _make_room(self, needed: int) -> None:
        room = self.ts.size
        if needed <= room or room >= self.capacity:
            return
        while room < needed:
            room *= 2
        room = min(room, self.capacity)
        for name in ("ts", "values"):
            grown = np.empty(room)
            grown[: self.size] = getattr(self, name)[: self.size]
            setattr(self, name, grown)

    def extend(self, ts: np.ndarray, values: np.ndarray) -> int:
        keep = ts > self.last_ts  # only newer samples: re-polled overlaps are ignored
        ts, values = ts[keep], values[keep]
        n = ts.size
        if n == 0:
            return 0
        self._make_room(self.size + n)
        if n >= self.capacity:
            self.ts[:] = ts[-self.capacity :]
            self.values[:] = values[-self.capacity :]
            self.size = self.capacity
            return n
        overflow = max(0, self.size + n - self.capacity)
        if overflow:
            self.ts[: self.size - overflow] = self.ts[overflow : self.size]
            self.values[: self.size - overflow] = self.values[overflow : self.size]
            self.size -= overflow
        self.ts[self.size : self.size + n] = ts
        self.values[self.size : self.size + n] = values
        self.size += n
        return n

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ts[: self.size].copy(), self.values[: self.size].copy()


@dataclass
class PanelSnapshot:
    cluster: str
    panel: str
    series: dict[SeriesKey, tuple[np.ndarray, np.ndarray]]
    updated_at: float | None  # monotonic-free wall clock of the last successful update


class LiveBuffers:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._rings: dict[tuple[str, str], dict[SeriesKey, Ring]] = {}
        self._updated: dict[tuple[str, str], float] = {}
        #: per panel held, ``version`` when it last changed (not a count of its own: one
        #: dropped and added again never reads a version a chart drew before)
        self._versions: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumps on every change: redraw only when it moved

    def append(
        self, cluster: str, panel: str, labels: dict[str, str], ts: np.ndarray, values: np.ndarray
    ) -> int:
        with self._lock:
            rings = self._rings.setdefault((cluster, panel), {})
            ring = rings.get(series_key(labels))
            if ring is None:
                ring = rings[series_key(labels)] = Ring(self._capacity)
            added = ring.extend(np.asarray(ts, dtype=float), np.asarray(values, dtype=float))
            self._updated[(cluster, panel)] = time.time()
            if added:
                self._changed((cluster, panel))
            return added

    def _changed(self, key: tuple[str, str]) -> None:
        """A panel's buffers changed (the lock held)."""
        self.version += 1
        self._versions[key] = self.version

    @property
    def capacity(self) -> int:
        """The points a series' buffer keeps: at a cluster's step, how far back they reach."""
        return self._capacity

    def full_span(self, cluster: str) -> float | None:
        """The shortest time a full buffer of ``cluster`` covers (s; its points a step each:
        720 at 30 s cover 6 h): a range longer than that misses its oldest points here (the
        cache has them); None while none is full (they hold every point they were given)."""
        with self._lock:
            spans = [ring.span * ring.size / (ring.size - 1)
                     for (name, _), rings in self._rings.items() if name == cluster
                     for ring in rings.values() if ring.size >= max(2, ring.capacity)]  # fmt: skip
            return min(spans) if spans else None

    def panel_version(self, cluster: str, panel: str) -> int:
        """Moves when this cluster's panel got new samples (or was dropped: 0, as one
        never filled): charts redraw only then."""
        with self._lock:
            return self._versions.get((cluster, panel), 0)

    def touch(self, cluster: str, panel: str) -> None:
        """A successful poll with no new samples still counts as fresh data."""
        with self._lock:
            self._updated[(cluster, panel)] = time.time()

    def snapshot(self, cluster: str, panel: str) -> PanelSnapshot:
        with self._lock:
            rings = self._rings.get((cluster, panel), {})
            return PanelSnapshot(
                cluster,
                panel,
                {key: ring.view() for key, ring in rings.items()},
                self._updated.get((cluster, panel)),
            )

    def last_ts(self, cluster: str, panel: str) -> float | None:
        with self._lock:
            rings = self._rings.get((cluster, panel), {})
            stamps = [r.last_ts for r in rings.values() if r.size]
            return max(stamps) if stamps else None

    def prune(self, cluster: str, panel: str, *, at_least_s: float) -> int:
        """Forget the series of a panel that have had no sample for longer than they span
        (and ``at_least_s``), counted from the panel's newest sample, not the clock: pods
        come and go, and each one's ring would be kept for ever; a cluster that stops
        answering keeps all it had (its charts go stale, not blank). How many were dropped."""
        return sum(self.prune_slices(cluster, panel, at_least_s=at_least_s))

    def prune_slices(self, cluster: str, panel: str, *, at_least_s: float) -> Iterator[int]:
        """``prune``, ``PRUNE_SLICE`` rings at a time with the lock free between them (a
        hub's 110,000 series took 145 ms in one go): each slice's count dropped. A ring that
        gets a sample meanwhile is judged as it is then."""
        with self._lock:
            rings = self._rings.get((cluster, panel)) or {}
            keys = list(rings)
        newest = -math.inf
        for at in range(0, len(keys), PRUNE_SLICE):
            with self._lock:
                newest = max([newest, *(r.last_ts for key in keys[at : at + PRUNE_SLICE]
                                        if (r := rings.get(key)) is not None)])  # fmt: skip
            yield 0
        for at in range(0, len(keys), PRUNE_SLICE):
            with self._lock:
                gone = [key for key in keys[at : at + PRUNE_SLICE]
                        if (r := rings.get(key)) is not None
                        and newest - r.last_ts > max(at_least_s, r.span)]  # fmt: skip
                for key in gone:
                    del rings[key]
                if gone and self._rings.get((cluster, panel)) is rings:
                    self._changed((cluster, panel))
            yield len(gone)

    def series_count(self) -> int:
        with self._lock:
            return sum(len(rings) for rings in self._rings.values())

    def clusters(self) -> list[str]:
        with self._lock:
            return sorted({c for c, _ in self._rings})

    def drop_cluster(self, cluster: str) -> None:
        """Forget what is held of ``cluster``, its panels' versions too (each short-lived hub
        member left one a panel for as long as the app ran: 63,000 after a week of CI
        clusters): a panel added again takes ``version``, past any it had."""
        with self._lock:
            for key in [k for k in self._rings if k[0] == cluster]:
                del self._rings[key]
                self._updated.pop(key, None)
                self._versions.pop(key, None)
            self.version += 1

    def points(self) -> int:
        with self._lock:
            return sum(r.size for rings in self._rings.values() for r in rings.values())
