"""GPU readers over PromQL (DCGM exporter series) and the fleet's GPU health.

One instant query per field (``resources/gpu/queries.json``) runs over every chosen cluster in
parallel (fleet hubs split by their ``cluster`` label); the series are joined per GPU by the
exporter's own labels (``Hostname``, ``gpu``, ``UUID``, ``GPU_I_ID``), with the pod mapping
(``exported_pod``, ``exported_namespace``, ``exported_container`` where Prometheus renamed the
exporter's own, else ``pod``, ``namespace``, ``container``) and MIG profile where exported.
DCGM's blanks ("not supported", "not found": ``analysis.rules.is_dcgm_blank``) are no readings.
Health per GPU comes from ``analysis.gpu_health`` with the XID table in
``resources/gpu/xid.json``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from string import Template

import numpy as np

from aiops_desktop.models import Cluster, ClusterKind, EndpointKind, QueryType, utcnow
from aiops_desktop.models.gpu import (
    XID_STEP_S,
    XID_WINDOW_S,
    GpuFleet,
    GpuHealth,
    GpuHistory,
    GpuReading,
    XidInfo,
    shown_pods,
)
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, PromSeries, TaggedSeries
from aiops_desktop.models.ptp import metric_code  # a gauge that carries a code
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.queries.field_reads import (
    joined_by_time,
    label,
    last_value,
    read_fields,
    unique_failures,
)
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.series import SeriesStore
from analysis.gpu_health import assess, load_xids, worst_first
from analysis.rules import is_dcgm_blank

#: reading field -> the ``queries.json`` key (numbers), in the order the table shows them
NUMERIC_FIELDS = (
    "util_pct",
    "util_memory_pct",
    "mem_used_mib",
    "mem_free_mib",
    "mem_reserved_mib",
    "temperature_c",
    "power_w",
    "sm_clock_mhz",
    "mem_clock_mhz",
    "tensor_active",
    "xid",
    "pcie_replays_1h",
    "remapped_uncorrectable",
    "remapped_correctable",
    "remap_failure",
    "dbe_errors",
    "sbe_errors",
    "throttle_power_pct",
    "throttle_thermal_pct",
    "throttle_reliability_pct",
    "nvlink_crc_1h",
    "nvlink_recovery_1h",
)


def gpu_queries() -> dict[str, str]:
    return field_queries("gpu")


@cache
def xid_table() -> dict[int, XidInfo]:
    return load_xids(json.loads((resources_dir() / "gpu" / "xid.json").read_text()))


#: XID codes NVIDIA documents fit well under this; a larger (or fractional) value is no code
XID_MAX = 1 << 16


def xid_code(value: float | None) -> int | None:
    """An XID gauge's value as a code: a whole number from 0 to ``XID_MAX``, else None
    (unknown). ``last_value`` already gives None for NaN and +/-Inf; DCGM's blanks are all
    above ``XID_MAX``."""
    return metric_code(value, 0, XID_MAX)


def dcgm_value(tagged: TaggedSeries) -> float | None:
    """A DCGM exporter series' last value (``last_value``), None also where it is one of
    DCGM's blanks: a T4 with ECC off reports its ECC counters as 9223372036854775794
    (DCGM_INT64_NOT_SUPPORTED), which is no count of errors."""
    value = last_value(tagged)
    return None if value is None or is_dcgm_blank(value) else value


def _without_blanks(series: PromSeries) -> PromSeries:
    """A DCGM series with its blanks as NaN (a gap in a chart, not a spike to 2**47)."""
    blank = np.array([is_dcgm_blank(v) for v in series.values.tolist()], dtype=bool)
    if not blank.any():
        return series
    return PromSeries(series.labels, series.timestamps, np.where(blank, np.nan, series.values))


def _key(cluster: str, labels: dict[str, str]) -> tuple[str, str, str, str]:
    node = label(labels, "Hostname") or label(labels, "instance")
    return cluster, node, label(labels, "gpu"), label(labels, "GPU_I_ID")


def _order(reading: GpuReading) -> tuple[str, str, bool, int, str, str]:
    """By cluster, node and GPU index (a label that is no small index after the others, by
    its text: it must not raise for the whole fleet), then MIG instance."""
    index = reading.index
    return (
        reading.cluster,
        reading.node,
        index is None,
        index or 0,
        reading.gpu,
        reading.mig_id or "",
    )


def _new_reading(key: tuple[str, str, str, str], labels: dict[str, str]) -> GpuReading:
    return GpuReading(
        cluster=key[0],
        node=key[1],
        gpu=key[2],
        uuid=label(labels, "UUID"),
        model=label(labels, "modelName"),
        driver=label(labels, "DCGM_FI_DRIVER_VERSION") or None,
        mig_profile=label(labels, "GPU_I_PROFILE") or None,
        mig_id=key[3] or None,
    )


#: the DCGM exporter's container in gpu-operator's daemonset (the dcgm-exporter chart's is
#: "exporter", in a pod named after its Service)
EXPORTER_CONTAINERS = frozenset({"nvidia-dcgm-exporter", "dcgm-exporter"})


def _exporters_own(labels: dict[str, str]) -> bool:
    """Whether a series' ``pod`` is the DCGM exporter's own (the scrape target's, which
    Prometheus gives every series that has no pod of its own: an idle GPU), not a workload:
    its container is the exporter's, or the pod is named after the target's job or Service
    ("nvidia-dcgm-exporter-7xk2p" of the Service "nvidia-dcgm-exporter")."""
    pod = label(labels, "pod")
    if label(labels, "container") in EXPORTER_CONTAINERS:
        return True
    return any(pod.startswith(f"{name}-") for k in ("job", "service") if (name := label(labels, k)))


def _pod(labels: dict[str, str]) -> str | None:
    """The workload holding the GPU ("namespace/pod (container)"), None where the series
    names none: gpu-operator's ServiceMonitor does not honour the exporter's labels, so
    Prometheus keeps the target's pod/namespace/container (the exporter's) and renames the
    workload's ``exported_*``; with honorLabels the workload's are ``pod``/... and an idle
    GPU's are the exporter's, which is no workload."""
    if pod := label(labels, "exported_pod"):
        namespace, container = (
            label(labels, "exported_namespace"),
            label(labels, "exported_container"),
        )
    elif (pod := label(labels, "pod")) and not _exporters_own(labels):
        namespace, container = label(labels, "namespace"), label(labels, "container")
    else:
        return None
    pod = f"{namespace}/{pod}"
    return f"{pod} ({container})" if container else pod


def _recent_xids(tagged: TaggedSeries) -> list[int]:
    """The distinct XIDs a window's samples hold, oldest first (0 and non-codes left out)."""
    seen: dict[int, None] = {}
    for value in tagged.series.values.tolist():
        code = xid_code(value) if math.isfinite(value) else None
        if code:
            seen.setdefault(code)
    return list(seen)


#: a hole in the XID gauge's window longer than this is a change (it was 0, or the exporter
#: restarted, in between); one as short is a missed scrape (Prometheus marks a target's series
#: stale when a scrape fails: a 30 s scrape missed once leaves a hole of up to 60 s)
XID_HOLE_S = 4 * XID_STEP_S


def _one_gauge(windows: list[TaggedSeries], code: int) -> tuple[list[float], list[bool]]:
    """A GPU's XID window as one gauge: its series split by pod (the pod holding the GPU
    changed: a new series begins, the gauge did not change) merged by time, each step
    holding ``code`` if any of them does."""
    held: dict[float, bool] = {}
    for tagged in windows:
        for at, value in zip(tagged.series.timestamps.tolist(), tagged.series.values.tolist(),
                             strict=True):  # fmt: skip
            same = math.isfinite(value) and xid_code(value) == code
            held[at] = held.get(at, False) or same
    steps = sorted(held)
    return steps, [held[t] for t in steps]


def _held_whole_window(windows: list[TaggedSeries], code: int) -> bool:
    """The GPU's gauge held ``code`` at every step of the XID window: it was set before the
    window began (one that starts inside the window, or holds another code first, changed
    to it in the window)."""
    ts, held = _one_gauge(windows, code)
    if not ts or not all(held):
        return False
    if any(b - a > XID_HOLE_S for a, b in itertools.pairwise(ts)):
        return False  # a hole: the gauge was 0 (or away) in between, so it changed since
    return ts[-1] - ts[0] >= XID_WINDOW_S - 2 * XID_STEP_S


def _came_at(windows: list[TaggedSeries], code: int) -> float | None:
    """The first step of the GPU's gauge's last unbroken run of ``code`` (a hole longer than
    XID_HOLE_S breaks it); None if it does not end on it."""
    ts, held = _one_gauge(windows, code)
    since, last = None, -math.inf
    for at, same in zip(ts, held, strict=True):
        if not same:
            since = None
        elif since is None or at - last > XID_HOLE_S:
            since = at
        last = at
    return since


#: fields that are a counter's increase (or rate) over a window (``increase(...[1h])``,
#: ``rate(...[5m])`` in resources/gpu/queries.json): a GPU whose pod changed in the window
#: has one series per pod it had, each its part of the window
WINDOWED_COUNTERS = frozenset({
    "pcie_replays_1h", "throttle_power_pct", "throttle_thermal_pct",
    "throttle_reliability_pct", "nvlink_crc_1h", "nvlink_recovery_1h",
})  # fmt: skip


def _windowed(parts: dict[str, float]) -> float:
    """A windowed counter from its series' parts (``vgpu`` label -> the sum of its series).
    The series of one pod after another hold the window's parts: they add up (rate() too
    divides each part's increase by the whole window). dcgm-exporter's
    ``--kubernetes-virtual-gpus`` copies every series to each pod sharing the GPU, told apart
    by ``vgpu``: copies of one counter, so the largest of them, not their sum."""
    return max(parts.values())


def join_readings(
    answers: dict[str, list[TaggedSeries]], window_unread: Callable[[str], bool] | None = None
) -> list[GpuReading]:
    """One reading per GPU / MIG instance from each field's series; ``recent_xids``: the XID
    gauge over the XID window (a GPU it names and no other field does is still a reading),
    None (unknown) for a GPU of a cluster whose window was not read (``window_unread``): a
    window answered without a series of the GPU is "no XID", a failed one is not.
    The pods using a GPU are those of the instant fields: a windowed one (the XID window, an
    increase over the last hour) names every pod the GPU had in the window; they are
    gathered in a dict (a list's membership test made 40,000 series of one GPU take seconds)
    and shown as nvidia-smi's processes are (``shown_pods``)."""
    readings: dict[tuple[str, str, str, str], GpuReading] = {}
    pods: dict[tuple[str, str, str, str], dict[str, None]] = {}
    mem_reserved: dict[tuple[str, str, str, str], float] = {}
    windows: dict[tuple[str, str, str, str], list[TaggedSeries]] = {}
    counters: dict[tuple[tuple[str, str, str, str], str], dict[str, float]] = {}
    for fieldname in (*NUMERIC_FIELDS, "recent_xids"):
        for tagged in answers.get(fieldname, []):
            labels = tagged.series.labels
            key = _key(tagged.cluster, labels)
            reading = readings.get(key)
            if reading is None:
                reading = readings[key] = _new_reading(key, labels)
            if fieldname == "recent_xids":  # series split by pod: every one of them counts
                windows.setdefault(key, []).append(tagged)
                known = reading.recent_xids or []
                known += [x for x in _recent_xids(tagged) if x not in known]
                reading.recent_xids = known
                continue
            if fieldname not in WINDOWED_COUNTERS and (pod := _pod(labels)):
                pods.setdefault(key, {}).setdefault(pod)
            value = dcgm_value(tagged)
            if value is None:
                continue
            if fieldname in WINDOWED_COUNTERS:  # series split by pod: joined below
                parts = counters.setdefault((key, fieldname), {})
                copy = label(labels, "vgpu")
                parts[copy] = parts.get(copy, 0.0) + value
            elif fieldname == "mem_reserved_mib":
                mem_reserved[key] = value
            elif fieldname == "xid":
                reading.xid = xid_code(value)
            else:
                setattr(reading, fieldname, value)
    for (key, fieldname), parts in counters.items():
        setattr(readings[key], fieldname, _windowed(parts))
    unread = window_unread or (lambda _cluster: False)
    for key, reading in readings.items():
        reading.pods = shown_pods(list(pods.get(key, {})), "pods")
        _finish(reading, windows.get(key, []), mem_reserved.get(key, 0.0), unread(reading.cluster))
    return sorted(readings.values(), key=_order)


def _finish(
    reading: GpuReading, held: list[TaggedSeries], mem_reserved: float, window_unread: bool
) -> None:
    """What a reading's joined fields tell: when its last XID came, its total memory, and
    whether its XID window is known."""
    if window_unread and not held:
        # [] would be "no XID in the last hour": a GPU CRITICAL from an XID 79 in the
        # window would read OK and, the page taking [] as known, fresh
        reading.recent_xids = None
    reading.xid_before_window = bool(reading.xid and held and _held_whole_window(held, reading.xid))
    if reading.xid and held and not reading.xid_before_window:
        reading.xid_since = _came_at(held, reading.xid)
    if reading.mem_used_mib is not None and reading.mem_free_mib is not None:
        reading.mem_total_mib = reading.mem_used_mib + reading.mem_free_mib + mem_reserved


async def read_gpu_fleet(
    queries: MultiClusterQuery, clusters: list[Cluster], *, at: datetime | None = None
) -> GpuFleet:
    """Every field over every cluster with a Prometheus in parallel (as it was ``at``; now by
    default), joined and assessed. A cluster without one is no failure here: it has no DCGM
    series to ask for, and ``read_gpus`` reads its GPUs by nvidia-smi."""
    clusters = [c for c in clusters if c.endpoint(EndpointKind.PROMETHEUS)]
    catalog = gpu_queries()

    instant = [f for f in NUMERIC_FIELDS if f not in LATER_FIELDS]
    (
        (answers, failures, in_part),
        (window, window_failures, window_in_part),
        (later, later_failures, later_in_part),
    ) = await gather_all(
        read_fields(queries, clusters, catalog, instant, at=at),
        read_fields(queries, clusters, catalog, WINDOW_FIELDS, at=at),
        read_fields(queries, clusters, catalog, LATER_FIELDS, at=at),
    )
    answers |= window | later
    unread = window_unread(clusters, window_failures)
    failures, notes = _window_failures(failures, window_failures)
    in_part = sorted({*in_part, *window_in_part, *later_in_part})
    # a capture made before these were read has none: its GPUs' are unknown, which is no
    # cluster that could not be read (nor worth a note)
    failures = unique_failures(
        [*failures, *(o for o in later_failures if o.reason != "not_configured")]
    )
    table = xid_table()

    def assess_all() -> list[GpuHealth]:  # thousands of GPUs: off the UI thread
        return worst_first([assess(r, table) for r in join_readings(answers, unread)])

    return GpuFleet(
        await asyncio.to_thread(assess_all), failures, notes=[*notes, *in_part], in_part=in_part
    )


#: fields read over a window (the XIDs of the last hour), beside the instant ones
WINDOW_FIELDS = ("recent_xids",)
#: instant fields read since captures were first made (the bundled sample has none of them)
LATER_FIELDS = ("util_memory_pct",)


def _window_failures(
    failures: list[ClusterOutcome], window_failures: list[ClusterOutcome]
) -> tuple[list[ClusterOutcome], list[str]]:
    """The window read's failures join the others, except where it was not asked at all (a
    capture made before this read existed: ``not_configured``): the last XID is still read
    there, and that is said as a note, not as a cluster that could not be read."""
    notes = sorted({f"{o.cluster}: only the last XID (the last hour's were not recorded)"
                    for o in window_failures if o.reason == "not_configured"})  # fmt: skip
    failed = [o for o in window_failures if o.reason != "not_configured"]
    return unique_failures([*failures, *failed]), notes


def window_unread(
    clusters: list[Cluster], window_failures: list[ClusterOutcome]
) -> Callable[[str], bool]:
    """Whether the XID window of the GPUs of the cluster named was not read. A failure is
    under the name of the source asked (``_window_failures``): a hub's covers its members. A
    cluster asked itself is read where its own answered, else through a hub listing it that
    answered (``read_once`` takes a hub's copy only where the member's own failed); a member
    of a hub that lists no such name (its series' ``cluster`` label names it) may be any
    hub's. A capture made before the window was read (``not_configured``) has none."""
    failed = {o.cluster for o in window_failures}
    asked = {c.name for c in clusters}
    hubs = [c for c in clusters if c.kind is ClusterKind.FLEET]

    def unread(name: str) -> bool:
        if name not in failed and name in asked:
            return False
        listing = [h.name for h in hubs if name in h.status.members and h.name != name]
        if name in asked or listing:
            return all(h in failed for h in listing)
        return any(h.name in failed for h in hubs)

    return unread


def gpu_matchers(reading: GpuReading) -> str:
    """PromQL label matchers for one GPU (its UUID is unique across a fleet) or MIG instance."""
    labels = {"UUID": reading.uuid}
    if reading.mig_id:
        labels["GPU_I_ID"] = reading.mig_id
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())


#: a GPU history query's step (longer for a long range: ``TimeRange.step``)
GPU_HISTORY_STEP = timedelta(seconds=30)


async def read_gpu_history(
    queries: MultiClusterQuery,
    clusters: list[Cluster],
    reading: GpuReading,
    *,
    window: timedelta = timedelta(hours=1),
    step: timedelta = GPU_HISTORY_STEP,
    end: datetime | None = None,
    hubs: list[Cluster] | None = None,
) -> GpuHistory:
    """One GPU's last ``window`` of each history field, from the cluster that reported it
    (``clusters``); each field from ``hubs`` (those listing it) only where it has no
    Prometheus or its own failed that query: asked always, a hub not needed held the charts
    for its timeout and its failure was said under them. The failures said are those of
    the answer used (the own one's too where no hub answered either)."""
    end = end or utcnow()
    matchers = gpu_matchers(reading)
    history = GpuHistory(reading, window)

    async def read(query: MetricQuery) -> tuple[list[TaggedSeries], list[ClusterOutcome]]:
        """The series of the answer used, and the failures said."""
        if not hubs:
            answer = await queries.run(query, clusters)
            return answer.series, answer.failures
        own = await queries.run(query, clusters) if clusters else None
        if own is not None and not own.failures:
            return own.series, []
        answer = await queries.run(query, hubs)
        # where no hub answered either, the cluster's own failure is as much why
        lost = [] if own is None or any(o.ok for o in answer.outcomes) else own.failures
        return answer.series, [*lost, *answer.failures]

    async def one(name: str, template: str) -> None:
        query = MetricQuery(
            promql=Template(template).substitute(gpu=matchers),
            query_type=QueryType.RANGE, start=end - window, end=end, step=step,
        )  # fmt: skip
        series, failures = await read(query)
        history.outcomes += failures
        mine = [_without_blanks(t.series) for t in series if t.cluster == reading.cluster]
        if joined := joined_by_time(mine):
            history.series[name] = joined

    await gather_all(*(one(n, t) for n, t in field_queries("gpu", "history").items()))
    history.outcomes = unique_failures(history.outcomes)
    return history


#: history field -> the catalog panel the poller records it under, for every GPU
STORED_HISTORY = {"util_pct": "gpu_util", "temperature_c": "gpu_temperature"}


def stored_gpu_history(
    series: SeriesStore,
    reading: GpuReading,
    end: datetime,
    window: timedelta = timedelta(hours=1),
) -> GpuHistory:
    """One GPU's ``window`` before ``end`` from the series the poller stored (a capture has no
    live source): utilisation and temperature, per physical GPU (a MIG instance shows its
    GPU's). Blocking (SQLite): call from a worker thread."""
    history = GpuHistory(reading, window, note="recorded utilisation and temperature")
    lo, hi = int((end - window).timestamp() * 1000), int(end.timestamp() * 1000)
    for name, panel in STORED_HISTORY.items():
        mine = [
            _without_blanks(PromSeries(stored.labels, stored.timestamps_ms / 1000.0, stored.values))
            for stored in series.read(panel, cluster=reading.cluster, start_ms=lo, end_ms=hi)
            if (label(stored.labels, "Hostname"), label(stored.labels, "gpu"))
            == (reading.node, reading.gpu)
        ]
        if joined := joined_by_time(mine):
            history.series[name] = joined
    return history
