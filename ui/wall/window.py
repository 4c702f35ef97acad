"""The wall window: frameless and full screen on its monitor, tiles readable across a room in
the status palette, pages rotating (a page with a CRITICAL item first), each tile's data age
shown and stale data badged (never blanked), the wall's own polling health in a corner. It is
locked: no menus, no settings, no credentials; leaving takes Ctrl+Shift+Q twice in 3 s.

Tiles are made once per slot and reused: however long the wall runs, its widgets do not grow.
The tiles fill the screen (a grid of as many columns as reads best for their number) and the
type scales with the screen's height (1080 lines: the theme's wall sizes; 4K: twice them),
so the wall reads from across the room at 1080p and 4K alike.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QKeyEvent, QResizeEvent
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

COLUMNS = 4  # at most
TILE_LINES = 3
REFERENCE_HEIGHT = 1080  # the screen height the theme's wall font sizes are for
FLASH_MS = 500
FLASH_STEPS = 6  # three flashes
EXIT_WINDOW_S = 3.0
STATUS_KEYS = {"OK": "ONLINE", "WARNING": "DEGRADED", "CRITICAL": "OFFLINE", "UNKNOWN": "UNKNOWN"}


def wall_font(theme: Theme, role: str, scale: float, *, bold: bool = False) -> QFont:
    font = QFont(theme.font_family, max(8, round(theme.font_pt(role) * scale)))
    if bold:
        font.setWeight(QFont.Weight.Bold)
    return font


def columns_for(tiles: int) -> int:
    """1 tile: one column; 2-4: two (a 2x2 grid fills a 16:9 screen); 5-6: three; more: four."""
    return 1 if tiles <= 1 else 2 if tiles <= 4 else 3 if tiles <= 6 else COLUMNS


class TileWidget(QFrame):
    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        layout = QVBoxLayout(self)
        self.title = PlainLabel()
        layout.addWidget(self.title)
        self.lines = [PlainLabel() for _ in range(TILE_LINES)]
        for label in self.lines:
            label.setWordWrap(True)
            layout.addWidget(label)
        layout.addStretch(1)
        self.age = PlainLabel()
        layout.addWidget(self.age)
        self._shown: tuple[object, ...] = ()
        self.scale = 0.0
        self.set_scale(1.0)

    def set_scale(self, scale: float) -> None:
        if scale == self.scale:
            return
        self.scale = scale
        theme = self._theme
        self.title.setFont(wall_font(theme, "wall_pt", scale, bold=True))
        for label in self.lines:
            label.setFont(wall_font(theme, "wall_line_pt", scale))
        self.age.setFont(wall_font(theme, "wall_small_pt", scale))

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
        outer.addLayout(self.grid, 1)  # the tiles take the whole page
        self.tiles: list[TileWidget] = []
        self.empty = PlainLabel("nothing to show on this page")
        self.empty.setFont(QFont(theme.font_family, theme.font_pt("wall_line_pt")))
        outer.addWidget(self.empty)
        self._placed = 0  # tiles the grid is laid out for
        self.scale = 1.0

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        for tile in self.tiles:
            tile.set_scale(self._tile_scale())

    def _tile_scale(self) -> float:
        """Fewer tiles are bigger: their type grows with them (four tiles: half again)."""
        shown = self._placed
        return self.scale * (1.5 if shown <= 4 else 1.25 if shown <= 6 else 1.0)

    def _lay_out(self, shown: int) -> None:
        """The grid for ``shown`` tiles: each one at its place, rows and columns sharing the
        space equally (only when the number shown changes)."""
        if shown == self._placed:
            return
        self._placed = shown
        columns = columns_for(shown)
        for n, tile in enumerate(self.tiles):
            self.grid.removeWidget(tile)
            if n < shown:
                self.grid.addWidget(tile, n // columns, n % columns)
        for tile in self.tiles:
            tile.set_scale(self._tile_scale())
        rows = math.ceil(shown / columns) if shown else 0
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)

    def show_page(self, page: WallPage) -> None:
        while len(self.tiles) < len(page.tiles):  # slots grow to the most ever shown, no more
            tile = TileWidget(self._theme)
            tile.set_scale(self._tile_scale())
            self.tiles.append(tile)
        self._lay_out(len(page.tiles))
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
        self.scale = 1.0
        self._setup_flash()

    # -- a new CRITICAL: the wall flashes its frame a few times ---------------------------------
    def _setup_flash(self) -> None:
        self._critical_tiles: set[tuple[str, str]] = set()
        self.flashes = 0  # how many times the wall has flashed (a test reads it)
        self._flash_left = 0
        self._flash_timer = QTimer(self)
        self._flash_timer.setInterval(FLASH_MS)
        self._flash_timer.timeout.connect(self._flash_step)
        self._calm = self.styleSheet()
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # its frame can flash

    def flash(self) -> None:
        self.flashes += 1
        self._flash_left = FLASH_STEPS
        self._flash_step()
        self._flash_timer.start()

    def _flash_step(self) -> None:
        if self._flash_left <= 0:
            self._flash_timer.stop()
            self.setStyleSheet(self._calm)
            return
        self._flash_left -= 1
        on = self._flash_left % 2 == 1
        red = self._theme.severity("critical")
        self.setStyleSheet(self._calm + (f" WallWindow {{ border: 12px solid {red}; }}" if on
                                         else ""))  # fmt: skip

    # -- sized to its screen ------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.set_scale(max(0.75, min(3.0, self.height() / REFERENCE_HEIGHT)))

    def set_scale(self, scale: float) -> None:
        """Type sized for the screen: the theme's wall sizes at 1080 lines, twice them at 4K."""
        scale = round(scale, 2)
        if scale == self.scale:
            return
        self.scale = scale
        theme = self._theme
        self.title.setFont(wall_font(theme, "wall_title_pt", scale, bold=True))
        self.badge.setFont(wall_font(theme, "wall_pt", scale, bold=True))
        self.clock.setFont(wall_font(theme, "wall_line_pt", scale))
        for label in (self.pages_label, self.health):
            label.setFont(wall_font(theme, "wall_small_pt", scale))
        for page in self._pages.values():
            page.set_scale(scale)

    # -- the model --------------------------------------------------------------------------
    def show_model(self, model: WallModel) -> None:
        critical = {(p.name, t.title) for p in model.pages for t in p.tiles
                    if t.state == "CRITICAL"}  # fmt: skip
        if self._model is not None and critical - self._critical_tiles:
            self.flash()  # something turned CRITICAL: the room should look up
        self._critical_tiles = critical
        self._model = model
        for page in model.pages:
            widget = self._pages.get(page.name)
            if widget is None:
                widget = self._pages[page.name] = PageWidget(self._theme)
                widget.set_scale(self.scale)
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
