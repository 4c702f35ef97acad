"""A capture's rows that passed the open and failed every page after it (found in review): a
series whose cluster or metric is a BLOB (SQLite keeps a blob as it is in a TEXT column) or
an alert firing whose name or summary is one made fleet, incidents, reports and the window
fail with "'<' not supported between instances of 'bytes' and 'str'"; and the alert firings
and health records were walked one by one however many the file held (a million firings took
6.8 s to open and 837 MB for a report), though the README says they are counted first."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aiops_desktop.services.outputs.capture import CaptureError, open_capture
from aiops_desktop.settings import resources_dir
from aiops_desktop.store import capture_rows
from aiops_desktop.store.capture import read_manifest, write_capture

SAMPLE = resources_dir() / "samples" / "sample.aiops"
SPAN = read_manifest(SAMPLE)
SINCE, UNTIL = datetime.fromisoformat(SPAN.since), datetime.fromisoformat(SPAN.until)
#: a firing of the sample's span, as the alert history stores it (``AlertEventRepository``)
FIRING = ("ran-east", "3f2a9c1e8b7d6054", (UNTIL - timedelta(minutes=50)).isoformat(),
          "GPUHighTemperature", "WARNING", "GPU 5 on gpu-0 at 84 C",
          (UNTIL - timedelta(minutes=5)).isoformat(), None)  # fmt: skip
INSERT_FIRING = "INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def crafted(tmp_path: Path, name: str, edit: Callable[[sqlite3.Connection], None]) -> Path:
    out = tmp_path / f"{name}.aiops"
    shutil.copy(SAMPLE, out)
    out.chmod(0o600)
    with contextlib.closing(sqlite3.connect(out)) as conn, conn:
        edit(conn)
    return out


def _firing(**changed: object) -> tuple[object, ...]:
    fields = ["cluster", "fingerprint", "starts_at", "name", "severity", "summary", "last_seen",
              "resolved_at"]  # fmt: skip
    return tuple(changed.get(f, v) for f, v in zip(fields, FIRING, strict=True))


@pytest.mark.asyncio
async def test_the_sample_with_a_firing_as_the_app_stores_it_opens(tmp_path: Path) -> None:
    """What the checks below refuse is the column's type, not a firing as such; a severity
    spelt as an Alertmanager label may be (``warning``) reads as the app's own."""
    lower = _firing(fingerprint="77e1d0c2a4b39f18", severity="warning")
    capture = crafted(tmp_path, "firing", lambda c: c.executemany(INSERT_FIRING, [FIRING, lower]))
    opened = await asyncio.to_thread(open_capture, capture)
    try:
        events = opened.alert_events.between(["ran-east"], SINCE, UNTIL)
        assert [(e.name, e.severity) for e in events] == [("GPUHighTemperature", "WARNING")] * 2
    finally:
        await opened.shutdown()


@pytest.mark.parametrize("column", ["cluster", "metric"])
def test_a_series_whose_name_is_a_blob_is_refused(tmp_path: Path, column: str) -> None:
    """The fleet's member list sorted the series' clusters, bytes among strings: a TypeError
    in fleet, incidents, reports and the window."""
    capture = crafted(
        tmp_path, column,
        lambda c: c.execute(f"UPDATE series SET {column} = CAST({column} AS BLOB) "  # noqa: S608
                            "WHERE id = (SELECT min(id) FROM series)"),
    )  # fmt: skip
    with pytest.raises(CaptureError, match=r"its series table holds 1 series whose cluster, "
                       r"metric or labels are not text; not opened"):  # fmt: skip
        open_capture(capture)


@pytest.mark.parametrize(
    "changed",
    [{"name": b"GPUHighTemperature"}, {"summary": b"GPU 5 on gpu-0 at 84 C"},
     {"severity": b"WARNING"}, {"cluster": b"ran-east"}, {"fingerprint": b"3f2a9c1e8b7d6054"}],
    ids=["name", "summary", "severity", "cluster", "fingerprint"],
)  # fmt: skip
def test_an_alert_firing_whose_text_is_a_blob_is_refused(
    tmp_path: Path, changed: dict[str, object]
) -> None:
    """A firing's name or summary as bytes failed the handover's text (models/text.py)."""
    capture = crafted(tmp_path, "blob", lambda c: c.execute(INSERT_FIRING, _firing(**changed)))
    with pytest.raises(CaptureError, match=r"its alert_events table holds 1 alert firings whose "
                       r"cluster, fingerprint, name, severity or summary is not text"):  # fmt: skip
        open_capture(capture)


def test_an_alert_firing_of_a_severity_no_alert_has_is_refused(tmp_path: Path) -> None:
    """The history stores an Alertmanager severity as the app reads it (CRITICAL, WARNING,
    INFO): 'BOGUS' with a terminal escape is no firing it wrote."""
    bogus = _firing(severity="BOGUS\x1b[31m")
    capture = crafted(tmp_path, "severity", lambda c: c.execute(INSERT_FIRING, bogus))
    with pytest.raises(CaptureError, match=r"its alert_events table holds 1 alert firings of a "
                       r"severity other than CRITICAL, WARNING or INFO"):  # fmt: skip
        open_capture(capture)


def test_a_health_record_whose_text_is_a_blob_is_refused(tmp_path: Path) -> None:
    capture = crafted(
        tmp_path, "health",
        lambda c: c.execute("UPDATE health_history SET error = CAST('timeout' AS BLOB)"),
    )  # fmt: skip
    with pytest.raises(CaptureError, match=r"its health_history table holds 1 health records "
                       r"that are not the text and numbers"):  # fmt: skip
        open_capture(capture)


def _firings(count: int) -> Callable[[sqlite3.Connection], None]:
    def edit(conn: sqlite3.Connection) -> None:
        conn.executemany(INSERT_FIRING, (_firing(fingerprint=f"{i:016x}") for i in range(count)))

    return edit


def _health(count: int) -> Callable[[sqlite3.Connection], None]:
    def edit(conn: sqlite3.Connection) -> None:
        (cluster_id,) = conn.execute("SELECT id FROM clusters").fetchone()
        start = SINCE.timestamp()
        conn.executemany(
            "INSERT OR IGNORE INTO health_history VALUES (?, ?, 'ONLINE', 100, "
            "'{\"PROMETHEUS\": true}', NULL)",
            ((cluster_id, datetime.fromtimestamp(start + i * 0.01, SINCE.tzinfo).isoformat())
             for i in range(count)),
        )  # fmt: skip

    return edit


@pytest.mark.parametrize(
    ("what", "most", "edit"),
    [("alert firings", capture_rows.MOST_ALERT_FIRINGS, _firings),
     ("health records", capture_rows.MOST_HEALTH_RECORDS, _health)],
)  # fmt: skip
def test_firings_and_health_records_are_counted_before_any_is_read(
    tmp_path: Path, what: str, most: int, edit: Callable[[int], Callable[..., None]]
) -> None:
    """A million firings took 6.8 s to open, each parsed: more than a capture holds is refused
    by a count, in a moment."""
    capture = crafted(tmp_path, "many", edit(most + 1))
    table = "alert_events" if what == "alert firings" else "health_history"
    with contextlib.closing(sqlite3.connect(capture)) as conn:
        (held,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    assert held > most
    started = time.perf_counter()
    with pytest.raises(CaptureError, match=rf"it holds {held:,} {what}, more than "
                       rf"{most:,}"):  # fmt: skip
        open_capture(capture)
    assert time.perf_counter() - started < 2.5


def test_an_export_holding_more_than_an_open_reads_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export checks what the open will count (as it does the series): a site whose
    history holds more is told so, not handed a file no one can open."""
    source = tmp_path / "cache.db"
    shutil.copy(SAMPLE, source)
    with contextlib.closing(sqlite3.connect(source)) as conn, conn:
        _firings(3)(conn)
    monkeypatch.setattr(capture_rows, "MOST_ALERT_FIRINGS", 2)
    out = tmp_path / "x.aiops"
    with pytest.raises(CaptureError, match=r"not written: it would be refused when opened \(it "
                       r"holds 3 alert firings, more than 2"):  # fmt: skip
        write_capture(source, out, clusters=SPAN.clusters, since=SINCE, until=UNTIL,
                      app_version="test", members=SPAN.members)  # fmt: skip
    assert not out.exists()
    monkeypatch.setattr(capture_rows, "MOST_ALERT_FIRINGS", 3)
    manifest = write_capture(source, out, clusters=SPAN.clusters, since=SINCE, until=UNTIL,
                             app_version="test", members=SPAN.members)  # fmt: skip
    assert manifest.counts["alert_events"] == 3
