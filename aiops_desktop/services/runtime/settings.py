"""The person's settings while the app runs: read at start (``Settings.load``), changed from
the Settings dialog, applied at once where they act (the live detector's sensitivity) and kept
in ``settings.json`` (written off the UI thread; an opened capture keeps them to itself)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiops_desktop.models.enums import Sensitivity, UserRole
from aiops_desktop.models.errors import UsageError
from aiops_desktop.services.intelligence.anomalies import AnomalyService
from aiops_desktop.services.runtime.access import Access, Action
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import AccessSettings, LlmSettings, Settings, UiSettings

SETTINGS_CHANGED = "settings.changed"  # payload: Settings


class SettingsService:
    def __init__(
        self,
        settings: Settings,
        path: Path,
        bus: EventBus,
        anomalies: AnomalyService,
        *,
        persist: bool = True,
        access: Access | None = None,
    ) -> None:
        self.current = settings
        self.access = access or Access()
        self.path = path
        self.persist = persist
        self._bus = bus
        self._anomalies = anomalies
        self._lock = asyncio.Lock()

    async def _change(self, section: str, value: object) -> Settings:
        """One section replaced, one change at a time (two changes made at once would each
        start from the same settings and the later write would drop the earlier one). Only
        that section is written: the file's others are kept as they are on disk, since
        another process (the CLI's ``llm set``, a hand edit) may have saved them after this
        one started. A settings file that cannot be used is never written over
        (``Settings.save`` raises UsageError): the settings in use are then defaults, and
        the person's other values in it would be lost."""
        self.access.require(Action.SETTINGS)
        async with self._lock:
            changed = self.current.model_copy(update={section: value})
            if self.persist:
                await asyncio.to_thread(changed.save, self.path, [section])
            self.current = changed
        self._bus.publish(SETTINGS_CHANGED, changed)
        return changed

    async def set_sensitivity(self, sensitivity: Sensitivity) -> Settings:
        """The live detector uses it from its next analysis; kept for the next start."""
        detection = self.current.detection.model_copy(update={"sensitivity": sensitivity})
        changed = await self._change("detection", detection)
        self._anomalies.sensitivity = sensitivity
        return changed

    async def set_ui(self, ui: UiSettings) -> Settings:
        """The theme and font scale, kept for the next start (the window's look is set as it
        opens)."""
        return await self._change("ui", ui)

    async def set_account_role(self, role: UserRole) -> Settings:
        """The highest role this account runs as from the next start (an admin's change; the
        session goes on with the role it started with)."""
        if not self.persist:
            raise UsageError("a capture keeps no settings: set the role in the app's own")
        return await self._change("access", AccessSettings(role=role))

    async def set_llm(self, llm: LlmSettings) -> Settings:
        """The model server (services/assistant/llm.py checks it first)."""
        return await self._change("llm", llm)
