"""The app's read-only tools (``toolbox.Tool``): what the chat's model and MCP clients may ask.

Each tool answers from the services the pages and the CLI use (``Core``): the registry, the
fleet's one truth, the PromQL console's queries, the stored series, the GPU/PTP/SR-IOV/DPDK
readers, incidents, RCA, anomaly detection and reports; on a live site or an opened capture
alike (a capture is never polled: its sources are its recordings and its stored series).
Answers are compact: summaries and key figures, never raw sample arrays. No tool registers or
removes a cluster, writes a setting or a credential, or acknowledges an incident; the only
file one writes is ``generate_report``'s report, into the app's reports folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import math
import re
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

from pydantic import Field, field_validator, model_validator

from aiops_desktop.models import Aggregation, EndpointKind, QueryType, utcnow
from aiops_desktop.models.enums import ClusterKind, SpanStatus
from aiops_desktop.models.errors import AppError, NotFoundError
from aiops_desktop.models.observability import depth_first, line_level, service_calls
from aiops_desktop.models.text import one_line, pct_text
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.assistant.toolbox import (
    MAX_ROWS,
    REDACTING_IPS,
    Tool,
    ToolError,
    ToolInput,
    keeps_list,
)
from aiops_desktop.services.fleet.state import unread_sources
from aiops_desktop.services.intelligence.anomalies import WARM_UP_MOST
from aiops_desktop.services.intelligence.rca import analysis_time, nothing_read, rca_clusters
from aiops_desktop.services.queries.field_reads import read_in_part
from aiops_desktop.services.queries.logs_traces import failing_traceql
from aiops_desktop.services.runtime.gathering import gather_all
from collectors.errors import CollectorTimeout
from collectors.llm_redaction import redact_for_llm

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from aiops_desktop.models.catalog import Panel
    from aiops_desktop.models.cluster import Cluster
    from aiops_desktop.models.fleet import ClusterTruth, FleetTruth
    from aiops_desktop.models.gpu import GpuFleet, GpuHealth
    from aiops_desktop.models.incidents import Incident
    from aiops_desktop.models.metrics import TaggedSeries
    from aiops_desktop.models.observability import LogResult, LogSeries
    from aiops_desktop.models.polling import SourceStatus
    from aiops_desktop.models.ptp import PtpRow
    from aiops_desktop.services.clusters.connections import ClientPool
    from aiops_desktop.services.core import Core
    from aiops_desktop.services.gpu_cnf.gpu_fallback import NodeGpus
    from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
    from aiops_desktop.services.kube.session import KubeSession
    from aiops_desktop.services.polling.breaker import CircuitBreaker
    from collectors.prometheus import PromResult

# -- arguments shared by the tools ------------------------------------------------------------
ClusterName = Annotated[str, Field(min_length=1, max_length=253)]
CLUSTER = Field(
    None, min_length=1, max_length=253,
    description="a cluster or fleet member name (list_clusters names them); omit for all",
)  # fmt: skip
CLUSTERS = Field(
    None, max_length=50,
    description="cluster or fleet member names (list_clusters names them); omit for all",
)  # fmt: skip
NODE = Field(None, min_length=1, max_length=253, description="only this node; omit for all")
PROMQL = Field(
    min_length=1, max_length=4000,
    description="a PromQL expression, or a stored metric name that get_metric_labels lists "
    "(e.g. gpu_temperature)",
)  # fmt: skip

log = logging.getLogger("aiops.assistant.tools")
#: how long a tool waits for a headless process's first read of the sources (the MCP server,
#: ``aiops-desktop chat``): well within its deadline (CALL_TIMEOUT_S), so that it answers
#: from what was read, the rest said unread
FIRST_POLL_S = 20.0
#: how long a tool waits for the fleet's findings to be read again (every cluster's
#: Prometheus at once: a wedged one holds them to its own timeout, 30 s and retries); with
#: FIRST_POLL_S, within a tool's deadline
FLEET_READ_S = 6.0
#: how often the tools regroup incidents themselves (the window regroups after every refresh)
REGROUP_EVERY = timedelta(minutes=1)
#: values of one label get_metric_labels shows by default
LABEL_VALUES = 20
#: what detect_anomalies submits at most: its series, and each one's points over the lookback
#: (a job is then a few seconds of the one detection worker, well within the tool's deadline)
DETECT_SERIES = 25
DETECT_POINTS = 720
#: the slowest poll step a stored series' lead is read at (a capture's are at the poll's
#: step, 15-60 s; one slower is said judged in part)
STORED_STEP_S = 60
#: how long the logs and traces tools wait for each cluster's Loki or Tempo: one that never
#: answers held every cluster's answer to its own HTTP timeout (30 s, the tool's deadline);
#: well within CALL_TIMEOUT_S, so the others' answers are given, the late one said unread
CLUSTER_READ_S = 20.0
#: how long the GPU, PTP, DPDK and SR-IOV tools wait for each cluster's Prometheus (a fleet
#: hub's once, for all its members), and apart for its Kubernetes API (nvidia-smi, SR-IOV
#: objects): one that accepts and never answers held every cluster's answer past the tool's
#: deadline. The one read after the other stays well within CALL_TIMEOUT_S: Prometheus, then
#: the Kubernetes API (whose client gives a read given up ENDS_WITHIN_S, 5 s, to end), 21 s;
#: the PtpConfigs (PROFILES_WITHIN_S, 10 s, and 5 s to end), then Prometheus, 23 s
SOURCE_READ_S = 8.0
#: the nodes a refusal of an unknown node names at most
NODES_LISTED = 50
#: the members a fleet hub's status lists at most (worst first)
HUB_MEMBERS = 50
#: the lines of what was read only in part (or of a read's notes) an answer gives at most,
#: each one line of at most LINE_CHARS; those past it counted in a last line
IN_PART_LINES = 10
#: the unhealthy physical GPUs get_gpu_summary lists at most (worst first), the rest counted
UNHEALTHY_ROWS = 20
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _upper(value: object) -> object:
    """A choice as its upper-case value ("critical" is CRITICAL): small models vary case."""
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


# -- what several tools share ------------------------------------------------------------------
def _num(value: float | None) -> float | None:
    """A figure to six significant digits (None for unknown, NaN or infinite)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _iso(seconds: float) -> str | None:
    """A server's time (unix seconds) as ISO 8601; None where no date is (a Prometheus or a
    LogQL metric query answers any finite time: 1e20 s failed the whole tool)."""
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its unknowns (None, empty) and with its figures rounded."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or value in ([], "", {}):
            continue
        out[key] = _num(value) if isinstance(value, float) else value
    return out


def _lines(lines: Iterable[str], what: str) -> list[str]:
    """Lines beside an answer (what was read only in part, a read's notes), each once, as one
    redacted line cut to LINE_CHARS (``_said``: a server's warning may be long, span lines or
    name a URL with its password), at most IN_PART_LINES of them and the rest counted."""
    said = list(dict.fromkeys(one_line(_said(line)) for line in lines))
    if len(said) <= IN_PART_LINES:
        return said
    return [*said[:IN_PART_LINES], f"… and {len(said) - IN_PART_LINES:,} more {what}, left out"]


async def _known(core: Core) -> list[str]:
    """Every name a tool takes: registered clusters and their fleet hubs' members."""
    stored = await asyncio.to_thread(core.series.cluster_names)
    names = set()
    for cluster in core.registry.clusters():
        names.add(cluster.name)
        if cluster.kind is ClusterKind.FLEET:
            names.update(core.registry.members(cluster, stored))
    return sorted(names)


async def _unknown(core: Core, name: str) -> ToolError:
    known = await _known(core)
    listed = ", ".join(known[:50]) + (f" (+{len(known) - 50} more)" if len(known) > 50 else "")
    return ToolError(f"no cluster named {name!r}; the clusters are: {listed or 'none registered'}")


async def _scope(core: Core, names: list[str] | str | None) -> frozenset[str] | None:
    """The cluster names whose data to keep (a hub: itself and its members), None for all;
    a name neither registered nor a hub's member is refused with the names there are."""
    asked = [names] if isinstance(names, str) else list(names or [])
    if not asked:
        return None
    stored = await asyncio.to_thread(core.series.cluster_names)
    keep: set[str] = set()
    for name in asked:
        try:
            targets, members = core.registry.targets([name])
        except NotFoundError:
            if core.capture is not None or core.poller.status:
                raise await _unknown(core, name) from None
            await _polled(core)  # a hub names its members when first polled
            try:
                targets, members = core.registry.targets([name])
            except NotFoundError:
                raise await _unknown(core, name) from None
        if members is not None:  # a hub's member: its own name
            keep.update(members)
        else:  # a registered cluster: itself, and a hub's members
            for cluster in targets:
                keep.update({cluster.name, *core.registry.members(cluster, stored)})
    return frozenset(keep)


def _kept(scope: frozenset[str] | None, cluster: str) -> bool:
    return scope is None or cluster in scope


def _with_hubs(core: Core, scope: frozenset[str] | None) -> frozenset[str] | None:
    """``scope`` and the fleet hubs its members are read through: a read's outcome is the
    hub's."""
    if scope is None:
        return None
    return scope | {hub.name for name in scope for hub in core.registry.hubs_of(name)}


@dataclass
class _Read:
    task: asyncio.Task[Any]
    until: float  # the loop's time after which the tools no longer wait for it
    ended: float | None = None  # the loop's time it ended

    def end(self, task: asyncio.Task[Any]) -> None:
        self.ended = asyncio.get_running_loop().time()
        _read_ended(task)


#: per poller, the reads the tools started in this process and may still wait for ("poll":
#: every source; "alerts": the Alertmanagers; each a headless process's first read, its
#: sources then read again each on its own, ``_reread``; "truth", "regroup": the findings)
_READS: weakref.WeakKeyDictionary[object, dict[str, _Read]] = weakref.WeakKeyDictionary()


@dataclass
class _Reread:
    breaker: CircuitBreaker  # the source's, as the window's poller keeps one per source
    task: asyncio.Task[bool]
    ended: float | None = None  # the loop's time it ended

    def end(self, task: asyncio.Task[bool]) -> None:
        self.ended = asyncio.get_running_loop().time()
        _read_ended(task)


#: per poller, per (cluster, source): a headless process's reads of it after its first
_REREADS: weakref.WeakKeyDictionary[object, dict[tuple[str, str], _Reread]] = (
    weakref.WeakKeyDictionary()
)


def _read_ended(task: asyncio.Task[Any]) -> None:
    """Its exception retrieved: a read no call waited for to its end is said in the log."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("a tool's read failed", extra={"error": repr(task.exception())[:300]})


async def _waited(
    core: Core, what: str, read: Callable[[], Coroutine[Any, Any, Any]], wait_s: float, *,
    once: bool = False,
) -> asyncio.Task[Any] | None:  # fmt: skip
    """``read()`` in a task of its own (``what`` names it), waited for ``wait_s``: the task
    once it has ended (its result or exception is the caller's), None while it goes on. The
    wait ends, not the read (cancelled, a poll recorded nothing and each call polled again):
    what it reads later, the calls after see; they wait for the same one, never start a
    second beside it. ``once`` (a headless process's first read of its sources): never read
    again here (each source is then read again on its own, not waited for: ``_reread``), and
    ``wait_s`` counts from its start (a wedged one is not waited for again by every call);
    else each call waits ``wait_s``, and one after it ended reads again."""
    loop = asyncio.get_running_loop()
    reads = _READS.setdefault(core.poller, {})
    held = reads.get(what)
    if held is None or (held.task.done() and not once):
        held = reads[what] = _Read(loop.create_task(read()), loop.time() + wait_s)
        held.task.add_done_callback(held.end)
    elif not once:
        held.until = loop.time() + wait_s
    left = held.until - loop.time()
    if not held.task.done() and left > 0:
        await asyncio.wait({held.task}, timeout=left)
    return held.task if held.task.done() else None


def _due(core: Core, status: SourceStatus, idle_s: float) -> bool:
    """Whether a source not read for ``idle_s`` is read again, as the window's poller reads
    it (``Poller.wait_after``): never sooner than its interval, a failing one after its
    backoff, one its endpoint does not offer much later."""
    return idle_s >= status.interval_s and idle_s >= core.poller.wait_after(status)


def _reread(core: Core, source: str | None = None) -> None:
    """In a headless process whose first read has ended, each source (``source``: only it)
    due again (``_due``) read in a task of its own through its circuit breaker, not waited
    for: a call answers with what is stored, how old said (``_read_before``). Re-running the
    whole poll at the most often read source's interval read a far-edge cluster's every
    source 12 times as often, past its backoff and breaker."""
    reads = _READS.get(core.poller, {})
    first = [reads[w] for w in ("poll", "alerts") if w in reads]
    if not first or any(r.ended is None for r in first):
        return  # the window's poller reads them, or a first read reads them now
    from aiops_desktop.services.polling.breaker import CircuitBreaker

    loop = asyncio.get_running_loop()
    held = _REREADS.setdefault(core.poller, {})
    clusters: dict[str, Cluster] | None = None
    for key, status in list(core.poller.status.items()):
        read = held.get(key)
        if source not in (None, key[1]) or (read is not None and read.ended is None):
            continue  # its read goes on
        ended = max(r.ended or 0.0 for r in first) if read is None else read.ended
        if not _due(core, status, loop.time() - (ended or 0.0)) or (
            read is not None and not read.breaker.allow()
        ):
            continue
        clusters = clusters or {c.name: c for c in core.registry.clusters()}
        if (cluster := clusters.get(key[0])) is None:
            continue
        if read is None:  # its breaker, kept as Poller._loop keeps one
            breaker = CircuitBreaker(reset_after_s=60 * core.poller.settings.speed)
        else:
            breaker = read.breaker
        task = loop.create_task(core.poller.run_source(cluster, key[1], breaker))
        read = held[key] = _Reread(breaker, task)
        task.add_done_callback(read.end)


def _pending(core: Core, source: str | None = None) -> list[str]:
    """The sources a first read has not heard from yet, each as "cluster/source: why" (one
    whose endpoint does not offer it was heard from: it is not coming)."""
    return [f"{s.cluster}/{s.source}: not answered within {FIRST_POLL_S:g} s (still being "
            "read: a later call sees what it reads)"
            for s in core.poller.status.values()
            if s.not_heard_from and (source is None or s.source == source)]  # fmt: skip


def _headless(core: Core) -> bool:
    """Whether the tools read the sources in this process (the MCP server, ``aiops-desktop
    chat``): nothing had when they were first asked. The window's poller starts with the
    window, and reads them on."""
    return not {"poll", "alerts"}.isdisjoint(_READS.get(core.poller, {}))


def _read_before(core: Core, source: str | None = None) -> dict[tuple[str, str], str]:
    """In a headless process, the sources read again whose new read has not answered (it
    failed, or goes on): what the tools give of them is as a read before left it. Per
    (cluster, source), said as "cluster/source: as read N s ago, not since (why)"."""
    if not _headless(core):
        return {}  # the window's poller's: the sources' status says it
    now = utcnow()
    again = {key for key, read in _REREADS.get(core.poller, {}).items()
             if read.ended is None}  # fmt: skip
    return {key: f"{s.cluster}/{s.source}: as read {s.age_s(now) or 0:.0f} s ago, not since "
                 f"({s.last_error if s.consecutive_errors else 'being read again'})"
            for key, s in core.poller.status.items()
            if (source is None or s.source == source) and s.last_success is not None
            and (key in again or (s.last_attempt is not None and s.last_attempt > s.last_success))
            }  # fmt: skip


async def _polled(core: Core) -> list[str]:
    """A live site's sources, read in this process when nothing has read them yet (the
    window's poller has, and reads them on; a headless process has not), as the CLI does,
    and read again once older than their poll interval; a capture is never polled: its
    sources are what it recorded. A poll has FIRST_POLL_S, well within a tool's deadline
    (one wedged endpoint, 30 s a read and retries, made every tool time out): the sources
    that have not answered by then, each as "cluster/source: why", and those read again
    that did not answer, with how old what they give is."""
    if core.capture is not None:
        return []
    if core.poller.status and not _headless(core):
        return []  # the window's poller has read them
    ended = await _waited(core, "poll", core.poller.poll_once, FIRST_POLL_S, once=True)
    if ended and not core.poller.status:
        # nothing to read yet: a cluster added in a window later is its poller's to read (as
        # the tools' own, they read it again beside that poller)
        _READS[core.poller].pop("poll", None)
    _reread(core)
    # ended: each source's status says how it went (and those read before, how old)
    return ([] if ended else _pending(core)) + list(_read_before(core).values())


#: what a tool says when the fleet's findings were not read again within FLEET_READ_S
FINDINGS_PENDING = (
    f"findings: not read again within {FLEET_READ_S:g} s (a Prometheus is slow to answer; "
    "still being read: a later call sees them): this is the fleet as last read"
)


async def _truth(core: Core) -> tuple[FleetTruth, list[str]]:
    """The fleet's truth now (the sources polled first, ``_polled``), and what was not read:
    its findings are read over every cluster's Prometheus at once, and a wedged one held
    them (and the tool) to its own timeout; past FLEET_READ_S, the fleet as last read."""
    pending = await _polled(core)
    read = await _waited(core, "truth", core.fleet.current, FLEET_READ_S)
    if read is not None:
        truth: FleetTruth = read.result()
        return truth, pending
    return core.fleet.last or core.fleet.snapshot(), [*pending, FINDINGS_PENDING]


async def _grouped(core: Core) -> list[str]:
    """The incidents grouped from what the fleet shows now (as ``aiops-desktop incidents``),
    at most once a minute by the tools; what was not read (``_truth``): past FLEET_READ_S,
    the incidents as last grouped."""
    pending = await _polled(core)
    regrouped = await _waited(
        core, "regroup", lambda: core.incidents.regroup(every=REGROUP_EVERY), FLEET_READ_S
    )
    if regrouped is None:
        return [*pending, FINDINGS_PENDING]
    regrouped.result()  # its failure is the tool's
    return pending


def _panel(core: Core, promql: str) -> Panel | None:
    """The catalog panel (a stored metric) named by its id or its PromQL."""
    text = promql.strip()
    return next((p for p in core.catalog if text in (p.id, p.promql)), None)


def _summary(cluster: str, labels: dict[str, str], ts: np.ndarray, values: np.ndarray
             ) -> dict[str, Any]:  # fmt: skip
    """One series as figures: how many points, the last (and when), lowest, highest, mean."""
    import numpy as np

    seen = values[np.isfinite(values)]
    row: dict[str, Any] = {
        "cluster": cluster,
        "labels": {k: v for k, v in labels.items() if k != "__name__"},
        "points": int(values.size),
    }
    if values.size:
        row["last"] = _num(float(values[-1]))
        row["last_at"] = _iso(float(ts[-1]))
    if seen.size:
        row.update(min=_num(float(seen.min())), max=_num(float(seen.max())),
                   mean=_num(float(seen.mean())))  # fmt: skip
    return row


async def _stored(
    core: Core, panel: Panel, scope: frozenset[str] | None, minutes: int, lead_s: float = 0.0
) -> list[TaggedSeries]:
    """A catalog panel's stored series over the last ``minutes`` (before ``core.now()``) and
    ``lead_s`` before them."""
    from aiops_desktop.models.metrics import PromSeries, TaggedSeries

    end = core.now()
    start_ms = int((end - timedelta(minutes=minutes, seconds=lead_s)).timestamp() * 1000)
    end_ms = int(end.timestamp() * 1000)
    found = await asyncio.to_thread(core.series.read, panel.id, start_ms=start_ms, end_ms=end_ms)
    return [
        TaggedSeries(d.cluster, PromSeries(d.labels, d.timestamps_ms / 1000.0, d.values))
        for d in found
        if _kept(scope, d.cluster)
    ]


@dataclass
class _SeriesRead:
    source: str  # where the series came from: "prometheus", "recorded", "stored"
    series: list[TaggedSeries]
    unread: list[str]  # "cluster: why" for those not read
    notes: list[str]  # what the person should know beside it (a coarser step than asked)
    step_s: float | None  # the step a live range was read at
    #: "cluster: read in part: warning" for those that answered with a warning that data may
    #: be missing (a Thanos partial response: a store not read): their series may not be all
    in_part: list[str] = field(default_factory=list)


async def _series(
    core: Core,
    promql: str,
    names: list[str] | None,
    minutes: int | None,
    step_s: int | None,
    *,
    lead: int = 0,
) -> _SeriesRead:
    """The series of ``promql``, where they came from, and those not read; a range reaches
    ``lead`` steps before the last ``minutes`` (what a detector learns from before it
    judges): a stored series' at the slowest a poll may be (STORED_STEP_S; a capture's are at
    the poll's step, not the tool's), at most WARM_UP_MOST.

    A live site is asked (a stored metric's name runs its PromQL); a capture answers what it
    recorded, and a stored metric from its stored series."""
    from aiops_desktop.models.metrics import MetricQuery

    scope = await _scope(core, names)
    panel = _panel(core, promql)
    if panel is not None and (core.capture is not None or not panel.promql):
        # a capture, or a metric the poller reads from Loki or Tempo: what was stored
        lead_s = min(
            lead * max(step_s or 0, panel.step_s, STORED_STEP_S) * 1.1, WARM_UP_MOST.total_seconds()
        )  # a tenth more: a missed poll leaves a gap
        return _SeriesRead("stored", await _stored(core, panel, scope, minutes or 60, lead_s),
                           [], [], None)  # fmt: skip
    clusters, keep = core.console.targets(names or [])
    if not clusters:
        raise ToolError("no cluster with a Prometheus endpoint is registered")
    end = core.now()
    span = timedelta(minutes=minutes) if minutes else None
    query = MetricQuery(
        promql=panel.promql if panel is not None else promql,
        query_type=QueryType.RANGE if span else QueryType.INSTANT,
        start=end - span - timedelta(seconds=lead * (step_s or 0)) if span else None,
        end=end,
        step=timedelta(seconds=step_s or max(15, int(span.total_seconds()) // 240 if span else 60)),
        clusters=[c.name for c in clusters],
        aggregation=Aggregation.MERGE,
        timeout_s=20.0,
    )
    answer = await core.queries.run(query, clusters)
    failed = [f"{o.cluster}: {o.error or o.reason}" for o in answer.failures]
    if core.capture is not None and answer.failures and not answer.series:
        stored = ", ".join(p.id for p in core.catalog)
        if span and promql.strip() in (core.console.recorded(QueryType.INSTANT) or []):
            raise ToolError(_instant_only(core, promql.strip(), stored))
        raise ToolError(
            f"this capture did not record {promql[:200]!r}; it answers the queries its pages "
            f"recorded (e.g. DCGM_FI_DEV_GPU_TEMP, openshift_ptp_offset_ns) and its stored "
            f"metrics over time: {stored}"
        )
    kept = [s for s in answer.series if (keep is None or s.cluster in keep)]
    source = "recorded" if core.capture is not None else "prometheus"
    # a range past 11,000 points is read at a coarser step (the query layer's notes say so)
    step = answer.query.step.total_seconds() if span else None
    # what those that answered said beside it, as the console and the CLI say it: a warning
    # that data may be missing (PARTIAL: read in part), and Prometheus's own query annotations
    # (notes: how the query reads)
    said = [f"{o.cluster}: {w}" for o in answer.outcomes if o.ok
            for w in o.warnings if w not in o.missing]  # fmt: skip
    return _SeriesRead(source, kept, failed, _lines([*answer.notes, *said], "notes"), step,
                       _lines(read_in_part(answer.outcomes), "read in part"))  # fmt: skip


_NAME = re.compile(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{.*\})?\s*", re.DOTALL)


def _instant_only(core: Core, promql: str, stored: str) -> str:
    """Why a capture cannot answer a range of ``promql``, which it recorded as an instant
    query: it answers it only as at its end; over time, the stored metric reading its metric
    (the catalog panel whose PromQL reads it), if there is one."""
    said = (f"this capture recorded {promql[:200]!r} only as at its end (an instant query: "
            "omit range_minutes for it), not over time")  # fmt: skip
    simple = _NAME.fullmatch(promql)
    if simple is not None:
        name = re.compile(rf"(?<![A-Za-z0-9_:]){re.escape(simple.group(1))}(?![A-Za-z0-9_:])")
        found = [p for p in core.catalog if p.promql and name.search(p.promql)]
        if found:
            which = "; ".join(f"{p.id} ({p.promql[:200]})" for p in found[:5])
            return (f"{said}; its history is stored as {which}: query_metrics with that name "
                    "as promql and range_minutes")  # fmt: skip
    return f"{said}; over time it answers its stored metrics: {stored}"


# -- clusters ----------------------------------------------------------------------------------
class ListClustersInput(ToolInput):
    pass


async def list_clusters(core: Core, args: ListClustersInput) -> dict[str, Any]:
    stored = await asyncio.to_thread(core.series.cluster_names)
    rows = []
    for c in core.registry.clusters():
        rows.append(_compact({
            "name": c.name, "display_name": c.display_name, "kind": c.kind.value,
            "type": c.cluster_type.value, "platform": c.platform.value,
            "environment": c.environment.value, "region": c.region,
            "endpoints": sorted(e.kind.value for e in c.endpoints)
            + (["KUBERNETES_API"] if c.api_server_url else []),
            "members": core.registry.members(c, stored) if c.kind is ClusterKind.FLEET else [],
            "labels": c.labels,
        }))  # fmt: skip
    doc: dict[str, Any] = {"clusters": rows, "count": len(rows)}
    if core.capture is not None:
        doc["source"] = f"opened {core.capture.describe()}, ending {core.now().isoformat()}"
    return doc


class ClusterStatusInput(ToolInput):
    cluster: ClusterName = Field(description="a cluster or fleet member name")


async def get_cluster_status(core: Core, args: ClusterStatusInput) -> dict[str, object]:
    # an unknown name is said with the names there are; a fleet hub's scope is its members
    members = sorted((await _scope(core, args.cluster) or frozenset()) - {args.cluster})
    truth, pending = await _truth(core)
    found = truth.get(args.cluster)
    if found is None:
        raise await _unknown(core, args.cluster)
    doc = found.as_json()
    doc["as_of"] = truth.at.isoformat(timespec="seconds")
    if members:
        doc.update(_members(truth, members))
    if pending:
        doc["unread"] = pending
    return doc


def _members(truth: FleetTruth, names: list[str]) -> dict[str, object]:
    """A fleet hub's members (``names``) as the fleet judges them, worst first: the hub's own
    state and findings are of the hub alone (its members' are kept per member), and "OK,
    100" over a CRITICAL member read as an all-clear. One the fleet has not judged yet is
    NO DATA, as its tile says."""
    from aiops_desktop.models.fleet import HEALTH_RANK, Health

    judged = [(n, truth.get(n)) for n in names]

    def worst_first(member: tuple[str, ClusterTruth | None]) -> tuple[int, int, str]:
        name, c = member
        score = c.health_score if c is not None and c.health_score is not None else 101
        return HEALTH_RANK[c.state if c is not None else Health.NO_DATA], score, name

    rows = [_compact({
        "name": name, "state": (c.state if c else Health.NO_DATA).value,
        "health_score": c.health_score if c else None,
        "findings": len(c.findings) if c else None,
        "worst": w.line() if c and (w := c.worst()) else None,
    }) for name, c in sorted(judged, key=worst_first)]  # fmt: skip
    return {
        "members": rows[:HUB_MEMBERS], "members_total": len(rows),
        "note": "a fleet hub's findings are kept per member: the state, health score and "
        "findings above are the hub's own; each member's are below (worst first, its worst "
        "finding), get_cluster_status of a member gives all of them",
    }  # fmt: skip


# -- metrics -----------------------------------------------------------------------------------
class QueryMetricsInput(ToolInput):
    promql: str = PROMQL
    clusters: list[ClusterName] | None = CLUSTERS
    range_minutes: int | None = Field(
        None, ge=1, le=1440,
        description="a range query over this many minutes before now; omit for the value now",
    )  # fmt: skip
    step_seconds: int | None = Field(
        None, ge=1, le=3600, description="the range query's step (default: about 240 points)"
    )


def _series_key(t: TaggedSeries) -> tuple[str, str]:
    """A series' place in an answer: by cluster, then labels."""
    labels = {k: v for k, v in t.series.labels.items() if k != "__name__"}
    return t.cluster, json.dumps(labels, sort_keys=True)


def _first(series: list[TaggedSeries], count: int) -> list[TaggedSeries]:
    """The first ``count`` series by cluster and labels (in a worker thread: a query may
    answer 100,000 series)."""
    return heapq.nsmallest(count, series, key=_series_key)


def _summaries(series: list[TaggedSeries]) -> list[dict[str, Any]]:
    """The first MAX_ROWS series as figures: an answer lists MAX_ROWS at most (bounded_json),
    and a summary of each of 100,000 series took 18 s."""
    return [_summary(t.cluster, t.series.labels, t.series.timestamps, t.series.values)
            for t in _first(series, MAX_ROWS)]  # fmt: skip


def _fitted(
    most: int, doc_for: Callable[[int], dict[str, Any]], key: str = "series"
) -> dict[str, Any]:
    """``doc_for(n)`` for the most rows ``n`` (up to ``most``) whose list ``key`` bounded_json
    gives whole: the answer's own count of what it left out is then what it shows (cut
    after, its note said 100 series shown of 50). Only that list is sized: what bounded_json
    cuts of the rest anyway (an unread list of 150 clusters, a long label) cut it to 1. In a
    worker thread: each try is encoded."""
    whole = doc_for(most)
    if keeps_list(whole, key):
        return whole
    low, high = 1, most
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if keeps_list(doc_for(middle), key) else (low, middle - 1)
    return doc_for(low)


def _series_doc(
    head: dict[str, Any], count: int, rows: list[dict[str, Any]], unread: list[str],
    notes: list[str], *, in_part: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``head`` and the first ``rows`` of ``count`` series summarised, those left out said
    (``notes`` joined with that in ``"note"``); ``in_part``: what was read only in part (its
    series may not be all), said where given."""
    doc: dict[str, Any] = {**head, "series_count": count, "series": rows, "unread": unread}
    if in_part is not None:
        doc["read_in_part"] = in_part
    notes = list(notes)
    if count > len(rows):
        doc["series_left_out"] = count - len(rows)
        notes.append(f"the first {len(rows)} series by cluster and labels are summarised, "
                     f"{count - len(rows):,} left out: narrow the query (a cluster, a label "
                     "matcher, topk or an aggregation) to see others")  # fmt: skip
    if notes:
        doc["note"] = "; ".join(notes)
    return doc


async def query_metrics(core: Core, args: QueryMetricsInput) -> dict[str, Any]:
    read = await _series(core, args.promql, args.clusters, args.range_minutes, args.step_seconds)
    series = read.series
    # off the event loop (the Qt thread): a query may answer 100,000 series
    summaries = await asyncio.to_thread(_summaries, series)
    head: dict[str, Any] = {"query": args.promql, "source": read.source}
    if read.step_s is not None:
        head["step_seconds"] = int(read.step_s) if read.step_s.is_integer() else read.step_s

    def doc_for(shown: int) -> dict[str, Any]:
        return _series_doc(head, len(series), summaries[:shown], read.unread, read.notes,
                           in_part=read.in_part)  # fmt: skip

    return await asyncio.to_thread(_fitted, len(summaries), doc_for)


class MetricLabelsInput(ToolInput):
    metric: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[A-Za-z_:][A-Za-z0-9_:]*$",
        description="a stored metric name; omit to list the stored metrics",
    )  # fmt: skip
    cluster: str | None = CLUSTER
    max_values: int = Field(
        LABEL_VALUES, ge=1, le=100, description="at most this many values per label"
    )


async def get_metric_labels(core: Core, args: MetricLabelsInput) -> dict[str, Any]:
    """From the cache's series index (what the poller stored, or the capture holds)."""
    scope = await _scope(core, args.cluster)
    panels = {p.id: p for p in core.catalog}
    if args.metric is None:
        rows = await asyncio.to_thread(
            core.db.fetch_all,
            "SELECT metric, cluster, COUNT(*) FROM series GROUP BY metric, cluster",
        )
        per: dict[str, dict[str, int]] = {}
        for metric, cluster, count in rows:
            if _kept(scope, cluster):
                per.setdefault(metric, {})[cluster] = count
        metrics = []
        for metric, clusters in sorted(per.items()):
            panel = panels.get(metric)
            metrics.append(_compact({
                "metric": metric, "title": panel.title if panel else "",
                "unit": panel.unit if panel else "", "promql": panel.promql if panel else "",
                "logql": panel.logql if panel else "", "traceql": panel.traceql if panel else "",
                "series": sum(clusters.values()), "clusters": sorted(clusters),
            }))  # fmt: skip
        return {"metrics": metrics, "note": "query_metrics and detect_anomalies take these names"}
    metric = args.metric

    def counted() -> tuple[int, list[str], dict[str, dict[str, Any]]]:
        """How many series are in scope, their clusters, and each label's distinct values
        (counted) and first ones: in the worker thread with the read (a capture may hold
        200,000 series of a metric: seconds of the event loop, the Qt thread, that the tool's
        deadline cannot stop)."""
        found = core.db.fetch_all("SELECT cluster, labels FROM series WHERE metric = ?", (metric,))
        clusters: set[str] = set()
        values: dict[str, set[str]] = {}
        kept = 0
        for cluster, labels in found:
            if _kept(scope, cluster):
                kept += 1
                clusters.add(cluster)
                for key, value in json.loads(labels).items():
                    values.setdefault(key, set()).add(str(value))
        # the first values, not all sorted: one sort of 200,000 pods held the interpreter
        shown = {key: {"distinct": len(seen), "values": heapq.nsmallest(args.max_values, seen)}
                 for key, seen in sorted(values.items())}  # fmt: skip
        return kept, sorted(clusters), shown

    series_count, series_clusters, labels = await asyncio.to_thread(counted)
    if not series_count:
        known = sorted({r[0] for r in await asyncio.to_thread(
            core.db.fetch_all, "SELECT DISTINCT metric FROM series")})  # fmt: skip
        where = f" on {args.cluster}" if args.cluster else ""
        raise ToolError(
            f"no stored metric named {args.metric!r}{where}; the stored metrics are: "
            f"{', '.join(known) or 'none yet'}"
        )
    panel = panels.get(args.metric)
    return _compact({
        "metric": args.metric, "title": panel.title if panel else "",
        "unit": panel.unit if panel else "", "promql": panel.promql if panel else "",
        "logql": panel.logql if panel else "", "traceql": panel.traceql if panel else "",
        "series": series_count, "clusters": series_clusters, "labels": labels,
    })  # fmt: skip


# -- alerts and incidents ----------------------------------------------------------------------
Severity = Literal["CRITICAL", "WARNING", "INFO"]


class ListAlertsInput(ToolInput):
    cluster: str | None = CLUSTER
    severity: Severity | None = Field(None, description="only alerts of this severity")

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: object) -> object:
        return _upper(value)


async def _firing_live(core: Core) -> list[str]:
    """The alerts source read once when nothing has (as ``aiops-desktop alerts``); the
    clusters whose Alertmanager could not be read, with why."""
    from aiops_desktop.models.polling import Source

    sources = [c for c in core.registry.clusters() if c.endpoint(EndpointKind.ALERTMANAGER)]
    if not sources:
        raise ToolError("no cluster with an Alertmanager endpoint is registered")

    async def read() -> None:
        await gather_all(*(core.poller.run_source(c, Source.ALERTS) for c in sources))

    if "alerts" in _READS.get(core.poller, {}) or not any(
        key[1] == Source.ALERTS for key in core.poller.status
    ):  # nothing has read them: once, as a poll (then read again as the other sources)
        await _waited(core, "alerts", read, FIRST_POLL_S, once=True)
    _reread(core, Source.ALERTS)  # never beside a first poll's read of them
    earlier = _read_before(core, Source.ALERTS)  # read before, not since: said how old
    unread = []
    for c in sources:
        status = core.poller.status.get(key := (c.name, Source.ALERTS))
        if status is not None and status.consecutive_errors and key not in earlier:
            unread.append(f"{c.name}: {status.last_error or 'not read'}")
    return unread + list(earlier.values()) + _pending(core, Source.ALERTS)


async def list_alerts(core: Core, args: ListAlertsInput) -> dict[str, Any]:
    scope = await _scope(core, args.cluster)
    rows: list[dict[str, Any]] = []
    doc: dict[str, Any] = {}
    if core.capture is None:
        doc["unread"] = await _firing_live(core)
        for alert in (a for firing in core.poller.alerts.values() for a in firing):
            rows.append(_compact({
                "cluster": alert.cluster, "name": alert.name, "severity": alert.severity.value,
                "summary": alert.summary, "namespace": alert.namespace,
                "starts_at": alert.starts_at.isoformat(timespec="seconds"),
            }))  # fmt: skip
    else:  # what the capture recorded: the firings still going at its end
        until, since = core.now(), datetime.fromisoformat(core.capture.since)
        names = await _known(core)
        events = await asyncio.to_thread(core.alert_events.between, names, since, until)
        for e in events:
            if e.resolved_at is None or e.resolved_at > until:
                rows.append(_compact({
                    "cluster": e.cluster, "name": e.name, "severity": e.severity.upper(),
                    "summary": e.summary, "starts_at": e.starts_at.isoformat(timespec="seconds"),
                }))  # fmt: skip
        doc["source"] = f"the alert firings {core.capture.describe()} recorded, at its end"
        panel = _panel(core, "alerts_firing")
        if panel is not None:  # the count of firing alerts the poller stored, per severity
            counts = [
                {"cluster": t.cluster, "severity": t.series.labels.get("severity", "").upper(),
                 "firing": _num(float(t.series.values[-1]))}
                for t in await _stored(core, panel, scope, 15) if t.series.values.size
            ]  # fmt: skip
            doc["firing_counts"] = [
                c for c in counts if args.severity is None or c["severity"] == args.severity
            ]
        if not any(c.endpoint(EndpointKind.ALERTMANAGER) for c in core.registry.clusters()):
            # no firing was recorded: an empty list is not "no alerts" (as the live path and
            # the CLI refuse)
            doc["unread"] = [
                "alerts: no cluster in this capture has an Alertmanager endpoint, so no alert "
                "firing was recorded; firing_counts are the firing alerts its Prometheus "
                "counted (ALERTS), per cluster and severity"
                + ("" if panel is not None else " (none stored in this capture)")
            ]
    rank = {"CRITICAL": 0, "WARNING": 1, "INFO": 2}
    rows = [r for r in rows if _kept(scope, r["cluster"])
            and (args.severity is None or r["severity"] == args.severity)]  # fmt: skip
    rows.sort(key=lambda r: (rank.get(r["severity"], 3), r["cluster"], r["name"]))
    doc["by_severity"] = dict(Counter(r["severity"] for r in rows))
    doc["alerts"] = rows
    return doc


def _incident_row(i: Incident) -> dict[str, Any]:
    worst = i.worst
    return _compact({
        "id": i.id, "state": i.state.value, "severity": i.severity.value, "title": i.title,
        "clusters": i.clusters, "signals": len(i.signals),
        "opened_at": i.opened_at.isoformat(timespec="seconds"),
        "updated_at": i.updated_at.isoformat(timespec="seconds"),
        "worst": f"{worst.cluster} {worst.subject}: {worst.reason}" if worst else None,
    })  # fmt: skip


class ListIncidentsInput(ToolInput):
    state: Literal["OPEN", "ACKNOWLEDGED", "RESOLVED"] | None = Field(
        None, description="only incidents in this state"
    )
    cluster: str | None = CLUSTER

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: object) -> object:
        return _upper(value)


async def list_incidents(core: Core, args: ListIncidentsInput) -> dict[str, Any]:
    """The incidents, and the sources that could not be read (none listed is not an
    all-clear when some were not read)."""
    scope = await _scope(core, args.cluster)
    pending = await _grouped(core)
    shown = [
        i for i in await core.incidents.listed()
        if (args.state is None or i.state.value == args.state)
        and (scope is None or any(c in scope for c in i.clusters))
    ]  # fmt: skip
    truth = core.fleet.last or core.fleet.snapshot()
    unread, _ = unread_sources(core.poller.status.values(), truth.clusters)  # as the CLI says
    said = {p.split(": ", 1)[0] for p in pending}  # a source read again: said how old there
    unread = [u for u in unread if u.split(": ", 1)[0] not in said]
    return {"count": len(shown), "incidents": [_incident_row(i) for i in shown],
            "unread": unread + pending}  # fmt: skip


class GetIncidentInput(ToolInput):
    incident_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the incident's id, e.g. INC-20261204-205144-44416e (list_incidents)",
    )  # fmt: skip


async def _incident(core: Core, incident_id: str) -> Incident:
    await _grouped(core)
    found = await core.incidents.get(incident_id)
    if found is None:
        raise ToolError(f"no incident {incident_id!r}; list_incidents lists them")
    return found


async def get_incident(core: Core, args: GetIncidentInput) -> dict[str, Any]:
    i = await _incident(core, args.incident_id)
    doc = _incident_row(i)
    doc.pop("worst", None)
    for key in ("acknowledged_at", "resolved_at"):
        when = getattr(i, key)
        if when is not None:
            doc[key] = when.isoformat(timespec="seconds")
    doc["timeline"] = [_compact({
        "first_seen": s.first_seen.isoformat(timespec="seconds"),
        "last_seen": s.last_seen.isoformat(timespec="seconds"),
        "cluster": s.cluster, "source": s.source, "severity": s.severity.value,
        "subject": s.subject, "reason": s.reason, "alert": s.alert_name, "entity": s.entity,
    }) for s in i.timeline]  # fmt: skip
    return doc


# -- the GPU, PTP and dataplane readers: each cluster within its own wait -----------------------
T = TypeVar("T")


class _SourceLate(CollectorTimeout):
    """A cluster's Prometheus or Kubernetes API that did not answer within SOURCE_READ_S: a
    collector's error, so the readers say that cluster unread and read the others."""


class _Waits:
    """One tool call's waits on each cluster's backends: each read within SOURCE_READ_S, and
    all of them within CLUSTER_READ_S of the call's first (one answering each read just in
    time took a round of waits per ten of its reads, past the tool's deadline); a backend
    that let one pass is late, and its later reads in the call fail at once, said alike (the
    GPU fields are two dozen reads of each cluster, ten at a time: a silent one was waited
    for three times, and the dataplane's VFs, then its DPDK ports, twice)."""

    def __init__(self) -> None:
        self.late: set[str] = set()
        self._ends: float | None = None  # when every read of the call is up (loop time)

    async def bounded(self, backend: str, what: str, read: Callable[[], Awaitable[T]]) -> T:
        """``read()`` of ``backend`` (a key: its kind and cluster) within the wait; ``what``
        names it where it did not answer."""
        within_s = SOURCE_READ_S  # read at the call: a test lowers it
        said = f"{what} did not answer within {within_s:g} s"
        if backend in self.late:
            raise _SourceLate(said)
        now = asyncio.get_running_loop().time()
        if self._ends is None:
            self._ends = now + CLUSTER_READ_S
        if now + within_s > self._ends:
            said = f"{what} not read within the tool's {CLUSTER_READ_S:g} s"
        try:
            async with asyncio.timeout_at(min(now + within_s, self._ends)) as limit:
                return await read()
        except TimeoutError:
            if not limit.expired():  # the read's own (an HTTP timeout): its words
                raise
            self.late.add(backend)
            raise _SourceLate(said) from None


class _WaitedPrometheus:
    """A cluster's Prometheus as the query engine asks it (its client from the pool too: a
    keyring that waits on its unlock prompt is that cluster's wait), each read within the
    call's waits."""

    def __init__(self, pool: ClientPool, cluster: Cluster, waits: _Waits) -> None:
        self._pool, self._cluster, self._waits = pool, cluster, waits

    async def _read(self, method: str, *args: Any, **kwargs: Any) -> PromResult:
        async def read() -> PromResult:
            client = await self._pool.prometheus(self._cluster)
            result: PromResult = await getattr(client, method)(*args, **kwargs)
            return result

        return await self._waits.bounded(f"prometheus {self._cluster.name}", "Prometheus", read)

    async def query(self, *args: Any, **kwargs: Any) -> PromResult:
        return await self._read("query", *args, **kwargs)

    async def query_range(self, *args: Any, **kwargs: Any) -> PromResult:
        return await self._read("query_range", *args, **kwargs)


class _WaitedPool:
    """The clients the query engine asks for: each cluster's Prometheus waited for."""

    def __init__(self, pool: ClientPool, waits: _Waits) -> None:
        self._pool, self._waits = pool, waits

    async def prometheus(self, cluster: Cluster) -> _WaitedPrometheus:
        return _WaitedPrometheus(self._pool, cluster, self._waits)


class _WaitedKube:
    """The Kubernetes session as the GPU (nvidia-smi) and SR-IOV readers ask it, each
    cluster's reads within the call's waits; its PtpConfigs the session bounds itself, each
    cluster within PROFILES_WITHIN_S (one not read keeps its last profiles)."""

    def __init__(self, kube: KubeSession, waits: _Waits) -> None:
        self._kube, self._waits = kube, waits

    async def _read(self, name: str, read: Callable[[], Awaitable[T]]) -> T:
        return await self._waits.bounded(f"kube {name}", "the Kubernetes API", read)

    async def gpus_by_exec(self, name: str) -> list[NodeGpus]:
        return await self._read(name, lambda: self._kube.gpus_by_exec(name))

    async def sriov_states(self, name: str) -> list[dict[str, Any]]:
        return await self._read(name, lambda: self._kube.sriov_states(name))

    async def objects(self, name: str, path: str, **selectors: Any) -> list[dict[str, Any]]:
        return await self._read(name, lambda: self._kube.objects(name, path, **selectors))

    async def ptp_thresholds(self, **kwargs: Any) -> Any:
        return await self._kube.ptp_thresholds(**kwargs)


def _readers(core: Core) -> GpuCnfReaders:
    """The GPU, PTP and dataplane readers for one tool call, each cluster's Prometheus and
    Kubernetes API waited for SOURCE_READ_S (``_Waits``): one that accepts and never answers
    held every cluster's answer past the tool's deadline. Still one read over the fleet: a
    hub is asked once for all its members, a member's series are kept once (its own, else its
    hub's), and a member whose GPUs a hub serves is not asked of nvidia-smi. A capture
    answers from its recordings (nothing to wait for), and readers given in place of the
    app's are asked as they are."""
    from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
    from aiops_desktop.services.queries.multicluster import MultiClusterQuery

    readers = core.gpu_cnf
    if not isinstance(readers, GpuCnfReaders) or core.capture is not None:
        return readers
    waits = _Waits()
    queries = MultiClusterQuery(
        cast("ClientPool", _WaitedPool(core.pool, waits)), slots_of=core.queries
    )
    kube = cast("KubeSession", _WaitedKube(core.kube, waits))
    return GpuCnfReaders(core.registry, queries, kube, core.series, clock=core.now)


# -- GPUs --------------------------------------------------------------------------------------
def _fleet_said(fleet: GpuFleet) -> dict[str, Any]:
    """What the GPU page and ``aiops-desktop gpu`` say beside a fleet's GPUs: what was read
    only in part (a Thanos partial response: the GPUs listed may not be all), and its other
    notes (nvidia-smi's exit 14, an XID window not read), each once."""
    in_part = set(fleet.in_part)
    notes = [n for n in fleet.notes if n not in in_part]
    return {"read_in_part": _lines(fleet.in_part, "read in part"),
            **({"notes": _lines(notes, "notes")} if notes else {})}  # fmt: skip


class GpuInput(ToolInput):
    cluster: str | None = CLUSTER


class GpuProcessesInput(ToolInput):
    cluster: str | None = CLUSTER
    node: str | None = NODE


async def get_gpu_nodes(core: Core, args: GpuInput) -> dict[str, Any]:
    from aiops_desktop.models.gpu import STATE_RANK, GpuFleet
    from aiops_desktop.services.gpu_cnf.readers import problems

    scope = await _scope(core, args.cluster)
    fleet = await _readers(core).gpu_fleet()
    nodes: dict[tuple[str, str], list[Any]] = {}
    for h in fleet.gpus:
        if _kept(scope, h.reading.cluster):
            nodes.setdefault((h.reading.cluster, h.reading.node), []).append(h)
    rows = []
    for (cluster, node), gpus in nodes.items():
        temps = [h.reading.temperature_c for h in gpus if h.reading.temperature_c is not None]
        worst = max(gpus, key=lambda h: STATE_RANK[h.state])
        # a GPU's MIG instances: one GPU (each repeats its device's utilisation), as the GPU
        # page counts them: seven instances of a busy GPU beside 7 idle GPUs read 50 %, not 12.5
        physical = GpuFleet(gpus, []).summary()
        rows.append(_compact({
            "cluster": cluster, "node": node, "gpus": physical["gpus"],
            "models": sorted({h.reading.model for h in gpus if h.reading.model}),
            "driver": next((h.reading.driver for h in gpus if h.reading.driver), None),
            "mig_instances": sum(1 for h in gpus if h.reading.mig_id),
            "state": worst.state.value,
            "by_state": physical["by_state"],
            "avg_util_pct": physical["avg_util_pct"],
            "max_temperature_c": max(temps) if temps else None,
            "pods": sorted({p for h in gpus for p in h.reading.pods}),
            "worst_reason": f"{worst.reading.key}: {worst.reasons[0]}" if worst.reasons else None,
        }))  # fmt: skip
    rank = {"CRITICAL": 0, "WARNING": 1, "OK": 2}
    rows.sort(key=lambda r: (rank.get(r["state"], 3), r["cluster"], r["node"]))
    return {"nodes": rows, "count": len(rows), "unread": problems(fleet.outcomes),
            **_fleet_said(fleet)}  # fmt: skip


async def get_gpu_processes(core: Core, args: GpuProcessesInput) -> dict[str, Any]:
    """The pods (their containers) DCGM maps to each GPU: its processes' owners."""
    from aiops_desktop.models.gpu import by_physical
    from aiops_desktop.services.gpu_cnf.readers import problems

    scope = await _scope(core, args.cluster)
    fleet = await _readers(core).gpu_fleet()
    unread = problems(fleet.outcomes)
    mine = [h for h in fleet.gpus if _kept(scope, h.reading.cluster)]
    # only a cluster asked about may have the node: another's not read is none of this
    reads = _with_hubs(core, scope)
    asked = problems([o for o in fleet.outcomes if _kept(reads, o.cluster)])
    missing = _no_node(args.node, {h.reading.node for h in mine}, "GPUs", asked)
    chosen = [h for h in mine if args.node is None or h.reading.node == args.node]
    rows = [_compact({
        "gpu": h.reading.key, "model": h.reading.model, "mig_profile": h.reading.mig_profile,
        "pods": h.reading.pods, "state": h.state.value, "util_pct": h.reading.util_pct,
        "mem_used_mib": h.reading.mem_used_mib, "mem_total_mib": h.reading.mem_total_mib,
    }) for h in chosen if h.reading.pods]  # fmt: skip
    physical = by_physical(chosen).values()
    note = ("pods as the DCGM exporter maps them (its pod mapping), or where the GPUs are read "
            "by nvidia-smi, its processes (pid, command, memory); a GPU without any runs "
            "nothing that these see")  # fmt: skip
    return {
        "gpus_with_pods": rows, "gpus": len(physical),
        "idle_gpus": sum(1 for gpu in physical if not any(h.reading.pods for h in gpu)),
        "note": f"{missing}; {note}" if missing else note,
        "unread": unread, **_fleet_said(fleet),
    }  # fmt: skip


def _unhealthy_row(gpu: list[GpuHealth]) -> dict[str, Any]:
    """A physical GPU that is not OK (its readings: one, or one per MIG instance) as one row,
    as ``GpuFleet.summary`` counts it: its worst instance's state, its hottest and busiest
    reading (an instance repeats its device's), each reason once, and the instances not OK."""
    from aiops_desktop.models.gpu import STATE_RANK, GpuState

    worst = max(gpu, key=lambda h: STATE_RANK[h.state])
    r = worst.reading
    temps = [t for h in gpu if (t := h.reading.temperature_c) is not None]
    utils = [u for h in gpu if (u := h.reading.util_pct) is not None]
    ill = [h for h in gpu if h.state is not GpuState.OK]
    return _compact({
        "gpu": f"{r.cluster}/{r.node}/gpu{r.gpu}", "state": worst.state.value,
        "model": next((h.reading.model for h in gpu if h.reading.model), None),
        "mig_instances": sorted({h.reading.mig_id for h in ill if h.reading.mig_id},
                                key=lambda i: (len(i), i)),
        "temperature_c": max(temps) if temps else None, "util_pct": max(utils) if utils else None,
        "xid": next((h.reading.xid for h in ill if h.reading.xid), None),
        "reasons": list(dict.fromkeys(reason for h in ill for reason in h.reasons)),
    })  # fmt: skip


async def get_gpu_summary(core: Core, args: GpuInput) -> dict[str, Any]:
    from dataclasses import replace

    from aiops_desktop.models.gpu import STATE_RANK, GpuState, by_physical
    from aiops_desktop.services.gpu_cnf.readers import problems

    scope = await _scope(core, args.cluster)
    fleet = await _readers(core).gpu_fleet()
    mine = replace(fleet, gpus=[h for h in fleet.gpus if _kept(scope, h.reading.cluster)])
    doc = mine.summary()
    physical = by_physical(mine.gpus).values()  # counted as "gpus" is: a MIG instance is none
    doc["models"] = dict(Counter(
        next((h.reading.model for h in gpu if h.reading.model), "unknown") for gpu in physical
    ))  # fmt: skip
    doc["high_utilisation"] = sum(1 for gpu in physical if any(h.high_utilisation for h in gpu))
    # one row per physical GPU, as by_state counts them (seven rows of one GPU split in seven
    # MIG instances took the place of six others), worst first
    ill = sorted((_unhealthy_row(gpu) for gpu in physical
                  if any(h.state is not GpuState.OK for h in gpu)),
                 key=lambda row: (-STATE_RANK[GpuState(row["state"])], row["gpu"]))  # fmt: skip
    doc["unread"] = problems(fleet.outcomes)
    doc |= _fleet_said(fleet)
    doc["unhealthy_total"] = len(ill)

    def doc_for(shown: int) -> dict[str, Any]:
        # sized with the rest of the answer: the count said left out is the one not shown
        left = len(ill) - shown
        return {**doc, "unhealthy": ill[:shown], **({
            "unhealthy_left_out": left,
            "unhealthy_note": f"the {shown} worst of {len(ill)} unhealthy GPUs are listed, "
            f"{left} left out: give cluster to see one cluster's",
        } if left else {})}  # fmt: skip

    return await asyncio.to_thread(_fitted, min(len(ill), UNHEALTHY_ROWS), doc_for, "unhealthy")


# -- CNF: workloads, PTP, DPDK, SR-IOV -----------------------------------------------------------
class CnfWorkloadsInput(ToolInput):
    cluster: str | None = CLUSTER
    cnf_type: Literal["vDU", "vCU", "UPF", "AMF", "SMF", "NRF", "other"] | None = Field(
        None, description="only workloads of this type"
    )

    @field_validator("cnf_type", mode="before")
    @classmethod
    def _cnf_type(cls, value: object) -> object:
        if isinstance(value, str):
            kinds = {"vDU", "vCU", "UPF", "AMF", "SMF", "NRF", "other"}
            return next((k for k in kinds if k.lower() == value.lower()), value)
        return value


async def get_cnf_workloads(core: Core, args: CnfWorkloadsInput) -> dict[str, Any]:
    from aiops_desktop.services.gpu_cnf.cnf import cnf_workloads_by_type
    from aiops_desktop.services.gpu_cnf.readers import problems

    scope = await _scope(core, args.cluster)
    readers = _readers(core)
    vfs, ports, unread = await readers.dataplane()
    objects = await readers.sriov_objects()
    workloads = [
        w for w in cnf_workloads_by_type(vfs, ports, objects.pods)
        if _kept(scope, w.cluster) and (args.cnf_type is None or w.cnf_type.value == args.cnf_type)
    ]  # fmt: skip
    rows = [_compact({
        "type": w.cnf_type.value, "cluster": w.cluster, "pod": w.name,
        "component": w.component, "phase": w.phase, "vfs": w.vfs, "dpdk_ports": w.dpdk_ports,
        "rx_bps": w.rx_bps, "tx_bps": w.tx_bps, "drops_errors_ps": w.trouble_ps,
    }) for w in workloads]  # fmt: skip
    return {
        "by_type": dict(Counter(w.cnf_type.value for w in workloads)),
        "workloads": rows,
        "unread": problems(unread) + objects.problems,
    }


#: the state ``get_ptp_status`` gives a port with a role only (``PtpRow.port_only``)
PORT_ROLE_ONLY = "port role only"


class PtpInput(ToolInput):
    cluster: str | None = CLUSTER
    window_minutes: int = Field(
        60, ge=5, le=1440, description="the compliance window: this many minutes before now"
    )
    problems_only: bool = Field(
        False, description="only the ports that need attention, as the PTP page and the fleet "
        "flag them: FREERUN, HOLDOVER, a FAULTY port, ptp4l down, an out-of-spec clock class, "
        "GNSS or DPLL lost, or an offset out of the threshold; ports in state UNKNOWN (no "
        "data) are not included: by_state counts them, and apart the ports in state "
        f"'{PORT_ROLE_ONLY}' (a boundary clock's MASTER port: a role and no clock state or "
        "offset of its own, its NIC's clock has them on a row of its own)",
    )  # fmt: skip


def _ptp_state(row: PtpRow) -> str:
    """A row's state as the tool says it: a port with a role only has no clock state of its
    own, and UNKNOWN says no data (a boundary clock's MASTER ports counted unknown)."""
    return PORT_ROLE_ONLY if row.port_only else row.state.value


async def get_ptp_status(core: Core, args: PtpInput) -> dict[str, Any]:
    scope = await _scope(core, args.cluster)
    board, unread = await _readers(core).ptp_board(TimeRange(args.window_minutes * 60))
    shown = [r for r in board.rows if _kept(scope, r.cluster)]
    rows = []
    for r in shown:
        # the row's own judgement: a LOCKED port that is FAULTY, whose ptp4l is down or whose
        # clock class says free-running is one the board and the findings flag
        if args.problems_only and not r.needs_attention:
            continue
        row = asdict(r)
        row.pop("history")  # the chart's data, not a figure
        row.pop("threshold")
        row["state"] = _ptp_state(r)
        row["threshold"] = r.threshold.band
        if r.compliance is not None:
            # shares of the whole window, beside how much of it was sampled (as the CLI
            # says them): time with no sample is unknown, not out of lock
            row["compliance"] = _compact(
                {**asdict(r.compliance), "sampled_pct": r.compliance.coverage_pct}
            )
        rows.append(_compact(row))
    notes = _sampled_in_part(core, shown)
    return {
        "window_minutes": args.window_minutes,
        "by_state": dict(Counter(_ptp_state(r) for r in shown)),
        "ports": rows,
        "unread": unread,
        "read_in_part": _lines(board.in_part, "read in part"),
        **({"notes": notes} if notes else {}),
    }


def _sampled_in_part(core: Core, rows: list[PtpRow]) -> list[str]:
    """Where a port was sampled for less than the window, that its shares are of the whole
    window and the rest unknown (a 2 h capture over a 24 h window: LOCKED at every sample,
    locked 8 % of the window), and in a capture what it recorded; none where each was
    sampled throughout."""
    sampled = [c.coverage_pct for r in rows if (c := r.compliance) is not None
               and c.coverage_pct is not None and c.coverage_pct < 100]  # fmt: skip
    if not sampled:
        return []
    said = (f"{len(sampled)} of {len(rows)} ports sampled for less than the window (the "
            f"least {pct_text(min(sampled))}): locked_pct and within_pct are shares of the whole "
            "window, and its time with no sample (unknown_s; sampled_pct says how much has one) "
            "is unknown, not out of lock")  # fmt: skip
    if core.capture is not None:  # it holds what it recorded: a shorter window may be all
        said += f"; opened {core.capture.describe()}: the time before it has no sample"
    return [said]


class DataplaneInput(ToolInput):
    cluster: str | None = CLUSTER
    node: str | None = NODE


def _no_node(node: str | None, known: set[str], what: str, unread: list[str]) -> str:
    """A node asked for that none of ``known`` is (a typo, an FQDN, another case) is refused
    with the nodes there are: an empty answer read as "no drops there". Where a cluster was
    not read the node may be one of its (a refusal called a node that exists a wrong name):
    the note said beside the empty answer; "" where the node is known or none asked."""
    if node is None or node in known:
        return ""
    names = sorted(known)
    listed = ", ".join(names[:NODES_LISTED]) + (
        f" (+{len(names) - NODES_LISTED} more)" if len(names) > NODES_LISTED else "")  # fmt: skip
    if unread:
        return (f"no node named {node!r} has {what} in the clusters read (those that do: "
                f"{listed or 'none'}); it may be on a cluster that was not read: "
                f"{'; '.join(unread[:5])}")  # fmt: skip
    raise ToolError(f"no node named {node!r} has {what}; those that do: {listed or 'none'}")


async def get_dpdk_stats(core: Core, args: DataplaneInput) -> dict[str, Any]:
    from aiops_desktop.services.gpu_cnf.readers import problems

    scope = await _scope(core, args.cluster)
    _, ports, outcomes = await _readers(core).dataplane()
    unread = problems(outcomes)
    mine = [p for p in ports if _kept(scope, p.cluster)]
    missing = _no_node(args.node, {p.node for p in mine}, "DPDK ports", unread)
    chosen = [p for p in mine if args.node is None or p.node == args.node]
    rows = [_compact({**asdict(p), "drops_errors_ps": p.trouble}) for p in chosen]
    note = "rates per second over 5 min; rx_missed: the NIC's RX queues were full"
    return {
        "ports": rows, "count": len(rows),
        "with_drops_or_errors": sum(1 for p in chosen if p.trouble > 0),
        "note": f"{missing}; {note}" if missing else note,
        "unread": unread,
    }  # fmt: skip


async def get_sriov_status(core: Core, args: DataplaneInput) -> dict[str, Any]:
    from aiops_desktop.services.gpu_cnf.readers import problems

    scope = await _scope(core, args.cluster)
    readers = _readers(core)
    vfs, _, outcomes = await readers.dataplane()
    objects = await readers.sriov_objects()
    unread = problems(outcomes) + objects.problems
    known = {v.node for v in vfs if _kept(scope, v.cluster)}
    known.update(n.node for c, n in objects.nodes if _kept(scope, c))
    missing = _no_node(args.node, known, "SR-IOV VFs or a node state", unread)

    def mine(cluster: str, node: str) -> bool:
        return _kept(scope, cluster) and (args.node is None or node == args.node)

    chosen = [v for v in vfs if mine(v.cluster, v.node)]
    answer = {
        "nodes": [_compact({"cluster": c, **asdict(n)}) for c, n in objects.nodes
                  if mine(c, n.node)],
        "networks": [_compact({"cluster": c, **asdict(n)}) for c, n in objects.networks
                     if _kept(scope, c)],
        "vfs": [_compact({**asdict(v), "drops_errors_ps": v.trouble}) for v in chosen],
        "vf_count": len(chosen),
        "vfs_with_drops_or_errors": sum(1 for v in chosen if v.trouble > 0),
        "unread": unread,
    }  # fmt: skip
    if missing:
        answer["note"] = missing
    return answer


# -- logs and traces (Loki, Tempo) -------------------------------------------------------------
LINE_CHARS = 500  # a log line as a tool gives it: enough to read, not a stack trace's megabyte
#: what is redacted past LINE_CHARS: a secret across the cut is still whole (a quoted password
#: runs 512 chars at most, a URL's to its "@"), a JWT still has the dots that make it one
REDACT_MARGIN = 1024


def _said(text: str | None) -> str:
    """A workload's text (a log line, a span's status) as a tool gives it: cut with a margin,
    redacted (IP addresses too where the tool box replaces them), then cut to LINE_CHARS. Not
    redacted whole: that is 1,000 lines of 16 KiB on the event loop, where the tool's deadline
    cannot stop it; nor cut to LINE_CHARS first: a key cut before its end or a password's
    closing quote would no longer look like one, nor an address its last octets (the answer's
    redaction let its first three go)."""
    cut = (text or "")[: LINE_CHARS + REDACT_MARGIN]
    return redact_for_llm(cut, ips=REDACTING_IPS.get())[:LINE_CHARS]


def _with_endpoint(core: Core, scope: frozenset[str] | None, kind: EndpointKind) -> list[str]:
    """The registered clusters (in ``scope``) with an endpoint of ``kind``; none: said."""
    names = [c.name for c in core.registry.clusters()
             if c.endpoint(kind) and _kept(scope, c.name)]  # fmt: skip
    if not names:
        what, data = ("Loki", "logs") if kind is EndpointKind.LOKI else ("Tempo", "traces")
        raise ToolError(
            f"{data} are not configured: no cluster {'asked ' if scope else ''}has a {what} "
            f"endpoint (discovery finds LokiStack/TempoStack gateways; or `aiops-desktop "
            f"clusters set-endpoint NAME {what.lower()} URL`)"
        )
    return names


class _Late:
    """A cluster's answer that did not come within CLUSTER_READ_S."""


async def _each(names: list[str], ask: Any) -> tuple[list[Any], list[str]]:
    """``ask(name)`` for each cluster at once, each within CLUSTER_READ_S (a late one is
    cancelled, and waited for, when its time is up): the answers, and what each failure
    said. Another error ends the rest and is the tool's (``gather_all``)."""
    budget = CLUSTER_READ_S

    async def one(name: str) -> Any:
        try:
            async with asyncio.timeout(budget) as limit:
                return await ask(name)
        except TimeoutError:
            if not limit.expired():  # the read's own (an HTTP timeout): its words
                raise
            return _Late()
        except (AppError, ValueError) as exc:
            return exc

    answers = await gather_all(*(one(n) for n in names))
    got, unread = [], []
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, _Late):
            unread.append(f"{name}: not answered within {budget:g} s")
        elif isinstance(answer, (AppError, ValueError)):
            unread.append(f"{name}: {answer}")
        else:
            got.append(answer)
    return got, unread


def _aware_time(value: datetime | None) -> datetime | None:
    """A time a model gave: UTC unless it says otherwise, between 1970 and 2100."""
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("a time between 1970 and 2100")
    return value


class WindowInput(ToolInput):
    """A cluster (or all) and a window of minutes before ``until`` (now by default)."""

    cluster: str | None = CLUSTER
    since_minutes: int = Field(60, ge=1, le=1440, description="this many minutes before until")
    until: datetime | None = Field(
        None, description="the window's end, ISO 8601 (UTC unless it says), e.g. an incident's "
        "time plus 5 minutes; default now",
    )  # fmt: skip

    @field_validator("until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _aware_time(value)

    def window(self, core: Core) -> tuple[datetime, datetime]:
        end = self.until or core.now()
        return end - timedelta(minutes=self.since_minutes), end


class QueryLogsInput(WindowInput):
    logql: str = Field(min_length=1, max_length=4000, description='a LogQL query, e.g. {app="du"}')
    limit: int = Field(100, ge=1, le=1000, description="at most this many log lines")


#: what query_logs says of a metric query's answer: its figures, where a log query's are lines
LOG_METRIC_NOTE = (
    "a LogQL metric query: its series are summarised (last: the latest value, max: the peak), "
    "it gives no log lines"
)


def _tagged(cluster: str, series: LogSeries) -> TaggedSeries:
    """A LogQL metric query's series as a PromQL query's, summarised alike (``_summaries``)."""
    import numpy as np

    from aiops_desktop.models.metrics import PromSeries, TaggedSeries

    points = np.array(series.points, dtype=float).reshape(-1, 2)
    return TaggedSeries(cluster, PromSeries(series.labels, points[:, 0], points[:, 1]))


async def query_logs(core: Core, args: QueryLogsInput) -> Any:
    names = _with_endpoint(core, await _scope(core, args.cluster), EndpointKind.LOKI)
    start, end = args.window(core)

    async def read(name: str) -> tuple[str, LogResult]:  # with its cluster: a series names none
        found = await core.logs_traces.logs(
            name, args.logql, start=start, end=end, limit=args.limit, most=args.limit)  # fmt: skip
        return name, found

    answers, unread = await _each(names, read)
    results = [r for _, r in answers]
    notes = [n for r in results for n in r.notes]  # lines a read had to skip, said
    head = {"query": args.logql, "from": start.isoformat(timespec="seconds"),
            "to": end.isoformat(timespec="seconds")}  # fmt: skip
    if any(r.series for r in results):  # ``sum(count_over_time(...))``: figures, no lines
        # off the event loop (the Qt thread), as query_metrics' series
        summaries = await asyncio.to_thread(
            lambda: _summaries([_tagged(n, s) for n, r in answers for s in r.series]))  # fmt: skip
        count = sum(len(r.series) for r in results)

        def doc_for(shown: int) -> dict[str, Any]:
            return _series_doc(head, count, summaries[:shown], unread, [LOG_METRIC_NOTE, *notes])

        return await asyncio.to_thread(_fitted, len(summaries), doc_for)
    lines = sorted((e for r in results for e in r.entries), key=lambda e: -e.timestamp_ns)
    # an answer lists MAX_ROWS at most (bounded_json): the lines past them are not redacted on
    # the event loop only to be left out
    shown = lines[: min(args.limit, MAX_ROWS)]
    return {
        **head,
        "lines": [_compact({
            "cluster": e.cluster,
            "time": datetime.fromtimestamp(e.timestamp_ns / 1e9, UTC).isoformat(),
            "pod": e.labels.get("k8s_pod_name") or e.labels.get("pod"),
            "level": line_level(e.line), "line": _said(e.line),
        }) for e in shown],
        "more": any(r.truncated for r in results) or len(lines) > len(shown),
        "unread": unread, **({"notes": notes} if notes else {}),
    }  # fmt: skip


class SearchTracesInput(WindowInput):
    service: str | None = Field(None, min_length=1, max_length=253, description="service name")
    min_duration_ms: int | None = Field(None, ge=0, le=3_600_000, description="slower than this")
    errors_only: bool = Field(False, description="only traces with a failed span")
    limit: int = Field(20, ge=1, le=100, description="at most this many traces")


async def search_traces(core: Core, args: SearchTracesInput) -> Any:
    names = _with_endpoint(core, await _scope(core, args.cluster), EndpointKind.TEMPO)
    start, end = args.window(core)
    traceql = failing_traceql(args.service) if args.errors_only else None
    slower = f"{args.min_duration_ms}ms" if args.min_duration_ms is not None else None
    results, unread = await _each(names, lambda n: core.logs_traces.traces(
        n, start=start, end=end, service=args.service, min_duration=slower, traceql=traceql,
        limit=args.limit))  # fmt: skip
    found = sorted((t for r in results for t in r), key=lambda t: -t.duration_ms)
    return {
        "traces": [_compact({
            "cluster": t.cluster, "trace_id": t.trace_id, "root_service": t.root_service,
            "root_operation": t.root_name, "duration_ms": t.duration_ms,
            "start": datetime.fromtimestamp(t.start_ns / 1e9, UTC).isoformat(),
        }) for t in found[: args.limit]],
        "unread": unread,
    }  # fmt: skip


class GetTraceInput(ToolInput):
    cluster: str | None = CLUSTER
    trace_id: str = Field(
        min_length=1, max_length=32,
        description="up to 32 hex digits (a 64-bit id's 16 too), as a log line or search_traces "
        "gives it",
    )  # fmt: skip

    @field_validator("trace_id")
    @classmethod
    def _trace_id(cls, value: str) -> str:
        """As the Tempo client and ``aiops-desktop traces --id`` take one (its TRACE_ID)."""
        from collectors.tempo import TRACE_ID

        wanted = value.strip().lower()
        if not TRACE_ID.fullmatch(wanted):
            raise ValueError("a trace id is up to 32 hex digits")
        return wanted


async def get_trace(core: Core, args: GetTraceInput) -> Any:
    names = _with_endpoint(core, await _scope(core, args.cluster), EndpointKind.TEMPO)
    traces, unread = await _each(names, lambda n: core.logs_traces.trace(n, args.trace_id))
    if not traces:
        raise ToolError(f"no cluster has trace {args.trace_id}: " + "; ".join(unread))
    trace = traces[0]
    rows = depth_first(trace)
    first = min((s.start_ns for s in trace.spans), default=0)
    failed = [s for _, s in rows if s.status is SpanStatus.ERROR]
    return {
        "cluster": trace.cluster, "trace_id": trace.trace_id, "spans": trace.spans_said,
        "services": sorted({s.service_name for s in trace.spans}),
        "errors": [_compact({"service": s.service_name, "operation": s.operation,
                             "message": _said(s.status_message)})
                   for s in failed[:20]],
        "calls": [{"from": a, "to": b, "calls": n, "failed": f}
                  for (a, b), (n, f) in sorted(service_calls(trace).items())],
        "waterfall": [_compact({
            "depth": depth, "service": s.service_name, "operation": s.operation,
            "start_ms": round((s.start_ns - first) / 1e6, 3),
            "duration_ms": round(s.duration_ns / 1e6, 3),
            "error": s.status is SpanStatus.ERROR or None,
        }) for depth, s in rows[:60]],
    }  # fmt: skip


# -- analysis ----------------------------------------------------------------------------------
class DetectAnomaliesInput(ToolInput):
    promql: str = PROMQL
    clusters: list[ClusterName] | None = CLUSTERS
    since_minutes: int = Field(60, ge=5, le=1440, description="the lookback in minutes")
    sensitivity: Literal["LOW", "MEDIUM", "HIGH", "EXTREME"] = Field(
        "MEDIUM", description="LOW finds fewest, EXTREME most"
    )

    @field_validator("sensitivity", mode="before")
    @classmethod
    def _sensitivity(cls, value: object) -> object:
        return _upper(value)


def _thinned(
    ts: np.ndarray, values: np.ndarray, window_from: float, lead: int
) -> tuple[np.ndarray, np.ndarray]:
    """The window from ``window_from`` at most DETECT_POINTS points (one more: a range's both
    ends), every n-th back from the newest (as a coarser step reads them: a capture's stored
    series are at the poll's step), and the last ``lead`` before it at the same stride (what
    the detectors learn from: thinning the whole read by one count cut the lead to half)."""
    import numpy as np

    inside = int(np.count_nonzero(ts >= window_from))
    every = max(1, math.ceil(inside / (DETECT_POINTS + 1)))
    picked = np.arange(ts.size - 1, -1, -every)[::-1]
    before = picked[ts[picked] < window_from]
    picked = np.concatenate([before[before.size - lead :] if lead else before[:0],
                             picked[ts[picked] >= window_from]])  # fmt: skip
    if picked.size == ts.size:
        return ts, values
    return np.ascontiguousarray(ts[picked]), np.ascontiguousarray(values[picked])


async def detect_anomalies(core: Core, args: DetectAnomaliesInput) -> dict[str, Any]:
    """As ``aiops-desktop analyse``: the benchmarked detector over the query's series, at most
    DETECT_SERIES of them at DETECT_POINTS points each over the lookback, and the points the
    detectors learn from before it (``analysis.detect.lead_points``: 750 for the default
    detector, which judged none of a lookback's 720 points), not reported (the answer says
    so)."""
    from aiops_desktop.models.enums import Sensitivity
    from analysis.detect import SeriesInput, judged_short, lead_points
    from analysis.signals import profile_for

    since_s = args.since_minutes * 60
    step = max(15, math.ceil(since_s / DETECT_POINTS))
    panel = _panel(core, args.promql)
    metric = panel.id if panel is not None else args.promql
    unit = panel.unit if panel else None
    methods = profile_for(metric, unit).methods
    fewest, lead = lead_points(methods)
    read = await _series(core, args.promql, args.clusters, args.since_minutes, step, lead=lead)
    source, series, failed = read.source, read.series, read.unread
    window_from = core.now().timestamp() - since_s  # what came before was read to learn from
    # the job is bounded before it is submitted: the tool's deadline stops its wait, not the
    # job, and the one detection worker it holds is live detection's
    chosen = await asyncio.to_thread(_first, series, DETECT_SERIES)
    inputs = [
        SeriesInput(t.cluster, metric,
                    {k: v for k, v in t.series.labels.items() if k != "__name__"},
                    *_thinned(t.series.timestamps, t.series.values, window_from, lead))
        for t in chosen
    ]  # fmt: skip
    found = await core.anomalies.analyse(  # read-only: kept nowhere, so it joins no incident
        inputs,
        sensitivity=Sensitivity(args.sensitivity),
        unit=unit,
        keep=False,
        report_from=window_from,
    )
    found.sort(key=lambda a: a.timestamp)
    short, partly = judged_short(inputs, methods, window_from)
    return {
        "query": args.promql, "source": source, "series": len(inputs),
        "series_found": len(series),
        "limits": f"at most {DETECT_SERIES} series (the first by cluster and labels; narrow the "
        f"query for others) at {DETECT_POINTS} points each over the lookback, and the "
        f"{lead} before it that the detectors learn from (not reported)",
        "since_minutes": args.since_minutes,
        "too_short": short, "partly_judged": partly,
        **({"judged_note": f"{short} series too short to judge (at most {fewest} points), "
            f"{partly} begun within the {lead} points before the lookback: its start only "
            "learnt from"} if short or partly else {}),
        "by_severity": dict(Counter(a.severity.level.value for a in found)),
        "anomalies": [_compact({
            "timestamp": a.timestamp.isoformat(timespec="seconds"), "cluster": a.cluster,
            "labels": a.labels, "severity": a.severity.level.value, "grade": a.severity.value,
            "type": a.type.value,
            "explanation": a.explanation, "related_alerts": a.related_alerts,
        }) for a in found],
        "unread": failed, "read_in_part": read.in_part,
        **({"note": "; ".join(read.notes)} if read.notes else {}),
    }  # fmt: skip


class RootCauseInput(ToolInput):
    incident_id: str | None = Field(
        None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the incident to explain (list_incidents); or give cluster and at",
    )  # fmt: skip
    cluster: str | None = Field(
        None, min_length=1, max_length=253, description="with at: what changed on this cluster"
    )
    at: datetime | None = Field(
        None, description="ISO 8601 time (UTC unless it says), e.g. 2026-12-04T20:50:00Z: the "
        "moment to explain with cluster, or the analysis time with incident_id (default now)",
    )  # fmt: skip

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _aware_time(value)

    @model_validator(mode="after")
    def _one(self) -> RootCauseInput:
        if (self.incident_id is None) == (self.cluster is None):
            raise ValueError("give incident_id, or cluster with at (not both)")
        if self.cluster is not None and self.at is None:
            raise ValueError("cluster needs at: the moment to explain")
        return self


async def analyze_root_cause(core: Core, args: RootCauseInput) -> dict[str, object]:
    """As ``aiops-desktop rca``: the likely causes ranked, with evidence and next checks; a
    time after now is refused, and an analysis that read nothing is an error, not "nothing
    deviated" (a model would pass that on as an all-clear)."""
    at = analysis_time(core.now(), args.at)
    if args.incident_id is not None:
        incident = await _incident(core, args.incident_id)
        result = await core.rca.for_incident(incident, at=at)
    else:
        assert args.cluster is not None  # the input's validator says so
        await _scope(core, args.cluster)  # an unknown name is said with the names there are
        result = await core.rca.for_cluster(
            args.cluster, rca_clusters(core.registry, args.cluster), at
        )
    empty = nothing_read(result)
    if empty is not None:
        raise ToolError(empty)
    doc = result.as_json()
    causes = doc.get("causes")
    if isinstance(causes, list):
        doc["causes_total"] = len(causes)
        doc["causes"] = causes[:10]
    return doc


class ReportInput(ToolInput):
    type: Literal["executive", "detailed", "incident", "capacity", "handover"] = Field(
        "handover", description="the kind of report"
    )
    clusters: list[ClusterName] | None = Field(
        None, max_length=50, description="cluster names (default: every cluster)"
    )
    since_hours: int | None = Field(
        None, ge=1, le=720,
        description="the period: this many hours to now (default 12; a capacity report 168: "
        "a trend needs 3 days or more)",
    )  # fmt: skip
    format: Literal["md", "html", "json"] = Field("md", description="the file's format")

    @field_validator("type", "format", mode="before")
    @classmethod
    def _choices(cls, value: object) -> object:
        return _lower(value)


def _report_period(args: ReportInput) -> timedelta:
    """The period asked, else the type's own (a capacity report's week)."""
    from aiops_desktop.models.reports import ReportType

    if args.since_hours is not None:
        return timedelta(hours=args.since_hours)
    return ReportType(args.type).default_period


async def _finished(work: asyncio.Future[T]) -> T:
    """``work``'s outcome once it ends, however often this task is stopped meanwhile: work that
    goes on regardless (a worker thread's) is waited for, so what it did is said."""
    while not work.done():
        with contextlib.suppress(asyncio.CancelledError):  # stopped (again): still waited for
            await asyncio.wait([work])
    return work.result()


async def generate_report(core: Core, args: ReportInput) -> dict[str, Any]:
    """Writes one report file into the app's reports folder (Markdown, HTML or JSON: the PDF
    is drawn by Qt, in the UI layer) and says what it holds."""
    from aiops_desktop.files import write_whole
    from aiops_desktop.models.reports import ReportType
    from aiops_desktop.services.outputs.reports import release_unwritten
    from analysis.reports.render_text import to_html, to_json, to_markdown

    registered = {c.name for c in core.registry.clusters()}
    for name in args.clusters or []:
        if name not in registered:  # a report is of registered clusters (a hub: its members)
            await _scope(core, name)  # unknown: said with the names there are
            hub = core.registry.hub_of(name)
            raise ToolError(
                f"{name!r} is a member of the fleet hub {hub.name if hub else '?'!r}: name the hub"
            )
    pending = await _polled(core)
    report = await core.reports.make(
        ReportType(args.type), list(args.clusters or []) or None, _report_period(args)
    )
    render = {"md": to_markdown, "html": to_html, "json": to_json}[args.format]

    def write() -> tuple[Path, int]:
        """Into a file of its own (named to the second: never another report's), whole or
        not at all (a full disk leaves no part of one among the kept reports)."""
        text = render(report)
        try:
            (path,) = core.reports.new_paths(report, [args.format])
        except FileExistsError as e:
            raise ToolError(str(e)) from e
        try:
            write_whole(path, lambda partial: partial.write_text(text, "utf-8"))
        except OSError as e:
            release_unwritten([path], [])
            raise ToolError(f"could not write the report {path}: {e.strerror or e}") from e
        return path, path.stat().st_size

    # a stop while the file is written waits for it (its thread writes it anyway) and the call
    # ends with what was written: "not run: stopped" was said beside a new report, and a retry
    # wrote another. The chat keeps this answer, then stops (``ChatService._run_calls``)
    writing = asyncio.ensure_future(asyncio.to_thread(write))
    try:
        path, size = await asyncio.shield(writing)
    except asyncio.CancelledError:
        path, size = await _finished(writing)
    return {
        "path": str(path), "format": args.format, "bytes": size, "title": report.title,
        "period": report.period, "clusters": report.clusters, "source": report.source,
        "summary": report.summary[:10], "recommendations": report.recommendations[:10],
        "sections": [s.title for s in report.sections],
        **({"unread": pending} if pending else {}),
    }  # fmt: skip


# -- the tools ---------------------------------------------------------------------------------
def all_tools() -> list[Tool]:
    """Every tool, in the order the model sees them."""
    return [
        Tool("list_clusters", "The registered clusters and fleet hubs' member clusters: name, "
             "kind, type, environment, endpoints, members.", ListClustersInput, list_clusters),
        Tool("get_cluster_status", "One cluster's state now as the fleet judges it: state, "
             "health score, data age, coverage per source and findings worst first.",
             ClusterStatusInput, get_cluster_status),
        Tool("query_metrics", "Run PromQL (or a stored metric name) over clusters; per series: "
             "cluster, labels, points, last, min, max, mean.", QueryMetricsInput, query_metrics),
        Tool("get_metric_labels", "The stored metrics (omit metric), or one stored metric's label "
             "names and values.", MetricLabelsInput, get_metric_labels),
        Tool("list_alerts", "The alerts firing now: cluster, name, severity, summary, since.",
             ListAlertsInput, list_alerts),
        Tool("list_incidents", "Incidents (grouped alerts, findings and anomalies), open first: "
             "id, state, severity, title, clusters.", ListIncidentsInput, list_incidents),
        Tool("get_incident", "One incident with its timeline of signals.", GetIncidentInput,
             get_incident),
        Tool("get_gpu_nodes", "GPU nodes worst first: GPUs, models, state counts, average "
             "utilisation, hottest temperature, pods.", GpuInput, get_gpu_nodes),
        Tool("get_gpu_processes", "The pods using each GPU (DCGM pod mapping), with "
             "utilisation and memory.", GpuProcessesInput, get_gpu_processes),
        Tool("get_gpu_summary", "GPU fleet summary: counts by state and model, averages, the "
             "unhealthy GPUs with reasons.", GpuInput, get_gpu_summary),
        Tool("get_cnf_workloads", "CNF workloads (vDU, vCU, UPF, AMF, SMF, NRF) by type: pods, "
             "VFs, DPDK ports, traffic, drops.", CnfWorkloadsInput, get_cnf_workloads),
        Tool("get_ptp_status", "PTP ports worst first: clock state, offset, clock class, role, "
             "compliance over the window.", PtpInput, get_ptp_status),
        Tool("get_dpdk_stats", "DPDK ports: packet and bit rates, missed, no-mbuf and error "
             "rates per pod.", DataplaneInput, get_dpdk_stats),
        Tool("get_sriov_status", "SR-IOV: node sync state, networks, and each VF's pod, "
             "traffic, drops and errors.", DataplaneInput, get_sriov_status),
        Tool("query_logs", "Search logs with LogQL (Loki).", QueryLogsInput, query_logs),
        Tool("search_traces", "Find traces by service and duration (Tempo).", SearchTracesInput,
             search_traces),
        Tool("get_trace", "One trace by id (Tempo).", GetTraceInput, get_trace),
        Tool("detect_anomalies", "Find anomalies in a query's series over a lookback: time, "
             "cluster, labels, severity, type, explanation.", DetectAnomaliesInput,
             detect_anomalies),
        Tool("analyze_root_cause", "Rank an incident's likely root causes (or a cluster's at a "
             "time) with evidence and next checks.", RootCauseInput, analyze_root_cause),
        Tool("generate_report", "Write a report (handover, incident, ...) into the reports "
             "folder; returns its path, summary and recommendations.", ReportInput,
             generate_report, writes_file=True),
    ]  # fmt: skip
