"""Reports reviewed (third round): a cluster whose GPUs all went during the shift says each no
longer reported (not "not read", nor an all-clear); the capacity plan's "now" is what was
measured last (a step to 95 % reads 95 %, at the limit now); the incident report analyses the
unresolved incidents first; hourly means on too few days are no trend (a daily cycle's low one
morning and its peak days later are not one)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np

from aiops_desktop.models.enums import FindingSeverity, IncidentStatus
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.reports import Report, ReportType
from aiops_desktop.services.outputs.reports import _gpu_facts, _incidents
from analysis.reports.build import ClusterFacts, FleetHw, PanelData, ReportInputs, build_report
from analysis.reports.forecast import forecast, trend

UNTIL = datetime(2026, 11, 27, 6, tzinfo=UTC)


def _report(kind: ReportType, since: timedelta, *facts: ClusterFacts) -> Report:
    return build_report(ReportInputs(kind, UNTIL - since, UNTIL, UNTIL, list(facts)))


# -- 1: a cluster whose GPUs all went during the shift ----------------------------------------


def _ok(cluster: str, node: str, gpu: int) -> GpuHealth:
    return GpuHealth(GpuReading(cluster, node, str(gpu), f"GPU-{cluster}-{gpu}"), GpuState.OK,
                     [], False)  # fmt: skip


THEN = GpuFleet([_ok("ran-east", "gpu-1", i) for i in range(8)] + [_ok("ai-lab", "dgx-0", 0)], [])


def test_a_cluster_whose_gpus_all_went_says_each_no_longer_reported() -> None:
    """Found in review: ran-east's GPU node went down in the shift; none of its 8 GPUs is
    reported at the end, its read did not fail. Its tables said "not read (no live GPU
    metrics)", the summary "0 GPUs changed health", the close "No action needed"."""
    hw: dict[str, FleetHw] = {}
    _gpu_facts(hw, GpuFleet([_ok("ai-lab", "dgx-0", 0)], []), THEN)
    went = hw["ran-east"]
    assert went.gpu == []  # read: none is reported at the end
    assert [(c.before, c.after) for c in went.gpu_changes or []] == [(GpuState.OK, None)] * 8
    facts = [ClusterFacts(name, "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")],
                          hw=hw.get(name, FleetHw()))
             for name in ("ran-east", "ai-lab")]  # fmt: skip
    report = _report(ReportType.HANDOVER, timedelta(hours=12), *facts)
    changes = next(t for t in report.sections[0].tables if t.title.startswith("GPU health chan"))
    assert [row[2] for row in changes.rows] == ["not reported"] * 8
    assert "8 GPUs changed health in the period" in report.summary
    assert any(r.startswith("8 GPUs of ran-east are no longer reported") and "check their nodes"
               in r for r in report.recommendations), report.recommendations  # fmt: skip


def test_gpus_gone_where_the_read_at_the_end_failed_are_not_read() -> None:
    """Where ran-east's read at the end failed (or its hub's, which reads it), its GPUs are
    not known gone: not read, as before."""
    failed = ClusterOutcome("ran-east", ok=False, duration_ms=20000.0, reason="timed_out",
                            error="timed out")  # fmt: skip
    hw: dict[str, FleetHw] = {}
    _gpu_facts(hw, GpuFleet([_ok("ai-lab", "dgx-0", 0)], [failed]), THEN)
    assert hw["ran-east"].gpu is None and hw["ran-east"].gpu_changes is None
    assert hw["ran-east"].gpu_unread == "not read (timed out)"  # said, not a cluster without GPUs
    hub = ClusterOutcome("hub", ok=False, duration_ms=20000.0, reason="timed_out",
                         error="timed out")  # fmt: skip
    hw = {}
    _gpu_facts(hw, GpuFleet([_ok("ai-lab", "dgx-0", 0)], [hub]), THEN,
               served={"hub": ["ran-east"]})  # fmt: skip
    assert hw["ran-east"].gpu is None and hw["ran-east"].gpu_changes is None
    assert hw["ran-east"].gpu_unread == "not read (timed out)"
    assert hw["ai-lab"].gpu_changes == []


# -- 2: the capacity plan's "now" is measured -------------------------------------------------


def _memory_stepped() -> tuple[np.ndarray, np.ndarray]:
    """A week of memory a minute apart: 20 %, then 95 % for the last 24 h."""
    ts = np.arange((UNTIL - timedelta(days=7)).timestamp(), UNTIL.timestamp(), 60.0)
    return ts, np.where(ts < UNTIL.timestamp() - 86400, 20.0, 95.0)


def test_a_capacity_plan_says_the_last_measured_level_and_a_limit_reached_now() -> None:
    """Found in review: memory at 95 % for the last 24 h read "58.1 percent now, +7.87 a
    day; reaches 80 percent in 3 days" (the fitted line at the last hour)."""
    ts, memory = _memory_stepped()
    found = forecast(ts, memory, limit=80.0, bounds=(0.0, 100.0))
    assert found is not None and found.last == 95.0 and found.days_to_limit == 0.0
    assert found.slope_per_day > 0  # the fit's
    stepped = trend(ts, memory, limit=80.0)
    assert stepped is not None and stepped.last == 95.0 and stepped.days_to_limit == 0.0
    panel = PanelData("Node memory used", "percent", {"n1": (ts, memory)})
    facts = ClusterFacts("ran-east", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")],
                         panels={"node_memory": panel})  # fmt: skip
    report = _report(ReportType.CAPACITY, timedelta(days=7), facts)
    said = dict(report.sections[0].facts)["Node memory used trend (n1)"]
    assert said.startswith("95.0 percent now, +") and said.endswith("reaches 80 percent now")
    assert ("Plan capacity on ran-east: Node memory used of n1 reaches 80 percent now at the "
            "present trend.") in report.recommendations  # fmt: skip


# -- 3: the incident report analyses the unresolved first --------------------------------------


def _incident(name: str, hours_ago: int, state: IncidentStatus) -> Incident:
    at = UNTIL - timedelta(hours=hours_ago)
    signal = IncidentSignal(key=name, source="alert", cluster="ran-east", subject="s",
                            severity=FindingSeverity.CRITICAL, reason="r", first_seen=at,
                            last_seen=at)  # fmt: skip
    return Incident(id=name, title=name, severity=FindingSeverity.CRITICAL, state=state,
                    opened_at=at, updated_at=at, signals=[signal])  # fmt: skip


def test_the_open_incident_is_analysed_before_newer_resolved_ones() -> None:
    """Found in review: of 4 CRITICAL incidents, the one still OPEN (opened first: what the
    next shift takes over) got no root-cause section; the 3 resolved after it did."""
    every = [_incident("INC-open", 6, IncidentStatus.OPEN)]
    every += [_incident(f"INC-resolved-{n}", 3 - n, IncidentStatus.RESOLVED) for n in range(3)]

    async def refresh() -> None:
        return None

    async def for_incident(incident: Incident, at: datetime) -> SimpleNamespace:
        return SimpleNamespace(shown=lambda: incident.id)

    src = SimpleNamespace(
        now=lambda: UNTIL, capture=None, rca=SimpleNamespace(for_incident=for_incident),
        incidents=SimpleNamespace(refresh=refresh,
                                  repo=SimpleNamespace(active=lambda resolved_since: every)),
    )  # fmt: skip
    mine, analysed = asyncio.run(
        _incidents(src, {"ran-east"}, UNTIL - timedelta(hours=12), UNTIL, 3)  # type: ignore[arg-type]
    )
    assert analysed == ["INC-open", "INC-resolved-2", "INC-resolved-1"]
    assert mine[0].id == "INC-open"


# -- 4: hourly means on too few days are no trend ----------------------------------------------


def _bursts(hours: int, first: datetime) -> tuple[np.ndarray, np.ndarray]:
    """``hours`` of samples from ``first`` (a daily cycle's low, 30 %), as many at the end
    (its peak, 60 %)."""
    last = (UNTIL - timedelta(hours=hours)).timestamp()
    start = first.timestamp()
    ts = np.concatenate([np.arange(start, start + hours * 3600, 60.0),
                         np.arange(last, last + hours * 3600, 60.0)])  # fmt: skip
    return ts, np.where(ts < last, 30.0, 60.0)


def test_a_morning_low_and_an_afternoon_peak_days_apart_are_no_trend() -> None:
    """Found in review: 6 hourly means over 3 days (3 one morning, 3 three days later) read
    "+9.23 a day; reaches 80 percent in 2 days"."""
    # 21:00 to 24:00, and 03:00 to 06:00 three days later
    ts, cpu = _bursts(3, UNTIL - timedelta(days=3, hours=9))
    assert trend(ts, cpu, limit=80.0) is None
    assert forecast(ts, cpu, limit=80.0) is None
    panel = PanelData("Node CPU", "percent", {"n1": (ts, cpu)})
    facts = ClusterFacts("ran-east", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")],
                         panels={"node_cpu": panel})  # fmt: skip
    report = _report(ReportType.CAPACITY, timedelta(days=7), facts)
    said = dict(report.sections[0].facts)["Node CPU trend"]
    assert said.startswith("none claimed: only 6 hours of samples"), said
    assert not any(r.startswith("Plan capacity") for r in report.recommendations)


def test_a_day_of_hourly_means_on_two_days_is_no_trend() -> None:
    """12 hours one day and 12 three and a half days later: 24 hourly means over 4 days, on
    2 of the 3 days a trend needs."""
    ts, cpu = _bursts(12, UNTIL - timedelta(days=4))
    assert trend(ts, cpu, limit=80.0) is None
    assert forecast(ts, cpu, limit=80.0) is None
