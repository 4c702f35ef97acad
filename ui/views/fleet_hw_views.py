"""The GPU fleet heatmap and the PTP timing board."""

from __future__ import annotations

from datetime import UTC, datetime

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

from aiops_desktop.models.drift import DriftReport
from aiops_desktop.models.gpu import (
    STATE_RANK,
    TEMP_CRITICAL_C,
    TEMP_WARNING_C,
    GpuFleet,
    GpuHealth,
    GpuHistory,
    GpuReading,
    GpuState,
)
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import RANK_UNKNOWN, Compliance, PtpBoard, PtpRow
from aiops_desktop.models.text import count, pct_text
from aiops_desktop.models.time_range import TimeRange
from ui.charts import TimeSeriesChart
from ui.presenters.gpu_cnf import UnreportedPort
from ui.theme import Theme, readable_on
from ui.views.page import TitledPage, error_line, show_error_text
from ui.views.rows_table import TIP_CHARS, Row, RowsTable
from ui.views.tables import make_table
from ui.views.text import PlainLabel, cell_line
from ui.views.time_range import TimeRangeBar

HEAT_METRICS = ("Health", "Utilisation", "Temperature")
#: the heatmap's cells: (cluster, node) -> column -> the GPUs drawn there
Cells = dict[tuple[str, str], dict[int, list[GpuHealth]]]


def _errors(outcomes: list[ClusterOutcome], label: PlainLabel) -> None:
    """The clusters' read errors on the error line (``error_line``: each one cut line; in its
    tooltip, one a line, the longest cut alike to fit: cut as one text, the first errors hid
    the others)."""
    error_line(label, sorted({f"{o.cluster}: {o.error}" for o in outcomes}))


def _blend(low: QColor, high: QColor, t: float) -> QColor:
    t = min(1.0, max(0.0, t))
    return QColor(
        int(low.red() + (high.red() - low.red()) * t),
        int(low.green() + (high.green() - low.green()) * t),
        int(low.blue() + (high.blue() - low.blue()) * t),
    )


def _n(value: float | None) -> str:
    """A reading as the page shows it: "—" where unknown (nvidia-smi's ``[N/A]``, no DCGM
    series), never 0."""
    return "—" if value is None else f"{value:,.0f}"


def memory_power(g: GpuReading) -> str:
    """A GPU's memory and power in a line: "memory 71,234 / 81,559 MiB · power 612 / 700 W"."""
    memory = f"memory {_n(g.mem_used_mib)} / {_n(g.mem_total_mib)} MiB"
    return f"{memory} · power {_n(g.power_w)} / {_n(g.power_limit_w)} W"


def gpu_facts(g: GpuReading) -> str:
    """What a GPU is and reads, in a line: its uuid and driver (label values: one cut line
    each), memory, utilisation, power and clocks, each "—" where unknown."""
    return " · ".join([
        f"uuid {cell_line(g.uuid) or '—'}",
        f"driver {cell_line(g.driver or '') or '—'}",
        f"memory {_n(g.mem_used_mib)} / {_n(g.mem_total_mib)} MiB used ({_n(g.mem_free_mib)} free)",
        f"utilisation GPU {_n(g.util_pct)} % / memory {_n(g.util_memory_pct)} %",
        f"power {_n(g.power_w)} / {_n(g.power_limit_w)} W",
        f"clocks SM {_n(g.sm_clock_mhz)} / memory {_n(g.mem_clock_mhz)} MHz",
    ])  # fmt: skip


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
        # what the GPU reads, under what it is (the heading says an answer's notes after it)
        self.facts = PlainLabel()
        self.facts.setWordWrap(True)
        layout.addWidget(self.facts)
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
        self._heading = ""  # what the GPU is: an answer's notes are said after it, once
        self.setVisible(False)

    def show_loading(self, health: GpuHealth) -> None:
        g = health.reading
        mig = f" MIG {cell_line(g.mig_profile)}" if g.mig_profile else ""
        pods = f" · {cell_line(', '.join(g.pods))}" if g.pods else ""
        reasons = f" · {cell_line('; '.join(health.reasons))}" if health.reasons else ""
        self._heading = (
            f"{cell_line(g.key)} · {cell_line(g.model)}{mig} · {health.state.value}{pods}{reasons}"
        )
        self.heading.setText(self._heading)
        self.facts.setText(gpu_facts(g))
        self._key = g.key
        for chart in self.charts.values():
            chart.set_series({})
            chart.reset_zoom()  # another GPU: its range, not the zoom on the last one
        self.setVisible(True)

    def show_history(self, history: GpuHistory, end: datetime | None = None) -> None:
        """The GPU's history; the charts span its window up to ``end`` (the range's end:
        the app's now for a range that follows it; the wall clock's when not said), so the
        part of the range without data is seen empty."""
        if history.reading.key != self._key:
            return  # an answer for a GPU no longer chosen
        end_s = (end or datetime.now(UTC)).timestamp()
        for name, chart in self.charts.items():
            data = history.series.get(name)
            chart.set_series({history.reading.key: data} if data is not None else {})
            chart.set_span(end_s - history.window.total_seconds(), end_s)
            chart.setVisible(data is not None or name != "tensor_active_pct")
        said = [o.error for o in history.outcomes] + ([history.note] if history.note else [])
        # each answer (another range, a re-read) says its own notes: never the last one's too
        notes = [cell_line("; ".join(said))] if said else []
        self.heading.setText(" · ".join([self._heading, *notes]))

    def reset_zoom(self) -> None:
        for chart in self.charts.values():
            chart.reset_zoom()


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
        #: (row in the order given to the heatmap, column) -> the GPU drawn there
        self._cells: dict[tuple[int, int], GpuHealth] = {}
        self._problems: list[GpuHealth] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.title = PlainLabel("GPU fleet")
        self.title.setProperty("role", "title")
        bar.addWidget(self.title, 1)
        self.summary = PlainLabel()  # the fleet's memory totals and averages
        bar.addWidget(self.summary)
        bar.addWidget(PlainLabel("Colour by"))
        self.metric = QComboBox()
        self.metric.addItems(list(HEAT_METRICS))
        self.metric.currentTextChanged.connect(self._redraw)
        bar.addWidget(self.metric)
        bar.addWidget(PlainLabel("History"))
        self.time_range = TimeRangeBar("1 h")
        self.time_range.sig_changed.connect(self._on_range_chosen)
        bar.addWidget(self.time_range)
        layout.addLayout(bar)
        self.heatmap = RowsTable([])
        self.heatmap.verticalHeader().setVisible(True)
        self.heatmap.setSelectionMode(RowsTable.SelectionMode.NoSelection)
        self.heatmap.cellClicked.connect(self._on_cell_clicked)
        layout.addWidget(self.heatmap, 3)
        self.problems = make_table(["State", "GPU", "Model", "Pods", "Reasons"])
        self.problems.cellClicked.connect(self._on_problem_clicked)
        layout.addWidget(self.problems, 2)
        self.detail = GpuDetail(theme)
        layout.addWidget(self.detail)
        self.error = PlainLabel()
        self.error.setStyleSheet(f"color: {theme.severity('critical')};")
        layout.addWidget(self.error)

    def show_error(self, text: str) -> None:
        show_error_text(self.error, text)

    def _on_cell_clicked(self, row: int, column: int) -> None:
        """A row as shown (the heatmap sorts by a header click): its node is the one
        ``_cells`` was filled for at its place in the order ``set_rows`` gave."""
        self._choose(self._cells.get((self.heatmap.source_row(row), column)))

    def _on_problem_clicked(self, row: int, _column: int) -> None:
        """The GPU of the row as shown, however the list is sorted; a GPU no longer reported
        (after the problems) has no history to show."""
        source = self.problems.source_row(row)
        self._choose(self._problems[source] if source < len(self._problems) else None)

    def _choose(self, health: GpuHealth | None) -> None:
        if health is not None:
            self.detail.show_loading(health)
            self.sig_gpu_chosen.emit(health)

    def _on_range_chosen(self, chosen: TimeRange) -> None:
        self.detail.reset_zoom()  # the range chosen, not the user's last zoom
        self.sig_range_changed.emit(chosen)

    def show_history(self, history: GpuHistory) -> None:
        """The chosen GPU's history, its charts spanning the range chosen (its end: the
        bar's clock, the app's now, when it follows now)."""
        chosen = self.time_range.current
        self.detail.show_history(history, chosen.end or self.time_range.clock())

    def show_fleet(self, fleet: GpuFleet) -> None:
        self._fleet = fleet
        _errors(fleet.outcomes, self.error)
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
        unknown = QColor(self._theme.status("UNKNOWN"))  # not known to be well: never OK's
        return {GpuState.OK: ok, GpuState.UNKNOWN: unknown, GpuState.WARNING: warn,
                GpuState.CRITICAL: bad}[health.state]  # fmt: skip

    def _layout(self, fleet: GpuFleet) -> tuple[Cells, list[int]]:
        """(cluster, node) -> column -> its GPUs (MIG instances, or those in the "other"
        column), and the columns in order. A column per GPU index up to the largest seen:
        an index is a small decimal (``GpuReading.index``), so one member's crafted label
        ("200000") cannot make the table 200,000 columns wide and freeze the window; any
        other label (negative, not a number, too large) goes into one "other" column."""
        cells: dict[tuple[str, str], dict[int, list[GpuHealth]]] = {}
        for h in fleet.gpus:
            index = h.reading.index
            row = cells.setdefault((h.reading.cluster, h.reading.node), {})
            row.setdefault(OTHER_COLUMN if index is None else index, []).append(h)
        indexes = {i for row in cells.values() for i in row if i != OTHER_COLUMN}
        columns = list(range(max(indexes) + 1)) if indexes else []
        if any(OTHER_COLUMN in row for row in cells.values()):
            columns.append(OTHER_COLUMN)
        return cells, columns

    def _cell_number(self, health: GpuHealth) -> float | None:
        """The number a cell shows, and sorts by (its text sorted "9%" above "85%"): the
        GPU's utilisation or temperature; None where the cell shows its health, or the GPU
        reports none (sorted after every number)."""
        g = health.reading
        shown = {"Utilisation": g.util_pct, "Temperature": g.temperature_c}
        return shown.get(self.metric.currentText())

    def _cell_text(self, health: GpuHealth, many: int) -> str:
        g, metric = health.reading, self.metric.currentText()
        number = self._cell_number(health)
        if metric == "Health":
            text = health.state.value
        else:
            unit = "%" if metric == "Utilisation" else " C"
            text = "-" if number is None else f"{number:.0f}{unit}"
        return text + (" MIG" if g.mig_profile else "") + (f" (+{many - 1})" if many > 1 else "")

    def _redraw(self, _text: str = "") -> None:
        fleet = self._fleet
        if fleet is None:
            return
        cells, columns = self._layout(fleet)
        rows = sorted(cells)
        self._cells = {}
        shown: list[Row] = []
        for r, key in enumerate(rows):
            texts, backgrounds, colours, tips, keys = [], {}, {}, {}, {}
            for c, column in enumerate(columns):
                found = cells[key].get(column)
                if not found:
                    texts.append("")
                    continue
                # MIG instances (and an "other" column's GPUs): the worst speaks for the cell
                health = max(found, key=lambda h: STATE_RANK[h.state])
                self._cells[r, c] = health
                texts.append(self._cell_text(health, len(found) if column == OTHER_COLUMN else 1))
                if (number := self._cell_number(health)) is not None:
                    keys[c] = number
                backgrounds[c] = self.cell_colour(health).name()
                colours[c] = readable_on(backgrounds[c])  # the light theme's fills are dark
                tip = []
                for h in sorted(found, key=lambda h: -STATE_RANK[h.state]):
                    tip += [
                        h.reading.key,
                        h.reading.model,
                        memory_power(h.reading),
                        *h.reasons,
                        *h.reading.pods,
                    ]
                tips[c] = "\n".join(t for t in tip if t)
            shown.append(Row(texts, colours=colours, backgrounds=backgrounds, tips=tips,
                             center=True, keys=keys))  # fmt: skip
        headers = [f"GPU {i}" if i != OTHER_COLUMN else "Other" for i in columns]
        self.heatmap.set_rows(shown, headers, [cell_line(f"{c} / {n}") for c, n in rows])
        visible = min(len(rows), 12)  # every node row in sight up to 12; more scroll
        self.heatmap.setMinimumHeight(
            self.heatmap.horizontalHeader().height()
            + visible * self.heatmap.verticalHeader().defaultSectionSize()
            + 4
        )
        self._show_problems(fleet)
        self.title.setText(gpu_title(fleet))
        self.summary.setText(gpu_summary(fleet))

    def _show_problems(self, fleet: GpuFleet) -> None:
        """The GPUs not known to be well, worst first, then those no longer reported."""
        problems = self._problems = [h for h in fleet.gpus if h.state is not GpuState.OK]
        level = {GpuState.CRITICAL: "critical", GpuState.WARNING: "warning"}
        # a GPU's key, model, pods and reasons are label values and nvidia-smi's text: one cut
        # line each, the whole text (escaped by the table) as its tooltip
        rows = [
            Row([h.state.value, cell_line(h.reading.key), cell_line(h.reading.model),
                 cell_line(", ".join(h.reading.pods)) or "—", cell_line("; ".join(h.reasons))],
                colour=self._theme.severity(level[h.state]) if h.state in level
                else self._theme.status("UNKNOWN"),
                tips=_tips({1: h.reading.key, 2: h.reading.model, 3: ", ".join(h.reading.pods),
                            4: "; ".join(h.reasons)}))
            for h in problems
        ]  # fmt: skip
        rows += [
            Row(["NOT REPORTED", cell_line(g.key), "", "—",
                 cell_line(f"no longer reported (last {g.before.value}"
                       + (f": {'; '.join(g.reasons)})" if g.reasons else ")"))],
                colour=self._theme.status("UNKNOWN"),
                tips=_tips({1: g.key, 4: "; ".join(g.reasons)}))
            for g in fleet.gone
        ]  # fmt: skip
        self.problems.set_rows(rows)


#: the heatmap column of GPUs whose ``gpu`` label is no small index
OTHER_COLUMN = -1


def _tips(texts: dict[int, str]) -> dict[int, str]:
    """Cells' whole outside text as their tooltips (the table escapes it and keeps its line
    breaks), by column: where the cell cut it or made it one line; a tooltip's most kept."""
    return {c: t[:TIP_CHARS] for c, t in texts.items() if cell_line(t) != t}


def gpu_title(fleet: GpuFleet) -> str:
    """What the fleet's GPUs are, in a line: "all OK" only when every GPU reported is known
    to be well and none stopped being reported; no GPU at all is said as such."""
    s = fleet.summary()
    said = [f"{s['by_state'][k]} {k.lower()}" for k in ("CRITICAL", "WARNING", "UNKNOWN")
            if k in s["by_state"]]  # fmt: skip
    if fleet.gone:
        said.append(f"{count(len(fleet.gone), 'GPU')} no longer reported")
    if not s["gpus"]:
        return "GPU fleet · no GPU reported" + (f" · {', '.join(said)}" if said else "")
    verdict = ", ".join(said) or "all OK"
    return f"GPU fleet · {count(s['gpus'], 'GPU')} on {count(s['nodes'], 'node')} · {verdict}"


def gpu_summary(fleet: GpuFleet) -> str:
    """The fleet's memory totals and averages in a line: "memory 72,534 / 243,118 MiB used
    (1 GPU unknown) · average 55 % utilisation, 61 C"; nothing where no GPU is reported. A
    GPU whose memory is not known is said, never counted as 0 MiB."""
    s = fleet.summary()
    if not s["gpus"]:
        return ""
    unknown = s["mem_unknown_gpus"]
    if s["mem_total_mib"] is None:
        memory = "memory unknown"
    else:
        memory = f"memory {_n(s['mem_used_mib'])} / {_n(s['mem_total_mib'])} MiB used" + (
            f" ({count(unknown, 'GPU')} unknown)" if unknown else ""
        )
    util, temp = s["avg_util_pct"], s["avg_temperature_c"]
    return f"{memory} · average {_n(util)} % utilisation, {_n(temp)} C"


class PtpBoardView(QWidget):
    """Signals: sig_range_changed(TimeRange): the compliance window and the offset chart's."""

    sig_range_changed = Signal(object)
    HEADERS = (
        "State", "Cluster", "Node", "Iface", "Process", "Role", "Class", "Offset ns",
        "Locked", "Within", "Holdover s", "Freerun s", "Long holdovers", "Restarts", "Notes",
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
        self.time_range.sig_changed.connect(self._on_range_chosen)
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
        self._chosen_key: tuple[str, str, str, str] | None = None  # the port chosen last

    def show_error(self, text: str) -> None:
        show_error_text(self.error, text)

    def _on_range_chosen(self, chosen: TimeRange) -> None:
        self.chart.reset_zoom()  # the range chosen, not the user's last zoom
        self.sig_range_changed.emit(chosen)

    def _chosen(self) -> PtpRow | None:
        """The port of the first row selected as shown (the table sorts by a header click)."""
        rows = self.table.selected_rows()
        if self._board is None or not rows:
            return None
        source = self.table.source_row(rows[0])
        return self._board.rows[source] if source < len(self._board.rows) else None

    def _on_selection_changed(self) -> None:
        row = self._chosen()
        if row is None:
            return
        self._chosen_key = _port_key(row)
        # a port without an offset series (a FREERUN port's ptp4l not exporting) shows none:
        # never the port chosen before's under this one's band
        name = cell_line(f"{row.cluster}/{row.node}/{row.iface}")
        self.chart.set_series({name: row.history} if row.history is not None else {})
        self.band.setRegion((row.threshold.min_ns, row.threshold.max_ns))

    def _row_colour(self, row: PtpRow) -> str | None:
        """FREERUN red; HOLDOVER, a fault or an offset out of band amber; unknown grey."""
        if row.rank == 0:
            return self._theme.severity("critical")
        if row.needs_attention:
            return self._theme.severity("warning")
        return self._theme.status("UNKNOWN") if row.rank == RANK_UNKNOWN else None

    @staticmethod
    def _compliance_cells(c: Compliance | None) -> list[str]:
        """Locked, Within, Holdover s, Freerun s, Long holdovers: shares of the whole window,
        with the part of it nothing was read for said as unknown; holdovers the step cannot
        tell from long said as unsure."""
        if c is None:
            return ["-"] * 5
        unknown = "" if c.coverage_pct is None or c.coverage_pct >= 100 else (
            f" · {pct_text(100 - c.coverage_pct)} unknown")  # fmt: skip
        long = str(c.long_holdovers) + (
            f" (+{c.unsure_holdovers} unsure at {c.resolution_s:g} s)"
            if c.unsure_holdovers else "")  # fmt: skip
        return [pct_text(c.locked_pct) + unknown, pct_text(c.within_pct),
                f"{c.holdover_s:g}", f"{c.freerun_s:g}", long]  # fmt: skip

    @classmethod
    def _number_keys(cls, row: PtpRow) -> dict[int, float]:
        """What the number columns sort by (their text sorted 1.5e+06 ns between 12 and 3):
        the offset by its size either side of zero; a value not known has none, so sorts
        after every known one."""
        numbers: dict[str, float | None] = {
            "Class": row.clock_class,
            "Offset ns": None if row.offset_ns is None else abs(row.offset_ns),
            "Restarts": row.restarts,
        }
        if (c := row.compliance) is not None:
            numbers |= {"Locked": c.locked_pct, "Within": c.within_pct,
                        "Holdover s": c.holdover_s, "Freerun s": c.freerun_s,
                        "Long holdovers": c.long_holdovers}  # fmt: skip
        return {cls.HEADERS.index(name): n for name, n in numbers.items() if n is not None}

    def show_board(self, board: PtpBoard) -> None:
        """The board; the port chosen before stays chosen (where it is now shown), else
        the first port shown."""
        chosen = self._chosen_key
        self._board = board
        # the chart spans the board's window up to the range's end (the app's now when it
        # follows now): the part of the window without samples is seen empty
        end = (self.time_range.current.end or self.time_range.clock()).timestamp()
        self.chart.set_span(end - board.window.total_seconds(), end)
        _errors(board.outcomes, self.error)
        rows: list[Row] = []
        for row in board.rows:
            c = row.compliance
            # names, role and notes are label values: one cut line each (the Notes' whole
            # text its tooltip)
            notes = "; ".join(row.notes)
            # a port with a role only has no clock state of its own to be UNKNOWN; one no
            # longer reported says so (its last state in its notes, its colour that state's)
            state = "—" if row.port_only else row.state.value
            if isinstance(row, UnreportedPort):
                state = "NOT REPORTED"
            cells = [
                state, cell_line(row.cluster), cell_line(row.node), cell_line(row.iface),
                cell_line(row.process), cell_line(row.role),
                "-" if row.clock_class is None else str(row.clock_class),
                _number(row.offset_ns), *self._compliance_cells(c), _number(row.restarts),
                cell_line(notes),
            ]  # fmt: skip
            tips = {self.HEADERS.index("Offset ns"): _offset_tip(row),
                    **_tips({self.HEADERS.index("Notes"): notes})}  # fmt: skip
            if c is not None and c.resolution_s:
                tips[self.HEADERS.index("Holdover s")] = (
                    f"one sample every {c.resolution_s:g} s: durations known to within that"
                )
            if row.gnss or row.dpll_phase:
                tips[self.HEADERS.index("Role")] = (
                    f"GNSS {row.gnss or '-'}; DPLL phase {row.dpll_phase or '-'}, "
                    f"frequency {row.dpll_frequency or '-'}"
                )
            rows.append(Row(cells, colour=self._row_colour(row), tips=tips,
                            keys=self._number_keys(row)))  # fmt: skip
        self.table.set_rows(rows)
        keys = [_port_key(row) for row in board.rows]
        kept = self.table.select_source(lambda row: keys[row] == chosen)
        if not kept and self.table.rowCount():
            self.table.selectRow(0)  # the worst port's offset (as sorted), at once
        self._on_selection_changed()
        # a port no longer reported needs attention where its last state did; it is said
        # not reported, not among the ports reported or unknown
        reported = [row for row in board.rows if not isinstance(row, UnreportedPort)]
        gone = len(board.rows) - len(reported)
        bad = sum(1 for row in board.rows if row.needs_attention)
        unknown = sum(1 for row in reported if row.rank == RANK_UNKNOWN)
        self.title.setText(
            f"PTP · {len(reported)} ports · {bad} need attention"
            + (f" · {unknown} unknown" if unknown else "")
            + (f" · {gone} not reported" if gone else "")
            + f" · {board.threshold.band}, {self.time_range.current.label}"
        )


def _port_key(row: PtpRow) -> tuple[str, str, str, str]:
    return row.cluster, row.node, row.iface, row.process


def _number(value: float | None, unit: str = "") -> str:
    """A port's value as the board shows it: "-" where not reported, never 0."""
    return "-" if value is None else f"{value:g}{unit}"


def _offset_tip(row: PtpRow) -> str:
    """The band a port's offset is judged against, and its servo's other values as the row
    holds them: the max offset of the daemon's summary window and the mean path delay in ns,
    the frequency adjustment in ppb (ptp4l's servo "freq"; the daemon's metric is named _ns)."""
    band = row.threshold.band + (
        f" (profile {row.threshold.profile})" if row.threshold.profile else " (default)"
    )
    return "\n".join([
        f"judged against {band}",
        f"max offset {_number(row.max_offset_ns, ' ns')}",
        f"path delay {_number(row.delay_ns, ' ns')}",
        f"frequency adjustment {_number(row.freq_adj_ns, ' ppb')}",
    ])  # fmt: skip


class DriftView(TitledPage):
    """Settings that should match and do not: one row per differing value, the most common
    value first (the likely intended one), the outliers highlighted. Where the most common
    values tie (one cluster against one), no side is the intended one: the setting says
    "no majority" and no value is highlighted."""

    HEADERS = ("Kind", "Subject", "Setting", "Value", "Where")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, "Drift", parent)
        self.table = make_table(list(self.HEADERS))
        self.body.addWidget(self.table, 1)
        self.finish()

    def show_drift(self, report: DriftReport) -> None:
        """The drift found, and in the title how many clusters were left out of the
        comparison (which, and why, is said on the error line)."""
        drift = report.drifts
        left = {*report.not_compared, *report.gpu_unread}
        rows = [
            (d, index, value, scopes)
            for d in drift
            for index, (value, scopes) in enumerate(d.values)
        ]
        warn, muted = self._theme.severity("warning"), self._theme.color("text_muted")
        # every row names its setting (an outlier's greyed under the most common value's): a
        # header click sorts rows apart, and a value must never read under another setting
        self.table.set_rows([
            # subjects, settings, values and scopes are the clusters' own text: one cut line
            Row([cell_line(d.kind), cell_line(d.subject),
                 cell_line(d.setting) if d.majority else f"{cell_line(d.setting)} (no majority)",
                 cell_line(value), cell_line(", ".join(scopes))],
                colour=None if index == 0 or not d.majority else warn,
                colours=None if index == 0 else dict.fromkeys((0, 1, 2), muted))
            for d, index, value, scopes in rows
        ])  # fmt: skip
        kinds = sorted({d.kind for d in drift})
        self.title.setText(
            f"Drift · {count(len(drift), 'setting')} "
            f"{'differs' if len(drift) == 1 else 'differ'}"
            + (f" · {count(len(left), 'cluster')} not read" if left else "")
            + (f" · {', '.join(kinds)}" if kinds else "")  # last: the table names them too
        )
