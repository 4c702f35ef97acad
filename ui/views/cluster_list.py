"""The cluster list: one row per cluster with a state badge and health score."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QVBoxLayout, QWidget

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.fleet import FleetTruth
from ui.theme import Theme, state_badge
from ui.views.text import tip as tip_text


def on_pick(items: QListWidget, slot: Callable[[QListWidgetItem], object]) -> None:
    """``slot`` on an item clicked or activated (Enter: keyboard users move with the arrows).
    Where the style activates an item on a single click, a click is taken once."""
    items.itemActivated.connect(slot)
    single = QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick
    if not items.style().styleHint(single, None, items):
        items.itemClicked.connect(slot)


class ClusterListView(QWidget):
    """Signals: sig_selected(str): the user picked a cluster (its name)."""

    sig_selected = Signal(str)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._shown: list[tuple[str, str, str, str]] | None = None  # what the list shows
        self._badges: dict[tuple[str, str], QIcon] = {}  # a state's badge, made once
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("clusterList")
        on_pick(self.list, self._on_list_item_clicked)
        layout.addWidget(self.list)

    def show_clusters(self, clusters: list[Cluster], truth: FleetTruth | None = None) -> None:
        """The registered clusters, each fleet hub followed by its members; state and score
        as the fleet's one truth judges them (the registry's own until it has spoken)."""
        rows = self._rows(clusters, truth)
        if rows == self._shown:  # 200 members every minute: rebuilt only when something moved
            return
        self._shown = rows
        current = self.selected_name()
        self.list.blockSignals(True)
        self.list.clear()
        for name, text, state, tip in rows:
            self._add(name, text, state, tip, current)
        self.list.blockSignals(False)

    def _rows(
        self, clusters: list[Cluster], truth: FleetTruth | None
    ) -> list[tuple[str, str, str, str]]:
        out: list[tuple[str, str, str, str]] = []
        for cluster in clusters:
            judged = truth.get(cluster.name) if truth else None
            if judged is not None:
                state = judged.state.value
                score = "–" if judged.health_score is None else str(judged.health_score)
            else:  # the truth has not judged it yet: said, never a state of its own
                state, score = "NOT JUDGED YET", "–"
            tip = f"{cluster.name} ({cluster.cluster_type.value}, {cluster.environment.value})"
            out.append((cluster.name, f"{cluster.title}\n{state} · {score}", state, tip))
            if truth is None or cluster.kind is not ClusterKind.FLEET:
                continue
            for member in (t for t in truth.clusters if t.hub == cluster.name):
                score = "–" if member.health_score is None else str(member.health_score)
                worst = member.worst()
                out.append((
                    member.name, f"  ↳ {member.name}\n    {member.state.value} · {score}",
                    member.state.value,
                    f"{member.name}: member of fleet hub {cluster.name}"
                    + (f"\n{worst.subject}: {worst.reason}" if worst else ""),
                ))  # fmt: skip
        return out

    def _add(self, name: str, text: str, state: str, tip: str, current: str | None) -> None:
        colour, mark = self._theme.status(state), self._theme.mark(state)
        if (colour, mark) not in self._badges:
            self._badges[(colour, mark)] = state_badge(colour, mark)
        item = QListWidgetItem(self._badges[(colour, mark)], text)
        item.setData(Qt.ItemDataRole.UserRole, name)
        item.setToolTip(tip_text(tip))  # names and reasons are outside text: shown as they are
        self.list.addItem(item)
        if name == current:
            self.list.setCurrentItem(item)

    def select(self, name: str) -> None:
        """Highlight the cluster shown (opened from the palette, a tile or a link)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(row)
                return

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        self.sig_selected.emit(item.data(Qt.ItemDataRole.UserRole))
