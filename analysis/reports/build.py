"""From what was gathered (``ReportInputs``) to a report of each type: which tables, charts
and facts each section holds, the summary and the recommendations. Pure: no I/O.

The tables, facts and notes are cut where they are shown; a summary line or a
recommendation is shown whole, as it goes on to say where and what to do after the outside
text it quotes (an alert's summary, a finding's reason, a server's error, a cluster's name
from a server's labels): that text is cut here, where the line is built (``bounded``)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np

from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.curves import outlying_curves
from aiops_desktop.models.enums import AnomalySeverity, IncidentStatus
from aiops_desktop.models.fleet import SEVERITY_RANK, Coverage, Health
from aiops_desktop.models.gpu import GpuChange
from aiops_desktop.models.incidents import Incident, RcaReport
from aiops_desktop.models.reports import (
    CAPACITY_DAYS,
    Chart,
    Report,
    ReportType,
    Section,
    Table,
)
from aiops_desktop.models.text import time_text
from analysis.reports.forecast import (
    HOUR_S,
    MIN_HISTORY_DAYS,
    MIN_HOURS,
    Trend,
    forecast,
    history_days,
    hourly_means,
    trend,
)
from analysis.reports.render_text import bounded

CAPACITY_LIMIT_PCT = 80.0
#: a capacity report's default period: a week, days more than a trend needs (and its daily
#: cycles average out)
CAPACITY_PANELS = ("node_cpu", "node_memory")  # percentages
PERCENT = (0.0, 100.0)
ROW_LIMIT = {ReportType.EXECUTIVE: 5, ReportType.HANDOVER: 20}
DEFAULT_ROW_LIMIT = 50
TITLE_NAMES = 3  # a report's default title names this many clusters at most, else counts them
#: a PTP port sampled for less of a handover's period than this is counted apart: its
#: compliance is not known for the rest
LOW_COVERAGE_PCT = 90.0
UNREAD_GPU = "not read (no live GPU metrics)"
UNREAD_PTP = "not read (no live PTP metrics)"
UNCOMPARED_GPU = "not compared: no GPU readings at the start of the period"
NO_DATA = "no data for this period (not monitored)"
#: a cluster's ``alerts_unread`` where it has no Alertmanager: nothing to read, nothing failed
NO_ALERTMANAGER = "not read (no Alertmanager configured)"


@dataclass
class PanelData:
    title: str
    unit: str
    series: dict[str, tuple[np.ndarray, np.ndarray]]  # legend -> (ts s, values)


@dataclass
class FleetHw:
    """A shift handover's live GPU and PTP reads of one (member) cluster."""

    gpu: list[tuple[str, str, str]] | None = None  # (gpu, state, reasons) not OK; None: unread
    #: GPUs whose health changed over the period; None: no GPU readings at its start
    gpu_changes: list[GpuChange] | None = None
    #: PTP ports needing attention, short of full compliance over the time sampled, or
    #: sampled for too little of the period to tell: (port, state, sampled, locked, within,
    #: holdover, freerun), shares of the time sampled; None: unread
    ptp: list[tuple[str, str, str, str, str, str, str]] | None = None
    ptp_ports: int = 0  # ports read
    ptp_short: int = 0  # of them, needing attention or short of full compliance
    ptp_low: int = 0  # of them, sampled for too little of the period (the rest unknown)
    #: port -> its HOLDOVER episodes in the period certainly longer than its timeout
    ptp_long_holdovers: dict[str, int] = field(default_factory=dict)
    uncompared: str = ""  # why GPU health was not compared, where it says more than the default
    #: why the GPUs, the PTP ports were not read, where it is not for want of live metrics
    #: (the reads ran past their time limit, failed): "" for the default. The GPUs' may say
    #: "read in part (why)" beside ``gpu``: those that came back are not all of them
    gpu_unread: str = ""
    ptp_unread: str = ""


class Found(NamedTuple):
    """One of the fleet's one truth's findings, as a report says it."""

    severity: str
    domain: str
    subject: str
    reason: str
    #: its source could not be read now: what was last known of it (said so, as tiles do)
    stale: bool = False


@dataclass
class ClusterFacts:
    name: str
    state: str
    score: int | None
    kind: str = ""  # "CLUSTER" or "FLEET"; type and environment beside it
    health: list[tuple[datetime, str, int, str]] = field(default_factory=list)  # in range
    #: in range: all of them, or the most severe where ``anomaly_counts`` counts more
    anomalies: list[Anomaly] = field(default_factory=list)
    #: how many of each severity the period holds (a report reads a bounded number of the
    #: most severe); None: ``anomalies`` are all of them
    anomaly_counts: dict[AnomalySeverity, int] | None = None
    panels: dict[str, PanelData] = field(default_factory=dict)  # panel id -> data
    alerts: list[tuple[str, str, str]] = field(default_factory=list)  # severity, name, summary
    #: why the alerts firing now were not read ("" where they were): ``alerts`` are then the
    #: stored history's unresolved ones, the last known
    alerts_unread: str = ""
    #: alert firings that overlap the period: (fired, resolved or None, severity, name, summary)
    alert_history: list[tuple[datetime, datetime | None, str, str, str]] = field(
        default_factory=list
    )
    hw: FleetHw = field(default_factory=FleetHw)  # a handover's live reads
    members: list[str] = field(default_factory=list)  # a fleet hub's: each has its section
    #: the fleet's one truth's findings at the end of a period ending now, worst first:
    #: (severity, domain, subject, reason[, stale]); None: a past period (its findings were
    #: not kept)
    findings: Sequence[tuple[str, str, str, str] | Found] | None = None
    unread: list[str] = field(default_factory=list)  # its sources not read now: "source (why)"
    #: whether the period holds anything stored of it (a health check, of it or of its hub; a
    #: sample; an alert read): without, the period is not a quiet one but one not monitored;
    #: None: judged from the facts above
    observed: bool | None = None
    #: where its data (its checks, or its hub's; its samples) ends, where that is before the
    #: period's end by more than the checks' slack (the app was shut down): nothing is known
    #: of it after, and its state is the last known then; None: the data reaches the end
    known_until: datetime | None = None

    @property
    def alerts_missed(self) -> bool:
        """Whether its alerts firing now were there to read but were not (an Alertmanager
        that did not answer, or not polled yet): not where it has none (``NO_ALERTMANAGER``)."""
        return bool(self.alerts_unread) and self.alerts_unread != NO_ALERTMANAGER

    @property
    def anomaly_count(self) -> int:
        """How many anomalies the period holds, listed or not."""
        counts = self.anomaly_counts
        return len(self.anomalies) if counts is None else sum(counts.values())

    @property
    def serious_count(self) -> int:
        """How many of them are CRITICAL or HIGH."""
        if self.anomaly_counts is None:
            return sum(a.severity.serious for a in self.anomalies)
        return sum(n for severity, n in self.anomaly_counts.items() if severity.serious)

    @property
    def seen(self) -> bool:
        if self.observed is not None:
            return self.observed
        sampled = any(ts.size for p in self.panels.values() for ts, _ in p.series.values())
        return bool(self.health or self.anomalies or self.alerts or self.alert_history or sampled)


@dataclass
class ReportInputs:
    type: ReportType
    since: datetime
    until: datetime
    generated_at: datetime
    clusters: list[ClusterFacts]
    source: str = "live cache"
    title: str = ""
    #: where the data begins when that is known (a capture's start): a period that begins
    #: before it says how much of it nothing is known of, so "nothing in this period" is
    #: not read as a quiet shift
    known_from: datetime | None = None
    incidents: list[Incident] = field(default_factory=list)  # of the period (incident report)
    rca: list[RcaReport] = field(default_factory=list)  # of its most severe incidents


def _t(when: datetime) -> str:
    return time_text(when)


def _span_text(seconds: float) -> str:
    return f"{round(seconds / 3600, 1):g} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _unknown_part(inputs: ReportInputs) -> list[str]:
    """A line saying how much of the period comes before the data (none: it is all there)."""
    known = inputs.known_from
    if known is None or known <= inputs.since:
        return []
    asked = (inputs.until - inputs.since).total_seconds()
    missing = (min(known, inputs.until) - inputs.since).total_seconds()
    return [f"The data begins {_t(known)}: the first {_span_text(missing)} of the "
            f"{_span_text(asked)} asked are not known here"]  # fmt: skip


def _listed(names: Iterable[str]) -> str:
    """Names (of clusters, from a server's labels) as a line quotes them: "a, b, c", cut
    (``bounded``) as one name is: a hub member's 20,000-character name is not a page."""
    return bounded(", ".join(names))


def _ended(clusters: list[ClusterFacts]) -> dict[datetime, list[str]]:
    """The clusters whose data ends before the period's end, by where it ends."""
    out: dict[datetime, list[str]] = {}
    for c in clusters:
        if c.known_until is not None:
            out.setdefault(c.known_until, []).append(c.name)
    return dict(sorted(out.items()))


def _ended_lines(inputs: ReportInputs) -> list[str]:
    """A line for each time the data of some clusters ends before the period's end: how much
    of it is not known (their figures and states are of the time before)."""
    asked = _span_text((inputs.until - inputs.since).total_seconds())
    out = []
    for end, names in _ended(inputs.clusters).items():
        whose = "its" if len(names) == 1 else "their"
        left = _span_text((inputs.until - end).total_seconds())
        out.append(
            f"{_listed(names)}: not known after {_t(end)} ({whose} data ends there: "
            f"the last {left} of the {asked} asked are not known here)"
        )
    return out


def state_changes(facts: ClusterFacts) -> list[tuple[datetime, str, str, int, str]]:
    """(when, from, to, score, error) for every change of state in the checks."""
    out = []
    previous: str | None = None
    for when, state, score, error in facts.health:
        if previous is not None and state != previous:
            out.append((when, previous, state, score, error))
        previous = state
    return out


def _began(a: Anomaly) -> datetime:
    """Where an anomaly is placed in every section: where its episode began (its worst point
    may come after a past period's end)."""
    return a.started_at or a.timestamp


def _kind(a: Anomaly) -> str:
    """Its type in words ("THRESHOLD BREACH"): a narrow column wraps at its space."""
    return a.type.value.replace("_", " ")


def _anomaly_table(facts: ClusterFacts, limit: int, empty: str = Table.empty) -> Table:
    """The most severe (CRITICAL first: many HIGH never push one out), then the strongest."""
    ranked = sorted(
        facts.anomalies, key=lambda a: (a.severity.rank, -a.score / a.threshold, _began(a))
    )[:limit]
    rows = [
        [_t(_began(a)), a.metric, a.severity.level.value, _kind(a),
         f"{a.actual:.1f}" + (f" (expected {a.expected:.1f})" if a.expected is not None else ""),
         a.described]
        for a in sorted(ranked, key=_began)
    ]  # fmt: skip
    total = facts.anomaly_count
    title = f"Anomalies ({total}" + (
        f", the {len(rows)} most severe)" if len(rows) < total else ")"
    )
    return Table(title, ["When", "Signal", "Severity", "Type", "Value", "Why"], rows, empty=empty)


def _resolved_in(end: datetime | None, since: datetime, until: datetime) -> bool:
    """Whether an alert's resolution falls in the period (one resolved after its end was
    still firing at it)."""
    return end is not None and since <= end <= until


def _cut(title: str, shown: int, total: int) -> str:
    """A table's title, saying where it holds only the latest of its rows."""
    return f"{title}; the {shown} latest of {total})" if shown < total else f"{title})"


def _history_table(
    facts: ClusterFacts, since: datetime, until: datetime, limit: int, empty: str
) -> Table:
    history = sorted(facts.alert_history, key=lambda h: h[0])
    fired = sum(h[0] >= since for h in history)
    resolved = sum(_resolved_in(h[1], since, until) for h in history)
    rows = [[_t(start), _t(end) if end is not None and end <= until else "still firing", sev,
             name, summary] for start, end, sev, name, summary in history[-limit:]]  # fmt: skip
    title = _cut(f"Alerts in the period ({fired} fired, {resolved} resolved", len(rows),
                 len(history))  # fmt: skip
    return Table(title, ["Fired", "Resolved", "Severity", "Alert", "Summary"], rows, empty=empty)


def _changes_table(facts: ClusterFacts, empty: str) -> Table:
    rows = [[_t(w), f"{a} -> {b}", str(s), e or ""] for w, a, b, s, e in state_changes(facts)]
    return Table("State changes", ["When", "Change", "Score", "Error"], rows, empty=empty)


def _soonest(item: tuple[str, Trend]) -> tuple[float, float]:
    """A series' place in the capacity plan: the soonest to reach the limit first, then the
    highest now."""
    days = item[1].days_to_limit
    return (float("inf") if days is None else days), -item[1].last


def _days_text(days: float) -> str:
    """A span ahead in words: under a day in hours (a limit 9 hours away is not "in 0
    days")."""
    hours = days * 24
    if hours < 1:
        return "within the hour"
    if days < 1:
        return f"in {hours:.0f} hour{'' if round(hours) == 1 else 's'}"
    return f"in {days:.0f} day{'' if round(days) == 1 else 's'}"


class _NoTrend(NamedTuple):
    """Why a panel's series with the most history have no trend: how much history, in how
    many hours of samples, from when (None: no sample)."""

    days: float
    hours: int
    first: float | None  # its first sample, s


def _no_trend(panel: PanelData) -> _NoTrend:
    """Its series with the longest history, as ``trend`` counts it (its hourly means)."""
    held = []
    for ts, values in panel.series.values():
        hx, _ = hourly_means(np.asarray(ts, dtype=float), np.asarray(values, dtype=float))
        first = float(np.min(ts)) if np.size(ts) else None
        held.append(_NoTrend(history_days(ts, values), int(hx.size), first))
    return max(held, key=lambda h: (h.days, h.hours))


def _no_trend_text(held: _NoTrend) -> tuple[str, str]:
    """Why no trend, as ``trend`` refused it: (what the data holds, what a trend needs): too
    short a history, or too few hours of samples in a long enough one (an app run an hour a
    day)."""
    span = _span_text(held.days * 86400)
    if held.days >= MIN_HISTORY_DAYS:
        needs = f"{MIN_HOURS} hours or more, on {MIN_HISTORY_DAYS:g} days of it at least"
        return f"only {held.hours} hours of samples in {span}", needs
    return span, f"{MIN_HISTORY_DAYS:g} days or more"


def _no_plan(
    name: str, held: _NoTrend, since: datetime, until: datetime, known_from: datetime | None
) -> str:
    """Why a cluster has no capacity plan, and what would make one: a longer period only
    where the one asked is shorter than ``CAPACITY_DAYS`` and its data may reach further
    back (it reaches the period's start, and the store is not known to begin there); else
    the data begins too late, or is too sparse, for a trend, however long the period."""
    asked = (until - since).total_seconds()
    start = since.timestamp()
    reaches = (held.first is None or held.first <= start + HOUR_S) and (
        known_from is None or known_from < since
    )
    what, needs = _no_trend_text(held)
    sparse = held.days >= MIN_HISTORY_DAYS
    if asked < CAPACITY_DAYS * 86400 and reaches:
        return (f"No capacity plan for {name}: its data {'holds' if sparse else 'covers'} "
                f"{what}, and a trend needs {needs}: make the capacity report over "
                f"{CAPACITY_DAYS} days or more.")  # fmt: skip
    if sparse:
        return (f"No capacity plan for {name}: its data holds {what}, and a trend needs "
                f"{needs}: the data is too sparse; make the report again once more is "
                "collected.")  # fmt: skip
    begins = (f"begins {_t(datetime.fromtimestamp(held.first, UTC))} and "
              if held.first is not None and held.first > start + HOUR_S else "")  # fmt: skip
    return (f"No capacity plan for {name}: its data {begins}covers "
            f"{_span_text(held.days * 86400)} of the {_span_text(asked)} asked, and a trend "
            f"needs {MIN_HISTORY_DAYS:g} days or more: make the report again once "
            f"{MIN_HISTORY_DAYS:g} days or more are collected.")  # fmt: skip


def _capacity(
    facts: ClusterFacts,
    section: Section,
    recommendations: list[str],
    period: tuple[datetime, datetime, datetime | None],
) -> None:
    """Each panel's series that reaches the limit first (every series' trend is fitted: the
    highest one may be flat while a lower one climbs), forecast in full and charted. A panel
    with too little history for a trend says why (too short a history, or too few hours of
    samples in it), and the plan says what would make one (``_no_plan``): hours of a daily
    cycle's rising half are no trend to project a month ahead. ``period``: the report's
    since, until, and where its data is known to begin (``ReportInputs.known_from``)."""
    short: list[_NoTrend] = []  # of each panel with too little for a trend
    for panel_id in CAPACITY_PANELS:
        panel = facts.panels.get(panel_id)
        if panel is None or not panel.series:
            continue
        trends = {name: t for name, series in panel.series.items()
                  if (t := trend(*series, limit=CAPACITY_LIMIT_PCT)) is not None}  # fmt: skip
        if not trends:
            held = _no_trend(panel)
            short.append(held)
            what, needs = _no_trend_text(held)
            cycle = "" if held.days >= MIN_HISTORY_DAYS else " (a daily cycle is not one)"
            section.facts.append((f"{panel.title} trend", f"none claimed: {what} of history; "
                                  f"a trend needs {needs}{cycle}"))  # fmt: skip
            continue
        worst_name = min(trends.items(), key=_soonest)[0]
        worst = panel.series[worst_name]
        found = forecast(*worst, limit=CAPACITY_LIMIT_PCT, bounds=PERCENT)
        if found is None:  # not reached: trend() found enough history
            continue
        horizon = f"{found.horizon_days:.0f} days"  # a few times the history, 30 at most
        stamps, mean, _, upper = found.ahead
        section.charts.append(Chart(
            f"{panel.title}: {worst_name}, {found.horizon_days:.0f}-day forecast", panel.unit, {
                worst_name: worst, f"{worst_name} (forecast)": (stamps, mean),
                f"{worst_name} (95% upper)": (stamps, upper),
            }))  # fmt: skip
        when = (
            f"not within {horizon}" if found.days_to_limit is None
            else "now" if found.days_to_limit == 0 else _days_text(found.days_to_limit)
        )  # fmt: skip
        trend_text = (
            f"{found.last:.1f} {panel.unit} now, {found.slope_per_day:+.2f} a day; "
            f"reaches {CAPACITY_LIMIT_PCT:g} {panel.unit} {when}"
        )
        section.facts.append((f"{panel.title} trend ({worst_name})", trend_text))
        reaching = sum(t.days_to_limit is not None for t in trends.values())
        within = f"reach {CAPACITY_LIMIT_PCT:g} {panel.unit} within {horizon}"
        section.facts.append(
            (f"{panel.title} series forecast", f"{len(trends)}: {reaching} {within}")
        )
        if found.days_to_limit is not None:
            more = reaching - 1
            others = (f"; {more} more series reach{'es' if more == 1 else ''} it within "
                      f"{horizon}" if more > 0 else "")  # fmt: skip
            recommendations.append(
                f"Plan capacity on {bounded(facts.name)}: {panel.title} of {bounded(worst_name)} "
                f"reaches {CAPACITY_LIMIT_PCT:g} {panel.unit} {when} at the present "
                f"trend{others}."
            )
    if short:  # the plan was not made: not "No action needed"
        held = max(short, key=lambda h: (h.days, h.hours))
        recommendations.append(_no_plan(bounded(facts.name), held, *period))


def _section(
    kind: ReportType,
    facts: ClusterFacts,
    recommendations: list[str],
    since: datetime,
    until: datetime,
    *,
    known_from: datetime | None = None,
) -> Section:
    limit = ROW_LIMIT.get(kind, DEFAULT_ROW_LIMIT)
    checks = Counter(state for _, state, _, _ in facts.health)
    total = sum(checks.values())
    ended = facts.known_until
    # where its data ends early, its state is the last known then: said where it is shown
    section = Section(facts.name, facts.state + (f", last known {_t(ended)}" if ended else ""))
    section.facts.append(("Health score", "-" if facts.score is None else str(facts.score)))
    if ended is not None:
        section.facts.append(("Data", f"not known after {_t(ended)}: its data ends there"))
    empty = Table.empty if facts.seen else NO_DATA  # nothing found, or nothing looked at
    if not facts.seen:
        section.facts.append(("Data", NO_DATA))  # not "0 anomalies": none was looked for
    if total:
        share = ", ".join(f"{s} {100 * n / total:.0f}%" for s, n in checks.most_common())
        section.facts.append(("Checks in the period", f"{total}: {share}"))
    total = facts.anomaly_count
    if facts.seen or total:
        section.facts.append(("Anomalies", f"{total} ({facts.serious_count} CRITICAL or WARNING)"))
    if (left := total - len(facts.anomalies)) > 0:  # said: the rest is not in tables nor advice
        section.notes.append(
            f"{left} of its {total} anomalies are not listed in this report: it reads the "
            f"{len(facts.anomalies)} most severe (CRITICAL first, then by score)"
        )
    if kind is ReportType.CAPACITY:
        _capacity(facts, section, recommendations, (since, until, known_from))
        return section
    if facts.unread:  # what its findings now are not read from: theirs are the last known
        section.facts.append(("Not read now", ", ".join(facts.unread)))
    if facts.findings is not None:
        found = _found(facts)  # worst first
        cut = f" (the {limit} worst of {len(found)})" if len(found) > limit else ""
        section.tables.append(Table(
            f"Findings now{cut}", ["Severity", "Domain", "Subject", "Reason"],
            [[f.severity, f.domain, f.subject, f.reason + (" (last known)" if f.stale else "")]
             for f in found[:limit]],
            empty=(f"nothing found in what was read; not read now: {', '.join(missed)}"
                   if (missed := not_read(facts)) else "nothing found"),
        ))  # fmt: skip
    section.tables.append(_changes_table(facts, empty))
    section.tables.append(_anomaly_table(facts, limit, empty))
    if kind is not ReportType.EXECUTIVE:
        section.tables.append(_history_table(facts, since, until, limit, empty))
    if facts.alerts or facts.alerts_unread or kind is ReportType.HANDOVER:
        firing = len(facts.alerts)
        title = (
            "Alerts firing at the end of the period"
            # not read now: those the stored history holds unresolved, said so (none: the
            # table says why, not "nothing")
            + (
                f", last known (now {facts.alerts_unread})"
                if facts.alerts_unread and firing
                else ""
            )
            + (f" (the {limit} worst of {firing})" if firing > limit else "")
        )
        # the worst kept where the table is cut: a CRITICAL after 25 warnings is not cut
        worst = sorted(facts.alerts, key=_alert_rank)[:limit]
        section.tables.append(Table(title, ["Severity", "Alert", "Summary"],
                                    [list(a) for a in worst],
                                    empty=facts.alerts_unread or empty))  # fmt: skip
    if kind is ReportType.HANDOVER:
        section.tables += _fleet_hw_tables(facts, limit)
    if kind is not ReportType.EXECUTIVE:
        section.charts += [
            _drawn(p) for pid, p in facts.panels.items() if pid in CAPACITY_PANELS and p.series
        ]
    return section


#: the series a report's chart draws: as many as its legend names (paper has no cursor to
#: read the others by); 300 nodes' lines were one tangle, and the report's JSON held 37 MB
CHART_SERIES = 8


def _drawn(panel: PanelData) -> Chart:
    """A panel's chart as a report draws it: its series that strayed furthest from the rest
    (``outlying_curves``: an idle node among busy ones as well as a hot one), said so."""
    drawn = outlying_curves(panel.series, CHART_SERIES)
    title = panel.title
    if len(drawn) < len(panel.series):
        title += f" (the {len(drawn)} of {len(panel.series):,} series furthest from the rest)"
    return Chart(title, panel.unit, drawn)


#: the worst first in a handover's hardware tables: a GPU's state, a PTP port's clock state
_GPU_WORST = {"CRITICAL": 0, "WARNING": 1}
_PTP_WORST = {"FREERUN": 0, "HOLDOVER": 1}


def _worst(title: str, shown: int, total: int) -> str:
    """A table's title (its parenthesis left open), saying where it holds only the worst."""
    return f"{title}; the {shown} worst of {total})" if shown < total else f"{title})"


PtpPort = tuple[str, str, str, str, str, str, str]  # a ``FleetHw.ptp`` row


def _figure(text: str) -> float | None:
    """A PTP row's figure as it is written ("21600 s", "40.0%"); None: not known ("-")."""
    try:
        return float(text.split(maxsplit=1)[0].rstrip("%"))
    except (IndexError, ValueError):
        return None


def _out_of_lock(hw: FleetHw, port: PtpPort) -> tuple[float, int, float]:
    """How long a port was out of lock in the period: its FREERUN time (s), its HOLDOVER
    episodes past their timeout, its HOLDOVER time (s)."""
    name, *_, holdover, freerun = port
    return (_figure(freerun) or 0.0, hw.ptp_long_holdovers.get(name, 0),
            _figure(holdover) or 0.0)  # fmt: skip


def _port_order(hw: FleetHw, port: PtpPort) -> tuple[float, ...]:
    """The worst first: by its clock state now, then by how long it was out of lock in the
    period and how little of it locked and within its band (a port FREERUN for 6 h of the
    shift, LOCKED at its end, is not cut from "the 20 worst" for 20 that were always
    LOCKED); a share not known after the known ones."""
    freerun, long_holdovers, holdover = _out_of_lock(hw, port)
    locked, within = (math.inf if (share := _figure(text)) is None else share
                      for text in port[3:5])  # fmt: skip
    return _PTP_WORST.get(port[1], 2), -freerun, -long_holdovers, -holdover, locked, within


def _fleet_hw_tables(facts: ClusterFacts, limit: int) -> list[Table]:
    """A handover's GPU health changes, GPUs not OK and PTP compliance over the period (a
    fleet hub's GPUs and ports are its members', in their sections); each the ``limit``
    worst, saying so (a cluster of 300 unwell GPUs is not 15 pages)."""
    per_member = f"read per member cluster: {', '.join(facts.members)} (their sections)"
    unread_gpu, unread_ptp = (
        (per_member, per_member)
        if facts.members
        else (facts.hw.gpu_unread or UNREAD_GPU, facts.hw.ptp_unread or UNREAD_PTP)
    )
    if facts.hw.gpu is None:
        changes = Table("GPU health changes in the period", [], [], empty=unread_gpu)
        not_ok = Table("GPUs not OK", [], [], empty=unread_gpu)
    else:
        # read in part: the GPUs that came back are not all of them, said on both tables
        part = f", {facts.hw.gpu_unread}" if facts.hw.gpu_unread else ""
        changed = sorted(facts.hw.gpu_changes or [], key=lambda c: (
            c.after is not None, _GPU_WORST.get(c.after.value if c.after else "", 2)))  # fmt: skip
        changes = Table(
            "GPU health changes in the period"
            + (f" (the {limit} worst of {len(changed)})" if len(changed) > limit else "")
            + part,
            ["GPU", "Was", "Now", "Reasons"],
            [[c.key, c.before.value, c.after.value if c.after else "not reported",
              "; ".join(c.reasons)] for c in changed[:limit]],
            empty="no GPU changed health" if facts.hw.gpu_changes is not None
            else facts.hw.uncompared or UNCOMPARED_GPU,
        )  # fmt: skip
        gpus = sorted(facts.hw.gpu, key=lambda g: _GPU_WORST.get(g[1], 2))
        cut = f" (the {limit} worst of {len(gpus)})" if len(gpus) > limit else ""
        not_ok = Table(f"GPUs not OK{cut}{part}", ["GPU", "State", "Reasons"],
                       [list(g) for g in gpus[:limit]],
                       empty=(f"no GPU not OK among those read: {facts.hw.gpu_unread}"
                              if part else Table.empty))  # fmt: skip
    if facts.hw.ptp is None:
        ptp = Table("PTP compliance in the period", [], [], empty=unread_ptp)
    else:
        ports = sorted(facts.hw.ptp, key=lambda p: _port_order(facts.hw, p))
        ptp = Table(
            _worst(f"PTP compliance in the period ({facts.hw.ptp_ports} ports; shares of the "
                   "time sampled", min(limit, len(ports)), len(ports)),
            ["Port", "State", "Sampled", "Locked", "Within", "Holdover", "Freerun"],
            [list(p) for p in ports[:limit]],
            empty="every port sampled, locked and within its band the whole period",
        )  # fmt: skip
    return [changes, not_ok, ptp]


#: recommendation ranks: what needs a hand now first (a lost cluster, a CRITICAL GPU, a clock
#: in FREERUN), then what is degrading, then anomalies (by score), then capacity
ACT_NOW, DEGRADING, ANOMALY, CAPACITY = 0, 1, 2, 3
Ranked = tuple[int, tuple[int, float], str]  # rank, then within it (lower first), the text
WITHIN = (0, 0.0)  # no order within the rank but the clusters' own


#: per cluster and kind, the GPUs or ports a grouped recommendation names (the rest counted:
#: its table lists them); the findings a cluster's recommendations name one by one
NAMED = 3
FINDINGS_RECOMMENDED = 5
#: the recommendations of a report, at most: the most urgent first, the rest counted (5
#: clusters of 300 unwell GPUs each gave 1,500 lines)
MAX_RECOMMENDATIONS = 40


def _names(keys: list[str]) -> str:
    """The first ``NAMED`` of them, and how many more."""
    more = len(keys) - NAMED
    named = ", ".join(bounded(k) for k in keys[:NAMED])
    return named + (f" and {more} more" if more > 0 else "")


#: GPUs or ports of one state on one cluster given a line each; more share one line
OWN_LINES = 3


def _gpu_lines(facts: ClusterFacts) -> list[Ranked]:
    """Each GPU not OK with what to do (its own reasons: an XID, a temperature), or, where
    more than ``OWN_LINES`` are of one state, one line for them all (naming a few: the table
    lists them)."""
    name = bounded(facts.name)  # from a server's labels: any length
    out: list[Ranked] = []
    gpus = facts.hw.gpu or []
    for state in ("CRITICAL", *dict.fromkeys(s for _, s, _ in gpus if s != "CRITICAL")):
        rank = ACT_NOW if state == "CRITICAL" else DEGRADING
        these = [(gpu, reasons) for gpu, s, reasons in gpus if s == state]
        if len(these) <= OWN_LINES:
            out += [(rank, WITHIN, f"{bounded(reasons)} (GPU {bounded(gpu)}, {state}): "
                     f"{_DO['GPU']}.") for gpu, reasons in these]  # fmt: skip
        else:
            out.append((rank, WITHIN, f"{len(these)} GPUs of {name} are {state} "
                        f"({_names([g for g, _ in these])}; their table says why): "
                        f"{_DO['GPU']}."))  # fmt: skip
    went = [c for c in facts.hw.gpu_changes or [] if c.after is None]
    gone = [c.key for c in went]
    if len(went) <= OWN_LINES:
        out += [(DEGRADING, WITHIN, f"GPU {bounded(change.key)} is no longer reported (it "
                 f"was {change.before.value}): check the node, the GPU and its DCGM "
                 "exporter.") for change in went]  # fmt: skip
    else:
        out.append((DEGRADING, WITHIN, f"{len(gone)} GPUs of {name} are no longer "
                    f"reported ({_names(gone)}): check their nodes, the GPUs and their DCGM "
                    "exporters."))  # fmt: skip
    return out


def _ptp_lines(facts: ClusterFacts) -> list[Ranked]:
    """A clock in FREERUN or HOLDOVER, per port, or one line for the ports of each state;
    then the ports in neither now that were out of lock in the period (time in FREERUN,
    HOLDOVER episodes past their timeout: a clock that lost its lock for hours of the shift
    is recommended though it is LOCKED at its end)."""
    name = bounded(facts.name)  # from a server's labels: any length
    out: list[Ranked] = []
    said: set[str] = set()  # the ports recommended for their state now: once a port
    kinds = (("FREERUN", ACT_NOW, ""), ("HOLDOVER", DEGRADING, " before the holdover runs out"))
    for state, rank, then in kinds:
        ports = [p[0] for p in _one_per_port(p for p in facts.hw.ptp or [] if p[1] == state)
                 if _port_of(p[0]) not in said]  # fmt: skip
        said.update(_port_of(port) for port in ports)
        if len(ports) <= OWN_LINES:
            out += [(rank, WITHIN, f"Clock in {state} on PTP port {bounded(port)} of "
                     f"{name}: check its grandmaster and GNSS{then}.")
                    for port in ports]  # fmt: skip
        else:
            out.append((rank, WITHIN, f"Clock in {state} on {len(ports)} PTP ports of "
                        f"{name} ({_names(ports)}): check their grandmasters and "
                        f"GNSS{then}."))  # fmt: skip
    hw = facts.hw
    lapsed = [p for p in hw.ptp or [] if p[1] not in _PTP_WORST and _lapse_text(hw, p)
              and _port_of(p[0]) not in said]  # fmt: skip
    lapsed = _one_per_port(sorted(lapsed, key=lambda p: _port_order(hw, p)))
    again = "before it happens again"
    if len(lapsed) <= OWN_LINES:
        out += [(DEGRADING, WITHIN, f"PTP port {bounded(p[0])} of {name} was out of lock "
                 f"in the period ({_lapse_text(hw, p)}), {p[1]} now: check its grandmaster "
                 f"and GNSS {again}.") for p in lapsed]  # fmt: skip
    else:
        out.append((DEGRADING, WITHIN, f"{len(lapsed)} PTP ports of {name} were out of "
                    f"lock in the period ({_names([p[0] for p in lapsed])}; their table says "
                    f"how long): check their grandmasters and GNSS {again}."))  # fmt: skip
    return out


def _port_of(name: str) -> str:
    """The port a PTP row or finding names: "du-2/ens7f0" of "du-2/ens7f0 (ts2phc)"."""
    return name.partition(" (")[0]


def _one_per_port(rows: Iterable[PtpPort]) -> list[PtpPort]:
    """The first of ``rows`` of each port (a port's processes, ts2phc and ptp4l, are a row
    each): its grandmaster and GNSS are checked once."""
    first: dict[str, PtpPort] = {}
    for p in rows:
        first.setdefault(_port_of(p[0]), p)
    return list(first.values())


def _lapse_text(hw: FleetHw, port: PtpPort) -> str:
    """How a port was out of lock in the period, in words ("" where it was not)."""
    freerun, long_holdovers, _ = _out_of_lock(hw, port)
    span = f"{freerun:.0f} s" if freerun < 60 else _span_text(freerun)
    said = [f"{span} in FREERUN"] if freerun else []
    if long_holdovers:
        said.append(f"{long_holdovers} holdover{'s' if long_holdovers > 1 else ''} past "
                    f"{'their' if long_holdovers > 1 else 'its'} timeout")  # fmt: skip
    return ", ".join(said)


#: the alerts something is to be done about; the others (INFO, none: OpenShift's Watchdog
#: fires always, by design) stay in their cluster's table
ACTED_ON = ("CRITICAL", "WARNING")


def _alert_rank(alert: tuple[str, str, str]) -> int:
    """An alert's place, the worst first: CRITICAL, then WARNING, then the rest (a stable
    sort keeps their order within each)."""
    level = alert[0].upper()
    return ACTED_ON.index(level) if level in ACTED_ON else len(ACTED_ON)


def _acted_on(facts: ClusterFacts) -> list[tuple[str, str, str]]:
    """Its alerts firing at the period's end that are CRITICAL or WARNING."""
    return [a for a in facts.alerts if a[0].upper() in ACTED_ON]


def _alert_lines(facts: ClusterFacts) -> list[Ranked]:
    """A period with no findings (a past one: they were not kept) is judged by its alerts
    firing at its end: each CRITICAL or WARNING one, a few by name and the rest counted."""
    serious = sorted(_acted_on(facts), key=_alert_rank)
    name = bounded(facts.name)  # from a server's labels: any length
    out: list[Ranked] = []
    for severity, alert, summary in serious[:FINDINGS_RECOMMENDED]:
        level = severity.upper()
        out.append((ACT_NOW if level == "CRITICAL" else DEGRADING, WITHIN,
                    f"{bounded(summary) or 'firing'} (alert {bounded(alert)} on {name}, "
                    f"{level}, firing at the end of the period): {_DO['alerts']}."))  # fmt: skip
    if (left := len(serious) - FINDINGS_RECOMMENDED) > 0:
        rank = ACT_NOW if serious[FINDINGS_RECOMMENDED][0].upper() == "CRITICAL" else DEGRADING
        out.append((rank, (1, 0.0), f"{left} more CRITICAL or WARNING alerts fire at the end "
                    f"of the period on {name}: see its alerts table."))  # fmt: skip
    return out


def _recommend(facts: ClusterFacts) -> list[Ranked]:
    """This cluster's recommendations, ranked; each says what was found first, then what to
    do. Bounded: many GPUs or ports of one kind are one line, findings a few and a count."""
    name = bounded(facts.name)  # from a server's labels: any length
    out: list[Ranked] = []
    if facts.state in ("OFFLINE", "STALE"):
        last_error = next((e for _, _, _, e in reversed(facts.health) if e), "")
        rank = ACT_NOW if facts.state == "OFFLINE" else DEGRADING
        why = f" ({bounded(last_error)})" if last_error else ""
        out.append((rank, WITHIN, f"{name} is {facts.state}{why}: check its endpoints."))
    out += _gpu_lines(facts) + _ptp_lines(facts)
    high = [a for a in facts.anomalies if a.severity.serious]
    recommended = sorted(high, key=lambda a: (a.severity.rank, -a.score))[:3]
    for a in recommended:
        # a CRITICAL one (by rule) before any HIGH one, then by score
        out.append((ANOMALY, (a.severity.rank, -a.score), f"{bounded(a.explanation)} "
                    f"({bounded(a.metric)} on {name} from {_t(_began(a))}): "
                    "investigate."))  # fmt: skip
    if facts.findings is None:
        out += _alert_lines(facts)
    out += _finding_recommendations(facts, {a.metric for a in recommended})
    return out


#: what to do about a finding, by its domain
_DO = {
    "GPU": "check the node and the GPU (nvidia-smi, the driver's logs)",
    "PTP": "check its grandmaster and GNSS",
    "SR-IOV": "check the node's SriovNetworkNodeState and the config daemon's logs",
    "Kubernetes": "check the node or pod (its events and logs)",
    "alerts": "see the alert's runbook",
    "anomalies": "investigate",
}


def _said_otherwise(facts: ClusterFacts, f: Found, metrics: set[str]) -> bool:
    """Whether another of the cluster's recommendations already says this finding: a
    handover's own line for the GPU (its reasons are the finding's), its FREERUN or HOLDOVER
    line for the port's clock state (not the port's other findings: a stopped ptp4l, an
    offset out of band), a recommended anomaly of the period of the same signal."""
    if f.domain == "GPU":
        return any(key == f.subject or key.endswith(f"/{f.subject}") for key, *_ in
                   facts.hw.gpu or [])  # fmt: skip
    if f.domain == "PTP":
        # "du-2/ens1f0 (ptp4l)": its row's name where the port has other processes' rows
        return any(p in (f.subject, _port_of(f.subject)) and state in ("FREERUN", "HOLDOVER")
                   and f.reason.startswith(f"clock in {state}")
                   for p, state, *_ in facts.hw.ptp or [])  # fmt: skip
    return f.domain == "anomalies" and f.subject in metrics


def _found(facts: ClusterFacts) -> list[Found]:
    return [Found(*f) for f in facts.findings or []]


def _last_known(f: Found) -> str:
    return ", last known" if f.stale else ""


def _finding_recommendations(facts: ClusterFacts, metrics: set[str]) -> list[Ranked]:
    """Every CRITICAL or WARNING finding nothing else recommended says (``metrics``: the
    signals of the anomalies recommended): the cluster is judged by them, so none is left
    out (an anomaly going on since before the period, a PTP port's stopped ptp4l). The
    ``FINDINGS_RECOMMENDED`` worst by name, the rest counted (its findings table lists them)."""
    name = bounded(facts.name)  # from a server's labels: any length
    out: list[Ranked] = []
    left: list[Found] = []
    for f in _found(facts):  # worst first
        if f.severity not in ("CRITICAL", "WARNING") or _said_otherwise(facts, f, metrics):
            continue
        if len(out) == FINDINGS_RECOMMENDED:
            left.append(f)
            continue
        critical = f.severity == "CRITICAL"
        if f.domain == "anomalies":  # ranked with the period's anomalies, CRITICAL first
            rank, within = ANOMALY, (0 if critical else 1, 0.0)
        else:
            rank, within = (ACT_NOW if critical else DEGRADING), WITHIN
        what = "anomaly" if f.domain == "anomalies" else f.domain
        do = _DO.get(f.domain, "investigate")
        out.append((rank, within, f"{bounded(f.reason)} ({what} {bounded(f.subject)} on "
                    f"{name}, {f.severity}{_last_known(f)}): {do}."))  # fmt: skip
    if left:
        rank = ACT_NOW if any(f.severity == "CRITICAL" for f in left) else DEGRADING
        out.append((rank, (1, 0.0), f"{len(left)} more CRITICAL or WARNING findings on "
                    f"{name}: see its Findings now table, and the fleet page (or the "
                    "fleet command) for all of them."))  # fmt: skip
    return out


#: the reasons a summary gives one line each for GPU or PTP reads not read whole; past them,
#: one line names the clusters (each failed read's error names its own URL: 300 clusters
#: unreachable made 600 summary lines)
SUMMARY_REASONS = 3


def _fleet_hw_summary(clusters: list[ClusterFacts]) -> list[str]:
    out = []
    if any(c.hw.gpu_changes is not None for c in clusters):
        changed = sum(len(c.hw.gpu_changes or []) for c in clusters)
        out.append(f"{changed} GPUs changed health in the period")
    # those not OK now, whether or not they changed: one CRITICAL all the period (an XID 79
    # from before it) changed nothing, and is what the recommendations begin with
    if any(c.hw.gpu is not None for c in clusters):
        not_ok = [state for c in clusters for _, state, _ in c.hw.gpu or []]
        out.append(f"{len(not_ok)} GPUs not OK ({not_ok.count('CRITICAL')} CRITICAL)")
    ports = sum(c.hw.ptp_ports for c in clusters)
    if ports:
        short = sum(c.hw.ptp_short for c in clusters)
        out.append(f"{short} of {ports} PTP ports need attention or fell short of full "
                   "compliance in the time sampled")  # fmt: skip
        if low := sum(c.hw.ptp_low for c in clusters):
            out.append(
                f"{low} of {ports} PTP ports were sampled for under "
                f"{LOW_COVERAGE_PCT:g}% of the period (the rest of it is unknown)"
            )
    # reads cut short are said (their tables say so too): not a fleet with nothing to read
    for what, unread in (
        ("GPU health", [(c.name, c.hw.gpu_unread) for c in clusters]),
        ("PTP compliance", [(c.name, c.hw.ptp_unread) for c in clusters]),
    ):
        why: dict[str, list[str]] = {}
        for name, reason in unread:
            if reason:
                why.setdefault(reason, []).append(name)
        if len(why) > SUMMARY_REASONS:  # each cluster's own error (its URL): one line, not 300
            names = sorted(n for ns in why.values() for n in ns)
            out.append(f"{what} not read whole for {len(names)} clusters: {_listed(names)} "
                       "(each one's section says why)")  # fmt: skip
            continue
        out += [f"{what} {bounded(reason)}: {_listed(names)}" for reason, names in why.items()]
    return out


def timeline(
    clusters: list[ClusterFacts],
    incidents: Sequence[Incident] = (),
    limit: int = DEFAULT_ROW_LIMIT,
    *,
    until: datetime | None,
) -> Section:
    """Every state change, anomaly, alert and incident opened, of every cluster, in time
    order: what happened when (an incident opened by a finding, an XID, was missing); none
    after ``until`` (a past period's end: an alert resolved later was still firing at it).
    Past ``limit`` events, the table holds the latest (what led to the incident) and says
    so."""
    events: list[tuple[datetime, str, str, str]] = [
        (i.opened_at, ", ".join(i.clusters), f"incident opened ({i.severity.value})", i.title)
        for i in incidents
    ]
    for facts in clusters:
        events += [(w, facts.name, f"{a} -> {b}", e or f"score {s}")
                   for w, a, b, s, e in state_changes(facts)]  # fmt: skip
        # an anomaly where it began (an excursion that began first is listed first)
        events += [(_began(a), facts.name, f"{a.severity.level.value} {_kind(a)} {a.metric}",
                    a.described) for a in facts.anomalies]  # fmt: skip
        for start, end, severity, name, summary in facts.alert_history:
            events.append((start, facts.name, f"alert {name} ({severity}) fired", summary))
            if end is not None:
                events.append((end, facts.name, f"alert {name} resolved", ""))
    if until is not None:
        events = [e for e in events if e[0] <= until]
    events.sort(key=lambda e: e[0])
    section = Section("Timeline")
    if (left := sum(c.anomaly_count - len(c.anomalies) for c in clusters)) > 0:
        section.facts.append(("Not in the timeline", f"{left} less severe anomalies (each "
                              "cluster's section says how many)"))  # fmt: skip
    if events:
        first, last = events[0][0], events[-1][0]
        section.facts.append(("First event", f"{_t(first)} ({events[0][1]}: {events[0][2]})"))
        section.facts.append(("Last event", f"{_t(last)} ({events[-1][1]}: {events[-1][2]})"))
    rows = [[_t(w), c, what, why] for w, c, what, why in events[-limit:]] if limit > 0 else []
    headers = ["When", "Cluster", "What", "Detail"]
    cut = f"the {len(rows)} latest of " if len(rows) < len(events) else ""
    section.tables.append(Table(f"Events ({cut}{len(events)})", headers, rows))
    return section


def incident_order(incident: Incident) -> tuple[bool, int, float]:
    """The order a report lists incidents in, and analyses the first of: the unresolved first
    (what the next shift takes over), the most severe, the latest (a newer resolved incident
    was analysed before an open CRITICAL one)."""
    return (incident.state is IncidentStatus.RESOLVED, SEVERITY_RANK[incident.severity],
            -incident.opened_at.timestamp())  # fmt: skip


def incidents_section(incidents: list[Incident], analysed: int | None = None) -> Section:
    """The period's incidents; ``analysed``: how many (the first in ``incident_order``) get a
    root-cause section, said where that is fewer than all (None: no report of this type has
    one)."""
    section = Section("Incidents")
    if analysed is not None and analysed < len(incidents):
        section.facts.append(("Root cause", f"analysed for the first {analysed} of the "
                              f"{len(incidents)} (unresolved first, then the most severe); the "
                              "rca command (rca --incident ID) for the others"))  # fmt: skip
    # a cut table keeps the first, and says so
    ranked = sorted(incidents, key=incident_order)
    # its ID: what the rca command takes (rca --incident ID)
    rows = [[i.id, _t(i.opened_at), i.state.value, i.severity.value, ", ".join(i.clusters),
             str(i.signal_count), i.title] for i in ranked[:DEFAULT_ROW_LIMIT]]  # fmt: skip
    count = (f"the {len(rows)} most severe of {len(incidents)}, unresolved first"
             if len(rows) < len(incidents) else str(len(incidents)))  # fmt: skip
    section.tables.append(Table(
        f"Incidents of the period ({count})",
        ["ID", "Opened", "State", "Severity", "Clusters", "Signals", "Title"], rows,
        empty="no incident in this period",
    ))  # fmt: skip
    return section


def _no_cause(report: RcaReport) -> str:
    """What an empty ranking says: never an all-clear (every signal with a baseline is
    ranked, at confidence 0 if it did not move: none ranked is none compared); one not made
    says why, not that its window held nothing."""
    if report.refused:
        return f"not analysed: {report.refused}"
    if report.signals_read:
        return (
            f"{report.signals_read} signals read, but no signal had a baseline to compare "
            "against: nothing can be said to have deviated or not"
        )
    return "nothing was read in the window: no stored series or signal there to explain"


def rca_section(report: RcaReport) -> tuple[Section, list[Ranked]]:
    """One incident's root-cause analysis, and what it recommends (its top cause's checks)."""
    section = Section(f"Root cause: {report.subject}")
    section.facts += [("Window", report.window), ("Signals read", str(report.signals_read))]
    rows = [[str(n), c.entity, f"{c.confidence:.2f}",
             time_text(c.onset, seconds=True) if c.onset else "-", "; ".join(c.evidence[:3])]
            for n, c in enumerate(report.causes[:5], start=1)]  # fmt: skip
    section.tables.append(Table("Likely causes, best first",
                                ["#", "Cause", "Confidence", "First change", "Evidence"],
                                rows, empty=_no_cause(report)))  # fmt: skip
    for entity, lines in report.quotes.items():
        section.tables.append(Table(f"Error lines of {entity}", ["When", "Line"],
                                    [[when, line] for when, line in lines]))  # fmt: skip
    for entity, traces in report.traces.items():
        section.tables.append(Table(f"Failing traces through {entity}",
                                    ["When", "Trace", "Root", "Error"],
                                    [list(t) for t in traces]))  # fmt: skip
    for cause in report.causes[:2]:
        if cause.entity in report.charts:
            section.charts.append(Chart(f"Evidence: {cause.entity}", "",
                                        report.charts[cause.entity]))  # fmt: skip
    ranked: list[Ranked] = []
    for cause in report.causes[:1]:
        if cause.checks:  # a table of their own, as they matter (notes are printed muted)
            section.tables.append(Table(f"Next checks for {cause.entity}",
                                        ["For", "What to check", "Safe action"],
                                        [list(c) for c in cause.checks]))  # fmt: skip
        for key, check, action in cause.checks:
            ranked.append((ACT_NOW, WITHIN, f"Likely cause of {bounded(report.subject)}: "
                           f"{bounded(cause.entity)} ({bounded(key)}): {bounded(check)} Safe "
                           f"action: {bounded(action)}"))  # fmt: skip
    return section, ranked


def _found_lines(
    anomalies: int, serious: int, changes: int, unseen: list[str], clusters: int
) -> list[str]:
    """What the period's data shows, and of which clusters there is none: where none has
    any, not "0 anomalies and 0 state changes" (nothing was looked at)."""
    if unseen and len(unseen) == clusters:
        return [f"Every cluster: {NO_DATA}; no health check, sample or alert read is stored "
                "of it"]  # fmt: skip
    found = [f"{anomalies} anomalies ({serious} CRITICAL or WARNING) and {changes} state "
             "changes in the period"]  # fmt: skip
    return found + ([f"{_listed(unseen)}: {NO_DATA}"] if unseen else [])


#: a cluster's states that say something needs a hand, whatever the period's data shows
NOT_WELL = ("CRITICAL", "DEGRADED")


def not_read(facts: ClusterFacts) -> list[str]:
    """What of a cluster was not read now, in words: judged NO DATA, all its sources (their
    first reads have not come back: not in ``unread``, which holds those lost), then its
    sources lost (its findings of them are the last known), its alerts firing now (not where
    it has no Alertmanager: nothing to read). Empty: all was read, so finding nothing is the
    all-clear."""
    out = list(facts.unread)
    if facts.alerts_missed and not any(source.startswith("alerts (") for source in out):
        out.append(f"alerts firing now {facts.alerts_unread}")
    if facts.state == Health.NO_DATA:
        out.insert(0, f"its sources ({Coverage.NO_DATA.value})")
    return out


def _closing(
    recommendations: list[str], unseen: list[str], clusters: list[ClusterFacts]
) -> list[str]:
    """The last recommendation: what is not known is not said to need nothing (a cluster
    with no data, one whose data ends before the period's end, one judged NO DATA or with
    sources or alerts not read now, GPUs or PTP ports not read whole), nor is a cluster
    judged CRITICAL or DEGRADED (by findings a past period did not keep), nor one with
    CRITICAL or WARNING alerts firing at the period's end (a cluster judged now is
    recommended by its findings, not its alerts); an INFO one is nothing to act on."""
    told: list[str] = []
    if unseen:
        told.append(f"Nothing can be said of {_listed(unseen)}: {NO_DATA}; check that the "
                    "app monitors it (its endpoints, and that the app runs).")  # fmt: skip
    if ended := _ended(clusters):
        after = "; ".join(f"{_listed(names)} after {_t(end)}" for end, names in ended.items())
        told.append(f"Nothing is known of {after}: the data ends there; check that the app "
                    "was running then, and see the state now (the fleet page or the fleet "
                    "command).")  # fmt: skip
    if told or recommendations:
        return told
    unwell = [f"{bounded(c.name)} is {c.state}" for c in clusters if c.state in NOT_WELL]
    if unwell:
        return [f"{bounded(', '.join(unwell))}, though nothing in this period says why: see its "
                "findings on the fleet page (or the fleet command) and act on them."]  # fmt: skip
    if firing := [c for c in clusters if _acted_on(c)]:
        count = sum(len(_acted_on(c)) for c in firing)
        return [f"{count} alerts still fire at the end of the period on "
                f"{_listed(c.name for c in firing)}: see their tables, and the alerts' "
                "runbooks."]  # fmt: skip
    # what was not read is not known to need nothing: said instead of the all-clear
    missed = [f"{bounded(c.name)}: {bounded(', '.join(what))}" for c in clusters
              if (what := not_read(c))]  # fmt: skip
    if missed:
        told.append(f"Not read now, so nothing is said of it: {bounded('; '.join(missed))}; "
                    "see the state now (the fleet page or the fleet command), and make the "
                    "report again once they answer.")  # fmt: skip
    if unread := [c.name for c in clusters if c.hw.gpu_unread or c.hw.ptp_unread]:
        told.append(f"The GPU or PTP reads of {_listed(unread)} were not whole (see their "
                    "tables): nothing is said of what they did not read; make the report "
                    "again once they answer.")  # fmt: skip
    return told or ["No action needed: nothing in this period calls for one."]


def build_report(inputs: ReportInputs) -> Report:
    kind = inputs.type
    ranked: list[Ranked] = []
    sections = (
        [timeline(inputs.clusters, inputs.incidents, until=inputs.until)]
        if kind is ReportType.INCIDENT else []
    )  # fmt: skip
    if kind is ReportType.INCIDENT:
        sections.append(incidents_section(inputs.incidents, len(inputs.rca)))
        for rca in inputs.rca:
            section, recommended = rca_section(rca)
            sections.append(section)
            ranked += recommended
    for facts in inputs.clusters:
        capacity: list[str] = []
        sections.append(
            _section(
                kind, facts, capacity, inputs.since, inputs.until, known_from=inputs.known_from
            )
        )
        ranked += [(CAPACITY, WITHIN, text) for text in capacity]
        ranked += _recommend(facts)
    if kind is ReportType.HANDOVER:  # what the next shift takes over
        sections.append(incidents_section(inputs.incidents))
    # worst first across the clusters (a stable sort: a cluster's order stays within a rank),
    # the least urgent past the bound counted
    recommendations = [text for _, _, text in sorted(ranked, key=lambda r: (r[0], r[1]))]
    if (left := len(recommendations) - MAX_RECOMMENDATIONS) > 0:
        recommendations = [
            *recommendations[:MAX_RECOMMENDATIONS],
            f"{left} more recommendations, less urgent than those above: see each cluster's "
            "section.",
        ]
    states = Counter(c.state for c in inputs.clusters)
    anomalies = sum(c.anomaly_count for c in inputs.clusters)
    serious = sum(c.serious_count for c in inputs.clusters)
    changes = sum(len(state_changes(c)) for c in inputs.clusters)
    unseen = [c.name for c in inputs.clusters if not c.seen]
    summary = [
        *_unknown_part(inputs),
        *_ended_lines(inputs),
        f"{len(inputs.clusters)} clusters: "
        + ", ".join(f"{n} {s}" for s, n in sorted(states.items())),
        *_found_lines(anomalies, serious, changes, unseen, len(inputs.clusters)),
    ]
    history = [h for c in inputs.clusters for h in c.alert_history]
    fired = sum(h[0] >= inputs.since for h in history)
    resolved = sum(_resolved_in(h[1], inputs.since, inputs.until) for h in history)
    if history:
        summary.append(f"{fired} alerts fired and {resolved} resolved in the period")
    firing = sum(len(c.alerts) for c in inputs.clusters)
    unread = [c.name for c in inputs.clusters if c.alerts_missed]
    if firing:
        summary.append(f"{firing} alerts firing at the end of the period" + (
            f" (last known for {_listed(unread)}: not read now)" if unread else ""))  # fmt: skip
    elif unread:
        summary.append(f"Alerts firing now not read for {_listed(unread)}")
    if kind is ReportType.HANDOVER:
        summary += _fleet_hw_summary(inputs.clusters)
    if kind in (ReportType.INCIDENT, ReportType.HANDOVER) and inputs.incidents:
        live = [i for i in inputs.incidents if i.state.value != "RESOLVED"]
        summary.append(f"{len(inputs.incidents)} incidents in the period, {len(live)} not resolved")
    recommendations += _closing(recommendations, unseen, inputs.clusters)
    span = _span_text((inputs.until - inputs.since).total_seconds())
    # the clusters chosen (a fleet hub, not its members: they are its), a few by name; a
    # fleet's forty would fill half the first page (and every footer)
    served = {m for c in inputs.clusters for m in c.members}
    names = [c.name for c in inputs.clusters if c.name not in served]
    named = (_listed(names) if len(names) <= TITLE_NAMES
             else f"{len(inputs.clusters)} clusters")  # fmt: skip
    title = inputs.title or f"{kind.heading}: {named}, {span}"
    return Report(
        type=kind, title=title, since=inputs.since, until=inputs.until,
        clusters=[c.name for c in inputs.clusters], generated_at=inputs.generated_at,
        summary=summary, sections=sections, recommendations=recommendations,
        source=inputs.source,
    )  # fmt: skip
