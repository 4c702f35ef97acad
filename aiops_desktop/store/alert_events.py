"""Alert history: each firing of an alert (first seen, last seen, resolved), written from the
poller's alert polls, so a shift handover can say what fired and what was resolved."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from aiops_desktop.models.alerts import Alert
from aiops_desktop.store.bodies import read_rows
from aiops_desktop.store.database import Database

log = logging.getLogger("aiops.store")


@dataclass(frozen=True)
class AlertEvent:
    cluster: str
    name: str
    severity: str
    summary: str
    starts_at: datetime
    last_seen: datetime
    resolved_at: datetime | None


class AlertEventRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, cluster: str, firing: list[Alert], now: datetime) -> Future[None]:
        """The alerts firing on ``cluster`` now; those of its earlier firings not among them
        are marked resolved at ``now``. A write that fails is logged: the poller does not
        wait on it, and a handover would otherwise say "0 fired" with nothing to say why."""
        seen = now.isoformat()
        rows = [
            (cluster, a.fingerprint, a.starts_at.isoformat(), a.name, a.severity.value,
             a.annotations.get("summary", ""), seen)
            for a in firing
        ]  # fmt: skip

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?, NULL) "
                "ON CONFLICT (cluster, fingerprint, starts_at) "
                "DO UPDATE SET last_seen = excluded.last_seen, resolved_at = NULL",
                rows,
            )
            conn.execute(
                "UPDATE alert_events SET resolved_at = ? "
                "WHERE cluster = ? AND resolved_at IS NULL AND last_seen < ?",
                (seen, cluster, seen),
            )

        written = self._db.write(op, bulk=True)  # each alerts poll's: see MAX_QUEUED_WRITES

        def log_failure(done: Future[None]) -> None:
            if not done.cancelled() and (exc := done.exception()) is not None:
                log.warning("the alert history of %s could not be written: %s", cluster, exc)

        written.add_done_callback(log_failure)
        return written

    def between(self, clusters: list[str], since: datetime, until: datetime) -> list[AlertEvent]:
        """Firings of these clusters that overlap the period, oldest first; a damaged row
        (store/bodies.py: a time that does not read) is skipped and logged, not the history."""
        marks = ",".join("?" * len(clusters))
        rows = self._db.fetch_all(
            "SELECT cluster, name, severity, summary, starts_at, last_seen, resolved_at "  # noqa: S608
            f"FROM alert_events WHERE cluster IN ({marks}) "
            "AND julianday(last_seen) >= julianday(?) AND julianday(starts_at) <= julianday(?) "
            "ORDER BY starts_at",
            [*clusters, since.isoformat(), until.isoformat()],
        )

        def event(row: sqlite3.Row) -> AlertEvent:
            c, n, s, m, a, b, r = row
            return AlertEvent(c, n, s, m, datetime.fromisoformat(a), datetime.fromisoformat(b),
                              datetime.fromisoformat(r) if r else None)  # fmt: skip

        return read_rows(rows, event, "alert event")

    def forget_clusters(self, names: Iterable[str]) -> Future[int]:
        """Delete the alert history of these clusters (a removed cluster's). How many."""
        wanted = sorted(set(names))

        def op(conn: sqlite3.Connection) -> int:
            return sum(
                conn.execute("DELETE FROM alert_events WHERE cluster = ?", (name,)).rowcount
                for name in wanted
            )

        return self._db.write(op)

    def prune(self, older_than: datetime) -> Future[int]:
        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM alert_events WHERE julianday(last_seen) < julianday(?)",
                (older_than.isoformat(),),
            ).rowcount

        return self._db.write(op)
