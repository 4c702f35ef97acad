"""The person's settings while the app runs: read at start (``Settings.load``), changed from
the Settings dialog over the file as it is then (another process may have saved since),
applied at once where they act (the live detector's sensitivity, which the process running
the cache's live detection also reads again when the file changes) and kept in
``settings.json`` (written off the UI thread; an opened capture keeps them to itself)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel

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
        #: settings.json as its sensitivity was last taken from it (``_stamp``; None: never)
        self._followed: tuple[int, ...] | None = None

    def read(self) -> tuple[Settings, str | None]:
        """Blocking (call from a worker thread): the settings as settings.json has them now,
        and what to tell the person about it (``Settings.load``: bounded, and defaults for a
        file that cannot be used). Not ``current``: another process (the CLI's ``llm set``, a
        second window) may have saved since this one read the file. A capture's are its own
        (it keeps no file)."""
        if not self.persist:
            return self.current, None
        return Settings.load(self.path)

    async def _change(
        self, section: str, value: BaseModel, *, whole: bool = False
    ) -> tuple[Settings, Settings]:
        """One section changed, one change at a time (two changes made at once would each
        start from the same settings and the later write would drop the earlier one); the
        settings in the file just before, and as kept. Made over the file as it is now, not
        as this process read it: another process (the CLI's ``llm set``, a second window, a
        hand edit) may have saved since. Of ``value``, only the fields that differ from the
        section in use (``current``: what the person was shown and changed) are put over the
        file's section (``whole``: ``value`` as it is, all its fields chosen together); a
        window's dialog showing an older theme then keeps another window's theme, and the
        window's LLM model change keeps the CLI's endpoint. Only that section is written (the
        file's others are kept as they are on disk) and taken into ``current`` (the others
        stay as this process runs with them). A settings file that cannot be used is never
        written over (``Settings.update`` raises UsageError): the settings in use are then
        defaults, and the person's other values in it would be lost. The file is read, the
        change made over it and written under one OS lock (``Settings.update``)."""
        self.access.require(Action.SETTINGS)
        async with self._lock:
            in_use = self.current
            shown = getattr(in_use, section)

            def over(now: Settings) -> Settings:
                """The change made over the file's settings ``now``, read under the save's
                lock: an ``llm set`` saved just before is kept, not put back as it was."""
                made = value if whole else (
                    getattr(now, section).model_copy(update=_changes(shown, value)))  # fmt: skip
                return in_use.model_copy(update={section: made})

            if self.persist:
                update = Settings.update
                before, changed = await asyncio.to_thread(update, self.path, over, [section])
            else:  # a capture's are its own: no file
                before, changed = in_use, over(in_use)
            self.current = changed
        self._bus.publish(SETTINGS_CHANGED, changed)
        return before, changed

    async def set_sensitivity(self, sensitivity: Sensitivity) -> Settings:
        """The live detector uses it from its next analysis (run by another process on the
        cache: from its next round, ``follow_sensitivity``); kept for the next start."""
        detection = self.current.detection.model_copy(update={"sensitivity": sensitivity})
        _, changed = await self._change("detection", detection)
        self._anomalies.sensitivity = sensitivity
        return changed

    async def follow_sensitivity(self) -> None:
        """The sensitivity settings.json holds now, taken into use where the file changed
        since it was last taken (read only then: this runs before each live round, Core's
        ``anomalies``). The process that runs the cache's live detection (``one_per_cache``:
        the wall, or the window opened first) is often not the one whose Settings set it,
        and that one says it applies from the next analysis. Only from a file read without a
        problem: one this version refuses (a newer version's llm field, a hand edit's damage)
        or cannot read now (a sharing violation) keeps the sensitivity in use, not the
        default a start would take (its notice is said at a start, not here), and is read
        again next round. A capture's sensitivity is its own: no file."""
        if not self.persist:
            return
        async with self._lock:  # after a change made here, not between its write and use
            stamp = await asyncio.to_thread(_stamp, self.path)
            if stamp == self._followed:
                return
            settings = await asyncio.to_thread(Settings.usable, self.path)
            if settings is None:
                return
            self._followed = stamp  # (a write after the stamp: read again next round)
            self.current = self.current.model_copy(update={"detection": settings.detection})
            self._anomalies.sensitivity = settings.detection.sensitivity

    async def set_ui(self, ui: UiSettings) -> Settings:
        """The theme and font scale, kept for the next start (the window's look is set as it
        opens)."""
        return (await self._change("ui", ui))[1]

    async def set_account_role(self, role: UserRole) -> Settings:
        """The highest role this account runs as from the next start (an admin's change; the
        session goes on with the role it started with)."""
        if not self.persist:
            raise UsageError("a capture keeps no settings: set the role in the app's own")
        return (await self._change("access", AccessSettings(role=role)))[1]

    async def set_llm(
        self, llm: LlmSettings, *, whole: bool = False
    ) -> tuple[LlmSettings, LlmSettings]:
        """The model server (services/assistant/llm.py checks it first): the file's section
        just before (the server its stored key belongs to) and as kept (``_change``)."""
        before, changed = await self._change("llm", llm, whole=whole)
        return before.llm, changed.llm


def _stamp(path: Path) -> tuple[int, ...]:
    """What a write of the file at ``path`` changes (it is moved into place whole): its
    inode, time and size; () where there is none."""
    try:
        seen = path.stat()
    except OSError:
        return ()
    return seen.st_ino, seen.st_mtime_ns, seen.st_size


def _changes(shown: BaseModel, chosen: BaseModel) -> dict[str, object]:
    """The fields ``chosen`` gives otherwise than ``shown``: what the person changed."""
    fields = type(chosen).model_fields
    return {name: getattr(chosen, name) for name in fields
            if getattr(chosen, name) != getattr(shown, name)}  # fmt: skip
