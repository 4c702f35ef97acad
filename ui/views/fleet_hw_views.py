"""The GPU fleet heatmap and the PTP timing board."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.gpu import (
    STATE_RANK,
    TEMP_CRITICAL_C,
    TEMP_WARNING_C,
    GpuFleet,
    GpuHealth,
    GpuHistory,
    GpuState,
)
from aiops_desktop.models.ptp import ClockState, PtpBoard
from aiops_desktop.models.text import count, pct_text
from ui.charts import TimeSeriesChart
from ui.theme import Theme
from ui.views.page import TitledPage
from ui.views.rows_table import Row, RowsTable
from ui.views.tables import fill_table, make_table
from ui.views.text import PlainLabel
from ui.views.time_range import TimeRangeBar

HEAT_METRICS = ("Health", "Utilisation", "Temperature")


def _blend(low: QColor, high: QColor, t: float) -> QColor:
    t = min(1.0, max(0.0, t))
    return QColor(
        int(low.red() + (high.red() - low.red()) * t),
        int(low.green() + (high.green() - low.green()) * t),
        int(low.blue() + (high.blue() - low.blue()) * t),
    )


HISTORY_CHARTS = (
    ("util_pct", "Utilisation", "%"),
    ("temperature_c", "Temperature", "C"),
    ("power_w", "Power", "W"),
    ("mem_used_mib", "Memory used", "MiB"),
    ("tensor_active_pct", "Tensor active", "%"),
)


class GpuDetail(QWidget):
    """One GPU over the page's range: what it is, its health reasons and a chart per history
    field."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = PlainLabel()
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        grid = QGridLayout()
        self.charts: dict[str, TimeSeriesChart] = {}
        for i, (name, title, unit) in enumerate(HISTORY_CHARTS):
            chart = TimeSeriesChart(f"{title} ({unit})", unit, theme)
            chart.apply_rules(name)
            chart.setFixedHeight(190)
            self.charts[name] = chart
            grid.addWidget(chart, 0, i)
        layout.addLayout(grid)
        self._key: str | None = None  # the GPU whose history is awaited or shown
        self.setVisible(False)

    def show_loading(self, health: GpuHealth) -> None:
        g = health.reading
        mig = f" MIG {g.mig_profile}" if g.mig_profile else ""
        pods = f" · {', '.join(g.pods)}" if g.pods else ""
        reasons = f" · {'; '.join(health.reasons)}" if health.reasons else ""
        self.heading.setText(f"{g.key} · {g.model}{mig} · {health.state.value}{pods}{reasons}")
        self._key = g.key
        for chart in self.charts.values():
            chart.set_series({})
        self.setVisible(True)

    def show_history(self, history: GpuHistory) -> None:
        if history.reading.key != self._key:
            return  # an answer for a GPU no longer chosen
        for name, chart in self.charts.items():
            data = history.series.get(name)
            chart.set_series({history.reading.key: data} if data is not None else {})
            chart.setVisible(data is not None or name != "tensor_active_pct")
        said = [o.error for o in history.outcomes] + ([history.note] if history.note else [])
        if said:
            self.heading.setText(self.heading.text() + " · " + "; ".join(said))


class GpuFleetView(QWidget):
    """A heatmap (cluster / node x GPU) coloured by health, utilisation or temperature, the
    GPUs with a problem listed under it with their reasons, and the chosen GPU's history over
    the page's time range.

    Signals: sig_gpu_chosen(GpuHealth): a heatmap cell or a problem row was clicked;
    sig_range_changed(TimeRange): the range of the chosen GPU's charts."""

    sig_gpu_chosen = Signal(object)
    sig_range_changed = Signal(object)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._fleet: GpuFleet | None = None
        self._cells: dict[tuple[int, int], GpuHealth] = {}
        self._problems: list[GpuHealth] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.title = PlainLabel("GPU fleet")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        bar.addWidget(PlainLabel("Colour by"))
        self.metric = QComboBox()
        self.metric.addItems(list(HEAT_METRICS))
        self.metric.currentTextChanged.connect(self._redraw)
        bar.addWidget(self.metric)
        bar.addWidget(PlainLabel("History"))
        self.time_range = TimeRangeBar("1 h")
        self.time_range.sig_changed.connect(self.sig_range_changed)
        bar.addWidget(self.time_range)
        layout.addLayout(bar)
        self.heatmap = RowsTable([])
        self.heatmap.verticalHeader().setVisible(True)
        self.heatmap.setSelectionMode(RowsTable.SelectionMode.NoSelection)
        self.heatmap.cellClicked.connect(lambda r, c: self._choose(self._cells.get((r, c))))
        layout.addWidget(self.heatmap, 3)
        self.problems = make_table(["State", "GPU", "Model", "Pods", "Reasons"])
        self.problems.cellClicked.connect(
            lambda r, _c: self._choose(self._problems[r] if r < len(self._problems) else None)
        )
        layout.addWidget(self.problems, 2)
        self.detail = GpuDetail(theme)
        layout.addWidget(self.detail)
        self.error = PlainLabel()
        self.error.setStyleSheet(f"color: {theme.severity('critical')};")
        layout.addWidget(self.error)

    def show_error(self, text: str) -> None:
        self.error.setText(text)

    def _choose(self, health: GpuHealth | None) -> None:
        if health is not None:
            self.detail.show_loading(health)
            self.sig_gpu_chosen.emit(health)

    def show_history(self, history: GpuHistory) -> None:
        self.detail.show_history(history)

    def show_fleet(self, fleet: GpuFleet) -> None:
        self._fleet = fleet
        self.error.setText("; ".join(sorted({f"{o.cluster}: {o.error}" for o in fleet.outcomes})))
        self._redraw()

    def cell_colour(self, health: GpuHealth) -> QColor:
        r, metric = health.reading, self.metric.currentText()
        ok = QColor(self._theme.status("ONLINE"))
        warn = QColor(self._theme.severity("warning"))
        bad = QColor(self._theme.severity("critical"))
        if metric == "Utilisation":
            if r.util_pct is None:
                return QColor(self._theme.color("border"))
            return _blend(QColor(self._theme.color("panel")), QColor("#3b82f6"), r.util_pct / 100)
        if metric == "Temperature":
            if r.temperature_c is None:
                return QColor(self._theme.color("border"))
            if r.temperature_c >= TEMP_CRITICAL_C:
                return bad
            return warn if r.temperature_c >= TEMP_WARNING_C else ok
        return {GpuState.OK: ok, GpuState.WARNING: warn, GpuState.CRITICAL: bad}[health.state]

    def _redraw(self, _text: str = "") -> None:
        fleet = self._fleet
        if fleet is None:
            return
        cells: dict[tuple[str, str], dict[int, GpuHealth]] = {}
        for h in fleet.gpus:
            row = cells.setdefault((h.reading.cluster, h.reading.node), {})
            index = int(h.reading.gpu or 0)
            if index not in row or STATE_RANK[h.state] > STATE_RANK[row[index].state]:
                row[index] = h  # MIG instances: the worst one speaks for the GPU
        rows = sorted(cells)
        width = max((max(r) + 1 for r in cells.values()), default=0)
        metric = self.metric.currentText()
        self._cells = {}
        shown: list[Row] = []
        for r, key in enumerate(rows):
            texts, backgrounds, tips = [], {}, {}
            for c in range(width):
                health = cells[key].get(c)
                if health is None:
                    texts.append("")
                    continue
                self._cells[r, c] = health
                g = health.reading
                if metric == "Utilisation":
                    text = "-" if g.util_pct is None else f"{g.util_pct:.0f}%"
                elif metric == "Temperature":
                    text = "-" if g.temperature_c is None else f"{g.temperature_c:.0f} C"
                else:
                    text = health.state.value
                texts.append(text + (" MIG" if g.mig_profile else ""))
                backgrounds[c] = self.cell_colour(health).name()
                tip = [g.key, g.model] + health.reasons + (g.pods or [])
                tips[c] = "\n".join(t for t in tip if t)
            shown.append(Row(texts, colour="#0b1020", backgrounds=backgrounds, tips=tips,
                             center=True))  # fmt: skip
        self.heatmap.set_rows(
            shown, [f"GPU {i}" for i in range(width)], [f"{c} / {n}" for c, n in rows]
        )
        visible = min(len(rows), 12)  # every node row in sight up to 12; more scroll
        self.heatmap.setMinimumHeight(
            self.heatmap.horizontalHeader().height()
            + visible * self.heatmap.verticalHeader().defaultSectionSize()
            + 4
        )
        problems = self._problems = [h for h in fleet.gpus if h.state is not GpuState.OK]
        self.problems.set_rows([
            Row([h.state.value, h.reading.key, h.reading.model, ", ".join(h.reading.pods) or "—",
                 "; ".join(h.reasons)],
                colour=self._theme.severity(
                    "critical" if h.state is GpuState.CRITICAL else "warning"))
            for h in problems
        ])  # fmt: skip
        s = fleet.summary()
        bad = [
            f"{s['by_state'][k]} {k.lower()}" for k in ("CRITICAL", "WARNING") if k in s["by_state"]
        ]
        self.title.setText(
            f"GPU fleet · {s['gpus']} GPUs on {s['nodes']} nodes · {', '.join(bad) or 'all OK'}"
        )


class PtpBoardView(QWidget):
    """Signals: sig_range_changed(TimeRange): the compliance window and the offset chart's."""

    sig_range_changed = Signal(object)
    HEADERS = (
        "State", "Cluster", "Node", "Iface", "Process", "Role", "Class", "Offset ns",
        "Locked", "Within", "Holdover s", "Freerun s", "Long holdovers", "Notes",
    )  # fmt: skip

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.title = PlainLabel("PTP timing")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        bar.addWidget(PlainLabel("Compliance over"))
        self.time_range = TimeRangeBar("1 h")
        self.time_range.sig_changed.connect(self.sig_range_changed)
        bar.addWidget(self.time_range)
        layout.addLayout(bar)
        self.table = make_table(list(self.HEADERS))
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        layout.addWidget(self.table, 2)
        self.chart = TimeSeriesChart("Offset from master (ns)", "ns", theme)
        self.chart.setMinimumHeight(200)
        band = QColor(theme.status("ONLINE"))
        band.setAlpha(40)
        self.band = pg.LinearRegionItem(
            (-100, 100), orientation="horizontal", movable=False, brush=band
        )
        self.chart.getPlotItem().addItem(self.band, ignoreBounds=True)
        layout.addWidget(self.chart, 1)
        self.error = PlainLabel()
        self.error.setStyleSheet(f"color: {theme.severity('critical')};")
        layout.addWidget(self.error)
        self._board: PtpBoard | None = None

    def show_error(self, text: str) -> None:
        self.error.setText(text)

    def _on_selection_changed(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if self._board is None or not rows:
            return
        row = self._board.rows[min(rows)]
        if row.history is not None:
            self.chart.set_series({f"{row.cluster}/{row.node}/{row.iface}": row.history})
        self.band.setRegion((row.threshold.min_ns, row.threshold.max_ns))

    def show_board(self, board: PtpBoard) -> None:
        self._board = board
        self.error.setText("; ".join(sorted({f"{o.cluster}: {o.error}" for o in board.outcomes})))
        colours = {
            ClockState.FREERUN: self._theme.severity("critical"),
            ClockState.HOLDOVER: self._theme.severity("warning"),
        }
        rows: list[tuple[list[str], str | None]] = []
        tips: list[dict[int, str]] = []
        for row in board.rows:
            c = row.compliance

            cells = [
                row.state.value, row.cluster, row.node, row.iface, row.process, row.role,
                "-" if row.clock_class is None else str(row.clock_class),
                "-" if row.offset_ns is None else f"{row.offset_ns:g}",
                pct_text(c.locked_pct) if c else "-", pct_text(c.within_pct) if c else "-",
                f"{c.holdover_s:g}" if c else "-", f"{c.freerun_s:g}" if c else "-",
                str(c.long_holdovers) if c else "-", "; ".join(row.notes),
            ]  # fmt: skip
            colour = colours.get(row.state) or (
                self._theme.severity("warning") if row.offset_in is False else None
            )
            band = row.threshold.band + (
                f" (profile {row.threshold.profile})" if row.threshold.profile else " (default)"
            )
            rows.append((cells, colour))
            tips.append({self.HEADERS.index("Offset ns"): f"judged against {band}"})
            if row.gnss or row.dpll_phase:
                tips[-1][self.HEADERS.index("Role")] = (
                    f"GNSS {row.gnss or '-'}; DPLL phase {row.dpll_phase or '-'}, "
                    f"frequency {row.dpll_frequency or '-'}"
                )
        fill_table(self.table, rows, tips)
        if board.rows and not self.table.selectedItems():
            self.table.selectRow(0)  # the worst port's offset, at once
        else:
            self._on_selection_changed()
        bad = sum(1 for row in board.rows if row.rank < 5)
        self.title.setText(
            f"PTP · {len(board.rows)} ports · {bad} need attention · "
            f"{board.threshold.band}, {self.time_range.current.label}"
        )


class DriftView(TitledPage):
    """Settings that should match and do not: one row per differing value, the most common
    value first (the likely intended one), the outliers highlighted."""

    HEADERS = ("Kind", "Subject", "Setting", "Value", "Where")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, "Drift", parent)
        self.table = make_table(list(self.HEADERS))
        self.body.addWidget(self.table, 1)
        self.finish()

    def show_drift(self, drift: list) -> None:  # type: ignore[type-arg]
        rows = [
            (d, index, value, scopes)
            for d in drift
            for index, (value, scopes) in enumerate(d.values)
        ]
        warn = self._theme.severity("warning")
        self.table.set_rows([
            Row([d.kind, d.subject, d.setting, value, ", ".join(scopes)] if index == 0 else
                ["", "", "", value, ", ".join(scopes)],
                colour=None if index == 0 else warn)
            for d, index, value, scopes in rows
        ])  # fmt: skip
        kinds = sorted({d.kind for d in drift})
        self.title.setText(
            f"Drift · {count(len(drift), 'setting')} "
            f"{'differs' if len(drift) == 1 else 'differ'}"
            + (f" · {', '.join(kinds)}" if kinds else "")
        )
