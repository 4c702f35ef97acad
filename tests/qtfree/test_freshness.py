"""The last complete answer stays shown, badged with its age, while reads fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.models.text import age_text
from aiops_desktop.services.polling.freshness import LastGood

T0 = datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)


def test_a_failed_read_that_lost_rows_keeps_the_last_good_answer() -> None:
    kept: LastGood[list[str]] = LastGood(len)
    first = kept.offer(["a", "b", "c"], [], now=T0)
    assert (first.value, first.stale, first.badge()) == (["a", "b", "c"], False, "")
    # the hub went away: nothing came back
    lost = kept.offer([], ["hub: unreachable"], now=T0 + timedelta(minutes=3))
    assert lost.value == ["a", "b", "c"] and lost.stale and lost.as_of == T0
    assert lost.badge(now=T0 + timedelta(minutes=3)) == (
        "STALE: showing data from 2026-11-27 06:00:00 UTC (3 min ago): hub: unreachable"
    )
    # a partial answer that fails somewhere but lost nothing replaces it, with the problem
    partial = kept.offer(["a", "b", "c", "d"], ["east: timed out"], now=T0 + timedelta(minutes=4))
    assert not partial.stale and partial.badge() == "east: timed out"
    # back: fresh again, and an answer that legitimately shrank (no failure) is shown
    back = kept.offer(["a"], [], now=T0 + timedelta(minutes=5))
    assert back.value == ["a"] and not back.stale
    # nothing kept yet: a failed empty answer is all there is
    fresh: LastGood[list[str]] = LastGood(len)
    assert fresh.offer([], ["hub: unreachable"], now=T0).stale is False


def test_age_text() -> None:
    assert [age_text(s) for s in (None, 12, 600, 9000)] == [
        "no data yet", "12 s ago", "10 min ago", "2.5 h ago",
    ]  # fmt: skip
