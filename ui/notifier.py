"""A new CRITICAL finding, told: a desktop notification when the person opted in (Settings;
the tray's balloon where the desktop has a tray), and always a line in the status bar. What
was already CRITICAL when the window opened is on screen, not news."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

from aiops_desktop.models.fleet import FleetTruth, new_critical
from aiops_desktop.models.text import one_line

SHOWN_MS = 15_000
#: the most of a notification's text shown (a server's alert summary may be any length)
MOST_CHARS = 300
#: notifications remembered in ``told``, at most (the newest): a flapping port all night
MAX_TOLD = 100


class CriticalNotifier(QObject):
    def __init__(
        self, icon: QIcon, status: Callable[[str, int], None], *, enabled: bool,
        parent: QObject | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self._icon = icon
        self._status = status
        self.enabled = enabled
        self._before: FleetTruth | None = None
        self._tray: QSystemTrayIcon | None = None
        #: the notifications sent, the newest ``MAX_TOLD`` (what a test or a log reads); what
        #: is news is judged against the last truth only, so nothing else is remembered
        self.told: list[str] = []

    def observe(self, truth: FleetTruth) -> list[str]:
        news = new_critical(self._before, truth)
        self._before = truth
        if not news:
            return []
        # one printable line, cut: its cluster, alert name and summary are a server's words
        first = one_line(news[0])[:MOST_CHARS]
        text = first if len(news) == 1 else f"{first} (+{len(news) - 1} more)"
        self._status(f"New CRITICAL: {text}", SHOWN_MS)
        if self.enabled:
            self.told.append(text)
            del self.told[:-MAX_TOLD]
            tray = self._tray_icon()
            if tray is not None:
                # escaped: a desktop's notification server reads the body as markup (a
                # PrometheusRule's summary could put a link or a tracking image in it)
                tray.showMessage("AIOps Desktop: new CRITICAL", html.escape(text),
                                 QSystemTrayIcon.MessageIcon.Critical, SHOWN_MS)  # fmt: skip
        return news

    def _tray_icon(self) -> QSystemTrayIcon | None:
        if self._tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(self._icon, self)
            self._tray.show()
        return self._tray
