"""Registered clusters. The row holds the Cluster model's JSON: references only, no secret.
A damaged row (a hand edit, a disk error inside the JSON, a field a newer version added) is
skipped by every list, named in the log and to the person (``damaged``), and never written
over or deleted here: the person may want to repair it (store/bodies.py)."""

from __future__ import annotations

import logging
import re
import shlex
import sqlite3
from collections.abc import Iterable
from concurrent.futures import Future
from uuid import UUID

from pydantic import ValidationError

from aiops_desktop.models import Cluster
from aiops_desktop.store.bodies import DamagedRowError
from aiops_desktop.store.database import Database

log = logging.getLogger("aiops.store")


def _what(cluster_id: object, name: object) -> str:
    # the row's id and name, quoted (a hand-edited one may hold a line break); never its doc
    return f"cluster {str(name)!r} (id {str(cluster_id)!r})"


#: a quoted value in a model's own message (a name, a URL): a damaged row may hold anything
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _why(exc: ValidationError) -> str:
    """Why a row cannot be read, in one line: where, and the first error's message; never
    a value from the row (pydantic's own messages hold none; the model's may quote one)."""
    errors = exc.errors()
    if not errors:
        return type(exc).__name__
    first = errors[0]
    where = ".".join(str(p)[:40] for p in first["loc"]) or "the record"
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in ("value_error", "assertion_error"):
        msg = _QUOTED.sub("…", msg)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return " ".join(f"{where}: {msg[:160]}{more}".split())


def _read(row: Iterable[object]) -> Cluster:
    """A (id, name, doc) row as its Cluster; damaged: DamagedRowError naming it and why."""
    cluster_id, name, doc = row
    try:
        return Cluster.model_validate_json(doc if isinstance(doc, str | bytes) else "")
    except ValidationError as exc:
        why = _why(exc)
    except ValueError as exc:
        why = type(exc).__name__
    raise DamagedRowError(
        f"the cache's record of {_what(cluster_id, name)} is damaged and cannot be read "
        f"({why}); the rest of the cache is unaffected"
    )


class ClusterRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        #: the damaged rows already logged: a running app lists the clusters every
        #: ADOPT_INTERVAL_S, and one line per row is enough
        self._logged: set[str] = set()

    def save(self, cluster: Cluster) -> Future[Cluster]:
        """Insert or update ``cluster``; a damaged row with its id or its name is left as it
        is and the save fails with DamagedRowError (never a silent overwrite)."""
        doc = cluster.model_dump_json()
        key = str(cluster.id)
        params = (key, cluster.name, doc, cluster.updated_at.isoformat())

        def op(conn: sqlite3.Connection) -> Cluster:
            old = conn.execute("SELECT id, name, doc FROM clusters WHERE id = ?", (key,))
            for row in old.fetchall():
                _read(row)
            try:
                conn.execute(
                    "INSERT INTO clusters (id, name, doc, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET name=excluded.name, doc=excluded.doc, "
                    "updated_at=excluded.updated_at",
                    params,
                )
            except sqlite3.IntegrityError:
                # the name is taken; by a damaged row (which the registry cannot have read),
                # that is the error to give: "registered meanwhile" would send the person
                # looking for a cluster no list shows
                taken = conn.execute(
                    "SELECT id, name, doc FROM clusters WHERE name = ?", (cluster.name,)
                ).fetchone()
                if taken is not None:
                    try:
                        _read(taken)
                    except DamagedRowError as exc:
                        raise DamagedRowError(
                            f"the name {cluster.name!r} is taken: {exc}. The row was left as "
                            "it is: repair or remove it in the cache, or choose another name"
                        ) from None
                raise
            return cluster

        return self._db.write(op)

    def save_status(self, cluster: Cluster) -> Future[Cluster | None]:
        """Only ``cluster``'s status written (a health check's), over whatever else the row
        holds now, and the row as it then is (None: no row, the cluster was removed). Another
        process (the CLI, the wall) may have changed or removed the cluster since this one
        loaded it: a whole-document save would put its old endpoints back, or the removed
        cluster back, without its credentials. A row damaged since: DamagedRowError, the
        row left as it was."""
        status = cluster.status.model_dump_json()
        key = str(cluster.id)

        def op(conn: sqlite3.Connection) -> Cluster | None:
            try:
                cur = conn.execute(
                    "UPDATE clusters SET doc = json_set(doc, '$.status', json(?)) WHERE id = ?",
                    (status, key),
                )
            except sqlite3.OperationalError:  # the row's doc is not JSON (malformed JSON)
                row = conn.execute(
                    "SELECT id, name, doc FROM clusters WHERE id = ?", (key,)
                ).fetchone()
                if row is not None:
                    _read(row)
                raise
            if cur.rowcount == 0:
                return None
            row = conn.execute("SELECT id, name, doc FROM clusters WHERE id = ?", (key,))
            return _read(row.fetchone())  # damaged: raised, the update undone (a savepoint)

        return self._db.write(op)

    def delete_damaged(self, name: str) -> Future[tuple[UUID, list[tuple[str, str]]] | None]:
        """Delete the damaged row named ``name`` (the person's ``clusters remove NAME``; a
        row that reads is left: None, as for no row), with the record of the keyring entries
        written for it; its id and those entries (service, key), for the keyring."""

        def op(conn: sqlite3.Connection) -> tuple[UUID, list[tuple[str, str]]] | None:
            row = conn.execute("SELECT id, name, doc FROM clusters WHERE name = ?", (name,))
            found = row.fetchone()
            if found is None:
                return None
            try:
                _read(found)
            except DamagedRowError:
                pass
            else:
                return None
            key = str(found[0])
            keys = conn.execute(
                "SELECT service, key FROM credential_keys WHERE cluster_id = ?", (key,)
            ).fetchall()
            conn.execute("DELETE FROM clusters WHERE id = ?", (key,))
            try:
                cluster_id = UUID(key)
            except ValueError:  # a hand-edited id: the entries recorded under it are all
                cluster_id = UUID(int=0)
            return cluster_id, [(str(s), str(k)) for s, k in keys]

        return self._db.write(op)

    def delete(self, cluster_id: UUID) -> Future[bool]:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("DELETE FROM clusters WHERE id = ?", (str(cluster_id),))
            return cur.rowcount > 0

        return self._db.write(op)

    def _read_all(
        self, say: bool = True
    ) -> tuple[list[Cluster], list[tuple[str, DamagedRowError]]]:
        """The readable clusters; and the damaged rows, by name."""
        rows = self._db.fetch_all("SELECT id, name, doc FROM clusters ORDER BY name")
        good, damaged = [], []
        for row in rows:
            try:
                good.append(_read(row))
            except DamagedRowError as exc:
                damaged.append((str(row[1]), exc))
                if say and str(row[0]) not in self._logged:
                    self._logged.add(str(row[0]))
                    log.warning("%s; skipped, left in place", exc)
        return good, damaged

    def damaged(self) -> list[str]:
        """For each damaged row, a sentence for the person naming it, why, and how to remove
        it (never its doc)."""
        out = []
        for name, exc in self._read_all(say=False)[1]:
            # a hand-edited name may hold a line break: the sentence stays one line
            named = shlex.quote(name) if name.isprintable() else "NAME"
            out.append(f"{str(exc)[:1].upper()}{str(exc)[1:]}; it is not listed, and left as "
                       f"it is for repair (`aiops-desktop clusters remove {named}` removes it, "
                       "its credentials and its data)")  # fmt: skip
        return out

    def ids(self) -> set[UUID]:
        """Every row's id, a damaged row's too (it is still registered)."""
        out = set()
        for (key,) in self._db.fetch_all("SELECT id FROM clusters"):
            try:
                out.add(UUID(str(key)))
            except ValueError:  # a hand-edited id: no cluster in memory has it
                continue
        return out

    def list(self) -> list[Cluster]:
        """The readable clusters; a damaged row is skipped and logged (``damaged``)."""
        return self._read_all()[0]

    def get(self, cluster_id: UUID) -> Cluster | None:
        row = self._db.fetch_one(
            "SELECT id, name, doc FROM clusters WHERE id = ?", (str(cluster_id),)
        )
        return _read(row) if row else None

    def by_name(self, name: str) -> Cluster | None:
        row = self._db.fetch_one("SELECT id, name, doc FROM clusters WHERE name = ?", (name,))
        return _read(row) if row else None

    def names(self) -> set[str]:
        """Every registered cluster's name (those another process added too)."""
        return {str(r[0]) for r in self._db.fetch_all("SELECT name FROM clusters")}
