"""What opening a capture may cost is bounded by what the capture may hold, not by what a
crafted file says: chunks dated outside its span are refused before anything decodes them
(a chunk of 4096 samples of 16 columns of zeros is 154 bytes: 2,000 of them dated 2089 were
1.3 GB of memory at open), the values its chunks declare are capped, the charts read up to
its end only, and a chunk whose body is damaged is refused as it opens (not a codec error in
a page later). Its documents are counted before they are parsed (710,000 spans in one
trace were 1.3 GB before the 2,000-span limit was checked; a list of short numbers was 10
times its size in memory). A capture of a past span records the GPU, PTP and SR-IOV pages as
they were at its end, not as they were when it was exported."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import CaptureError, export_capture, open_capture
from aiops_desktop.services.outputs.recorded import RECORDED_KEY
from aiops_desktop.services.outputs.recorded_logs import read_recorded
from aiops_desktop.store import codec
from aiops_desktop.store.capture import CLOCK_SKEW, read_manifest
from aiops_desktop.store.capture_rows import MOST_VALUES
from tests.site_data import build_site

INSERT_CHUNK = ("INSERT INTO chunks (series_id, resolution_s, start_ms, end_ms, count, data) "
                "VALUES (?, ?, ?, ?, ?, ?)")  # fmt: skip


async def exported(core: Core, tmp_path: Path) -> Path:
    await build_site(core)
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east", "west"], since=timedelta(hours=2))
    return out


def craft(capture: Path, out: Path, edit: Callable[[sqlite3.Connection], None]) -> Path:
    out.write_bytes(capture.read_bytes())
    with sqlite3.connect(out) as conn:
        edit(conn)
    return out


def span_ms(capture: Path) -> tuple[int, int]:
    manifest = read_manifest(capture)
    since, until = (datetime.fromisoformat(t) for t in (manifest.since, manifest.until))
    return int(since.timestamp() * 1000), int(until.timestamp() * 1000)


def east_cpu(conn: sqlite3.Connection) -> int:
    (sid,) = conn.execute(
        "SELECT id FROM series WHERE metric = 'node_cpu' AND cluster = 'east'"
    ).fetchone()
    return int(sid)


def zeros_chunk(first_ms: int, count: int = codec.MAX_SAMPLES,
                columns: int = codec.MAX_COLUMNS) -> tuple[int, int, int, bytes]:  # fmt: skip
    """A chunk as large as a header may say (samples 100 ms apart, all zeros: 154 bytes):
    (start, end, count, blob)."""
    ts = first_ms + np.arange(count, dtype=np.int64) * 100
    return int(ts[0]), int(ts[-1]), count, codec.encode(ts, [np.zeros(count)] * columns)


@pytest.mark.asyncio
async def test_chunks_and_samples_outside_the_captures_span_are_refused(
    core: Core, tmp_path: Path
) -> None:
    out = await exported(core, tmp_path)
    since, until = span_ms(out)
    late = until + int(CLOCK_SKEW.total_seconds() * 1000) + 60_000  # past the skew allowed

    def after_the_end(conn: sqlite3.Connection) -> None:  # the review's: dated 2089
        sid = east_cpu(conn)
        for i in range(50):
            conn.execute(INSERT_CHUNK, (sid, 0, *zeros_chunk(3_786_000_000_000 + i * 410_000)))

    def just_past_the_skew(conn: sqlite3.Connection) -> None:
        conn.execute(INSERT_CHUNK, (east_cpu(conn), 0, *zeros_chunk(late, count=3)))

    def before_the_start(conn: sqlite3.Connection) -> None:
        start, end, count, blob = zeros_chunk(since - 1_000_000, count=3)
        assert end < since
        conn.execute(INSERT_CHUNK, (east_cpu(conn), 0, start, end, count, blob))

    def a_late_sample(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO samples_head VALUES (?, ?, 1.0)", (east_cpu(conn), late))

    for name, edit in (("late", after_the_end), ("skew", just_past_the_skew),
                       ("early", before_the_start), ("sample", a_late_sample)):  # fmt: skip
        crafted = craft(out, tmp_path / f"{name}.aiops", edit)
        with pytest.raises(
            CaptureError, match=f"{re.escape(str(crafted))}: .*outside the capture's span"
        ):
            open_capture(crafted)


@pytest.mark.asyncio
async def test_chunks_declaring_more_values_than_a_capture_holds_are_refused(
    core: Core, tmp_path: Path
) -> None:
    """Within the span, a few series of chunks as large as a header may say add up to more
    than MOST_VALUES: refused by that count, before any of them is decoded."""
    out = await exported(core, tmp_path)
    since, until = span_ms(out)
    per_chunk = codec.MAX_SAMPLES * codec.MAX_COLUMNS
    blob_ms = codec.MAX_SAMPLES * 100 + 100
    fit = (until - since) // blob_ms  # chunks of one series that fit in the span, apart
    wanted = MOST_VALUES // per_chunk + 1

    def many(conn: sqlite3.Connection) -> None:
        rows = []
        for n in range(-(-wanted // fit)):
            labels = json.dumps({"n": str(n)})
            sid = conn.execute("INSERT INTO series (cluster, metric, labels) VALUES "
                               "('east', 'bulk', ?)", (labels,)).lastrowid  # fmt: skip
            rows += [(sid, 0, *zeros_chunk(since + i * blob_ms)) for i in range(fit)]
        conn.executemany(INSERT_CHUNK, rows[:wanted])

    crafted = craft(out, tmp_path / "many.aiops", many)
    with pytest.raises(CaptureError, match=f"{re.escape(str(crafted))}: its chunks say more than"):
        open_capture(crafted)


@pytest.mark.asyncio
async def test_the_charts_are_filled_up_to_the_captures_end_only(
    core: Core, tmp_path: Path
) -> None:
    """A chunk within the clock skew after the capture's end opens, but the charts' buffers
    are filled up to the end: not with what a crafted file dated after it."""
    out = await exported(core, tmp_path)
    _, until = span_ms(out)

    def after(conn: sqlite3.Connection) -> None:
        conn.execute(INSERT_CHUNK, (east_cpu(conn), 0, *zeros_chunk(until + 3_600_000)))

    opened = open_capture(craft(out, tmp_path / "after.aiops", after))
    try:
        last = opened.live.last_ts("east", "node_cpu")
        assert last is not None and last * 1000 <= until
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_a_chunk_with_a_damaged_body_is_refused_as_the_capture_opens(
    core: Core, tmp_path: Path
) -> None:
    """Its header is sound (so every header check passed); its compressed body is zeroed.
    A rollup chunk: no chart reads it as the capture opens, so a later read failed."""
    out = await exported(core, tmp_path)
    since, _ = span_ms(out)

    def damaged(conn: sqlite3.Connection) -> None:
        ts = since + np.arange(3, dtype=np.int64) * 300_000
        good = codec.encode(ts, [np.array([1.0, 2.0, 3.0])] * 3 + [np.array([5.0] * 3)])
        bad = good[: codec.HEADER_SIZE] + bytes(len(good) - codec.HEADER_SIZE)
        conn.execute(INSERT_CHUNK, (east_cpu(conn), 300, int(ts[0]), int(ts[-1]), 3, bad))

    crafted = craft(out, tmp_path / "damaged.aiops", damaged)
    with pytest.raises(
        CaptureError, match=f"{re.escape(str(crafted))}: a chunk of series .* cannot be read"
    ):
        open_capture(crafted)
    opened = open_capture(out)  # the export itself decodes
    await opened.shutdown()


SPAN = ('{"trace_id":"a","span_id":"b","service_name":"","operation":"","start_ns":0,'
        '"duration_ns":0}')  # fmt: skip


def _peak_while(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("where", ["traces", "sampled"])
def test_a_recorded_documents_spans_are_counted_before_it_is_parsed(where: str) -> None:
    """400,000 spans in one trace (38 MB; a capture holds at most 183,360 in all): refused
    before pydantic builds any of them, in well under the document's size of memory."""
    text = (f'{{"{where}":[{{"trace_id":"a","cluster":"east","spans":['
            + ",".join([SPAN] * 400_000) + "]}]}")  # fmt: skip

    def read() -> None:
        with pytest.raises(CaptureError, match=r"evil\.aiops: its recorded logs and traces "
                                               "hold more spans than"):  # fmt: skip
            read_recorded(text, "evil.aiops")

    assert _peak_while(read) < len(text)


def test_a_recorded_documents_objects_are_counted_before_it_is_parsed() -> None:
    """Spans within every bound, each with the most events a span may have (128): 4 million
    events in 60 MB were refused only after pydantic built them."""
    event = '{"timestamp_ns":0,"name":""}'
    span = SPAN[:-1] + ',"events":[' + ",".join([event] * 128) + "]}"
    traces = [f'{{"trace_id":"a","cluster":"east","spans":[{",".join([span] * 1000)}]}}'
              for _ in range(10)]  # fmt: skip
    text = '{"traces":[' + ",".join(traces) + "]}"

    def read() -> None:
        with pytest.raises(CaptureError, match=r"evil\.aiops: its recorded logs and traces "
                                               "hold more objects than"):  # fmt: skip
            read_recorded(text, "evil.aiops")

    assert _peak_while(read) < len(text)


def test_a_json_log_line_is_no_object_of_the_document() -> None:
    """Braces inside a string (a JSON log line) are not counted as the document's objects."""
    line = {"timestamp_ns": 1, "line": "{" * 16_000, "labels": {}, "cluster": "east"}
    doc = read_recorded(json.dumps({"lines": [line] * 200}), "ok.aiops")
    assert doc is not None and len(doc.lines) == 200


@pytest.mark.asyncio
async def test_recorded_answers_are_counted_in_values_before_they_are_parsed(
    core: Core, tmp_path: Path
) -> None:
    """One recorded series of 8 million short numbers (32 MB; within the size limit, six
    containers) was 340 MB once parsed: refused before."""
    out = await exported(core, tmp_path)
    values = ",".join(["1.5"] * 4_200_000)
    doc = '{"instant vector(1)": [["east", {}, [' + values + "], [" + values + "]]]}"

    def answers(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT OR REPLACE INTO app_meta (key, value) VALUES (?, ?)",
                     (RECORDED_KEY, doc))  # fmt: skip

    crafted = craft(out, tmp_path / "numbers.aiops", answers)
    with pytest.raises(
        CaptureError, match=f"{re.escape(str(crafted))}: its recorded_answers holds more values"
    ):
        open_capture(crafted)


@pytest.mark.asyncio
async def test_a_past_spans_pages_are_recorded_as_they_were_at_its_end(
    core: Core, tmp_path: Path
) -> None:
    """A GPU at 40 C through a span that ended a day ago and at 95 C only since 6 hours ago:
    the capture of that span shows it at 40 C (it showed it at 95, as it was at export), and
    every answer it recorded is from before the span's end."""
    from aiops_desktop.services.gpu_cnf.gpu import read_gpu_fleet
    from tests.servers.gpu_fleet import _gpu
    from tests.servers.prometheus import openmetrics, start_prometheus

    step = 60
    now = int(time.time()) // step * step
    start, count = now - 30 * 3600, 30 * 60
    hot_from = count - 6 * 60
    labels = {k: v for k, v in _gpu("east", "gpu-0", 0).items() if k != "cluster"}
    series = [("DCGM_FI_DEV_GPU_TEMP", labels, lambda i: 95.0 if i >= hot_from else 40.0),
              ("DCGM_FI_DEV_GPU_UTIL", labels, lambda i: 10.0)]  # fmt: skip
    prom = start_prometheus(tmp_path / "prom", openmetrics(series, start, count, step))
    try:
        await core.registry.add(
            ClusterSpec(name="east", endpoint_urls={EndpointKind.PROMETHEUS: prom.url})
        )
        until = datetime.fromtimestamp(now - 24 * 3600, UTC)
        out = tmp_path / "night-shift.aiops"
        await export_capture(core, out, clusters=["east"], since=timedelta(hours=2), until=until)
    finally:
        prom.stop()
    opened = await asyncio.to_thread(open_capture, out)
    try:
        await opened.registry.load()
        clusters = opened.registry.clusters()
        for at in (until, None):  # as a report reads it, and as the GPU page and CLI do
            fleet = await read_gpu_fleet(opened.queries, clusters, at=at)
            assert [g.reading.temperature_c for g in fleet.gpus] == [40.0]
        with sqlite3.connect(out) as conn:
            (text,) = conn.execute("SELECT value FROM app_meta WHERE key = ?",
                                   (RECORDED_KEY,)).fetchone()  # fmt: skip
        stamps = [t for rows in json.loads(text).values() for row in rows for t in row[2]]
        assert stamps and max(stamps) <= until.timestamp()
    finally:
        await opened.shutdown()
