"""Reports from what the app holds: the chosen clusters' health checks, anomalies and stored
series over the period (the cache, or an opened capture), the alerts firing now and, for a
shift handover on a live site, the GPU and PTP state read at once. The report itself is built
Qt-free (``analysis.reports``); the UI layer draws its PDF."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from aiops_desktop.models import Cluster, EndpointKind, utcnow
from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.models.errors import AppError, NotFoundError
from aiops_desktop.models.fleet import ClusterTruth, Coverage
from aiops_desktop.models.gpu import GpuFleet, GpuState
from aiops_desktop.models.incidents import Incident, RcaReport
from aiops_desktop.models.metrics import ClusterOutcome, lost_reads
from aiops_desktop.models.ptp import PtpBoard, PtpRow
from aiops_desktop.models.reports import REPORT_RETENTION, Report, ReportType
from aiops_desktop.models.text import one_line, pct_text
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.gpu_cnf.gpu import read_gpu_fleet
from aiops_desktop.services.gpu_cnf.ptp import read_ptp_board
from aiops_desktop.services.intelligence.anomalies import AnomalyService
from aiops_desktop.services.intelligence.incidents import IncidentService
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.polling.history import named_series, read_panel_history
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.access import Access, Action
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.settings import Settings
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.capture import CaptureManifest
from aiops_desktop.store.series import SeriesStore
from analysis.gpu_health import health_changes
from analysis.incidents import as_it_stood
from analysis.reports.build import (
    CAPACITY_PANELS,
    LOW_COVERAGE_PCT,
    NO_ALERTMANAGER,
    ClusterFacts,
    FleetHw,
    Found,
    PanelData,
    ReportInputs,
    build_report,
    incident_order,
    not_read,
)

LIVE_READ_TIMEOUT_S = 20.0


#: the most severe anomalies of a cluster a report reads and lists (every one is counted)
REPORT_ANOMALIES = 1000
RCA_IN_REPORT = 3  # incidents analysed in an incident report: the unresolved, most severe first
CAPTURE_UNCOMPARED = "not compared: a capture records the GPUs at its end only"
PAST_AFTER = timedelta(minutes=1)  # a period ending earlier than this before now is past
FULL_PCT = 99.95  # "100.0%" as written: a share that rounds to it is full compliance
PTP_POINTS = 4000  # samples per port over a handover's period, at most (step >= 15 s)
#: report file name: <type>-<UTC time>.<format>
FORMATS = ("pdf", "html", "md", "json")
MAX_SAME_NAME = 100  # reports of one kind made in the same second


def members(src: ReportService, cluster: Cluster) -> list[str]:
    """The names a cluster's data is stored under: its own, or a fleet hub's member clusters
    (the hub's own where it has none yet)."""
    return src.registry.members(cluster, src.series.cluster_names()) or [cluster.name]


def _panels(
    src: ReportService, name: str, start: datetime, until: datetime
) -> dict[str, PanelData]:
    """The capacity panels over the period as the charts read them (``read_panel_history``):
    the raw samples the cache still holds and the rollups before them, so a period longer
    than the raw retention still ends at its end."""
    out = {}
    for panel in src.catalog:
        if panel.id not in CAPACITY_PANELS:
            continue
        stored = read_panel_history(src.series, name, panel.id, start, until)
        out[panel.id] = PanelData(
            panel.title, panel.unit,
            named_series(panel, stored.values()),
        )  # fmt: skip
    return out


def _gpu_facts(
    facts: dict[str, FleetHw],
    now: GpuFleet,
    then: GpuFleet,
    served: Mapping[str, list[str]] | None = None,
) -> None:
    """GPUs not OK at the end, and health changes since the start, per (member) cluster. A
    cluster whose GPUs all went in the period (its GPU node down) is read too: each GPU no
    longer reported (``health_changes``), not "not read" and no all-clear; unless its read at
    the end failed (nothing is known gone). ``served``: the member clusters each cluster read
    holds (a hub's read that failed is its members'). A cluster whose read at the end failed
    though some of its GPUs came back (a field, a store that did not answer) is read in part,
    said with why (``gpu_unread``): the others are not known OK; one whose read failed with
    none back (unreachable, timed out), "not read" and why, never the default "no live GPU
    metrics" (a cluster with no GPUs to read, nothing failed)."""
    why = _failed_reads(now.outcomes, served)
    failed = {o.cluster for o in now.outcomes} | set(why)
    for h in now.gpus:
        f = facts.setdefault(h.reading.cluster, FleetHw())
        f.gpu = f.gpu or []
        if h.state is not GpuState.OK:
            f.gpu.append((h.reading.key, h.state.value, "; ".join(h.reasons)))
    for name in {h.reading.cluster for h in then.gpus} - failed:
        f = facts.setdefault(name, FleetHw())
        f.gpu = f.gpu or []
    for name, reasons in why.items():
        f = facts.setdefault(name, FleetHw())
        f.gpu_unread = _unread_why(f.gpu is not None, reasons)
    for name, f in facts.items():
        before = [h for h in then.gpus if h.reading.cluster == name]
        if f.gpu is not None and before:
            after = [h for h in now.gpus if h.reading.cluster == name]
            f.gpu_changes = health_changes(before, after)


def _failed_reads(
    outcomes: list[ClusterOutcome], served: Mapping[str, list[str]] | None
) -> dict[str, set[str]]:
    """Why each (member) cluster's read failed (``outcomes``: the failures); ``served``: the
    member clusters each cluster read holds (a hub's read that failed is its members')."""
    why: dict[str, set[str]] = {}
    for o in outcomes:
        for name in (served or {}).get(o.cluster) or [o.cluster]:
            why.setdefault(name, set()).add(one_line(o.error or o.reason or "not read"))
    return why


def _unread_why(read_some: bool, reasons: set[str]) -> str:
    """A failed GPU or PTP read as a report says it (``gpu_unread``, ``ptp_unread``): "read in
    part" where some came back (the rest are not known well), else "not read"; and why."""
    return f"{'read in part' if read_some else 'not read'} ({'; '.join(sorted(reasons))})"


def _ptp_facts(
    facts: dict[str, FleetHw], board: PtpBoard, served: Mapping[str, list[str]] | None = None
) -> None:
    """Per (member) cluster: the ports needing attention now, short of full compliance over
    the time sampled (locked and within the band all of it, no long holdover), or sampled for
    too little of the period to tell (counted apart: time with no sample is unknown, not out
    of compliance). Shares are of the time sampled, beside how much of the period that is.
    A row is one port's process (``_ptp_row_name``), its long holdovers its own. A cluster
    whose read failed (``served`` as ``_gpu_facts`` takes it) is said not read, or read in
    part, and why (``ptp_unread``): never "no live PTP metrics", nor compliant."""
    processes = Counter((r.cluster, r.node, r.iface) for r in board.rows)
    for r in board.rows:
        name = _ptp_row_name(r, processes[r.cluster, r.node, r.iface] > 1)
        f = facts.setdefault(r.cluster, FleetHw())
        f.ptp = f.ptp or []
        f.ptp_ports += 1
        c = r.compliance
        sampled = c.coverage_pct if c is not None else None
        locked, within = (_of_sampled(c.locked_pct, sampled), _of_sampled(c.within_pct, sampled)
                          ) if c is not None else (None, None)  # fmt: skip
        short = c is not None and bool(
            (locked or 0.0) < FULL_PCT or (within or 0.0) < FULL_PCT or c.long_holdovers
        )
        low = sampled is None or sampled < LOW_COVERAGE_PCT
        f.ptp_short += short or r.needs_attention
        f.ptp_low += low
        if c is not None and c.long_holdovers:
            f.ptp_long_holdovers[name] = c.long_holdovers
        if r.needs_attention or short or low:
            f.ptp.append((
                name, r.state.value, pct_text(sampled), pct_text(locked),
                pct_text(within), f"{c.holdover_s:.0f} s" if c else "-",
                f"{c.freerun_s:.0f} s" if c else "-",
            ))  # fmt: skip
    for name, reasons in _failed_reads(board.outcomes, served).items():
        f = facts.setdefault(name, FleetHw())
        f.ptp_unread = _unread_why(f.ptp is not None, reasons)


def _ptp_row_name(row: PtpRow, shared: bool) -> str:
    """A PTP row's name in a report: its port, "node/iface"; with its process where the port
    has rows of others (``shared``: a T-GM's ts2phc and ptp4l, a GM's dpll, each on the
    port), as the fleet's findings name it ("du-2/ens7f0 (ts2phc)"): two rows of one name
    were two table lines alike, one's holdovers said of both."""
    port = f"{row.node}/{row.iface}"
    return f"{port} ({row.process})" if shared and row.process else port


def _of_sampled(pct: float | None, sampled: float | None) -> float | None:
    """A share of the whole period as a share of the time sampled (None: none sampled)."""
    if pct is None or not sampled:
        return None
    return min(100.0, pct / sampled * 100)


async def _fleet_hw_reads(
    src: ReportService, clusters: list[Cluster], start: datetime, until: datetime
) -> dict[str, FleetHw]:
    """A shift handover's GPU and PTP reads, per (member) cluster: GPU health at the start
    and the end of the period, PTP compliance over it; what was read before the time limit.
    From a capture: its recorded answers (one moment: GPU changes are not compared)."""
    with_metrics = [c for c in clusters if c.endpoint(EndpointKind.PROMETHEUS)]
    facts: dict[str, FleetHw] = {}
    if not with_metrics:
        return facts
    gpu_read = False
    try:
        async with asyncio.timeout(LIVE_READ_TIMEOUT_S):
            if src.capture is not None:
                now = await read_gpu_fleet(src.queries, with_metrics, at=until)
                then = GpuFleet([], [])
            else:
                now, then = await gather_all(
                    read_gpu_fleet(src.queries, with_metrics, at=until),
                    read_gpu_fleet(src.queries, with_metrics, at=start),
                )
            served = {c.name: members(src, c) for c in with_metrics}
            _gpu_facts(facts, now, then, served)
            gpu_read = True
            if src.capture is not None:
                for f in facts.values():
                    f.uncompared = CAPTURE_UNCOMPARED
            profiles, _ = await src.kube.ptp_thresholds()
            window = until - start
            step = timedelta(seconds=max(15, round(window.total_seconds() / PTP_POINTS)))
            board = await read_ptp_board(
                src.queries, with_metrics, window=window, step=step, thresholds=profiles,
                end=until,
            )  # fmt: skip
            # a capture made before a PTP query was read did not record it: nothing lost
            lost = lost_reads(board.outcomes, recorded=src.capture is not None)
            _ptp_facts(facts, replace(board, outcomes=lost), served)
    except TimeoutError:  # said where they were not read: not "no live metrics" (a slow Thanos)
        late = (f"not read within {LIVE_READ_TIMEOUT_S:g} s (the time limit on a handover's "
                "live reads)")  # fmt: skip
        for cluster in with_metrics:
            for name in {cluster.name, *members(src, cluster)}:
                f = facts.setdefault(name, FleetHw())
                if not gpu_read:  # read: as it was read (in part, where it was)
                    f.gpu_unread = late
                f.ptp_unread = late  # the last read: cut short, it was never done
    return facts


class Judged(NamedTuple):
    state: str
    score: int | None
    findings: list[Found] | None  # None: not judged
    unread: list[str]  # its sources not read now: "source (why)"


def _judged(judged: ClusterTruth | None, hub: str, own: bool) -> Judged:
    """A cluster's (or hub member's) state, score and findings as the fleet's one truth
    judges them now, each finding whose source could not be read marked stale (what was last
    known, as tiles and the CLI say it), and those sources."""
    if judged is None:
        return Judged("NOT JUDGED" if own else f"via {hub}", None, None, [])
    found = [Found(f.severity.value, f.domain.value, f.subject, f.reason, f.stale)
             for f in judged.findings]  # fmt: skip
    unread = [f"{source} ({judged.unread.get(source) or judged.coverage[source].value})"
              for source in judged.lost()]  # fmt: skip
    return Judged(judged.state.value, judged.health_score, found, unread)


def _no_alertmanager(src: ReportService, cluster: Cluster, name: str) -> str:
    """``NO_ALERTMANAGER`` where neither ``cluster`` (registered: the cluster itself, or the
    hub its section is under) nor another hub serving ``name`` has an Alertmanager: what a
    past period says of the alerts firing at its end, as a period ending now does ("" where
    one is there: the stored history holds what it fired)."""
    readers = [cluster, *src.registry.hubs_of(name)]
    return "" if any(c.endpoint(EndpointKind.ALERTMANAGER) for c in readers) else NO_ALERTMANAGER


def _alerts_unread(judged: ClusterTruth | None) -> str:
    """Why the alerts firing now were not read ("" where they were, or where the truth does
    not judge the cluster): an Alertmanager that does not answer, not yet polled, or none."""
    read = judged.coverage.get("alerts") if judged is not None else None
    if judged is None or read in (None, Coverage.READ, Coverage.RECORDED):
        return ""
    if read is Coverage.NOT_CONFIGURED:
        return NO_ALERTMANAGER
    return f"not read ({judged.unread.get('alerts') or read.value})"


async def gather(
    src: ReportService,
    kind: ReportType,
    names: list[str] | None,
    since: timedelta,
    until: datetime | None = None,
) -> ReportInputs:
    """Everything a report of ``kind`` over ``since`` before ``until`` (now by default)
    needs (off the UI thread). A period that ended in the past takes each cluster's state
    and the alerts firing at its end from the stored history, not from what is live now.
    ``NotFoundError`` where no cluster is registered. ``names`` as the other commands take
    them: a fleet hub's member through its hub, the report of that member alone."""
    chosen, keep = src.registry.targets(names) if names else (src.registry.clusters(), None)
    if not chosen:  # a report of nothing is no all-clear (a fresh install, a mistyped data dir)
        raise NotFoundError("no cluster is registered: add one first (aiops-desktop clusters add)")
    now = src.now()
    # in UTC from here on: the report writes its times in UTC, and the stores compare them so
    until = min(until or now, now).astimezone(UTC)
    past = until < now - PAST_AFTER
    start = until - since
    slack = _begins_slack(src, chosen, since)
    hw = await _fleet_hw_reads(src, chosen, start, until) if kind is ReportType.HANDOVER else {}
    truth = None if past else await src.fleet.current()
    facts: list[ClusterFacts] = []
    firsts: list[datetime] = []  # where each cluster's stored data begins, where known
    for cluster in chosen:
        history = await src.registry.health_history(cluster.name, since=start)
        health = [(h.checked_at, h.state.value, h.health_score, h.error or "")
                  for h in history if h.checked_at <= until]  # fmt: skip
        if history and history[0].checked_at <= start + slack:
            firsts.append(history[0].checked_at)
        else:  # no check at the period's start: do the checks begin later, or only pause?
            every = await src.registry.health_history(cluster.name)
            firsts += [every[0].checked_at] if every else []
        # a hub's own section first (its checks, its own alerts: filed under its name), then
        # each member's
        served = [n for n in members(src, cluster) if n != cluster.name]
        for name in [cluster.name, *served]:
            if keep is not None and name not in keep:  # a member asked for: not its hub's own
                continue
            # a member two hubs name: once, under the first (its data is one cluster's, and
            # targets() gives every hub naming it)
            if any(f.name == name for f in facts):
                continue
            own = name == cluster.name
            judged = truth.get(name) if truth is not None else None
            state, score, findings, unread = _judged(judged, cluster.name, own)
            if past and own:  # as the last check before the period's end found it
                state, score = (health[-1][1], health[-1][2]) if health else ("UNKNOWN", None)
            anomalies, counted = await asyncio.to_thread(_anomalies_of, src, name, start, until)
            panels = await asyncio.to_thread(_panels, src, name, start, until)
            sampled = [ts[0] for p in panels.values() for ts, _ in p.series.values() if ts.size]
            firsts += [datetime.fromtimestamp(float(t), UTC) for t in sampled]
            ended = _data_ends(health, panels, until - slack) if past else None
            events = await asyncio.to_thread(src.alert_events.between, [name], start, until)
            fired = [(e.starts_at, e.resolved_at, e.severity, e.name, e.summary) for e in events]
            # firing at a past period's end, or now where the alerts were not read now: as the
            # stored history has them (the last known), never none for want of a read; none
            # read where there is no Alertmanager to read them from, past or now
            unread_alerts = (_no_alertmanager(src, cluster, name) if past
                             else _alerts_unread(judged))  # fmt: skip
            alerts = (
                [(e.severity, e.name, e.summary) for e in events
                 if e.resolved_at is None or e.resolved_at > until]
                if past or unread_alerts
                else [(a.severity.value, a.name, a.annotations.get("summary", ""))
                      for a in src.poller.alerts.get(name, [])]
            )  # fmt: skip
            facts.append(ClusterFacts(
                name=name, state=state, score=score,
                kind=cluster.kind.value, health=health if own else [],
                anomalies=anomalies, anomaly_counts=counted, panels=panels, alerts=alerts,
                alert_history=fired,
                hw=hw.get(name, FleetHw()), findings=findings, unread=unread,
                members=served if own else [],
                alerts_unread=unread_alerts,
                # a hub's checks read its members too
                observed=bool(health or sampled or fired or anomalies or alerts),
                known_until=ended,
            ))  # fmt: skip
    source = "live cache" if src.capture is None else src.capture.describe()
    inputs = ReportInputs(kind, start, until, utcnow(), facts, source)
    # where the data begins: a capture's start, or its (or the cache's) first check or sample
    # where that comes later in the period (a capture of 12 h of a site watched for 2 h)
    begins = [datetime.fromisoformat(src.capture.since)] if src.capture is not None else []
    if firsts and min(firsts) > start + slack:  # the stored data begins in the period
        begins.append(min(firsts))
    if begins:
        inputs.known_from = max(begins)
    if kind in (ReportType.INCIDENT, ReportType.HANDOVER):  # the next shift takes them over
        analyse = RCA_IN_REPORT if kind is ReportType.INCIDENT else 0
        inputs.incidents, inputs.rca = await _incidents(
            src, {f.name for f in facts}, start, until, analyse
        )
    return inputs


def _begins_slack(src: ReportService, chosen: list[Cluster], since: timedelta) -> timedelta:
    """How long after the period's start its first check or sample may come and still be
    its start (checks come every check interval, a chart's points every rollup step or
    every thousandth of the period): later, the data begins in the period. So too at its
    end: a last one before it by more, the data ends in the period (``_data_ends``)."""
    every = max((c.check_interval_s for c in chosen), default=0)
    return max(timedelta(seconds=3 * every), 2 * src.settings.store.rollup_step, since / 1000)


def _data_ends(
    health: list[tuple[datetime, str, int, str]], panels: dict[str, PanelData], before: datetime
) -> datetime | None:
    """Where a (member) cluster's data ends, where that is ``before`` (the period's end less
    the slack): its last check (a member's: its hub's, which read it) or sample in the
    period. None: it reaches the end, or there is none (no data at all is said apart)."""
    lasts = [health[-1][0]] if health else []
    lasts += [datetime.fromtimestamp(float(ts.max()), UTC)
              for p in panels.values() for ts, _ in p.series.values() if ts.size]  # fmt: skip
    return max(lasts) if lasts and max(lasts) < before else None


def _anomalies_of(
    src: ReportService, name: str, start: datetime, until: datetime
) -> tuple[list[Anomaly], dict[AnomalySeverity, int]]:
    """The anomalies of the period: the episodes that overlap it (began by its end, and last
    found at or after its start), whatever their worst point: in it, after its end (an
    excursion going on at the end of a past period) or before its start (an open CRITICAL
    that began before a shift and went on through all of it; not one left open when the app
    closed mid-episode, never found since: it was listed in every later report). The
    ``REPORT_ANOMALIES`` most severe of them (CRITICAL first, then by score: a flapping
    signal's many never push out an older CRITICAL), and how many of each severity there are
    in all (counted in SQL: a month of a flapping signal's is never loaded)."""
    mine = (name,)
    # by where their worst point is, apart (each counted once): in the period, strictly after
    # its end (begun by then), strictly before its start (lasting into it)
    after = math.nextafter(until.timestamp(), math.inf)
    before = math.nextafter(start.timestamp(), -math.inf)
    wanted = (
        AnomalyFilter(clusters=mine, since=start.timestamp(), until=until.timestamp(),
                      limit=REPORT_ANOMALIES),
        AnomalyFilter(clusters=mine, since=after, started_until=until.timestamp(),
                      limit=REPORT_ANOMALIES),
        AnomalyFilter(clusters=mine, until=before, found_since=start.timestamp(),
                      limit=REPORT_ANOMALIES),
    )  # fmt: skip
    repo = src.anomalies.repo
    found = [a for flt in wanted for a in repo.most_severe(flt)]
    found.sort(key=lambda a: (a.severity.rank, -a.score, -a.timestamp.timestamp()))
    counts: Counter[AnomalySeverity] = Counter()
    for flt in wanted:
        counts.update(repo.count_by_severity(flt))
    return found[:REPORT_ANOMALIES], dict(counts)


async def _incidents(
    src: ReportService, names: set[str], start: datetime, until: datetime, analyse: int
) -> tuple[list[Incident], list[RcaReport]]:
    """The period's incidents of these clusters (grouped now where the period ends now or the
    source is a capture, whose incidents are grouped when asked for; as they stood at its
    end where it is past), and the root-cause analysis of the first ``analyse`` of them (the
    unresolved first, then the most severe), as of the period's end. Each read from the
    store, uncut (``active``: the unresolved, and those changed since the start): a cut of
    the fleet's, made before these clusters are picked, left a cluster's out (a thousand of
    another's open pushed its few out of the report). The report's table cuts them, saying
    how many there are."""
    past = until < src.now() - PAST_AFTER
    if not past or src.capture is not None:
        await src.incidents.refresh()
    mine = await asyncio.to_thread(_of_clusters, src, names, start, until, past)
    mine.sort(key=incident_order)  # the incidents table's: the first are analysed
    analysed = [await _analysed(src, i, until) for i in mine[:analyse]]
    return mine, analysed


def _of_clusters(
    src: ReportService, names: set[str], start: datetime, until: datetime, past: bool
) -> list[Incident]:
    """The store's incidents of ``names`` in the period, as they stood at ``until`` where it
    is ``past``; in a worker: a fleet's thousands of incidents, each taken back to the
    period's end, held the event loop 4 s (20,000). Those of other clusters are passed over
    first (taken back, an incident's clusters are some of its clusters now)."""
    every = src.incidents.repo.active(resolved_since=start.timestamp())
    ours = [i for i in every if set(i.clusters) & names]
    then = [as_it_stood(i, until) for i in ours] if past else ours
    return [i for i in then if i is not None and i.opened_at <= until and set(i.clusters) & names]


async def _analysed(src: ReportService, incident: Incident, at: datetime) -> RcaReport:
    """``incident``'s root-cause analysis as of ``at``, as its section shows it; one refused
    (its window reaches before 1970: an alert's zero time for its start) says why there, and
    the report and the other incidents' analyses stand."""
    try:
        return (await src.rca.for_incident(incident, at=at)).shown()
    except AppError as exc:
        why = one_line(str(exc))
        return RcaReport(incident.id, f"not analysed: {why}", 0, [], refused=why)


def unread_of(inputs: ReportInputs) -> list[str]:
    """What the report could not read, where its pages say "not read": each (member)
    cluster's sources not read now (``not_read``: all of them where it is judged NO DATA,
    else those lost, their last known shown; its alerts firing now), a
    handover's GPU and PTP reads cut short by their time limit, or failed (whole or in
    part); "cluster: what (why)" each.
    Not what is not there to read (no Alertmanager, no GPU metrics)."""
    out: list[str] = []
    for c in inputs.clusters:
        out += [f"{c.name}: {what}" for what in not_read(c)]  # as its pages say it
        for what, why in (("GPU health", c.hw.gpu_unread), ("PTP compliance", c.hw.ptp_unread)):
            out += [f"{c.name}: {what} {why}"] if why else []
    return out


class Made(NamedTuple):
    report: Report
    unread: list[str]  # ``unread_of`` its inputs


async def make_report(
    src: ReportService,
    kind: ReportType,
    names: list[str] | None,
    since: timedelta,
    until: datetime | None = None,
) -> Report:
    return (await make_report_told(src, kind, names, since, until)).report


async def make_report_told(
    src: ReportService,
    kind: ReportType,
    names: list[str] | None,
    since: timedelta,
    until: datetime | None = None,
) -> Made:
    """The report, and what it could not read (``unread_of``)."""
    inputs = await gather(src, kind, names, since, until)
    return Made(await asyncio.to_thread(build_report, inputs), unread_of(inputs))


def report_path(folder: Path, report: Report, fmt: str) -> Path:
    return folder / f"{report.type.value}-{report.generated_at:%Y%m%dT%H%M%SZ}.{fmt}"


def claim_paths(named: list[Path]) -> list[Path]:
    """Files of one report's own, one per format: ``named`` (one name, each format's
    suffix), else ``<name>-2`` ... where none of them is there yet. Each is created empty
    (mode "x"), to be written next: reports are named to the second, and the window's, the
    CLI's and the assistant's, made in the same second, must never overwrite one another."""
    for n in range(1, MAX_SAME_NAME + 1):
        paths = [p if n == 1 else p.with_name(f"{p.stem}-{n}{p.suffix}") for p in named]
        made: list[Path] = []
        try:
            for path in paths:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.open("x").close()
                made.append(path)
        except FileExistsError:
            for path in made:  # one format's name taken: none of this name is ours
                path.unlink(missing_ok=True)
            continue
        return paths
    raise FileExistsError(f"{MAX_SAME_NAME} reports named {named[0].stem} already: try again "
                          "in a second")  # fmt: skip


def release_unwritten(claimed: list[Path], written: list[Path]) -> None:
    """The names ``claim_paths`` claimed for a report (created empty) that were not written:
    deleted (left, they were listed among the reports as empty files)."""
    for path in claimed:
        if path not in written and path.is_file() and not path.stat().st_size:
            path.unlink(missing_ok=True)


def list_reports(folder: Path) -> list[Path]:
    """Reports kept in the app's folder, newest first."""
    found = [p for p in folder.glob("*-*.*") if p.suffix.lstrip(".") in FORMATS]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def prune_reports(folder: Path, now: datetime, keep: timedelta = REPORT_RETENTION) -> list[Path]:
    """Delete reports older than ``keep`` (90 days); the deleted paths."""
    cutoff = (now - keep).timestamp()
    gone = [p for p in list_reports(folder) if p.stat().st_mtime < cutoff]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


@dataclass
class ReportService:
    """Reports' one door: make one (``ReportSources`` held explicitly), where they are kept,
    list them, prune past 90 days."""

    registry: ClusterRegistry
    series: SeriesStore
    settings: Settings
    catalog: list[Panel]
    capture: CaptureManifest | None
    queries: MultiClusterQuery
    kube: KubeSession
    anomalies: AnomalyService
    alert_events: AlertEventRepository
    poller: Poller
    clock: Callable[[], datetime]
    folder: Path
    fleet: FleetState
    incidents: IncidentService
    rca: RcaService
    access: Access = field(default_factory=Access)

    def now(self) -> datetime:
        return self.clock()

    async def make(
        self,
        kind: ReportType,
        names: list[str] | None,
        since: timedelta,
        until: datetime | None = None,
    ) -> Report:
        return (await self.make_told(kind, names, since, until)).report

    async def make_told(
        self,
        kind: ReportType,
        names: list[str] | None,
        since: timedelta,
        until: datetime | None = None,
    ) -> Made:
        """The report, and what it could not read (``unread_of``): the CLI says it on stderr
        and exits 3, as ``fleet`` does for its sources."""
        self.access.require(Action.WRITE_REPORTS)
        return await make_report_told(self, kind, names, since, until)

    def cluster_names(self) -> list[str]:
        return [c.name for c in self.registry.clusters()]

    def path_for(self, report: Report, fmt: str) -> Path:
        return report_path(self.folder, report, fmt)

    def new_paths(self, report: Report, formats: list[str]) -> list[Path]:
        """Blocking (the file system): ``report``'s files, one per format, claimed (created
        empty, never another report's: ``claim_paths``); write them next."""
        return claim_paths([self.path_for(report, fmt) for fmt in formats])

    def kept(self) -> list[Path]:
        """Blocking (the file system): call from a worker thread."""
        return list_reports(self.folder)

    def prune(self) -> list[Path]:
        """Blocking (the file system): call from a worker thread."""
        return prune_reports(self.folder, utcnow())
