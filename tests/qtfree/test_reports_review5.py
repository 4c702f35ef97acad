"""A report reviewed (5): an anomaly going on through a past period is in its report; data
that ends before a past period's end is said, never closed with "No action needed"; a
handover's PTP table keeps the port that spent the shift out of lock (LOCKED at its end), and
recommends it; a past period says a cluster has no Alertmanager, not "nothing"; a GPU read
that failed in part is said to be; the assistant's report is written whole or not at all."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import (
    DEFAULT_THRESHOLD,
    ClockState,
    Compliance,
    PtpBoard,
    PtpRow,
)
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.reports import Report, ReportType, Table
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.assistant.toolbox import ToolError
from aiops_desktop.services.assistant.tools import ReportInput, generate_report
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.outputs.reports import _gpu_facts, _ptp_facts, gather, unread_of
from aiops_desktop.settings import resolve_paths, resources_dir
from analysis.reports.build import (
    NO_ALERTMANAGER,
    ClusterFacts,
    FleetHw,
    ReportInputs,
    build_report,
)

ALL_CLEAR = "No action needed: nothing in this period calls for one."
PROM = {EndpointKind.PROMETHEUS: "https://127.0.0.1:9"}
SAMPLE = resources_dir() / "samples" / "sample.aiops"
SHIFT = timedelta(hours=12)
UP = {EndpointKind.API_SERVER: True, EndpointKind.PROMETHEUS: True}


@pytest_asyncio.fixture
async def bare(tmp_path: Path) -> AsyncIterator[Core]:
    opened = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    await opened.registry.add(ClusterSpec(name="ran-east", endpoint_urls=PROM))
    yield opened
    await opened.shutdown()


def _table(report: Report, section: str, start: str) -> Table:
    found = next(s for s in report.sections if s.title == section)
    return next(t for t in found.tables if t.title.startswith(start))


async def _checks(core: Core, first: datetime, last: datetime) -> None:
    """ONLINE checks every 5 minutes from ``first`` to ``last``."""
    at = first
    while at <= last:
        await core.registry.apply_check("ran-east", UP, at=at)
        at += timedelta(minutes=5)


def _hot(began: datetime, worst: datetime, last: datetime, *, still: bool) -> Anomaly:
    return Anomaly(
        cluster="ran-east", metric="gpu_temperature", labels={"Hostname": "gpu-0", "gpu": "5"},
        method=AnomalyMethod.DOMAIN_RULE, timestamp=worst, started_at=began, last_at=last,
        open=still, score=10, threshold=2.5, severity=AnomalySeverity.CRITICAL, confidence=1.0,
        type=AnomalyType.THRESHOLD_BREACH, expected=70, actual=84,
        explanation="GPU at 84 C, critical (>= 80 C)",
    )  # fmt: skip


# -- 1: an anomaly going on through the whole period ---------------------------------------------


@pytest.mark.asyncio
async def test_an_anomaly_going_on_through_a_past_period_is_in_its_report(bare: Core) -> None:
    """An open CRITICAL episode that began before the shift and was worst before it, going on
    through all of it: the shift's report lists and recommends it. One over before the shift
    began, and one that began after it ended, are not of it."""
    until = (bare.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    since = until - SHIFT
    await _checks(bare, since - timedelta(hours=1), until)
    through = _hot(since - timedelta(hours=1), since - timedelta(minutes=30),
                   until - timedelta(minutes=1), still=True)  # fmt: skip
    over = _hot(since - timedelta(hours=3), since - timedelta(hours=2),
                since - timedelta(minutes=90), still=False)  # fmt: skip
    later = _hot(until + timedelta(minutes=10), until + timedelta(minutes=20),
                 until + timedelta(minutes=30), still=True)  # fmt: skip
    over.labels["gpu"], later.labels["gpu"] = "6", "7"
    bare.anomalies.repo.save([through, over, later]).result()
    inputs = await gather(bare.reports, ReportType.HANDOVER, ["ran-east"], SHIFT, until)
    (east,) = inputs.clusters
    assert [a.started_at for a in east.anomalies] == [through.started_at]
    assert east.anomaly_counts == {AnomalySeverity.CRITICAL: 1}
    report = build_report(inputs)
    assert ALL_CLEAR not in report.recommendations
    assert any("GPU at 84 C" in line and "gpu_temperature on ran-east" in line
               for line in report.recommendations)  # fmt: skip
    assert not any("not known after" in line for line in report.summary)  # checks to the end


@pytest.mark.asyncio
async def test_an_episode_left_open_long_ago_is_in_no_later_report(bare: Core) -> None:
    """An episode left open ten days ago (the app was closed while it went on) and never
    found since: its last point is days before the shift, so it is not of it, nor of the
    last 12 h; each round that finds an episode going on moves its last point."""
    until = (bare.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    old = until - timedelta(days=10)
    stale = _hot(old - timedelta(minutes=5), old, old + timedelta(minutes=5), still=True)
    bare.anomalies.repo.save([stale]).result()
    await _checks(bare, until - SHIFT, until)
    for end in (until, None):
        inputs = await gather(bare.reports, ReportType.HANDOVER, ["ran-east"], SHIFT, end)
        (east,) = inputs.clusters
        assert (east.anomalies, east.anomaly_counts) == ([], {}), end
        assert not any("84 C" in line for line in build_report(inputs).recommendations)


# -- 2: data that ends before the period's end ----------------------------------------------------


@pytest.mark.asyncio
async def test_a_past_period_whose_data_ends_early_says_so(bare: Core) -> None:
    """The workstation was shut down an hour into the shift: the report says nothing is
    known after then, gives the state as last known then, and is no all-clear."""
    until = (bare.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    since = until - SHIFT
    await _checks(bare, since - timedelta(hours=2), since + timedelta(hours=1))
    inputs = await gather(bare.reports, ReportType.HANDOVER, ["ran-east"], SHIFT, until)
    (east,) = inputs.clusters
    ended = since + timedelta(hours=1)
    assert east.known_until == ended
    report = build_report(inputs)
    at = ended.strftime("%Y-%m-%d %H:%M UTC")
    assert (f"ran-east: not known after {at} (its data ends there: the last 11 h of the 12 h "
            "asked are not known here)") in report.summary  # fmt: skip
    section = report.sections[0]
    assert section.state == f"ONLINE, last known {at}"
    assert ("Data", f"not known after {at}: its data ends there") in section.facts
    assert ALL_CLEAR not in report.recommendations
    assert report.recommendations[-1].startswith(f"Nothing is known of ran-east after {at}")


def test_data_ending_early_is_never_the_all_clear_beside_other_advice() -> None:
    until = datetime(2026, 12, 2, 6, tzinfo=UTC)
    ended = until - timedelta(hours=5)
    facts = ClusterFacts("ran-east", "OFFLINE", 0, health=[(ended, "OFFLINE", 0, "refused")],
                         known_until=ended)  # fmt: skip
    report = build_report(ReportInputs(ReportType.EXECUTIVE, until - SHIFT, until, until, [facts]))
    assert report.recommendations[0].startswith("ran-east is OFFLINE (refused)")
    assert report.recommendations[-1].startswith("Nothing is known of ran-east after")


# -- 3: the PTP table and recommendations over the period ----------------------------------------


def _ports(bad: int = 24) -> list[tuple[str, str, str, str, str, str, str]]:
    """25 ports LOCKED now, sampled 83% of the shift; port ``bad`` was FREERUN for 6 h."""
    return [
        (f"du-{i:02d}/ens1f0", "LOCKED", "83.0%", "40.0%" if i == bad else "100.0%",
         "40.0%" if i == bad else "100.0%", "0 s", "21600 s" if i == bad else "0 s")
        for i in range(25)
    ]  # fmt: skip


def _handover(hw: FleetHw) -> Report:
    until = datetime(2026, 12, 2, 12, tzinfo=UTC)
    facts = ClusterFacts("ran-east", "OK", 100, hw=hw, findings=[], observed=True)
    return build_report(ReportInputs(ReportType.HANDOVER, until - SHIFT, until, until, [facts]))


def test_the_ptp_table_keeps_the_port_out_of_lock_in_the_period_and_recommends_it() -> None:
    hw = FleetHw(gpu=[], gpu_changes=[], ptp=_ports(), ptp_ports=25, ptp_short=1, ptp_low=25)
    report = _handover(hw)
    table = _table(report, "ran-east", "PTP compliance")
    assert table.rows[0][0] == "du-24/ens1f0"  # the worst of the period, LOCKED at its end
    assert len(table.rows) == 20
    (line,) = report.recommendations
    assert line == ("PTP port du-24/ens1f0 of ran-east was out of lock in the period (6 h in "
                    "FREERUN), LOCKED now: check its grandmaster and GNSS before it happens "
                    "again.")  # fmt: skip


def test_a_port_in_freerun_now_still_comes_first_and_long_holdovers_are_recommended() -> None:
    ports = _ports()
    ports[3] = ("du-03/ens1f0", "FREERUN", "83.0%", "90.0%", "90.0%", "0 s", "600 s")
    ports[5] = ("du-05/ens1f0", "LOCKED", "83.0%", "95.0%", "95.0%", "900 s", "0 s")
    hw = FleetHw(gpu=[], gpu_changes=[], ptp=ports, ptp_ports=25, ptp_short=3, ptp_low=25,
                 ptp_long_holdovers={"du-05/ens1f0": 2})  # fmt: skip
    report = _handover(hw)
    rows = _table(report, "ran-east", "PTP compliance").rows
    assert [r[0] for r in rows[:3]] == ["du-03/ens1f0", "du-24/ens1f0", "du-05/ens1f0"]
    said = report.recommendations
    assert said[0].startswith("Clock in FREERUN on PTP port du-03/ens1f0")
    assert any("du-05/ens1f0" in line and "2 holdovers past their timeout" in line
               for line in said)  # fmt: skip
    assert not any("du-03/ens1f0" in line for line in said[1:])  # said once


def test_the_ptp_read_keeps_each_ports_holdovers_past_their_timeout() -> None:
    kept = Compliance(samples=100, locked_pct=90.0, within_pct=90.0, holdover_s=900.0,
                      freerun_s=0.0, long_holdovers=2, longest_holdover_s=600.0)  # fmt: skip
    fine = Compliance(samples=100, locked_pct=100.0, within_pct=100.0, holdover_s=0.0,
                      freerun_s=0.0, long_holdovers=0, longest_holdover_s=0.0)  # fmt: skip
    board = PtpBoard([
        PtpRow("ran-east", "du-5", "ens1f0", "ptp4l", ClockState.LOCKED, compliance=kept),
        PtpRow("ran-east", "du-6", "ens1f0", "ptp4l", ClockState.LOCKED, compliance=fine),
    ], SHIFT, DEFAULT_THRESHOLD, [])  # fmt: skip
    facts: dict[str, FleetHw] = {}
    _ptp_facts(facts, board)
    assert facts["ran-east"].ptp_long_holdovers == {"du-5/ens1f0": 2}


def test_two_processes_of_one_port_keep_their_own_holdovers_and_one_line() -> None:
    """A T-GM's port: ts2phc and ptp4l each report a clock state on ens7f0 (a row each);
    only ts2phc went past its holdover timeout. Each row is named with its process, the
    clean ptp4l row inherits nothing, and the port is recommended once."""
    lapsed = Compliance(
        samples=100,
        locked_pct=98.0,
        within_pct=98.0,
        holdover_s=900.0,
        freerun_s=0.0,
        long_holdovers=1,
        longest_holdover_s=900.0,
        steps=100,
    )
    fine = Compliance(
        samples=100,
        locked_pct=100.0,
        within_pct=99.0,
        holdover_s=0.0,
        freerun_s=0.0,
        long_holdovers=0,
        longest_holdover_s=0.0,
        steps=100,
    )
    board = PtpBoard([
        PtpRow("ran-east", "du-2", "ens7f0", "ts2phc", ClockState.LOCKED, compliance=lapsed),
        PtpRow("ran-east", "du-2", "ens7f0", "ptp4l", ClockState.LOCKED, compliance=fine),
        PtpRow("ran-east", "du-3", "ens7f0", "ptp4l", ClockState.LOCKED, compliance=lapsed),
    ], SHIFT, DEFAULT_THRESHOLD, [])  # fmt: skip
    facts: dict[str, FleetHw] = {}
    _ptp_facts(facts, board)
    hw = facts["ran-east"]
    assert hw.ptp_long_holdovers == {"du-2/ens7f0 (ts2phc)": 1, "du-3/ens7f0": 1}
    hw.gpu, hw.gpu_changes = [], []
    report = _handover(hw)
    rows = _table(report, "ran-east", "PTP compliance").rows
    assert [r[0] for r in rows] == ["du-2/ens7f0 (ts2phc)", "du-3/ens7f0",
                                    "du-2/ens7f0 (ptp4l)"]  # fmt: skip
    assert [r[5] for r in rows] == ["900 s", "900 s", "0 s"]
    said = [line for line in report.recommendations if "out of lock" in line]
    assert len(said) == 2 and len(set(said)) == 2
    assert [line.split(" of ran-east")[0] for line in said] == [
        "PTP port du-2/ens7f0 (ts2phc)", "PTP port du-3/ens7f0"]  # fmt: skip


def test_a_ports_processes_in_one_clock_state_are_one_line() -> None:
    """ts2phc and ptp4l of one port both in FREERUN now: its clock is said once."""
    port = ("du-2/ens7f0 ({})", "FREERUN", "100.0%", "90.0%", "90.0%", "0 s", "600 s")
    ports = [(port[0].format(p), *port[1:]) for p in ("ts2phc", "ptp4l")]
    hw = FleetHw(gpu=[], gpu_changes=[], ptp=ports, ptp_ports=2, ptp_short=2)
    said = [line for line in _handover(hw).recommendations if "du-2/ens7f0" in line]
    assert said == ["Clock in FREERUN on PTP port du-2/ens7f0 (ts2phc) of ran-east: check its "
                    "grandmaster and GNSS."]  # fmt: skip


# -- 5: a past period of a cluster with no Alertmanager ------------------------------------------


@pytest.mark.asyncio
async def test_a_past_period_says_a_cluster_has_no_alertmanager(sample_core: Core) -> None:
    """The sample capture has no Alertmanager: a report ending an hour before its end says so
    for the alerts firing at that end, as one ending now does, not "nothing"."""
    until = datetime(2026, 12, 6, 11, tzinfo=UTC)
    for end in (until, None):
        inputs = await gather(sample_core.reports, ReportType.EXECUTIVE, None,
                              timedelta(hours=1), end)  # fmt: skip
        west = next(f for f in inputs.clusters if f.name == "ran-west")
        assert west.alerts_unread == NO_ALERTMANAGER, end
        table = _table(build_report(inputs), "ran-west", "Alerts firing at the end")
        assert (table.rows, table.empty) == ([], NO_ALERTMANAGER)
        assert not any("alerts" in line for line in unread_of(inputs))  # nothing failed


# -- 6: a GPU read that failed in part -----------------------------------------------------------


def _gpu(key: str, state: GpuState, *reasons: str) -> GpuHealth:
    cluster, node, gpu = key.split("/")
    return GpuHealth(GpuReading(cluster, node, gpu.removeprefix("gpu"), key), state,
                     list(reasons), False)  # fmt: skip


FAILED = ClusterOutcome("ran-hub", False, 0.0, reason="timed_out",
                        error="ran-hub: timed out after 10 s")  # fmt: skip


def test_a_gpu_read_that_failed_in_part_is_said_to_be() -> None:
    """The hub's read failed for some fields, one GPU of ran-east came back: ran-east's GPUs
    were read in part, with the reason; ran-west's, none back, are not read, as before."""
    now = GpuFleet([_gpu("ran-east/gpu-1/gpu3", GpuState.CRITICAL, "XID 79")], [FAILED])
    facts: dict[str, FleetHw] = {}
    _gpu_facts(facts, now, GpuFleet([], []), {"ran-hub": ["ran-east", "ran-west"]})
    east = facts["ran-east"]
    assert east.gpu == [("ran-east/gpu-1/gpu3", "CRITICAL", "XID 79")]
    assert east.gpu_unread == "read in part (ran-hub: timed out after 10 s)"
    assert facts["ran-west"].gpu is None
    assert facts["ran-west"].gpu_unread == "not read (ran-hub: timed out after 10 s)"
    until = datetime(2026, 12, 2, 12, tzinfo=UTC)
    inputs = ReportInputs(ReportType.HANDOVER, until - SHIFT, until, until, [
        ClusterFacts("ran-east", "OK", 100, hw=east, findings=[], observed=True),
    ])  # fmt: skip
    report = build_report(inputs)
    for title in ("GPUs not OK", "GPU health changes in the period"):
        table = _table(report, "ran-east", title)
        assert table.title == f"{title}, read in part (ran-hub: timed out after 10 s)"
    assert "GPU health read in part (ran-hub: timed out after 10 s): ran-east" in report.summary
    assert unread_of(inputs) == [
        "ran-east: GPU health read in part (ran-hub: timed out after 10 s)"
    ]
    # none of those read is unwell: still no all-clear, nor "nothing" in the table
    east.gpu = []
    report = build_report(inputs)
    assert _table(report, "ran-east", "GPUs not OK").empty == (
        "no GPU not OK among those read: read in part (ran-hub: timed out after 10 s)"
    )
    assert report.recommendations[0].startswith("The GPU or PTP reads of ran-east were not whole")


@pytest.mark.asyncio
async def test_a_capture_report_before_its_gpu_answers_says_they_were_read_in_part(
    sample_core: Core,
) -> None:
    """At 11:30 the sample capture holds the answer of one GPU field only: ran-east's one GPU
    that came back is not the whole of its GPUs."""
    until = datetime(2026, 12, 6, 11, 30, tzinfo=UTC)
    inputs = await gather(sample_core.reports, ReportType.HANDOVER, None, timedelta(hours=1),
                          until)  # fmt: skip
    east = next(f for f in inputs.clusters if f.name == "ran-east")
    assert east.hw.gpu and east.hw.gpu_unread.startswith("read in part (ran-hub: the capture")


# -- 7: the assistant's report, on a full disk ---------------------------------------------------


@pytest.mark.asyncio
async def test_the_assistants_report_on_a_full_disk_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills up half way through the write: no part of a report is left (nor
    listed among the kept ones), and the tool says why in words."""
    reports = tmp_path / "reports"
    core = await asyncio.to_thread(open_capture, SAMPLE, reports_dir=reports)
    await core.registry.load()

    def full(self: Path, data: str, *args: object, **kw: object) -> int:
        with self.open("w", encoding="utf-8") as handle:
            handle.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        monkeypatch.setattr(Path, "write_text", full)
        with pytest.raises(ToolError, match="No space left on device"):
            await generate_report(core, ReportInput(type="executive", format="html"))
        monkeypatch.undo()
        assert list(reports.iterdir()) == []
        assert core.reports.kept() == []
        made = await generate_report(core, ReportInput(type="executive", format="html"))
        assert [str(p) for p in core.reports.kept()] == [made["path"]]
        assert Path(made["path"]).read_text("utf-8").startswith("<")
    finally:
        await core.shutdown()


def test_a_port_in_freerun_by_one_process_and_lapsed_by_another_is_one_line() -> None:
    """ts2phc FREERUN now, ptp4l LOCKED now but out of lock in the period: the port's
    grandmaster and GNSS are checked once, not recommended twice."""
    shares = ("100.0%", "90.0%", "90.0%", "0 s", "600 s")
    ports = [("du-2/ens7f0 (ts2phc)", "FREERUN", *shares),
             ("du-2/ens7f0 (ptp4l)", "LOCKED", *shares)]  # fmt: skip
    hw = FleetHw(gpu=[], gpu_changes=[], ptp=ports, ptp_ports=2, ptp_short=2)
    said = [line for line in _handover(hw).recommendations if "du-2" in line]
    assert len(said) == 1 and "FREERUN" in said[0], said
