"""A capture's rows checked once, as it is opened, before anything reads them: what the store
would trip over later (a traceback in every page), or believe to its cost (a chunk header
that says 20 million samples), is refused with what is wrong (``CaptureError``).

- chunks: a header this app writes (its version, at most ``codec.MAX_SAMPLES`` samples of at
  most ``codec.MAX_COLUMNS`` columns, the row's own count), a time span that holds its
  samples at least ``MIN_SPACING_MS`` apart, no two chunks of a series over the same time,
  and no chunk of a series the capture does not hold: so a read of a window decodes at most
  what that window can hold; none outside the capture's span (one ending before its start,
  or starting after its end and the clock skew allowed: 2,000 chunks of zeros dated 2089,
  154 bytes each, were 1.3 GB decoded as it opened), at most ``MOST_VALUES`` values in all,
  and each decoded (a damaged body is refused here, not a codec error in a page later),
  its samples those its row says;
- series: labels a JSON object of short strings; samples: an integer time and a number,
  within the capture's span;
- health records: zoned times, states and endpoints this app knows; alert firings: zoned times;
- anomalies and incidents: none after the capture's end (one dated 2030 in a capture of
  2026 opened an incident that would never resolve).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np

from aiops_desktop.models import ClusterState
from aiops_desktop.models.enums import EndpointKind
from aiops_desktop.store import codec
from aiops_desktop.store.capture import CLOCK_SKEW, CaptureError

#: the closest two samples of a series may be (the fastest poll is seconds apart)
MIN_SPACING_MS = 100
MOST_LABELS = 64
MOST_LABEL_CHARS = 4096
#: the values (samples x columns) a capture's chunks and head may hold in all: 256 MiB of
#: numbers decoded (a day of 15 s samples of 5,800 series); a crafted file declaring more is
#: refused before any of it is decoded
MOST_VALUES = 2**25


def check_rows(conn: sqlite3.Connection, path: Path, since: datetime, until: datetime) -> None:
    """Check the rows copied into ``main`` from the capture at ``path``, of the span from
    ``since`` to ``until`` (its manifest's; see the module)."""
    _check_chunks(conn, path, _ms(since), _ms(until + CLOCK_SKEW))
    _check_series(conn, path, _ms(since), _ms(until + CLOCK_SKEW))
    _check_times(conn, path)


def _refuse(path: Path, what: str) -> CaptureError:
    return CaptureError(f"{path}: {what}; not opened")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _check_chunks(conn: sqlite3.Connection, path: Path, first_ms: int, last_ms: int) -> None:
    """``first_ms`` to ``last_ms``: the capture's span (its end with the clock skew allowed);
    an export copies each chunk that reaches into it, so one may start before it (by its own
    span) and, for a past span, hold samples after its end."""
    # what the rows say, in SQL, before a chunk is decoded: a crafted file of many small
    # chunks outside the span, or over the same time, costs nothing to refuse
    _none(
        conn,
        path,
        "chunks lie outside the capture's span",
        "SELECT count(*) FROM main.chunks WHERE end_ms < ? OR start_ms > ?",
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
        if resolution < 0 or end < start or count > (end - start) // MIN_SPACING_MS + 1:
            raise _refuse(path, f"{where} holds {count} samples in {end - start} ms")
        values += count * ncols
        if values > MOST_VALUES:
            raise _refuse(path, f"its chunks say more than {MOST_VALUES:,} values, more than "
                          "a capture holds")  # fmt: skip
    # then each decoded once (at most MOST_VALUES in all, one at a time): a body that does
    # not decode, or holds other times than its row says, is refused now, not in a page later
    for series_id, start, end, blob in conn.execute(
        "SELECT series_id, start_ms, end_ms, data FROM main.chunks"
    ):
        try:
            ts, _columns = codec.decode(blob)
        except codec.ChunkFormatError as exc:
            raise _refuse(path, f"a chunk of series {series_id} cannot be read ({exc})") from None
        if int(ts[0]) != start or int(ts[-1]) != end or bool((np.diff(ts) < 0).any()):
            raise _refuse(path, f"a chunk of series {series_id} holds other times than its "
                          "row says")  # fmt: skip


def _none(
    conn: sqlite3.Connection, path: Path, what: str, count_sql: str, args: tuple[int, ...] = ()
) -> None:
    """Refused where ``count_sql`` counts any row: "<count> <what>"."""
    (found,) = conn.execute(count_sql, args).fetchone()
    if found:
        raise _refuse(path, f"{found} {what}")


def _check_series(conn: sqlite3.Connection, path: Path, first_ms: int, last_ms: int) -> None:
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
    _none(
        conn,
        path,
        "samples lie outside the capture's span",
        "SELECT count(*) FROM main.samples_head WHERE ts_ms < ? OR ts_ms > ?",
        (first_ms, last_ms),
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
