"""What opening a capture lets through is what the app's own pages can read, and nothing the
capture's span does not hold (found in review; each crafted from the bundled sample): a health
score of 500 opened and then failed every report; a rollup chunk of one column failed every
read of its series' history; an anomaly's columns were believed over its checked body (a
severity 'BOGUS' failed the executive report, another cluster filed it there); a chunk from
the evening before the span was charted and trended; anomalies dated 0001-01-01 made an
incident whose report could not be written; and 400,000 series of one sample took 31 s and
943 MiB to open."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.outputs.capture import CaptureError, open_capture
from aiops_desktop.settings import resources_dir
from aiops_desktop.store import capture_rows, codec
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.capture import CLOCK_SKEW, read_manifest
from aiops_desktop.store.database import Database

SAMPLE = resources_dir() / "samples" / "sample.aiops"
SPAN = read_manifest(SAMPLE)
SINCE, UNTIL = datetime.fromisoformat(SPAN.since), datetime.fromisoformat(SPAN.until)
SINCE_MS = int(SINCE.timestamp() * 1000)
INSERT_CHUNK = ("INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, data) "
                "VALUES (?, ?, ?, ?, ?, ?)")  # fmt: skip


def craft(tmp_path: Path, name: str, edit: Callable[[sqlite3.Connection], object]) -> Path:
    out = tmp_path / f"{name}.aiops"
    shutil.copy(SAMPLE, out)
    with contextlib.closing(sqlite3.connect(out)) as conn, conn:
        edit(conn)
    return out


def refused(capture: Path, said: str) -> None:
    with pytest.raises(CaptureError, match=said):
        open_capture(capture)


def sql(statement: str, *args: object) -> Callable[[sqlite3.Connection], object]:
    return lambda conn: conn.execute(statement, args)


def east_cpu(conn: sqlite3.Connection) -> int:
    (sid,) = conn.execute("SELECT id FROM series WHERE metric = 'node_cpu' AND cluster = "
                          "'ran-east' LIMIT 1").fetchone()  # fmt: skip
    return int(sid)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


@pytest.mark.asyncio
async def test_the_sample_opens_with_every_check() -> None:
    opened = open_capture(SAMPLE)
    await opened.shutdown()


def test_a_health_record_a_report_cannot_read_is_refused(tmp_path: Path) -> None:
    """HealthRecord's own bounds: a score of 0-100 (500 opened, then every report failed
    with a ValidationError traceback), endpoint states that are yes or no."""
    for name, edit in {
        "high": sql("UPDATE health_history SET health_score = 500"),
        "low": sql("UPDATE health_history SET health_score = -1"),
        "endpoint": sql("UPDATE health_history SET endpoint_health = '{\"PROMETHEUS\": [1]}'"),
    }.items():
        refused(craft(tmp_path, name, edit), "a health record .* is not one it writes")


def test_a_rollup_of_other_columns_than_four_is_refused(tmp_path: Path) -> None:
    """A rollup holds four columns (avg, min, max, count), as a store read takes them: a raw
    chunk (one column) copied as a rollup failed every read of its series' history with an
    IndexError."""

    def raw_as_rollup(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, data) "
                     "SELECT series_id, 300, start_ms, end_ms, count, data FROM chunks WHERE "
                     "series_id = ? LIMIT 1", (east_cpu(conn),))  # fmt: skip

    def three_columns(conn: sqlite3.Connection) -> None:
        sid = east_cpu(conn)
        ts = SINCE_MS + np.arange(3, dtype=np.int64) * 300_000
        conn.execute(INSERT_CHUNK, (sid, 300, int(ts[0]), int(ts[-1]), 3,
                                    codec.encode(ts, [np.ones(3)] * 3)))  # fmt: skip

    refused(craft(tmp_path, "rollup", raw_as_rollup), "holds 1 columns where a 300 s rollup")
    refused(craft(tmp_path, "three", three_columns), "holds 3 columns where a 300 s rollup")


def _columns(db: Database) -> tuple[list[tuple[object, ...]], list[Anomaly]]:
    rows = db.fetch_all("SELECT identity, cluster, metric, severity, type, at, score, body "
                        "FROM anomalies ORDER BY identity")  # fmt: skip
    return [tuple(r)[:7] for r in rows], [Anomaly.model_validate_json(r[7]) for r in rows]


@pytest.mark.asyncio
async def test_an_anomalys_columns_are_those_of_its_checked_body(tmp_path: Path) -> None:
    """The columns the lists and counts select by are rewritten from the body that was checked:
    a crafted severity, cluster, time, score or identity never reaches a page."""
    crafted = craft(tmp_path, "columns", sql(
        "UPDATE anomalies SET severity = 'BOGUS', cluster = 'ai-lab', metric = 'x', type = 'y', "
        "at = at - 86400, score = 1e9, identity = 'forged|' || identity"))  # fmt: skip
    opened = open_capture(crafted)
    try:
        columns, bodies = _columns(opened.db)
        assert len(bodies) == 5
        assert columns == sorted(
            (a.identity, a.cluster, a.metric, a.severity.value, a.type.value,
             a.timestamp.timestamp(), a.score) for a in bodies
        )  # fmt: skip
        repo = AnomalyRepository(opened.db)
        assert repo.list(AnomalyFilter(clusters=("ai-lab",))) == []
        every = AnomalyFilter(clusters=tuple(sorted({a.cluster for a in bodies})))
        counted = repo.count_by_severity(every)  # the executive report's: 'BOGUS' failed it
        assert sum(counted.values()) == 5 and AnomalySeverity.CRITICAL in counted
        assert counted == {s: sum(a.severity is s for a in bodies) for s in counted}
    finally:
        await opened.shutdown()
    # two rows of one anomaly (their bodies' identity) cannot both be kept: said, not a
    # "damaged" database error
    twice = craft(tmp_path, "twice", sql(
        "INSERT INTO anomalies SELECT 'other', cluster, metric, severity, type, at, score, body "
        "FROM anomalies LIMIT 1"))  # fmt: skip
    refused(twice, "two of its anomalies are the same")


def test_a_chunk_from_before_the_span_is_refused(tmp_path: Path) -> None:
    """An export cuts its chunks to its span (``_cut_to_span``): one that starts before it
    (node_cpu = 999 the evening before, 30 min into the span) was charted and trended in a
    report that said the capture began at its start."""

    def evening_before(conn: sqlite3.Connection) -> None:
        ts = np.arange(SINCE_MS - 11 * 3_600_000, SINCE_MS + 1_800_001, 60_000, dtype=np.int64)
        vals = np.where(ts < SINCE_MS, 999.0, 40.0)
        conn.execute(INSERT_CHUNK, (east_cpu(conn), 0, int(ts[0]), int(ts[-1]), int(ts.size),
                                    codec.encode(ts, [vals])))  # fmt: skip

    def a_rollup_before(conn: sqlite3.Connection) -> None:
        ts = SINCE_MS - 300_000 + np.arange(3, dtype=np.int64) * 300_000
        blob = codec.encode(ts, [np.ones(3)] * 3 + [np.full(3, 5.0)])
        conn.execute(INSERT_CHUNK, (east_cpu(conn), 300, int(ts[0]), int(ts[-1]), 3, blob))

    def a_second_before(conn: sqlite3.Connection) -> None:
        ts = SINCE_MS - 1000 + np.arange(2, dtype=np.int64) * 1000
        conn.execute(INSERT_CHUNK, (east_cpu(conn), 0, int(ts[0]), int(ts[-1]), 2,
                                    codec.encode(ts, [np.ones(2)])))  # fmt: skip

    for name, edit in (("evening", evening_before), ("rollup", a_rollup_before),
                       ("second", a_second_before)):  # fmt: skip
        refused(craft(tmp_path, name, edit), "chunks lie outside the capture's span")


def _anomaly_times(**times: str) -> Callable[[sqlite3.Connection], None]:
    def edit(conn: sqlite3.Connection) -> None:
        for ident, body in conn.execute("SELECT identity, body FROM anomalies").fetchall():
            doc = json.loads(body) | times
            conn.execute("UPDATE anomalies SET body = ? WHERE identity = ?",
                         (json.dumps(doc), ident))  # fmt: skip

    return edit


def _incident(opened: datetime, *, seen: datetime | None = None,
              state: str = "OPEN") -> Callable[[sqlite3.Connection], object]:  # fmt: skip
    """An incident of ran-east opened at ``opened``, its signal seen last at ``seen``."""
    last = seen or UNTIL - timedelta(minutes=5)
    signal = IncidentSignal(key="alert|ran-east|x", source="alert", cluster="ran-east",
                            subject="x", severity=FindingSeverity.WARNING, reason="x",
                            first_seen=opened, last_seen=last)  # fmt: skip
    incident = Incident(id="INC-1", title="x", severity=FindingSeverity.WARNING, opened_at=opened,
                        updated_at=last, signals=[signal])  # fmt: skip
    body = json.loads(incident.model_dump_json()) | {"state": state}
    if state == "RESOLVED":
        body["resolved_at"] = body["updated_at"]
    return sql("INSERT INTO incidents VALUES ('INC-1', ?, 'WARNING', ?, ?, ?)", state,
               opened.timestamp(), last.timestamp(), json.dumps(body))  # fmt: skip


def _alert(starts: datetime, seen: datetime,
           resolved: datetime | None = None) -> Callable[[sqlite3.Connection], object]:  # fmt: skip
    return sql("INSERT INTO alert_events VALUES ('ran-east', 'f', ?, 'A', 'warning', 's', ?, ?)",
               iso(starts), iso(seen), iso(resolved) if resolved else None)  # fmt: skip


@pytest.mark.asyncio
async def test_records_dated_before_the_span_or_before_2000_are_refused(tmp_path: Path) -> None:
    """Anomalies dated 0001-01-01 were grouped into an incident of 1970 whose report could not
    be written; health records and firings were not bounded at all. What an export writes
    still opens: an incident opened before the span and still open in it, a firing that began
    before it, an anomaly whose episode began before it."""
    long_ago = SINCE - timedelta(days=3)
    zero = "0001-01-01T00:00:00Z"
    bad = {
        "zero": (_anomaly_times(timestamp=zero, started_at=zero), "outside 2000-2100"),
        # ended before the span (an episode going on in it may have peaked before it)
        "early": (_anomaly_times(timestamp=iso(long_ago), started_at=iso(long_ago),
                                 last_at=iso(long_ago)),
                  "anomalies is dated before the capture's start"),
        "began": (_anomaly_times(started_at="1999-12-31T23:00:00Z"), "outside 2000-2100"),
        "last": (_anomaly_times(last_at=zero), "outside 2000-2100"),
        "incident": (_incident(datetime(1, 1, 1, tzinfo=UTC)), "incidents is dated outside"),
        "seen": (_incident(long_ago, seen=datetime(1999, 1, 1, tzinfo=UTC)),
                 "incidents is dated outside"),
        "resolved": (_incident(long_ago, seen=long_ago, state="RESOLVED"),
                     "incidents is dated before the capture's start"),
        "health": (sql("UPDATE health_history SET checked_at = ?", zero),
                   "a health record .* is dated outside the capture's span"),
        "health-late": (sql("UPDATE health_history SET checked_at = ?",
                            iso(UNTIL + CLOCK_SKEW + timedelta(hours=1))),
                        "a health record .* is dated outside the capture's span"),
        "firing": (_alert(datetime(1, 1, 1, tzinfo=UTC), SINCE), "an alert firing .* is dated"),
        "firing-seen": (_alert(long_ago, long_ago), "an alert firing .* is dated"),
        "firing-ended": (_alert(long_ago, SINCE, datetime(1, 1, 1, tzinfo=UTC)),
                         "an alert firing .* is dated"),
    }  # fmt: skip
    for name, (edit, said) in bad.items():
        refused(craft(tmp_path, name, edit), said)

    def as_exported(conn: sqlite3.Connection) -> None:
        _incident(long_ago)(conn)  # opened days before, still open in the span
        _alert(long_ago, SINCE + timedelta(minutes=5))(conn)  # firing since before the span
        _anomaly_times(started_at=iso(SINCE - timedelta(hours=2)))(conn)

    opened = open_capture(craft(tmp_path, "exported", as_exported))
    try:
        (incident,) = opened.incidents.repo.list()
        assert incident.opened_at == long_ago
    finally:
        await opened.shutdown()


def _series(count: int, labels: Callable[[int], str]) -> Callable[[sqlite3.Connection], None]:
    def edit(conn: sqlite3.Connection) -> None:
        (first,) = conn.execute("SELECT max(id) + 1 FROM series").fetchone()
        conn.executemany("INSERT INTO series (id, cluster, metric, labels) VALUES "
                         "(?, 'ran-east', 'node_cpu', ?)",
                         ((first + i, labels(i)) for i in range(count)))  # fmt: skip

    return edit


def test_the_series_a_capture_holds_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """400,000 series of one sample (58 MiB of file) took 31 s and +943 MiB to open: more
    series than MOST_SERIES, a series whose names are longer than one holds, or more label
    text in all than a capture holds are refused before any series is read."""
    most = capture_rows.MOST_SERIES
    with contextlib.closing(sqlite3.connect(f"file:{SAMPLE}?mode=ro", uri=True)) as conn:
        (held,) = conn.execute("SELECT count(*) FROM series").fetchone()
    many = craft(
        tmp_path, "many", _series(most + 1 - held, lambda i: json.dumps({"instance": f"n{i}"}))
    )
    refused(many, f"more than {most:,} series")
    # 64 labels of 4,000 characters each: each within MOST_LABEL_CHARS, 256 KB in all
    wide = {f"l{n:02}": "v" * 4000 for n in range(64)}
    refused(
        craft(tmp_path, "wide", _series(1, lambda i: json.dumps(wide))),
        "a series whose names are longer than",
    )
    monkeypatch.setattr(capture_rows, "MOST_SERIES_TEXT", 50_000)  # the sample holds 14 KB
    refused(
        craft(tmp_path, "text", _series(100, lambda i: json.dumps({"v": "x" * 400 + str(i)}))),
        "more series text than",
    )
