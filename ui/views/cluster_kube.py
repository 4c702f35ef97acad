"""A cluster's Kubernetes page: identity and access ("what I can see"), nodes, pods, events.

One page serves every cluster: the presenter clears it when another cluster is shown (None
for the validation and the inventory), the nodes and pods say when they were read (STALE when
a later read failed), and the events tab says when its watch is not live."""

from __future__ import annotations

import functools
from collections.abc import Hashable
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.kube import EventRow, Inventory, NodeRow, PodRow, ValidationResult
from aiops_desktop.models.text import one_line, time_text
from ui.presenters.kube import ShownInventory, TextRow, card, groups_card, inventory_text, tips
from ui.theme import Theme
from ui.views.rows_table import TIP_CHARS, TIP_LINES, Row, RowsTable, tip_lines, tip_text
from ui.views.text import PlainLabel, tip


@functools.lru_cache(maxsize=4096)
def _stamp(at: datetime | None) -> str:
    """An event's time as the table shows it (the same events are drawn again and again)."""
    return time_text(at, seconds=True) if at else "—"


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
        self.note = PlainLabel()  # a line about the rows (plain text), hidden while empty
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.hide()
        layout.addWidget(self.note)
        self.table = RowsTable(headers)
        self._keys: list[Hashable] = []  # the identity of each row shown (``fill``)
        # rows keep the presenter's order (worst first) until the user clicks a header
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        layout.addWidget(self.table, 1)

    def fill(self, rows: list[Row], unread: str = "", keys: list[Hashable] | None = None) -> None:
        """``unread``: what the table says while it is empty because nothing was read ("Not
        read yet"); "": an empty answer ("Nothing to show · checked 5 s ago"). ``keys``: each
        row's identity (an event's uid, a pod's namespace and name): the rows selected stay
        selected when the table is drawn again (the events once a second, the pods on every
        Refresh), wherever they moved. The rows are set again whatever they are: comparing
        100,000 pods' rows with those shown cost more than setting them."""
        self.table.empty_says_when = not unread
        self.table.empty_text = unread or "Nothing to show"
        kept = {self._keys[s] for s in self.table.selected_sources()} if self._keys else set()
        self._keys = keys or []
        self.table.set_rows(rows)
        if kept and keys:
            self.table.select_sources(lambda s: keys[s] in kept)

    def apply_filter(self, _text: str = "") -> None:
        self.table.set_filter(self.filter.text())

    def visible_rows(self) -> int:
        return self.table.rowCount()


class ClusterKubeView(QWidget):
    """Signals: sig_refresh(), sig_discover(), sig_pod_logs(namespace, pod): a pod was double
    clicked (its logs)."""

    sig_refresh = Signal()
    sig_discover = Signal()
    sig_pod_logs = Signal(str, str)
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
    EVENT_HEADERS = ("Time", "Type", "Reason", "Object", "Count", "Message")
    ACCESS_HEADERS = ("Read", "Allowed", "Needed for")

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._events: list[EventRow] = []  # the newest events (as many as the presenter gives)
        self._warnings: list[EventRow] = []  # the newest warnings, filtered before they were cut
        self._event_total = 0  # events the timeline holds
        self._warning_total = 0  # warnings the timeline holds
        self._events_trouble = ""  # why the events are not live ("" when they are)
        self._events_drawn = False
        self._inventory: Inventory | None = None  # what the nodes and pods tables show
        self._stale = False  # a read after it failed
        self._unread = "Not read yet"  # what the empty nodes and pods tables say ("": read)
        self._nodes: list[NodeRow] = []
        self._pods: list[PodRow] = []
        self._node_rows: list[Row] = []
        self._pod_rows: list[Row] = []  # the inventory's pods as rows, built once per inventory
        self._troubled: list[bool] = []  # which of them have a problem
        self._shown_pods: list[PodRow] = []  # the pods of the pods table, as its rows are
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.status = PlainLabel()
        self.status.setWordWrap(True)
        # the API server's words, cut but possibly one unbreakable run: it wraps where it can
        # and is clipped where it cannot, never widening the page past the window
        self.status.setMinimumWidth(1)
        self.status.setStyleSheet(f"color: {self._theme.color('text_muted')};")
        bar.addWidget(self.status, 1)
        self.read_at = PlainLabel("nodes and pods: not read yet")  # when the inventory was read
        self.read_at.setStyleSheet(f"color: {self._theme.color('text_muted')};")
        bar.addWidget(self.read_at)
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
            label = PlainLabel("—")
            label.setWordWrap(True)
            label.setMinimumWidth(1)  # as the status line
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            form.addRow(f"{key}:", label)
        layout.addWidget(card)

        self.tabs = QTabWidget()
        self.nodes = FilteredTable(list(self.NODE_HEADERS), "filter nodes (name, role, problem)")
        self.pods = FilteredTable(list(self.POD_HEADERS), "filter pods (namespace, name, reason)")
        self.pods.table.setToolTip("Double click a pod for its logs (the Logs page)")
        self.pods.table.cellDoubleClicked.connect(self._on_pod_double_clicked)
        self.problems_only = QCheckBox("Only pods with a problem")
        self.problems_only.toggled.connect(self._show_pods)
        self.pods.bar.addWidget(self.problems_only)
        self.events = FilteredTable(list(self.EVENT_HEADERS), "filter events")
        self.warnings_only = QCheckBox("Warnings only")
        self.warnings_only.toggled.connect(self._show_events)
        self.events.bar.addWidget(self.warnings_only)
        self.events_note = self.events.note  # why the events are not live, or how many shown
        self.access = FilteredTable(list(self.ACCESS_HEADERS), "filter reads")
        self.tabs.addTab(self.nodes, "Nodes")
        self.tabs.addTab(self.pods, "Pods")
        self.tabs.addTab(self.events, "Events")
        self.tabs.addTab(self.access, "What I can see")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        layout.addWidget(self.tabs, 1)

    # -- from the presenter ------------------------------------------------------------------
    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def show_validation(self, result: ValidationResult | None) -> None:
        """Who the credentials are and what they may read; None: not checked (yet) for the
        cluster shown, nothing of another cluster stays."""
        if result is None:
            for label in self.fields.values():
                label.setText("—")
                label.setToolTip("")
            self.fields["Access"].setStyleSheet("")
            self.access.fill([], unread="Not checked yet")
            self._tab_text(3, "What I can see")
            return
        ok = result.outcome is ValidationOutcome.VALID
        colour = self._theme.status("ONLINE") if ok else self._theme.severity("critical")
        access = self.fields["Access"]
        # the reason, version, platform, user and groups are the API server's words: one line
        # each, no control or bidi character, cut (a 100 KB gitVersion made the page 925,525 px
        # wide)
        access.setText(f"{result.outcome.value.upper()} — {card(result.reason)}")
        # the card cuts the reason and the groups: their tooltips hold them whole, bounded
        access.setToolTip(tip(tip_text(one_line(result.reason[: TIP_CHARS + 1]))))
        access.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.fields["API server"].setText(card(result.server or "") or "—")
        version = card(result.version or "") or "—"
        platform = card(result.platform or "")
        self.fields["Version"].setText(f"{version} ({platform})" if platform else version)
        self.fields["User"].setText(card(result.user or "") or "— (not told by this API server)")
        groups = self.fields["Groups"]
        groups.setText(groups_card(result.groups))
        # one group a line, each one line (a group "system:masters\nx" is not two)
        groups.setToolTip(tip(tip_lines([
            f"{len(result.groups)} group{'' if len(result.groups) == 1 else 's'}:",
            *(one_line(g[: TIP_CHARS + 1]) for g in result.groups[:TIP_LINES]),
        ])) if result.groups else "")  # fmt: skip
        denied = sorted(result.permissions, key=lambda p: (p.allowed, not p.essential))
        self.access.fill([
            Row([p.need, "yes" if p.allowed else ("NO (essential)" if p.essential else "no"),
                 p.why],
                colour=None if p.allowed
                else self._theme.severity("critical" if p.essential else "warning"))
            for p in denied
        ])  # fmt: skip
        can = sum(1 for p in result.permissions if p.allowed)
        self.tabs.setTabText(3, f"What I can see ({can}/{len(result.permissions)})")

    def show_inventory(self, inventory: Inventory | None, problem: str = "") -> None:
        """Nodes and pods, and when they were read. ``(None, "")``: not read yet (the tables
        are emptied); ``(None, why)``: they could not be read; ``(inventory, why)``: a later
        read failed, what is shown is stale."""
        stale = inventory is not None and bool(problem)
        unread = "" if inventory is not None else "Not read" if problem else "Not read yet"
        if inventory is not self._inventory or (stale, unread) != (self._stale, self._unread):
            if inventory is not self._inventory:
                self._inventory = inventory
                self._build_rows(inventory)
            self._stale, self._unread = stale, unread
            self._show_nodes()
            self._show_pods()
        muted, warn = self._theme.color("text_muted"), self._theme.severity("warning")
        if inventory is None:
            text = "nodes and pods: not read" if problem else "nodes and pods: not read yet"
        else:
            read = time_text(inventory.taken_at, seconds=True)
            text = f"STALE: nodes and pods read {read}" if stale else f"nodes and pods read {read}"
            if inventory.skipped:  # objects of the wrong shape: left out, not lost unsaid
                text += (f" · {inventory.skipped_nodes} nodes and {inventory.skipped_pods} "
                         "pods not shown (malformed)")  # fmt: skip
            if inventory.nodes_unread:  # an empty Nodes table is not "no node"
                text += " · nodes not read: the credential may not list them"
        self.read_at.setText(text)
        said = f"the last refresh failed: {problem}" if stale else problem
        if inventory is not None and inventory.skipped_reason:
            said = "\n".join(filter(None, (said, f"not shown: {inventory.skipped_reason}")))
        if inventory is not None and inventory.nodes_unread:
            said = "\n".join(filter(None, (said, f"not read: {inventory.nodes_unread}")))
        self.read_at.setToolTip(tip(said))
        self.read_at.setStyleSheet(
            f"color: {warn}; font-weight: bold;" if stale else f"color: {muted};"
        )

    def show_events(
        self,
        events: list[EventRow],
        warnings: list[EventRow] | None = None,
        total: int | None = None,
        warning_total: int | None = None,
        trouble: str = "",
    ) -> None:
        """The newest events, the newest warnings (each cut by the presenter after it was
        filtered), how many of each the timeline holds, and why they are not live ("" when
        they are). Given only ``events``: the warnings and the counts are theirs."""
        self._events = events
        self._warnings = (
            warnings if warnings is not None else [e for e in events if e.type == "Warning"]
        )
        self._event_total = total if total is not None else len(events)
        self._warning_total = warning_total if warning_total is not None else len(self._warnings)
        self._events_trouble = trouble
        self._show_events()

    # -- rendering ----------------------------------------------------------------------------
    def _build_rows(self, inventory: Inventory | None) -> None:
        """The inventory's rows, once: their text was worked out off the UI thread (the
        presenter's ``ShownInventory``), or is here for an inventory given as it is."""
        if inventory is None:
            self._nodes, self._pods, self._troubled = [], [], []
            self._node_rows, self._pod_rows = [], []
            return
        shown = isinstance(inventory, ShownInventory) and inventory.text
        text = shown or inventory_text(inventory)
        colours = {"critical": self._theme.severity("critical"),
                   "warning": self._theme.severity("warning"), "": None}  # fmt: skip
        self._nodes, self._pods = inventory.nodes, inventory.pods
        self._node_rows = self._rows(text.nodes, colours)
        self._pod_rows, self._troubled = self._rows(text.pods, colours), text.troubled

    @staticmethod
    def _rows(text: list[TextRow], colours: dict[str, str | None]) -> list[Row]:
        return [Row(cells, colour=colours[level], tips=tips_, keys=keys)
                for cells, tips_, keys, level in text]  # fmt: skip

    def _show_nodes(self) -> None:
        nodes = self._nodes
        self.nodes.fill(self._node_rows, unread=self._unread, keys=[n.name for n in nodes])
        not_ready = sum(1 for n in nodes if n.ready is False)
        stale = ", stale" if self._stale else ""
        self._tab_text(
            0, f"Nodes ({len(nodes)}, {not_ready} not ready{stale})" if self._inventory else "Nodes"
        )

    def _show_pods(self, _checked: bool = False) -> None:
        """The pods' rows, built once per inventory: the "Only pods with a problem" toggle
        filters them (100,000 pods were seconds of work out again on each toggle)."""
        if self.problems_only.isChecked():
            kept = [i for i, troubled in enumerate(self._troubled) if troubled]
            rows = [self._pod_rows[i] for i in kept]
            self._shown_pods = [self._pods[i] for i in kept]
        else:
            rows, self._shown_pods = self._pod_rows, self._pods
        keys: list[Hashable] = [(p.namespace, p.name) for p in self._shown_pods]
        self.pods.fill(rows, unread=self._unread, keys=keys)
        troubled = sum(self._troubled)
        stale = ", stale" if self._stale else ""
        self._tab_text(
            1,
            f"Pods ({len(self._pods)}, {troubled} with a problem{stale})"
            if self._inventory
            else "Pods",
        )

    def _on_pod_double_clicked(self, row: int, _col: int) -> None:
        # the pod as the API server named it (its cells are made printable)
        pod = self._shown_pods[self.pods.table.source_row(row)]
        self.sig_pod_logs.emit(pod.namespace, pod.name)

    def _show_events(self, _checked: bool = False) -> None:
        """The events tab: drawn while it is in sight (the presenter redraws it at most once a
        second while the watch moves it; a hidden tab is drawn when it is opened), its title
        always, and why they are not live. The counts are the timeline's (all its warnings,
        not those of the newest events only)."""
        trouble = self._events_trouble
        live = ", not live" if trouble else ""
        self._tab_text(2, f"Events ({self._event_total}, {self._warning_total} warnings{live})")
        only = self.warnings_only.isChecked()
        events = self._warnings if only else self._events
        held = self._warning_total if only else self._event_total
        warn = self._theme.severity("warning")
        if trouble:
            note, colour = trouble, f"color: {warn}; font-weight: bold;"
        elif len(events) < held:
            kind = "warnings" if only else "events"
            note, colour = f"the newest {len(events):,} of {held:,} {kind} shown", ""
        else:
            note, colour = "", ""
        self.events_note.setText(note)
        self.events_note.setStyleSheet(colour or f"color: {self._theme.color('text_muted')};")
        self.events_note.setVisible(bool(note))
        # a hidden tab is drawn when opened; emptied at once (another cluster's rows never stay)
        self._events_drawn = self.events.isVisible() or not events
        if not self._events_drawn:
            return
        self.events.fill([
            # an event's words are whatever a tenant that may create events chose: one line,
            # no control or bidi character (the Logs and Traces views' rule)
            Row([_stamp(e.at), one_line(e.type), one_line(e.reason), one_line(e.object),
                 str(e.count), one_line(e.message)],
                colour=warn if e.type == "Warning" else None,
                tips=tips({2: e.reason, 3: e.object, 5: e.message}), keys={4: e.count})
            for e in events
        ], unread="Not live: see above" if trouble else "",
           keys=[e.uid for e in events])  # fmt: skip

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.events and not self._events_drawn:
            self._show_events()

    def _tab_text(self, index: int, text: str) -> None:
        if self.tabs.tabText(index) != text:  # a new title lays the tab bar out again
            self.tabs.setTabText(index, text)
