"""A report reviewed (third round): outside text (an alert's summary, a failing trace's
error) is cut in every format, whatever built the tables; a GPU CRITICAL all shift is in the
handover's summary; the incidents table names each incident's ID (what ``rca --incident``
takes); a cluster with no Alertmanager is not said to have its alerts unread."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aiops_desktop.models.enums import FindingSeverity, IncidentStatus
from aiops_desktop.models.incidents import Incident, IncidentSignal, RcaReport
from aiops_desktop.models.reports import Report, ReportType
from aiops_desktop.services.outputs.reports import NO_ALERTMANAGER, unread_of
from analysis.reports import build
from analysis.reports.build import ClusterFacts, FleetHw, ReportInputs, build_report
from analysis.reports.render_text import CELL_CHARS, to_html, to_json, to_markdown

UNTIL = datetime(2026, 11, 27, 6, tzinfo=UTC)
SHIFT = timedelta(hours=12)
HUGE = "word " * 40_000  # a 200 kB alert summary annotation
TRACE_ERROR = "at x.y(z)\n" * 30_000  # a 300 kB stack trace as a span's status message


def _inputs(kind: ReportType, *facts: ClusterFacts, **kw) -> ReportInputs:  # type: ignore[no-untyped-def]
    return ReportInputs(kind, UNTIL - SHIFT, UNTIL, UNTIL, list(facts), **kw)


def _report(kind: ReportType, *facts: ClusterFacts, **kw) -> Report:  # type: ignore[no-untyped-def]
    return build_report(_inputs(kind, *facts, **kw))


def _incident(n: int, state: IncidentStatus = IncidentStatus.OPEN) -> Incident:
    at = UNTIL - timedelta(minutes=5 * n + 5)
    signal = IncidentSignal(key=f"k{n}", source="alert", cluster="ran-east", subject="s",
                            severity=FindingSeverity.CRITICAL, reason="r", first_seen=at,
                            last_seen=UNTIL)  # fmt: skip
    return Incident(id=f"INC-20261127-{n:04x}", title=f"incident {n}",
                    severity=FindingSeverity.CRITICAL, state=state, opened_at=at,
                    updated_at=UNTIL, signals=[signal])  # fmt: skip


# -- 1: outside text is cut in every format ------------------------------------------------------


def _hostile() -> list[Report]:
    """A past shift's handover and an incident report whose alerts carry 200 kB summaries,
    the latter with a failing trace's 300 kB error in its root-cause section."""
    alerts = [("critical", f"Alert{i}", "<b>bold</b>\x1b[31m" + HUGE) for i in range(5)]
    history: list[tuple[datetime, datetime | None, str, str, str]]
    history = [(UNTIL - timedelta(hours=1), None, "critical", f"Alert{i}", HUGE) for i in range(5)]
    facts = ClusterFacts("ran-east", "CRITICAL", 10, health=[(UNTIL, "CRITICAL", 10, "")],
                         alerts=alerts, alert_history=history)  # fmt: skip
    rca = RcaReport("INC-1", "w", 3, [], traces={
        "ran-east pod a/b": [("2026-11-27 05:00:00 UTC", "abc", "svc GET (5 ms)", TRACE_ERROR)]
    })  # fmt: skip
    return [
        _report(ReportType.HANDOVER, facts),
        _report(ReportType.INCIDENT, facts, incidents=[_incident(1)], rca=[rca]),
    ]


def test_long_outside_text_is_cut_in_every_format() -> None:
    """5 alerts of 200 kB summaries made a 623-page PDF (HTML drawn by Qt): each cell, fact
    and note is cut to ``CELL_CHARS``, the cut marked, in the Markdown, the HTML (and so the
    PDF) and the JSON; what was built is left whole. A recommendation's quoted summary is cut
    to as many where the line is built, the line kept whole (review 4: its tail says where
    and what to do)."""
    for report in _hostile():
        for render in (to_markdown, to_html, to_json):
            text = render(report)
            assert len(text) < 60_000, (report.type, render.__name__, len(text))
            # each alert's, cut and marked (JSON writes the mark as \u2026)
            assert text.count("word …") + text.count("word \\u2026") >= 5
        assert "at x.y(z)" in to_markdown(report) or report.type is ReportType.HANDOVER
        doc = json.loads(to_json(report))
        cells = [c for s in doc["sections"] for t in s["tables"] for row in t["rows"] for c in row]
        assert max(len(c) for c in cells) == CELL_CHARS
        alerted = [r for r in doc["recommendations"] if "(alert Alert" in r]
        assert len(alerted) == 5
        for said in alerted:
            quoted = said.split(" (alert Alert")[0]
            assert len(quoted) == CELL_CHARS and quoted.endswith("…"), len(quoted)
            assert said.endswith("see the alert's runbook.")
    rca = next(s for s in _hostile()[1].sections if s.title.startswith("Root cause"))
    assert rca.tables[-1].rows[0][3] == TRACE_ERROR  # cut where rendered, not where built


def test_short_text_is_shown_whole() -> None:
    text = "x" * CELL_CHARS  # at the bound: not cut
    facts = ClusterFacts("ran-east", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")],
                         alerts=[("warning", "KubeDown", text)], findings=[])  # fmt: skip
    report = _report(ReportType.HANDOVER, facts)
    for render in (to_markdown, to_html, to_json):
        assert text in render(report) and "x…" not in render(report)


# -- 2: a GPU CRITICAL all shift -----------------------------------------------------------------


def test_a_gpu_critical_all_shift_is_in_the_summary() -> None:
    """It changed no health in the period (it fell off the bus before it): the summary still
    counts it, as the recommendations name it."""
    hw = FleetHw(gpu=[("ran-east/gpu-1/gpu3", "CRITICAL", "XID 79 GPU has fallen off the bus"),
                      ("ran-east/gpu-1/gpu4", "WARNING", "temperature 88 C")],
                 gpu_changes=[])  # fmt: skip
    facts = ClusterFacts("ran-east", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")], hw=hw)
    west = FleetHw(gpu=[("ran-west/gpu-1/gpu0", "CRITICAL", "XID 48")])
    other = ClusterFacts("ran-west", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")], hw=west)
    report = _report(ReportType.HANDOVER, facts, other)
    assert "3 GPUs not OK (2 CRITICAL)" in report.summary
    assert "XID 79" in report.recommendations[0]
    unread = ClusterFacts("ran-east", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")])
    assert not any("GPUs not OK" in s for s in _report(ReportType.HANDOVER, unread).summary)
    well = ClusterFacts("ran-east", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")],
                        hw=FleetHw(gpu=[]))  # fmt: skip
    assert "0 GPUs not OK (0 CRITICAL)" in _report(ReportType.HANDOVER, well).summary


# -- 3: the incidents table names each incident ----------------------------------------------------


def test_the_incidents_table_names_each_incident_id() -> None:
    """The report says "rca --incident ID for the others": the ID is in the table."""
    facts = ClusterFacts("ran-east", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")])
    incidents = [_incident(n) for n in range(3)]
    for kind in (ReportType.INCIDENT, ReportType.HANDOVER):
        report = _report(kind, facts, incidents=incidents)
        section = next(s for s in report.sections if s.title == "Incidents")
        table = section.tables[0]
        assert table.headers[0] == "ID"
        assert sorted(row[0] for row in table.rows) == sorted(i.id for i in incidents)
        assert all(i.id in to_markdown(report) for i in incidents)


# -- 4: no Alertmanager is nothing unread --------------------------------------------------------


def test_no_alertmanager_is_not_alerts_not_read() -> None:
    """As ``unread_of`` (the CLI's exit 3) has it: a cluster with no Alertmanager has nothing
    to read; one whose Alertmanager did not answer is said unread."""
    assert build.NO_ALERTMANAGER is NO_ALERTMANAGER  # one rule, defined once

    def cluster(name: str, unread: str) -> ClusterFacts:
        return ClusterFacts(name, "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")],
                            findings=[], alerts_unread=unread)  # fmt: skip

    quiet = [cluster("ran-east", NO_ALERTMANAGER), cluster("ran-west", NO_ALERTMANAGER)]
    inputs = _inputs(ReportType.EXECUTIVE, *quiet)
    assert not any("Alerts" in s for s in build_report(inputs).summary)
    assert unread_of(inputs) == []
    failed = cluster("ran-north", "not read (timed out)")
    inputs = _inputs(ReportType.EXECUTIVE, *quiet, failed)
    assert "Alerts firing now not read for ran-north" in build_report(inputs).summary
    assert unread_of(inputs) == ["ran-north: alerts firing now not read (timed out)"]
    firing = ClusterFacts("ran-south", "ONLINE", 100, health=[(UNTIL, "ONLINE", 100, "")],
                          findings=[], alerts=[("warning", "KubeDown", "")])  # fmt: skip
    summary = build_report(_inputs(ReportType.EXECUTIVE, *quiet, firing, failed)).summary
    assert ("1 alerts firing at the end of the period (last known for ran-north: not read "
            "now)") in summary  # fmt: skip
