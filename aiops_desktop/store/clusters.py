"""Registered clusters. The row holds the Cluster model's JSON: references only, no secret."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from uuid import UUID

from aiops_desktop.models import Cluster
from aiops_desktop.store.database import Database


class ClusterRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, cluster: Cluster) -> Future[Cluster]:
        doc = cluster.model_dump_json()
        params = (str(cluster.id), cluster.name, doc, cluster.updated_at.isoformat())

        def op(conn: sqlite3.Connection) -> Cluster:
            conn.execute(
                "INSERT INTO clusters (id, name, doc, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, doc=excluded.doc, "
                "updated_at=excluded.updated_at",
                params,
            )
            return cluster

        return self._db.write(op)

    def save_status(self, cluster: Cluster) -> Future[Cluster | None]:
        """Only ``cluster``'s status written (a health check's), over whatever else the row
        holds now, and the row as it then is (None: no row, the cluster was removed). Another
        process (the CLI, the wall) may have changed or removed the cluster since this one
        loaded it: a whole-document save would put its old endpoints back, or the removed
        cluster back, without its credentials."""
        status = cluster.status.model_dump_json()
        key = str(cluster.id)

        def op(conn: sqlite3.Connection) -> Cluster | None:
            cur = conn.execute(
                "UPDATE clusters SET doc = json_set(doc, '$.status', json(?)) WHERE id = ?",
                (status, key),
            )
            if cur.rowcount == 0:
                return None
            row = conn.execute("SELECT doc FROM clusters WHERE id = ?", (key,)).fetchone()
            return Cluster.model_validate_json(row[0])

        return self._db.write(op)

    def delete(self, cluster_id: UUID) -> Future[bool]:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("DELETE FROM clusters WHERE id = ?", (str(cluster_id),))
            return cur.rowcount > 0

        return self._db.write(op)

    def list(self) -> list[Cluster]:
        rows = self._db.fetch_all("SELECT doc FROM clusters ORDER BY name")
        return [Cluster.model_validate_json(r[0]) for r in rows]

    def get(self, cluster_id: UUID) -> Cluster | None:
        row = self._db.fetch_one("SELECT doc FROM clusters WHERE id = ?", (str(cluster_id),))
        return Cluster.model_validate_json(row[0]) if row else None

    def by_name(self, name: str) -> Cluster | None:
        row = self._db.fetch_one("SELECT doc FROM clusters WHERE name = ?", (name,))
        return Cluster.model_validate_json(row[0]) if row else None

    def names(self) -> set[str]:
        """Every registered cluster's name (those another process added too)."""
        return {str(r[0]) for r in self._db.fetch_all("SELECT name FROM clusters")}
