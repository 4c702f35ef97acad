"""The live rings: newer points only, at most ``capacity``, arrays that grow as points come."""

from __future__ import annotations

import numpy as np

from aiops_desktop.services.polling.live import FIRST_ROOM, LiveBuffers, Ring


def points(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    ts = np.arange(start, stop, dtype=float)
    return ts, ts * 10


def test_a_ring_grows_with_its_points_and_keeps_the_newest_capacity() -> None:
    ring = Ring(300)
    assert ring.ts.size == FIRST_ROOM  # not 300 slots for a series that has 3 points
    assert ring.extend(*points(0, 3)) == 3 and ring.ts.size == FIRST_ROOM
    assert ring.extend(*points(3, 100)) == 97
    assert ring.ts.size == 128 and ring.size == 100
    ts, values = ring.view()
    assert ts.tolist() == list(range(100)) and values[-1] == 990
    ring.extend(*points(100, 350))  # past the capacity: the oldest go
    ts, values = ring.view()
    assert ring.ts.size == 300 and ts[0] == 50 and ts[-1] == 349 and values[0] == 500


def test_overlapping_and_huge_answers() -> None:
    ring = Ring(100)
    ring.extend(*points(0, 10))
    assert ring.extend(*points(5, 12)) == 2  # re-polled overlap: only the newer points
    assert ring.extend(*points(20, 1000)) == 980  # more than the capacity at once
    ts, _ = ring.view()
    assert ts.size == 100 and ts[0] == 900 and ts[-1] == 999


def test_how_far_back_full_buffers_reach() -> None:
    """A cluster's full buffers say the time they cover (a step a point): a dashboard's
    range past it is read from the cache; while none is full they hold all they were given."""
    live = LiveBuffers(capacity=720)
    ts = np.arange(0, 6 * 3600, 15.0)  # six hours of a hub's 15 s polls
    live.append("hub-1", "node_cpu", {"instance": "n1"}, ts[-100:], ts[-100:])
    assert live.full_span("hub-1") is None and live.capacity == 720
    live.append("hub-1", "node_cpu", {"instance": "n2"}, ts, ts)  # keeps its last 720
    live.append("spoke-1", "node_cpu", {"instance": "n1"}, ts[::2], ts[::2])  # 30 s
    assert live.full_span("hub-1") == 3 * 3600
    assert live.full_span("spoke-1") == 6 * 3600
    assert live.full_span("other") is None
