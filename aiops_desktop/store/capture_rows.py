"""A capture's rows checked once, as it is opened, before anything reads them: what the store
would trip over later (a traceback in every page), or believe to its cost (a chunk header
that says 20 million samples), is refused with what is wrong (``CaptureError``).

- chunks: a header this app writes (its version, at most ``codec.MAX_SAMPLES`` samples of at
  most ``codec.MAX_COLUMNS`` columns, the row's own count), a time span that holds its
  samples at least ``MIN_SPACING_MS`` apart, no two chunks of a series over the same time,
  and no chunk of a series the capture does not hold: so a read of a window decodes at most
  what that window can hold;
- series: labels a JSON object of short strings; samples: an integer time and a number;
- health records: zoned times, states and endpoints this app knows; alert firings: zoned times;
- anomalies and incidents: none after the capture's end (one dated 2030 in a capture of
  2026 opened an incident that would never resolve).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from aiops_desktop.models import ClusterState
from aiops_desktop.models.enums import EndpointKind
from aiops_desktop.store import codec
from aiops_desktop.store.capture import CLOCK_SKEW, CaptureError

#: the closest two samples of a series may be (the fastest poll is seconds apart)
MIN_SPACING_MS = 100
MOST_LABELS = 64
MOST_LABEL_CHARS = 4096


def check_rows(conn: sqlite3.Connection, path: Path) -> None:
    """Check the rows copied into ``main`` from the capture at ``path`` (see the module)."""
    _check_chunks(conn, path)
    _check_series(conn, path)
    _check_times(conn, path)


def _refuse(path: Path, what: str) -> CaptureError:
    return CaptureError(f"{path}: {what}; not opened")


def _check_chunks(conn: sqlite3.Connection, path: Path) -> None:
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
            said, _ncols, _first = codec.read_header(head)
        except codec.ChunkFormatError as exc:
            raise _refuse(path, f"{where}: {exc}") from None
        if said != count:
            raise _refuse(path, f"{where} says {said} samples where its row says {count}")
        if resolution < 0 or end < start or count > (end - start) // MIN_SPACING_MS + 1:
            raise _refuse(path, f"{where} holds {count} samples in {end - start} ms")
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


def _none(conn: sqlite3.Connection, path: Path, what: str, count_sql: str) -> None:
    """Refused where ``count_sql`` counts any row: "<count> <what>"."""
    (found,) = conn.execute(count_sql).fetchone()
    if found:
        raise _refuse(path, f"{found} {what}")


def _check_series(conn: sqlite3.Connection, path: Path) -> None:
    for series_id, labels in conn.execute("SELECT id, labels FROM main.series"):
        try:
            parsed = json.loads(labels) if isinstance(labels, str) else None
        except (ValueError, RecursionError):
            parsed = None
        if not (
            isinstance(parsed, dict)
            and len(parsed) <= MOST_LABELS
            and all(isinstance(k, str) and isinstance(v, str) and len(k) + len(v)
                    <= MOST_LABEL_CHARS for k, v in parsed.items())
        ):  # fmt: skip
            raise _refuse(path, f"the labels of series {series_id} are not a set of names")
    _none(
        conn,
        path,
        "samples are not a time and a number",
        "SELECT count(*) FROM main.samples_head WHERE typeof(ts_ms) != 'integer' "
        "OR typeof(value) NOT IN ('real', 'integer', 'null')",
    )


def _aware(text: object) -> bool:
    if not isinstance(text, str) or len(text) > 64:
        return False
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _check_times(conn: sqlite3.Connection, path: Path) -> None:
    states = {s.value for s in ClusterState}
    kinds = {k.value for k in EndpointKind}
    for checked_at, state, score, endpoints in conn.execute(
        "SELECT checked_at, state, health_score, endpoint_health FROM main.health_history"
    ):
        try:
            health = json.loads(endpoints)
        except (TypeError, ValueError, RecursionError):
            health = None
        if not (
            _aware(checked_at) and state in states and isinstance(score, int)
            and isinstance(health, dict) and set(health) <= kinds
        ):  # fmt: skip
            raise _refuse(path, f"a health record ({str(checked_at)[:40]!r}) is not one it writes")
    for cluster, starts, seen, resolved in conn.execute(
        "SELECT cluster, starts_at, last_seen, resolved_at FROM main.alert_events"
    ):
        if not (_aware(starts) and _aware(seen) and (resolved is None or _aware(resolved))):
            raise _refuse(path, f"an alert firing of {str(cluster)[:64]!r} has a time without "
                          "a zone, or none")  # fmt: skip


def check_not_after(conn: sqlite3.Connection, path: Path, until: datetime) -> None:
    """No anomaly or incident (their checked bodies) is dated after ``until``, the capture's
    end (a day's clock skew allowed)."""
    last = until + CLOCK_SKEW
    # (an incident's updated_at may be later: an export of a past span copies one still going)
    for table, fields in (("anomalies", ("timestamp", "started_at")),
                          ("incidents", ("opened_at",))):  # fmt: skip
        # the table name is this module's own
        for (body,) in conn.execute(f"SELECT body FROM main.{table}"):  # noqa: S608
            doc = json.loads(body)
            for name in fields:
                when = doc.get(name)
                if _aware(when) and datetime.fromisoformat(when) > last:
                    raise _refuse(path, f"one of its {table} is dated after the capture's end")
