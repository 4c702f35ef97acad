"""A capture's rows checked once, as it is opened, before anything reads them: what the store
would trip over later (a traceback in every page), or believe to its cost (a chunk header
that says 20 million samples), is refused with what is wrong (``CaptureError``).

- clusters: at most ``MOST_CLUSTERS`` records, each of a cluster its manifest lists (counted
  in SQL, before any is read: 50,000 records of 15 MB opened in 3.8 s, and every fleet
  refresh then took 8.7 s);
- series: at most ``MOST_SERIES``, their names and labels at most ``MOST_SERIES_ROW`` bytes
  each and ``MOST_SERIES_TEXT`` in all (counted in SQL, before any is read: opening reads
  every series, and 400,000 of one sample each took 31 s and 943 MiB); their cluster,
  metric and labels text (a BLOB failed every page); labels a JSON object of short strings;
  samples: an integer time and a number, within the capture's span;
- chunks: a header this app writes (its version, at most ``codec.MAX_SAMPLES`` samples of
  at most ``codec.MAX_COLUMNS`` columns, a rollup's four; the row's own count), a time
  span that holds its samples at least ``MIN_SPACING_MS`` apart, no two chunks of a series
  over the same time, and no chunk of a series the capture does not hold: so a read of a
  window decodes at most what that window can hold; none outside the capture's span (one
  starting before its start: an export cuts its chunks to it, and a crafted one of the
  evening before was charted and trended; or ending after its end and the clock skew
  allowed: 2,000 chunks of zeros dated 2089, 154 bytes each, were 1.3 GB decoded as it
  opened), at most ``MOST_VALUES`` values in all, and each decoded (a damaged body is
  refused here, not a codec error in a page later), its samples those its row says;
- health records and alert firings: at most ``MOST_HEALTH_RECORDS`` and
  ``MOST_ALERT_FIRINGS`` (counted in SQL, before any is read: a million firings took 6.8 s
  to open), their columns of the types this app writes (a firing's name as a BLOB failed
  every report), a firing's severity one an alert has; health records what ``HealthRecord``
  holds (a score of 0-100: 500 failed every report), checked within the capture's span;
  alert firings: zoned times, seen within it;
- anomalies and incidents (their checked bodies, ``check_dated``): none after the capture's
  end (one dated 2030 in a capture of 2026 opened an incident that would never resolve),
  an anomaly none whose episode was over before its start, and no time of either outside
  FIRST_YEAR-LAST_YEAR (anomalies dated 0001-01-01 made an incident whose report could not
  be written).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from aiops_desktop.models import ClusterState, HealthRecord
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AlertSeverity, EndpointKind, IncidentStatus
from aiops_desktop.models.incidents import Incident
from aiops_desktop.store import codec
from aiops_desktop.store.capture import (
    CLOCK_SKEW,
    FIRST_YEAR,
    LAST_YEAR,
    MOST_CLUSTERS,
    CaptureError,
)

#: the closest two samples of a series may be (the fastest poll is seconds apart)
MIN_SPACING_MS = 100
MOST_LABELS = 64
MOST_LABEL_CHARS = 4096
#: the values (samples x columns) a capture's chunks and head may hold in all: 256 MiB of
#: numbers decoded (a day of 15 s samples of 5,800 series); a crafted file declaring more is
#: refused before any of it is decoded
MOST_VALUES = 2**25
#: the series a capture may hold: opening reads each (the charts' buffers are filled series
#: by series), so its cost follows their number, not the file's size (400,000 of one sample,
#: 58 MiB of file, took 31 s and 943 MiB). The largest fleet the app is measured at (the
#: scale benchmark's: 200 clusters behind one hub) stores 50,600; an export copies the
#: series with data in its span (a day's churned pods too): four times that leaves room, and
#: an export checks it before writing. 200,000 of one sample took 39 s and +473 MiB to open
MOST_SERIES = 200_000
#: the bytes of one series' cluster, metric and labels (a labels object of MOST_LABELS names
#: of MOST_LABEL_CHARS each would be 256 KiB: the sample's longest is under 100 bytes) ...
MOST_SERIES_ROW = 16 * 1024
#: ... and of every series' in all (the benchmark fleet's 50,600 are about 7 MB)
MOST_SERIES_TEXT = 64 * 2**20
#: the health records and alert firings a capture may hold, counted before any is read (each
#: is parsed as it opens, and a report reads every one of its period: a million firings took
#: 6.8 s to open and 837 MB for a report). An export copies those of its span from the health
#: history, which keeps a week (``health_retention``'s default; the firings are kept as
#: long), so an export of any span, up to the 400 days ``--since`` allows, holds a week of
#: them at most. A cluster checked every 15 s (a hub: ``CHECK_INTERVAL_S``' fastest) has
#: 40,320 records a week; the scale benchmark's 200 clusters are behind one hub, checked as
#: one: four such hubs, and room (200,000 took 3 s to check as they opened). An export checks
#: both before writing: a site keeping a longer history exports a shorter span
MOST_HEALTH_RECORDS = 200_000
#: ... and firings: the scale benchmark's 200 clusters each firing an alert anew every ten
#: minutes (a flapping one) for the week kept are 201,600
MOST_ALERT_FIRINGS = 250_000
#: the earliest and latest a record's time may be, as a manifest's (``capture.FIRST_YEAR``)
_FIRST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
_LAST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)


def check_rows(conn: sqlite3.Connection, path: Path, since: datetime, until: datetime) -> None:
    """Check the rows copied into ``main`` from the capture at ``path``, of the span from
    ``since`` to ``until`` (its manifest's; see the module)."""
    _count_series(conn, path)  # first: the other checks read every series
    count_times(conn, path)  # and every health record and firing
    _check_chunks(conn, path, _ms(since), _ms(until + CLOCK_SKEW))
    _check_series(conn, path, _ms(since), _ms(until + CLOCK_SKEW))
    _check_times(conn, path, since - CLOCK_SKEW, until + CLOCK_SKEW)


def check_clusters(conn: sqlite3.Connection, path: Path, listed: Collection[str]) -> None:
    """The cluster records copied into ``main`` are at most MOST_CLUSTERS (as many as a
    manifest may list; counted before any is read), each of a cluster in ``listed`` (the
    names its manifest lists): every record is a tile every fleet refresh judges."""
    (count,) = conn.execute("SELECT count(*) FROM main.clusters").fetchone()
    if count > MOST_CLUSTERS:
        raise _refuse(path, f"it holds {count:,} cluster records, more than {MOST_CLUSTERS:,} "
                      "clusters (as many as its manifest may list)")  # fmt: skip
    known = set(listed)
    for (name,) in conn.execute("SELECT name FROM main.clusters"):
        if name not in known:
            raise _refuse(path, f"it holds a record of cluster {str(name)[:64]!r}, which its "
                          "manifest does not list")  # fmt: skip


def _refuse(path: Path, what: str) -> CaptureError:
    return CaptureError(f"{path}: {what}; not opened")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


#: the bytes of a series' cluster, metric and labels (a row of ``main.series``), in SQL
_SERIES_SIZE = (
    "length(CAST(cluster AS BLOB)) + length(CAST(metric AS BLOB)) + length(CAST(labels AS BLOB))"
)


def _count_series(conn: sqlite3.Connection, path: Path) -> None:
    """How many series, and how much text they name, in SQL: none is read if too many."""
    count, text, longest = conn.execute(
        f"SELECT count(*), sum(size), max(size) FROM (SELECT {_SERIES_SIZE} AS size "  # noqa: S608
        "FROM main.series)"  # the expression is this module's own
    ).fetchone()
    if count > MOST_SERIES:
        raise _refuse(path, f"it holds {count:,} series, more than {MOST_SERIES:,} series "
                      "(four times what the largest fleet it is measured at stores)")  # fmt: skip
    if (longest or 0) > MOST_SERIES_ROW:
        raise _refuse(path, f"it holds a series whose names are longer than {MOST_SERIES_ROW:,} "
                      "bytes")  # fmt: skip
    if (text or 0) > MOST_SERIES_TEXT:
        raise _refuse(path, f"it holds more series text than {MOST_SERIES_TEXT:,} bytes")


def count_times(conn: sqlite3.Connection, path: Path) -> None:
    """How many health records and alert firings, in SQL: none is read if too many."""
    for table, what, most in (("health_history", "health records", MOST_HEALTH_RECORDS),
                              ("alert_events", "alert firings", MOST_ALERT_FIRINGS)):  # fmt: skip
        (count,) = conn.execute(f"SELECT count(*) FROM main.{table}").fetchone()  # noqa: S608
        if count > most:  # (the table's name is this module's own)
            raise _refuse(path, f"it holds {count:,} {what}, more than {most:,} (what a week "
                          "of the largest fleet it is measured at holds, and room)")  # fmt: skip


def _not_text(*columns: str) -> str:
    return " OR ".join(f"typeof({c}) != 'text'" for c in columns)


#: the severities an alert firing is stored with (``AlertEventRepository``: an ``Alert``'s)
_SEVERITIES = tuple(s.value for s in AlertSeverity)
#: rows of a column type this app never writes, by table: what they are, and the condition
#: (SQLite keeps a BLOB as it is in a TEXT column: a series' cluster as bytes passed the open,
#: then the fleet's sort of bytes among strings failed fleet, incidents, reports and the
#: window; a firing's name as bytes, the handover's text)
_UNTYPED = {
    "series": ("series whose cluster, metric or labels are not text",
               _not_text("cluster", "metric", "labels")),
    "health_history": ("health records that are not the text and numbers this app writes",
                       _not_text("cluster_id", "checked_at", "state", "endpoint_health")
                       + " OR typeof(health_score) != 'integer' "
                       "OR typeof(error) NOT IN ('text', 'null')"),
    "alert_events": ("alert firings whose cluster, fingerprint, name, severity or summary is "
                     "not text", _not_text("cluster", "fingerprint", "name", "severity",
                                           "summary")),
}  # fmt: skip


def _untyped(conn: sqlite3.Connection, path: Path, table: str) -> None:
    """Refused where a row of ``table`` has a column of another type than this app writes
    (``_UNTYPED``): "its <table> table holds <count> <what>"; a firing, a severity an alert
    has too."""
    what, where = _UNTYPED[table]
    # the table and the condition are this module's own
    (found,) = conn.execute(f"SELECT count(*) FROM main.{table} WHERE {where}").fetchone()  # noqa: S608
    if found:
        raise _refuse(path, f"its {table} table holds {found} {what}")
    if table == "alert_events":  # in any case (an Alertmanager label's), read as the enum's
        (found,) = conn.execute(
            f"SELECT count(*) FROM main.alert_events WHERE upper(severity) NOT IN "  # noqa: S608
            f"({','.join('?' * len(_SEVERITIES))})",  # as many marks as severities
            _SEVERITIES,
        ).fetchone()
        if found:
            *others, last = _SEVERITIES
            raise _refuse(path, f"its alert_events table holds {found} alert firings of a "
                          f"severity other than {', '.join(others)} or {last}")  # fmt: skip
        conn.execute("UPDATE main.alert_events SET severity = upper(severity) "
                     "WHERE severity != upper(severity)")  # fmt: skip


def _check_chunks(conn: sqlite3.Connection, path: Path, first_ms: int, last_ms: int) -> None:
    """``first_ms`` to ``last_ms``: the capture's span (its end with the clock skew allowed);
    an export cuts its chunks to the span (a rollup's bucket reaching over an edge goes
    whole), so none starts before it."""
    # what the rows say, in SQL, before a chunk is decoded: a crafted file of many small
    # chunks outside the span, or over the same time, costs nothing to refuse
    _none(
        conn,
        path,
        "chunks lie outside the capture's span",
        "SELECT count(*) FROM main.chunks WHERE start_ms < ? OR end_ms > ?",
        (first_ms, last_ms),
    )
    # (two rollups may share the bucket a retention pass split: start where the other ends)
    _none(
        conn,
        path,
        "chunks cover the same time as another of their series",
        "SELECT count(*) FROM (SELECT start_ms, resolution_s, lag(end_ms) OVER (PARTITION BY "
        "series_id, resolution_s ORDER BY start_ms) AS before FROM main.chunks) WHERE "
        "start_ms < before OR (start_ms = before AND resolution_s = 0)",
    )
    _none(
        conn,
        path,
        "chunks belong to no series it holds",
        "SELECT count(*) FROM main.chunks WHERE series_id NOT IN (SELECT id FROM main.series)",
    )
    (values,) = conn.execute("SELECT count(*) FROM main.samples_head").fetchone()
    rows = conn.execute(
        "SELECT series_id, start_ms, end_ms, count, substr(data, 1, ?), typeof(data), "
        "typeof(start_ms) || typeof(end_ms) || typeof(count) || typeof(resolution_s), "
        "resolution_s FROM main.chunks",
        (codec.HEADER_SIZE,),
    )
    for series_id, start, end, count, head, kind, types, resolution in rows:
        where = f"a chunk of series {series_id}"
        if kind != "blob" or types != "integer" * 4:
            raise _refuse(path, f"{where} is not a chunk this app writes")
        try:
            said, ncols, _first = codec.read_header(head)
        except codec.ChunkFormatError as exc:
            raise _refuse(path, f"{where}: {exc}") from None
        if said != count:
            raise _refuse(path, f"{where} says {said} samples where its row says {count}")
        # a store read takes a rollup's four columns (avg, min, max, count): one of one column
        # failed every read of its series' history. (A raw read takes its first column, which
        # every header has; more cost what MOST_VALUES counts)
        if resolution > 0 and ncols != 4:
            raise _refuse(path, f"{where} holds {ncols} columns where a {resolution} s rollup "
                          "holds 4")  # fmt: skip
        if resolution < 0 or end < start or count > (end - start) // MIN_SPACING_MS + 1:
            raise _refuse(path, f"{where} holds {count} samples in {end - start} ms")
        values += count * ncols
        if values > MOST_VALUES:
            raise _refuse(path, f"its chunks say more than {MOST_VALUES:,} values, more than "
                          "a capture holds")  # fmt: skip
    # then each decoded once (at most MOST_VALUES in all, one at a time): a body that does
    # not decode, or holds other times than its row says, is refused now, not in a page later
    for series_id, start, end, count, blob in conn.execute(
        "SELECT series_id, start_ms, end_ms, count, data FROM main.chunks"
    ):
        try:
            codec.decode_row(blob, start, end, count)  # the store's own check of its chunks
        except codec.ChunkFormatError as exc:
            raise _refuse(path, f"a chunk of series {series_id} cannot be read ({exc})") from None


def _none(
    conn: sqlite3.Connection, path: Path, what: str, count_sql: str, args: tuple[int, ...] = ()
) -> None:
    """Refused where ``count_sql`` counts any row: "<count> <what>"."""
    (found,) = conn.execute(count_sql, args).fetchone()
    if found:
        raise _refuse(path, f"{found} {what}")


def _labels_held(labels: object) -> bool:
    """Whether a series' stored labels are a set of names a capture holds: a JSON object of
    at most MOST_LABELS strings, each name and value at most MOST_LABEL_CHARS together."""
    try:
        parsed = json.loads(labels) if isinstance(labels, str) else None
    except (ValueError, RecursionError):
        parsed = None
    return (
        isinstance(parsed, dict)
        and len(parsed) <= MOST_LABELS
        and all(isinstance(k, str) and isinstance(v, str) and len(k) + len(v)
                <= MOST_LABEL_CHARS for k, v in parsed.items())
    )  # fmt: skip


def unheld_series(conn: sqlite3.Connection) -> list[int]:
    """The series in ``main`` an open refuses one by one: names longer than MOST_SERIES_ROW
    bytes, or labels no set of names a capture holds. The poller stores labels of any
    length, so an export leaves these out (the rest of the site's data opens); an open
    refuses a capture holding one."""
    rows = conn.execute(  # a row too long is never read: its labels may be megabytes
        f"SELECT id, CASE WHEN {_SERIES_SIZE} > ? THEN NULL ELSE labels END "  # noqa: S608
        "FROM main.series",
        (MOST_SERIES_ROW,),
    )
    return [i for i, labels in rows if labels is None or not _labels_held(labels)]


def _check_series(conn: sqlite3.Connection, path: Path, first_ms: int, last_ms: int) -> None:
    _untyped(conn, path, "series")
    for series_id, labels in conn.execute("SELECT id, labels FROM main.series"):
        if not _labels_held(labels):
            raise _refuse(path, f"the labels of series {series_id} are not a set of names")
    _none(
        conn,
        path,
        "samples are not a time and a number",
        "SELECT count(*) FROM main.samples_head WHERE typeof(ts_ms) != 'integer' "
        "OR typeof(value) NOT IN ('real', 'integer', 'null')",
    )
    _none(
        conn,
        path,
        "samples lie outside the capture's span",
        "SELECT count(*) FROM main.samples_head WHERE ts_ms < ? OR ts_ms > ?",
        (first_ms, last_ms),
    )


def _aware(text: object) -> datetime | None:
    """The time with a zone ``text`` says (None: anything else)."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _check_times(conn: sqlite3.Connection, path: Path, first: datetime, last: datetime) -> None:
    """``first`` to ``last``: the capture's span, the clock skew allowed both sides (an export
    copies the health records checked within it, and the firings seen within it: one may
    have begun before it, and a past span's may be seen after it); then their columns, in
    SQL: text where this app writes text, a firing's severity one an alert has (the walk
    reads each as what it is: a time that is no text is no time)."""
    for cluster_id, checked_at, state, score, endpoints in conn.execute(
        "SELECT cluster_id, checked_at, state, health_score, endpoint_health "
        "FROM main.health_history"
    ):
        where = f"a health record ({str(checked_at)[:40]!r})"
        try:  # as the health history reads it (store.health): a report reads every record
            HealthRecord(
                cluster_id=UUID(str(cluster_id)[:64]), checked_at=checked_at,
                state=ClusterState(state), health_score=score,
                endpoint_health={EndpointKind(k): v for k, v in json.loads(endpoints).items()},
            )  # fmt: skip
        except (TypeError, ValueError, AttributeError, RecursionError):  # ValidationError too
            raise _refuse(path, f"{where} is not one it writes") from None
        when = _aware(checked_at)
        if when is None:
            raise _refuse(path, f"{where} is not one it writes")
        if not first <= when <= last:
            raise _refuse(path, f"{where} is dated outside the capture's span")
    for cluster, starts, seen, resolved in conn.execute(
        "SELECT cluster, starts_at, last_seen, resolved_at FROM main.alert_events"
    ):
        times = [_aware(starts), _aware(seen), _aware(resolved) if resolved is not None else None]
        began, last_seen, ended = times
        if began is None or last_seen is None or (resolved is not None and ended is None):
            raise _refuse(path, f"an alert firing of {str(cluster)[:64]!r} has a time without "
                          "a zone, or none")  # fmt: skip
        if (began > last or last_seen < first
                or not all(_FIRST <= t < _LAST for t in times if t is not None)):  # fmt: skip
            raise _refuse(path, f"an alert firing of {str(cluster)[:64]!r} is dated outside "
                          "the capture's span")  # fmt: skip
    _untyped(conn, path, "health_history")
    _untyped(conn, path, "alert_events")


def _times(value: Any) -> list[datetime]:
    """Every time in a record's fields (``model_dump``), its signals' and versions' too."""
    if isinstance(value, datetime):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [t for v in value for t in _times(v)]
    return []


def check_dated(path: Path, table: str, doc: BaseModel, since: datetime, until: datetime) -> None:
    """An anomaly or incident (its checked body) is dated as an export of the span from
    ``since`` to ``until`` writes it (a day's clock skew allowed): every time of it within
    FIRST_YEAR-LAST_YEAR; an anomaly's worst point by the span's end, and its episode going
    on in the span (its last point within it: it may have begun, and been at its worst, long
    before, as an export copies an episode going on); an incident opened by its end, and one
    resolved last changed within it (one still open may have opened, and last changed, long
    before; an incident's updated_at may be later: an export of a past span copies one still
    going)."""
    first, last = since - CLOCK_SKEW, until + CLOCK_SKEW
    if not all(_FIRST <= t < _LAST for t in _times(doc.model_dump())):
        raise _refuse(path, f"one of its {table} is dated outside {FIRST_YEAR}-{LAST_YEAR}")
    later: list[datetime] = []
    earlier: list[datetime] = []
    if isinstance(doc, Anomaly):
        later = [doc.timestamp, doc.started_at or doc.timestamp]
        earlier = [doc.last_at or doc.timestamp]
    elif isinstance(doc, Incident):
        later = [doc.opened_at]
        earlier = [doc.updated_at] if doc.state is IncidentStatus.RESOLVED else []
    if any(t > last for t in later):
        raise _refuse(path, f"one of its {table} is dated after the capture's end")
    if any(t < first for t in earlier):
        raise _refuse(path, f"one of its {table} is dated before the capture's start")
