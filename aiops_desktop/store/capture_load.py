"""Opening a capture someone else made: the file is treated as hostile until checked.

Only a regular file is read (a FIFO or a device would block or never end); its manifest is
read bounded and typed; its schema may hold tables and their indexes only (a view or a
trigger planted in it would run with every read); and its rows are copied, table by table
and without its indexes (``NOT INDEXED``: a damaged index cannot mislead the copy), into a
fresh cache with this app's own schema, so nothing the file declares runs afterwards. Every
cluster document is validated, its credential references are dropped (a capture holds no
credential, and a crafted one must not name a keyring entry) and its error text redacted.
Anything wrong is a ``CaptureError`` that says what; a half-made copy is removed.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from aiops_desktop.logs import redact
from aiops_desktop.store.capture import (
    MANIFEST_KEY,
    CaptureError,
    CaptureManifest,
    read_manifest,
    read_only_uri,
    safe_cluster,
)
from aiops_desktop.store.capture_redact import end_the_silent
from aiops_desktop.store.capture_rows import check_clusters, check_dated, check_rows
from aiops_desktop.store.migrations import migrate
from aiops_desktop.store.writer import connect

#: documents kept beside the manifest that a capture may carry, and their largest size
META_KEYS = {
    MANIFEST_KEY: 64 * 1024,
    "recorded_answers": 256 * 2**20,
    "recorded_objects": 64 * 2**20,
    "recorded_logs_traces": 64 * 2**20,
}


#: the JSON objects and lists an untyped document may hold (counted as its "{" and "[", in
#: strings too: an over-count). The sample capture's answers hold one per 90 bytes, so a
#: document at its size limit holds about 3 million; "[{},{},...]" would hold 85 million,
#: and read into Python they took 21 times the document's size (5.5 GiB)
MOST_CONTAINERS = 4_000_000
#: and the items (numbers, strings, objects: counted as its commas, an over-count) an
#: untyped document may hold, counted before it is parsed: a number is 32 bytes once parsed,
#: more as it is read, so "1.5,1.5,..." (4 bytes an item, six containers) took 10 times its
#: size; at this bound one takes about 250 MB at most (at the sample capture's density, an
#: item per 15 bytes, a document of 90 MB holds this many)
MOST_ITEMS = 6_000_000


#: tables a capture never brings in: its metadata (read on its own), the person's chats and
#: queries, saved and run (an export never writes them; a crafted file's would be someone
#: else's words: a saved name of 200 KB, line breaks that forge rows), and how far live
#: detection judged (no live round runs on a capture; a crafted mark would hide)
NEVER_LOADED = frozenset(
    {"app_meta", "chat_sessions", "saved_queries", "query_history", "anomalies_judged"}
)


def _own_schema() -> dict[str, list[str]]:
    """This app's tables and their columns, from a fresh in-memory cache."""
    fresh = sqlite3.connect(":memory:")
    try:
        migrate(fresh)
        tables = [
            r[0]
            for r in fresh.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: _columns(fresh, "main", t) for t in tables}
    finally:
        fresh.close()


def _columns(conn: sqlite3.Connection, db: str, table: str) -> list[str]:
    """``table`` is one of this app's own table names, never one a file supplies."""
    return [c[1] for c in conn.execute(f'PRAGMA {db}.table_info("{table}")')]


def _check_objects(conn: sqlite3.Connection, path: Path, expected: dict[str, list[str]]) -> None:
    """Tables this app knows, and their indexes; nothing that runs (views, triggers)."""
    for kind, name, table in conn.execute("SELECT type, name, tbl_name FROM cap.sqlite_master"):
        if kind in ("view", "trigger"):
            raise CaptureError(
                f"{path} holds a {kind} ({name!r}): a capture holds tables only; not opened"
            )
        if kind == "table" and name not in expected and not name.startswith("sqlite_"):
            raise CaptureError(f"{path} holds a table this app does not know ({name!r})")
        if kind == "index" and table not in expected:
            raise CaptureError(f"{path} holds an index on an unknown table ({table!r})")


def _copy_tables(conn: sqlite3.Connection, expected: dict[str, list[str]]) -> None:
    """Row by row, the columns this app knows (an older capture may lack newer ones: they
    take their defaults). Every name in the SQL is this app's own."""
    present = {r[0] for r in conn.execute("SELECT name FROM cap.sqlite_master WHERE type='table'")}
    for table, columns in expected.items():
        if table in NEVER_LOADED or table not in present:
            continue
        found = set(_columns(conn, "cap", table))
        cols = ", ".join(f'"{c}"' for c in columns if c in found)
        # every name here is this app's own (from its schema), none comes from the file
        sql = f'INSERT INTO main."{table}" ({cols}) SELECT {cols} FROM cap."{table}" NOT INDEXED'  # noqa: S608
        conn.execute(sql)


def _copy_meta(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
    kept: dict[str, str] = {}
    for key, limit in META_KEYS.items():
        row = conn.execute(
            "SELECT length(CAST(value AS BLOB)), value FROM cap.app_meta NOT INDEXED WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            continue
        if row[0] is None or row[0] > limit:
            raise CaptureError(f"{path}: its {key} is larger than {limit:,} bytes; not opened")
        if not isinstance(row[1], str):  # a blob's str() would be its repr, 4 times larger
            raise CaptureError(f"{path}: its {key} is not text; not opened")
        kept[key] = row[1]
        conn.execute("INSERT INTO main.app_meta (key, value) VALUES (?, ?)", (key, kept[key]))
    return kept


def _clean_clusters(conn: sqlite3.Connection, path: Path) -> None:
    rows = conn.execute("SELECT id, name, doc FROM main.clusters").fetchall()
    for cluster_id, name, doc in rows:
        cluster = safe_cluster(str(doc), f"{path} (cluster {str(name)[:64]!r})")
        if str(cluster.id) != cluster_id or cluster.name != name:
            raise CaptureError(f"{path}: the record of cluster {name!r} names another cluster")
        conn.execute(
            "UPDATE main.clusters SET doc = ? WHERE id = ?", (cluster.model_dump_json(), cluster_id)
        )
    for (error,) in conn.execute(
        "SELECT DISTINCT error FROM main.health_history WHERE error IS NOT NULL"
    ).fetchall():
        cleaned = redact(str(error))
        if cleaned != error:
            conn.execute(
                "UPDATE main.health_history SET error = ? WHERE error = ?", (cleaned, error)
            )


MAX_DOCUMENT_BYTES = 1 << 20  # one anomaly's or incident's JSON body


def _check_documents(
    conn: sqlite3.Connection, path: Path, since: datetime, until: datetime
) -> None:
    """Every anomaly and incident body must be what this app writes (the lists would fail
    on it later), dated within the span from ``since`` to ``until`` (``check_dated``); the
    columns the lists select and count by are rewritten from the checked body (a crafted
    severity 'BOGUS' failed the executive report's count; another cluster's filed it there)."""
    from pydantic import ValidationError

    from aiops_desktop.models.anomalies import Anomaly
    from aiops_desktop.models.incidents import Incident

    for table, model in (("anomalies", Anomaly), ("incidents", Incident)):
        key = "identity" if table == "anomalies" else "id"
        # the table and column names are this app's own
        rows = conn.execute(f"SELECT {key}, length(CAST(body AS BLOB)), body FROM main.{table}")  # noqa: S608
        for ident, size, body in rows.fetchall():
            where = f"{path} ({table[:-1]} {str(ident)[:64]!r})"
            if size is None or size > MAX_DOCUMENT_BYTES:
                raise CaptureError(f"{where}: its record is over {MAX_DOCUMENT_BYTES:,} bytes")
            try:
                doc = model.model_validate_json(str(body))
            except ValidationError as exc:
                raise CaptureError(f"{where}: not a record this app reads ({exc.error_count()} "
                                   "problems)") from None  # fmt: skip
            check_dated(path, table, doc, since, until)
            try:
                if isinstance(doc, Incident):
                    conn.execute(
                        "UPDATE main.incidents SET id = ?, state = ?, severity = ?, "
                        "opened_at = ?, updated_at = ? WHERE id = ?",
                        (doc.id, doc.state.value, doc.severity.value, doc.opened_at.timestamp(),
                         doc.updated_at.timestamp(), ident),
                    )  # fmt: skip
                else:  # as the store writes them (store.anomalies)
                    conn.execute(
                        "UPDATE main.anomalies SET identity = ?, cluster = ?, metric = ?, "
                        "severity = ?, type = ?, at = ?, score = ? WHERE identity = ?",
                        (doc.identity, doc.cluster, doc.metric, doc.severity.value,
                         doc.type.value, doc.timestamp.timestamp(), doc.score, ident),
                    )  # fmt: skip
            except sqlite3.IntegrityError:  # its key is another row's
                same = str(getattr(doc, key))[:64]
                raise CaptureError(f"{where}: two of its {table} are the same ({key} "
                                   f"{same!r}); not opened") from None  # fmt: skip


def load_capture(path: Path, into: Path) -> tuple[CaptureManifest, dict[str, Any]]:
    """Check the capture at ``path`` and copy it into a fresh cache file ``into``; returns its
    manifest and the documents kept beside it (``recorded_answers``, ``recorded_objects``,
    parsed). Blocking: call from a worker thread."""
    manifest = read_manifest(path)
    expected = _own_schema()
    conn = connect(into)
    try:
        migrate(conn)
        conn.execute("PRAGMA trusted_schema=OFF")  # nothing declared in the file runs
        conn.execute("ATTACH DATABASE ? AS cap", (read_only_uri(path, immutable=True),))
        try:
            _check_objects(conn, path, expected)
            conn.execute("BEGIN")
            _copy_tables(conn, expected)
            check_clusters(conn, path, [*manifest.clusters, *manifest.members])
            until = datetime.fromisoformat(manifest.until)
            check_rows(conn, path, datetime.fromisoformat(manifest.since), until)
            kept = _copy_meta(conn, path)
            _clean_clusters(conn, path)
            _check_documents(conn, path, datetime.fromisoformat(manifest.since), until)
            # a capture made before exports did this: its stale open episodes end here
            end_the_silent(conn, int(until.timestamp() * 1000))
            conn.execute("COMMIT")
        finally:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute("DETACH DATABASE cap")
    except sqlite3.DatabaseError as exc:
        raise CaptureError(f"{path} is damaged or not readable ({exc})") from exc
    finally:
        conn.close()
    documents: dict[str, Any] = {}
    if "recorded_logs_traces" in kept:  # checked as it is read (its model says its shape)
        documents["recorded_logs_traces"] = kept["recorded_logs_traces"]
    for key in ("recorded_answers", "recorded_objects"):
        if key in kept:
            if kept[key].count("{") + kept[key].count("[") > MOST_CONTAINERS:
                raise CaptureError(f"{path}: its {key} holds more JSON objects and lists than "
                                   "this app writes; not opened")  # fmt: skip
            if kept[key].count(",") > MOST_ITEMS:
                raise CaptureError(f"{path}: its {key} holds more values than this app reads "
                                   f"(at most {MOST_ITEMS:,}); not opened")  # fmt: skip
            try:
                documents[key] = json.loads(kept[key])
            except (ValueError, RecursionError) as exc:
                raise CaptureError(f"{path}: its {key} is not valid JSON") from exc
    return manifest, documents
