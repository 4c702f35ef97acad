"""The fleet overview: one tile per cluster, worst first, with its data age; stale is badged."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.fleet import TileModel
from ui.charts import TimeSeriesChart
from ui.theme import Theme

COLUMNS = 4


class ClusterTile(QFrame):
    """Signals: sig_clicked(str): the cluster's name."""

    sig_clicked = Signal(str)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._name = ""
        self._spark_stamp: tuple[str, int, float] | None = None
        self.setProperty("card", True)
        self.setFixedHeight(196)
        self.setMinimumWidth(260)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 12pt; border: none;")
        self.state = QLabel()
        self.state.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        top.addWidget(self.title, 1)
        top.addWidget(self.state)
        layout.addLayout(top)
        self.score = QLabel()
        self.score.setStyleSheet("border: none;")
        layout.addWidget(self.score)
        self.alerts = QLabel()
        self.alerts.setStyleSheet("border: none;")
        layout.addWidget(self.alerts)
        self.spark = TimeSeriesChart("", "", self._theme, sparkline=True)
        self.spark.setFixedHeight(48)
        layout.addWidget(self.spark)
        self.freshness = QLabel()
        self.freshness.setProperty("muted", True)
        self.freshness.setStyleSheet("border: none;")
        layout.addWidget(self.freshness)

    def show_tile(self, tile: TileModel) -> None:
        self._name = tile.name
        colour = self._theme.status(tile.state)
        self.setStyleSheet(f"QFrame[card='true'] {{ border: 2px solid {colour}; }}")
        self.title.setText(tile.title)
        self.state.setText(tile.state)
        self.state.setStyleSheet(
            f"color: {colour}; border: 1px solid {colour}; border-radius: 4px; padding: 1px 6px;"
        )
        score = "health –" if tile.health_score is None else f"health {tile.health_score}"
        if tile.via_hub:
            score = f"via fleet hub {tile.via_hub}"
        self.score.setText(score)
        parts = []
        for severity in (AlertSeverity.CRITICAL, AlertSeverity.WARNING, AlertSeverity.INFO):
            count = tile.alerts.get(severity, 0)
            colour = self._theme.severity(severity.value)
            parts.append(f"<span style='color:{colour}'>● {count} {severity.value.lower()}</span>")
        self.alerts.setText("&nbsp;&nbsp;".join(parts))
        stamp = (
            (tile.spark_title, tile.spark[0].size, float(tile.spark[0][-1])) if tile.spark else None
        )
        if stamp != self._spark_stamp:  # repaint the sparkline only when its data moved
            self._spark_stamp = stamp
            self.spark.set_series({tile.spark_title: tile.spark} if tile.spark else {})
        self.spark.setToolTip(tile.spark_title)
        badge = "  ⚠ STALE" if tile.stale else ""
        self.freshness.setText(f"{tile.freshness}{badge}")
        warn = self._theme.severity("warning")
        self.freshness.setStyleSheet(
            f"border: none; color: {warn};" if tile.stale else "border: none;"
        )
        self.setToolTip(tile.last_error or "")

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
        self.summary = QLabel()
        self.summary.setProperty("role", "title")
        outer.addWidget(self.summary)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        self.grid = QGridLayout(inner)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll.setWidget(inner)
        outer.addWidget(scroll, 1)

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
        online = sum(t.state == "ONLINE" for t in tiles)
        self.summary.setText(f"Fleet · {len(tiles)} clusters · {online} online")
