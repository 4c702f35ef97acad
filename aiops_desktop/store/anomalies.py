"""Anomalies found by the detectors: stored once per episode, listed by cluster, severity, type."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime

from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.store.bodies import read_all
from aiops_desktop.store.database import Database


class AnomalyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, anomalies: list[Anomaly]) -> Future[set[str]]:
        """Insert new episodes; a known one is updated when found worse (more severe, or as
        severe by a higher score: an episode never gets less severe while it lasts), and
        follows its episode when found longer or ended (its worst point kept): the list and
        the reports say how long it lasted, and an open episode stored open would stay so,
        and keep its incident alive. Found worse, it names the alerts both findings named (an
        alert that fired with it and resolved since is still related). Returns the
        identities that were new."""
        found = [(a, _row(a)) for a in anomalies]
        rank = " ".join("WHEN ? THEN ?" for _ in AnomalySeverity)
        ranks = [v for s in AnomalySeverity for v in (s.value, s.rank)]

        def op(conn: sqlite3.Connection) -> set[str]:
            new = set()
            for a, row in found:
                cur = conn.execute("INSERT OR IGNORE INTO anomalies VALUES (?,?,?,?,?,?,?,?)", row)
                if cur.rowcount:
                    new.add(row[0])
                    continue
                worse = conn.execute(
                    # only "?" placeholders are formatted in: no value is
                    "SELECT json_extract(body, '$.related_alerts') FROM anomalies"  # noqa: S608
                    f" WHERE identity=? AND (CASE severity {rank} END, -score) > (?, ?)",
                    (row[0], *ranks, a.severity.rank, -row[6]),
                ).fetchone()
                if worse is None:
                    _follow(conn, a)
                    continue
                body = a.naming(
                    [*json.loads(worse[0] or "[]"), *a.related_alerts]
                ).model_dump_json()
                conn.execute(
                    "UPDATE anomalies SET severity=?, type=?, at=?, score=?, body=?"
                    " WHERE identity=?",
                    (*row[3:7], body, row[0]),
                )
            return new

        return self._db.write(op)

    def most_severe(self, flt: AnomalyFilter) -> list[Anomaly]:
        """The ``flt.limit`` most severe anomalies ``flt`` selects, CRITICAL first, then by
        score: a period's many HIGH flaps never push its one CRITICAL (an older one) out."""
        rank = " ".join("WHEN ? THEN ?" for _ in AnomalySeverity)
        ranks = [v for s in AnomalySeverity for v in (s.value, s.rank)]
        return self._select(flt, f"CASE severity {rank} END, score DESC, at DESC", ranks)

    def count_by_severity(self, flt: AnomalyFilter) -> dict[AnomalySeverity, int]:
        """How many anomalies ``flt`` selects, per severity (``flt.limit`` aside): counted
        in SQL, none read."""
        where, params = _where(flt)
        rows = self._db.fetch_all(
            # only "?" placeholders and fixed column names are formatted in: no value is
            f"SELECT severity, COUNT(*) FROM anomalies WHERE {where} GROUP BY severity",  # noqa: S608
            params,
        )
        return {AnomalySeverity(s): int(n) for s, n in rows}

    def _select(
        self, flt: AnomalyFilter, order: str, ordered_by: Sequence[object]
    ) -> list[Anomaly]:
        """``flt``'s anomalies in ``order`` (its parameters: ``ordered_by``), ``flt.limit`` at
        most."""
        where, params = _where(flt)
        rows = self._db.fetch_all(
            # only "?" placeholders and fixed column names are formatted in: no value is
            f"SELECT body FROM anomalies WHERE {where} ORDER BY {order} LIMIT ?",  # noqa: S608
            [*params, *ordered_by, flt.limit],
        )
        return read_all(Anomaly, (r[0] for r in rows), "anomaly")

    def list(self, flt: AnomalyFilter | None = None) -> list[Anomaly]:
        """The newest ``flt.limit`` anomalies that ``flt`` selects, newest first."""
        flt = flt or AnomalyFilter()
        return self._select(flt, "at DESC", [])

    def judged_until(self, cluster: str, panel: str) -> float | None:
        """The newest sample live detection has judged of this panel (None: none yet)."""
        row = self._db.fetch_one(
            "SELECT until_s FROM anomalies_judged WHERE cluster = ? AND panel = ?",
            (cluster, panel),
        )
        return float(row[0]) if row is not None else None

    def mark_judged(self, marks: Iterable[tuple[str, str, float]]) -> Future[None]:
        """Live detection has judged each ``(cluster, panel, until_s)`` up to ``until_s`` (a
        mark never goes back: two windows on one cache each judge as far as they have)."""
        rows = list(marks)

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO anomalies_judged VALUES (?, ?, ?) ON CONFLICT (cluster, panel)"
                " DO UPDATE SET until_s = max(until_s, excluded.until_s)",
                rows,
            )

        return self._db.write(op)

    def forget_clusters(self, names: Iterable[str]) -> Future[int]:
        """Delete every anomaly stored of these clusters (a removed cluster's), and how far
        they were judged. How many anomalies."""
        wanted = sorted(set(names))

        def op(conn: sqlite3.Connection) -> int:
            for name in wanted:
                conn.execute("DELETE FROM anomalies_judged WHERE cluster = ?", (name,))
            return sum(
                conn.execute("DELETE FROM anomalies WHERE cluster = ?", (name,)).rowcount
                for name in wanted
            )

        return self._db.write(op)

    def purge_before(self, epoch_s: float) -> Future[int]:
        """Delete the episodes whose last point found is before ``epoch_s``. One still open
        stays however old its worst point (``at``) while it was found lately (each round
        that finds it moves its last point: its next report would otherwise be saved, and
        notified, as a new one); one open whose last point is that old too is not going on
        (the app closed, or the cluster stopped answering, while it was): it goes too."""

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                # the last point is never before the worst: "at < ?" narrows by the index
                "DELETE FROM anomalies WHERE at < ?"
                " AND (julianday(coalesce(json_extract(body, '$.last_at'),"
                " json_extract(body, '$.timestamp'))) - 2440587.5) * 86400.0 < ?",
                (epoch_s, epoch_s),
            ).rowcount

        return self._db.write(op)


def _row(a: Anomaly) -> tuple[str, str, str, str, str, float, float, str]:
    return (a.identity, a.cluster, a.metric, a.severity.value, a.type.value,
            a.timestamp.timestamp(), a.score, a.model_dump_json())  # fmt: skip


def _follow(conn: sqlite3.Connection, later: Anomaly) -> None:
    """The stored (worse) finding of an episode, extended to what ``later`` saw of it when
    that is more: a later last point (a rule's score does not rise as its breach goes on),
    or its end."""
    (body, last, was_open) = conn.execute(
        "SELECT body, json_extract(body, '$.last_at'), json_extract(body, '$.open')"
        " FROM anomalies WHERE identity=?",
        (later.identity,),
    ).fetchone()
    grew = later.last_at is not None and (
        last is None or later.last_at > datetime.fromisoformat(last)
    )
    if not grew and not (was_open and not later.open):
        return  # nothing more seen: no write, no parse
    for stored in read_all(Anomaly, [body], "anomaly"):
        conn.execute(
            "UPDATE anomalies SET body=? WHERE identity=?",
            (stored.extended(later).model_dump_json(), later.identity),
        )


def _where(flt: AnomalyFilter) -> tuple[str, list[object]]:
    """The WHERE clause of what ``flt`` selects (its limit aside), and its parameters."""
    where: list[str] = ["1=1"]
    params: list[object] = []
    for column, values in (
        ("cluster", flt.clusters),
        ("severity", tuple(s.value for s in flt.severities)),
        ("type", tuple(t.value for t in flt.types)),
    ):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params += list(values)
    if flt.metric:
        where.append("metric = ?")
        params.append(flt.metric)
    if flt.since is not None:
        where.append("at >= ?")
        params.append(flt.since)
    if flt.until is not None:
        where.append("at <= ?")
        params.append(flt.until)
    if flt.open_only:
        where.append("json_extract(body, '$.open') = 1")
    began = "(julianday(json_extract(body, '$.started_at')) - 2440587.5) * 86400.0"
    for bound, op in ((flt.started_since, ">="), (flt.started_until, "<=")):
        if bound is not None:
            where.append(f"{began} {op} ?")
            params.append(bound)
    # the last point found (rows stored before last_at was kept: their worst)
    last = ("(julianday(coalesce(json_extract(body, '$.last_at'), "
            "json_extract(body, '$.timestamp'))) - 2440587.5) * 86400.0")  # fmt: skip
    if flt.lasting_since is not None:
        where.append(f"(json_extract(body, '$.open') = 1 OR {last} >= ?)")
        params.append(flt.lasting_since)
    if flt.found_since is not None:
        where.append(f"{last} >= ?")
        params.append(flt.found_since)
    return " AND ".join(where), params
