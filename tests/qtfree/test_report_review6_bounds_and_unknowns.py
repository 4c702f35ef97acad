"""A report reviewed (6): a hub member's 20,000-character name is cut in every summary line,
recommendation and JSON field, as in the titles; a cluster judged NO DATA, or with sources or
alerts not read now, is never closed with "No action needed" nor its findings "nothing
found"; the alerts table keeps the worst alerts, not the first; a line or paragraph
separator in server text is a space in the HTML (the PDF's source), not a page break."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models.reports import Report, ReportType, Table
from analysis.reports.build import ClusterFacts, FleetHw, ReportInputs, build_report
from analysis.reports.render_text import CELL_CHARS, to_html, to_json

ALL_CLEAR = "No action needed: nothing in this period calls for one."
UNTIL = datetime(2026, 11, 27, 6, tzinfo=UTC)
SINCE = UNTIL - timedelta(hours=12)
HUGE = "m" + "X" * 20000 + "END"  # a hub member's name from a Thanos `cluster` label


def _report(kind: ReportType, *clusters: ClusterFacts) -> Report:
    return build_report(ReportInputs(kind, SINCE, UNTIL, UNTIL, list(clusters)))


def _table(report: Report, starts: str) -> Table:
    return next(t for s in report.sections for t in s.tables if t.title.startswith(starts))


def _longest(report: Report) -> int:
    return max(len(line) for line in report.summary + report.recommendations)


def _checked(at: datetime = SINCE) -> list[tuple[datetime, str, int, str]]:
    return [(at + timedelta(minutes=1), "ONLINE", 100, "")]


# a line quotes a name at most ``CELL_CHARS`` long, and says a little around it
QUOTED = 2 * CELL_CHARS


def test_a_huge_member_name_is_cut_in_the_summary_and_recommendations() -> None:
    hub = ClusterFacts("hub", "ONLINE", 100, kind="FLEET", members=[HUGE], health=_checked())
    member = ClusterFacts(HUGE, "OFFLINE", 0, observed=False)
    report = _report(ReportType.HANDOVER, hub, member)
    assert _longest(report) < QUOTED
    doc = json.loads(to_json(report))
    assert all(len(c) <= CELL_CHARS for c in doc["clusters"])
    assert max(len(line) for line in doc["summary"] + doc["recommendations"]) < QUOTED


@pytest.mark.parametrize("kind", [ReportType.HANDOVER, ReportType.CAPACITY])
def test_a_huge_name_is_cut_in_every_line_that_names_it(kind: ReportType) -> None:
    """Its data ending early, its GPUs, ports and alerts, its unread reads: each line cut."""
    hw = FleetHw(gpu=[(f"gpu-{n}", "CRITICAL", "XID 79") for n in range(5)],
                 ptp=[(f"du-{n}/ens1", "FREERUN", "100%", "0%", "0%", "0 s", "600 s")
                      for n in range(5)], ptp_ports=5, gpu_unread="read in part (timeout)",
                 ptp_unread="")  # fmt: skip
    huge = ClusterFacts(HUGE, "DEGRADED", 70, health=_checked(), hw=hw,
                        alerts=[("critical", "NodeDown", "worker-3 down")] * 7,
                        alerts_unread="not read (timeout)", known_until=UNTIL - timedelta(hours=1),
                        unread=["metrics (timeout)"])  # fmt: skip
    report = _report(kind, huge)
    assert _longest(report) < QUOTED
    assert len(json.loads(to_json(report))["title"]) <= CELL_CHARS


def test_a_cluster_judged_no_data_is_not_the_all_clear() -> None:
    """Its first reads have not come back: nothing is known of it now, whatever the period's
    checks said."""
    east = ClusterFacts("east", "NO DATA", None, findings=[], health=_checked(),
                        alerts_unread="not read (no data yet)")  # fmt: skip
    report = _report(ReportType.HANDOVER, east)
    assert ALL_CLEAR not in report.recommendations
    assert any("east" in r and "not read" in r for r in report.recommendations)
    empty = _table(report, "Findings now").empty
    assert empty != "nothing found" and "not read" in empty


def test_no_data_without_a_reason_still_says_its_sources_were_not_read() -> None:
    east = ClusterFacts("east", "NO DATA", None, findings=[], health=_checked())
    report = _report(ReportType.HANDOVER, east)
    assert ALL_CLEAR not in report.recommendations
    assert "not read" in _table(report, "Findings now").empty


@pytest.mark.parametrize(
    "unread",
    [{"unread": ["metrics (unreachable)"]}, {"alerts_unread": "not read (connection refused)"}],
)
def test_sources_or_alerts_not_read_now_are_not_the_all_clear(unread: dict[str, object]) -> None:
    east = ClusterFacts("east", "OK", 100, findings=[], health=_checked(), **unread)  # type: ignore[arg-type]
    report = _report(ReportType.HANDOVER, east)
    assert ALL_CLEAR not in report.recommendations
    said = report.recommendations[-1]
    assert "east" in said and ("unreachable" in said or "connection refused" in said)
    assert "not read" in _table(report, "Findings now").empty


def test_a_cluster_read_whole_with_nothing_is_still_the_all_clear() -> None:
    """No Alertmanager is nothing to read, not a read that failed."""
    east = ClusterFacts("east", "OK", 100, findings=[], health=_checked(),
                        alerts_unread="not read (no Alertmanager configured)")  # fmt: skip
    report = _report(ReportType.HANDOVER, east)
    assert report.recommendations == [ALL_CLEAR]
    assert _table(report, "Findings now").empty == "nothing found"


@pytest.mark.parametrize(("kind", "shown"), [(ReportType.HANDOVER, 20), (ReportType.EXECUTIVE, 5)])
def test_the_alerts_table_keeps_the_worst_not_the_first(kind: ReportType, shown: int) -> None:
    alerts = [("warning", f"KubePodNotReady{i}", "pod not ready") for i in range(25)]
    alerts += [("info", "Watchdog", "always firing"), ("critical", "NodeDown", "worker-3 down")]
    east = ClusterFacts("east", "DEGRADED", 70, alerts=alerts, findings=[], health=_checked())
    table = _table(_report(kind, east), "Alerts firing")
    assert table.title.endswith(f"(the {shown} worst of 27)")
    assert table.rows[0] == ["critical", "NodeDown", "worker-3 down"]
    # the warnings in their own order after it; the INFO one is past the cut
    assert [r[1] for r in table.rows[1:]] == [f"KubePodNotReady{i}" for i in range(shown - 1)]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\n", "\r", "\v", "\f"])
def test_a_line_or_paragraph_separator_in_server_text_is_a_space_in_html(separator: str) -> None:
    hostile = ("y" + separator) * 300
    east = ClusterFacts(f"east{separator}west", "ONLINE", 100, health=_checked(), findings=[],
                        alerts=[("critical", "Hostile", hostile)])  # fmt: skip
    page = to_html(_report(ReportType.EXECUTIVE, east))
    head, _, body = page.partition("<body>")
    # the page's own line breaks are between its tags (and in its style sheet)
    assert separator not in head.partition("<style>")[0]
    assert separator not in body.replace(">\n<", "><").rstrip("\n")
    assert "y y y" in body and "east west" in body


def test_many_clusters_unread_each_for_its_own_reason_are_one_summary_line() -> None:
    """A diff review: 300 clusters unreachable, each failed read naming its own URL, made a
    summary line each per read (602 lines); past SUMMARY_REASONS reasons, one line a read."""
    hw = {f"ran-{n}": FleetHw(gpu_unread=f"not read (ran-{n}/prometheus is unreachable)",
                              ptp_unread=f"not read (ran-{n}/prometheus is unreachable)")
          for n in range(300)}  # fmt: skip
    clusters = [ClusterFacts(name, "ONLINE", 100, hw=f) for name, f in hw.items()]
    until = datetime(2026, 11, 27, 6, tzinfo=UTC)
    report = build_report(ReportInputs(ReportType.HANDOVER, until - timedelta(hours=12), until,
                                       until, clusters))  # fmt: skip
    unread = [line for line in report.summary if "not read" in line]
    assert len(unread) == 2, unread
    assert unread[0].startswith("GPU health not read whole for 300 clusters: ran-0, ran-1")
    assert unread[1].startswith("PTP compliance not read whole for 300 clusters:")
    few = [ClusterFacts("ran-a", "ONLINE", 100, hw=FleetHw(gpu_unread="not read (timed out)"))]
    report = build_report(ReportInputs(ReportType.HANDOVER, until - timedelta(hours=12), until,
                                       until, few))  # fmt: skip
    assert "GPU health not read (timed out): ran-a" in report.summary
