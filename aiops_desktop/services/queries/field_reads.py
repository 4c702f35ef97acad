"""What the GPU, PTP, SR-IOV and DPDK readers share: one instant query per field over every
chosen cluster in parallel, the last value of a series (None where unknown, never 0) and a
label's value as text."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

import numpy as np

from aiops_desktop.models import Cluster
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, PromSeries, TaggedSeries
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.gathering import gather_all


def last_value(tagged: TaggedSeries) -> float | None:
    """The series' last sample; None where it is not a finite number. Prometheus sends NaN
    and +/-Inf as values, and a hostile or broken member may send them for anything: an
    infinite XID or clock class is unknown, not a code (``int()`` of it raises, and one
    cluster's odd sample must not fail the whole fleet's read). DCGM's blanks are finite:
    the GPU readers take ``gpu.dcgm_value``, which leaves them out too."""
    values = tagged.series.values
    if values.size == 0:
        return None
    value = float(values[-1])
    return value if math.isfinite(value) else None


def label(labels: Mapping[str, Any], name: str) -> str:
    """A label's value as text ("" where absent). The Prometheus parser already refuses a
    label that is not a string; series also come from captures and tests, and a list there
    must not make a row key unhashable for every cluster."""
    value = labels.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def unique_failures(failures: Iterable[ClusterOutcome]) -> list[ClusterOutcome]:
    """One per cluster and reason (every field of an unreachable cluster fails alike)."""
    return list({(o.cluster, o.error): o for o in failures}.values())


def read_in_part(outcomes: Iterable[ClusterOutcome]) -> list[str]:
    """Each cluster that answered with a warning that data may be missing (a Thanos partial
    response: a store not read), once per warning: what it lists may not be all, which
    nothing said (the GPU and PTP commands exited 0)."""
    return sorted({f"{o.cluster}: read in part: {w}" for o in outcomes if o.ok
                   for w in o.missing})  # fmt: skip


async def read_fields(
    queries: MultiClusterQuery,
    clusters: list[Cluster],
    catalog: Mapping[str, str],
    names: Iterable[str],
    *,
    at: datetime | None = None,
) -> tuple[dict[str, list[TaggedSeries]], list[ClusterOutcome], list[str]]:
    """field -> its series over every cluster (as they were ``at``, now by default); what
    could not be read; and what was read in part (``read_in_part``)."""

    async def one(name: str) -> tuple[str, list[TaggedSeries], list[ClusterOutcome]]:
        answer = await queries.run(MetricQuery(promql=catalog[name], end=at), clusters)
        return name, answer.series, answer.outcomes

    results = await gather_all(*(one(n) for n in names if n in catalog))
    answers = {name: series for name, series, _ in results}
    outcomes = [o for _, _, said in results for o in said]
    return answers, unique_failures(o for o in outcomes if not o.ok), read_in_part(outcomes)


class PodRow(Protocol):
    pod: str  # namespace/pod, "" where no series names one


K = TypeVar("K")
R = TypeVar("R", bound=PodRow)


def join_rows(
    answers: Mapping[str, list[TaggedSeries]],
    fields: Iterable[str],
    key_of: Callable[[TaggedSeries], K],
    new_row: Callable[[TaggedSeries], R],
) -> dict[K, R]:
    """One row per key from each field's series: the field's last value set on the row under
    the field's name, the pod taken from whichever series carries ``pod``/``namespace``."""
    rows: dict[K, R] = {}
    for name in fields:
        for tagged in answers.get(name, []):
            key = key_of(tagged)
            row = rows.get(key)
            if row is None:
                row = rows[key] = new_row(tagged)
            labels = tagged.series.labels
            if labels.get("pod"):
                row.pod = f"{labels.get('namespace', '')}/{labels['pod']}"
            value = last_value(tagged)
            if value is not None:
                setattr(row, name, value)
    return rows


def joined_by_time(series: list[PromSeries]) -> tuple[np.ndarray, np.ndarray] | None:
    """One entity's series as one, by time. A label that changes splits an entity's history
    into series: the DCGM exporter's pod mapping gives a GPU a new series each time another
    pod holds it, a restarted linuxptp-daemon pod gives a port a new one; the chart is of the
    GPU or the port, not of whichever series was listed first. Where two have a sample at
    the same time (a handover), the later listed one's is left out. None: no sample."""
    present = [s for s in series if s.values.size]
    if not present:
        return None
    times = np.concatenate([s.timestamps for s in present])
    values = np.concatenate([s.values for s in present])
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    keep = np.ones(times.size, dtype=bool)
    keep[1:] = times[1:] != times[:-1]
    return times[keep], values[keep]
