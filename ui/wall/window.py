"""The wall window: frameless and full screen on its monitor, tiles readable across a room in
the status palette, pages rotating (the worst first, the order held for a whole turn of the
pages; the page where something turns CRITICAL is shown at once, for a turn of its own, then
the page it interrupted), each tile's data age shown and stale data badged (never blanked),
the wall's own polling health in a corner; a wall that could not be built afresh keeps what
it shows, badged "display not updated since HH:MM", its clock going on. It is locked: no
menus, no settings, no credentials; leaving takes Ctrl+Shift+Q twice in 3 s (let go between: a
held key is one press); minimized or out of full screen, it goes full screen again.

Tiles are made once per slot and reused: however long the wall runs, its widgets do not grow.
The type scales with the screen's height (1080 lines: the theme's wall sizes; 4K: twice them)
and a tile is never smaller than its type needs (its title, its lines and its age, a dozen
characters wide): a page's tiles fill the screen in as many columns as read best, fewer tiles
in larger type; those that do not fit make further screens of the page, shown in turn
("+N more"). Text from outside (an alert's name, an error) is cut with an ellipsis at its
tile's width: no label widens the window, and none lays out more than TEXT_CHARS of it.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QKeyEvent,
    QResizeEvent,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLayout,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.text import age_text, one_line, time_text
from aiops_desktop.models.wall import STALE_AFTER_S, TILE_LINES, Tile, WallModel, WallPage
from ui.theme import Theme
from ui.views.text import PlainLabel

COLUMNS = 4  # at most, while the tiles fit in them (more when only more columns fit them all)
REFERENCE_HEIGHT = 1080  # the screen height the theme's wall font sizes are for
FLASH_MS = 500
FLASH_STEPS = 6  # three flashes
EXIT_WINDOW_S = 3.0
STATUS_KEYS = {"OK": "ONLINE", "WARNING": "DEGRADED", "CRITICAL": "OFFLINE", "UNKNOWN": "UNKNOWN"}
#: how much larger a page's type is for so few tiles, the last the smallest it goes
TIERS = ((4, 1.5), (6, 1.25), (16, 1.0), (None, 0.8))
TITLE_LINES = 2  # a tile's title wraps to this many lines at most, where the tile has room
TILE_EMS = 12  # a tile's least width, in its lines' line heights (about 24 characters)
TILE_MARGINS = (14, 10, 14, 10)  # left, top, right, bottom
TILE_SPACING = 4
TILE_BORDER = 6
GRID_SPACING = 18
BADGE_CHARS = 40  # a capture's label in the corner, cut beyond this
CLOCK_GAP = 24  # between the header's badges and its clock
WINDOW_MARGINS = (28, 20, 28, 16)  # left, top, right, bottom
#: the most of a text a label keeps: a server's text (an alert's name or summary, an error) may
#: be megabytes, and laying it out took the UI thread seconds at each refresh; a tile's line
#: shows a few dozen characters a line, on the few lines it has room for
TEXT_CHARS = 512


def clipped(text: str) -> str:
    """``text`` cut to TEXT_CHARS, with an ellipsis where it was cut (before anything else
    reads it whole: one_line, a layout)."""
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def line_text(text: str) -> str:
    """Text from outside as a label shows it: cut, then one printable line."""
    return one_line(clipped(text))


def wall_font(theme: Theme, role: str, scale: float, *, bold: bool = False) -> QFont:
    font = QFont(theme.font_family, max(8, round(theme.font_pt(role) * scale)))
    if bold:
        font.setWeight(QFont.Weight.Bold)
    return font


def columns_for(tiles: int) -> int:
    """1 tile: one column; 2-4: two (a 2x2 grid fills a 16:9 screen); 5-6: three; more: four."""
    return 1 if tiles <= 1 else 2 if tiles <= 4 else 3 if tiles <= 6 else COLUMNS


def tile_least(theme: Theme, scale: float) -> tuple[int, int]:
    """The least width and height a tile needs at ``scale``: its title, TILE_LINES lines and
    its age one line each, its margins and border; TILE_EMS line heights wide."""
    title = QFontMetrics(wall_font(theme, "wall_pt", scale, bold=True)).lineSpacing()
    line = QFontMetrics(wall_font(theme, "wall_line_pt", scale)).lineSpacing()
    small = QFontMetrics(wall_font(theme, "wall_small_pt", scale)).lineSpacing()
    left, top, right, bottom = TILE_MARGINS
    chrome = top + bottom + 2 * TILE_BORDER + TILE_SPACING * (TILE_LINES + 1)
    return (
        TILE_EMS * line + left + right + 2 * TILE_BORDER,
        title + TILE_LINES * line + small + chrome,
    )


def plan_screen(
    tiles: int, room: tuple[int, int], least: dict[float, tuple[int, int]]
) -> tuple[int, int, float]:
    """How a page of ``tiles`` is shown in ``room`` (width, height) px: (columns, tiles a
    screen, type factor). The largest type of TIERS at which every tile fits on one screen;
    else the smallest type and as many as fit (the rest on further screens). ``least``:
    factor -> a tile's least size at it."""
    for most, factor in TIERS:
        if most is not None and tiles > most:
            continue
        width, height = least[factor]
        fit_columns = max(1, (room[0] + GRID_SPACING) // (width + GRID_SPACING))
        fit_rows = max(1, (room[1] + GRID_SPACING) // (height + GRID_SPACING))
        shown = min(tiles, fit_columns * fit_rows)
        if shown < tiles and most is not None:
            continue  # not all at this size: smaller type
        columns = min(fit_columns, max(columns_for(shown), math.ceil(shown / fit_rows)))
        return columns, max(1, shown), factor
    raise AssertionError("the last tier takes any number")  # pragma: no cover


def _advance(font: QFont, text: str) -> int:
    """The width ``text`` takes in ``font``, whole pixels enough for it (QFontMetrics rounds
    a 397.4 px text to 397, and Qt's eliding cuts it at 397)."""
    return math.ceil(QFontMetricsF(font).horizontalAdvance(text))


class FittedLabel(PlainLabel):
    """Plain text that never widens its window: broken at words into at most ``max_lines``
    lines of the width it is given (anywhere in a word longer than that), the last cut with
    an ellipsis when more is left. It keeps TEXT_CHARS of a text at most."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self._full = ""
        self._max_lines = 1
        self._elide = Qt.TextElideMode.ElideRight  # where its last line is cut
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(1)
        self.set_text(text)

    def full_text(self) -> str:
        return self._full

    def set_text(self, text: str) -> None:
        text = clipped(text)
        if text != self._full:
            self._full = text
            self._fit()

    def set_elide(self, mode: Qt.TextElideMode) -> None:
        """Where a text too long is cut: its end (the default), or its middle (names that
        differ at their end: "ocp-prod-ran-east-du-site-0040")."""
        if mode != self._elide:
            self._elide = mode
            self._fit()

    def set_max_lines(self, most: int) -> None:
        if most != self._max_lines:
            self._max_lines = most
            self._fit()

    def lines_needed(self, most: int) -> int:
        """How many lines its text takes whole at its width, ``most`` at the most (no more
        are laid out)."""
        return max(1, len(self._broken(self.text_width(), most)))

    def text_width(self) -> int:
        """The width its text is drawn in: a styled label's contents less its frame (its
        padding again: the header's badges were cut at their edge)."""
        return self.contentsRect().width() - 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() is QEvent.Type.FontChange:
            self._fit()

    def _broken(self, width: int, most: int) -> list[str]:
        text = self._full
        if not text or width <= 0:
            return [text] if text else []
        layout = QTextLayout(text, self.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.beginLayout()
        spans: list[tuple[int, int]] = []
        # the lines it may show and no more: what is left is only looked at to say so
        while len(spans) < most and (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            spans.append((line.textStart(), line.textLength()))
        layout.endLayout()
        # Qt's offsets count UTF-16 units, not a str's code points: an emoji is two of them
        units = text.encode("utf-16-le")

        def part(start: int, end: int | None = None) -> str:
            return units[2 * start : None if end is None else 2 * end].decode(
                "utf-16-le", errors="replace"
            )

        lines = [part(start, start + length).rstrip() for start, length in spans]
        end = sum(spans[-1]) if spans else 0
        if 2 * end < len(units) and not part(end).isspace():  # more is left: the last one cut
            rest = part(spans[-1][0])
            cut = self.fontMetrics().elidedText(rest, self._elide, width)
            lines[-1] = cut
        return lines

    def _fit(self) -> None:
        shown = "\n".join(self._broken(self.text_width(), self._max_lines))
        if shown != self.text():
            self.setText(shown)

    def whole_width(self, text: str | None = None) -> int:
        """The width it takes to show ``text`` (its own text by default) whole on one line."""
        return _whole_width(self, self._full if text is None else text)


def _whole_width(label: PlainLabel, text: str) -> int:
    """The width ``label`` takes to show ``text`` whole on one line, its margins (a style
    sheet's padding) and its frame (that padding again, as a styled label draws) with it."""
    label.ensurePolished()  # its style sheet's padding is its margins once polished
    margins = label.contentsMargins()
    advance = _advance(label.font(), text)
    return advance + margins.left() + margins.right() + 2 * label.frameWidth()


def _parts(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


class TitleLabel(FittedLabel):
    """A page's title on one line, "Incidents · CRITICAL · screen 1 of 3", shortened in less
    room in the order its parts matter on a wall: the screen count said short ("· 1/3"), then
    the page's name cut with an ellipsis, then left out; its state, what the room reads the
    wall for, is cut last ("CRITICAL · 1/3")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._name = ""
        self._tail = ""  # its state and its screen count said short: cut after the name
        self._short = ""  # its name and its tail
        super().__init__("", parent)

    def set_title(self, name: str, state: str = "", screen: tuple[int, int] | None = None) -> None:
        """``screen``: (the one shown, of how many), when the page has more than one."""
        count, short = ("", "") if screen is None else (
            f"screen {screen[0]} of {screen[1]}", f"{screen[0]}/{screen[1]}")  # fmt: skip
        tail = _parts(state, short)
        changed = (name, tail) != (self._name, self._tail)
        self._name, self._tail, self._short = name, tail, _parts(name, tail)
        self.set_text(_parts(name, state, count))
        if changed:  # the same whole text, shortened otherwise
            self._fit()

    def widths(self) -> tuple[int, int, int]:
        """The widths it takes shown whole, with its screen count short, and at the least
        (its state and screen count alone), as ``whole_width``."""
        return self.whole_width(), self.whole_width(self._short), self.whole_width(self._tail)

    def _broken(self, width: int, most: int) -> list[str]:
        font = self.font()
        if not self._tail or width <= 0 or _advance(font, self.full_text()) <= width:
            return super()._broken(width, most)
        if _advance(font, self._short) <= width:
            return [self._short]
        metrics = self.fontMetrics()
        room = width - _advance(font, " · " + self._tail)
        name = metrics.elidedText(self._name, Qt.TextElideMode.ElideRight, room)
        if name not in ("", "…"):  # some of the name is left to read
            return [_parts(name, self._tail)]
        return [metrics.elidedText(self._tail, Qt.TextElideMode.ElideRight, width)]


class TileWidget(QFrame):
    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        # as large as the page's grid makes it, never larger for its text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.setContentsMargins(*TILE_MARGINS)
        layout.setSpacing(TILE_SPACING)
        self.title = FittedLabel()  # two lines where there is room (``_share_lines``)
        layout.addWidget(self.title)
        self.lines = [FittedLabel() for _ in range(TILE_LINES)]
        for label in self.lines:
            layout.addWidget(label)
        layout.addStretch(1)
        self.age = FittedLabel()
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
        self._share_lines()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._share_lines()

    def _share_lines(self) -> None:
        """Each line one line high, and what room the tile has beyond its least size given
        to the title first (a second line: an incident's reason) and then to the lines that
        need more (in order): a long reason wraps where there is room for it, and nothing is
        pushed out of the tile (its age and STALE badge least of all)."""
        line = self.lines[0].fontMetrics().lineSpacing()
        _, top, _, bottom = TILE_MARGINS
        fixed = top + bottom + 2 * TILE_BORDER + TILE_SPACING * (TILE_LINES + 1)
        fixed += self.title.fontMetrics().lineSpacing() + self.age.fontMetrics().lineSpacing()
        room = self.height() - fixed - TILE_LINES * line  # beyond one line each
        # the title first (what it is about: an incident's reason), a second line at most
        heading = self.title.fontMetrics().lineSpacing()
        title = 1
        if room >= heading and self.title.lines_needed(TITLE_LINES) > 1:
            title = min(TITLE_LINES, 1 + room // heading)
            room -= (title - 1) * heading
        self.title.set_max_lines(title)
        spare = max(0, room // line)
        for label in self.lines:  # each fitted once, no more lines laid out than it may take
            more = label.lines_needed(1 + spare) - 1 if spare else 0
            label.set_max_lines(1 + more)
            spare -= more

    def show_tile(self, tile: Tile, now: datetime | None = None) -> None:
        """``now``: the time the tile is shown as of (its "since" said with its date when
        that is another day)."""
        self.age.set_text(freshness_text(tile, now))
        shown = (tile.title, tile.state, tuple(tile.lines), tile.stale)
        if shown == self._shown:
            return
        self._shown = shown
        colour = self._theme.status(STATUS_KEYS.get(tile.state, "UNKNOWN"))
        text = self._theme.color("text")
        self.setStyleSheet(
            f"TileWidget {{ background: {self._theme.color('panel')};"
            f" border: {TILE_BORDER}px solid {colour}; border-radius: 10px; }}"
            f" QLabel {{ color: {text}; border: none; }}"
        )
        # the state's shape beside its colour (✖ ▲ ? ●): read without colour too
        mark = self._theme.mark(tile.state)
        title = line_text(tile.title)  # a server's (an alert's name): cut before anything
        # a name (one word: a cluster's) cut in its middle, read to its end; a sentence (an
        # incident's: what happened) at its end
        middle = " " not in title.strip()
        self.title.set_elide(
            Qt.TextElideMode.ElideMiddle if middle else Qt.TextElideMode.ElideRight
        )
        self.title.set_text(f"{mark} {title}" if mark else title)
        self.title.setStyleSheet(f"color: {colour};")
        for label, line in zip(self.lines, [*tile.lines, *[""] * TILE_LINES], strict=False):
            label.set_text(line_text(line))
        self._share_lines()
        muted = self._theme.color("text_muted")
        self.age.setStyleSheet(
            f"color: {self._theme.severity('warning') if tile.stale else muted};"
        )


def since_text(when: datetime, now: datetime | None) -> str:
    """A moment as a "since" says it: "14:05 UTC" when it is ``now``'s day (UTC), else with
    its date, "2026-01-01 14:05 UTC" (two days and 25 minutes ago does not read as 25
    minutes); with its date too where ``now`` is not known."""
    if now is not None and when.astimezone(UTC).date() == now.astimezone(UTC).date():
        return f"{when.astimezone(UTC):%H:%M} UTC"
    return time_text(when)


def freshness_text(tile: Tile, now: datetime | None = None) -> str:
    """A tile's corner as of ``now``: "STALE since 14:05 UTC · data 3.0 h ago", "data 20 s
    ago", or ""."""
    age = "" if tile.age_s is None else f"data {age_text(tile.age_s)}"
    if not tile.stale:
        return age
    since = tile.stale_since
    badge = "STALE" if since is None else f"STALE since {since_text(since, now)}"
    return f"{badge} · {age}" if age else badge


class PageWidget(QWidget):
    """One page's tiles, as many screens of it as its tiles need (``next_screen``)."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        outer = self._outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.grid = QGridLayout()
        self.grid.setSpacing(GRID_SPACING)
        outer.addLayout(self.grid, 1)  # the tiles take the whole page
        self.tiles: list[TileWidget] = []
        self.empty = PlainLabel("nothing to show on this page")
        self.empty.setFont(QFont(theme.font_family, theme.font_pt("wall_line_pt")))
        outer.addWidget(self.empty)
        self.more = FittedLabel()  # "+184 more: screen 1 of 8"
        self.more.setFont(QFont(theme.font_family, theme.font_pt("wall_small_pt")))
        self.more.setAlignment(Qt.AlignmentFlag.AlignRight)
        outer.addWidget(self.more)
        self._placed: tuple[int, int] = (0, 0)  # (tiles, columns) the grid is laid out for
        self._page: WallPage | None = None
        self._at: datetime | None = None  # the time the page is shown as of
        self._least: dict[float, tuple[int, int]] = {}  # type factor -> a tile's least size
        self.scale = 1.0
        self.screen = 0  # which screen of the page is shown
        self.screens = 1
        self._factor = 1.0

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self._least = {}
        self.more.setFont(wall_font(self._theme, "wall_small_pt", scale))
        self._render()

    def _least_size(self, factor: float) -> tuple[int, int]:
        if factor not in self._least:
            self._least[factor] = tile_least(self._theme, self.scale * factor)
        return self._least[factor]

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._render()

    def show_page(self, page: WallPage, at: datetime | None = None) -> None:
        """``page`` as of ``at`` (its model's time, or later where it was not updated)."""
        self._page, self._at = page, at
        self._render()

    def next_screen(self) -> bool:
        """On to this page's next screen; False when its last was shown (the page is done)."""
        if self.screen + 1 >= self.screens:
            return False
        self.screen += 1
        self._render()
        return True

    def first_screen(self) -> None:
        if self.screen:
            self.screen = 0
            self._render()

    def _room(self) -> tuple[int, int]:
        """The grid's room: the page less what its "+N more" line takes."""
        taken = self.more.sizeHint().height() + self._outer.spacing()
        return self.width(), max(1, self.height() - taken)

    def _render(self) -> None:
        """This screen of the page: its slice of the tiles, laid out and shown."""
        page = self._page
        if page is None:
            return
        total = len(page.tiles)
        least = {factor: self._least_size(factor) for _, factor in TIERS}
        columns, per_screen, self._factor = plan_screen(max(1, total), self._room(), least)
        self.screens = max(1, math.ceil(total / per_screen))
        self.screen = min(self.screen, self.screens - 1)
        shown = page.tiles[self.screen * per_screen : (self.screen + 1) * per_screen]
        while len(self.tiles) < len(shown):  # slots grow to the most a screen shows, no more
            self.tiles.append(TileWidget(self._theme))
        self._lay_out(len(shown), columns)
        for slot in self.tiles:
            slot.set_scale(self.scale * self._factor)
        for slot, tile in zip(self.tiles, shown, strict=False):
            slot.show_tile(tile, self._at)
            slot.setVisible(True)
        for slot in self.tiles[len(shown) :]:
            slot.setVisible(False)
        self.empty.setVisible(not page.tiles)
        hidden = total - len(shown)
        self.more.set_text(
            f"+{hidden} more · screen {self.screen + 1} of {self.screens}" if hidden else ""
        )
        self.more.setVisible(bool(hidden))

    def _lay_out(self, shown: int, columns: int) -> None:
        """The grid for ``shown`` tiles in ``columns``: each one at its place, rows and
        columns sharing the space equally (only when that changes)."""
        if (shown, columns) == self._placed:
            return
        self._placed = (shown, columns)
        for n, tile in enumerate(self.tiles):
            self.grid.removeWidget(tile)
            if n < shown:
                self.grid.addWidget(tile, n // columns, n % columns)
        rows = math.ceil(shown / columns) if shown else 0
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)


def _aged(tile: Tile, later: float, shown_at: datetime) -> Tile:
    """``tile`` of a model shown at ``shown_at`` and not updated for ``later`` s since: its
    data older by as much; past STALE_AFTER_S, stale (since its own loss, else since
    ``shown_at``) and UNKNOWN where it read OK (its other states are kept: what was CRITICAL
    was, and is said last known by its badge)."""
    age = None if tile.age_s is None else tile.age_s + later
    if later <= STALE_AFTER_S:
        return replace(tile, age_s=age)
    since = tile.stale_since if tile.stale else shown_at
    state = "UNKNOWN" if tile.state == "OK" else tile.state
    return replace(tile, state=state, age_s=age, stale=True, stale_since=since)


def _critical_keys(page: WallPage) -> frozenset[str]:
    """What is CRITICAL on ``page``, as its builder names it, or its CRITICAL tiles' titles."""
    if page.critical is not None:
        return page.critical
    return frozenset(t.title for t in page.tiles if t.state == "CRITICAL")


class WallWindow(QWidget):
    """Signals: sig_exit_requested(): the exit sequence was typed."""

    sig_exit_requested = Signal()

    def __init__(self, theme: Theme, rotate_s: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.setWindowTitle("AIOps Desktop · wall")
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.Window)
        # a rule, not bare declarations: a flash appends its frame's rule to it (appended to
        # bare declarations, the sheet did not parse, and the frame was never drawn)
        self.setStyleSheet(
            f"* {{ background: {theme.color('window')}; color: {theme.color('text')}; }}"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(*WINDOW_MARGINS)
        header = self._header = QHBoxLayout()
        self.title = TitleLabel()  # the page's, cut at the room it has (``_fit_header``)
        self.title.setFont(
            QFont(theme.font_family, theme.font_pt("wall_title_pt"), QFont.Weight.Bold)
        )
        header.addWidget(self.title, 1)
        self.badge = FittedLabel()  # what the data is: "CAPTURE", a capture's label (cut)
        # as wide as ``_fit_header`` makes it (a FittedLabel's width is ignored: the header's
        # layout gave it none, and it was drawn over the clock)
        self.badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self._add_badge(header, self.badge, "warning")
        # the wall could not be built afresh: what it shows is as old as this says (said
        # shorter in less room, never cut)
        self.stale = PlainLabel()
        self._stale_forms: tuple[str, ...] = ("",)  # its text, the longest first
        self._add_badge(header, self.stale, "critical")
        header.addSpacing(CLOCK_GAP)
        self.clock = PlainLabel()
        self.clock.setFont(QFont(theme.font_family, theme.font_pt("wall_line_pt")))
        header.addWidget(self.clock)
        layout.addLayout(header)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        footer = QHBoxLayout()
        self.pages_label = FittedLabel()
        self.pages_label.setFont(QFont(theme.font_family, theme.font_pt("wall_small_pt")))
        footer.addWidget(self.pages_label, 1)
        self.health = FittedLabel()  # a server's error may be long: cut, never wider
        self.health.setFont(QFont(theme.font_family, theme.font_pt("wall_small_pt")))
        self.health.setAlignment(Qt.AlignmentFlag.AlignRight)
        footer.addWidget(self.health, 1)
        layout.addLayout(footer)
        self._pages: dict[str, PageWidget] = {}
        self._order: list[str] = []  # the last model's order: worst first
        # the order of this turn of the pages, taken from the model's only as a turn begins:
        # re-sorted at every model (2 s), a page whose state flaps was shown again and again
        # while others never came round
        self._cycle: list[str] = []
        self._turns = 0  # the rotation's steps so far: the wall's own clock of turns
        self._resume = ""  # the page one brought forward interrupted: shown again after it
        self._titles: dict[str, tuple[str, str]] = {}  # page -> its title, its state
        self._model: WallModel | None = None
        self._known = False  # a model with anything not UNKNOWN was shown
        self.rotation = QTimer(self)
        self.rotation.setInterval(int(rotate_s * 1000))
        self.rotation.timeout.connect(self.next_page)
        self.rotation.start()
        # the exit key's first press, whether it was let go since; kept full screen
        self._exit_pressed_at, self._exit_released, self._full_screen = 0.0, False, False
        self._may_close = False
        self.scale = 1.0
        self._setup_flash()

    def _add_badge(self, header: QHBoxLayout, badge: PlainLabel, severity: str) -> None:
        """``badge``, hidden, in the header, in the window's colour on the severity's."""
        theme = self._theme
        badge.setFont(QFont(theme.font_family, theme.font_pt("wall_pt"), QFont.Weight.Bold))
        badge.setStyleSheet(
            f"color: {theme.color('window')}; background: {theme.severity(severity)};"
            " padding: 4px 16px; border-radius: 6px;"
        )
        badge.setVisible(False)
        header.addWidget(badge)

    def _fit_header(self) -> None:
        """The header in the room it has, shortened in the order its parts matter least on a
        wall (the page's state most, then its name, its screen count, then the badges): the
        capture's badge cut down to a third of the room (its "SAMPLE DATA" is read), the
        stale badge said shorter ("stale since 21:00"), the title's screen count said short
        ("· 1/3"); then, the page's name and state not fitting beside that third, the
        capture's badge cut to nothing (not to a sliver: its first word or none of it), the
        stale badge to its word alone ("stale"), and the title's name cut (``TitleLabel``).
        The clock and the stale badge's word are never cut. The layout gives the title what
        is left."""
        left, _, right, _ = WINDOW_MARGINS
        shown = [w for w in (self.title, self.badge, self.stale, self.clock) if not w.isHidden()]
        gaps = self._header.spacing() * (len(shown) - 1)
        room = self.width() - left - right - CLOCK_GAP - gaps - self.clock.sizeHint().width()
        stales = [("", 0)]
        if not self.stale.isHidden():
            stales = [(form, _whole_width(self.stale, form)) for form in self._stale_forms]
        badge = 0 if self.badge.isHidden() else self.badge.whole_width()
        least = min(badge, room // 3)
        whole, short, _ = self.title.widths()
        # the stale badge said shorter, the screen count short; beside no share for the
        # capture's badge, the stale badge's word alone ("stale")
        tries = [(form, whole) for form in stales[:-1] or stales]
        tries += [(form, short) for form in stales[-2:]]
        heads = [t for t in tries if t[1] == short]
        (form, stale), title = next(
            (t for t in tries[:-1] if room - t[0][1] - t[1] >= least),
            next((t for t in heads if room - t[0][1] - t[1] >= 0), tries[-1]),
        )
        self.stale.setText(form)
        self.stale.setFixedWidth(stale)  # as reckoned here (its size hint is wider)
        width = min(badge, room - stale - title)
        first_word = self.badge.full_text().split(" ")[0].removesuffix(":")
        if width < min(badge, self.badge.whole_width(first_word + "…")):
            width = 0  # not a sliver of it
        self.badge.setFixedWidth(width)

    # -- a new CRITICAL: the wall flashes its frame a few times ---------------------------------
    def _setup_flash(self) -> None:
        self._critical_tiles: set[tuple[str, str]] = set()
        # (page, key) -> the step of the rotation it was last CRITICAL at; page -> the step it
        # was last brought forward at: a page comes forward for what was not CRITICAL in the
        # last turn of the pages, at most once a turn (a flapping alert, an alert storm:
        # every page still has its turn)
        self._critical_at: dict[tuple[str, str], int] = {}
        self._forward_at: dict[str, int] = {}
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
        self._fit_header()

    def set_scale(self, scale: float) -> None:
        """Type sized for the screen: the theme's wall sizes at 1080 lines, twice them at 4K."""
        scale = round(scale, 2)
        if scale == self.scale:
            return
        self.scale = scale
        theme = self._theme
        self.title.setFont(wall_font(theme, "wall_title_pt", scale, bold=True))
        self.badge.setFont(wall_font(theme, "wall_pt", scale, bold=True))
        self.stale.setFont(wall_font(theme, "wall_pt", scale, bold=True))
        self.clock.setFont(wall_font(theme, "wall_line_pt", scale))
        for label in (self.pages_label, self.health):
            label.setFont(wall_font(theme, "wall_small_pt", scale))
        for page in self._pages.values():
            page.set_scale(scale)

    # -- the model --------------------------------------------------------------------------
    def show_model(self, model: WallModel) -> None:
        first = not self._known
        news = self._note_critical(model)
        # the first model with anything known is the wall's first: before it (all UNKNOWN at
        # start) nothing was seen, so its CRITICAL is not news (not flashed)
        self._known = self._known or any(t.state != "UNKNOWN" for p in model.pages
                                         for t in p.tiles)  # fmt: skip
        self._model = model
        for page in model.pages:
            widget = self._pages.get(page.name)
            if widget is None:
                widget = self._pages[page.name] = PageWidget(self._theme)
                widget.set_scale(self.scale)
                self.stack.addWidget(widget)
            widget.show_page(page, model.at)
            self._titles[page.name] = (page.title, page.worst)
        self._order = [p.name for p in model.pages]
        if set(self._cycle) != set(self._order):  # pages came or went: the new order at once
            self._cycle = list(self._order)
        if first and news:
            self.show_page(news[0])
        elif news:  # the page of what turned CRITICAL comes to the front at once, for a turn
            self._bring_forward(news)
        if self.current_page() not in self._pages and self._cycle:
            self.show_page(self._cycle[0])
        self.health.set_text(line_text(model.health))
        self.clock.setText(model.at.strftime("%H:%M:%S UTC"))
        badge = line_text(model.badge)  # a capture's own label: cut (``_fit_header`` too)
        self.badge.set_text(badge if len(badge) <= BADGE_CHARS else badge[: BADGE_CHARS - 1] + "…")
        self.badge.setVisible(bool(model.badge))
        self.stale.setVisible(False)
        self._retitle()

    def show_stale(self, now: datetime, why: str) -> None:
        """The wall could not be built afresh: what is shown stays, badged with since when
        (the last model's time), its tiles' data ages going on with the clock, and the
        corner says why in a word. Not updated for longer than STALE_AFTER_S, every tile is
        badged stale (since its own loss, else since the display's last update) and what
        read OK is UNKNOWN, its page's title too: a wall that cannot see never looks fine."""
        self.clock.setText(now.strftime("%H:%M:%S UTC"))
        model = self._model
        if model is not None and (later := (now - model.at).total_seconds()) > 0:
            for page in model.pages:  # "data 20 s ago" is older now: said so
                aged = replace(page, tiles=[_aged(t, later, model.at) for t in page.tiles])
                self._pages[page.name].show_page(aged, now)
                self._titles[page.name] = (page.title, aged.worst)
            self._retitle()
        self._stale_forms = ("display not updated", "stale")
        if model is not None:
            since = since_text(model.at, now)
            short = since.removesuffix(" UTC")[-11:]  # "21:00", "12-04 21:00"
            self._stale_forms = (
                f"display not updated since {since}",
                f"stale since {since}",
                f"stale since {short}",
                "stale",
            )
        self.stale.setVisible(True)
        self._fit_header()
        self.health.set_text(f"display not updated: {line_text(why)} · see the app log")

    def _note_critical(self, model: WallModel) -> list[str]:
        """Flash when something turns CRITICAL: judged on what the page says is CRITICAL
        (every alert group and incident, shown or counted in the last tile), not on the
        tiles shown, so a CRITICAL group resolving (the count changes, a hidden one comes
        into view) is not news. One that was CRITICAL and is UNKNOWN for a while (its source
        unread) stays known as CRITICAL: read again, it is not news. The pages to bring
        forward, in the model's order: those with something CRITICAL that was not in the last
        turn of the pages (one flapping flashes each time, but its page is not brought
        forward each time); on the first model with anything known (not all UNKNOWN): those
        with anything CRITICAL, not flashed."""
        states = {(p.name, t.title): t.state for p in model.pages for t in p.tiles}
        critical = {(p.name, key) for p in model.pages for key in _critical_keys(p)}
        new = critical - self._critical_tiles
        if self._known and new:
            self.flash()  # something turned CRITICAL: the room should look up
        unknown = {k for k in self._critical_tiles if states.get(k) == "UNKNOWN"}
        self._critical_tiles = critical | unknown
        turn = self._turn_steps(model)
        seen = self._critical_at
        pages = {name for name, key in new if self._turns - seen.get((name, key), -turn) >= turn}
        for key in self._critical_tiles:
            seen[key] = self._turns
        for key in [k for k, at in seen.items() if self._turns - at > turn]:
            del seen[key]  # not CRITICAL for a turn: forgotten, as it is news again
        return [p.name for p in model.pages if p.name in pages]

    def _turn_steps(self, model: WallModel) -> int:
        """A turn of the pages in steps of the rotation: a step for each screen of each."""
        screens = sum(w.screens for n, w in self._pages.items() if n in self._cycle)
        return max(1, len(self._cycle), len(model.pages), screens)

    def _bring_forward(self, names: list[str]) -> None:
        """The first of pages ``names`` not brought forward in the last turn of the pages,
        now, for a turn of its own (the rotation restarted: not gone when the running turn
        ends), then the page it interrupted: news after news on one page does not hold the
        wall on it."""
        assert self._model is not None
        steps = self._turn_steps(self._model)
        name = next((n for n in names if self._turns - self._forward_at.get(n, -steps) >= steps),
                    "")  # fmt: skip
        if not name:
            return
        self._forward_at[name] = self._turns
        current = self.current_page()
        if name != current:
            if name == self._resume:  # the page interrupted itself: its turn is this one
                self._resume = ""
            elif not self._resume:  # one brought forward over another: back to the first's
                self._resume = current
            self.show_page(name)
        else:  # shown already, maybe a later screen: the new CRITICAL sorts on its first
            self._pages[name].first_screen()
            self._retitle()
        self.rotation.start()

    def current_page(self) -> str:
        widget = self.stack.currentWidget()
        return next((n for n, w in self._pages.items() if w is widget), "")

    def show_page(self, name: str) -> None:
        """Page ``name``, from its first screen when it was not the one shown."""
        widget = self._pages[name]
        if widget is not self.stack.currentWidget():
            widget.first_screen()
        self.stack.setCurrentWidget(widget)
        self._retitle()

    def next_page(self) -> None:
        """The rotation: the shown page's next screen, else the page a page brought forward
        interrupted, else the next page of this turn's order; after its last, a turn in the
        order the last model has (worst first)."""
        if not self._cycle:
            return
        self._turns += 1
        current = self.current_page()
        widget = self._pages.get(current)
        if widget is not None and widget.next_screen():
            self._retitle()
            return
        resume, self._resume = self._resume, ""
        if resume in self._cycle:
            self._pages[resume].first_screen()
            self.show_page(resume)
            return
        cycle = self._cycle
        index = cycle.index(current) + 1 if current in cycle else 0
        if index >= len(cycle):  # a new turn of the pages, in the order judged now
            cycle = self._cycle = list(self._order)
            # the page just shown, first now: its turn in this one was just had
            index = 1 if len(cycle) > 1 and cycle[0] == current else 0
        following = cycle[index]
        self._pages[following].first_screen()  # itself again when it is the only page
        self.show_page(following)

    def _retitle(self) -> None:
        current = self.current_page()
        widget = self._pages.get(current)
        screen = None
        if widget is not None and widget.screens > 1:
            screen = (widget.screen + 1, widget.screens)
        self.title.set_title(*self._titles.get(current, ("AIOps Desktop", "")), screen)
        self._fit_header()
        names = []
        for n in self._cycle:  # the order they are shown in
            name = self._titles[n][0]
            if n == current:
                name = "▶ " + name + (f" {widget.screen + 1}/{widget.screens}" if screen else "")
            names.append(name)
        self.pages_label.set_text("   ".join(names))

    # -- locked -----------------------------------------------------------------------------
    def allow_close(self) -> None:
        """The app is ending the wall (after the exit sequence, or on shutdown)."""
        self._may_close = True
        self._full_screen = False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        wanted = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        if event.key() == Qt.Key.Key_Q and event.modifiers() == wanted:
            if event.isAutoRepeat():  # held down: one press, however long
                return
            now = time.monotonic()
            if now - self._exit_pressed_at <= EXIT_WINDOW_S and self._exit_released:
                self._may_close = True
                self.sig_exit_requested.emit()
                return
            self._exit_pressed_at = now
            self._exit_released = False
            self.health.set_text("press Ctrl+Shift+Q again within 3 s to leave the wall")
            return
        event.accept()  # every other key does nothing: no settings, no dialogs

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        """The exit key let go (not a held key's auto-repeat): a second press may follow."""
        if event.key() == Qt.Key.Key_Q and not event.isAutoRepeat():
            self._exit_released = True
        event.accept()

    # -- full screen, whatever takes it out of it -------------------------------------------
    def keep_full_screen(self, keep: bool) -> None:
        """Full screen (``keep``): minimized or taken out of full screen (a window manager's
        key, a passer-by), it goes full screen again by itself."""
        self._full_screen = keep

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        out = not self.isFullScreen() or self.isMinimized()
        if event.type() is QEvent.Type.WindowStateChange and self._full_screen and out:
            # after this change is done, not inside it (a state set in its own event)
            QTimer.singleShot(0, self, self._back_full_screen)

    def _back_full_screen(self) -> None:
        if self._full_screen and (not self.isFullScreen() or self.isMinimized()):
            self.setWindowState(Qt.WindowState.WindowFullScreen)
            self.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close:
            event.accept()
        else:
            event.ignore()  # the window manager's close (Alt+F4) does not end the wall
