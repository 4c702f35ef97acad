"""A report counts every anomaly of its period and lists the most severe (a flapping signal
never pushes an older CRITICAL out), and a handover whose live GPU/PTP reads ran past their
time limit says so, not "no live metrics"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType
from aiops_desktop.models.gpu import GpuFleet
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.reports import Report, ReportType, Section, Table
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs import reports
from aiops_desktop.settings import resolve_paths
from analysis.reports.build import ClusterFacts, ReportInputs, build_report
from analysis.reports.render_text import to_markdown

DEAD = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}


@pytest_asyncio.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    await opened.registry.add(ClusterSpec(name="ran-east", endpoint_urls=DEAD))
    yield opened
    await opened.shutdown()


def _anomaly(at: datetime, severity: AnomalySeverity, metric: str, text: str,
             score: float) -> Anomaly:  # fmt: skip
    return Anomaly(cluster="ran-east", metric=metric, method=AnomalyMethod.DOMAIN_RULE,
                   timestamp=at, started_at=at, last_at=at, score=score, threshold=1.0,
                   severity=severity, confidence=0.9, type=AnomalyType.THRESHOLD_BREACH,
                   expected=0.0, actual=score, explanation=text)  # fmt: skip


def _section(report: Report, name: str) -> Section:
    return next(s for s in report.sections if s.title == name)


def _table(section: Section, start: str) -> Table:
    return next(t for t in section.tables if t.title.startswith(start))


# -- a report counts every anomaly, and lists the most severe -----------------------------------


@pytest.mark.asyncio
async def test_a_report_counts_every_anomaly_and_keeps_an_older_critical(core: Core) -> None:
    """One CRITICAL on day 1 (a weak score: a clock leaving LOCKED) and 1,200 HIGH flaps
    since, with higher scores: the report counts 1,201, lists the CRITICAL (in the table and
    first among the recommendations) and says how many it leaves out."""
    now = utcnow()
    found = [_anomaly(now - timedelta(days=6, hours=12), AnomalySeverity.CRITICAL,
                      "gpu_xid_errors", "GPU reported XID 79", 1.5)]  # fmt: skip
    found += [_anomaly(now - timedelta(minutes=5 * i + 1), AnomalySeverity.HIGH, "ptp_offset",
                       f"PTP offset flap {i}", 3.5 + i / 1000) for i in range(1200)]  # fmt: skip
    await asyncio.wrap_future(core.anomalies.repo.save(found))
    report = await core.reports.make(ReportType.DETAILED, ["ran-east"], timedelta(days=7))
    assert "1201 anomalies (1201 CRITICAL or WARNING) and 0 state changes in the period" in (
        report.summary
    )
    section = _section(report, "ran-east")
    assert ("Anomalies", "1201 (1201 CRITICAL or WARNING)") in section.facts
    table = _table(section, "Anomalies")
    assert table.title.startswith("Anomalies (1201, the 50 most severe")
    assert any(row[5] == "GPU reported XID 79" for row in table.rows)
    assert len(table.rows) == 50
    anomaly_lines = [r for r in report.recommendations if "investigate" in r]
    assert anomaly_lines[0].startswith("GPU reported XID 79 (gpu_xid_errors on ran-east")
    # the strongest HIGH ones follow it, not the newest
    assert anomaly_lines[1].startswith("PTP offset flap 1199 ")
    cut = reports.REPORT_ANOMALIES
    left = 1201 - cut
    assert any(f"{left} of its 1201 anomalies" in n for n in section.notes), section.notes
    assert f"{left} of its 1201 anomalies" in to_markdown(report)


@pytest.mark.asyncio
async def test_anomalies_worst_after_a_past_periods_end_are_counted_once(core: Core) -> None:
    """A past period: one anomaly worst in it, one that began in it and was worst after its
    end (counted: it is the period's), one that began after it (not counted)."""
    until = utcnow() - timedelta(hours=2)
    inside = _anomaly(until - timedelta(hours=1), AnomalySeverity.HIGH, "a", "inside", 4.0)
    later = _anomaly(until + timedelta(minutes=30), AnomalySeverity.CRITICAL, "b", "later", 9.0)
    later = later.model_copy(update={"started_at": until - timedelta(minutes=10)})
    after = _anomaly(until + timedelta(minutes=40), AnomalySeverity.LOW, "c", "after", 1.2)
    at_end = _anomaly(until, AnomalySeverity.MEDIUM, "d", "at the end", 2.5)
    await asyncio.wrap_future(core.anomalies.repo.save([inside, later, after, at_end]))
    report = await core.reports.make(ReportType.DETAILED, ["ran-east"], timedelta(hours=6), until)
    section = _section(report, "ran-east")
    assert ("Anomalies", "3 (2 CRITICAL or WARNING)") in section.facts
    rows = _table(section, "Anomalies (3)").rows
    assert sorted(row[5].split(" (")[0] for row in rows) == ["at the end", "inside", "later"]
    assert not any("anomalies" in n for n in section.notes)


def test_anomalies_a_report_did_not_read_are_said_in_its_timeline() -> None:
    """Counted 6, two read (the most severe): the incident report's timeline says the other
    four are not in it, the section counts six."""
    until = utcnow()
    read = [_anomaly(until - timedelta(hours=h), AnomalySeverity.CRITICAL, "m", f"r{h}", 5.0)
            for h in (1, 2)]  # fmt: skip
    counts = {AnomalySeverity.CRITICAL: 2, AnomalySeverity.LOW: 4}
    facts = ClusterFacts("ran-east", "ONLINE", 100, anomalies=read, anomaly_counts=counts)
    report = build_report(ReportInputs(ReportType.INCIDENT, until - timedelta(hours=6), until,
                                       until, [facts]))  # fmt: skip
    timeline = _section(report, "Timeline")
    assert ("Not in the timeline", "4 less severe anomalies (each cluster's section says how "
            "many)") in timeline.facts  # fmt: skip
    assert ("Anomalies", "6 (2 CRITICAL or WARNING)") in _section(report, "ran-east").facts
    assert "6 anomalies (2 CRITICAL or WARNING) and 0 state changes in the period" in (
        report.summary
    )


# -- a handover's live reads past their time limit say so ---------------------------------------


@pytest.mark.asyncio
async def test_handover_reads_past_the_time_limit_say_so(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU read runs past the limit: the GPU and PTP tables and the summary say they
    were not read within it, not that there are no live metrics."""

    async def slow(*args: object, **kwargs: object) -> GpuFleet:
        await asyncio.sleep(5)
        raise AssertionError("not reached")

    monkeypatch.setattr(reports, "LIVE_READ_TIMEOUT_S", 0.2)
    monkeypatch.setattr(reports, "read_gpu_fleet", slow)
    report = await core.reports.make(ReportType.HANDOVER, None, timedelta(hours=12))
    section = _section(report, "ran-east")
    late = "not read within 0.2 s (the time limit on a handover's live reads)"
    assert _table(section, "GPUs not OK").empty == late
    assert _table(section, "GPU health changes").empty == late
    assert _table(section, "PTP compliance").empty == late
    assert f"GPU health {late}: ran-east" in report.summary
    assert f"PTP compliance {late}: ran-east" in report.summary
    assert "no live" not in to_markdown(report)


@pytest.mark.asyncio
async def test_handover_ptp_read_past_the_limit_leaves_the_gpu_read_as_it_was(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU read answers (no GPU there) and the PTP read runs past the limit: only PTP is
    said not read within it."""

    async def none(*args: object, **kwargs: object) -> GpuFleet:
        return GpuFleet([], [])

    async def slow(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(5)
        raise AssertionError("not reached")

    monkeypatch.setattr(reports, "LIVE_READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(reports, "read_gpu_fleet", none)
    monkeypatch.setattr(reports, "read_ptp_board", slow)
    report = await core.reports.make(ReportType.HANDOVER, None, timedelta(hours=12))
    section = _section(report, "ran-east")
    assert _table(section, "GPUs not OK").empty == "not read (no live GPU metrics)"
    late = "not read within 0.5 s (the time limit on a handover's live reads)"
    assert _table(section, "PTP compliance").empty == late
    assert not any(line.startswith("GPU health") for line in report.summary)
    assert f"PTP compliance {late}: ran-east" in report.summary
