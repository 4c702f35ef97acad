"""The maintenance loop outlives a failed pass: retention goes on for the whole session."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import Future
from datetime import datetime, timedelta

import pytest

from aiops_desktop.services.runtime.maintenance import maintenance_loop
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import StoreSettings


class Registry:
    async def prune_history(self, _now: datetime, _keep: timedelta) -> int:
        return 0

    async def sweep_orphans(self) -> int:
        return 0


class NoRows:
    """The cache beside the store: no table has a row (each measured from the clock)."""

    def fetch_one(self, _sql: str) -> tuple[None]:
        return (None,)


class LockedThenFree:
    """The store: another process (the CLI) holds the write lock for its first two passes."""

    settings = StoreSettings()
    db = NoRows()

    def __init__(self) -> None:
        self.passes = 0

    def newest_ms(self) -> None:
        return None

    def apply_retention(self, _now: datetime) -> Future[dict[str, int]]:
        self.passes += 1
        done: Future[dict[str, int]] = Future()
        if self.passes <= 2:
            done.set_exception(sqlite3.OperationalError("database is locked"))
        else:
            done.set_result({"downsampled_chunks": 0})
        return done


@pytest.mark.asyncio
async def test_a_failed_pass_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The loop used to end on the first error (the supervisor restarts nothing): a CLI
    holding the write lock stopped retention until the app was restarted."""
    store, supervisor = LockedThenFree(), TaskSupervisor()
    with caplog.at_level(logging.WARNING, logger="aiops.services.maintenance"):
        task = supervisor.spawn(
            maintenance_loop(Registry(), store, None, interval_s=0.01),  # type: ignore[arg-type]
            name="cache-maintenance",
        )
        for _ in range(200):
            if store.passes >= 4:
                break
            await asyncio.sleep(0.01)
        assert store.passes >= 4 and not task.done() and not supervisor.failures
        failed = [r for r in caplog.records if "maintenance" in r.getMessage()]
        assert len(failed) == 2 and "database is locked" in str(failed[0].__dict__.get("error"))
    await supervisor.shutdown()
    assert task.cancelled()  # a cancel still ends it
