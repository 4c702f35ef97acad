"""The PromQL console presenter: runs queries through the console service, emits results."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import EndpointKind, QueryType
from aiops_desktop.models.curves import outlying_curves
from aiops_desktop.models.metrics import ConsoleRequest, ConsoleResult, QueryAnswer, value_text
from aiops_desktop.models.text import cut, labels_text
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.queries.console import QueryConsole
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.charts import gaps_marked
from ui.presenters.base import Presenter
from ui.presenters.kube import line, tips
from ui.views.rows_table import Row

log = logging.getLogger("aiops.ui.console")

#: the most of a failure's text said (a server's error may run to megabytes)
FAILURE_CHARS = 500
#: the most rows in the table (cheap, but an answer may hold hundreds of thousands)
MOST_ROWS = 5_000


def _cut(text: str, most: int = FAILURE_CHARS) -> str:
    return cut(text, most)


@dataclass
class ShownResult(ConsoleResult):
    """A result with what the view draws worked out with it, off the UI thread (for 100,000
    series, ranking the curves held the UI thread 2 s): the table's rows and the chart's
    curves."""

    table: list[Row] = field(default_factory=list, repr=False, compare=False)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )


def _sort_keys(value: str, points: int) -> dict[int, float]:
    """What the last value and the points columns sort by: their numbers (as text, '9'
    sorted above '1234567'). NaN and no value ("—") have none: they sort after every number."""
    keys: dict[int, float] = {3: points}
    try:
        number = float(value)  # value_text writes what float reads back: +Inf, 1e-05
    except ValueError:
        return keys
    return keys if math.isnan(number) else keys | {2: number}


def table_rows(rows: list[tuple[str, str, str, int]]) -> list[Row]:
    """The first MOST_ROWS rows as the table shows them: a cluster's name and a series' labels
    (anyone's text: a CR, a tab, ESC or an RTL override in a label value forged rows and cells
    where a row was copied) as one printable line, their whole text the tooltip; the last
    value and the points sort as numbers."""
    return [Row([line(cluster), line(series), value, str(points)],
                tips=tips({0: cluster, 1: series}),
                keys=_sort_keys(value, points))
            for cluster, series, value, points in rows[:MOST_ROWS]]  # fmt: skip


def to_result(answer: QueryAnswer) -> ShownResult:
    """The answer as the console shows it: a row for every series, its points for the chart
    (the view draws a bounded number of each and says so), each failure's and each warning's
    text cut (a partial response: the rows may not be all), and the answer's notes as lines
    of their own (an empty cluster); with the table's rows and the curves drawn (the
    MOST_CURVES furthest from the rest; none for an instant query). A range series has a gap
    where the server sent no sample for a while (``gaps_marked``, by the step it was read at:
    a coarser one than asked, past 11,000 points). Runs in a worker thread: an answer may
    hold thousands of series."""
    instant = answer.query.query_type is QueryType.INSTANT
    step = answer.query.step.total_seconds()
    rows = []
    series = {}
    for tagged in answer.series:
        text = labels_text(tagged.series.labels)
        last = tagged.series.last
        rows.append(
            (tagged.cluster, text, value_text(last[1]) if last else "—", tagged.series.values.size)
        )
        points = (tagged.series.timestamps, tagged.series.values)
        series[f"{tagged.cluster} · {text}"] = points if instant else gaps_marked(*points, step)
    failures = [(o.cluster, _cut(f"{o.reason}: {o.error}")) for o in answer.failures]
    failures += [(o.cluster, _cut(f"warning: {w}")) for o in answer.outcomes for w in o.warnings]
    failures += [("", _cut(note)) for note in answer.notes]
    return ShownResult(
        status=answer.status.value,
        duration_ms=answer.duration_ms,
        instant=instant,
        rows=rows,
        series=series,
        failures=failures,
        table=table_rows(rows),
        curves={} if instant else outlying_curves(series),
    )


class ConsolePresenter(Presenter):
    """Signals:

    sig_result(ShownResult): a query finished (SUCCESS, PARTIAL or ERROR).
    sig_history(list[QueryRecord]): the query history, newest first.
    sig_saved(list[QueryRecord]): the saved queries, by name.
    sig_busy(bool): a query is running.
    sig_error(str): the query could not be run at all.
    """

    sig_result = Signal(object)
    sig_history = Signal(list)
    sig_saved = Signal(list)
    sig_busy = Signal(bool)

    def __init__(
        self,
        *,
        console: QueryConsole,
        registry: ClusterRegistry,
        tasks: TaskSupervisor,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, parent=parent)
        self._console = console
        self._registry = registry

    def cluster_names(self) -> list[str]:
        return [c.name for c in self._registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)]

    def run(self, request: ConsoleRequest) -> None:
        async def work() -> None:
            self.sig_busy.emit(True)
            try:
                answer = await self._console.run(request)
                self.sig_result.emit(await asyncio.to_thread(to_result, answer))
            except Exception as exc:  # shown to the user; the query, not the app, failed
                log.warning("console query failed", extra={"error": str(exc)})
                self.sig_error.emit(str(exc))
                return
            finally:
                self.sig_busy.emit(False)
            try:  # the answer shown stays shown: a history not read is only logged
                self.sig_history.emit(await self._console.history())
            except Exception as exc:
                log.warning("console history not read", extra={"error": str(exc)})

        self.spawn("console-query", work())

    def save(self, name: str, request: ConsoleRequest) -> None:
        """Keep ``request`` as ``name`` (off the UI thread), then the saved list again."""

        async def work() -> None:
            try:
                await self._console.save(name, request)
            except Exception as exc:  # said: no name, a capture, the role, a full disk
                log.warning("console query not saved", extra={"error": str(exc)})
                self.sig_error.emit(f"not saved: {exc}")
                return
            self.sig_saved.emit(await self._console.saved())

        self.spawn("console-save", work())

    async def read(self) -> None:
        """The query history, newest first, and the saved queries."""
        self.sig_history.emit(await self._console.history())
        self.sig_saved.emit(await self._console.saved())
