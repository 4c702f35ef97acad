"""The person's model server: endpoint and model in ``settings.json``, the API key in the OS
keyring only (one fixed entry; never read from a file, never a reference a file supplies),
and a client made from them. ``test`` says whether the server answers and how fast."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pydantic import ValidationError

from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import CredentialKind
from aiops_desktop.models.errors import AppError, UsageError
from aiops_desktop.secrets import SecretStore, SecretsUnavailableError
from aiops_desktop.services.runtime.access import Action
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import LlmSettings
from collectors.errors import CollectorError
from collectors.llm import LlmClient, LlmEndpoint, Reply

log = logging.getLogger("aiops.assistant.llm")
#: the keyring entry of the model server's API key (this app's own name, never a file's)
LLM_KEY_REF = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="llm/api-key")
LLM_CHANGED = "llm.changed"  # payload: LlmSettings
NOT_CONFIGURED = (
    "no LLM is configured: set an OpenAI-compatible endpoint (llama.cpp server, vLLM, Ollama) "
    "in Settings or with `aiops-desktop llm set --endpoint URL --model NAME`; the analysis "
    "stands on its own without one"
)


class LlmNotConfigured(AppError):
    exit_code = 2


@dataclass(frozen=True)
class LlmCheck:
    """What ``llm test`` measured: the models offered, one short reply's latencies."""

    models: list[str]
    reply: Reply


class LlmService:
    """``preferences``: the one owner of settings.json (the LLM's section is kept there, the
    key in the keyring); a capture's preferences are kept for its window only."""

    def __init__(self, preferences: SettingsService, secrets: SecretStore, bus: EventBus) -> None:
        self._preferences = preferences
        self._secrets = secrets
        self._bus = bus

    @property
    def settings(self) -> LlmSettings:
        return self._preferences.current.llm

    @property
    def _persist(self) -> bool:
        return self._preferences.persist

    @property
    def configured(self) -> bool:
        return self.settings.configured

    def endpoint(self) -> LlmEndpoint:
        """Blocking (reads the keyring): call from a worker thread or the CLI."""
        s = self.settings
        if not s.configured or s.endpoint is None:
            raise LlmNotConfigured(NOT_CONFIGURED)
        key = None
        if self._persist:
            try:
                key = self._secrets.get(LLM_KEY_REF)
            except SecretsUnavailableError as exc:
                # a local server mostly needs no key; one that does answers 401, and the
                # client says what to do
                log.warning("LLM key not read", extra={"why": str(exc)[:200]})
        return LlmEndpoint(
            s.endpoint, s.model, api_key=key, verify=s.verify_tls, redact_ips=s.redact_ips,
            temperature=s.temperature, allow_remote=s.allow_remote,
        )  # fmt: skip

    async def client(self) -> LlmClient:
        return LlmClient(await asyncio.to_thread(self.endpoint))

    async def set(
        self, *, endpoint: str, model: str, key: str | None = None, forget_key: bool = False,
        verify_tls: bool = True, redact_ips: bool = False, allow_remote: bool | None = None,
    ) -> LlmSettings:  # fmt: skip
        """Checked (an http(s) URL without credentials in it), kept in settings.json; the
        key goes to the keyring (``forget_key`` removes it)."""
        if not self._persist:
            raise UsageError("a capture is read-only: set the LLM in the app's own settings")
        self._preferences.access.require(Action.SETTINGS)
        if key or forget_key:
            self._preferences.access.require(Action.CREDENTIALS)
        if allow_remote is None:  # as it was (the window's settings do not ask it)
            allow_remote = self.settings.allow_remote
        try:
            LlmEndpoint(endpoint, model or "-", allow_remote=allow_remote)  # said clearly
        except CollectorError as exc:
            raise UsageError(str(exc)) from None
        if not model.strip():
            raise UsageError("give the model's name (as the server lists it: `llm test`)")
        try:
            chosen = LlmSettings.model_validate({
                **self.settings.model_dump(), "endpoint": endpoint.strip(),
                "model": model.strip(), "verify_tls": verify_tls, "redact_ips": redact_ips,
                "allow_remote": allow_remote,
            })  # fmt: skip
        except ValidationError as exc:
            raise UsageError(f"LLM settings: {exc.errors()[0]['msg']}") from None

        def keep_key() -> None:
            if key:
                self._secrets.put(LLM_KEY_REF, key)
            elif forget_key:
                self._secrets.delete(LLM_KEY_REF)

        await asyncio.to_thread(keep_key)
        await self._preferences.set_llm(chosen)
        self._bus.publish(LLM_CHANGED, chosen)
        return chosen

    async def turn_off(self, *, forget_key: bool = False) -> LlmSettings:
        """No model server from now on (its endpoint removed from settings.json; the model's
        name and the other choices kept for the day it is set again); ``forget_key`` also
        removes its API key from the keyring."""
        if not self._persist:
            raise UsageError("a capture is read-only: set the LLM in the app's own settings")
        self._preferences.access.require(Action.SETTINGS)
        if forget_key:
            self._preferences.access.require(Action.CREDENTIALS)
            await asyncio.to_thread(self._secrets.delete, LLM_KEY_REF)
        chosen = self.settings.model_copy(update={"endpoint": None})
        await self._preferences.set_llm(chosen)
        self._bus.publish(LLM_CHANGED, chosen)
        return chosen

    async def has_key(self) -> bool:
        if not self._persist:
            return False
        try:
            return await asyncio.to_thread(self._secrets.get, LLM_KEY_REF) is not None
        except SecretsUnavailableError:
            return False

    async def test(self) -> LlmCheck:
        client = await self.client()
        try:
            models = await client.models()
            reply = await client.complete(
                [{"role": "user", "content": "Answer with one word: ready?"}], max_tokens=8,
                temperature=0.0,
            )  # fmt: skip
        finally:
            await client.aclose()
        return LlmCheck(models, reply)
