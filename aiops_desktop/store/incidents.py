"""Incidents as grouped (analysis/incidents.py): one row each, its model as JSON."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future

from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.incidents import Incident
from aiops_desktop.store.database import Database

LIST_LIMIT = 1000


class IncidentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, incidents: list[Incident]) -> Future[int]:
        rows = [(i.id, i.state.value, i.severity.value, i.opened_at.timestamp(),
                 i.updated_at.timestamp(), i.model_dump_json()) for i in incidents]  # fmt: skip

        def op(conn: sqlite3.Connection) -> int:
            conn.executemany("INSERT OR REPLACE INTO incidents VALUES (?,?,?,?,?,?)", rows)
            return len(rows)

        return self._db.write(op)

    def active(self, *, resolved_since: float) -> list[Incident]:
        """Every incident not resolved, and those resolved since ``resolved_since``, with no
        limit (what grouping needs: one left out would never resolve, and its signals would
        open it again under its own id)."""
        rows = self._db.fetch_all(
            "SELECT body FROM incidents WHERE state != 'RESOLVED' OR updated_at >= ? "
            "ORDER BY opened_at",
            (resolved_since,),
        )
        return [Incident.model_validate_json(r[0]) for r in rows]

    def list(
        self, *, states: tuple[IncidentStatus, ...] = (), since: float | None = None,
        limit: int = LIST_LIMIT,
    ) -> list[Incident]:  # fmt: skip
        """Newest first; ``states``: only these (all when empty)."""
        where: list[str] = ["1=1"]
        params: list[object] = []
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            params += [s.value for s in states]
        if since is not None:  # not resolved, or changed since then
            where.append("(state != 'RESOLVED' OR updated_at >= ?)")
            params.append(since)
        rows = self._db.fetch_all(
            # only "?" placeholders and fixed column names are formatted in: no value is
            f"SELECT body FROM incidents WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY opened_at DESC LIMIT ?",
            [*params, limit],
        )
        return [Incident.model_validate_json(r[0]) for r in rows]

    def get(self, incident_id: str) -> Incident | None:
        row = self._db.fetch_one("SELECT body FROM incidents WHERE id = ?", (incident_id,))
        return Incident.model_validate_json(row[0]) if row else None
