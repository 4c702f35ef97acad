"""A panel's stored history over a time range (longer or older than what the live buffers
hold): the raw samples the cache still has and its rollups before them, thinned to the
points a chart can show. Blocking (SQLite): call from a worker thread."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np

from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.time_range import MOST_POINTS
from aiops_desktop.store.series import RAW, SeriesData, SeriesStore, labels_key

Series = dict[str, tuple[np.ndarray, np.ndarray]]  # labels key -> (timestamps s, values)


def thinned(
    ts: np.ndarray, values: np.ndarray, most: int = MOST_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``most`` points: the mean of each of ``most`` equal time buckets, so a long
    range reads as its shape, not as every sample. A bucket with samples but no value (a gap
    the poller marked) stays a gap; a bucket without samples gives no point."""
    if ts.size <= most:
        return ts, values
    edges = np.linspace(ts[0], ts[-1], most + 1)
    bucket = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, most - 1)
    finite = np.isfinite(values)
    seen = np.bincount(bucket, minlength=most) > 0
    counts = np.bincount(bucket[finite], minlength=most)
    sums = np.bincount(bucket[finite], weights=values[finite], minlength=most)
    centres = (edges[:-1] + edges[1:]) / 2
    means = np.full(most, np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    return centres[seen], means[seen]


def read_panel_history(
    series: SeriesStore, cluster: str, panel: str, start: datetime, end: datetime
) -> dict[str, tuple[dict[str, str], np.ndarray, np.ndarray]]:
    """Each stored series of ``panel`` on ``cluster`` between ``start`` and ``end``, as
    labels key -> (labels, timestamps s, values): rollups where the raw samples are gone.
    Rollups of every step the cache holds are read, not only the current ``rollup_step``'s:
    those made before the setting changed stay in the file until retention drops them, and
    hiding them shrank a week's chart to the raw window. Each raw sample is rolled up once, so
    two steps' buckets hold different samples; at the seam (or after a step changed back) a
    bucket starting inside a finer bucket already taken is left out, so that each moment is
    shown at one step, the finer."""
    lo, hi = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    parts: dict[str, list[SeriesData]] = {}
    raw = series.read(panel, cluster=cluster, start_ms=lo, end_ms=hi, resolution_s=RAW)
    first_raw = {labels_key(d.labels): int(d.timestamps_ms[0]) for d in raw}
    taken: dict[str, list[tuple[np.ndarray, int]]] = {}  # rollup buckets kept: starts, width
    steps = series.rollup_resolutions(panel, cluster=cluster, start_ms=lo, end_ms=hi)
    for step_s in steps:  # finest first
        for data in series.read(panel, cluster=cluster, start_ms=lo, end_ms=hi,
                                resolution_s=step_s):  # fmt: skip
            key = labels_key(data.labels)
            keep = data.timestamps_ms < first_raw.get(key, hi + 1)
            for starts, taken_width in taken.get(key, []):
                keep &= ~_inside(data.timestamps_ms, starts, taken_width)
            if keep.any():
                kept = SeriesData(data.cluster, data.metric, data.labels,
                                  data.timestamps_ms[keep], data.values[keep])  # fmt: skip
                parts.setdefault(key, []).append(kept)
                taken.setdefault(key, []).append((kept.timestamps_ms, step_s * 1000))
    for data in raw:
        parts.setdefault(labels_key(data.labels), []).append(data)
    out = {}
    for key, found in parts.items():
        ts = np.concatenate([d.timestamps_ms for d in found]) / 1000.0
        values = np.concatenate([d.values for d in found])
        order = np.argsort(ts, kind="stable")  # steps taken in turn may interleave in time
        ts, values = thinned(ts[order], values[order])
        out[key] = (found[0].labels, ts, values)
    return out


def _inside(starts: np.ndarray, taken: np.ndarray, taken_width: int) -> np.ndarray:
    """Which ``starts`` fall inside one of the ``taken`` buckets (sorted starts, each
    ``taken_width`` ms long)."""
    return np.searchsorted(taken, starts, side="right") > np.searchsorted(
        taken, starts - taken_width, side="right"
    )


class PanelHistory:
    """The cache's history of panels, for the pages (which see services, not the store)."""

    def __init__(self, series: SeriesStore) -> None:
        self._series = series

    def read(
        self, cluster: str, panel: str, start: datetime, end: datetime
    ) -> dict[str, tuple[dict[str, str], np.ndarray, np.ndarray]]:
        """``read_panel_history`` (blocking: call from a worker thread)."""
        return read_panel_history(self._series, cluster, panel, start, end)


def named_series(
    panel: Panel, found: Iterable[tuple[dict[str, str], np.ndarray, np.ndarray]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each series (labels, timestamps, values) under its legend. Where two legends read the
    same (error_spans is by service, namespace and pod but named by pod: services without a
    pod all read "?"; same-named pods of two namespaces), the labels that tell them apart
    are added to each: a dict keyed by legend alone kept one line of them and hid the rest
    (on the dashboard's charts and in the reports' alike)."""
    by_legend: dict[str, list[tuple[dict[str, str], np.ndarray, np.ndarray]]] = {}
    for labels, ts, values in found:
        by_legend.setdefault(panel.legend_for(labels), []).append((labels, ts, values))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for legend, same in by_legend.items():
        if len(same) == 1:
            out[legend] = (same[0][1], same[0][2])
            continue
        keys = sorted({k for labels, _, _ in same for k in labels} - {"__name__"})
        differ = [k for k in keys if len({labels.get(k) for labels, _, _ in same}) > 1]
        for labels, ts, values in same:
            inner = ", ".join(f'{k}="{labels[k]}"' for k in differ if k in labels)
            name = f"{legend} {{{inner}}}" if inner else legend  # it lacks the others' labels
            while name in out or (name != legend and name in by_legend):  # never lost
                name += "\u2032"  # a prime
            out[name] = (ts, values)
    return out
