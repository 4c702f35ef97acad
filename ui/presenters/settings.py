"""The Settings dialog's presenter: the settings of now, and a change applied (and kept) off
the UI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import Settings
from ui.presenters.base import Presenter


class SettingsPresenter(Presenter):
    """Signals: sig_saved(str): what was changed and where it is kept; sig_error(str)."""

    sig_saved = Signal(str)

    def __init__(
        self, *, settings: SettingsService, tasks: TaskSupervisor, parent: QObject | None = None
    ) -> None:
        super().__init__(tasks, parent=parent)
        self._settings = settings

    @property
    def current(self) -> Settings:
        return self._settings.current

    def set_sensitivity(self, sensitivity: Sensitivity) -> None:
        async def work() -> None:
            await self._settings.set_sensitivity(sensitivity)
            where = (
                f"kept in {self._settings.path}"
                if self._settings.persist
                else "for this window only (a capture keeps no settings)"
            )
            self.sig_saved.emit(
                f"Anomaly sensitivity {sensitivity.value} (threshold {sensitivity.threshold:g}), "
                f"{where}; it applies from the next analysis."
            )

        self.spawn("settings", work())
