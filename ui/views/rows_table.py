"""The one table of the app: rows handed over whole, drawn on demand.

A ``QTableWidget`` holds an item object per cell: filling 20,000 pods made 160,000 of them
(seconds on the UI thread, 100 MB), and a ResizeToContents column re-measured every row per
cell set. ``RowsTable`` is a ``QTableView`` over a model that keeps the rows as plain tuples;
Qt asks only for the cells in sight. Sorting (by the text, or by a row's sort keys) and the
text filter are done by the model in Python over the whole list. For views and tests it keeps
the few ``QTableWidget`` words they use: ``rowCount``, ``columnCount``, ``item(r, c)`` (a
read-only ``Cell``), ``selectedItems``, ``visualItemRect`` and the ``cellClicked`` /
``cellDoubleClicked`` / ``itemSelectionChanged`` signals, in view (sorted, filtered)
coordinates.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QMenu,
    QMessageBox,
    QTableView,
    QWidget,
)

from aiops_desktop.files import write_whole
from aiops_desktop.logs import redact
from aiops_desktop.models.text import age_text, cut
from ui.theme import StatusKeepingDelegate, colour_mark, state_badge, state_mark
from ui.views.text import tip

AnyIndex = QModelIndex | QPersistentModelIndex
LONG_CELL = 24  # a cell longer than this shows its whole text as its tooltip
#: a tooltip shows this much of its text at most, and this many lines, then "…": a cell holds
#: a server's words (a 100 KB event message made a tip 18,838 px tall, half a second to show)
TIP_CHARS = 3000
CELL_END = "$"  # a filter that ends with it matches a cell's end (``RowsModel.set_needle``)
CELL_START = "^"  # and one that starts with it, a cell's start
TIP_LINES = 40
ROLE = Qt.ItemDataRole
RAW_TIP = ROLE.UserRole + 1  # a cell's tooltip as given (ToolTipRole has it escaped for Qt)
#: the dynamic property a window sets to whether its role may export (``Action.EXPORT_CAPTURE``,
#: the sanctioned export's right): every table under it, on any page or dialog, built now or
#: later, offers and writes its CSV only where it is true (``RowsTable.may_export``)
EXPORTS = "tablesExport"
_ROLES = frozenset({ROLE.DisplayRole, ROLE.ForegroundRole, ROLE.BackgroundRole, ROLE.ToolTipRole,
                    RAW_TIP, ROLE.TextAlignmentRole, ROLE.DecorationRole})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    """One row: its cells' text; the text colour of the row (``colour``) or of some cells
    (``colours``, by column), cell backgrounds and tooltips by column; ``center`` aligns the
    cells to the middle; ``keys``: per column, what sorting compares instead of the text."""

    cells: Sequence[str]
    colour: str | None = None
    colours: Mapping[int, str] | None = None
    backgrounds: Mapping[int, str] | None = None
    tips: Mapping[int, str] | None = None
    center: bool = False
    keys: Mapping[int, Any] | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell as ``QTableWidget.item`` gave it, read-only."""

    row_: int
    column_: int
    text_: str
    tip: str

    def text(self) -> str:
        return self.text_

    def toolTip(self) -> str:
        return self.tip

    def row(self) -> int:
        return self.row_

    def column(self) -> int:
        return self.column_


def _sort_key(column: int) -> Callable[[Row], tuple[int, Any]]:
    """What sorting compares for ``column``: the row's key there (numbers before text), else
    its text."""

    def key(row: Row) -> tuple[int, Any]:
        value = (row.keys or {}).get(column)
        if value is None:
            return (1, row.cells[column] if column < len(row.cells) else "")
        return (0, value) if isinstance(value, int | float) else (1, str(value))

    return key


def tip_text(text: str) -> str:
    """A tooltip's text, TIP_CHARS and TIP_LINES at most, "…" where it was cut (every tooltip
    of outside text: a table's, a label's)."""
    lines = text[:TIP_CHARS].split("\n", TIP_LINES)
    kept = "\n".join(lines[:TIP_LINES])
    more = len(lines) > TIP_LINES and lines[TIP_LINES]  # text after the last line kept
    return kept + "…" if more or len(text) > TIP_CHARS else kept


def tip_lines(texts: Iterable[str]) -> str:
    """``texts`` as a tooltip's lines, fitted to TIP_CHARS by cutting the longest ones alike
    ("…" where cut): cut as one text, a tip's first long lines hid all after them (an RCA
    cause's quoted log lines, its failing traces). TIP_LINES lines at most, the last "…" where
    there were more."""
    lines: list[str] = []
    for text in texts:
        lines += text[: TIP_CHARS + 1].split("\n")  # longer than any line's most: cut, marked
        if len(lines) > TIP_LINES:
            lines[TIP_LINES - 1 :] = ["…"]
            break
    room = TIP_CHARS - max(len(lines) - 1, 0)  # less the line breaks
    most = max(room, 1)  # each line's most: the longest are cut to one length, all fit
    for shorter, size in enumerate(sorted(map(len, lines))):
        share = room // (len(lines) - shorter)
        if size > share:
            most = max(share, 2)
            break
        room -= size
    return "\n".join(cut(line, most) for line in lines)


class RowsModel(QAbstractTableModel):
    """The rows, and the order they are shown in: filtered by a needle and sorted by a column,
    both in Python over the whole list (a proxy model would call ``data`` per comparison:
    seconds for 20,000 rows)."""

    def __init__(self, headers: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._headers = list(headers)
        self._row_headers: list[str] | None = None
        self._rows: list[Row] = []
        self._shown: list[int] = []  # the rows shown, as indexes into _rows, in order
        self._texts: list[str] | None = None  # each row's cells, lowered: the filter's haystack
        self._needle = ""
        self._needles: tuple[str, ...] = ()  # what a row's text holds to be shown, any of them
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._colours: dict[str, QColor] = {}

    # -- filling, filtering, sorting ---------------------------------------------------------
    def set_rows(
        self,
        rows: Sequence[Row],
        headers: Sequence[str] | None = None,
        row_headers: Sequence[str] | None = None,
    ) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._texts = None
        if headers is not None:
            self._headers = list(headers)
        self._row_headers = list(row_headers) if row_headers is not None else None
        self._shown = self._order()
        self.endResetModel()

    def same_rows(self, rows: Sequence[Row]) -> bool:
        """Whether ``set_rows(rows)`` would show what is shown."""
        return self._row_headers is None and list(rows) == self._rows

    def set_needle(self, needle: str) -> None:
        """Blanks around it are a typing slip, not part of it; a "$" that ends it is a cell's
        end and a "^" that starts it a cell's start (as in grep), so "gpu1$" shows gpu1 and not
        gpu10 (the command palette filters so): every row's text begins and ends with a
        blank, as each of its cells does (a blank inside a cell bounds a word alike). A row
        that holds the characters themselves is shown too: a shell prompt's "sh-4.4$" in a log
        line, a price's "5$"."""
        needle = needle.strip().lower()
        anchored = needle
        if anchored.startswith(CELL_START):
            anchored = " " + anchored[len(CELL_START) :]
        if anchored.endswith(CELL_END):
            anchored = anchored[: -len(CELL_END)] + " "
        needles = (needle, anchored) if anchored != needle and anchored.strip() else (needle,)
        if needle != self._needle:
            self.beginResetModel()
            self._needle, self._needles = needle, needles if needle else ()
            self._shown = self._order()
            self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Qt's word for a header click; column -1: the order ``set_rows`` gave."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        sources = [self._shown[i.row()] for i in before]
        self._sort_column, self._sort_order = column, order
        self._shown = self._order()
        where = {source: r for r, source in enumerate(self._shown)}
        self.changePersistentIndexList(
            before, [self.index(where[s], i.column()) for s, i in zip(sources, before, strict=True)]
        )
        self.layoutChanged.emit()

    def _order(self) -> list[int]:
        shown = range(len(self._rows))
        if self._needles:
            if self._texts is None:
                self._texts = [f" {' '.join(r.cells).lower()} " for r in self._rows]
            texts, needles = self._texts, self._needles
            shown = [i for i in shown if any(n in texts[i] for n in needles)]  # type: ignore[assignment]
        if self._sort_column < 0:
            return list(shown)
        key = _sort_key(self._sort_column)
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        return sorted(shown, key=lambda i: key(self._rows[i]), reverse=descending)

    def row(self, source_row: int) -> Row:
        return self._rows[source_row]

    def total_rows(self) -> int:
        """Every row given, the filter's hidden ones too."""
        return len(self._rows)

    @property
    def needle(self) -> str:
        return self._needle

    def source_row(self, row: int) -> int:
        return self._shown[row]

    def shown_sources(self) -> Sequence[int]:
        """Each row shown, in order, as its row in ``set_rows``' order."""
        return self._shown

    def _colour(self, name: str) -> QColor:
        colour = self._colours.get(name)
        if colour is None:
            colour = self._colours[name] = QColor(name)
        return colour

    # -- the model ------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role != ROLE.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._headers[section] if section < len(self._headers) else None
        if self._row_headers is not None and section < len(self._shown):
            source = self._shown[section]
            return self._row_headers[source] if source < len(self._row_headers) else None
        return None

    def data(self, index: AnyIndex, role: int = 0) -> Any:
        # a painted cell is asked for a dozen roles; most have nothing here: answer those first
        if role not in _ROLES or not index.isValid():
            return None
        row, col = self._rows[self._shown[index.row()]], index.column()
        text = row.cells[col] if col < len(row.cells) else ""
        if role == ROLE.DisplayRole:
            return text
        if role == ROLE.DecorationRole:  # a state's word gets its colour's shape too
            colour = (row.colours or {}).get(col) or row.colour
            mark = colour_mark(colour) if colour and state_mark(text) else ""
            return state_badge(colour, mark) if mark and colour else None
        if role == ROLE.ForegroundRole:
            name = (row.colours or {}).get(col) or row.colour
        elif role == ROLE.BackgroundRole:
            name = (row.backgrounds or {}).get(col)
        else:
            return self._other(row, col, role, text)
        return self._colour(name) if name else None

    @staticmethod
    def _other(row: Row, col: int, role: int, text: str) -> Any:
        if role == ROLE.ToolTipRole:  # its own tip, else a long cell's whole text (a narrow
            given = (row.tips or {}).get(col)  # column ends it in "…")
            return tip(tip_text(given or (text if len(text) > LONG_CELL else ""))) or None
        if role == RAW_TIP:
            return (row.tips or {}).get(col)
        if role == ROLE.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter if row.center else None
        return None


def defused(text: str) -> str:
    """A cell that a spreadsheet would run as a formula (=, +, -, @, a tab or a carriage
    return first: a pod name or a label can be made so) starts with an apostrophe (OWASP's
    CSV injection rule)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(rows: Iterable[Sequence[str]]) -> str:
    """Rows as CSV (the csv module's quoting, CRLF), every cell defused."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([defused(c) for c in r] for r in rows)
    return out.getvalue()


def csv_cell(text: str) -> str:
    """One cell as CSV writes it."""
    return csv_lines([[text]]).removesuffix("\r\n")


class RowsTable(QTableView):
    """Every table of the app: sortable by a header click (a second click reverses; the order
    the view gave is the start), filtered with ``set_filter``, and a context menu (also
    Ctrl+C) to copy the selected rows or the cell, or export the rows shown as CSV (redacted,
    where the role may export: ``may_export``).

    Signals: cellClicked(row, col), cellDoubleClicked(row, col), itemSelectionChanged()."""

    cellClicked = Signal(int, int)  # noqa: N815 (QTableWidget's names)
    cellDoubleClicked = Signal(int, int)  # noqa: N815
    itemSelectionChanged = Signal()  # noqa: N815
    FIT_ROWS = 50  # columns are fitted to the text of (at most) this many rows (200: 70 ms a fit)

    CELL_PADDING = 24  # a cell's margins and the sort arrow's room, in pixels

    def __init__(self, headers: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows_model = RowsModel(headers, self)
        self.setModel(self.rows_model)
        self._fitted: tuple[tuple[str, ...], int] = ((), 0)  # headers and rows fitted to
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        # fitted in set_rows, not re-measured on every reset (ResizeToContents would be)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setResizeContentsPrecision(self.FIT_ROWS)
        # the header draws a column whose every row is selected as selected, asking the model
        # each row's flags through Python on every repaint (100,000 rows selected: 5 s, after
        # Ctrl+A and after each Refresh): a table that selects rows shows none, so the header
        # is given a selection of its own, always empty
        header.setSelectionModel(QItemSelectionModel(self.rows_model, header))
        self.clicked.connect(lambda i: self.cellClicked.emit(i.row(), i.column()))
        self.doubleClicked.connect(lambda i: self.cellDoubleClicked.emit(i.row(), i.column()))
        self.selectionModel().selectionChanged.connect(lambda *_: self.itemSelectionChanged.emit())
        self.setItemDelegate(StatusKeepingDelegate(self))  # a selected row keeps its red
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the view's own order first
        # headers sit over their data (left), however wide the last column stretches
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        #: what an empty table says ("Nothing firing"); it adds when it was last filled
        self.empty_text = "Nothing to show"
        self.empty_says_when = True  # False: a table filled by a choice, not by reading
        #: column -> the longest text it can hold, fitted to whatever rows it shows first (a
        #: state column first filled with OPEN cut ACKNOWLEDGED later, as it keeps its width)
        self.widest: dict[int, str] = {}
        self._filled_at: float | None = None
        self._empty_timer = QTimer(self)
        self._empty_timer.setInterval(5000)
        self._empty_timer.timeout.connect(self.viewport().update)
        self.setSortingEnabled(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu)
        copy = QShortcut(QKeySequence.StandardKey.Copy, self)
        copy.setContext(Qt.ShortcutContext.WidgetShortcut)
        copy.activated.connect(self.copy_selection)

    # -- an empty table says so ---------------------------------------------------------------
    def empty_message(self) -> str:
        """ "Nothing firing · checked 10 s ago"; "No row matches “x”" under a filter; until the
        first answer, "Not read yet"."""
        if self.rows_model.rowCount() == 0 and self.rows_model.total_rows():
            return f"No row matches “{self.rows_model.needle}”"
        if not self.empty_says_when:
            return self.empty_text
        if self._filled_at is None:
            return "Not read yet"
        return f"{self.empty_text} · checked {age_text(time.monotonic() - self._filled_at)}"

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.rows_model.rowCount():
            self._empty_timer.stop()
            return
        if not self._empty_timer.isActive():
            self._empty_timer.start()
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        area = self.viewport().rect().adjusted(12, 12, -12, -12)
        painter.drawText(area, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         self.empty_message())  # fmt: skip
        painter.end()

    # -- copy and export ---------------------------------------------------------------------
    def headers(self) -> list[str]:
        return [str(self.rows_model.headerData(c, Qt.Orientation.Horizontal, ROLE.DisplayRole))
                for c in range(self.columnCount())]  # fmt: skip

    def _row_texts(self, row: int) -> list[str]:
        return [str(self.rows_model.index(row, c).data() or "") for c in range(self.columnCount())]

    def selected_rows(self) -> list[int]:
        # read from the selection's ranges, not its indexes: every row of 100,000 pods
        # selected is 800,000 indexes
        rows: set[int] = set()
        selection = self.selectionModel().selection()
        for part in map(selection.at, range(selection.count())):
            rows.update(range(part.top(), part.bottom() + 1))
        return sorted(rows)

    def selection_text(self) -> str:
        """The selected rows as the table shows them, tab-separated, one per line."""
        return "\n".join("\t".join(self._row_texts(r)) for r in self.selected_rows())

    def copy_selection(self) -> None:
        text = self.selection_text()
        if text:
            QGuiApplication.clipboard().setText(text)

    def csv_text(self) -> str:
        """The rows shown (sorted and filtered as they are), with the headers, every cell
        redacted as a capture redacts a stored text (``logs.redact``, cell by cell: a token
        in an alert's summary, a password in a URL); the table shows them as they are. A text
        repeated down a column (a namespace, a state) is redacted once."""
        done: dict[str, str] = {}

        def clean(texts: list[str]) -> list[str]:
            return [done[t] if t in done else done.setdefault(t, redact(t)) for t in texts]

        rows = (clean(self._row_texts(r)) for r in range(self.rowCount()))
        return csv_lines([clean(self.headers()), *rows])

    def may_export(self) -> bool:
        """Whether the role this table is shown to may export it: the ``EXPORTS`` property of
        the nearest widget above it (the window sets it from its role; a viewer, the wall
        display, may not). A table under no window that says (one built alone) may."""
        widget: QWidget | None = self
        while widget is not None:
            said = widget.property(EXPORTS)
            if said is not None:
                return bool(said)
            widget = widget.parentWidget()
        return True

    def export_csv_dialog(self) -> QFileDialog:
        dialog = QFileDialog(self, "Export table as CSV", "table.csv", "CSV (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_csv)
        dialog.open()
        return dialog

    def export_csv(self, path: str) -> QMessageBox | None:
        """Written whole or not at all (``write_whole``: a full disk leaves the file as it
        was; a table holds at most a few MB of text), a lone surrogate from a server's JSON
        as "?". A path that cannot be written is said in a box naming it and why: raised out
        of the dialog's slot, the error showed nothing and the table looked saved."""
        if not self.may_export():  # not offered; refused all the same, as the service does
            return self._say_not_written(path, "the role in use reads only and may not export")
        text = self.csv_text()
        try:
            write_whole(  # into where a link the person chose points (replaced, it was gone)
                Path(os.path.realpath(path)),
                lambda part: part.write_text(text, encoding="utf-8", errors="replace", newline=""),
            )
        except OSError as error:
            return self._say_not_written(path, str(error.strerror or error))
        return None

    def _say_not_written(self, path: str, why: str) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Export table as CSV",
            f"{path} was not written: {why}",
            parent=self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _on_context_menu(self, pos: QPoint) -> None:
        self.context_menu(self.indexAt(pos)).popup(self.viewport().mapToGlobal(pos))

    def context_menu(self, at: QModelIndex) -> QMenu:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        rows = self.selected_rows()
        copy_rows = menu.addAction(f"Copy {'row' if len(rows) <= 1 else f'{len(rows)} rows'}")
        copy_rows.setEnabled(bool(rows))
        copy_rows.triggered.connect(self.copy_selection)
        cell = str(at.data() or "") if at.isValid() else ""
        copy_cell = menu.addAction("Copy cell")
        copy_cell.setEnabled(bool(cell))
        copy_cell.triggered.connect(lambda: QGuiApplication.clipboard().setText(cell))
        if self.may_export():  # a viewer (the wall display) exports nothing, as with captures
            menu.addSeparator()
            export = menu.addAction(f"Export {self.rowCount()} rows as CSV…")
            export.triggered.connect(self.export_csv_dialog)
        return menu

    # -- filling and finding ---------------------------------------------------------------
    def set_rows(
        self,
        rows: Sequence[Row],
        headers: Sequence[str] | None = None,
        row_headers: Sequence[str] | None = None,
    ) -> None:
        """Show ``rows``. The columns are fitted to their text when the headers change and while
        the table has fewer rows than it was fitted to (up to FIT_ROWS): a table that grew is
        refitted, a big one that refreshes keeps its widths (and the user's)."""
        self.rows_model.set_rows(rows, headers, row_headers)
        self._filled_at = time.monotonic()
        names = tuple(self.rows_model.headerData(c, Qt.Orientation.Horizontal, ROLE.DisplayRole)
                      for c in range(self.rows_model.columnCount()))  # fmt: skip
        sample = min(len(rows), self.FIT_ROWS)
        if names != self._fitted[0] or sample > self._fitted[1]:
            self._fitted = (names, sample)
            self.resizeColumnsToContents()
            for column, text in self.widest.items():
                wanted = self.fontMetrics().horizontalAdvance(text) + self.CELL_PADDING
                self.setColumnWidth(column, max(self.columnWidth(column), wanted))

    def set_rows_if_changed(self, rows: Sequence[Row]) -> bool:
        """``set_rows`` unless ``rows`` are those shown (a page re-sent every second): a reset
        clears the selection without a selection signal, so a button would act on nothing.
        An empty table still says it was checked now. True where the rows were set."""
        if self._filled_at is not None and self.rows_model.same_rows(rows):
            self._filled_at = time.monotonic()
            self.viewport().update()
            return False
        self.set_rows(rows)
        return True

    def set_filter(self, text: str) -> None:
        """Show only the rows whose text contains ``text`` (any case); "" shows all."""
        self.rows_model.set_needle(text)

    def source_row(self, row: int) -> int:
        """The row in the order ``set_rows`` gave, of a row as shown (sorted, filtered)."""
        return self.rows_model.source_row(row)

    def selected_sources(self) -> list[int]:
        """The selected rows, in ``set_rows``' order."""
        shown = self.rows_model.shown_sources()
        return [shown[r] for r in self.selected_rows()]

    def select_sources(self, matches: Callable[[int], bool]) -> bool:
        """Select every row shown whose row in ``set_rows``' order ``matches`` (rows kept by
        their identity across a refresh); False where none is shown."""
        flags = QItemSelectionModel.SelectionFlag
        model = self.rows_model
        # the shown rows' sources read at once, not a method call per row (100,000 pods)
        hits = [shown for shown, source in enumerate(model.shown_sources()) if matches(source)]
        if not hits:
            return False
        # one range per run of rows shown together, not per row: a selection of a range per
        # row is merged range by range (Ctrl+A on 100,000 pods, then Refresh: 191 s)
        chosen = QItemSelection()
        start = hits[0]
        for before, row in itertools.pairwise([*hits, -1]):
            if row != before + 1:
                chosen.select(model.index(start, 0), model.index(before, 0))
                start = row
        self.selectionModel().select(chosen, flags.ClearAndSelect | flags.Rows)
        self.selectionModel().setCurrentIndex(model.index(hits[0], 0), flags.NoUpdate)
        return True

    def select_source(self, matches: Callable[[int], bool]) -> bool:
        """Select the first row shown whose row in ``set_rows``' order ``matches`` (a row kept
        by its identity across a refresh, wherever sorting or filtering put it); False where
        none is shown."""
        for shown in range(self.rowCount()):
            if matches(self.source_row(shown)):
                self.selectRow(shown)
                return True
        return False

    # -- QTableWidget's words --------------------------------------------------------------
    def rowCount(self) -> int:
        return self.rows_model.rowCount()

    def columnCount(self) -> int:
        return self.rows_model.columnCount()

    def item(self, row: int, column: int) -> Cell | None:
        index = self.rows_model.index(row, column)
        if not index.isValid():
            return None
        return Cell(row, column, str(index.data() or ""), str(index.data(RAW_TIP) or ""))

    def verticalHeaderItem(self, row: int) -> Cell | None:
        text = self.rows_model.headerData(row, Qt.Orientation.Vertical, ROLE.DisplayRole)
        return None if text is None else Cell(row, -1, str(text), "")

    def selectedItems(self) -> list[Cell]:
        cells = [self.item(i.row(), i.column()) for i in self.selectionModel().selectedIndexes()]
        return [c for c in cells if c is not None]

    def visualItemRect(self, cell: Cell) -> QRect:
        return self.visualRect(self.rows_model.index(cell.row(), cell.column()))
