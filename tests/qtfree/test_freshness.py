"""How old data is said (the stale rows kept per cluster: test_freshness_rows.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiops_desktop.models.text import age_text

T0 = datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)


def test_age_text() -> None:
    assert [age_text(s) for s in (None, 12, 600, 9000)] == [
        "no data yet", "12 s ago", "10 min ago", "2.5 h ago",
    ]  # fmt: skip
