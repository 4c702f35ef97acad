"""The fleet overview: one tile per cluster, worst first, with its data age; stale is badged."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import ClusterType, Environment
from aiops_desktop.models.cluster import FleetSummary
from aiops_desktop.models.fleet import HEALTH_RANK, Health, TileModel
from aiops_desktop.models.text import count, cut_line
from ui.sparkline import Sparkline
from ui.theme import Theme
from ui.views.page import scrolled
from ui.views.text import PlainLabel, tip

COLUMNS = 4


class OneLineLabel(PlainLabel):
    """Plain text on one line as wide as its place, elided in the middle (a tile's freshness:
    its start says how old, its end "⚠ STALE"), the whole in its tooltip. Word-wrapped to two
    lines, each new text made the tile's layout measure it again: the Fleet page's tick took
    115 ms at 600 tiles, not 75, and a long one's end, STALE, was cut off."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self._whole = ""
        # its width is its place's, never its text's: a long text does not widen the tile
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_whole_text(self, text: str) -> None:
        self._whole = text
        self.setToolTip(tip(text))
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        mode = Qt.TextElideMode.ElideMiddle
        shown = self.fontMetrics().elidedText(self._whole, mode, max(0, self.width()))
        if shown != self.text():
            self.setText(shown)


class ClusterTile(QFrame):
    """Signals: sig_clicked(str): the cluster's name.

    Refreshed every second: each part is set again only when what it shows changed (a style
    sheet set makes Qt restyle the widget and its children: 200 tiles x 3 took 340 ms)."""

    sig_clicked = Signal(str)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._name = ""
        self._shown: dict[str, object] = {}  # part -> what it shows now
        self.setProperty("card", True)
        self.setFixedHeight(196)
        self.setMinimumWidth(260)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = PlainLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 12pt; border: none;")
        self.state = PlainLabel()
        self.state.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        top.addWidget(self.title, 1)
        top.addWidget(self.state)
        layout.addLayout(top)
        self.score = PlainLabel()
        self.score.setStyleSheet("border: none;")
        layout.addWidget(self.score)
        self.findings = PlainLabel()  # per-domain counts: "GPU 2 ✖, PTP 1 ✖, anomalies 3"
        self.findings.setStyleSheet("border: none; font-weight: 600;")
        layout.addWidget(self.findings)
        self.worst = PlainLabel()  # the worst finding, or what is not known
        self.worst.setProperty("muted", True)
        self.worst.setStyleSheet("border: none;")
        layout.addWidget(self.worst)
        self.spark = Sparkline(self._theme.color("accent"))
        self.spark.setFixedHeight(40)
        layout.addWidget(self.spark)
        self.freshness = OneLineLabel()  # a member's says its hub's newest sample too
        self.freshness.setProperty("muted", True)
        self.freshness.setStyleSheet("border: none;")
        layout.addWidget(self.freshness)

    def _changed(self, part: str, value: object) -> bool:
        if self._shown.get(part) == value:
            return False
        self._shown[part] = value
        return True

    def show_tile(self, tile: TileModel) -> None:
        self._name = tile.name
        colour = self._theme.status(tile.state)
        if self._changed("colour", colour):
            self.setStyleSheet(f"QFrame[card='true'] {{ border: 2px solid {colour}; }}")
            self.state.setStyleSheet(
                f"color: {colour}; border: 1px solid {colour}; border-radius: 4px; "
                "padding: 1px 6px;"
            )
        if self._changed("title", (tile.title, tile.state)):
            self.title.setText(tile.title)
            self.state.setText(self._theme.marked(tile.state))
        score = "health –" if tile.health_score is None else f"health {tile.health_score}"
        if tile.via_hub:  # beside its hub: two CRITICAL members of scores 0 and 75 differ
            score += f" · via fleet hub {tile.via_hub}"
        if self._changed("score", score):
            self.score.setText(score)
        if self._changed("findings", (tile.findings, tile.state)):
            self.findings.setText(tile.findings)
            self.findings.setStyleSheet(
                f"border: none; font-weight: 600; color: {colour};" if tile.findings
                and tile.findings != "no findings" else "border: none;"
            )  # fmt: skip
        if self._changed("worst", tile.worst):
            self.worst.setText(cut_line(tile.worst, 64))  # one line: the tile's height is fixed
            self.worst.setToolTip(tip(tile.worst))
        stamp = (  # whose: tiles are reused worst first, and a hub's members share stamps
            (tile.name, tile.spark_title, tile.spark[0].size, float(tile.spark[0][-1]))
            if tile.spark else None
        )  # fmt: skip
        if self._changed("spark", stamp):  # repaint the sparkline only when its data moved
            self.spark.set_series(tile.spark)
            self.spark.setToolTip(tip(tile.spark_title))
        if self._changed("freshness", (tile.freshness, tile.stale)):  # its age: every second
            self.freshness.set_whole_text(f"{tile.freshness}{'  ⚠ STALE' if tile.stale else ''}")
        if self._changed("stale", tile.stale):  # a style sheet set restyles it: not each second
            warn = self._theme.severity("warning")
            self.freshness.setStyleSheet(
                f"border: none; color: {warn};" if tile.stale else "border: none;"
            )
        if self._changed("error", tile.last_error):
            self.setToolTip(tip(tile.last_error))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.sig_clicked.emit(self._name)
        super().mousePressEvent(event)


class FleetView(QWidget):
    """Signals: sig_open_cluster(str)."""

    sig_open_cluster = Signal(str)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.tiles: list[ClusterTile] = []
        self._setup_ui()

    def _setup_ui(self) -> None:
        outer = QVBoxLayout(self)
        self.summary = PlainLabel()
        self.summary.setProperty("role", "title")
        outer.addWidget(self.summary)
        self.totals = PlainLabel()  # the registered clusters: types, environments, GPUs, CNF
        self.totals.setProperty("muted", True)
        self.totals.setVisible(False)  # until the registry's summary is shown
        outer.addWidget(self.totals)
        self.grid = QGridLayout()
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scrolled(outer, self.grid, 1)

    def show_tiles(self, tiles: list[TileModel]) -> None:
        while len(self.tiles) < len(tiles):  # tiles are reused, never rebuilt each second
            tile = ClusterTile(self._theme)
            tile.sig_clicked.connect(self.sig_open_cluster)
            index = len(self.tiles)
            self.grid.addWidget(tile, index // COLUMNS, index % COLUMNS)
            self.tiles.append(tile)
        for widget, model in zip(self.tiles, tiles, strict=False):
            widget.show_tile(model)
            widget.setVisible(True)
        for widget in self.tiles[len(tiles) :]:
            widget.setVisible(False)
        states = Counter(t.state for t in tiles)
        said = ", ".join(f"{n} {state.lower()}" for state, n in sorted(
            states.items(), key=lambda kv: HEALTH_RANK.get(Health(kv[0]), 99)))  # fmt: skip
        scores = [s for t in tiles if (s := t.health_score) is not None]
        health = f" · average health {sum(scores) / len(scores):.0f}" if scores else ""
        self.summary.setText(
            f"Fleet · {count(len(tiles), 'cluster')} · {said or 'none registered'}{health}"
        )

    def show_summary(self, summary: FleetSummary) -> None:
        """The registered clusters by type and environment, their GPUs, those with CNF (a hub's
        members are not registered: they have no type or environment of their own)."""
        types = ", ".join(f"{n} {t.value.lower().replace('_', ' ')}"
                          for t in ClusterType if (n := summary.by_type.get(t)))  # fmt: skip
        places = ", ".join(f"{n} {e.value.lower()}" for e in Environment
                           if (n := summary.by_environment.get(e)))  # fmt: skip
        parts = [types, places, count(summary.total_gpus, "GPU"),
                 f"{summary.clusters_with_cnf} with CNF"]  # fmt: skip
        self.totals.setText(f"Registered: {' · '.join(p for p in parts if p)}")
        self.totals.setVisible(summary.total > 0)
