"""The person's model server: endpoint and model in ``settings.json``, the API key in the OS
keyring only (one fixed entry; never read from a file, never a reference a file supplies),
and a client made from them. ``test`` says whether the server answers and how fast."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import CredentialKind
from aiops_desktop.models.errors import AppError, UsageError
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import LlmSettings, Settings
from collectors.llm import LlmClient, LlmEndpoint, Reply

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
    def __init__(
        self, settings: Settings, path: Path, secrets: SecretStore, bus: EventBus, *,
        persist: bool = True,
    ) -> None:  # fmt: skip
        self.settings = settings.llm
        self._all = settings
        self._path = path
        self._secrets = secrets
        self._bus = bus
        self._persist = persist

    @property
    def configured(self) -> bool:
        return self.settings.configured

    def endpoint(self) -> LlmEndpoint:
        """Blocking (reads the keyring): call from a worker thread or the CLI."""
        if not self.settings.configured or self.settings.endpoint is None:
            raise LlmNotConfigured(NOT_CONFIGURED)
        key = self._secrets.get(LLM_KEY_REF) if self._persist else None
        return LlmEndpoint(
            self.settings.endpoint, self.settings.model, api_key=key,
            verify=self.settings.verify_tls, redact_ips=self.settings.redact_ips,
        )  # fmt: skip

    async def client(self) -> LlmClient:
        return LlmClient(await asyncio.to_thread(self.endpoint))

    async def set(
        self, *, endpoint: str, model: str, key: str | None = None, forget_key: bool = False,
        verify_tls: bool = True, redact_ips: bool = False,
    ) -> LlmSettings:  # fmt: skip
        """Checked (an http(s) URL without credentials in it), kept in settings.json; the
        key goes to the keyring (``forget_key`` removes it)."""
        if not self._persist:
            raise UsageError("a capture is read-only: set the LLM in the app's own settings")
        LlmEndpoint(endpoint, model or "-")  # refuses a bad URL with a clear message
        if not model.strip():
            raise UsageError("give the model's name (as the server lists it: `llm test`)")
        chosen = LlmSettings(
            endpoint=endpoint.strip(), model=model.strip(), verify_tls=verify_tls,
            redact_ips=redact_ips,
        )  # fmt: skip
        changed = self._all.model_copy(update={"llm": chosen})

        def keep() -> None:
            if key:
                self._secrets.put(LLM_KEY_REF, key)
            elif forget_key:
                self._secrets.delete(LLM_KEY_REF)
            changed.save(self._path)

        await asyncio.to_thread(keep)
        self._all, self.settings = changed, chosen
        self._bus.publish(LLM_CHANGED, chosen)
        return chosen

    async def has_key(self) -> bool:
        if not self._persist:
            return False
        return await asyncio.to_thread(self._secrets.get, LLM_KEY_REF) is not None

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
