"""The wall window: frameless and full screen on its monitor, tiles readable across a room in
the status palette, pages rotating (a page with a CRITICAL item first), each tile's data age
shown and stale data badged (never blanked), the wall's own polling health in a corner. It is
locked: no menus, no settings, no credentials; leaving takes Ctrl+Shift+Q twice in 3 s.

Tiles are made once per slot and reused: however long the wall runs, its widgets do not grow.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.text import age_text
from aiops_desktop.models.wall import Tile, WallModel, WallPage
from ui.theme import Theme
from ui.views.text import PlainLabel

COLUMNS = 4
TILE_LINES = 3
TILE_HEIGHT = 260
EXIT_WINDOW_S = 3.0
STATUS_KEYS = {"OK": "ONLINE", "WARNING": "DEGRADED", "CRITICAL": "OFFLINE", "UNKNOWN": "UNKNOWN"}


class TileWidget(QFrame):
    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        layout = QVBoxLayout(self)
        self.title = PlainLabel()
        self.title.setFont(QFont(theme.font_family, theme.font_pt("wall_pt"), QFont.Weight.Bold))
        layout.addWidget(self.title)
        self.lines = [PlainLabel() for _ in range(TILE_LINES)]
        for label in self.lines:
            label.setFont(QFont(theme.font_family, theme.font_pt("wall_line_pt")))
            layout.addWidget(label)
        layout.addStretch(1)
        self.age = PlainLabel()
        self.age.setFont(QFont(theme.font_family, theme.font_pt("wall_small_pt")))
        layout.addWidget(self.age)
        self._shown: tuple[object, ...] = ()

    def show_tile(self, tile: Tile) -> None:
        shown = (tile.title, tile.state, tuple(tile.lines), tile.stale, tile.age_s is None)
        age = "" if tile.age_s is None else f"data {age_text(tile.age_s)}"
        self.age.setText(("STALE · " if tile.stale else "") + age)
        if shown == self._shown:
            return
        self._shown = shown
        colour = self._theme.status(STATUS_KEYS.get(tile.state, "UNKNOWN"))
        text = self._theme.color("text")
        self.setStyleSheet(
            f"TileWidget {{ background: {self._theme.color('panel')}; border: 6px solid {colour};"
            f" border-radius: 10px; }} QLabel {{ color: {text}; border: none; }}"
        )
        self.title.setText(tile.title)
        self.title.setStyleSheet(f"color: {colour};")
        for label, line in zip(self.lines, [*tile.lines, "", "", ""], strict=False):
            label.setText(line)
        muted = self._theme.color("text_muted")
        self.age.setStyleSheet(
            f"color: {self._theme.severity('warning') if tile.stale else muted};"
        )


class PageWidget(QWidget):
    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.grid = QGridLayout()
        self.grid.setSpacing(18)
        outer.addLayout(self.grid)
        outer.addStretch(1)  # tiles keep their height; free space stays below them
        self.tiles: list[TileWidget] = []
        self.empty = PlainLabel("nothing to show on this page")
        self.empty.setFont(QFont(theme.font_family, theme.font_pt("wall_line_pt")))
        self.grid.addWidget(self.empty, 0, 0)

    def show_page(self, page: WallPage) -> None:
        while len(self.tiles) < len(page.tiles):  # slots grow to the most ever shown, no more
            tile = TileWidget(self._theme)
            tile.setMinimumHeight(TILE_HEIGHT)
            self.grid.addWidget(tile, len(self.tiles) // COLUMNS, len(self.tiles) % COLUMNS)
            self.tiles.append(tile)
        for slot, tile in zip(self.tiles, page.tiles, strict=False):
            slot.show_tile(tile)
            slot.setVisible(True)
        for slot in self.tiles[len(page.tiles) :]:
            slot.setVisible(False)
        self.empty.setVisible(not page.tiles)


class WallWindow(QWidget):
    """Signals: sig_exit_requested(): the exit sequence was typed."""

    sig_exit_requested = Signal()

    def __init__(self, theme: Theme, rotate_s: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.setWindowTitle("AIOps Desktop · wall")
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.Window)
        self.setStyleSheet(f"background: {theme.color('window')}; color: {theme.color('text')};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 20, 28, 16)
        header = QHBoxLayout()
        self.title = PlainLabel()
        self.title.setFont(
            QFont(theme.font_family, theme.font_pt("wall_title_pt"), QFont.Weight.Bold)
        )
        header.addWidget(self.title, 1)
        self.badge = PlainLabel()
        self.badge.setFont(QFont(theme.font_family, theme.font_pt("wall_pt"), QFont.Weight.Bold))
        self.badge.setStyleSheet(
            f"color: {theme.color('window')}; background: {theme.severity('warning')};"
            " padding: 4px 16px; border-radius: 6px;"
        )
        self.badge.setVisible(False)
        header.addWidget(self.badge)
        header.addSpacing(24)
        self.clock = PlainLabel()
        self.clock.setFont(QFont(theme.font_family, theme.font_pt("wall_line_pt")))
        header.addWidget(self.clock)
        layout.addLayout(header)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        footer = QHBoxLayout()
        self.pages_label = PlainLabel()
        self.pages_label.setFont(QFont(theme.font_family, theme.font_pt("wall_small_pt")))
        footer.addWidget(self.pages_label, 1)
        self.health = PlainLabel()
        self.health.setFont(QFont(theme.font_family, theme.font_pt("wall_small_pt")))
        footer.addWidget(self.health)
        layout.addLayout(footer)
        self._pages: dict[str, PageWidget] = {}
        self._order: list[str] = []
        self._titles: dict[str, str] = {}
        self._critical_first = ""
        self._model: WallModel | None = None
        self.rotation = QTimer(self)
        self.rotation.setInterval(int(rotate_s * 1000))
        self.rotation.timeout.connect(self.next_page)
        self.rotation.start()
        self._exit_pressed_at = 0.0
        self._may_close = False

    # -- the model --------------------------------------------------------------------------
    def show_model(self, model: WallModel) -> None:
        self._model = model
        for page in model.pages:
            widget = self._pages.get(page.name)
            if widget is None:
                widget = self._pages[page.name] = PageWidget(self._theme)
                self.stack.addWidget(widget)
            widget.show_page(page)
            self._titles[page.name] = f"{page.title} · {page.worst}"
        self._order = [p.name for p in model.pages]
        first = model.pages[0] if model.pages else None
        critical = first.name if first is not None and first.worst == "CRITICAL" else ""
        if critical and critical != self._critical_first:
            self.show_page(critical)  # a page with a CRITICAL item comes to the front at once
        self._critical_first = critical
        if self.current_page() not in self._pages and self._order:
            self.show_page(self._order[0])
        self.health.setText(model.health)
        self.clock.setText(model.at.strftime("%H:%M:%S UTC"))
        self.badge.setText(model.badge)
        self.badge.setVisible(bool(model.badge))
        self._retitle()

    def current_page(self) -> str:
        widget = self.stack.currentWidget()
        return next((n for n, w in self._pages.items() if w is widget), "")

    def show_page(self, name: str) -> None:
        self.stack.setCurrentWidget(self._pages[name])
        self._retitle()

    def next_page(self) -> None:
        if not self._order:
            return
        current = self.current_page()
        index = self._order.index(current) + 1 if current in self._order else 0
        self.show_page(self._order[index % len(self._order)])

    def _retitle(self) -> None:
        current = self.current_page()
        self.title.setText(self._titles.get(current, "AIOps Desktop"))
        self.pages_label.setText(
            "   ".join(
                ("▶ " if n == current else "") + self._titles[n].split(" · ")[0]
                for n in self._order
            )
        )

    # -- locked -----------------------------------------------------------------------------
    def allow_close(self) -> None:
        """The app is ending the wall (after the exit sequence, or on shutdown)."""
        self._may_close = True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        wanted = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        if event.key() == Qt.Key.Key_Q and event.modifiers() == wanted:
            now = time.monotonic()
            if now - self._exit_pressed_at <= EXIT_WINDOW_S:
                self._may_close = True
                self.sig_exit_requested.emit()
                return
            self._exit_pressed_at = now
            self.health.setText("press Ctrl+Shift+Q again within 3 s to leave the wall")
            return
        event.accept()  # every other key does nothing: no settings, no dialogs

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close:
            event.accept()
        else:
            event.ignore()  # the window manager's close (Alt+F4) does not end the wall
