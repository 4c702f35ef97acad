"""Captures: a portable SQLite file with the cache's own schema for chosen clusters and a time
range, plus a manifest, and no secret (the cache never holds one: the keyring does).

Written at one site (``write_capture``), checked before it is opened anywhere
(``read_manifest``): a foreign file, a truncated or damaged one, or one made by a newer version
of the app is refused with a message that says which.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aiops_desktop.logs import redact
from aiops_desktop.models.anomalies import LASTED, STILL_OPEN_NOTE, Anomaly
from aiops_desktop.models.cluster import Cluster, ClusterStatus, member_name
from aiops_desktop.models.enums import AuthMethod, ClusterState, Connectivity
from aiops_desktop.models.errors import AlreadyExistsError, AppError, UsageError
from aiops_desktop.models.incidents import FIRST_KEPT, Incident
from aiops_desktop.models.text import time_text
from aiops_desktop.store import codec
from aiops_desktop.store.bodies import DamagedRowError, read_all, read_one, read_rows
from aiops_desktop.store.capture_redact import (
    drop_series,
    end_the_silent,
    redact_copied,
    redacted_incident,
)
from aiops_desktop.store.database import owner_only
from aiops_desktop.store.health import _record as health_record  # the history's own reading
from aiops_desktop.store.migrations import SCHEMA_VERSION, migrate
from aiops_desktop.store.writer import connect

FORMAT = "aiops-desktop-capture"
FORMAT_VERSION = 1
MANIFEST_KEY = "capture_manifest"
SQLITE_MAGIC = b"SQLite format 3\x00"
SUFFIX = ".aiops"


class CaptureError(UsageError):
    """A capture that cannot be written or opened, with why in words a person acts on."""


class CaptureNotWritten(AppError):
    """A capture that could not be written where asked (a full disk, a folder that cannot be
    written): a runtime failure, the file named."""


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
    #: the series of the span an open would refuse, left out by the export (``left_out_text``)
    series_left_out: int = 0
    #: the series of the span dropped because redaction made their labels another's
    #: (``merged_text``)
    series_merged: int = 0

    def left_out(self) -> str:
        """The series of the span the capture does not hold, and why ("" where none): said
        as it is written and wherever it is opened, or a partial capture looks whole."""
        reasons = ((self.series_left_out, left_out_text), (self.series_merged, merged_text))
        return "; ".join(said(n) for n, said in reasons if n)

    def describe(self) -> str:
        badge = f"{self.label}: " if self.label else ""
        left_out = f"; {self.left_out()}" if self.left_out() else ""
        return badge + (
            f"capture of {', '.join(self.clusters)} from {time_text(self.since)} to "
            f"{time_text(self.until)} (made {time_text(self.created_at)} by AIOps Desktop "
            f"{self.app_version}{left_out})"
        )


def left_out_text(series: int) -> str:
    """The series an export left out, said as it is written and wherever it is opened."""
    return f"{series:,} series left out: their labels are longer than a capture holds"


def merged_text(series: int) -> str:
    """The series an export dropped because, once redacted, their labels are another's (pods
    whose names are secrets), said where ``left_out_text`` is."""
    return f"{series:,} series left out: redaction made their labels those of another series"


#: an incident as it stood at a moment (``analysis.incidents.as_it_stood``), given by the
#: service that exports (the store and the analysis layer know nothing of each other)
AsOf = Callable[[Incident, datetime], Incident | None]


def _copy_incidents(
    conn: sqlite3.Connection, since: datetime, until: datetime, as_of: AsOf | None
) -> int:
    """The incidents of the period that involve a chosen cluster (or hub member), each as it
    stood at the span's end (``as_of``: a past span's capture holds no later signal, state or
    version), with only the chosen clusters' signals and every text redacted field by field
    (``redacted_incident``: redacting the JSON text itself could break its quoting and leave
    a secret in it), cut to what an open accepts (``_fitted``). A damaged one is left out,
    counted in the log (``read_all``): one row failed every export."""
    chosen = {r[0] for r in conn.execute("SELECT name FROM chosen")}
    rows = conn.execute(
        "SELECT body FROM src.incidents WHERE (state != 'RESOLVED' OR updated_at >= ?) "
        "AND opened_at <= ?",
        (since.timestamp(), until.timestamp()),
    ).fetchall()
    kept = []
    for incident in read_all(Incident, (body for (body,) in rows), "incident"):
        then = incident if as_of is None else as_of(incident, until)
        if then is None:  # not opened by the span's end
            continue
        signals = [s for s in then.signals if s.cluster in chosen]
        if not signals:
            continue
        clean = _fitted(redacted_incident(then.model_copy(update={"signals": signals}), conn))
        kept.append((clean.id, clean.state.value, clean.severity.value,
                     clean.opened_at.timestamp(), clean.updated_at.timestamp(),
                     clean.model_dump_json()))  # fmt: skip
    conn.executemany("INSERT INTO main.incidents VALUES (?,?,?,?,?,?)", kept)
    return len(kept)


#: the room an exported incident's record leaves under what an open accepts
#: (capture_load.MAX_DOCUMENT_BYTES): its count of signals let go grows as it is cut
_RECORD_MARGIN = 1 << 16


def _fitted(incident: Incident) -> Incident:
    """``incident`` with as many signals let go (counted in ``signals_dropped``) as its record
    needs to fit what an open accepts: an incident of a fleet-wide rollout holds a live signal
    for each pod (the store lets go only of long-ended ones), and one record too big refused
    the whole capture.
    As the store lets go of long-ended ones, its first, its worst and its newest stay."""
    from aiops_desktop.store import capture_load  # it imports this module

    most = capture_load.MAX_DOCUMENT_BYTES - _RECORD_MARGIN
    over = len(incident.model_dump_json().encode()) - most
    if over <= 0:
        return incident
    worst = incident.worst
    oldest_first = sorted(
        (n for n, s in enumerate(incident.signals) if s is not worst),
        key=lambda n: (n < FIRST_KEPT, incident.signals[n].last_seen),
    )
    gone = set()
    for n in oldest_first:
        if over <= 0:
            break
        gone.add(n)
        over -= len(incident.signals[n].model_dump_json().encode()) + 1  # and its comma
    signals = [s for n, s in enumerate(incident.signals) if n not in gone]
    dropped = incident.signals_dropped + len(gone)
    return incident.model_copy(update={"signals": signals, "signals_dropped": dropped})


#: the last moment a chunk's sample or rollup bucket covers: a bucket (its start stored)
#: sums its whole step
_LAST_MS = "max(resolution_s * 1000 - 1, 0)"


def _cut_to_span(conn: sqlite3.Connection, lo_ms: int, hi_ms: int) -> int:
    """Cut the copied chunks that reach over the span's edges to the span (a chunk holds
    hours: copied whole, a past span's capture held hours of what came after its end), the
    store's own codec writing them again; a rollup bucket reaching over an edge goes whole
    (it sums what lies outside). Returns the chunks dropped: nothing of them was inside, or
    one the site itself cannot read (it cannot be cut, and is not exported as it is)."""
    rows = conn.execute(
        f"SELECT id, resolution_s, data FROM main.chunks WHERE start_ms < ? "  # noqa: S608
        f"OR end_ms + {_LAST_MS} > ?",  # the expression is this module's own
        (lo_ms, hi_ms),
    ).fetchall()
    dropped = 0
    for chunk_id, step_s, blob in rows:
        try:
            ts, columns = codec.decode(blob)
        except codec.ChunkFormatError:
            inside = np.zeros(0, dtype=bool)
        else:
            inside = (ts >= lo_ms) & (ts + max(step_s * 1000 - 1, 0) <= hi_ms)
        if not inside.any():
            conn.execute("DELETE FROM main.chunks WHERE id = ?", (chunk_id,))
            dropped += 1
            continue
        kept = ts[inside]
        try:
            conn.execute(
                "UPDATE main.chunks SET start_ms = ?, end_ms = ?, count = ?, data = ? "
                "WHERE id = ?",
                (int(kept[0]), int(kept[-1]), int(kept.size),
                 codec.encode(kept, [c[inside] for c in columns]), chunk_id),
            )  # fmt: skip
        except sqlite3.IntegrityError:  # all it kept is the bucket a retention pass split:
            # the next rollup starts with that bucket's other part
            conn.execute("DELETE FROM main.chunks WHERE id = ?", (chunk_id,))
            dropped += 1
    return dropped


def read_only_uri(path: Path, *, immutable: bool = False) -> str:
    """The SQLite URI that opens ``path`` read-only (``immutable``: and never written by
    anyone while read, a capture), its name percent-encoded: built as text, a '#' or '?' in
    the name ended it there, and SQLite opened (or created, read-write) the file so cut."""
    return f"{path.absolute().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")


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
    incidents_as_of: AsOf | None = None,
) -> CaptureManifest:
    """Copy ``clusters`` (registered names) between ``since`` and ``until`` from the cache file
    ``source`` into a new capture at ``out`` (written beside it, then moved into place).
    ``members``: the member clusters of the fleet hubs among them, whose data is stored under
    their own names (not registered clusters). ``extra_meta``:
    more documents to keep beside the manifest (the live pages' recorded answers).
    ``incidents_as_of``: how an incident stood at the span's end (the service's)."""
    # its start in whole seconds, as the manifest says it: a sample on the second it names was
    # left out when the start asked was a fraction later (its end stays exact: what happened
    # in its last second, an incident opened then, is held)
    since = since.replace(microsecond=0)
    if since >= until:
        raise CaptureError("the capture's time range is empty: --since must be before now")
    # the manifest as it will be, checked as an open checks it: a span the app itself refuses
    # (ending days after now, reaching before 2000) is never written (its members and counts
    # are checked again once known)
    openable(CaptureManifest(
        app_version=app_version, schema_version=SCHEMA_VERSION, clusters=list(clusters),
        since=_iso(since), until=_iso(until), created_at=_iso(datetime.now(UTC)),
        members=sorted({*clusters, *members}), label=label,
    ), out)  # fmt: skip
    refuse_future_end(until)  # and one the open takes, ending a little after now
    for key, text in (extra_meta or {}).items():  # and a document an open would refuse
        refused = unopenable_document(key, text)
        if refused is not None:
            raise CaptureError(f"{out} not written: its {key} would be refused when opened "
                               f"({refused})")  # fmt: skip
    replaceable(out)
    tmp = out.with_name(f".{out.name}.partial")
    conn = None
    try:
        _remove(tmp)
        owner_only(tmp)  # a capture says what a site runs: its owner's alone (0600)
        conn = connect(tmp)
        conn.create_function("redact_text", 1, redact, deterministic=True)
        migrate(conn)
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        conn.execute("ATTACH DATABASE ? AS src", (read_only_uri(source),))
        manifest = _copy(
            conn, out, clusters=clusters, members=members, since=since, until=until,
            app_version=app_version, label=label, incidents_as_of=incidents_as_of,
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO main.app_meta (key, value) VALUES (?, ?)", (extra_meta or {}).items()
        )
        conn.execute("DETACH DATABASE src")
        conn.execute("VACUUM")
        conn.close()
        conn = None
        os.replace(tmp, out)
    except BaseException as exc:
        if conn is not None:
            conn.close()
        # nothing part-written is left, whatever failed (nor SQLite's side files, made before
        # the journal became one file): a full disk's, a read-only folder's, a bug's
        _remove(tmp, quiet=True)
        if not isinstance(exc, OSError | sqlite3.Error):  # an unknown cluster, a manifest no
            raise  # open takes: said as it is
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CaptureNotWritten(f"could not write the capture {out}: {why}") from exc
    return manifest


#: how far after now a capture's span may end: the clock that asked a little ahead of this one
UNTIL_AHEAD = timedelta(seconds=60)


def refuse_future_end(until: datetime) -> None:
    """Refuse (CaptureError) a span ending after now (UNTIL_AHEAD allowed), as ``ptp --until``
    is refused: a local time typed without a zone, hours ahead of UTC, made a capture claim
    hours that had not happened, every episode going on written ended at them."""
    now = datetime.now(UTC)
    if until > now + UNTIL_AHEAD:
        raise CaptureError(f"--until {time_text(until, seconds=True)} is in the future "
                           f"({time_text(now, seconds=True)}): give an earlier time, or no "
                           "--until for a window ending now")  # fmt: skip


def _remove(tmp: Path, *, quiet: bool = False) -> None:
    """A partial capture and its SQLite side files, where any is left (``quiet``: each that
    can be, the error being said already)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(*((OSError,) if quiet else ())):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def is_capture(path: Path) -> bool:
    """Whether ``path`` is a capture (an SQLite file holding a capture's manifest), as far as
    it can be read: what ``replaceable`` lets an export replace."""
    try:
        if _read_head(path) != SQLITE_MAGIC:
            return False
        conn = sqlite3.connect(read_only_uri(path, immutable=True), uri=True)
    except (CaptureError, sqlite3.Error):
        return False
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        row = conn.execute("SELECT 1 FROM app_meta WHERE key = ?", (MANIFEST_KEY,)).fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None


def replaceable(out: Path) -> None:
    """Refuse (AlreadyExistsError) to replace an existing file that is not a capture: ``--out``
    naming a kubeconfig, a database, last night's notes replaced them with this SQLite file.
    An empty one (a name made by mktemp) has nothing to lose."""
    if out.is_file() and out.stat().st_size and not is_capture(out):
        raise AlreadyExistsError(
            f"{out} already exists and is not a capture: not replaced (give a new name, or "
            "remove it first)"
        )


def _copy(
    conn: sqlite3.Connection,
    out: Path,
    *,
    clusters: list[str],
    members: Sequence[str],
    since: datetime,
    until: datetime,
    app_version: str,
    label: str,
    incidents_as_of: AsOf | None,
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
        # only those with data in the span: the cache keeps the series of pods gone long
        # before it (until their rollups expire), and a hub whose members churn pods held
        # more than an open reads
        "series": conn.execute(
            "INSERT INTO main.series SELECT s.* FROM src.series s "
            "WHERE s.cluster IN (SELECT name FROM chosen) AND (EXISTS (SELECT 1 FROM "
            "src.samples_head h WHERE h.series_id = s.id AND h.ts_ms BETWEEN ? AND ?) OR EXISTS "
            "(SELECT 1 FROM src.chunks k WHERE k.series_id = s.id AND k.end_ms >= ? "
            "AND k.start_ms <= ?))",
            (lo_ms, hi_ms, lo_ms, hi_ms),
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
        # the episodes going on in it: begun by its end and at their worst in it or after
        # it (a past span's FREERUN begun before its end, at its worst after: the live report
        # of the period lists it), or before it and lasting into it (as the live detection
        # reports them, by their last point); at their worst no later than an open accepts
        # (``check_dated``: a day after its end). A body that is not JSON is left out (as the
        # redaction pass leaves out one that is no anomaly), never read
        "anomalies": conn.execute(
            "INSERT INTO main.anomalies SELECT * FROM src.anomalies "
            "WHERE cluster IN (SELECT name FROM chosen) AND at <= ? AND json_valid(body) "
            "AND CASE WHEN json_valid(body) THEN coalesce(julianday(json_extract(body, "
            "'$.started_at')) <= julianday(?), at <= ?) END "
            "AND (at >= ? OR CASE WHEN json_valid(body) THEN "
            "julianday(json_extract(body, '$.last_at')) >= julianday(?) END)",
            (
                (until + CLOCK_SKEW).timestamp(),
                until.isoformat(),
                until.timestamp(),
                since.timestamp(),
                lo,
            ),
        ).rowcount,
        "incidents": _copy_incidents(conn, since, until, incidents_as_of),
    }
    _episodes_as_they_stood(conn, until)
    counts["chunks"] -= _cut_to_span(conn, lo_ms, hi_ms)
    counts["series"] -= conn.execute(  # those whose chunks held nothing inside it
        "DELETE FROM main.series WHERE id NOT IN (SELECT series_id FROM main.chunks) "
        "AND id NOT IN (SELECT series_id FROM main.samples_head)"
    ).rowcount
    for cluster_id, doc in conn.execute("SELECT id, doc FROM main.clusters").fetchall():
        clean = safe_cluster(str(doc), "the cache")  # no credential reference leaves the site
        clean = _as_it_stood(conn, clean, until)
        conn.execute(
            "UPDATE main.clusters SET doc = ? WHERE id = ?", (clean.model_dump_json(), cluster_id)
        )
    conn.execute(  # error text a server echoed is kept redacted
        "UPDATE main.health_history SET error = redact_text(error) WHERE error IS NOT NULL"
    )
    end_the_silent(conn, hi_ms)  # before redaction: it finds each episode's series by labels
    merged = redact_copied(conn, counts)
    left_out = _openable_series(conn, out, since, until, counts)
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
        series_left_out=left_out,
        series_merged=merged,
    )
    openable(manifest, out)
    conn.execute(
        "INSERT INTO main.app_meta (key, value) VALUES (?, ?)",
        (MANIFEST_KEY, json.dumps(asdict(manifest), sort_keys=True)),
    )
    conn.execute("COMMIT")
    return manifest


def _episodes_as_they_stood(conn: sqlite3.Connection, until: datetime) -> None:
    """The copied episodes found going on after ``until`` (a past span's end) as they stood
    then, as its incidents are cut (a signal's last seen no later than the end): going on at
    its end, their last point found by then no later than it, their explanation saying so
    (not how long they went on after it). Their worst point is as stored: the record keeps
    one, and which came by the end is not known (the live report of the period lists them
    so). A body that is no anomaly is left to the redaction pass, which leaves it out."""
    rows = conn.execute(
        "SELECT identity, body FROM main.anomalies WHERE "
        "julianday(json_extract(body, '$.last_at')) > julianday(?)",  # bodies are JSON here
        (until.isoformat(),),
    ).fetchall()
    for identity, body in rows:
        try:
            found = read_one(Anomaly, body, "anomaly")
        except DamagedRowError:
            continue
        head = found.explanation.replace(STILL_OPEN_NOTE, "").split(LASTED, 1)[0]
        then = found.model_copy(
            update={"open": True, "last_at": until, "explanation": head + STILL_OPEN_NOTE}
        )
        conn.execute("UPDATE main.anomalies SET body = ? WHERE identity = ?",
                     (then.model_dump_json(), identity))  # fmt: skip


def _as_it_stood(conn: sqlite3.Connection, cluster: Cluster, until: datetime) -> Cluster:
    """``cluster``'s record as it stood at ``until`` where it holds a check made after it (a
    past span's, as its incidents are cut with ``as_of``): the status its last check by then
    says (in its history; none known where it holds none), its connectivity that check's
    alone (the history keeps each check, not the window of them the registry judges by)."""
    checked = cluster.status.last_check_at
    if checked is None or checked.replace(tzinfo=checked.tzinfo or UTC) <= until:
        return cluster
    rows = conn.cursor()
    rows.row_factory = sqlite3.Row  # as the history reads its records
    rows.execute(
        "SELECT * FROM src.health_history WHERE cluster_id = ? AND checked_at <= ? "
        "ORDER BY checked_at DESC LIMIT 10",  # stored as ISO text in UTC (``store.health``)
        (str(cluster.id), until.astimezone(UTC).isoformat()),
    )
    last = read_rows(rows, health_record, "health history")
    then = ClusterStatus(members=cluster.status.members)  # no check known by then
    if last:
        record = last[0]
        then = then.model_copy(update={
            "state": record.state, "health_score": record.health_score,
            "endpoint_health": record.endpoint_health, "last_check_at": record.checked_at,
            "last_error": redact(record.error or "") or None,
            "connectivity": Connectivity.DISCONNECTED if record.state is ClusterState.OFFLINE
            else Connectivity.CONNECTED,
        })  # fmt: skip
    return cluster.model_copy(update={"status": then})


def _openable_series(
    conn: sqlite3.Connection, out: Path, since: datetime, until: datetime, counts: dict[str, int]
) -> int:
    """Leave out the copied series an open refuses one by one (``capture_rows.unheld_series``:
    the poller stores labels of any length, and one tenant's refused the whole export), with
    their samples, taken off ``counts``; then refuse (CaptureError) a copy an open would
    still refuse, by the open's own checks (``capture_rows``': their number, their text in
    all; the health records' and firings' number): a fleet's cache may hold more than a
    capture may. Returns the series left out."""
    from aiops_desktop.store import capture_rows  # it imports this module

    left_out = capture_rows.unheld_series(conn)
    for series_id in left_out:
        drop_series(conn, series_id, counts)
    try:
        capture_rows._count_series(conn, out)
        capture_rows.count_times(conn, out)  # the health records and firings, as it counts them
        capture_rows._check_series(
            conn, out, capture_rows._ms(since), capture_rows._ms(until + CLOCK_SKEW)
        )
    except CaptureError as exc:
        why = str(exc).removeprefix(f"{out}: ").removesuffix("; not opened")
        raise CaptureError(f"{out} not written: it would be refused when opened ({why})") from exc
    return len(left_out)


def _read_head(path: Path) -> bytes:
    """The first bytes of a regular file (opened without blocking: a FIFO is refused, never
    waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CaptureError(f"{path} is not a regular file (a capture is a file)")
        return os.read(fd, len(SQLITE_MAGIC))
    finally:
        os.close(fd)


#: the tables a manifest counts (``_copy``'s)
TABLES = frozenset({"clusters", "health_history", "series", "samples", "chunks", "alert_events",
                    "anomalies", "incidents"})  # fmt: skip
#: the years a capture's times may fall in, and how far a span may end after it was made
FIRST_YEAR, LAST_YEAR = 2000, 2100
CLOCK_SKEW = timedelta(days=1)
#: the clusters a manifest may list, and a capture hold records of (``capture_rows``)
MOST_CLUSTERS = 10_000


class _Manifest(BaseModel):
    """The manifest as a capture may state it: typed and bounded."""

    model_config = ConfigDict(extra="ignore")

    format: str = Field(max_length=64)
    format_version: int = 0
    app_version: str = Field(default="?", max_length=64)
    schema_version: int = 0
    clusters: list[Annotated[str, Field(max_length=128)]] = Field(max_length=MOST_CLUSTERS)
    since: str = Field(max_length=64)
    until: str = Field(max_length=64)
    created_at: str = Field(default="", max_length=64)
    counts: dict[Annotated[str, Field(max_length=64)], Annotated[int, Field(ge=0, lt=2**63)]] = (
        Field(default_factory=dict, max_length=64)
    )
    members: list[Annotated[str, Field(max_length=128)]] = Field(
        default_factory=list, max_length=MOST_CLUSTERS
    )
    label: str = Field(default="", max_length=64)
    series_left_out: int = Field(default=0, ge=0, lt=2**63)
    series_merged: int = Field(default=0, ge=0, lt=2**63)

    @field_validator("since", "until", "created_at")
    @classmethod
    def _time(cls, value: str) -> str:
        if not value:  # created_at may be absent (an old capture's)
            return value
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise ValueError("a time without a zone")
        if not FIRST_YEAR <= when.year <= LAST_YEAR:
            raise ValueError(f"a time outside {FIRST_YEAR}-{LAST_YEAR}")
        return value

    @field_validator("format", "app_version", "label")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.isprintable():  # printed on the terminal and on every page it opens
            raise ValueError("a text with a line break or a control character")
        return value

    @field_validator("counts")
    @classmethod
    def _tables(cls, value: dict[str, int]) -> dict[str, int]:
        # printed as they are by `capture info`: a table's name, never a line of its own
        wrong = next((t for t in value if t not in TABLES), None)
        if wrong is not None:
            raise ValueError(f"{wrong[:64]!r} is not a table a capture holds")
        return value

    @field_validator("clusters", "members")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        wrong = next((n for n in value if member_name(n) is None), None)
        if wrong is not None:
            raise ValueError(f"{wrong[:64]!r} is not a cluster name")
        return value

    @model_validator(mode="after")
    def _span(self) -> _Manifest:
        since, until = datetime.fromisoformat(self.since), datetime.fromisoformat(self.until)
        if since >= until:
            raise ValueError("its span ends before it starts")
        if self.created_at and until > datetime.fromisoformat(self.created_at) + CLOCK_SKEW:
            raise ValueError("its span ends after it was made")
        return self


def _problem(exc: ValidationError) -> str:
    """What is wrong with a manifest, where: a place named by the file (a key of ``counts``)
    is quoted, so it cannot print a line of its own."""
    err = exc.errors()[0]
    where = ".".join(
        str(p) if isinstance(p, int) or p.isidentifier() else repr(p[:64]) for p in err["loc"]
    )
    return f"{where or 'manifest'}: {err['msg']}"


def openable(manifest: CaptureManifest, out: Path) -> None:
    """Refuse (CaptureError) to write a capture whose manifest an open would refuse."""
    try:
        _Manifest.model_validate_json(json.dumps(asdict(manifest)))
    except ValidationError as exc:
        raise CaptureError(
            f"{out} not written: a capture of {manifest.since} to {manifest.until} would be "
            f"refused when opened ({_problem(exc)})"
        ) from exc


#: the documents an open parses as untyped JSON, their objects and values counted first
#: (``load_capture``)
_UNTYPED = ("recorded_answers", "recorded_objects")


def unopenable_document(key: str, text: str) -> str | None:
    """Why an open would refuse the document ``key`` kept beside the manifest, by the open's
    own bounds (``capture_load``'s, read when asked: never a second copy of them): its size
    in bytes, and an untyped one's JSON objects and lists and its values, counted as the open
    counts them; None when it would read it."""
    from aiops_desktop.store import capture_load  # it imports this module

    limit = capture_load.META_KEYS.get(key)
    if limit is None:
        return "not a document a capture keeps"
    size = len(text.encode("utf-8"))
    if size > limit:
        return f"{size:,} bytes; at most {limit:,}"
    if key in _UNTYPED:
        containers = text.count("{") + text.count("[")
        if containers > capture_load.MOST_CONTAINERS:
            return (f"{containers:,} JSON objects and lists; at most "
                    f"{capture_load.MOST_CONTAINERS:,}")  # fmt: skip
        values = text.count(",")
        if values > capture_load.MOST_ITEMS:
            return f"{values:,} values; at most {capture_load.MOST_ITEMS:,}"
    return None


def read_manifest(path: Path) -> CaptureManifest:
    """The manifest of the capture at ``path``, after checking it is one this app can open."""
    if _read_head(path) != SQLITE_MAGIC:
        raise CaptureError(f"{path} is not an AIOps Desktop capture (not an SQLite file)")
    try:
        conn = sqlite3.connect(read_only_uri(path, immutable=True), uri=True)
    except sqlite3.Error as exc:
        raise CaptureError(f"cannot open {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
        if problems:
            raise CaptureError(f"{path} is truncated or damaged ({problems[0]})")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        row = None
        if "app_meta" in tables:
            row = conn.execute(
                "SELECT value FROM app_meta NOT INDEXED WHERE key = ? AND length(value) < 65536",
                (MANIFEST_KEY,),
            ).fetchone()
        if row is None:
            raise CaptureError(f"{path} is an SQLite file but not an AIOps Desktop capture")
        raw = row[0]
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise CaptureError(f"{path} is truncated or damaged ({exc})") from exc
    finally:
        conn.close()
    try:
        doc = _Manifest.model_validate_json(raw if isinstance(raw, str | bytes) else "")
    except ValidationError as exc:
        raise CaptureError(
            f"{path} has a manifest that is not valid ({_problem(exc)}); not opened"
        ) from exc
    if doc.format != FORMAT:
        raise CaptureError(f"{path} is not an AIOps Desktop capture (format {doc.format!r})")
    version = max(found, doc.schema_version)
    if version > SCHEMA_VERSION or doc.format_version > FORMAT_VERSION:
        raise CaptureError(
            f"{path} was made by a newer AIOps Desktop ({doc.app_version}, schema "
            f"{version}); this one reads schema {SCHEMA_VERSION} and older: upgrade to open it"
        )
    known = {f for f in CaptureManifest.__dataclass_fields__}
    return CaptureManifest(**{k: v for k, v in doc.model_dump().items() if k in known})


MAX_CLUSTER_DOC = 256 * 1024


def safe_cluster(doc: str, where: str) -> Cluster:
    """A capture's cluster document as a Cluster with no credential reference (and no auth
    that would need one), its error text redacted."""
    if len(doc) > MAX_CLUSTER_DOC:
        raise CaptureError(f"{where}: a cluster record is larger than {MAX_CLUSTER_DOC:,} bytes")
    try:
        cluster = Cluster.model_validate_json(doc)
    except (ValidationError, ValueError, RecursionError) as exc:
        raise CaptureError(f"{where}: a cluster record is not valid ({_first(exc)})") from exc
    endpoints = [
        e.model_copy(update={"credential": None, "auth": AuthMethod.NONE})
        for e in cluster.endpoints
    ]
    status = cluster.status.model_copy(
        update={"last_error": redact(cluster.status.last_error or "") or None}
    )
    return cluster.model_copy(update={"credential": None, "endpoints": endpoints, "status": status})


def _first(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "record"
        return f"{where}: {err['msg']}"
    return type(exc).__name__
