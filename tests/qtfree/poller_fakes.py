"""What the poller tests share: a clock they move by hand, and a series store on a fresh cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesStore


class Clock:
    """A clock that stands still until a test advances it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


def series_store(tmp_path: Path) -> Iterator[SeriesStore]:
    """A series store on an empty cache, closed after the test (a test module makes it a
    fixture: ``store = pytest.fixture(series_store)``)."""
    db = Database(tmp_path / "cache.db")
    try:
        yield SeriesStore(db)
    finally:
        db.close()
