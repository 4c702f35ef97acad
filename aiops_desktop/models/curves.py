"""Which of many series a chart draws where it cannot draw them all: those that strayed
furthest from the rest (the console's, a dashboard panel's, a report's chart). Pure numpy:
the window's charts and the reports' both choose with it."""

from __future__ import annotations

import numpy as np

#: the most curves drawn: each costs some 4 ms on the UI thread to add, and as much again at
#: every repaint (500 held it 2 s, 8,000 38 s), and no one reads a hundred lines apart
MOST_CURVES = 100


def outlying_curves(
    series: dict[str, tuple[np.ndarray, np.ndarray]], most: int = MOST_CURVES
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The ``most`` series that strayed furthest from the rest: the ones a chart draws where it
    cannot draw all (the console's, a dashboard panel's). Each is ranked by its point furthest
    from the median of every value of every series over the range (then by name), so a
    series' worst may lie either side of the crowd: a FREERUN PTP port (0) among LOCKED ones
    (1), a port 4 us behind among ones within 20 ns, an idle GPU among busy ones and a hot one
    among cool ones are all drawn; keeping the highest peaks left the first two out. In the
    console the busiest and the idlest of a ``sum by (cluster)`` are drawn, the ordinary
    middle left out. An infinite value (a p99 past the histogram's largest bucket is +Inf:
    the worst latency there is) is the furthest of all; a series without a value (NaN only)
    is ranked last."""
    if len(series) <= most:
        return series
    names = list(series)
    values = [np.asarray(series[name][1], dtype=float).ravel() for name in names]
    every = np.concatenate(values)
    finite = np.isfinite(every)
    # one median for the panel, of the finite values: an Inf would drag it to the edge (numpy
    # throughout: 1,000 series of 240 points take some 5 ms)
    typical = float(np.median(every[finite])) if finite.any() else 0.0
    away = np.where(np.isnan(every), -np.inf, np.abs(every - typical))  # +/-Inf: inf away
    lengths = np.array([v.size for v in values])
    furthest = np.full(len(names), -np.inf)
    held = lengths > 0  # reduceat cannot take an empty series
    if held.any():
        starts = (np.cumsum(lengths) - lengths)[held]
        furthest[held] = np.maximum.reduceat(away, starts)
    ranked = sorted(range(len(names)), key=lambda i: (-furthest[i], names[i]))
    kept = {names[i] for i in ranked[:most]}
    return {name: one for name, one in series.items() if name in kept}
