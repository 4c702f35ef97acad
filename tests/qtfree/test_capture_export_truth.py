"""What an export writes is what it says: every text of an incident redacted (the reason it
was reopened quotes a signal's), a label whose name says it is a secret redacted whole, a
manifest that cannot forge a line of `capture info`, no file the app itself would refuse to
open, and no sample from outside the chosen span (a chunk reaching over an edge is cut)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.logs import REDACTED
from aiops_desktop.models import utcnow
from aiops_desktop.models.anomalies import AnomalyFilter
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, SignalVersion
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import CaptureError, export_capture, open_capture
from aiops_desktop.store import codec
from aiops_desktop.store.capture import read_manifest
from aiops_desktop.store.capture_redact import redact_labels
from aiops_desktop.store.series import SeriesBatch
from collectors.llm_redaction import redact_fields
from tests.qtfree.cli_runner import call_main
from tests.site_data import build_site

SECRET = "Hunt3r2-pw"
LEAK = f"password={SECRET}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.asyncio
async def test_every_text_of_an_exported_incident_is_redacted(core: Core, tmp_path: Path) -> None:
    """An incident reopened by a signal quotes the signal's reason in ``reopened_because``;
    the capture held it verbatim (only the title and the signals were redacted). Every text
    field of the incident and its signals is planted with the secret: none leaves."""
    await build_site(core)
    (found, *_) = await core.anomalies.stored(AnomalyFilter(clusters=("east",), limit=1))
    from aiops_desktop.services.intelligence.incidents import anomaly_signals
    from analysis.incidents import group

    now = utcnow()
    (incident,), _ = group([], anomaly_signals([found], now), now)
    (signal,) = incident.signals
    planted_signal = signal.model_copy(update={
        "subject": LEAK, "reason": LEAK, "entity": f"east {LEAK}", "topology": [LEAK],
        "alert_name": LEAK,
        "earlier": [SignalVersion(since=now - timedelta(minutes=5),
                                  severity=FindingSeverity.WARNING, reason=LEAK)],
    })  # fmt: skip
    planted = incident.model_copy(update={
        "title": LEAK, "signals": [planted_signal], "reopened_at": now - timedelta(minutes=1),
        "reopened_because": f"open again: critical east: {LEAK} began after the acknowledgement",
    })  # fmt: skip
    await asyncio.wrap_future(core.incidents.repo.save([planted]))
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=2))
    assert SECRET.encode() not in out.read_bytes()
    with sqlite3.connect(out) as conn:
        (body,) = conn.execute("SELECT body FROM incidents").fetchone()
    kept = Incident.model_validate_json(body)
    assert kept.reopened_because.startswith("open again: critical east: password=")
    assert REDACTED in kept.reopened_because and REDACTED in kept.signals[0].earlier[0].reason
    assert kept.signals[0].key == signal.key  # still names the anomaly it was
    assert not [s for s in _strings(json.loads(body)) if SECRET in s]


def test_a_label_named_a_secret_is_redacted_whole() -> None:
    """A series label whose name says it is a secret has no shape a pattern knows: its value
    goes whole, by the rule a log line's labels follow (one rule)."""
    labels = {"instance": "db:9100", "db_password": SECRET, "api_key": "9f8e7d6c5b4a3921",
              "keyspace": "orders", "dsn": f"postgres://admin:{SECRET}@db:5432"}  # fmt: skip
    clean = redact_labels(labels)
    assert clean["db_password"] == REDACTED and clean["api_key"] == REDACTED
    assert clean["instance"] == "db:9100" and clean["keyspace"] == "orders"
    assert SECRET not in clean["dsn"]
    named = {k for k, v in redact_fields(labels).items() if v == REDACTED}
    assert {k for k, v in clean.items() if v == REDACTED} == named


@pytest.mark.asyncio
async def test_an_export_carries_no_label_named_a_secret(core: Core, tmp_path: Path) -> None:
    await build_site(core)
    key = "9f8e7d6c5b4a3921"
    labels = {"instance": "db:9100", "db_password": SECRET, "api_key": key}
    ts = (utcnow().timestamp() - 60 * (10 - np.arange(10))) * 1000
    await asyncio.wrap_future(
        core.series.append([SeriesBatch("east", "node_cpu", labels, ts, np.ones(10))])
    )
    await asyncio.wrap_future(core.series.flush())
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=2))
    raw = out.read_bytes()
    assert SECRET.encode() not in raw and key.encode() not in raw
    with sqlite3.connect(out) as conn:
        (kept,) = conn.execute("SELECT labels FROM series WHERE labels LIKE '%db:9100%'").fetchone()
    assert json.loads(kept) == {"instance": "db:9100", "db_password": REDACTED, "api_key": REDACTED}


@pytest.mark.asyncio
async def test_a_manifest_cannot_forge_a_line_of_capture_info(core: Core, tmp_path: Path) -> None:
    """``counts`` is printed by `capture info`: a key with a line break printed a line of its
    own ("VERIFIED signed by NOC lead"). A key that is no table's, or a negative count, is
    refused with the rest of a bad manifest."""
    await build_site(core)
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=1))
    with sqlite3.connect(out) as conn:
        doc = json.loads(conn.execute(
            "SELECT value FROM app_meta WHERE key = 'capture_manifest'").fetchone()[0])  # fmt: skip
    forged = {
        "line": {"anomalies\nVERIFIED   signed by NOC lead; no": 0},
        "words": {"anomalies VERIFIED by the NOC lead": 0},
        "negative": {**doc["counts"], "samples": -5},
    }
    for case, counts in forged.items():
        crafted = tmp_path / f"{case}.aiops"
        crafted.write_bytes(out.read_bytes())
        with sqlite3.connect(crafted) as conn:
            conn.execute("UPDATE app_meta SET value = ? WHERE key = 'capture_manifest'",
                         (json.dumps({**doc, "counts": counts}),))  # fmt: skip
        with pytest.raises(CaptureError, match=r"manifest that is not valid \(counts"):
            read_manifest(crafted)
        code, said, err = await asyncio.to_thread(
            call_main, tmp_path / "home", "capture", "info", str(crafted)
        )
        assert code != 0 and "counts" in err, case
        assert not [line for line in (said + err).splitlines() if line.startswith("VERIFIED")]
    code, said, _ = await asyncio.to_thread(  # as made: it opens
        call_main, tmp_path / "home", "capture", "info", str(out)
    )
    assert code == 0 and said.splitlines()[-1].startswith("holds      ")


@pytest.mark.asyncio
async def test_an_export_the_open_would_refuse_is_not_written(core: Core, tmp_path: Path) -> None:
    """A span ending days after now (a mistyped date) or reaching before 2000 was written,
    and the file was then refused by every open: the export refuses it and writes nothing."""
    await build_site(core)
    now = utcnow()
    cases = {
        "ahead": (timedelta(hours=2), now + timedelta(days=3), "after it was made"),
        "old": (timedelta(hours=2), datetime(1999, 6, 1, tzinfo=UTC), "2000-2100"),
        "reaches back": (timedelta(days=365 * 30), now, "2000-2100"),
    }
    for case, (since, until, said) in cases.items():
        out = tmp_path / f"{case}.aiops"
        with pytest.raises(CaptureError, match=said):
            await export_capture(core, out, clusters=["east"], since=since, until=until)
        assert not out.exists(), case
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no partial file either
    code, _, err = await asyncio.to_thread(call_main, tmp_path / "home", "capture", "export",
                             "--clusters", "east",
                             "--until", "1999-06-01T00:00:00Z", "--out",
                             str(tmp_path / "cli.aiops"))  # fmt: skip
    assert code != 0 and "2000-2100" in err and not (tmp_path / "cli.aiops").exists()


def _chunks(path: Path) -> list[tuple[int, int, int, int, np.ndarray]]:
    """(resolution_s, start_ms, end_ms, count, decoded timestamps) of each chunk."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT resolution_s, start_ms, end_ms, count, data FROM chunks")
        return [(r, s, e, n, codec.decode(blob)[0]) for r, s, e, n, blob in rows]


@pytest.mark.asyncio
async def test_a_past_span_export_holds_no_sample_from_outside_it(
    core: Core, tmp_path: Path
) -> None:
    """A capture of 2 h ending a day ago held the whole chunks reaching over its edges: two
    hours before it and four after. The edge chunks are cut to the span, with the values the
    site holds for it; rolled-up buckets reaching over an edge are left out whole."""
    await build_site(core)
    until = utcnow() - timedelta(hours=24)
    out = tmp_path / "past.aiops"
    manifest = await export_capture(core, out, clusters=["east"], since=timedelta(hours=2),
                                    until=until)  # fmt: skip
    lo = int(datetime.fromisoformat(manifest.since).timestamp() * 1000)
    hi = int(datetime.fromisoformat(manifest.until).timestamp() * 1000)
    chunks = _chunks(out)
    assert chunks and all(r == 0 for r, *_ in chunks)
    for _, start, end, count, ts in chunks:
        assert lo <= ts.min() and ts.max() <= hi
        assert (start, end, count) == (ts[0], ts[-1], ts.size)
    assert manifest.counts["chunks"] == len(chunks)
    site = core.series.read("node_cpu", cluster="east", start_ms=lo, end_ms=hi)
    opened = open_capture(out)
    try:
        inside = opened.series.read("node_cpu", cluster="east")
    finally:
        await opened.shutdown()
    assert 120 <= inside[0].timestamps_ms.size <= 121  # one a minute
    for theirs, ours in zip(site, inside, strict=True):
        assert np.array_equal(theirs.timestamps_ms, ours.timestamps_ms)
        assert np.array_equal(theirs.values, ours.values)

    # a day later, the raw samples of a span before it are rolled up into 5-minute buckets
    await asyncio.wrap_future(core.series.apply_retention(utcnow() + timedelta(hours=26)))
    rolled = tmp_path / "rolled.aiops"
    manifest = await export_capture(core, rolled, clusters=["east"], since=timedelta(minutes=62),
                                    until=until - timedelta(hours=3))  # fmt: skip
    lo = int(datetime.fromisoformat(manifest.since).timestamp() * 1000)
    hi = int(datetime.fromisoformat(manifest.until).timestamp() * 1000)
    chunks = _chunks(rolled)
    assert chunks and {r for r, *_ in chunks} == {300}
    buckets = np.concatenate([ts for *_, ts in chunks])
    assert lo <= buckets.min() and buckets.max() + 300_000 - 1 <= hi
    assert 11 <= np.unique(buckets).size <= 12  # the whole buckets of 62 minutes (CPU, memory)


@pytest.mark.asyncio
async def test_a_span_starting_on_a_split_rollup_bucket_is_exported(
    core: Core, tmp_path: Path
) -> None:
    """Two rollups of a series may share the bucket a retention pass split (the second
    starts where the first ends). A span starting on that bucket cuts the first down to it,
    where the second starts: the export was refused (the same start twice); the first's
    part of it is left out, the second kept whole."""
    await build_site(core)
    t0 = int(utcnow().timestamp()) // 300 * 300 - 10 * 86400  # ten days ago, on a bucket
    columns = [np.array([1.0, 2.0, 3.0])] * 3 + [np.array([5.0, 5.0, 5.0])]
    with sqlite3.connect(core.db.path) as conn:
        (series_id,) = conn.execute("SELECT min(id) FROM series").fetchone()
        for start in (t0, t0 + 600):
            ts = (start + np.arange(3, dtype=np.int64) * 300) * 1000
            blob = codec.encode(ts, columns)
            conn.execute("INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, "
                         "data) VALUES (?, 300, ?, ?, 3, ?)",
                         (series_id, int(ts[0]), int(ts[-1]), blob))  # fmt: skip
    conn.close()
    out = tmp_path / "split.aiops"
    until = datetime.fromtimestamp(t0 + 1500, UTC)
    await export_capture(core, out, clusters=["east", "west", "hub"],
                         since=timedelta(seconds=900), until=until)  # fmt: skip
    (kept,) = _chunks(out)
    assert kept[:4] == (300, (t0 + 600) * 1000, (t0 + 1200) * 1000, 3)


@pytest.mark.asyncio
async def test_a_sample_on_the_second_the_span_starts_at_is_held(
    core: Core, tmp_path: Path
) -> None:
    """The manifest names its span in whole seconds; the cut used the exact times, so a span
    starting at 10:00:00.4 said 10:00:00 and left out the sample taken at 10:00:00."""
    await build_site(core)
    site = core.series.read("node_cpu", cluster="east")
    minute = int(site[0].timestamps_ms[len(site[0].timestamps_ms) // 2])  # a sample's time
    since = datetime.fromtimestamp(minute / 1000 + 0.4, UTC)
    out = tmp_path / "edge.aiops"
    manifest = await export_capture(core, out, clusters=["east"], since=timedelta(hours=1),
                                    until=since + timedelta(hours=1))  # fmt: skip
    assert datetime.fromisoformat(manifest.since).timestamp() * 1000 == minute
    opened = open_capture(out)
    try:
        inside = opened.series.read("node_cpu", cluster="east")
    finally:
        await opened.shutdown()
    assert int(inside[0].timestamps_ms[0]) == minute
