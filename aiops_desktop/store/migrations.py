"""Versioned schema migrations, applied in order; ``PRAGMA user_version`` is the version.

Never edit a released migration: add a new one. Tests migrate from an empty file and from every
earlier version, with data in it, to the newest.
"""

from __future__ import annotations

import sqlite3
from functools import cache

#: A migration is one SQL script; the runner wraps it with its version bump in one transaction.
Migration = str


_V1_REGISTRY = """
        CREATE TABLE clusters (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            doc TEXT NOT NULL,              -- the Cluster model as JSON; never a secret
            updated_at TEXT NOT NULL
        );
        CREATE TABLE health_history (
            cluster_id TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
            checked_at TEXT NOT NULL,
            state TEXT NOT NULL,
            health_score INTEGER NOT NULL,
            endpoint_health TEXT NOT NULL,
            error TEXT,
            PRIMARY KEY (cluster_id, checked_at)
        ) WITHOUT ROWID;
        """


_V2_SERIES = """
        CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            cluster TEXT NOT NULL,
            metric TEXT NOT NULL,
            labels TEXT NOT NULL,           -- canonical JSON, sorted keys
            chunked_until_ms INTEGER NOT NULL DEFAULT -9223372036854775808,
            UNIQUE (cluster, metric, labels)
        );
        CREATE INDEX series_by_metric ON series (metric, cluster);
        CREATE TABLE samples_head (        -- recent samples, row per sample, until compacted
            series_id INTEGER NOT NULL,
            ts_ms INTEGER NOT NULL,
            value REAL,
            PRIMARY KEY (series_id, ts_ms)
        ) WITHOUT ROWID;
        -- compacted samples, one BLOB per stretch of time. A rowid table on purpose: with
        -- WITHOUT ROWID, ~1 KB BLOBs spill into overflow pages and the file doubles.
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            series_id INTEGER NOT NULL,
            resolution_s INTEGER NOT NULL,  -- 0 raw; >0 rollup step (avg, min, max, count)
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL,
            UNIQUE (series_id, resolution_s, start_ms)
        );
        CREATE INDEX chunks_by_end ON chunks (resolution_s, end_ms);
        """


_V3_META = """
        CREATE TABLE app_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX health_by_time ON health_history (checked_at);
        """


_V4_QUERIES = """
CREATE TABLE query_history (
    id INTEGER PRIMARY KEY,
    run_at TEXT NOT NULL,
    promql TEXT NOT NULL,
    clusters TEXT NOT NULL,             -- JSON list of names
    query_type TEXT NOT NULL,
    range_s INTEGER,
    step_s INTEGER,
    aggregation TEXT NOT NULL,
    status TEXT NOT NULL,
    series INTEGER NOT NULL,
    duration_ms REAL
);
CREATE INDEX query_history_by_time ON query_history (run_at);
CREATE TABLE saved_queries (
    name TEXT PRIMARY KEY,
    promql TEXT NOT NULL,
    clusters TEXT NOT NULL,
    query_type TEXT NOT NULL,
    range_s INTEGER,
    step_s INTEGER,
    aggregation TEXT NOT NULL,
    saved_at TEXT NOT NULL
) WITHOUT ROWID;
"""

_V5_ANOMALIES = """
CREATE TABLE anomalies (
    identity TEXT PRIMARY KEY,          -- cluster|metric|labels|episode start: found once
    cluster TEXT NOT NULL,
    metric TEXT NOT NULL,
    severity TEXT NOT NULL,
    type TEXT NOT NULL,
    at REAL NOT NULL,                   -- epoch seconds of the worst point
    score REAL NOT NULL,
    body TEXT NOT NULL                  -- the Anomaly model as JSON
) WITHOUT ROWID;
CREATE INDEX anomalies_by_time ON anomalies (at);
CREATE INDEX anomalies_by_cluster ON anomalies (cluster, at);
"""

_V6_ALERT_EVENTS = """
CREATE TABLE alert_events (            -- each firing of an alert: when seen, when it ended
    cluster TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,           -- ISO 8601 UTC, as Alertmanager says
    name TEXT NOT NULL,
    severity TEXT NOT NULL,
    summary TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved_at TEXT,                  -- first poll that no longer saw it firing
    PRIMARY KEY (cluster, fingerprint, starts_at)
) WITHOUT ROWID;
CREATE INDEX alert_events_by_time ON alert_events (last_seen);
"""

_V7_CREDENTIAL_KEYS = """
CREATE TABLE credential_keys (         -- every keyring entry this app writes: committed first,
    service TEXT NOT NULL,             -- so one a crash left without its cluster is swept
    key TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (service, key)
) WITHOUT ROWID;
"""

_V8_INCIDENTS = """
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    opened_at REAL NOT NULL,        -- unix s
    updated_at REAL NOT NULL,
    body TEXT NOT NULL              -- the Incident model as JSON; never a secret
);
CREATE INDEX incidents_opened ON incidents (opened_at);
"""

_V9_CHATS = """
CREATE TABLE chat_sessions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    persona TEXT NOT NULL,
    updated_at REAL NOT NULL,       -- unix s
    body TEXT NOT NULL              -- the ChatSession model as JSON; redacted, never a secret
);
CREATE INDEX chat_sessions_updated ON chat_sessions (updated_at);
"""

# A series id is never given twice (AUTOINCREMENT): a series row deleted (a removed cluster,
# one retention forgot) may still be named by a write another process queued from its cache;
# with the id reused, a new series would show those samples as its own. Samples of an id no
# series row has (left so by older versions' caches after a failed write) are unreadable;
# they go, and no new series is given their id (a window of the older version still running
# may write more of them).
_V10_SERIES_IDS = """
CREATE TABLE series_v10 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster TEXT NOT NULL,
    metric TEXT NOT NULL,
    labels TEXT NOT NULL,           -- canonical JSON, sorted keys
    chunked_until_ms INTEGER NOT NULL DEFAULT -9223372036854775808,
    UNIQUE (cluster, metric, labels)
);
INSERT INTO series_v10 (id, cluster, metric, labels, chunked_until_ms)
    SELECT id, cluster, metric, labels, chunked_until_ms FROM series;
DROP TABLE series;
ALTER TABLE series_v10 RENAME TO series;
CREATE INDEX series_by_metric ON series (metric, cluster);
INSERT INTO sqlite_sequence (name, seq) SELECT 'series', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'series');
UPDATE sqlite_sequence SET seq = MAX(seq,
        (SELECT COALESCE(MAX(series_id), 0) FROM samples_head),
        (SELECT COALESCE(MAX(series_id), 0) FROM chunks))
    WHERE name = 'series';
DELETE FROM samples_head WHERE series_id NOT IN (SELECT id FROM series);
DELETE FROM chunks WHERE series_id NOT IN (SELECT id FROM series);
"""

# How far live detection has judged each (cluster, panel): the newest sample of its last
# round. A restarted app (or a detection worker started again) learns from the history
# before it but reports no episode that ended by then: those samples were judged once, when
# they arrived, and what was not found then is not news later.
_V11_JUDGED = """
CREATE TABLE anomalies_judged (
    cluster TEXT NOT NULL,
    panel TEXT NOT NULL,
    until_s REAL NOT NULL,          -- unix s of the newest sample judged
    PRIMARY KEY (cluster, panel)
) WITHOUT ROWID;
"""

MIGRATIONS: tuple[Migration, ...] = (
    _V1_REGISTRY,
    _V2_SERIES,
    _V3_META,
    _V4_QUERIES,
    _V5_ANOMALIES,
    _V6_ALERT_EVENTS,
    _V7_CREDENTIAL_KEYS,
    _V8_INCIDENTS,
    _V9_CHATS,
    _V10_SERIES_IDS,
    _V11_JUDGED,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: ``PRAGMA application_id`` of every cache (and capture) this app makes: "AIOP". A file with
#: another id, whatever its ``user_version``, is another application's.
APPLICATION_ID = 0x41494F50


#: How long ``migrate`` waits for another connection's write lock when ``conn`` sets no wait.
DEFAULT_BUSY_TIMEOUT_MS = 5000


def _statements(script: str) -> list[str]:
    """``script`` split into whole statements (a ``;`` in a string or a comment splits none)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending)
            pending = ""
    return statements


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _application_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA application_id").fetchone()[0])


@cache
def tables_at(version: int) -> frozenset[str]:
    """The tables a cache of ``version`` (1 to SCHEMA_VERSION) holds: how one made before
    caches carried APPLICATION_ID is told from another application's file."""
    conn = sqlite3.connect(":memory:")
    try:
        for script in MIGRATIONS[:version]:
            for statement in _statements(script):
                conn.execute(statement)
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return frozenset(r[0] for r in rows)
    finally:
        conn.close()


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Bring ``conn`` to ``target``; each step runs in its own transaction. Returns the version.

    Safe when several processes open one file at once: each step takes the write lock first
    (``BEGIN IMMEDIATE``, waiting up to the connection's busy timeout) and re-reads the version
    under it, so a step another process has applied meanwhile is never run twice. A lock not
    had in time raises ``sqlite3.OperationalError`` (SQLITE_BUSY), nothing changed.

    Each step also sets APPLICATION_ID, in its transaction: no state committed has our tables
    without it. A cache made before the id (the caller has checked it is ours) is given it.
    """
    if _version(conn) >= target and _application_id(conn) == APPLICATION_ID:
        return _version(conn)  # the usual open: nothing to do, no lock taken
    waits = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    if waits <= 0:
        conn.execute(f"PRAGMA busy_timeout = {DEFAULT_BUSY_TIMEOUT_MS}")
    try:
        while True:
            # one statement at a time: executescript would COMMIT the lock taken here
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = _version(conn)  # under the lock: what no one else can change now
                if version < 0:  # no cache of ours: never index MIGRATIONS from the end
                    raise ValueError(f"user_version {version} is no version of this schema")
                if version >= target:
                    if _application_id(conn) != APPLICATION_ID:
                        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute("COMMIT")
                    return version
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
    finally:
        if waits <= 0:
            conn.execute(f"PRAGMA busy_timeout = {waits}")
