"""PTP readers over PromQL (linuxptp-daemon series) and the fleet timing board.

Every (cluster, node, interface, process) that reports a clock state becomes a row with its
offset, clock class, interface role, process status and restarts, worst first; compliance over
a window (``analysis.ptp_compliance``) comes from range queries of the clock state and offset.
Queries live in ``resources/ptp/queries.json``.
"""

from __future__ import annotations

import asyncio
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
)
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.queries.field_reads import last_value, unique_failures
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from analysis.ptp_compliance import (
    CLASS_MEANING,
    DPLL_CODES,
    GNSS_CODES,
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
    return (
        tagged.cluster,
        labels.get("node", ""),
        labels.get("iface", ""),
        labels.get("process", ""),
    )


def board_rows(
    answers: dict[str, list[TaggedSeries]],
    default: Threshold = DEFAULT_THRESHOLD,
    thresholds: Thresholds | None = None,
) -> list[PtpRow]:
    """One row per port and process that reports a clock state, worst first; each judged
    against its node's profile threshold (``default`` where the node has none)."""
    rows: dict[Key, PtpRow] = {}
    for tagged in answers.get("clock_state", []):
        key = _key(tagged)
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
    "clock_class": ("clock_class", lambda v: None if v is None else int(v)),
    "role": ("role", role_of),
    "gnss": ("gnss", partial(code_text, GNSS_CODES)),
    "dpll_phase": ("dpll_phase", partial(code_text, DPLL_CODES)),
    "dpll_frequency": ("dpll_frequency", partial(code_text, DPLL_CODES)),
    "process_status": ("process_up", lambda v: None if v is None else v == 1),
}


def _join_values(rows: dict[Key, PtpRow], answers: dict[str, list[TaggedSeries]]) -> None:
    by_port: dict[tuple[str, str, str], list[PtpRow]] = {}
    by_process: dict[tuple[str, str, str], list[PtpRow]] = {}
    for row in rows.values():
        by_port.setdefault((row.cluster, row.node, row.iface), []).append(row)
        by_process.setdefault((row.cluster, row.node, row.process), []).append(row)

    def targets(tagged: TaggedSeries) -> list[PtpRow]:
        key = _key(tagged)
        if key in rows:
            return [rows[key]]
        if not key[2]:  # a per-process series (status): every port of that process
            return by_process.get((key[0], key[1], key[3]), [])
        return by_port.get(key[:3], [])  # no process label: the port's rows

    for name, (attr, convert) in FIELDS.items():
        for tagged in answers.get(name, []):
            value = convert(last_value(tagged))
            for row in targets(tagged):
                setattr(row, attr, value)


def _annotate(row: PtpRow) -> None:
    row.offset_in = offset_ok(row.offset_ns, row.threshold)
    if row.offset_ns == FAULTY_OFFSET_NS:
        row.notes.append("faulty port (offset 999999)")
    elif row.offset_in is False:
        profile = f" (profile {row.threshold.profile})" if row.threshold.profile else ""
        row.notes.append(f"offset {row.offset_ns:g} ns beyond {row.threshold.band}{profile}")
    if row.clock_class in CLASS_MEANING and row.clock_class not in (6, 248, 255):
        row.notes.append(f"clock class {row.clock_class}: {CLASS_MEANING[row.clock_class]}")
    if row.process_up is False:
        row.notes.append(f"{row.process} is down")
    if row.gnss is not None and row.gnss not in ("3D fix", "GNSS + dead reckoning", "time only"):
        row.notes.append(f"GNSS: {row.gnss}")
    for name, value in (("phase", row.dpll_phase), ("frequency", row.dpll_frequency)):
        if value in ("freerun", "holdover", "invalid"):
            row.notes.append(f"DPLL {name}: {value}")


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
        _attach_compliance(rows, state_hist, offset_hist, step.total_seconds())
        return rows

    rows = await asyncio.to_thread(assemble)
    failures = unique_failures(o for _, _, failed in results for o in failed)
    return PtpBoard(rows, window, threshold, failures)


def _grid(series: TaggedSeries, stamps: np.ndarray) -> np.ndarray:
    out = np.full(stamps.size, np.nan)
    index = np.searchsorted(stamps, series.series.timestamps)
    valid = (index < stamps.size) & (
        stamps[np.minimum(index, stamps.size - 1)] == series.series.timestamps
    )
    out[index[valid]] = series.series.values[valid]
    return out


def _attach_compliance(
    rows: list[PtpRow],
    states: list[TaggedSeries],
    offsets: list[TaggedSeries],
    step_s: float,
) -> None:
    by_key = {(r.cluster, r.node, r.iface, r.process): r for r in rows}
    offset_by_key = {_key(t): t for t in offsets}
    offset_by_port = {_key(t)[:3]: t for t in offsets}
    for tagged in states:
        row = by_key.get(_key(tagged))
        if row is None:
            continue
        stamps = tagged.series.timestamps
        offset = offset_by_key.get(_key(tagged)) or offset_by_port.get(_key(tagged)[:3])
        offset_values = _grid(offset, stamps) if offset is not None else np.array([])
        if offset is not None:
            row.history = (offset.series.timestamps, offset.series.values)
        row.compliance = compliance(
            tagged.series.values, offset_values, step_s, threshold=row.threshold
        )
