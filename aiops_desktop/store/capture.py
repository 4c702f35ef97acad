"""Captures: a portable SQLite file with the cache's own schema for chosen clusters and a time
range, plus a manifest, and no secret (the cache never holds one: the keyring does).

Written at one site (``write_capture``), checked before it is opened anywhere
(``read_manifest``): a foreign file, a truncated or damaged one, or one made by a newer version
of the app is refused with a message that says which.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiops_desktop.models.errors import UsageError
from aiops_desktop.store.migrations import SCHEMA_VERSION, migrate
from aiops_desktop.store.writer import connect

FORMAT = "aiops-desktop-capture"
FORMAT_VERSION = 1
MANIFEST_KEY = "capture_manifest"
SQLITE_MAGIC = b"SQLite format 3\x00"
SUFFIX = ".aiops"


class CaptureError(UsageError):
    """A capture that cannot be written or opened, with why in words a person acts on."""


@dataclass
class CaptureManifest:
    app_version: str
    schema_version: int
    clusters: list[str]  # as chosen; fleet hubs bring their member clusters' data
    since: str  # ISO 8601, UTC
    until: str
    created_at: str
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    #: what the file holds: table -> rows
    counts: dict[str, int] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # every cluster name the data carries
    label: str = ""  # shown wherever the data is, e.g. "SAMPLE DATA"

    def describe(self) -> str:
        badge = f"{self.label}: " if self.label else ""
        return badge + (
            f"capture of {', '.join(self.clusters)} from {self.since} to {self.until} "
            f"(made {self.created_at} by AIOps Desktop {self.app_version})"
        )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def write_capture(
    source: Path,
    out: Path,
    *,
    clusters: list[str],
    since: datetime,
    until: datetime,
    app_version: str,
    members: Sequence[str] = (),
    label: str = "",
    extra_meta: dict[str, str] | None = None,
) -> CaptureManifest:
    """Copy ``clusters`` (registered names) between ``since`` and ``until`` from the cache file
    ``source`` into a new capture at ``out`` (written beside it, then moved into place).
    ``members``: the member clusters of the fleet hubs among them, whose data is stored under
    their own names (not registered clusters). ``extra_meta``:
    more documents to keep beside the manifest (the live pages' recorded answers)."""
    if since >= until:
        raise CaptureError("the capture's time range is empty: --since must be before now")
    tmp = out.with_name(f".{out.name}.partial")
    tmp.unlink(missing_ok=True)
    conn = connect(tmp)
    try:
        migrate(conn)
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        conn.execute("ATTACH DATABASE ? AS src", (f"file:{source}?mode=ro",))
        manifest = _copy(
            conn, clusters=clusters, members=members, since=since, until=until,
            app_version=app_version, label=label,
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO main.app_meta (key, value) VALUES (?, ?)", (extra_meta or {}).items()
        )
        conn.execute("DETACH DATABASE src")
        conn.execute("VACUUM")
    except sqlite3.Error as exc:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise CaptureError(f"could not write the capture {out}: {exc}") from exc
    conn.close()
    os.replace(tmp, out)
    return manifest


def _copy(
    conn: sqlite3.Connection,
    *,
    clusters: list[str],
    members: Sequence[str],
    since: datetime,
    until: datetime,
    app_version: str,
    label: str,
) -> CaptureManifest:
    registered = {r[0] for r in conn.execute("SELECT name FROM src.clusters")}
    missing = sorted(set(clusters) - registered)
    if missing:
        raise CaptureError(f"not registered here: {', '.join(missing)}")
    lo_ms, hi_ms = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
    lo, hi = _iso(since), _iso(until)
    conn.execute("BEGIN")
    conn.execute("CREATE TEMP TABLE chosen (name TEXT PRIMARY KEY)")
    # a hub's data is stored under its member clusters' names
    conn.executemany(
        "INSERT OR IGNORE INTO chosen VALUES (?)", [(c,) for c in [*clusters, *members]]
    )
    counts = {
        "clusters": conn.execute(
            "INSERT INTO main.clusters SELECT * FROM src.clusters "
            "WHERE name IN (SELECT name FROM chosen)"
        ).rowcount,
        "health_history": conn.execute(
            "INSERT INTO main.health_history SELECT h.* FROM src.health_history h "
            "JOIN src.clusters c ON c.id = h.cluster_id "
            "WHERE c.name IN (SELECT name FROM chosen) "
            "AND julianday(h.checked_at) BETWEEN julianday(?) AND julianday(?)",
            (lo, hi),
        ).rowcount,
        "series": conn.execute(
            "INSERT INTO main.series SELECT * FROM src.series "
            "WHERE cluster IN (SELECT name FROM chosen)"
        ).rowcount,
        "samples": conn.execute(
            "INSERT INTO main.samples_head SELECT h.* FROM src.samples_head h "
            "WHERE h.series_id IN (SELECT id FROM main.series) AND h.ts_ms BETWEEN ? AND ?",
            (lo_ms, hi_ms),
        ).rowcount,
        "chunks": conn.execute(
            "INSERT INTO main.chunks SELECT k.* FROM src.chunks k "
            "WHERE k.series_id IN (SELECT id FROM main.series) AND k.end_ms >= ? "
            "AND k.start_ms <= ?",
            (lo_ms, hi_ms),
        ).rowcount,
        "alert_events": conn.execute(
            "INSERT INTO main.alert_events SELECT * FROM src.alert_events "
            "WHERE cluster IN (SELECT name FROM chosen) "
            "AND julianday(last_seen) >= julianday(?) AND julianday(starts_at) <= julianday(?)",
            (lo, hi),
        ).rowcount,
        "anomalies": conn.execute(
            "INSERT INTO main.anomalies SELECT * FROM src.anomalies "
            "WHERE cluster IN (SELECT name FROM chosen) AND at BETWEEN ? AND ?",
            (since.timestamp(), until.timestamp()),
        ).rowcount,
    }
    members = sorted(r[0] for r in conn.execute("SELECT DISTINCT cluster FROM main.series"))
    manifest = CaptureManifest(
        app_version=app_version,
        schema_version=SCHEMA_VERSION,
        clusters=list(clusters),
        since=lo,
        until=hi,
        created_at=_iso(datetime.now(UTC)),
        counts=counts,
        members=members,
        label=label,
    )
    conn.execute(
        "INSERT INTO main.app_meta (key, value) VALUES (?, ?)",
        (MANIFEST_KEY, json.dumps(asdict(manifest), sort_keys=True)),
    )
    conn.execute("COMMIT")
    return manifest


def read_manifest(path: Path) -> CaptureManifest:
    """The manifest of the capture at ``path``, after checking it is one this app can open."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head != SQLITE_MAGIC:
        raise CaptureError(f"{path} is not an AIOps Desktop capture (not an SQLite file)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise CaptureError(f"cannot open {path}: {exc}") from exc
    try:
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
        if problems:
            raise CaptureError(f"{path} is truncated or damaged ({problems[0]})")
        try:
            row = conn.execute(
                "SELECT value FROM app_meta WHERE key = ?", (MANIFEST_KEY,)
            ).fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            raise CaptureError(f"{path} is an SQLite file but not an AIOps Desktop capture")
        doc = json.loads(row[0])
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise CaptureError(f"{path} is truncated or damaged ({exc})") from exc
    finally:
        conn.close()
    if doc.get("format") != FORMAT:
        raise CaptureError(f"{path} is not an AIOps Desktop capture (format {doc.get('format')!r})")
    version = max(found, int(doc.get("schema_version", 0)))
    if version > SCHEMA_VERSION or int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise CaptureError(
            f"{path} was made by a newer AIOps Desktop ({doc.get('app_version', '?')}, schema "
            f"{version}); this one reads schema {SCHEMA_VERSION} and older: upgrade to open it"
        )
    known = {f for f in CaptureManifest.__dataclass_fields__}
    return CaptureManifest(**{k: v for k, v in doc.items() if k in known})


def capture_meta(path: Path, key: str) -> str | None:
    """A document kept beside the manifest (``extra_meta``), or None."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM app_meta WHERE key = ?", (key,)).fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])
