"""What the main window does by keyboard and menu: File, View, Settings and Help menus;
Ctrl+1…9 for the first nine pages; Ctrl+K, a command palette over pages, actions, clusters,
nodes, pods, GPUs, PTP ports, alerts and incidents the window knows; "/" filters the tables of
the page shown (Esc clears); F1 the shortcut sheet. A capture's window offers nothing that
changes the registry (no Import kubeconfig, Add cluster or Remove)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QLineEdit, QMenu, QMessageBox, QWidget

from aiops_desktop import __version__
from aiops_desktop.models.fleet import Domain
from aiops_desktop.services.fleet.findings import alert_identity
from aiops_desktop.services.runtime.access import Action
from ui.pages import PAGES
from ui.views.command_palette import Command, CommandPalette
from ui.views.rows_table import CELL_END, CELL_START, RowsTable

if TYPE_CHECKING:
    from aiops_desktop.models.alerts import AlertGroup
    from aiops_desktop.models.fleet import Finding
    from aiops_desktop.models.gpu import GpuFleet
    from aiops_desktop.models.incidents import Incident
    from ui.main_window import MainWindow

#: (keys, what they do) for the shortcut sheet; the menus' own shortcuts are added to it
FIXED_KEYS = (
    ("Ctrl+K", "Command palette: go to a page, cluster, node, pod, GPU, alert or incident"),
    ("/", "Filter the tables of the page shown"),
    ("Esc", "Clear the filter"),
    ("Ctrl+C", "Copy the selected table rows (right-click: copy a cell, export CSV)"),
    ("F1", "This sheet"),
)
#: where a finding's domain is shown
DOMAIN_PAGE = {"GPU": "gpu", "PTP": "ptp", "SR-IOV": "sriov", "anomalies": "anomalies",
               "alerts": "alerts", "Kubernetes": "fleet"}  # fmt: skip


def finding_needle(cluster: str, finding: Finding) -> str:
    """What the rows of a finding's page hold for it, its cluster included, to filter the page
    by (a row stays whose cells, joined by spaces, contain it): two clusters may each have a
    node gpu-1 or du-4, and the node's name alone shows both. Each ends at a cell's end
    (CELL_END, ``RowsModel.set_needle``): gpu1 is not gpu10, nor MIG 1 MIG 11, nor
    worker-1 worker-10. A GPU's key in the problems table (cluster/node/gpuN, /migM for a MIG
    instance); a PTP port's cluster, node, interface and process cells (an interface empty
    where a process is down with no port: its cell is empty, not left out); an SR-IOV node's
    cluster and node cells. An anomaly's row has its cluster apart from its panel: the panel
    (the rows say their cluster). Nothing for the fleet's page (it has no rows); an alert's
    is its group's row (``group_needle``)."""
    subject = finding.subject
    if finding.domain is Domain.GPU:  # "node/gpuN" or "node/gpuN MIG m"
        return f"{cluster}/{subject.replace(' MIG ', '/mig')}{CELL_END}"
    if finding.domain is Domain.PTP:  # "node/iface" or "node/iface (process)"
        node, _, port = subject.partition("/")
        iface, _, process = port.partition(" (")
        process = process.removesuffix(")")
        return " ".join([cluster, node, iface, *([process] if process else [])]) + CELL_END
    if finding.domain is Domain.SRIOV:  # "node name"
        return f"{cluster} {subject.removeprefix('node ')}{CELL_END}"
    return subject if finding.domain is Domain.ANOMALIES else ""


def group_needle(group: AlertGroup) -> str:
    """An alert group's key and clusters cells as the Alerts page writes them, from the key's
    cell's start (CELL_START) to the clusters' cell's end: its key alone is part of other
    keys (TargetDown of NodeExporterTargetDown), and one cluster's name of another's (ran-west
    of ran-west-2). Not its severity nor its alert count: the page is redrawn every second,
    and one more alert, or a critical one, emptied it."""
    return f"{CELL_START}{group.key} {len(group.clusters)}: {', '.join(group.clusters)}{CELL_END}"


class WindowCommands(QObject):
    def __init__(self, window: MainWindow, filter_bar: QLineEdit) -> None:
        super().__init__(window)
        self.window = window
        self.filter_bar = filter_bar
        #: (action, its keys, what it does) for the sheet, in menu order
        self._keyed: list[tuple[QAction, str, str]] = []
        self.menus: list[QMenu] = []  # File, View, Settings, Help: what the palette offers
        self._filtered: QWidget | None = None  # the page whose tables the filter hides rows of
        self._gpus: GpuFleet | None = None
        self._incidents: list[Incident] = []
        p = window.presenters
        p.gpu.sig_fleet.connect(self._keep_gpus)
        p.incidents.sig_rows.connect(self._keep_incidents)
        filter_bar.setPlaceholderText(
            "Filter this page's tables (/ to start, Esc to clear; a ^ first or a $ last: a "
            "cell's start or end)"
        )
        filter_bar.setClearButtonEnabled(True)
        filter_bar.setVisible(False)
        filter_bar.textChanged.connect(self.apply_filter)
        self._menus()
        # whatever shows another page (the list, a key, the palette, a cluster or a link)
        window.stack.currentChanged.connect(self.page_changed)
        self._shortcut("/", self.start_filter)
        self._shortcut("Esc", self.clear_filter)
        self._shortcut("F1", self.show_shortcuts)

    def _keep_gpus(self, fleet: GpuFleet) -> None:
        self._gpus = fleet

    def _keep_incidents(self, rows: list[Incident]) -> None:
        self._incidents = list(rows)

    # -- menus ------------------------------------------------------------------------------
    def _action(self, menu: QMenu, text: str, keys: str | QKeySequence.StandardKey | None,
                slot: Callable[[], object]) -> QAction:  # fmt: skip
        action = QAction(text, self.window)
        if keys is not None:
            sequence = QKeySequence(keys)
            action.setShortcut(sequence)
            shown = sequence.toString(QKeySequence.SequenceFormat.NativeText)
            if shown:
                self._keyed.append((action, shown, text.replace("&", "").rstrip("…")))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _menus(self) -> None:
        w, bar = self.window, self.window.menuBar()
        file = bar.addMenu("&File")
        self.menus.append(file)
        self.import_action = self._action(file, "&Import kubeconfig…", "Ctrl+I",
                                          w.open_import_dialog)  # fmt: skip
        self.add_action = self._action(file, "&Add cluster…", "Ctrl+N", w.open_add_dialog)
        manage = w.presenters.registry.allows(Action.MANAGE_CLUSTERS)
        for action in (self.import_action, self.add_action):
            action.setVisible(manage)  # a capture's registry never changes; only an admin's
        self.report_action = self._action(file, "New &report…", "Ctrl+R", w.open_report_dialog)
        self.report_action.setVisible(w.presenters.registry.allows(Action.WRITE_REPORTS))
        self.export_capture_action = self._action(file, "&Export capture…", "Ctrl+E",
                                                  w.open_capture_export_dialog)  # fmt: skip
        self.offer_capture_export()
        self._action(file, "&Open capture…", "Ctrl+O", w.open_capture_dialog)
        file.addSeparator()
        self._action(file, "&Quit", QKeySequence.StandardKey.Quit, w.close)
        view = bar.addMenu("&View")
        self.menus.append(view)
        self._action(view, "&Command palette…", "Ctrl+K", self.open_palette)
        self._action(view, "&Filter tables", None, self.start_filter)
        view.addSeparator()
        for n, spec in enumerate(w.pages, start=1):
            keys = f"Ctrl+{n}" if n <= 9 else None
            self._action(view, spec.title, keys, lambda _on=False, k=spec.key: w.show_view(k))
        settings = bar.addMenu("&Settings")
        self.menus.append(settings)
        self.settings_action = self._action(
            settings, "&Settings…", QKeySequence.StandardKey.Preferences, w.open_settings_dialog
        )
        self.settings_action.setEnabled(w.presenters.registry.allows(Action.SETTINGS))
        if not self.settings_action.isEnabled():
            self.settings_action.setText("Settings… (an admin's)")
        help_ = bar.addMenu("&Help")
        self.menus.append(help_)
        self._action(help_, "&Keyboard shortcuts", None, self.show_shortcuts)
        self._action(help_, "&About AIOps Desktop", None, self.show_about)

    def offer_capture_export(self) -> None:
        """File > Export capture… only where the window can export (the live Core's export
        given to it), the role may, and no capture is open: an opened capture is re-shared
        by copying its file."""
        registry = self.window.presenters.registry
        self.export_capture_action.setVisible(
            self.window.capture_export is not None
            and registry.allows(Action.EXPORT_CAPTURE)
            and not registry.read_only
        )

    def _shortcut(self, keys: str, slot: Callable[[], object]) -> None:
        shortcut = QShortcut(QKeySequence(keys), self.window)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)

    # -- the filter bar ---------------------------------------------------------------------
    def _tables(self) -> list[RowsTable]:
        shown = self.window.stack.currentWidget()
        return shown.findChildren(RowsTable) if shown is not None else []

    def start_filter(self, text: str | None = None) -> None:
        """Show the filter box (with ``text``) and put the cursor in it. A "/" typed into a
        text box stays a character there: text boxes take their keys before shortcuts."""
        self.filter_bar.setVisible(True)
        if text is not None:
            self.filter_bar.setText(text)
        self.filter_bar.setFocus()
        self.filter_bar.selectAll()

    def clear_filter(self) -> None:
        self.filter_bar.clear()
        self.filter_bar.setVisible(False)

    def apply_filter(self, text: str) -> None:
        for table in self._tables():
            table.set_filter(text)
        self._filtered = self.window.stack.currentWidget() if text else None

    def page_changed(self, _index: int = -1) -> None:
        """A new page shows all its rows, and the page left shows all of its own when it is
        shown again: the filter was the page's it was typed on, so it is cleared there (by
        now the stack may show the new page already)."""
        left, self._filtered = self._filtered, None
        for table in left.findChildren(RowsTable) if left is not None else []:
            table.set_filter("")
        if self.filter_bar.text():
            self.clear_filter()

    # -- the palette ------------------------------------------------------------------------
    def _go(self, page: str, needle: str = "") -> Callable[[], None]:
        def run() -> None:
            self.window.show_view(page)
            if needle:
                self.start_filter(needle)

        return run

    def commands(self) -> list[Command]:
        w = self.window
        found = [Command(s.title, "Page", self._go(s.key)) for s in w.pages]
        # the actions of the menus named (not the menu bar's overflow menu, not a menu's own
        # entry: those open nothing), those this window answers
        found += [Command(a.text().replace("&", "").rstrip("…"), "Action", a.trigger)
                  for menu in self.menus for a in menu.actions()
                  if a.menu() is None and a.isVisible() and a.isEnabled() and a.text()
                  and not a.isSeparator()
                  and a.text().replace("&", "") not in {s.title for s in PAGES}]  # fmt: skip
        truth = w.truth
        # the clusters registered now and their hubs' members: the truth may be a minute old
        found += [Command(n, "Cluster", lambda n=n: w.show_view(f"cluster:{n}"))
                  for n in w.cluster_names()]  # fmt: skip
        seen: set[tuple[str, str]] = set()

        def add(kind: str, title: str, page: str, needle: str) -> None:
            if (kind, title) not in seen:
                seen.add((kind, title))
                found.append(Command(title, kind, self._go(page, needle)))

        groups = w.presenters.alerts.groups()
        # an alert finding's row is its alert's group's (the Alerts page groups them)
        alert_rows = {(a.cluster, alert_identity(a)): group_needle(g)
                      for g in groups for a in g.alerts}  # fmt: skip
        offered = set(w.cluster_names())
        for t in truth.clusters if truth is not None else []:
            if t.name not in offered:  # removed since the truth spoke
                continue
            for f in t.findings:
                domain = f.domain.value
                needle = (alert_rows.get((t.name, f.key), "") if f.domain is Domain.ALERTS
                          else finding_needle(t.name, f))  # fmt: skip
                add(domain, f"{t.name} {f.subject}: {f.reason}", DOMAIN_PAGE.get(domain, "fleet"),
                    needle)  # fmt: skip
        for g in groups:
            add("Alert", f"{g.key} ({len(g.alerts)} on {', '.join(g.clusters)})", "alerts",
                group_needle(g))  # fmt: skip
        for i in self._incidents:
            add("Incident", f"{i.id}: {i.title}", "incidents", i.id)
            for s in i.signals:
                for place in s.topology:
                    kind, _, name = place.partition(":")
                    if kind in ("node", "pod") and name:
                        add(kind.capitalize(), f"{s.cluster} {name}", "incidents", i.id)
        for h in self._gpus.gpus if self._gpus is not None else []:
            r = h.reading
            add("GPU", f"{r.key} {r.model} ({h.state.value})", "gpu", f"{r.key}{CELL_END}")
            for pod in r.pods:  # the row of the GPU it runs on (the pod alone: any cluster's)
                add("Pod", f"{r.cluster} {pod} (on {r.key})", "gpu", f"{r.key}{CELL_END}")
        return found

    def open_palette(self) -> CommandPalette:
        palette = CommandPalette(self.commands(), self.window)
        palette.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        palette.open()
        return palette

    # -- help -------------------------------------------------------------------------------
    def shortcut_sheet(self) -> str:
        """The keys this window answers: a hidden or disabled action's keys do nothing (a
        capture's window has no Import kubeconfig or Add cluster)."""
        keys = [(k, what) for a, k, what in self._keyed if a.isVisible() and a.isEnabled()]
        rows = [*FIXED_KEYS, *keys]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {what}" for k, what in rows)

    def show_shortcuts(self) -> QMessageBox:
        return self._message("Keyboard shortcuts", self.shortcut_sheet(), mono=True)

    def show_about(self) -> QMessageBox:
        return self._message(
            "About AIOps Desktop",
            f"AIOps Desktop {__version__}\nA NOC console for OpenShift/Kubernetes fleets with GPU "
            "and telecom CNF workloads: read-only toward clusters, offline-capable, credentials "
            "only in the OS keyring.",
        )

    def _message(self, title: str, text: str, *, mono: bool = False) -> QMessageBox:
        box = QMessageBox(self.window)
        box.setWindowTitle(title)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(text)
        if mono:
            font: Any = box.font()
            font.setFamily("DejaVu Sans Mono")
            box.setFont(font)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box
