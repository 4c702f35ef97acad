"""Root-cause analysis of an incident (or of a cluster at a moment), off the UI thread: the
incident's clusters' stored series in the window (30 min before to 5 min after the onsets of
its worst signals, ``rca_span``; nothing after the analysis time) and its own discrete
signals (an XID, a clock leaving LOCKED, a failed SR-IOV sync...) are ranked by
``analysis.rca.score``; each cause carries its evidence and the runbook's next checks. Works
on a capture (its stored series), offline."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

import numpy as np

from aiops_desktop.logs import redact
from aiops_desktop.models import utcnow
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.fleet import SEVERITY_RANK, FindingSeverity
from aiops_desktop.models.incidents import (
    RCA_WINDOW_AFTER,
    RCA_WINDOW_BEFORE,
    Incident,
    IncidentSignal,
    RcaCauseRow,
    RcaReport,
    worst_first,
)
from aiops_desktop.models.text import labels_text, one_line, time_text
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.intelligence.incidents import fitted_name
from aiops_desktop.services.intelligence.rca_logs_traces import LogsTracesAround
from aiops_desktop.services.intelligence.rca_topology import RcaTopology, TopologyRead
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.series import SeriesData, SeriesStore, labels_key
from analysis.incidents import RESOLVE_AFTER, as_it_stood, depends_on, entity_of
from analysis.rca.model import Cause, Signal, SignalKind, Window
from analysis.rca.runbook import Runbook, RunbookEntry
from analysis.rca.score import CAUSES_KEPT, rank
from analysis.rca.traces import FailingTrace, failing_through

SHOWN = CAUSES_KEPT  # causes kept in a result (their confidences add up to 1)
AFTER_LISTED = 5  # an incident's signals after the window named (the rest counted)
QUOTED_CAUSES = 2  # the top causes whose own error lines and failing traces are quoted
#: a polled panel that RCA also reads from Loki over the whole window: where both are at
#: hand for a pod, the one read over the window (complete from its start) is kept
ASKED_AGAIN = {"error_log_lines": "error log lines"}
#: an alert's labels that name why, as the runbook's pod reasons are keyed: kube-state-
#: metrics' ``reason`` (a container waiting, terminated, last terminated; a pod evicted),
#: as an event exporter's and the node problem detector's (OOMKilling); its other labels
#: (a pod's, a container's, a namespace's name) are names, not reasons
REASON_LABELS = ("reason",)
#: a panel that counts the alerts firing (Prometheus' ALERTS series, summed on the cluster)
#: is no candidate cause: an alert is a symptom by nature, and each firing one is already
#: an incident's signal on its own entity; its count rose with every alert and, on the
#: cluster, outranked the node whose CPU the alert was about
_COUNTS_ALERTS = re.compile(r"(?<![\w:])ALERTS(?:_FOR_STATE)?(?![\w:])")
#: a discrete signal (a finding, an alert) as evidence: how it weighs beside the series
_DISCRETE = {FindingSeverity.CRITICAL: SignalKind.ERRORS,
             FindingSeverity.WARNING: SignalKind.RESOURCE,
             FindingSeverity.INFO: SignalKind.OTHER}  # fmt: skip


@dataclass
class RcaResult:
    subject: str  # "INC-…" or "cluster ran-east at …"
    window: Window
    causes: list[Cause]
    checks: dict[str, list[RunbookEntry]] = field(default_factory=dict)  # entity -> checks
    signals_read: int = 0
    #: each cause's evidence series in the window (entity -> signal -> (ts, values))
    charts: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    #: "cluster: why" where PTP roles or SR-IOV VFs could not be read (ranked without them)
    unread: list[str] = field(default_factory=list)
    #: the top causes' own error log lines in the window (entity -> [(unix s, line)])
    quotes: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    #: the failing traces through the top causes (entity -> the first few)
    traces: dict[str, list[FailingTrace]] = field(default_factory=dict)
    #: the incident's own signals first seen after the window (not ranked), the first
    #: AFTER_LISTED of them, each "entity: source: reason (from time)", and how many in all
    after_window: list[str] = field(default_factory=list)
    after_window_count: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "window": {"detect": _iso(self.window.detect_s), "before_s": self.window.before_s,
                       "after_s": self.window.after_s, "lead_s": self.window.lead_s,
                       "analysis": _iso(self.window.analysis_s) if self.window.analysis_s
                       else None, "end": _iso(self.window.end_s)},
            "signals_read": self.signals_read,
            "after_window": self.after_window,
            "after_window_count": self.after_window_count,
            "topology_unread": self.unread,
            "causes": [{
                "entity": c.entity, "score": round(c.score, 3), "confidence": c.confidence,
                "onset": _iso(c.onset_s) if c.onset_s is not None else None,
                "evidence": [{"signal": e.signal, "kind": e.kind.value, "z": round(e.z, 2),
                              "first_deviation": _iso(e.first_deviation_s)
                              if e.first_deviation_s is not None else None,
                              "baseline": e.baseline, "peak": _number(e.peak)}
                             for e in c.evidence[:5]],
                "next_checks": [{"key": r.key, "meaning": r.meaning, "check": r.check,
                                 "safe_action": r.safe_action}
                                for r in self.checks.get(c.entity, [])],
                "error_lines": [{"time": _iso(at), "line": line}
                                for at, line in self.quotes.get(c.entity, [])],
                "failing_traces": [{"time": _iso(t.start_s), "trace_id": t.trace_id,
                                    "root": t.root, "duration_ms": round(t.duration_ms, 1),
                                    "error": t.error} for t in self.traces.get(c.entity, [])],
            } for c in self.causes],
        }  # fmt: skip

    @property
    def not_ranked(self) -> str:
        """The incident's own signals first seen after the window (``after_window``): one line."""
        n = self.after_window_count
        more = n - len(self.after_window)
        listed = "; ".join(self.after_window) + (f"; and {more} more" if more > 0 else "")
        return (f"{n} signal{'s' if n != 1 else ''} first seen after the window, not ranked: "
                f"{listed}")  # fmt: skip

    @property
    def not_read(self) -> str:
        """What could not be read around the window (``unread``), each one printable line."""
        return f"not read (topology, logs, traces): {'; '.join(map(one_line, self.unread))}"

    def shown(self) -> RcaReport:
        """As the RCA page shows it."""
        w = self.window
        at = datetime.fromtimestamp(w.detect_s, UTC)
        window = (f"{w.before_s / 60:.0f} min before to {w.after_s / 60:.0f} min after "
                  f"{time_text(at, seconds=True)}")  # fmt: skip
        if w.analysis_s is not None:  # the end really read: the analysis time, or before it
            end = datetime.fromtimestamp(w.end_s, UTC)
            window += f", read up to {time_text(end, seconds=True)}"
        if self.after_window_count:
            window += f"; {self.not_ranked}"
        if self.unread:
            window += f"; {self.not_read}"
        rows = [
            RcaCauseRow(
                c.entity, c.confidence,
                datetime.fromtimestamp(c.onset_s, UTC) if c.onset_s is not None else None,
                [f"{e.signal}: z {e.z:.1f} ({e.baseline:.4g} -> {e.peak:.4g})"
                 for e in c.evidence[:3]],
                [(r.key, r.check, r.safe_action) for r in self.checks.get(c.entity, [])],
            )
            for c in self.causes
        ]  # fmt: skip
        quotes = {entity: [(time_text(datetime.fromtimestamp(at, UTC), seconds=True), line)
                           for at, line in lines]
                  for entity, lines in self.quotes.items()}  # fmt: skip
        traces = {entity: [(time_text(datetime.fromtimestamp(t.start_s, UTC), seconds=True),
                            t.trace_id, f"{t.root} ({t.duration_ms:.0f} ms)", t.error)
                           for t in found]
                  for entity, found in self.traces.items()}  # fmt: skip
        return RcaReport(self.subject, window, self.signals_read, rows, self.charts, quotes,
                         self.window.detect_s, traces)  # fmt: skip


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def signal_entity(s: IncidentSignal) -> str:
    """An incident's signal placed as the series are (named as they are: ``fitted_name``;
    one stored before its entity was fitted too)."""
    return fitted_name(s.entity or s.cluster)


class RcaService:
    def __init__(
        self,
        series: SeriesStore,
        catalog: list[Panel],
        *,
        clock: Callable[[], datetime] = utcnow,
        topology: RcaTopology | None = None,
        logs_traces: LogsTracesAround | None = None,
    ) -> None:
        self._series = series
        self._catalog = catalog
        self._clock = clock
        self._topology = topology
        self._logs_traces = logs_traces

    @cached_property
    def runbook(self) -> Runbook:
        base = resources_dir()
        document = json.loads((base / "rca" / "runbook.json").read_text())
        xids = json.loads((base / "gpu" / "xid.json").read_text())["xids"]
        return Runbook(document, xids)

    def now(self) -> datetime:
        """The analysis time where none is asked, and the latest there is: now (a capture's
        now is its end)."""
        return self._clock()

    async def for_incident(self, incident: Incident, *, at: datetime | None = None) -> RcaResult:
        """Causes of ``incident``; ``at``: the analysis time (default now): nothing after it
        is read."""
        at = at or self.now()
        # what was known at the analysis time: a signal (and the cluster it brought) that
        # joined later must not rank a cause or add a next check
        # and each as it was then (a WARNING that became an XID later reads as the WARNING)
        known = [as_known(s, at) for s in incident.signals if s.first_seen <= at]
        if not known:
            began = time_text(incident.first_signal_at)
            raise UsageError(
                f"{incident.id}: its first signal ({began}) is after the analysis "
                f"time ({time_text(at)}); nothing was known then to explain"
            )
        first, newest = rca_span(known)
        window = _window(first.timestamp(), at, f"{incident.id}: its RCA window",
                         "the onset of its worst signal",
                         after=newest - first + RCA_WINDOW_AFTER)  # fmt: skip
        clusters = sorted({s.cluster for s in known})
        around = await self._around(clusters, window)
        result = await asyncio.to_thread(
            self._analyse, incident.id, clusters, window, known, around=around,
        )  # fmt: skip
        # its own signals first seen after the window (a lesser one, later than the worst's
        # 5 minutes) are not ranked: said, not left out unsaid; one that only repeats a
        # signal of its place in the window (a capture's finding, dated when read, of the
        # anomaly ranked) is no news
        ranked = [s for s in known if s.first_seen.timestamp() <= window.end_s]
        later = sorted((s for s in known if s.first_seen.timestamp() > window.end_s
                        and not _repeats(s, ranked)), key=lambda s: s.first_seen)  # fmt: skip
        result.after_window = [_after_line(s) for s in later[:AFTER_LISTED]]
        result.after_window_count = len(later)
        return await self._quoted(result)

    async def for_cluster(self, name: str, clusters: list[str], at: datetime) -> RcaResult:
        """Causes of what changed on ``clusters`` (``name``: a cluster, or a hub and its
        members) around ``at`` (the window ends there)."""
        subject = f"{name} at {time_text(at)}"
        window = _window(at.timestamp() - RCA_WINDOW_AFTER.total_seconds(), at,
                         f"{subject}: the RCA window", "5 min before the moment asked")  # fmt: skip
        around = await self._around(clusters, window)
        result = await asyncio.to_thread(self._analyse, subject, clusters, window, [],
                                         around=around)  # fmt: skip
        return await self._quoted(result)

    async def _quoted(self, result: RcaResult) -> RcaResult:
        """The top causes' own error log lines, where their cluster has Loki."""
        if self._logs_traces is not None:
            result.quotes = await self._logs_traces.quotes(
                [c.entity for c in result.causes[:QUOTED_CAUSES]], result.window
            )
        return result

    async def _around(self, clusters: list[str], window: Window) -> TopologyRead:
        """The topology (PTP, SR-IOV) and what logs and traces say, where they are read."""
        readers = [r for r in (self._topology, self._logs_traces) if r is not None]
        reads = await gather_all(*(r.read(clusters, window) for r in readers))
        out = TopologyRead()
        for read in reads:
            out.edges += read.edges
            out.signals += read.signals
            out.unread += read.unread
            out.traces += read.traces
        return out

    def _analyse(
        self, subject: str, clusters: list[str], window: Window,
        discrete: list[IncidentSignal], *, around: TopologyRead,
    ) -> RcaResult:  # fmt: skip
        start_ms = int((window.detect_s - window.before_s) * 1000)
        end_ms = int(window.end_s * 1000)
        signals: list[Signal] = []
        depends: dict[str, set[str]] = {}  # dependent -> what it depends on (labels say)
        read_around = [_fitted(s) for s in around.signals]
        asked = {(s.entity, s.name) for s in read_around}
        for panel in self._catalog:
            if _COUNTS_ALERTS.search(getattr(panel, "promql", "")):
                continue
            kind = SignalKind(panel.rca_kind)
            again = ASKED_AGAIN.get(panel.id)
            for cluster in clusters:
                for data in window_series(self._series, panel.id, cluster, start_ms, end_ms):
                    labels = {str(k): str(v) for k, v in data.labels.items()}
                    # a label is any text (200,000 characters, escapes): every name a cause,
                    # its evidence and its charts carry is one printable line, cut, and two
                    # names cut alike stay two causes (``fitted_name``)
                    entity = fitted_name(entity_of(cluster, labels))
                    if again is not None and (entity, again) in asked:
                        continue
                    for dependent, dependency in depends_on(cluster, labels):
                        depends.setdefault(fitted_name(dependent), set()).add(
                            fitted_name(dependency)
                        )
                    signals.append(Signal(
                        entity, _named(panel.id, labels),
                        kind, data.timestamps_ms / 1000.0, data.values,
                        resolution=1.0 if panel.counted else 0.0,
                    ))  # fmt: skip
        signals += read_around
        for dependent, dependency in around.edges:
            depends.setdefault(fitted_name(dependent), set()).add(fitted_name(dependency))
        series = list(signals)  # what can be charted (the discrete signals are steps)
        signals += [_step(s, window) for s in discrete if s.first_seen.timestamp() <= window.end_s]
        causes = rank(signals, window, calls=depends)[:SHOWN]
        checks: dict[str, list[RunbookEntry]] = {}
        for cause in causes:
            mine = sorted((s for s in discrete if signal_entity(s) == cause.entity),
                          key=worst_first)  # its worst signal's checks first  # fmt: skip
            # a finding's entries only for its own domain's signals (source: GPU, PTP...)
            found = self.runbook.for_texts([(_said(s), s.source) for s in mine])
            if found:
                checks[cause.entity] = found
        charts: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        named = {c.entity: {e.signal for e in c.evidence[:5]} for c in causes[:3]}
        for s in series:
            if s.name in named.get(s.entity, set()):
                charts.setdefault(s.entity, {})[s.name] = (s.timestamps, s.values)
        traces = {c.entity: failing_through(around.traces, c.entity, window.end_s,
                                               around=window.change_s)
                  for c in causes[:QUOTED_CAUSES]}  # fmt: skip
        return RcaResult(subject, window, causes, checks, len(signals), charts, around.unread,
                         traces={e: t for e, t in traces.items() if t})  # fmt: skip


#: how far past now an analysis time may be (clocks differ a little); later is refused
AT_AHEAD = timedelta(minutes=1)


def _number(value: float) -> float | str:
    """A value as JSON holds it: +-Inf as the text "+Inf" / "-Inf" (histogram_quantile's
    latency past the largest bucket), never null ("no value")."""
    return value if math.isfinite(value) or math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def analysis_time(now: datetime, given: object) -> datetime:
    """An asked analysis time checked (the CLI's --at, the assistant's ``at``): a moment not
    after ``now`` (nothing is known later; a capture's now is its end); none given: now."""
    if given is None:
        return now
    if not isinstance(given, datetime):  # `--at=--` reaches here as argparse's []
        raise UsageError("the analysis time must be a time: ISO 8601 or Unix seconds")
    if given > now + AT_AHEAD:
        raise UsageError(f"the analysis time {time_text(given)} is after now "
                         f"({time_text(now)}): nothing is known then")  # fmt: skip
    return given


def nothing_read(result: RcaResult) -> str | None:
    """What to say when an analysis read nothing in its window (no stored series, no signal),
    or read series none of which had a baseline to compare against (a pod begun minutes
    before, a panel added, a poller's gap): "nothing deviated" would pass for an all-clear;
    None when something was compared. ``rank`` makes every signal with a baseline a cause
    (one that did not move at confidence 0): no cause is nothing compared."""
    if result.signals_read and result.causes:
        return None
    w = result.window
    start, end = (datetime.fromtimestamp(t, UTC) for t in (w.detect_s - w.before_s, w.end_s))
    # what could not be read may be why (a Prometheus down): said with it
    unread = f"; {result.not_read}" if result.unread else ""
    if result.signals_read:
        return (f"{result.signals_read} signals read between {time_text(start)} and "
                f"{time_text(end)}, but {NO_BASELINE}: too few samples before the change, or "
                f"none after it; nothing can be said to have deviated or not{unread}")  # fmt: skip
    return (f"nothing was read between {time_text(start)} and {time_text(end)}: no stored "
            f"series or signal there to explain{unread}")  # fmt: skip


#: what an analysis that compared nothing says (``nothing_read``; the CLI and the RCA page
#: say it of an empty ranking too)
NO_BASELINE = "no signal had a baseline to compare against"


def as_known(s: IncidentSignal, at: datetime) -> IncidentSignal:
    """``s`` as it was known at ``at``: its version then (``as_of``) and seen no later than
    ``at`` (as ``analysis.incidents.as_it_stood``): a signal seen again after it ran on, in
    ``rca_anchor``, over a later onset at its place, and moved the window of the same moment.

    An anomaly found after ``at`` (a capture's are found as it is opened, a history
    detector's later) is named by its metric and start only: its explanation is its whole
    episode's (its worst point, "lasted 40 points", "still open at the end of the data"),
    all of it after ``at``. It is kept, not left out: its onset is in the stored data by then
    (read causally, as the series beside it are), and a capture analysed at any moment before
    its end would have nothing left to explain. Its severity is its episode's worst point's,
    as likely after ``at``: it reads as the lowest (INFO), as the signal keeps nothing to
    tell what it was up to ``at``; else what came later would pick the window's anchor
    (``rca_anchor``) and weigh it (``_DISCRETE``), and the same facts up to ``at`` would
    rank otherwise. A finding's or an alert's words are kept: they name a state that held
    from its first seen (what first seen means for them: "in HOLDOVER since"), and its
    runbook checks are read from them."""
    then = s.as_of(at)
    update: dict[str, object] = {"last_seen": min(s.last_seen, at)}
    if s.source == "anomaly" and s.grouped_at is not None and s.grouped_at > at:
        update["reason"] = f"{s.subject} from {time_text(s.first_seen, seconds=True)}"
        update["severity"] = FindingSeverity.INFO
    return then.model_copy(update=update)


def incident_as_known(incident: Incident, at: datetime) -> Incident:
    """``incident`` as an analysis at ``at`` knew it: its signals first seen by then, each
    ``as_known``, and its title and severity of those (``as_it_stood``); one opened after a
    signal it holds (grouped when the app first read it) as opened at that signal."""
    known = incident.model_copy(update={
        "signals": [as_known(s, at) for s in incident.signals],
        "opened_at": min(incident.opened_at, incident.first_signal_at),
    })  # fmt: skip
    return as_it_stood(known, at) or known


#: a series whose raw samples begin within this of the window's start is read from them
#: (polled every 15 s to a minute); where one begins later, or none was read, retention may
#: have rolled the raw samples up: the rollups are asked for
RAW_COVERS_MS = 60_000


def window_series(
    store: SeriesStore, metric: str, cluster: str, start_ms: int, end_ms: int
) -> list[SeriesData]:
    """``metric``'s series on ``cluster`` in [start_ms, end_ms]: the raw samples, and before
    them the rollups where retention left only those (raw samples are kept 48 h, rollups 30
    days; a resolved incident is listed 7 days, and a report of the period analyses each).
    A rollup bucket (its average) is stamped at its end, when all its samples were in: one
    ending after ``end_ms`` (the analysis time) holds what came later and is not read, and
    the baseline's buckets hold nothing of a change after them. A series rolled up at two
    steps (the setting changed) is read at its finest."""
    raw = store.read(metric, cluster=cluster, start_ms=start_ms, end_ms=end_ms)
    first = {labels_key(d.labels): int(d.timestamps_ms[0]) for d in raw}
    if raw and max(first.values()) <= start_ms + RAW_COVERS_MS:
        return raw  # the common case: the window is younger than raw retention
    parts = {labels_key(d.labels): d for d in raw}
    rolled: set[str] = set()
    for step_s in store.rollup_resolutions(metric, cluster=cluster, start_ms=start_ms,
                                           end_ms=end_ms):  # finest first  # fmt: skip
        step_ms = step_s * 1000
        for data in store.read(metric, cluster=cluster, start_ms=start_ms - step_ms,
                               end_ms=end_ms, resolution_s=step_s):  # fmt: skip
            key = labels_key(data.labels)
            if key in rolled:
                continue
            # its raw samples take over where they begin: a bucket read is one that ended
            # before them (one they begin inside averages samples also read raw, and was
            # stamped at the first of them: two samples at one time, counted twice)
            since = first.get(key, end_ms + 1)
            stamps = data.timestamps_ms + step_ms
            keep = (stamps < since) & (stamps >= start_ms) & (stamps <= end_ms)
            if not keep.any():
                continue
            rolled.add(key)
            ts, values = stamps[keep], data.values[keep]
            if key in parts:
                ts = np.concatenate([ts, parts[key].timestamps_ms])
                values = np.concatenate([values, parts[key].values])
            parts[key] = SeriesData(cluster, metric, data.labels, ts, values)
    return list(parts.values())


def rca_clusters(registry: ClusterRegistry, name: str) -> list[str]:
    """The clusters whose stored series explain ``name``: a cluster itself; a fleet hub and
    its members (a hub's data is stored under its members' names: the hub alone read
    nothing); a hub's member by its own name."""
    targets, keep = registry.targets([name])
    if keep is not None:
        return sorted(keep)
    return sorted({n for c in targets for n in (c.name, *registry.members(c))})


def rca_anchor(known: list[IncidentSignal]) -> datetime:
    """The moment an incident's RCA window is built around (``rca_span``'s first onset)."""
    return rca_span(known)[0]


def rca_span(known: list[IncidentSignal]) -> tuple[datetime, datetime]:
    """The moment an incident's RCA window is built around: the onset (first seen) of its
    worst signals (``known``: as they were at the analysis time). Of the signals of its worst
    severity, the newest onset, or the first of those that began within the window's baseline
    (``RCA_WINDOW_BEFORE``) before it: a cascade of equals is read from its first, and a
    warning the incident has held for days does not pull the window away from the critical
    that joined it now (an XID 79 would fall outside it, neither ranked nor given its check).
    One signal, however long it has run: its first seen. A signal whose onset is not known
    (dated when the app first read it: a finding with no "since", first seen when grouped)
    about a place that one of the same severity about that place covered (still seen within
    RESOLVE_AFTER of it) is no new onset: a capture's findings are first seen at its end,
    and the anomaly they repeat, begun an hour before, is the onset (read from the finding,
    the GPU at 84 C throughout showed no change). One with an onset of its own (an XID 79
    that came now on a GPU hot for two days) is one.

    With it, the newest of those onsets: the window is read up to RCA_WINDOW_AFTER past it
    (never past the analysis time), so a cascade's later equal (a FREERUN 12 min after the
    XID of its node) is ranked with what its series did, not left out after the first's
    5 minutes. They are within RCA_WINDOW_BEFORE of the first: the window stays bounded."""
    worst = min(SEVERITY_RANK[s.severity] for s in known)
    onsets: list[datetime] = []
    covered: dict[str, datetime] = {}  # place -> until when its open run was seen
    for s in sorted((s for s in known if SEVERITY_RANK[s.severity] == worst),
                    key=lambda s: s.first_seen):  # fmt: skip
        place = signal_entity(s)
        until = covered.get(place)
        dated_when_read = s.grouped_at is not None and s.first_seen >= s.grouped_at
        if until is None or not dated_when_read or s.first_seen - until > RESOLVE_AFTER:
            onsets.append(s.first_seen)  # the place's first, or its first since one ended
            until = s.last_seen
        covered[place] = max(until, s.last_seen)
    newest = max(onsets)
    return min(t for t in onsets if newest - t <= RCA_WINDOW_BEFORE), newest


#: the times an RCA window may span (unix s): the series, logs and traces it reads are
#: stamped after 1970, and a datetime holds no moment past 9999
EARLIEST_S = 0.0
LATEST_S = datetime(9999, 12, 31, tzinfo=UTC).timestamp()


def _window(
    detect_s: float, at: datetime, what: str, anchor: str, *, after: timedelta = RCA_WINDOW_AFTER
) -> Window:
    """The window around ``detect_s`` read up to ``at``; ``after``: how long after
    ``detect_s`` it reads (RCA_WINDOW_AFTER, or more to an incident's newest onset: its end
    is still never past ``at``); one reaching before 1970 or past 9999 (a source's zero time,
    0001-01-01, taken for when a signal began) is refused in words (``what``: whose window;
    ``anchor``: what ``detect_s`` is), not a "year 0 is out of range" of the readers."""
    after_s = max(after, RCA_WINDOW_AFTER).total_seconds()
    window = Window(detect_s, after_s=after_s, analysis_s=at.timestamp())
    start, end = window.detect_s - window.before_s, window.detect_s + window.after_s
    if start < EARLIEST_S or end > LATEST_S:
        raise UsageError(
            f"{what} ({window.before_s / 60:.0f} min before to {window.after_s / 60:.0f} min "
            f"after {_moment_text(detect_s)}, {anchor}) cannot be read: it reaches before 1970 "
            "or past 9999, and nothing is stored then (a zero time such as 0001-01-01 is a "
            "source's unset one)"
        )
    return window


def _moment_text(seconds: float) -> str:
    """``time_text`` of unix seconds, or the seconds where no datetime holds them."""
    try:
        return time_text(datetime.fromtimestamp(seconds, UTC))
    except (ValueError, OverflowError, OSError):
        return f"{seconds:.0f} s from 1970"


def _named(panel: str, labels: dict[str, str]) -> str:
    """A series as the evidence names it: its panel and labels (the cluster's is the cause's)."""
    rest = {k: v for k, v in labels.items() if k != "cluster"}
    # a label can hold a secret, and any text: one printable line, cut (``fitted_name``)
    return fitted_name(f"{panel} {redact(labels_text(rest))}") if rest else panel


def _said(s: IncidentSignal) -> str:
    """What a signal says that its runbook checks are looked up in: its reason, subject and
    alert name, and an alert's labels that name why (``REASON_LABELS``: kube-prometheus'
    KubeContainerWaiting names the pod's CreateContainerConfigError only there)."""
    why = " ".join(s.alert_labels[k] for k in REASON_LABELS if s.alert_labels.get(k))
    return f"{s.reason} {s.subject} {s.alert_name or ''} {why}"


def _step(s: IncidentSignal, window: Window) -> Signal:
    """A discrete signal as a series: 0 before it was first seen, 1 from then (one sample a
    minute over the window, and one at its first seen and at the window's end), so it ranks
    by the same rule as the series beside it."""
    start, first = window.detect_s - window.before_s, s.first_seen.timestamp()
    # its first seen and the analysis time are samples too: one first seen in the last
    # part-minute rises, and its onset is its first seen, not the next whole minute
    ts = np.union1d(np.arange(start, window.end_s, 60.0), [max(first, start), window.end_s])
    values = (ts >= first).astype(float)
    name = fitted_name(redact(f"{s.source}: {s.reason}"))  # a server's words (an alert's)
    return Signal(signal_entity(s), name, _DISCRETE[s.severity], ts, values)


def _repeats(s: IncidentSignal, earlier: list[IncidentSignal]) -> bool:
    """``s`` has no onset of its own (dated when the app first read it) and a signal of
    ``earlier`` about its place ran on to within RESOLVE_AFTER of it: it is that one again
    (as ``rca_span`` takes it)."""
    if s.grouped_at is None or s.first_seen < s.grouped_at:
        return False
    place = signal_entity(s)
    return any(signal_entity(o) == place and s.first_seen - o.last_seen <= RESOLVE_AFTER
               for o in earlier)  # fmt: skip


def _after_line(s: IncidentSignal) -> str:
    """One of an incident's signals after the window, as its text names it: one printable
    line, its words (a server's: an alert's) redacted and cut, as ``_step`` names them."""
    said = fitted_name(redact(f"{s.source}: {s.reason}"))
    return f"{signal_entity(s)}: {said} (from {time_text(s.first_seen, seconds=True)})"


def _fitted(s: Signal) -> Signal:
    """A signal read around the window (a log line's template, a VF's drops) named as the
    series are: its entity and name one printable line each, cut."""
    entity, name = fitted_name(s.entity), fitted_name(s.name)
    if (entity, name) == (s.entity, s.name):
        return s
    return dataclasses.replace(s, entity=entity, name=name)
