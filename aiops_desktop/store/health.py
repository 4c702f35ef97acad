"""Health history per cluster (kept 7 days by default). A damaged row (a disk error or a hand
edit in its text) is skipped by the history, said in the log, and left in place
(store/bodies.py)."""

from __future__ import annotations

import json
import logging
import sqlite3
from concurrent.futures import Future
from datetime import UTC, datetime
from uuid import UUID

from pydantic import TypeAdapter

from aiops_desktop.models import ClusterState, EndpointKind, HealthRecord
from aiops_desktop.store.bodies import read_rows
from aiops_desktop.store.database import Database

log = logging.getLogger("aiops.store")
_ENDPOINTS = TypeAdapter(dict[EndpointKind, bool])


def _stored(when: datetime) -> str:
    """A time as ``checked_at`` is stored and compared (as text): ISO 8601 in UTC, so that
    times given with another offset compare as the moments they are."""
    return when.astimezone(UTC).isoformat()


def _record(row: sqlite3.Row) -> HealthRecord:
    text = row["endpoint_health"]
    return HealthRecord(
        cluster_id=UUID(row["cluster_id"]),
        checked_at=datetime.fromisoformat(row["checked_at"]),
        state=ClusterState(row["state"]),
        health_score=row["health_score"],
        endpoint_health=_ENDPOINTS.validate_json(text if isinstance(text, str | bytes) else ""),
        error=row["error"],
    )


class HealthRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, rec: HealthRecord) -> Future[None]:
        params = (
            str(rec.cluster_id),
            _stored(rec.checked_at),
            rec.state.value,
            rec.health_score,
            json.dumps({k.value: v for k, v in rec.endpoint_health.items()}),
            rec.error,
        )

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO health_history VALUES (?, ?, ?, ?, ?, ?)", params)

        return self._db.write(op)

    def history(self, cluster_id: UUID, since: datetime | None = None) -> list[HealthRecord]:
        sql = "SELECT * FROM health_history WHERE cluster_id = ?"
        args: list[str] = [str(cluster_id)]
        if since is not None:
            sql += " AND checked_at >= ?"
            args.append(_stored(since))
        rows = self._db.fetch_all(sql + " ORDER BY checked_at", args)
        return read_rows(rows, _record, "health history")

    def prune(self, older_than: datetime) -> Future[int]:
        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM health_history WHERE checked_at < ?", (_stored(older_than),)
            )
            return cur.rowcount

        return self._db.write(op)
