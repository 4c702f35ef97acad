"""The keyring entries this app has written, by cluster: recorded (and committed) before the
entry is written, so an entry whose cluster never made it to the cache (a crash, a kill in
between) is found and deleted, never left behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import UTC, datetime
from uuid import UUID

from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.store.database import Database


class CredentialKeyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, refs: Iterable[CredentialRef], cluster_id: UUID) -> Future[None]:
        rows = [(r.service, r.key, str(cluster_id), datetime.now(UTC).isoformat()) for r in refs]

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT OR REPLACE INTO credential_keys VALUES (?, ?, ?, ?)", rows)

        return self._db.write(op)

    def forget(self, refs: Iterable[CredentialRef]) -> Future[None]:
        keys = [(r.service, r.key) for r in refs]

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM credential_keys WHERE service = ? AND key = ?", keys)

        return self._db.write(op)

    def unowned(self, written_before: datetime | None = None) -> list[tuple[str, str]]:
        """(service, key) of entries whose cluster is not in the cache, written before
        ``written_before`` (an entry written just now may belong to a cluster being added
        at this moment, by this process or another)."""
        before = (written_before or datetime.now(UTC)).astimezone(UTC).isoformat()
        rows = self._db.fetch_all(
            "SELECT service, key FROM credential_keys "
            "WHERE cluster_id NOT IN (SELECT id FROM clusters) AND written_at < ?",
            (before,),
        )
        return [(str(r[0]), str(r[1])) for r in rows]
