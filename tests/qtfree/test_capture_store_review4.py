"""What a capture's store writes and opens (found in review): a file name with '#' or '?' was
cut there by SQLite (another file opened, or created, read-write); a crafted capture of 50,000
cluster records took seconds on every fleet refresh; one damaged incident or anomaly row in
the cache failed every export and left its part-written file; an end after now claimed a span
that had not happened; an episode still going on whose worst point came before the span was
not exported; and a past span's cluster records were as they stood at export."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aiops_desktop.models import ClusterState, EndpointKind, utcnow
from aiops_desktop.models.anomalies import AnomalyFilter
from aiops_desktop.models.enums import Connectivity
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import CaptureError, export_capture, open_capture
from aiops_desktop.settings import resources_dir
from aiops_desktop.store import capture as capture_store
from aiops_desktop.store.capture import is_capture, read_manifest, write_capture
from tests.site_data import build_site

SAMPLE = resources_dir() / "samples" / "sample.aiops"
SPAN = read_manifest(SAMPLE)
SINCE, UNTIL = datetime.fromisoformat(SPAN.since), datetime.fromisoformat(SPAN.until)


@pytest.mark.asyncio
async def test_a_name_with_a_hash_or_a_question_mark_is_the_file_opened(tmp_path: Path) -> None:
    """'site#2.aiops' was read as 'site' (created beside it when absent, opened when there):
    the name SQLite reads is cut at '#' or '?', and 'mode=ro&immutable=1' with it."""
    named = tmp_path / "site#2.aiops"
    shutil.copy(SAMPLE, named)
    assert read_manifest(named).clusters == SPAN.clusters
    assert is_capture(named)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site#2.aiops"]  # nothing created
    question = tmp_path / "night?shift.aiops"
    shutil.copy(SAMPLE, question)
    assert read_manifest(question).clusters == SPAN.clusters
    opened = await asyncio.to_thread(open_capture, question)
    await opened.shutdown()

    shutil.copy(SAMPLE, tmp_path / "site")  # a capture beside a file that is none
    named.write_bytes(b"SQLite format 3\x00" + b"garbage" * 100)
    with pytest.raises(CaptureError):
        read_manifest(named)
    assert not is_capture(named)

    # and the cache exported from, where its folder's name holds one
    source = tmp_path / "home#1" / "cache.db"
    source.parent.mkdir()
    shutil.copy(SAMPLE, source)
    out = tmp_path / "out?.aiops"
    manifest = write_capture(source, out, clusters=SPAN.clusters, since=SINCE, until=UNTIL,
                             app_version="test", members=SPAN.members)  # fmt: skip
    assert manifest.counts["chunks"] == SPAN.counts["chunks"]
    assert read_manifest(out).members == SPAN.members


def _crafted(tmp_path: Path, names: list[str]) -> Path:
    out = tmp_path / f"clusters-{len(names)}.aiops"
    shutil.copy(SAMPLE, out)
    rows = []
    for name in names:
        cid = str(uuid.uuid4())
        doc = {"id": cid, "name": name, "endpoints": [{"kind": "PROMETHEUS", "url": "http://a"}]}
        rows.append((cid, name, json.dumps(doc), SPAN.created_at))
    with contextlib.closing(sqlite3.connect(out)) as conn, conn:
        conn.executemany("INSERT INTO clusters VALUES (?, ?, ?, ?)", rows)
    return out


def test_a_capture_holds_only_the_clusters_its_manifest_lists(tmp_path: Path) -> None:
    """50,000 cluster records (15 MB) opened in 3.8 s, and every fleet refresh then took
    8.7 s: the records are bounded as the manifest's names are, and each must be one it
    lists."""
    most = capture_store.MOST_CLUSTERS
    many = _crafted(tmp_path, [f"c{i:06d}" for i in range(most + 1)])
    started = time.perf_counter()
    with pytest.raises(CaptureError, match=f"more than {most:,} clusters"):
        open_capture(many)
    assert time.perf_counter() - started < 3
    with pytest.raises(CaptureError, match=r"'stranger'.* its manifest does not list"):
        open_capture(_crafted(tmp_path, ["stranger"]))


@pytest.mark.asyncio
async def test_a_damaged_incident_or_anomaly_in_the_cache_is_left_out_of_an_export(
    core: Core, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One damaged row failed every export (a validation traceback, or 'malformed JSON'),
    leaving '.x.aiops.partial' and its journal behind."""
    await build_site(core)

    def damage(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO incidents VALUES ('bad', 'OPEN', 'CRITICAL', ?, ?, ?)",
                     (1.0, 2e9, '{"id": "bad", "title": "cut off'))  # fmt: skip
        conn.execute("INSERT INTO anomalies VALUES ('bad', 'east', 'node_cpu', 'HIGH', 'SPIKE', "
                     "?, 5.0, ?)", (time.time() - 60, '{"id": "cut off'))  # fmt: skip

    await asyncio.wrap_future(core.db.write(damage))
    out = tmp_path / "x.aiops"
    with caplog.at_level(logging.WARNING, logger="aiops.store"):
        manifest = await export_capture(core, out, clusters=["east"], since=timedelta(hours=2))
    assert "1 damaged incident rows in the cache were skipped" in caplog.text
    assert manifest.counts["incidents"] == 0
    opened = await asyncio.to_thread(open_capture, out)
    try:
        assert all(a.identity != "bad" for a in opened.anomalies.repo.list())
    finally:
        await opened.shutdown()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "x.aiops"]


def test_no_part_written_file_is_left_whatever_fails(tmp_path: Path) -> None:
    """Only a disk's or SQLite's error removed the part-written file: any other left it."""
    source = tmp_path / "cache.db"
    shutil.copy(SAMPLE, source)

    def fails(incident: Incident, at: datetime) -> Incident | None:
        raise RuntimeError("not this one")

    with contextlib.closing(sqlite3.connect(source)) as conn, conn:  # one incident to cut
        conn.execute("INSERT INTO incidents VALUES ('INC-1', 'OPEN', 'WARNING', ?, ?, ?)",
                     (SINCE.timestamp(), UNTIL.timestamp(), Incident(
                         id="INC-1", title="x", severity=FindingSeverity.WARNING, opened_at=SINCE,
                         updated_at=UNTIL).model_dump_json()))  # fmt: skip
    with pytest.raises(RuntimeError):
        write_capture(source, tmp_path / "x.aiops", clusters=SPAN.clusters, since=SINCE,
                      until=UNTIL, app_version="test", incidents_as_of=fails)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.db"]


@pytest.mark.asyncio
async def test_a_span_ending_after_now_is_refused(core: Core, tmp_path: Path) -> None:
    """A local time typed without a zone, two hours ahead of UTC, was taken: the capture
    claimed a span that had not happened, and every episode going on was exported ended."""
    await build_site(core)
    out = tmp_path / "x.aiops"
    with pytest.raises(CaptureError, match=r"--until .* is in the future \(.*\): give an "
                       "earlier time, or no --until for a window ending now"):  # fmt: skip
        await export_capture(core, out, clusters=["east"], since=timedelta(hours=8),
                             until=utcnow() + timedelta(hours=2))  # fmt: skip
    assert not out.exists()
    # a clock a few seconds ahead of the one that asked is not refused
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=8),
                         until=utcnow() + timedelta(seconds=20))  # fmt: skip


@pytest.mark.asyncio
async def test_an_episode_going_on_in_the_span_is_exported_whenever_its_worst_point_was(
    core: Core, tmp_path: Path
) -> None:
    """An episode still going on whose worst point came before the span was left out (the
    copy chose by worst point only), though an open capture counts every episode it stored
    open: a memory breach that peaked 3 hours (or 2 days) ago and goes on."""
    await build_site(core)
    now = utcnow()
    one = core.anomalies.repo.list()[0]
    going = [
        one.model_copy(
            update={
                "id": uuid.uuid4(),
                "metric": "node_memory",
                "labels": {"instance": instance},
                "started_at": now - worst - timedelta(hours=1),
                "timestamp": now - worst,
                "last_at": now - timedelta(minutes=1),
                "open": True,
            }
        )
        for instance, worst in (
            ("east-node-0", timedelta(hours=3)),
            ("east-node-1", timedelta(days=2)),
        )
    ]
    ended = one.model_copy(update={  # over before the span: not in it
        "id": uuid.uuid4(), "metric": "node_memory", "labels": {"instance": "east-node-2"},
        "started_at": now - timedelta(hours=5), "timestamp": now - timedelta(hours=4),
        "last_at": now - timedelta(hours=3), "open": False,
    })  # fmt: skip
    await asyncio.wrap_future(core.anomalies.repo.save([*going, ended]))
    out = tmp_path / "x.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=2))
    opened = await asyncio.to_thread(open_capture, out)
    try:
        kept = {a.labels["instance"]: a for a in opened.anomalies.repo.list()
                if a.metric == "node_memory"}  # fmt: skip
        assert sorted(kept) == ["east-node-0", "east-node-1"]
        # east-node-0's series has samples to the end: still going; -1 has none: ended there
        assert kept["east-node-0"].open
        open_now = opened.anomalies.repo.list(AnomalyFilter(open_only=True))
        assert "east-node-0" in {a.labels.get("instance") for a in open_now}
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_a_past_spans_cluster_record_is_as_it_stood_at_its_end(
    core: Core, tmp_path: Path
) -> None:
    """The record kept its last check, connectivity and error of the export's moment: east
    was down at the span's end, and the capture said it was up, checked hours later."""
    await build_site(core)  # east's Prometheus down from 180 to 120 minutes ago
    until = utcnow() - timedelta(minutes=150)
    out = tmp_path / "x.aiops"
    await export_capture(core, out, clusters=["east", "west"], since=timedelta(hours=1),
                         until=until)  # fmt: skip
    opened = await asyncio.to_thread(open_capture, out)
    try:
        await opened.registry.load()
        east, west = opened.registry.get("east"), opened.registry.get("west")
        for cluster in (east, west):
            checked = cluster.status.last_check_at
            assert checked is not None
            assert until - timedelta(minutes=30) <= checked <= until
        assert east.status.state is ClusterState.OFFLINE
        assert east.status.connectivity is Connectivity.DISCONNECTED
        assert east.status.endpoint_health == {EndpointKind.PROMETHEUS: False}
        assert "unreachable" in (east.status.last_error or "")
        assert west.status.state is ClusterState.ONLINE
        assert west.status.last_error is None
    finally:
        await opened.shutdown()

    # a span ending now keeps the record as it is
    now_out = tmp_path / "now.aiops"
    await export_capture(core, now_out, clusters=["east"], since=timedelta(hours=1))
    with contextlib.closing(sqlite3.connect(now_out)) as conn:
        (doc,) = conn.execute("SELECT doc FROM clusters").fetchone()
    assert (
        json.loads(doc)["status"]["connectivity"]
        == core.registry.get("east").status.connectivity.value
    )
    assert datetime.fromisoformat(json.loads(doc)["status"]["last_check_at"]) > datetime.now(
        UTC
    ) - timedelta(minutes=5)


def test_capture_info_refuses_what_capture_open_refuses(tmp_path: Path) -> None:
    """``capture info`` "checks a capture": it read the manifest alone, and passed (exit 0,
    its manifest printed) a capture that every open then refused."""
    from tests.qtfree.cli_runner import call_main

    crafted = _crafted(tmp_path, ["stranger"])
    code, said, err = call_main(tmp_path / "home", "capture", "info", str(crafted))
    assert code != 0 and "its manifest does not list" in err, (code, said, err)
    assert "holds" not in said
    code, said, _ = call_main(tmp_path / "home", "capture", "info", str(SAMPLE))
    assert code == 0 and said.splitlines()[-1].startswith("holds      ")
    assert not list(tmp_path.glob("**/aiops-capture-*"))
