"""A report's service reviewed (6): a handover whose GPU or PTP read failed outright (the
Prometheus unreachable, timed out) says it was not read and why, lists it among what could
not be read (the CLI exits 3) and never closes with "No action needed"; a report's incidents
are its clusters' all, never cut at the fleet's first thousand before its clusters are
picked."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from aiops_desktop.models.enums import FindingSeverity, IncidentStatus
from aiops_desktop.models.fleet import Coverage, Health
from aiops_desktop.models.gpu import GpuFleet
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, Compliance, PtpBoard, PtpRow
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.outputs import reports as reports_module
from aiops_desktop.services.outputs.reports import _gpu_facts, _incidents, _ptp_facts, unread_of
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import LIST_LIMIT, IncidentRepository
from analysis.incidents import as_it_stood
from analysis.reports.build import ClusterFacts, FleetHw, ReportInputs, build_report
from analysis.reports.render_text import to_markdown

UNTIL = datetime(2026, 11, 27, 6, tzinfo=UTC)
SHIFT = timedelta(hours=12)
ALL_CLEAR = "No action needed: nothing in this period calls for one."
UNREACHABLE = "ran-east/prometheus (https://10.0.0.5:9090) is unreachable: connection refused"


def _failed(cluster: str) -> ClusterOutcome:
    return ClusterOutcome(cluster, False, 12.0, reason="unreachable", error=UNREACHABLE)


def _failed_reads(cluster: str, served: dict[str, list[str]]) -> dict[str, FleetHw]:
    """A handover's facts where both reads of ``cluster`` failed outright."""
    facts: dict[str, FleetHw] = {}
    gone = GpuFleet([], [_failed(cluster)])
    _gpu_facts(facts, gone, gone, served)
    _ptp_facts(facts, PtpBoard([], SHIFT, DEFAULT_THRESHOLD, [_failed(cluster)]), served)
    return facts


def test_a_failed_gpu_and_ptp_read_is_said_not_read_and_why() -> None:
    """Found in review: "not read (no live GPU metrics)" (as if the cluster had no GPUs),
    nothing in ``unread_of`` (the CLI exited 0), and "No action needed" at the end."""
    hw = _failed_reads("ran-east", {"ran-east": ["ran-east"]})["ran-east"]
    assert hw.gpu is None and hw.ptp is None
    assert hw.gpu_unread == f"not read ({UNREACHABLE})"
    assert hw.ptp_unread == f"not read ({UNREACHABLE})"
    facts = ClusterFacts("ran-east", "ONLINE", 100, hw=hw, findings=[], observed=True,
                         health=[(UNTIL - SHIFT, "ONLINE", 100, "")])  # fmt: skip
    inputs = ReportInputs(ReportType.HANDOVER, UNTIL - SHIFT, UNTIL, UNTIL, [facts])
    assert unread_of(inputs) == [
        f"ran-east: GPU health not read ({UNREACHABLE})",
        f"ran-east: PTP compliance not read ({UNREACHABLE})",
    ]
    report = build_report(inputs)
    assert ALL_CLEAR not in report.recommendations
    text = to_markdown(report)
    assert "no live GPU metrics" not in text and "no live PTP metrics" not in text
    assert f"not read ({UNREACHABLE})" in text


def test_a_hubs_failed_reads_are_its_members() -> None:
    """A fleet hub's reads hold its members': theirs failed with it."""
    facts = _failed_reads("hub", {"hub": ["ran-east", "ran-west"]})
    for name in ("ran-east", "ran-west"):
        assert facts[name].gpu_unread == f"not read ({UNREACHABLE})"
        assert facts[name].ptp_unread == f"not read ({UNREACHABLE})"


def test_a_ptp_read_that_failed_beside_ports_read_is_read_in_part() -> None:
    """Some of ran-east's ports came back, one of its queries failed: the others are not
    known compliant."""
    fine = Compliance(samples=100, locked_pct=100.0, within_pct=100.0, holdover_s=0.0,
                      freerun_s=0.0, long_holdovers=0, longest_holdover_s=0.0,
                      steps=100)  # fmt: skip
    row = PtpRow("ran-east", "du-1", "ens1f0", "ptp4l", ClockState.LOCKED, compliance=fine)
    facts: dict[str, FleetHw] = {}
    _ptp_facts(facts, PtpBoard([row], SHIFT, DEFAULT_THRESHOLD, [_failed("ran-east")]))
    assert facts["ran-east"].ptp_ports == 1
    assert facts["ran-east"].ptp_unread == f"read in part ({UNREACHABLE})"


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[IncidentRepository]:
    db = Database(tmp_path / "cache.sqlite3")
    try:
        yield IncidentRepository(db)
    finally:
        db.close()


def _incident(n: int, cluster: str, state: IncidentStatus) -> Incident:
    at = UNTIL - timedelta(hours=1, minutes=n % 600)
    signal = IncidentSignal(key=f"k{n}", source="alert", cluster=cluster, subject="s",
                            severity=FindingSeverity.WARNING, reason="r", first_seen=at,
                            last_seen=at)  # fmt: skip
    return Incident(id=f"INC-{cluster}-{n}", title=f"{cluster} {n}",
                    severity=FindingSeverity.WARNING, state=state, opened_at=at, updated_at=at,
                    signals=[signal])  # fmt: skip


def test_a_clusters_incidents_are_not_cut_by_the_fleets_first_thousand(
    repo: IncidentRepository,
) -> None:
    """Found in review: 1,000 open incidents of ran-west pushed ran-east's 3 resolved ones out
    of the store's read before the report's clusters were picked: ran-east's report had none."""
    incidents = [_incident(n, "ran-west", IncidentStatus.OPEN) for n in range(LIST_LIMIT)]
    incidents += [_incident(5000 + n, "ran-east", IncidentStatus.RESOLVED) for n in range(3)]
    repo.save(incidents).result()

    async def refresh() -> None:
        return None

    src = SimpleNamespace(now=lambda: UNTIL, capture=None,
                          incidents=SimpleNamespace(refresh=refresh, repo=repo))  # fmt: skip
    mine, _ = asyncio.run(
        _incidents(src, {"ran-east"}, UNTIL - SHIFT, UNTIL, 0)  # type: ignore[arg-type]
    )
    assert sorted(i.id for i in mine) == [f"INC-ran-east-{5000 + n}" for n in range(3)]


def test_a_past_reports_incidents_are_taken_back_in_a_worker_and_only_its_clusters(
    repo: IncidentRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A diff review: a past report took every incident of the fleet back to the period's
    end on the event loop (20,000: 4 s) before picking its clusters'. Only the report's
    clusters' are taken back, in a worker."""
    incidents = [_incident(n, "ran-west", IncidentStatus.OPEN) for n in range(50)]
    incidents += [_incident(5000 + n, "ran-east", IncidentStatus.RESOLVED) for n in range(3)]
    repo.save(incidents).result()
    taken: list[tuple[str, bool]] = []

    def recorded(incident: Incident, at: datetime) -> Incident | None:
        taken.append((incident.id, threading.current_thread() is threading.main_thread()))
        return as_it_stood(incident, at)

    monkeypatch.setattr(reports_module, "as_it_stood", recorded)

    async def refresh() -> None:
        return None

    later = UNTIL + timedelta(days=2)  # the report's period is past
    src = SimpleNamespace(now=lambda: later, capture=None,
                          incidents=SimpleNamespace(refresh=refresh, repo=repo))  # fmt: skip
    mine, _ = asyncio.run(
        _incidents(src, {"ran-east"}, UNTIL - SHIFT, UNTIL, 0)  # type: ignore[arg-type]
    )
    assert sorted(i.id for i in mine) == [f"INC-ran-east-{5000 + n}" for n in range(3)]
    assert sorted(taken) == [(f"INC-ran-east-{5000 + n}", False) for n in range(3)]


def test_a_cluster_judged_no_data_is_said_not_read_as_its_page_says() -> None:
    """``unread_of`` (the CLI's stderr, its exit status) says what the report's pages say
    of a cluster (``not_read``): one judged NO DATA had none of its sources read, though no
    source was lost; it said nothing, and the CLI exited 0."""
    facts = ClusterFacts("ran-east", Health.NO_DATA.value, None, hw=FleetHw(), observed=True)
    inputs = ReportInputs(ReportType.HANDOVER, UNTIL - SHIFT, UNTIL, UNTIL, [facts])
    assert unread_of(inputs) == [f"ran-east: its sources ({Coverage.NO_DATA.value})"]
