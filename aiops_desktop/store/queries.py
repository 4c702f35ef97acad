"""Query history (every console and CLI run) and saved queries. A damaged row (a disk error
or a hand edit in its text) is skipped by the lists, said in the log, and left in place
(store/bodies.py)."""

from __future__ import annotations

import json
import logging
import sqlite3
from concurrent.futures import Future
from typing import Any

from pydantic import TypeAdapter

from aiops_desktop.models.metrics import QueryRecord
from aiops_desktop.store.bodies import read_rows
from aiops_desktop.store.database import Database

HISTORY_KEEP = 1000

log = logging.getLogger("aiops.store")
_CLUSTERS = TypeAdapter(list[str])


def _record(row: sqlite3.Row, **extra: Any) -> QueryRecord:
    text = row["clusters"]
    return QueryRecord(
        promql=row["promql"],
        clusters=_CLUSTERS.validate_json(text if isinstance(text, str | bytes) else ""),
        query_type=row["query_type"],
        range_s=row["range_s"],
        step_s=row["step_s"],
        aggregation=row["aggregation"],
        **extra,
    )


class QueryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, rec: QueryRecord) -> Future[None]:
        params = (rec.run_at, rec.promql, json.dumps(rec.clusters), rec.query_type, rec.range_s,
                  rec.step_s, rec.aggregation, rec.status, rec.series, rec.duration_ms)  # fmt: skip

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO query_history (run_at, promql, clusters, query_type, range_s, step_s,"
                " aggregation, status, series, duration_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
                params,
            )
            conn.execute(
                "DELETE FROM query_history WHERE id <= (SELECT MAX(id) FROM query_history) - ?",
                (HISTORY_KEEP,),
            )

        return self._db.write(op)

    def history(self, limit: int = 100) -> list[QueryRecord]:
        rows = self._db.fetch_all("SELECT * FROM query_history ORDER BY id DESC LIMIT ?", (limit,))
        return read_rows(
            rows,
            lambda r: _record(
                r,
                status=r["status"],
                series=r["series"],
                duration_ms=r["duration_ms"],
                run_at=r["run_at"],
            ),
            "query history",
        )

    def save(self, rec: QueryRecord) -> Future[None]:
        params = (rec.name, rec.promql, json.dumps(rec.clusters), rec.query_type, rec.range_s,
                  rec.step_s, rec.aggregation, rec.run_at)  # fmt: skip

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO saved_queries VALUES (?,?,?,?,?,?,?,?)", params)

        return self._db.write(op)

    def saved(self) -> list[QueryRecord]:
        rows = self._db.fetch_all("SELECT * FROM saved_queries ORDER BY name")
        return read_rows(rows, lambda r: _record(r, name=r["name"], run_at=r["saved_at"]),
                         "saved query")  # fmt: skip

    def delete_saved(self, name: str) -> Future[bool]:
        def op(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM saved_queries WHERE name = ?", (name,)).rowcount > 0

        return self._db.write(op)
