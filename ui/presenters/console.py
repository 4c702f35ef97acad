"""The PromQL console presenter: runs queries through the console service, emits results."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import EndpointKind, QueryType
from aiops_desktop.services.console import ConsoleRequest
from aiops_desktop.services.core import Core
from aiops_desktop.services.multicluster import QueryAnswer

log = logging.getLogger("aiops.ui.console")


@dataclass
class ConsoleResult:
    status: str
    duration_ms: float
    instant: bool
    rows: list[tuple[str, str, str, int]]  # cluster, series, last value, points
    series: dict[str, tuple[np.ndarray, np.ndarray]]
    failures: list[tuple[str, str]]  # cluster, reason and message


def _labels_text(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}" if inner else (name or "{}")


def to_result(answer: QueryAnswer) -> ConsoleResult:
    rows = []
    series = {}
    for tagged in answer.series:
        text = _labels_text(tagged.series.labels)
        last = tagged.series.last
        rows.append(
            (tagged.cluster, text, f"{last[1]:.6g}" if last else "—", tagged.series.values.size)
        )
        series[f"{tagged.cluster} · {text}"] = (tagged.series.timestamps, tagged.series.values)
    return ConsoleResult(
        status=answer.status.value,
        duration_ms=answer.duration_ms,
        instant=answer.query.query_type is QueryType.INSTANT,
        rows=rows,
        series=series,
        failures=[(o.cluster, f"{o.reason}: {o.error}") for o in answer.failures],
    )


class ConsolePresenter(QObject):
    """Signals:

    sig_result(ConsoleResult): a query finished (SUCCESS, PARTIAL or ERROR).
    sig_history(list[QueryRecord]): the query history, newest first.
    sig_busy(bool): a query is running.
    sig_error(str): the query could not be run at all.
    """

    sig_result = Signal(object)
    sig_history = Signal(list)
    sig_busy = Signal(bool)
    sig_error = Signal(str)

    def __init__(self, core: Core, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core

    def cluster_names(self) -> list[str]:
        return [
            c.name for c in self._core.registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)
        ]

    def run(self, request: ConsoleRequest) -> None:
        async def work() -> None:
            self.sig_busy.emit(True)
            try:
                answer = await self._core.console.run(request)
                self.sig_result.emit(to_result(answer))
                self.sig_history.emit(await self._core.console.history())
            except Exception as exc:  # shown to the user; the query, not the app, failed
                log.warning("console query failed", extra={"error": str(exc)})
                self.sig_error.emit(str(exc))
            finally:
                self.sig_busy.emit(False)

        self._core.supervisor.spawn(work(), name="console-query")

    def load_history(self) -> None:
        async def work() -> None:
            self.sig_history.emit(await self._core.console.history())

        self._core.supervisor.spawn(work(), name="console-history")
