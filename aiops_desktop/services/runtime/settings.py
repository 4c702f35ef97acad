"""The person's settings while the app runs: read at start (``Settings.load``), changed from
the Settings dialog, applied at once where they act (the live detector's sensitivity) and kept
in ``settings.json`` (written off the UI thread; an opened capture keeps them to itself)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.services.intelligence.anomalies import AnomalyService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import LlmSettings, Settings

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
    ) -> None:
        self.current = settings
        self.path = path
        self.persist = persist
        self._bus = bus
        self._anomalies = anomalies

    async def set_sensitivity(self, sensitivity: Sensitivity) -> Settings:
        """The live detector uses it from its next analysis; kept for the next start."""
        detection = self.current.detection.model_copy(update={"sensitivity": sensitivity})
        changed = self.current.model_copy(update={"detection": detection})
        if self.persist:
            await asyncio.to_thread(changed.save, self.path)
        self.current = changed
        self._anomalies.sensitivity = sensitivity
        self._bus.publish(SETTINGS_CHANGED, changed)
        return changed

    async def set_llm(self, llm: LlmSettings) -> Settings:
        """The model server (services/assistant/llm.py checks it first); kept like the rest,
        in one file written by one owner, so no change overwrites another."""
        changed = self.current.model_copy(update={"llm": llm})
        if self.persist:
            await asyncio.to_thread(changed.save, self.path)
        self.current = changed
        self._bus.publish(SETTINGS_CHANGED, changed)
        return changed
