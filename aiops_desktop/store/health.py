"""Health history per cluster (kept 7 days by default)."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import Future
from datetime import UTC, datetime
from uuid import UUID

from aiops_desktop.models import ClusterState, EndpointKind, HealthRecord
from aiops_desktop.store.database import Database


def _stored(when: datetime) -> str:
    """A time as ``checked_at`` is stored and compared (as text): ISO 8601 in UTC, so that
    times given with another offset compare as the moments they are."""
    return when.astimezone(UTC).isoformat()


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
        return [
            HealthRecord(
                cluster_id=UUID(r["cluster_id"]),
                checked_at=datetime.fromisoformat(r["checked_at"]),
                state=ClusterState(r["state"]),
                health_score=r["health_score"],
                endpoint_health={
                    EndpointKind(k): v for k, v in json.loads(r["endpoint_health"]).items()
                },
                error=r["error"],
            )
            for r in rows
        ]

    def prune(self, older_than: datetime) -> Future[int]:
        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM health_history WHERE checked_at < ?", (_stored(older_than),)
            )
            return cur.rowcount

        return self._db.write(op)
