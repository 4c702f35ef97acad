"""What a report says is what the app knows: every finding that calls for a hand is a
recommendation, never "No action needed" beside a CRITICAL or DEGRADED cluster."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aiops_desktop.models import AlertSeverity, ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.reports import gather
from aiops_desktop.store.series import SeriesBatch
from analysis.reports.build import ClusterFacts, FleetHw, PanelData, ReportInputs, build_report

UNTIL = datetime(2026, 11, 27, 6, tzinfo=UTC)
SINCE = UNTIL - timedelta(hours=12)
QUIET = [(SINCE + timedelta(minutes=m), "ONLINE", 100, "") for m in range(0, 720, 30)]


def _report(kind: ReportType, *facts: ClusterFacts):  # type: ignore[no-untyped-def]
    return build_report(ReportInputs(kind, SINCE, UNTIL, UNTIL, list(facts)))


# -- 1: findings become recommendations --------------------------------------------------------


def test_an_anomaly_finding_going_on_from_before_the_period_is_recommended() -> None:
    """An episode that began 14 h ago, still CRITICAL now: none of the period's anomalies,
    yet the cluster is CRITICAL for it, so the report says what to look at."""
    facts = ClusterFacts("ran-east", "CRITICAL", 75, health=QUIET, findings=[
        ("CRITICAL", "anomalies", "gpu_temperature", "gpu_temperature 91 C above the 80 C limit"),
    ])  # fmt: skip
    recommendations = _report(ReportType.EXECUTIVE, facts).recommendations
    assert not any(r.startswith("No action needed") for r in recommendations)
    (said,) = recommendations
    assert "gpu_temperature 91 C above the 80 C limit" in said and "ran-east" in said


def test_a_handover_recommends_every_ptp_finding_its_ptp_read_does_not_say() -> None:
    """PTP read: FREERUN is said by the port's own line (once); its offset out of band, and a
    LOCKED port whose ptp4l is down, are recommendations of their own."""
    facts = ClusterFacts("ran-west", "CRITICAL", 60, health=QUIET, findings=[
        ("CRITICAL", "PTP", "du-2/ens1f0 (ptp4l)", "clock in FREERUN (clock class 248)"),
        ("WARNING", "PTP", "du-1/ens1f0 (ptp4l)", "ptp4l is down"),
        ("WARNING", "PTP", "du-2/ens1f0 (ptp4l)", "offset 350 ns beyond +/-100 ns"),
        ("INFO", "PTP", "du-3/ens1f0 (ptp4l)", "nothing to do"),
    ], hw=FleetHw(gpu=[], gpu_changes=[], ptp_ports=3, ptp=[
        ("du-1/ens1f0", "LOCKED", "100%", "100%", "100%", "0 s", "0 s"),
        ("du-2/ens1f0", "FREERUN", "100%", "50%", "50%", "0 s", "600 s"),
    ]))  # fmt: skip
    recommendations = _report(ReportType.HANDOVER, facts).recommendations
    text = "\n".join(recommendations)
    assert recommendations[0].startswith("Clock in FREERUN on PTP port du-2/ens1f0")
    assert text.count("FREERUN") == 1  # the port's line says it; the finding is not repeated
    assert any("ptp4l is down" in r and "du-1/ens1f0" in r for r in recommendations)
    assert any("offset 350 ns" in r and "du-2/ens1f0" in r for r in recommendations)
    assert "nothing to do" not in text and "No action needed" not in text


def test_a_gpu_finding_the_handovers_gpu_read_lists_is_said_once() -> None:
    facts = ClusterFacts("ai-lab", "CRITICAL", 60, health=QUIET, findings=[
        ("CRITICAL", "GPU", "dgx-0/gpu7", "XID 79 GPU has fallen off the bus"),
        ("WARNING", "GPU", "dgx-1/gpu2", "temperature 72 C (warning >= 70 C)"),
    ], hw=FleetHw(gpu=[("ai-lab/dgx-0/gpu7", "CRITICAL", "XID 79 GPU has fallen off the bus")],
                  gpu_changes=[]))  # fmt: skip
    text = "\n".join(_report(ReportType.HANDOVER, facts).recommendations)
    assert text.count("XID 79") == 1
    assert "temperature 72 C" in text  # not in the GPU read (read later, or OK by then)


def test_a_critical_or_degraded_cluster_is_never_said_to_need_nothing() -> None:
    """A past period: its findings were not kept, the cluster was DEGRADED at its end."""
    for state in ("CRITICAL", "DEGRADED"):
        facts = ClusterFacts("ran-east", state, 80, health=QUIET)
        (said,) = _report(ReportType.EXECUTIVE, facts).recommendations
        assert not said.startswith("No action needed") and f"ran-east is {state}" in said
    quiet = ClusterFacts("ran-east", "OK", 100, health=QUIET, findings=[])
    assert _report(ReportType.EXECUTIVE, quiet).recommendations[0].startswith("No action needed")


# -- 2: a finding whose source was not read now is said to be the last known ------------------


def test_a_stale_finding_is_said_last_known_with_the_sources_not_read() -> None:
    from aiops_desktop.models.enums import FindingSeverity
    from aiops_desktop.models.fleet import ClusterTruth, Coverage, Domain, Finding, Health
    from aiops_desktop.services.outputs.reports import _judged
    from analysis.reports.render_text import to_markdown

    found = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-1/gpu3",
                    "XID 79 GPU has fallen off the bus", stale=True)  # fmt: skip
    truth = ClusterTruth(name="ran-east", title="ran-east", hub=None, state=Health.CRITICAL,
                         health_score=60, data_age_s=4 * 3600.0, findings=[found],
                         coverage={"metrics": Coverage.UNREACHABLE, "alerts": Coverage.READ,
                                   "findings": Coverage.UNREACHABLE},
                         unread={"findings": "GPU: connection refused"})  # fmt: skip
    judged = _judged(truth, "ran-east", True)
    assert judged.findings is not None and [f.stale for f in judged.findings] == [True]
    assert judged.unread == ["metrics (unreachable)", "findings (GPU: connection refused)"]
    facts = ClusterFacts("ran-east", judged.state, judged.score, health=QUIET,
                         findings=judged.findings, unread=judged.unread)  # fmt: skip
    report = _report(ReportType.EXECUTIVE, facts)
    table = next(t for t in report.sections[0].tables if t.title.startswith("Findings"))
    assert table.rows[0][3] == "XID 79 GPU has fallen off the bus (last known)"
    assert ("Not read now", "metrics (unreachable), findings (GPU: connection refused)") in (
        report.sections[0].facts
    )
    (said,) = report.recommendations
    assert "XID 79" in said and "last known" in said
    text = to_markdown(report)
    assert "(last known)" in text and "GPU: connection refused" in text


# -- 3: alerts that were not read are not said to be none -------------------------------------


@pytest.mark.asyncio
async def test_alerts_not_read_now_are_not_said_to_be_none(core: Core) -> None:
    """east's Alertmanager stopped answering after it was recorded firing KubeNodeNotReady:
    the alerts firing at the end are not "nothing", but not read, with the one the stored
    history holds unresolved as the last known."""
    dead = "http://127.0.0.1:9"
    await core.registry.add(ClusterSpec(name="east", endpoint_urls={
        EndpointKind.PROMETHEUS: dead, EndpointKind.ALERTMANAGER: dead}))  # fmt: skip
    now = utcnow()
    alert = Alert(fingerprint="f1", cluster="east", name="KubeNodeNotReady",
                  severity=AlertSeverity.CRITICAL, starts_at=now - timedelta(minutes=40),
                  annotations={"summary": "node du-3 is NotReady"})  # fmt: skip
    await asyncio.wrap_future(
        core.alert_events.record("east", [alert], now - timedelta(minutes=30))
    )
    await core.poller.poll_once()
    inputs = await gather(core.reports, ReportType.HANDOVER, None, timedelta(hours=2))
    (east,) = inputs.clusters
    assert east.alerts_unread.startswith("not read (") and east.alerts == [
        ("CRITICAL", "KubeNodeNotReady", "node du-3 is NotReady")
    ]
    report = build_report(inputs)
    table = next(t for t in report.sections[0].tables if t.title.startswith("Alerts firing"))
    assert table.title.startswith(
        "Alerts firing at the end of the period, last known (now not read ("
    )
    assert table.rows == [["CRITICAL", "KubeNodeNotReady", "node du-3 is NotReady"]]
    assert any("last known" in line for line in report.summary)


def test_alerts_not_read_with_none_stored_say_not_read() -> None:
    facts = ClusterFacts("east", "STALE", 70, health=QUIET, alerts_unread="not read (refused)")
    table = next(t for t in _report(ReportType.HANDOVER, facts).sections[0].tables
                 if t.title.startswith("Alerts firing"))  # fmt: skip
    assert table.rows == [] and table.empty == "not read (refused)"


# -- 4: a fleet hub's own data has a section of its own ---------------------------------------


@pytest.mark.asyncio
async def test_a_hubs_own_outage_and_alerts_are_in_its_report(core: Core) -> None:
    """The hub's Thanos was down 6 h to 4 h ago, its own ThanosQueryDown alert filed under
    its name: the hub's section holds both, beside its members' sections."""
    dead = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9",
            EndpointKind.ALERTMANAGER: "http://127.0.0.1:9"}  # fmt: skip
    await core.registry.add(ClusterSpec(name="acm-hub", kind=ClusterKind.FLEET, endpoint_urls=dead))
    await core.registry.set_members("acm-hub", ["ran-a", "ran-b"])
    now = utcnow()
    end = int(now.timestamp()) // 60 * 60
    ts = np.arange(end - 12 * 3600, end, 60)
    await asyncio.wrap_future(core.series.append([
        SeriesBatch(m, "node_cpu", {"instance": f"{m}-0"}, ts * 1000, np.full(ts.size, 30.0))
        for m in ("ran-a", "ran-b")
    ]))  # fmt: skip
    await asyncio.wrap_future(core.series.flush())
    for minutes in range(12 * 60, -1, -30):
        down = 240 <= minutes < 360
        await core.registry.apply_check(
            "acm-hub", {EndpointKind.PROMETHEUS: not down},
            "acm-hub/prometheus: connection refused" if down else None,
            at=now - timedelta(minutes=minutes),
        )  # fmt: skip
    own = Alert(fingerprint="h1", cluster="acm-hub", name="ThanosQueryDown",
                severity=AlertSeverity.CRITICAL, starts_at=now - timedelta(minutes=50),
                annotations={"summary": "Thanos querier on the hub is down"})  # fmt: skip
    await asyncio.wrap_future(
        core.alert_events.record("acm-hub", [own], now - timedelta(minutes=45))
    )
    inputs = await gather(core.reports, ReportType.HANDOVER, ["acm-hub"], timedelta(hours=12))
    assert [f.name for f in inputs.clusters] == ["acm-hub", "ran-a", "ran-b"]
    hub = inputs.clusters[0]
    assert [h[3] for h in hub.alert_history] == ["ThanosQueryDown"]
    assert all(not f.health for f in inputs.clusters[1:])  # the hub's checks: its section only
    report = build_report(inputs)
    changes = next(t for t in report.sections[0].tables if t.title == "State changes")
    assert any("connection refused" in row[3] for row in changes.rows)
    history = next(t for t in report.sections[0].tables if t.title.startswith("Alerts in"))
    assert [row[3] for row in history.rows] == ["ThanosQueryDown"]
    gpu = next(t for t in report.sections[0].tables if t.title.startswith("GPUs not OK"))
    assert gpu.empty == "read per member cluster: ran-a, ran-b (their sections)"


# -- 5: PTP time with no sample is unknown, not short of compliance ---------------------------


@pytest.mark.asyncio
async def test_handover_ptp_compliance_is_judged_over_the_time_sampled(sample_core: Core) -> None:
    """The sample capture's 2 h hold PTP samples for its last hour only: a port LOCKED all
    that hour is not "short of full compliance" (50 % locked of the period); it is said to be
    sampled for half the period, counted apart. The FREERUN port and the one out of its band
    are the two short."""
    inputs = await gather(sample_core.reports, ReportType.HANDOVER, None, timedelta(hours=2))
    west = next(f for f in inputs.clusters if f.name == "ran-west")
    du0 = next(p for p in west.hw.ptp or [] if p[0] == "du-0/ens1f0")
    assert du0 == ("du-0/ens1f0", "LOCKED", "50.2%", "100.0%", "100.0%", "0 s", "0 s")
    summary = build_report(inputs).summary
    assert ("2 of 14 PTP ports need attention or fell short of full compliance in the time "
            "sampled") in summary  # fmt: skip
    assert ("14 of 14 PTP ports were sampled for under 90% of the period (the rest of it is "
            "unknown)") in summary  # fmt: skip
    table = next(t for s in build_report(inputs).sections if s.title == "ran-west"
                 for t in s.tables if t.title.startswith("PTP"))  # fmt: skip
    assert table.headers[2:5] == ["Sampled", "Locked", "Within"]


# -- 6: the capacity plan forecasts every series ----------------------------------------------


def test_the_capacity_plan_finds_the_series_that_crosses_the_limit_first() -> None:
    """node-a sits flat at 70 % (the highest mean, never at 80 %); node-b climbs 6 % a day
    from 20 % and crosses 80 % in about 3 days: the plan is node-b's."""
    ts = np.arange((UNTIL - timedelta(days=7)).timestamp(), UNTIL.timestamp(), 300.0)
    days = (ts - ts[0]) / 86400
    flat = 70.0 + 0.5 * np.sin(np.arange(ts.size) / 7)
    panel = PanelData("Memory use", "%", {"node-a": (ts, flat), "node-b": (ts, 20.0 + 6.0 * days),
                                          "node-c": (ts, 10.0 + 5.0 * days)})  # fmt: skip
    facts = ClusterFacts("ran-east", "OK", 100, panels={"node_memory": panel}, health=QUIET)
    report = build_report(ReportInputs(ReportType.CAPACITY, UNTIL - timedelta(days=7), UNTIL,
                                       UNTIL, [facts]))  # fmt: skip
    (chart,) = report.sections[0].charts
    assert chart.title == "Memory use: node-b, 28-day forecast"  # 4 times its 7 days
    facts_said = dict(report.sections[0].facts)
    assert "reaches 80 % in 3 days" in facts_said["Memory use trend (node-b)"]
    assert facts_said["Memory use series forecast"] == "3: 2 reach 80 % within 28 days"
    (said,) = report.recommendations
    assert said.startswith("Plan capacity on ran-east: Memory use of node-b reaches 80 % in 3 days")
    assert "1 more series reaches it within 28 days" in said


# -- 7: a cut findings table says so ----------------------------------------------------------


def test_a_findings_table_cut_to_its_worst_rows_says_so() -> None:
    found = [("CRITICAL", "GPU", f"gpu-{i}/gpu0", "XID 79 GPU has fallen off the bus")
             for i in range(8)]  # fmt: skip
    facts = ClusterFacts("ai-lab", "CRITICAL", 0, findings=found, health=QUIET)
    table = next(t for t in _report(ReportType.EXECUTIVE, facts).sections[0].tables
                 if t.title.startswith("Findings"))  # fmt: skip
    assert table.title == "Findings now (the 5 worst of 8)" and len(table.rows) == 5
    whole = ClusterFacts("ai-lab", "CRITICAL", 0, findings=found[:5], health=QUIET)
    assert [t.title for t in _report(ReportType.EXECUTIVE, whole).sections[0].tables
            if t.title.startswith("Findings")] == ["Findings now"]  # fmt: skip


# -- 8: two reports made in the same second are two files -------------------------------------


def test_reports_made_in_the_same_second_are_each_written_to_their_own_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The window's, the CLI's and the assistant's reports are all named to the second: each
    one's files are claimed (created, never opened over another's), its formats sharing one
    name."""
    from aiops_desktop.services.outputs.reports import claim_paths, report_path

    def new_report_paths(folder, report, formats):  # type: ignore[no-untyped-def]
        return claim_paths([report_path(folder, report, fmt) for fmt in formats])

    first = _report(ReportType.HANDOVER, ClusterFacts("ran-east", "OK", 100, health=QUIET))
    again = _report(ReportType.HANDOVER, ClusterFacts("ran-west", "OK", 100, health=QUIET))
    one = new_report_paths(tmp_path, first, ["pdf", "md"])
    one[1].write_text("ran-east's")
    two = new_report_paths(tmp_path, again, ["pdf", "md"])
    assert [p.name for p in one] == ["handover-20261127T060000Z.pdf",
                                     "handover-20261127T060000Z.md"]  # fmt: skip
    assert [p.name for p in two] == ["handover-20261127T060000Z-2.pdf",
                                     "handover-20261127T060000Z-2.md"]  # fmt: skip
    assert one[1].read_text() == "ran-east's" and all(p.is_file() for p in two)
    (tmp_path / "handover-20261127T060000Z-3.md").write_text("another's")  # one format taken
    three = new_report_paths(tmp_path, again, ["pdf", "md"])
    assert [p.name for p in three] == ["handover-20261127T060000Z-4.pdf",
                                       "handover-20261127T060000Z-4.md"]  # fmt: skip
    assert not (tmp_path / "handover-20261127T060000Z-3.pdf").exists()  # not left claimed
