"""PTP readers over PromQL (linuxptp-daemon series) and the fleet timing board.

Every (cluster, node, interface, process) that reports a clock state becomes a row with its
offset, clock class, interface role, process status and restarts, worst first; compliance over
a window (``analysis.ptp_compliance``) comes from range queries of the clock state and offset.
Queries live in ``resources/ptp/queries.json``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from aiops_desktop.models import Cluster, QueryType, utcnow
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, TaggedSeries
from aiops_desktop.models.ptp import (
    DEFAULT_THRESHOLD,
    FAULTY_OFFSET_NS,
    ClockState,
    PtpBoard,
    PtpRow,
    Threshold,
    metric_code,
)
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.queries.field_reads import (
    joined_by_time,
    label,
    last_value,
    unique_failures,
)
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from analysis.ptp_compliance import (
    CLASS_MEANING,
    DPLL_CODES,
    DPLL_LOST,
    GNSS_CODES,
    GNSS_FIXED,
    LOCKED_CLASSES,
    code_text,
    compliance,
    offset_ok,
    role_of,
)

Key = tuple[str, str, str, str]  # cluster, node, iface, process
#: (cluster, node) -> the threshold of the node's PtpConfig profile
Thresholds = Mapping[tuple[str, str], Threshold]


def ptp_queries() -> dict[str, str]:
    return field_queries("ptp")


def _key(tagged: TaggedSeries) -> Key:
    labels = tagged.series.labels
    return tagged.cluster, label(labels, "node"), label(labels, "iface"), label(labels, "process")


def board_rows(
    answers: dict[str, list[TaggedSeries]],
    default: Threshold = DEFAULT_THRESHOLD,
    thresholds: Thresholds | None = None,
) -> list[PtpRow]:
    """One row per port and process that reports a clock state, worst first; each judged
    against its node's profile threshold (``default`` where the node has none)."""
    rows: dict[Key, PtpRow] = {}
    newest: dict[Key, float] = {}  # a port's series split by a changed label: the newest
    for tagged in answers.get("clock_state", []):
        key = _key(tagged)
        if _newest(tagged) < newest.get(key, -math.inf):
            continue
        newest[key] = _newest(tagged)
        threshold = (thresholds or {}).get(key[:2], default)
        rows[key] = PtpRow(
            *key, state=ClockState.from_metric(last_value(tagged)), threshold=threshold
        )
    _join_values(rows, answers)
    for row in rows.values():
        _annotate(row)
    return sorted(rows.values(), key=lambda r: (r.rank, r.cluster, r.node, r.iface, r.process))


def _same(value: float | None) -> float | None:
    return value


#: query field -> (row attribute, what the row holds of the value)
FIELDS: dict[str, tuple[str, Callable[[float | None], Any]]] = {
    "offset": ("offset_ns", _same),
    "max_offset": ("max_offset_ns", _same),
    "delay": ("delay_ns", _same),
    "freq_adj": ("freq_adj_ns", _same),
    "restarts": ("restarts", _same),
    "clock_class": ("clock_class", lambda v: metric_code(v, 0, 255)),  # an octet (IEEE 1588)
    "role": ("role", role_of),
    "gnss": ("gnss", partial(code_text, GNSS_CODES)),
    "dpll_phase": ("dpll_phase", partial(code_text, DPLL_CODES)),
    "dpll_frequency": ("dpll_frequency", partial(code_text, DPLL_CODES)),
    "process_status": ("process_up", lambda v: None if v is None else v == 1),
}


#: per-process fields: linuxptp-daemon labels them by ``config``, not by port
PER_PROCESS = ("process_status", "restarts")


def _newest(tagged: TaggedSeries) -> float:
    stamps = tagged.series.timestamps
    return float(stamps[-1]) if stamps.size else -math.inf


def _join_values(rows: dict[Key, PtpRow], answers: dict[str, list[TaggedSeries]]) -> None:
    """Each field's last value onto its rows: a series of the row's own port and process;
    one without a process label onto every process of its port; a per-process one (status,
    restarts: one series per config) judged over all of the process's configs. Where two
    series give the same row a field (a daemon pod restarted: a new ``pod`` label), the one
    sampled last wins, not the one Prometheus happened to list last."""
    by_port: dict[tuple[str, str, str], list[PtpRow]] = {}
    by_process: dict[tuple[str, str, str], list[PtpRow]] = {}
    for row in rows.values():
        by_port.setdefault((row.cluster, row.node, row.iface), []).append(row)
        by_process.setdefault((row.cluster, row.node, row.process), []).append(row)

    set_at: dict[tuple[int, str], float] = {}  # (row, attribute) -> when its value was sampled
    for name, (attr, convert) in FIELDS.items():
        configs: dict[tuple[str, str, str], list[tuple[str, float | None]]] = {}
        for tagged in answers.get(name, []):
            key = _key(tagged)
            if key not in rows and not key[2] and name in PER_PROCESS:
                config = label(tagged.series.labels, "config")
                configs.setdefault((key[0], key[1], key[3]), []).append(
                    (config, last_value(tagged))
                )
                continue
            targets = [rows[key]] if key in rows else by_port.get(key[:3], [])
            value, when = convert(last_value(tagged)), _newest(tagged)
            for row in targets:
                if when >= set_at.get((id(row), attr), -math.inf):
                    setattr(row, attr, value)
                    set_at[id(row), attr] = when
        for (cluster, node, process), values in configs.items():
            for row in by_process.get((cluster, node, process), []):
                _per_process(row, name, values)


def _per_process(row: PtpRow, name: str, values: list[tuple[str, float | None]]) -> None:
    """A process's status and restarts over its configs, conservatively: which config drives
    which port is not in the metrics, so the process is down on every port if any of its
    configs is down (named in the note), and its restarts are those of all its configs."""
    known = [(config, v) for config, v in values if v is not None]
    if name == "restarts":
        row.restarts = sum(v for _, v in known) if known else None
        return
    down = [config for config, v in known if v != 1]
    row.down_configs = sorted({config for config in down if config})
    row.process_up = False if down else (True if known else None)


def _annotate(row: PtpRow) -> None:
    """The row's notes, and whether it is in trouble beside its state and offset."""
    row.offset_in = offset_ok(row.offset_ns, row.threshold)
    if row.offset_ns is None:
        row.notes.append("no offset reported")
    elif row.offset_ns == FAULTY_OFFSET_NS:
        row.notes.append("faulty port (offset 999999)")
    elif row.offset_in is False:
        profile = f" (profile {row.threshold.profile})" if row.threshold.profile else ""
        row.notes.append(f"offset {row.offset_ns:g} ns beyond {row.threshold.band}{profile}")
    row.class_trouble = _class_notes(row.clock_class)
    down = []
    if row.process_up is False:
        configs = f" ({', '.join(row.down_configs)})" if row.down_configs else ""
        down.append(f"{row.process} is down{configs}")
    if row.gnss is not None and row.gnss not in GNSS_FIXED:
        row.signal_trouble.append(f"GNSS: {row.gnss}")
    for name, value in (("phase", row.dpll_phase), ("frequency", row.dpll_frequency)):
        if value in DPLL_LOST:
            row.signal_trouble.append(f"DPLL {name}: {value}")
    troubles = [*row.class_trouble, *down, *row.signal_trouble]
    row.trouble = bool(troubles)
    row.notes += troubles
    if row.clock_class is not None and row.clock_class not in CLASS_MEANING:
        row.notes.append(f"clock class {row.clock_class}: not a class this app knows")


def _class_notes(clock_class: int | None) -> list[str]:
    """A known clock class that says the clock is not locked to its reference (holdover,
    unlocked, never locked: 7, 52, 135, 140, 150, 160, 165, 187, 248) is trouble."""
    if clock_class is None or clock_class in LOCKED_CLASSES:
        return []
    meaning = CLASS_MEANING.get(clock_class)
    return [f"clock class {clock_class}: {meaning}"] if meaning else []


#: the board's range queries' step (longer for a long range: ``TimeRange.step``)
PTP_STEP = timedelta(seconds=15)


async def read_ptp_board(
    queries: MultiClusterQuery,
    clusters: list[Cluster],
    *,
    window: timedelta = timedelta(hours=1),
    step: timedelta = PTP_STEP,
    threshold: Threshold = DEFAULT_THRESHOLD,
    thresholds: Thresholds | None = None,
    end: datetime | None = None,
) -> PtpBoard:
    """``threshold``: the band for nodes without a profile threshold in ``thresholds``;
    ``end``: where the window ends (now by default)."""
    catalog = ptp_queries()
    end = end or utcnow()

    async def instant(name: str) -> tuple[str, list[TaggedSeries], list[ClusterOutcome]]:
        answer = await queries.run(MetricQuery(promql=catalog[name], end=end), clusters)
        return name, answer.series, answer.failures

    async def ranged(name: str) -> tuple[str, list[TaggedSeries], list[ClusterOutcome]]:
        query = MetricQuery(
            promql=catalog[name],
            query_type=QueryType.RANGE,
            start=end - window,
            end=end,
            step=step,
        )
        answer = await queries.run(query, clusters)
        return name, answer.series, answer.failures

    names = [n for n in catalog if n not in ("clock_state", "offset")]
    results = await asyncio.gather(
        *(instant(n) for n in ("clock_state", "offset", *names)),
        ranged("clock_state"),
        ranged("offset"),
    )
    answers = {name: series for name, series, _ in results[: len(names) + 2]}
    (_, state_hist, _), (_, offset_hist, _) = results[-2], results[-1]

    def assemble() -> list[PtpRow]:  # 2,000 ports: half a second of numpy, off the UI thread
        rows = board_rows(answers, threshold, thresholds)
        _attach_compliance(rows, state_hist, offset_hist, step.total_seconds(),
                           end_s=end.timestamp(), window_s=window.total_seconds())  # fmt: skip
        return rows

    rows = await asyncio.to_thread(assemble)
    failures = unique_failures(o for _, _, failed in results for o in failed)
    return PtpBoard(rows, window, threshold, failures)


def window_steps(end_s: float, window_s: float, step_s: float) -> np.ndarray:
    """The window's steps, the newest at ``end_s`` as the range query aligns it (down to a
    whole step: ``aligned_range``): as many as the window holds (an hour at 15 s: 240), at
    the times the query answers at (its start's own point left out)."""
    count = max(1, round(window_s / step_s))
    last = (end_s // step_s) * step_s
    return last - step_s * np.arange(count - 1, -1, -1, dtype=float)


def _on_steps(series: list[TaggedSeries], stamps: np.ndarray, step_s: float) -> np.ndarray:
    """``series`` (one entity's, perhaps split when a label such as ``pod`` changed) on the
    window's steps, NaN where none has a sample; where two have one, the first listed."""
    out = np.full(stamps.size, np.nan)
    if not stamps.size:
        return out
    for tagged in series:
        times, values = tagged.series.timestamps, tagged.series.values
        index = np.rint((times - stamps[0]) / step_s).astype(np.int64, copy=False)
        inside = (index >= 0) & (index < stamps.size)
        index, times, values = index[inside], times[inside], values[inside]
        close = np.abs(stamps[index] - times) < step_s / 2
        index, values = index[close], values[close]
        empty = np.isnan(out[index])
        out[index[empty]] = values[empty]
    return out


def _attach_compliance(
    rows: list[PtpRow],
    states: list[TaggedSeries],
    offsets: list[TaggedSeries],
    step_s: float,
    *,
    end_s: float | None = None,
    window_s: float | None = None,
) -> None:
    """Each row's compliance over the window ending ``end_s`` (``window_s`` long; without
    them, the span of the samples read) and its offset history. An entity's series are
    joined first: a daemon pod restarted mid-window gives a port two series (its ``pod``
    label changed), and its compliance is over both, not the last one listed."""
    by_key = {(r.cluster, r.node, r.iface, r.process): r for r in rows}
    state_by_key: dict[Key, list[TaggedSeries]] = {}
    for tagged in states:
        state_by_key.setdefault(_key(tagged), []).append(tagged)
    offset_by_key: dict[Key, list[TaggedSeries]] = {}
    offset_by_port: dict[tuple[str, str, str], list[TaggedSeries]] = {}
    for tagged in offsets:
        offset_by_key.setdefault(_key(tagged), []).append(tagged)
        offset_by_port.setdefault(_key(tagged)[:3], []).append(tagged)
    for key, series in state_by_key.items():
        row = by_key.get(key)
        if row is None:
            continue
        stamps = _stamps(series, step_s, end_s, window_s)
        offset = offset_by_key.get(key) or offset_by_port.get(key[:3])
        offset_values = _on_steps(offset, stamps, step_s) if offset else np.array([])
        if offset:
            row.history = joined_by_time([t.series for t in offset])
        row.compliance = compliance(
            _on_steps(series, stamps, step_s), offset_values, step_s, threshold=row.threshold
        )


def _stamps(
    series: list[TaggedSeries], step_s: float, end_s: float | None, window_s: float | None
) -> np.ndarray:
    if end_s is not None and window_s is not None:
        return window_steps(end_s, window_s, step_s)
    seen = [t.series.timestamps for t in series if t.series.timestamps.size]
    if not seen:
        return np.array([])
    first = min(float(t[0]) for t in seen)
    last = max(float(t[-1]) for t in seen)  # the samples' own times: no alignment to undo
    return last - step_s * np.arange(round((last - first) / step_s), -1, -1, dtype=float)
