"""A cluster's Kubernetes page: identity and access ("what I can see"), nodes, pods, events."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.kube import EventRow, Inventory, NodeRow, PodRow, ValidationResult
from ui.theme import Theme
from ui.views.tables import bulk, make_table


def age(at: datetime | None, now: datetime | None = None) -> str:
    if at is None:
        return "—"
    seconds = max(0, int(((now or datetime.now(UTC)) - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class FilteredTable(QWidget):
    """A sortable table with a text filter (rows that do not contain the text are hidden)."""

    def __init__(self, headers: list[str], placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(placeholder)
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.bar.addWidget(self.filter, 1)
        layout.addLayout(self.bar)
        self.table: QTableWidget = make_table(headers)
        # rows keep the presenter's order (worst first) until the user clicks a header
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        layout.addWidget(self.table, 1)

    def fill(self, rows: list[list[str]], colours: list[str | None] | None = None) -> None:
        table = self.table
        table.setSortingEnabled(False)
        with bulk(table):
            table.setRowCount(len(rows))
            for r, cells in enumerate(rows):
                for c, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if colours and colours[r]:
                        item.setForeground(QColor(colours[r]))
                    table.setItem(r, c, item)
        table.setSortingEnabled(True)
        self.apply_filter()

    def apply_filter(self, _text: str = "") -> None:
        needle = self.filter.text().strip().lower()
        for r in range(self.table.rowCount()):
            cells = (self.table.item(r, c) for c in range(self.table.columnCount()))
            line = " ".join(i.text().lower() for i in cells if i is not None)
            self.table.setRowHidden(r, bool(needle) and needle not in line)

    def visible_rows(self) -> int:
        return sum(1 for r in range(self.table.rowCount()) if not self.table.isRowHidden(r))


class ClusterKubeView(QWidget):
    """Signals: sig_refresh(), sig_discover()."""

    sig_refresh = Signal()
    sig_discover = Signal()
    NODE_HEADERS = (
        "Node",
        "Ready",
        "Roles",
        "GPUs",
        "CPU",
        "Memory GiB",
        "Kubelet",
        "Age",
        "Problems",
    )
    POD_HEADERS = ("Namespace", "Pod", "Phase", "Ready", "Restarts", "Node", "Age", "Why")
    EVENT_HEADERS = ("Time (UTC)", "Type", "Reason", "Object", "Count", "Message")
    ACCESS_HEADERS = ("Read", "Allowed", "Needed for")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._events: list[EventRow] = []
        self._pods: list[PodRow] = []
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {self._theme.color('text_muted')};")
        bar.addWidget(self.status, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.sig_refresh)
        bar.addWidget(self.refresh_button)
        self.discover_button = QPushButton("Discover")
        self.discover_button.setToolTip("Find endpoints, operators and CNF workloads again")
        self.discover_button.clicked.connect(self.sig_discover)
        bar.addWidget(self.discover_button)
        layout.addLayout(bar)

        card = QFrame()
        card.setProperty("card", True)
        form = QFormLayout(card)
        self.fields: dict[str, QLabel] = {}
        for key in ("Access", "API server", "Version", "User", "Groups"):
            label = QLabel("—")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            form.addRow(f"{key}:", label)
        layout.addWidget(card)

        self.tabs = QTabWidget()
        self.nodes = FilteredTable(list(self.NODE_HEADERS), "filter nodes (name, role, problem)")
        self.pods = FilteredTable(list(self.POD_HEADERS), "filter pods (namespace, name, reason)")
        self.problems_only = QCheckBox("Only pods with a problem")
        self.problems_only.toggled.connect(self._show_pods)
        self.pods.bar.addWidget(self.problems_only)
        self.events = FilteredTable(list(self.EVENT_HEADERS), "filter events")
        self.warnings_only = QCheckBox("Warnings only")
        self.warnings_only.toggled.connect(self._show_events)
        self.events.bar.addWidget(self.warnings_only)
        self.access = FilteredTable(list(self.ACCESS_HEADERS), "filter reads")
        self.tabs.addTab(self.nodes, "Nodes")
        self.tabs.addTab(self.pods, "Pods")
        self.tabs.addTab(self.events, "Events")
        self.tabs.addTab(self.access, "What I can see")
        layout.addWidget(self.tabs, 1)

    # -- from the presenter ------------------------------------------------------------------
    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def show_validation(self, result: ValidationResult) -> None:
        ok = result.outcome is ValidationOutcome.VALID
        colour = self._theme.status("ONLINE") if ok else self._theme.severity("critical")
        access = self.fields["Access"]
        access.setText(f"{result.outcome.value.upper()} — {result.reason}")
        access.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.fields["API server"].setText(result.server or "—")
        version = result.version or "—"
        self.fields["Version"].setText(
            f"{version} ({result.platform})" if result.platform else version
        )
        self.fields["User"].setText(result.user or "— (not told by this API server)")
        self.fields["Groups"].setText(", ".join(result.groups) or "—")
        denied = sorted(result.permissions, key=lambda p: (p.allowed, not p.essential))
        rows = [
            [p.need, "yes" if p.allowed else ("NO (essential)" if p.essential else "no"), p.why]
            for p in denied
        ]
        colours: list[str | None] = [
            None if p.allowed else self._theme.severity("critical" if p.essential else "warning")
            for p in denied
        ]
        self.access.fill(rows, colours)
        can = sum(1 for p in result.permissions if p.allowed)
        self.tabs.setTabText(3, f"What I can see ({can}/{len(result.permissions)})")

    def show_inventory(self, inventory: Inventory) -> None:
        self._show_nodes(inventory.nodes)
        self._pods = inventory.pods
        self._show_pods()

    def show_events(self, events: list[EventRow]) -> None:
        self._events = events
        self._show_events()

    # -- rendering ----------------------------------------------------------------------------
    def _show_nodes(self, nodes: list[NodeRow]) -> None:
        rows = [
            [
                n.name,
                {True: "Ready", False: "NotReady", None: "Unknown"}[n.ready],
                ", ".join(n.roles),
                str(n.gpus) if n.gpus else "",
                n.cpu,
                f"{n.memory_gib:.1f}",
                n.kubelet,
                age(n.created),
                "; ".join(n.problems),
            ]
            for n in nodes
        ]
        bad = self._theme.severity("critical")
        self.nodes.fill(rows, [bad if n.ready is False or n.problems else None for n in nodes])
        not_ready = sum(1 for n in nodes if n.ready is False)
        self.tabs.setTabText(0, f"Nodes ({len(nodes)}, {not_ready} not ready)")

    def _show_pods(self, _checked: bool = False) -> None:
        pods = [p for p in self._pods if p.reason or not self.problems_only.isChecked()]
        rows = [
            [
                p.namespace,
                p.name,
                p.phase,
                p.ready,
                str(p.restarts),
                p.node,
                age(p.created),
                p.reason,
            ]
            for p in pods
        ]
        colours = [
            self._theme.severity("critical")
            if p.crash_looping
            else self._theme.severity("warning")
            if p.reason
            else None
            for p in pods
        ]
        self.pods.fill(rows, colours)
        troubled = sum(1 for p in self._pods if p.reason)
        self.tabs.setTabText(1, f"Pods ({len(self._pods)}, {troubled} with a problem)")

    def _show_events(self, _checked: bool = False) -> None:
        events = [
            e for e in self._events if e.type == "Warning" or not self.warnings_only.isChecked()
        ]
        rows = [
            [
                e.at.strftime("%Y-%m-%d %H:%M:%S") if e.at else "—",
                e.type,
                e.reason,
                e.object,
                str(e.count),
                e.message,
            ]
            for e in events
        ]
        warn = self._theme.severity("warning")
        self.events.fill(rows, [warn if e.type == "Warning" else None for e in events])
        warnings = sum(1 for e in self._events if e.type == "Warning")
        self.tabs.setTabText(2, f"Events ({len(self._events)}, {warnings} warnings)")
