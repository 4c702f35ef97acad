"""A new CRITICAL finding, told: a desktop notification when the person opted in (Settings;
the tray's balloon where the desktop has a tray), and always a line in the status bar. What
was already CRITICAL when the window opened is on screen, not news."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

from aiops_desktop.models.fleet import FleetTruth, new_critical

SHOWN_MS = 15_000
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
        text = news[0] if len(news) == 1 else f"{news[0]} (+{len(news) - 1} more)"
        self._status(f"New CRITICAL: {text}", SHOWN_MS)
        if self.enabled:
            self.told.append(text)
            del self.told[:-MAX_TOLD]
            tray = self._tray_icon()
            if tray is not None:
                tray.showMessage("AIOps Desktop: new CRITICAL", text,
                                 QSystemTrayIcon.MessageIcon.Critical, SHOWN_MS)  # fmt: skip
        return news

    def _tray_icon(self) -> QSystemTrayIcon | None:
        if self._tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(self._icon, self)
            self._tray.show()
        return self._tray
