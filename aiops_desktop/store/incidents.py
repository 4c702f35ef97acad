"""Incidents as grouped (analysis/incidents.py): one row each, its model as JSON."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from datetime import datetime

from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.incidents import Incident
from aiops_desktop.store.bodies import read_all, read_one
from aiops_desktop.store.database import Database

LIST_LIMIT = 1000


class IncidentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, incidents: list[Incident]) -> Future[int]:
        """Write ``incidents`` (replacing their rows). An acknowledgement already stored is
        kept: one made elsewhere (the CLI, another window) between this writer's read and
        its write is not undone by an OPEN copy of the same incident."""

        def op(conn: sqlite3.Connection) -> int:
            acked = _acknowledged(conn, [i.id for i in incidents if i.state is IncidentStatus.OPEN])
            written = [i if i.id not in acked else i.model_copy(update={
                "state": IncidentStatus.ACKNOWLEDGED, "acknowledged_at": acked[i.id]})
                for i in incidents]  # fmt: skip
            rows = [(i.id, i.state.value, i.severity.value, i.opened_at.timestamp(),
                     i.updated_at.timestamp(), i.model_dump_json()) for i in written]  # fmt: skip
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
        return read_all(Incident, (r[0] for r in rows), "incident")

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
        return read_all(Incident, (r[0] for r in rows), "incident")

    def get(self, incident_id: str) -> Incident | None:
        row = self._db.fetch_one("SELECT body FROM incidents WHERE id = ?", (incident_id,))
        return read_one(Incident, row[0], f"incident {incident_id}") if row else None


def _acknowledged(conn: sqlite3.Connection, ids: list[str]) -> dict[str, datetime | None]:
    """Of ``ids``, those stored as acknowledged, and when."""
    out: dict[str, datetime | None] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = conn.execute(
            f"SELECT body FROM incidents WHERE state = 'ACKNOWLEDGED' AND id IN "  # noqa: S608
            f"({','.join('?' * len(part))})",  # only "?" placeholders are formatted in
            part,
        )
        for stored in read_all(Incident, (body for (body,) in rows), "incident"):
            out[stored.id] = stored.acknowledged_at
    return out
