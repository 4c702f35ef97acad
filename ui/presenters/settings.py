"""The Settings dialog's presenter: the settings of now, and a change applied (and kept) off
the UI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.enums import Sensitivity, UserRole
from aiops_desktop.services.assistant.llm import LlmService
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.settings import Settings, UiSettings
from ui.presenters.base import Presenter


class SettingsPresenter(Presenter):
    """Signals: sig_saved(str): what was changed and where it is kept; sig_llm_saved(): the
    model server's settings (and key) were kept, after its sig_saved; sig_llm_tested(str):
    what the model server answered; sig_error(str)."""

    sig_saved = Signal(str)
    sig_llm_saved = Signal()
    sig_llm_tested = Signal(str)
    sig_notify = Signal(bool)

    def __init__(
        self, *, settings: SettingsService, tasks: TaskSupervisor, llm: LlmService | None = None,
        parent: QObject | None = None,
    ) -> None:  # fmt: skip
        super().__init__(tasks, parent=parent)
        self._settings = settings
        self.llm = llm

    def set_look(self, theme: str, font_scale: float, notify_critical: bool) -> None:
        """The theme and font scale (from the next start) and the notifications (at once)."""

        async def work() -> None:
            ui = UiSettings(theme=theme, font_scale=font_scale,  # type: ignore[arg-type]
                            notify_critical=notify_critical)  # fmt: skip
            await self._settings.set_ui(ui)
            self.sig_notify.emit(notify_critical)
            self.sig_saved.emit(
                f"Theme {theme}, font scale {font_scale:g}: from the next start; "
                f"notifications of new CRITICAL findings {'on' if notify_critical else 'off'}"
                + ("" if self._settings.persist else " (a capture keeps no settings)")
                + "."
            )

        self.spawn("look", work())

    def set_account_role(self, role: str) -> None:
        async def work() -> None:
            await self._settings.set_account_role(UserRole(role))
            self.sig_saved.emit(f"This account runs as {role} at most, from the next start.")

        self.spawn("role", work())

    def set_llm(
        self, *, endpoint: str, model: str, key: str, forget_key: bool, verify_tls: bool,
        redact_ips: bool,
    ) -> None:  # fmt: skip
        """The model server: settings kept in settings.json, the key in the OS keyring."""
        llm = self.llm
        if llm is None:
            return

        async def work() -> None:
            made = await llm.change(endpoint=endpoint, model=model, key=key or None,
                                    forget_key=forget_key, verify_tls=verify_tls,
                                    redact_ips=redact_ips)  # fmt: skip
            chosen = made.settings
            said = "; the API key is in the OS keyring" if key else ""
            said += f"; {made.said}" if made.said else ""  # the key of the server before
            self.sig_saved.emit(f"LLM: {chosen.endpoint}, model {chosen.model}{said}.")
            self.sig_llm_saved.emit()

        self.spawn("LLM settings", work())

    def turn_llm_off(self, *, forget_key: bool) -> None:
        """No model server from now on (and its key removed from the keyring, if asked)."""
        llm = self.llm
        if llm is None:
            return

        async def work() -> None:
            await llm.turn_off(forget_key=forget_key)
            said = "; its API key was removed from the OS keyring" if forget_key else ""
            self.sig_saved.emit(f"LLM off: the chat and explanations use no model server{said}.")

        self.spawn("LLM settings", work())

    def test_llm(
        self, *, endpoint: str, model: str, key: str, forget_key: bool, verify_tls: bool
    ) -> None:
        """The server typed (not the one saved: the person tests before Apply), with the key
        typed, or else the stored one if it is the saved server; nothing is saved."""
        llm = self.llm
        if llm is None:
            return

        async def work() -> None:
            check = await llm.test(endpoint=endpoint, model=model, verify_tls=verify_tls,
                                   key=key or None, forget_key=forget_key)  # fmt: skip
            r = check.reply
            first = "-" if r.first_token_ms is None else f"{r.first_token_ms:.0f} ms"
            self.sig_llm_tested.emit(
                f"The server answers: models {', '.join(check.models) or 'none listed'}; "
                f"first token {first}, whole reply {r.total_ms:.0f} ms."
            )

        self.spawn("LLM test", work(), on_error=self.sig_llm_tested.emit)

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
