"""An export never writes a capture the app then refuses to open (found in review): a week of
a site's SR-IOV VFs recorded at one sample a minute held more values than an open reads, and
a cluster's error lines carrying Java stack traces more characters; the engineer found out on
the air-gapped machine. The range answers are thinned to a coarser step and the newest lines
kept within the open's limits (said), and what still would not open is refused, not written.
The limits are patched down (the open reads the same ones), so each shape is small."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster, EndpointKind, QueryStatus
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.enums import QueryType
from aiops_desktop.models.metrics import MetricQuery, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.models.observability import LogEntry, LogResult
from aiops_desktop.services.outputs import recorded_logs
from aiops_desktop.services.outputs.recorded import (
    RECORDED_KEY,
    RecordedQueries,
    RecordingQueries,
    record_pages,
)
from aiops_desktop.services.outputs.recorded_logs import (
    LOGS_TRACES_KEY,
    RecordedLogsTraces,
    read_recorded,
    record_logs_traces,
)
from aiops_desktop.settings import resources_dir
from aiops_desktop.store import capture_load, capture_rows
from aiops_desktop.store.capture import CaptureError, read_manifest, write_capture
from aiops_desktop.store.capture_load import load_capture

SAMPLE = resources_dir() / "samples" / "sample.aiops"
VFS = 12
MEMBERS = ["ai-lab", "ran-east", "ran-west"]  # the sample hub's


class FakeProm:
    """Answers as Prometheus would: a range query of the VFs one point a step for each VF,
    and of the PTP offsets (the last hour's) for each of two clocks."""

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        series = []
        many = VFS if "sriov_vf" in query.promql else 2 if "ptp_offset" in query.promql else 0
        if query.query_type is QueryType.RANGE and many:
            assert query.start is not None and query.end is not None
            start, step = query.start.timestamp(), query.step.total_seconds()
            steps = np.arange(int((query.end.timestamp() - start) // step) + 1)
            ts = np.round(start + steps * step, 3)  # as it answers: in ms
            for vf in range(many):
                labels = {"node": f"du-{vf // 4}", "pf": "ens1f0", "vf": str(vf % 4),
                          "pod": f"du-l1-{vf}", "namespace": "du-site1"}  # fmt: skip
                series.append(TaggedSeries("ran-hub", PromSeries(labels, ts, ts % 977)))
        return QueryAnswer(query, QueryStatus.SUCCESS, series, [], 0.0)


def _source(tmp_path: Path) -> tuple[Path, Cluster, datetime]:
    """A cache with the sample's clusters registered (its schema is the cache's)."""
    source = tmp_path / "cache.db"
    shutil.copy(SAMPLE, source)
    with sqlite3.connect(source) as conn:
        (doc,) = conn.execute("SELECT doc FROM clusters WHERE name = 'ran-hub'").fetchone()
    return (
        source,
        Cluster.model_validate_json(doc),
        datetime.fromisoformat(read_manifest(SAMPLE).until),
    )


def _export_and_open(
    tmp_path: Path, source: Path, since: datetime, until: datetime, extra: dict[str, str]
) -> dict[str, Any]:
    out = tmp_path / "week.aiops"
    write_capture(source, out, clusters=["ran-hub"], since=since, until=until,
                  app_version="0.1.0", extra_meta=extra)  # fmt: skip
    _, documents = load_capture(out, tmp_path / "opened.db")
    return documents


@pytest.mark.asyncio
async def test_a_week_of_many_vfs_is_thinned_to_a_coarser_step_and_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    most = 100_000  # the open's bound, patched down (a week of 12 VFs: 720,000 values)
    monkeypatch.setattr(capture_load, "MOST_ITEMS", most)
    source, cluster, until = _source(tmp_path)
    since = until - timedelta(days=7)
    recorder = RecordingQueries(FakeProm(), None)  # type: ignore[arg-type]
    await record_pages(recorder, [cluster], (since, until), at=until)
    full = {k: v for k, v in recorder.answers.items() if k.startswith("RANGE") and v}
    assert full and sum(2 * t.series.values.size for s in full.values() for t in s) > most
    with caplog.at_level(logging.WARNING):
        text = recorder.dump()
    assert text.count(",") <= most
    # the week's VF answers at a coarser step; the PTP offsets' hour (241 samples) whole
    assert "coarser step" in caplog.text
    assert {k for k in full if "sriov_vf" in k} == set(recorder.thinned)

    documents = _export_and_open(tmp_path, source, since, until, {RECORDED_KEY: text})
    opened = RecordedQueries(None, documents[RECORDED_KEY], ends=until)  # type: ignore[arg-type]
    for key, series in full.items():
        promql = key.split(" ", 1)[1]
        step = timedelta(seconds=float(np.diff(series[0].series.timestamps[:2])[0]))
        asked = MetricQuery(promql=promql, query_type=QueryType.RANGE, start=since, end=until,
                            step=step)  # fmt: skip
        answer = await opened.run(asked, [cluster])
        assert answer.status is QueryStatus.SUCCESS and len(answer.series) == len(series)
        every = recorder.thinned.get(key, 1)
        for kept, whole in zip(answer.series, series, strict=True):
            ts, was = kept.series.timestamps, whole.series.timestamps
            # every kept sample is one it had, at the coarser step, its newest kept
            assert ts[-1] == was[-1] and set(ts) <= set(was)
            assert np.allclose(np.diff(ts), every * step.total_seconds())
            assert np.array_equal(kept.series.values, ts % 977)


def test_a_document_the_open_would_refuse_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture_load, "MOST_ITEMS", 1_000)
    source, _, until = _source(tmp_path)
    out = tmp_path / "refused.aiops"
    too_many = '{"RANGE x": [["ran-hub", {}, [' + ",".join(["1"] * 2_000) + "], []]]}"
    with pytest.raises(CaptureError, match=r"not written.*recorded_answers.*at most 1,000"):
        write_capture(source, out, clusters=["ran-hub"], since=until - timedelta(hours=1),
                      until=until, app_version="0.1.0",
                      extra_meta={RECORDED_KEY: too_many})  # fmt: skip
    assert not out.exists() and not list(tmp_path.glob(".refused*"))


@pytest.mark.asyncio
async def test_answers_that_even_thinned_would_not_open_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Series that each keep one sample still hold more values than an open reads."""
    monkeypatch.setattr(capture_load, "MOST_ITEMS", 50)
    recorder = RecordingQueries(FakeProm(), None)  # type: ignore[arg-type]
    recorder.answers["INSTANT up"] = [
        TaggedSeries("ran-hub", PromSeries({"pod": f"p{i}"}, np.array([1.0]), np.array([1.0])))
        for i in range(100)
    ]
    with pytest.raises(CaptureError, match=r"recorded answers.*at most 50"):
        recorder.dump()


FRAME = "\n\tat com.example.ran.du.Scheduler.dispatch(Scheduler.java:{})"
LINE = "ERROR Scheduler failed: java.lang.IllegalStateException: slot overrun" + "".join(
    FRAME.format(i) for i in range(60)
)
T0 = 1_796_554_800 * 10**9  # 2026-12-06 11:00 UTC, the export's end


class FakeLoki:
    """A cluster's newest error lines, each carrying a Java stack trace (3.7 KB)."""

    async def logs(self, cluster: str, logql: str, *, start: datetime, end: datetime,
                   limit: int = 100, most: int | None = None, **kw: Any) -> LogResult:  # fmt: skip
        assert most is not None
        return LogResult(entries=[
            LogEntry(cluster=cluster, timestamp_ns=T0 - i * 10**9, line=f"{i} {LINE}",
                     labels={"k8s_namespace_name": "du-site1", "pod": "du-0"})
            for i in range(most)], truncated=True)  # fmt: skip


def _loki(name: str) -> Cluster:
    return Cluster(name=name, endpoints=[Endpoint(kind=EndpointKind.LOKI, url="http://loki:3100")])


@pytest.mark.asyncio
async def test_stack_trace_lines_keep_the_newest_within_the_open_limit_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    most = 200_000  # the open's bound, patched down (160 lines of 3.7 KB: 600,000)
    monkeypatch.setattr(recorded_logs, "MOST_LINES", 160)
    monkeypatch.setattr(recorded_logs, "MOST_DOC_CHARS", most)
    end = datetime.fromtimestamp(T0 / 1e9).astimezone()
    clusters = [_loki("ran-east"), _loki("ran-west")]
    text = await record_logs_traces(FakeLoki(), clusters, end - timedelta(hours=8), end)  # type: ignore[arg-type]
    assert len(text.encode()) <= most

    source, _, until = _source(tmp_path)
    documents = _export_and_open(tmp_path, source, until - timedelta(hours=1), until,
                                 {LOGS_TRACES_KEY: text})  # fmt: skip
    doc = read_recorded(documents[LOGS_TRACES_KEY], "week.aiops")
    assert doc is not None
    for name in ("ran-east", "ran-west"):
        kept = sorted((e.timestamp_ns for e in doc.lines if e.cluster == name), reverse=True)
        # each cluster its share, its newest lines
        assert len(kept) > 10 and kept == [T0 - i * 10**9 for i in range(len(kept))]
        read = doc.logs_read[name]
        assert read.truncated and any(f"at most {most:,} characters" in n for n in read.notes)
    logs = RecordedLogsTraces(doc, lambda: ["ran-east", "ran-west"])
    found = await logs.logs("ran-east", '{pod="du-0"}', start=end - timedelta(hours=8), end=end)
    assert found.truncated and any("characters" in n for n in found.notes)


@pytest.mark.asyncio
async def test_logs_and_traces_that_would_not_open_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What is left beside the lines is over the open's limit itself: refused, said why."""
    monkeypatch.setattr(recorded_logs, "MOST_LINES", 10)
    monkeypatch.setattr(recorded_logs, "MOST_DOC_CHARS", 60)
    end = datetime.fromtimestamp(T0 / 1e9).astimezone()
    with pytest.raises(CaptureError, match=r"logs and traces.*refused when opened.*at most 60"):
        await record_logs_traces(FakeLoki(), [_loki("ran-east")], end - timedelta(hours=1), end)  # type: ignore[arg-type]


def _churned(source: Path, many: int) -> None:
    """Series of a member cluster's pods gone before the span (their names kept in the cache
    until their rollups expire): none has data in it, one a sample a day before it."""
    with sqlite3.connect(source) as conn:
        conn.executemany(
            "INSERT INTO series (cluster, metric, labels) VALUES ('ran-east', 'pod_cpu', ?)",
            [(f'{{"pod":"du-l1-{i}"}}',) for i in range(many)],
        )
        (gone,) = conn.execute("SELECT max(id) FROM series").fetchone()
        (first,) = conn.execute("SELECT min(start_ms) FROM chunks").fetchone()
        conn.execute("INSERT INTO samples_head VALUES (?, ?, 1.0)", (gone, first - 86_400_000))


def test_series_with_nothing_in_the_span_are_not_exported_so_the_capture_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: an export copied every series the cache held of its clusters, those
    of pods gone long before the span too; two hours of a hub whose members churned pods
    wrote 200,001 series, which the open then refused (its limit, patched down here)."""
    monkeypatch.setattr(capture_rows, "MOST_SERIES", 300)  # the sample holds 276
    source, _, until = _source(tmp_path)
    _churned(source, 100)
    out = tmp_path / "two-hours.aiops"
    manifest = write_capture(source, out, clusters=["ran-hub"], since=until - timedelta(hours=2),
                             until=until, app_version="0.1.0", members=MEMBERS)  # fmt: skip
    load_capture(out, tmp_path / "opened.db")  # opens
    with sqlite3.connect(out) as conn:
        held = conn.execute("SELECT count(*) FROM series").fetchone()[0]
        churned = conn.execute("SELECT count(*) FROM series WHERE metric = 'pod_cpu'").fetchone()
        empty = conn.execute(
            "SELECT count(*) FROM series WHERE id NOT IN (SELECT series_id FROM chunks) "
            "AND id NOT IN (SELECT series_id FROM samples_head)"
        ).fetchone()
    assert manifest.counts["series"] == held == 276 and churned == (0,) and empty == (0,)

    # a span between two of its samples (30 s apart): their chunks reach over it, nothing of
    # them is inside
    with sqlite3.connect(source) as conn:
        (first_ms,) = conn.execute("SELECT min(start_ms) FROM chunks").fetchone()
    first = datetime.fromtimestamp(first_ms / 1000, UTC)
    between = tmp_path / "between.aiops"
    manifest = write_capture(source, between, clusters=["ran-hub"],
                             since=first + timedelta(seconds=1),
                             until=first + timedelta(seconds=20), app_version="0.1.0",
                             members=MEMBERS)  # fmt: skip
    assert manifest.counts["series"] == manifest.counts["chunks"] == 0


@pytest.mark.parametrize(
    ("limit", "value", "said"),
    [
        ("MOST_SERIES", 100, r"276 series, more than 100"),
        ("MOST_SERIES_TEXT", 5_000, r"more series text than 5,000 bytes"),
    ],
)
def test_series_the_open_would_refuse_are_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str, value: int, said: str
) -> None:
    """The open's own series limits (``capture_rows``'s, patched down: the sample's two hours
    hold 276 series of up to 70 bytes), checked on the copy before it is moved into place."""
    monkeypatch.setattr(capture_rows, limit, value)
    source, _, until = _source(tmp_path)
    out = tmp_path / "refused.aiops"
    where = re.escape(str(out))
    with pytest.raises(CaptureError, match=rf"{where} not written: .*refused when opened.*{said}"):
        write_capture(source, out, clusters=["ran-hub"], since=until - timedelta(hours=2),
                      until=until, app_version="0.1.0", members=MEMBERS)  # fmt: skip
    assert not out.exists() and not list(tmp_path.glob(".refused*"))
