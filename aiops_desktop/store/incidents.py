"""Incidents as grouped (analysis/incidents.py): one row each, its model as JSON."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Container, Sequence
from concurrent.futures import Future
from datetime import datetime
from functools import partial

from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.fleet import SEVERITY_RANK, FindingSeverity
from aiops_desktop.models.incidents import Incident
from aiops_desktop.store.bodies import read_all, read_one
from aiops_desktop.store.database import Database

LIST_LIMIT = 1000
_ACTIVE = (
    "SELECT body FROM incidents WHERE state != 'RESOLVED' OR updated_at >= ? ORDER BY opened_at"
)
#: what changes with every write to the incidents, of any process: ``_write``'s INSERT OR
#: REPLACE gives each row written (a grouping's, an acknowledgement's: its updated_at kept) a
#: rowid above every one stored, and a prune lowers the count
_FINGERPRINT = "SELECT COUNT(*), MAX(rowid), TOTAL(rowid), TOTAL(updated_at) FROM incidents"
#: groupings done outside the write transaction before one is done in it (another process
#: grouping the same cache writes at each of its refreshes: one lost race is no rarity)
OPTIMISTIC_ROUNDS = 2
#: a grouping (``analysis.incidents.group`` with its signals): the incidents active and the
#: ids stored in, the incidents as grouped and the ids of those changed out
Grouping = Callable[[list[Incident], Container[str]], tuple[list[Incident], set[str]]]
_STATE_ORDER = "CASE state WHEN 'OPEN' THEN 0 WHEN 'ACKNOWLEDGED' THEN 1 ELSE 2 END"
_SEVERITY_ORDER = "CASE severity WHEN 'CRITICAL' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END"


class IncidentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, incidents: list[Incident]) -> Future[int]:
        """Write ``incidents`` (replacing their rows). An acknowledgement already stored is
        kept: one made elsewhere (the CLI, another window) between this writer's read and
        its write is not undone by an OPEN copy of the same incident; unless that copy was
        opened again (``reopened_at``) after it: a new, worse signal began since."""

        def op(conn: sqlite3.Connection) -> int:
            return len(_write(conn, incidents))

        return self._db.write(op)

    def acknowledge(
        self, incident_id: str, now: datetime, *, seen: FindingSeverity | None = None
    ) -> Future[Incident | None]:
        """Acknowledge ``incident_id`` at ``now`` if it is OPEN, read and written in the
        writer's transaction: another process's grouping (the wall, the CLI, a second window)
        lands before the read or after the write, never between them (a copy read before it
        and written back revived an incident resolved meanwhile, or erased a re-opening for a
        new CRITICAL). ``seen``: the severity the person saw (None: not checked); an incident
        worse now (a grouping since added a CRITICAL signal they never saw) is not
        acknowledged. The incident as stored after: acknowledged now, or as it was, nothing
        written (its state says why: ACKNOWLEDGED already, RESOLVED, or OPEN: worse than
        ``seen``); None: no such incident."""

        def op(conn: sqlite3.Connection) -> Incident | None:
            row = conn.execute("SELECT body FROM incidents WHERE id = ?", (incident_id,)).fetchone()
            if row is None:
                return None
            stored = read_one(Incident, row[0], f"incident {incident_id}")
            if stored.state is not IncidentStatus.OPEN or (
                seen is not None and SEVERITY_RANK[stored.severity] < SEVERITY_RANK[seen]
            ):
                return stored
            # as analysis.incidents.acknowledge does it (its updated_at kept: an
            # acknowledgement is no change of what the incident shows)
            done = stored.model_copy(update={"state": IncidentStatus.ACKNOWLEDGED,
                                             "acknowledged_at": now})  # fmt: skip
            return _write(conn, [done])[0]

        return self._db.write(op)

    def regroup(
        self, grouping: Grouping, *, resolved_since: float
    ) -> tuple[list[Incident], set[str]]:
        """``grouping`` of the incidents ``active`` (with the ids stored as ``taken``), and
        those it changed written: the incidents as grouped, and the ids of those changed.
        Blocking (it groups here, and waits for the write): call off the event loop.

        Grouped outside the write transaction (a fleet's alert storm is seconds of grouping:
        held under BEGIN IMMEDIATE, this process's series writes waited for it and another
        process's failed past its 5 s busy timeout), and written only over what it read:
        the write re-reads the incidents' ``_FINGERPRINT`` and, changed since (another
        process grouping the same cache, the window and the wall or the CLI, wrote the same
        new signal's incident meanwhile), groups again over what is stored. Written over a
        stale read, each would open an incident for that signal, the second under the
        first's id with "-2": two live incidents for one signal, acknowledged apart. Raced
        ``OPTIMISTIC_ROUNDS`` times, the last grouping is done in the write transaction."""
        for round_ in range(1, OPTIMISTIC_ROUNDS + 1):
            with self._db.reading() as conn:
                # one read snapshot: the rows are those the fingerprint describes
                conn.execute("BEGIN")
                try:
                    seen = tuple(conn.execute(_FINGERPRINT).fetchone())
                    active = _active(conn, resolved_since)
                finally:
                    conn.execute("COMMIT")
            grouped = grouping(active, self.taken_ids())
            done = self._db.write(partial(
                _write_grouped, grouping=grouping, resolved_since=resolved_since, seen=seen,
                grouped=grouped, last=round_ == OPTIMISTIC_ROUNDS,
            )).result()  # fmt: skip
            if done is not None:
                return done
        raise AssertionError("the last round groups in the write transaction")  # unreachable

    def active(self, *, resolved_since: float) -> list[Incident]:
        """Every incident not resolved, and those resolved since ``resolved_since``, with no
        limit (what grouping needs: one left out would never resolve, and its signals would
        open it again under its own id)."""
        rows = self._db.fetch_all(_ACTIVE, (resolved_since,))
        return read_all(Incident, (r[0] for r in rows), "incident")

    def taken_ids(self) -> _StoredIds:
        """The ids stored, asked one by one (``analysis.incidents.group``'s ``taken``: a new
        incident's id is none of them)."""
        return _StoredIds(self._db.fetch_one)

    def listed(
        self, *, states: tuple[IncidentStatus, ...] = (), since: float | None = None,
        limit: int = LIST_LIMIT,
    ) -> tuple[list[Incident], int]:  # fmt: skip
        """At most ``limit``: open, then acknowledged, then resolved; in each the most severe
        first, then the newest (the least pressing are cut, never an open critical one for
        being old); and how many more there were. ``states``: only these (all when empty);
        ``since``: not resolved, or changed since then."""
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
            f"ORDER BY {_STATE_ORDER}, {_SEVERITY_ORDER}, opened_at DESC LIMIT ?",
            [*params, limit + 1],
        )
        left_out = 0
        if len(rows) > limit:
            rows = rows[:limit]
            counted = self._db.fetch_one(
                f"SELECT COUNT(*) FROM incidents WHERE {' AND '.join(where)}",  # noqa: S608
                params,
            )
            left_out = (int(counted[0]) if counted else limit) - limit
        return read_all(Incident, (r[0] for r in rows), "incident"), left_out

    def list(
        self, *, states: tuple[IncidentStatus, ...] = (), since: float | None = None,
        limit: int = LIST_LIMIT,
    ) -> list[Incident]:  # fmt: skip
        """``listed`` without the count of those left out."""
        return self.listed(states=states, since=since, limit=limit)[0]

    def get(self, incident_id: str) -> Incident | None:
        row = self._db.fetch_one("SELECT body FROM incidents WHERE id = ?", (incident_id,))
        return read_one(Incident, row[0], f"incident {incident_id}") if row else None

    def prune_resolved(self, before: float) -> Future[int]:
        """Delete the incidents resolved (and not changed since) before ``before`` (unix s);
        one not resolved stays, however old. How many."""

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM incidents WHERE state = 'RESOLVED' AND updated_at < ?", (before,)
            ).rowcount

        return self._db.write(op)


def _active(conn: sqlite3.Connection, resolved_since: float) -> list[Incident]:
    rows = conn.execute(_ACTIVE, (resolved_since,))
    return read_all(Incident, (body for (body,) in rows), "incident")


def _write_grouped(
    conn: sqlite3.Connection, *, grouping: Grouping, resolved_since: float,
    seen: tuple[object, ...], grouped: tuple[list[Incident], set[str]], last: bool,
) -> tuple[list[Incident], set[str]] | None:  # fmt: skip
    """``grouped`` written, if the incidents are still as ``seen`` (their fingerprint); if
    not: None (grouped again outside), or on the ``last`` round grouped again here, under the
    write lock, over what is stored now."""
    if tuple(conn.execute(_FINGERPRINT).fetchone()) != seen:
        if not last:
            return None
        stored = _StoredIds(lambda sql, params: conn.execute(sql, params).fetchone())
        grouped = grouping(_active(conn, resolved_since), stored)
    incidents, changed = grouped
    written = {i.id: i for i in _write(conn, [i for i in incidents if i.id in changed])}
    return [written.get(i.id, i) for i in incidents], changed


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


def _still_acknowledged(incident: Incident, acked: dict[str, datetime | None]) -> bool:
    """Whether ``incident`` (an OPEN copy) is stored acknowledged, and not opened again since
    that acknowledgement."""
    if incident.id not in acked:
        return False
    when, reopened = acked[incident.id], incident.reopened_at
    return reopened is None or when is None or when > reopened


def _write(conn: sqlite3.Connection, incidents: list[Incident]) -> list[Incident]:
    """``incidents`` written (``save``), as written."""
    acked = _acknowledged(conn, [i.id for i in incidents if i.state is IncidentStatus.OPEN])
    written = [i if not _still_acknowledged(i, acked) else i.model_copy(update={
        "state": IncidentStatus.ACKNOWLEDGED, "acknowledged_at": acked[i.id]})
        for i in incidents]  # fmt: skip
    rows = [(i.id, i.state.value, i.severity.value, i.opened_at.timestamp(),
             i.updated_at.timestamp(), i.model_dump_json()) for i in written]  # fmt: skip
    conn.executemany("INSERT OR REPLACE INTO incidents VALUES (?,?,?,?,?,?)", rows)
    return written


class _StoredIds:
    """Whether an id is stored, asked of the store (the table may hold many) through
    ``fetch_one`` (a read connection's, or the writer's inside its transaction)."""

    def __init__(self, fetch_one: Callable[[str, Sequence[object]], object | None]) -> None:
        self._fetch_one = fetch_one

    def __contains__(self, incident_id: object) -> bool:
        if not isinstance(incident_id, str):
            return False
        found = self._fetch_one("SELECT 1 FROM incidents WHERE id = ?", (incident_id,))
        return found is not None
