"""The time range bar a page's panels share: the last 15 min ... 7 d, or an absolute span
(two UTC moments). A span that cannot be (ends before it starts or after now, longer than
the cache keeps, or, where a page gives ``kept``, starting before what it keeps: no page does
yet, as a jump to an old capture's moment must still open) is said beside the fields and
changes nothing. The fields open on the range shown, which ends at the
bar's clock: the app's now (a capture's end, not the wall clock's)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDateTime, QTimeZone, Signal
from PySide6.QtWidgets import QComboBox, QDateTimeEdit, QHBoxLayout, QPushButton, QWidget

from aiops_desktop.models.time_range import PRESETS, TimeRange
from ui.views.text import PlainLabel

ABSOLUTE = "Absolute…"
SHOWN = "yyyy-MM-dd HH:mm 'UTC'"


def _to_qt(moment: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), QTimeZone.utc())


def _from_qt(moment: QDateTime) -> datetime:
    return datetime.fromtimestamp(moment.toSecsSinceEpoch(), UTC)


class TimeRangeBar(QWidget):
    """Signals: sig_changed(TimeRange)."""

    sig_changed = Signal(object)

    def __init__(
        self,
        initial: str = "1 h",
        parent: QWidget | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        kept: timedelta | None = None,
    ) -> None:
        super().__init__(parent)
        #: the app's now, where a range that follows now ends (a capture's: its end)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        #: how far back the page's data goes (a page that reads the cache: its retention);
        #: None: the page reads a server that keeps what it keeps (Loki, Tempo)
        self.kept = kept
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.range = QComboBox()
        self.range.setToolTip("The time range of every chart on this page")
        self.range.addItems([*PRESETS, ABSOLUTE])
        self.range.setCurrentText(initial)
        self.current = TimeRange.preset(initial)
        self.start = QDateTimeEdit()
        self.end = QDateTimeEdit()
        for edit in (self.start, self.end):
            edit.setTimeZone(QTimeZone.utc())
            edit.setDisplayFormat(SHOWN)
            edit.setCalendarPopup(True)
        self.apply = QPushButton("Show")
        self.apply.clicked.connect(self._on_apply)
        self.problem = PlainLabel()
        self.problem.setProperty("role", "error")
        layout.addWidget(self.range)
        self._absolute = [PlainLabel("from"), self.start, PlainLabel("to"), self.end, self.apply,
                          self.problem]  # fmt: skip
        for widget in self._absolute:
            layout.addWidget(widget)
        self._show_absolute(False)
        self.range.currentTextChanged.connect(self._on_range_changed)

    def select(self, label: str) -> None:
        """Show the preset ``label`` (what a jump to a moment chooses)."""
        self.range.setCurrentText(label)

    def show_span(self, start: datetime, end: datetime) -> None:
        """Show the absolute span from ``start`` to ``end`` (and tell the page): a jump to
        a moment, its window cut to what there is (up to now, from the oldest kept); one with
        nothing in it is said as a typed one is."""
        now = self.clock()
        if start < now < end:  # a window around a moment just past
            end = now
        if self.kept is not None and start < now - self.kept < end:  # around an old one
            # the fields hold whole seconds: the oldest one kept, not the one before it
            start = datetime.fromtimestamp(math.ceil((now - self.kept).timestamp()), UTC)
        self.range.setCurrentText(ABSOLUTE)  # opens the fields on the range shown before
        self.start.setDateTime(_to_qt(start))
        self.end.setDateTime(_to_qt(end))
        self._apply(now)

    def _show_absolute(self, shown: bool) -> None:
        for widget in self._absolute:
            widget.setVisible(shown and (widget is not self.problem or bool(self.problem.text())))

    def _on_range_changed(self, text: str) -> None:
        if text != ABSOLUTE:
            self.problem.setText("")
            self._show_absolute(False)
            self._emit(TimeRange.preset(text))
            return
        end = self.current.end or self.clock().replace(second=0, microsecond=0)
        self.start.setDateTime(_to_qt(end - self.current.window))
        self.end.setDateTime(_to_qt(end))
        self._show_absolute(True)

    def _on_apply(self) -> None:
        self._apply(self.clock())

    def _apply(self, now: datetime) -> None:
        try:
            chosen = TimeRange.between(
                _from_qt(self.start.dateTime()), _from_qt(self.end.dateTime()),
                now=now, kept=self.kept,
            )  # fmt: skip
        except ValueError as e:
            self.problem.setText(str(e))
            self.problem.show()
            return
        self.problem.setText("")
        self.problem.hide()
        self._emit(chosen)

    def _emit(self, chosen: TimeRange) -> None:
        self.current = chosen
        self.sig_changed.emit(chosen)


def preset_covering(age: timedelta) -> str:
    """The shortest preset that shows a moment ``age`` ago with a margin (the longest when
    none does)."""
    fitting = [label for label, s in PRESETS.items() if s >= age.total_seconds() * 1.1]
    return fitting[0] if fitting else list(PRESETS)[-1]
