"""The person's model server: endpoint and model in ``settings.json``, the API key in the OS
keyring only (one fixed entry, the key with the endpoint it was given for; never read from a
file, never a reference a file supplies), and a client made from them. ``test`` says whether
the server answers and how fast (the one saved, or one typed in Settings before it is saved)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError

from aiops_desktop.models.cluster import shown_url
from aiops_desktop.models.credentials import TOKEN_RULE, CredentialRef, is_token_text
from aiops_desktop.models.enums import CredentialKind
from aiops_desktop.models.errors import AppError, UsageError
from aiops_desktop.secrets import SecretsError, SecretStore, SecretsUnavailableError, json_payload
from aiops_desktop.services.runtime.access import Action
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import LlmSettings
from collectors.errors import CollectorError
from collectors.llm import LlmClient, LlmEndpoint, Reply

log = logging.getLogger("aiops.assistant.llm")
T = TypeVar("T")  # what a keyring change returns (``_key_or_back``)
#: the keyring entry of the model server's API key (this app's own name, never a file's):
#: ``{"endpoint": the server it was given for, "token": the key}`` (``_StoredKey``)
LLM_KEY_REF = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="llm/api-key")
LLM_CHANGED = "llm.changed"  # payload: LlmSettings
NOT_CONFIGURED = (
    "no LLM is configured: set an OpenAI-compatible endpoint (llama.cpp server, vLLM, Ollama) "
    "in Settings or with `aiops-desktop llm set --endpoint URL --model NAME`; the analysis "
    "stands on its own without one"
)
#: a key an older version stored alone, the LLM since changed by this version (``_key_of``)
KEY_ALONE_UNBOUND = (
    "LLM key not sent: the stored key was given for another server: set it again "
    "(Settings, or `aiops-desktop llm set ... --key-stdin`)"
)
CHANGED_WHILE_READ = (
    "the model server's settings were changed while they were read (`llm set`, another "
    "window): nothing was sent; try again"
)


class LlmNotConfigured(AppError):
    exit_code = 2


#: the port a URL without one reaches, so that ``:443`` written or not is one server
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _server(endpoint: str) -> tuple[str, ...]:
    """An endpoint as the server it names: scheme and host in lower case (they are case-blind),
    the port (the scheme's own when none is written), the path without its trailing '/' and
    the query. A text that is no URL stands for itself."""
    text = endpoint.strip()
    try:
        parts = urlsplit(text)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return (text,)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), str(port),
            parts.path.rstrip("/"), parts.query)  # fmt: skip


def same_server(a: str | None, b: str | None) -> bool:
    """Whether two endpoints name one model server (its API key is sent to no other)."""
    return a is not None and b is not None and _server(a) == _server(b)


@dataclass(frozen=True)
class _StoredKey:
    """The API key in the keyring and the endpoint it was stored for (None: the server was
    turned off, so it is sent nowhere); ``alone``: stored by an older version without its
    server, taken as the key of the server the file names (as that version did) until this
    version changes the LLM (``LlmSettings.key_with_server``)."""

    key: str
    endpoint: str | None
    alone: bool = False

    @classmethod
    def of(cls, raw: str) -> _StoredKey | None:
        """The keyring entry's text: the payload ``LlmService.change`` stores (a JSON object
        with a ``"token"``), else a key alone, any text of one line, as an older version stored
        and sent it (before the token rule too: a ``:`` in it); None for anything else (two
        lines, or a payload without a key that can be sent: sent nowhere)."""
        try:
            payload = json_payload(raw) or {}
        except (ValueError, RecursionError):  # no JSON: a key alone
            payload = {}
        if "token" not in payload:
            if raw.strip() and "\n" not in raw and "\r" not in raw:
                return cls(raw, None, alone=True)
        else:
            key, endpoint = payload["token"], payload.get("endpoint")
            if isinstance(key, str) and is_token_text(key) and isinstance(endpoint, str | None):
                return cls(key, endpoint)
        log.warning("LLM key entry not understood: no key sent")
        return None

    @staticmethod
    def payload(key: str, endpoint: str | None) -> dict[str, str | None]:
        return {"endpoint": endpoint, "token": key}


@dataclass(frozen=True)
class LlmChange:
    """What ``LlmService.change`` kept, and what to tell the person beyond it (the API key
    stored for the server before removed: it is sent to no other), else None."""

    settings: LlmSettings
    said: str | None = None


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
        """As this process last read or changed them (what Settings shows); a request takes
        its server from the file (``_saved``), where its key's server is named."""
        return self._preferences.current.llm

    @property
    def _persist(self) -> bool:
        return self._preferences.persist

    @property
    def configured(self) -> bool:
        return self.settings.configured

    def endpoint(self) -> LlmEndpoint:
        """Blocking (reads settings.json and the keyring): call from a worker thread or the
        CLI. The server as the file names it now (``_saved``), with its key (``_key_of``)."""
        s, notice = self._saved()
        if not s.configured or s.endpoint is None:
            raise LlmNotConfigured(
                NOT_CONFIGURED if notice is None else f"{NOT_CONFIGURED} ({notice})"
            )
        return LlmEndpoint(
            s.endpoint, s.model, api_key=self._key_of(s), verify=s.verify_tls,
            redact_ips=s.redact_ips, temperature=s.temperature, allow_remote=s.allow_remote,
        )  # fmt: skip

    def _saved(self) -> tuple[LlmSettings, str | None]:
        """Blocking: the LLM's settings as settings.json has them now, and what to tell about
        the file (``SettingsService.read``). Not those this process read earlier: the CLI's
        ``llm set`` (or a second window) may since have set another server and stored that
        server's key, and the old server would then be sent the new one's key."""
        settings, notice = self._preferences.read()
        return settings.llm, notice

    def _key_of(self, saved: LlmSettings) -> str | None:
        """Blocking: the stored key where it was stored for the server ``saved`` names (the
        file's LLM section read just before), else none: ``llm set`` (the CLI, another
        window) writes the file first and the key after, and a request in between reads the
        new server and the old server's key. A key stored alone by an older version is the
        key of the server the file names (``_bind_key_alone`` binds it before this version's
        first change is saved): the file read again names the same server, else another
        process stored its server and key between the two readings, and the key is sent
        nowhere. Once this version has changed the LLM (``key_with_server``), a key stored
        alone is sent nowhere: it was not bound (the keyring out of reach, or no server named
        then), and the server may have changed since."""
        stored = self._stored_key()
        if stored is None:
            return None
        if stored.alone:
            if saved.key_with_server:
                log.warning(KEY_ALONE_UNBOUND)
                return None
            if self._saved()[0] != saved:
                raise AppError(CHANGED_WHILE_READ)
            return stored.key
        if not same_server(stored.endpoint, saved.endpoint):
            log.info("LLM key stored for another server: not sent")
            return None
        return stored.key

    def _stored_key(self) -> _StoredKey | None:
        """Blocking: the key in the keyring (None in a capture, or with no keyring)."""
        if not self._persist:
            return None
        try:
            raw = self._secrets.get(LLM_KEY_REF)
            return None if raw is None else _StoredKey.of(raw)
        except SecretsUnavailableError as exc:
            # a local server mostly needs no key; one that does answers 401, and the
            # client says what to do
            log.warning("LLM key not read", extra={"why": str(exc)[:200]})
            return None

    def typed_endpoint(
        self, *, endpoint: str, model: str, verify_tls: bool, key: str | None = None,
        forget_key: bool = False,
    ) -> LlmEndpoint:  # fmt: skip
        """Blocking (reads settings.json, may read the keyring): the server typed in Settings,
        not yet saved, with the key typed or else the stored one, but the stored key only when
        the endpoint is the saved server (``same_server``, as the file names it now:
        ``_saved``) with its TLS verification as saved: a key belongs to its server, and one
        typed could be anybody's (``forget_key``: the stored key is being removed, so none)."""
        s = self._saved()[0]
        endpoint, model = endpoint.strip(), model.strip()
        if not endpoint:
            raise LlmNotConfigured(NOT_CONFIGURED)
        if not model:
            raise UsageError("give the model's name (as the server lists it: `llm test`)")
        if key and not is_token_text(key):
            raise UsageError(f"the API key typed cannot be sent: a key is {TOKEN_RULE}")
        try:  # checked before the keyring is read
            typed = LlmEndpoint(
                endpoint, model, verify=verify_tls, redact_ips=s.redact_ips,
                temperature=s.temperature, allow_remote=s.allow_remote,
            )  # fmt: skip
        except CollectorError as exc:
            raise UsageError(str(exc)) from None
        # the stored key with the saved server only, and only as saved: not with "Verify TLS"
        # unticked before it is applied (whoever answers may not be that server)
        saved = same_server(endpoint, s.endpoint) and verify_tls == s.verify_tls
        if not key and not forget_key and saved:
            key = self._key_of(s)
        return dataclasses.replace(typed, api_key=key or None)

    async def client(self) -> LlmClient:
        return LlmClient(await asyncio.to_thread(self.endpoint))

    async def set(
        self, *, endpoint: str, model: str, key: str | None = None, forget_key: bool = False,
        verify_tls: bool = True, redact_ips: bool = False, allow_remote: bool | None = None,
    ) -> LlmSettings:  # fmt: skip
        """``change``, its settings alone."""
        changed = await self.change(
            endpoint=endpoint, model=model, key=key, forget_key=forget_key,
            verify_tls=verify_tls, redact_ips=redact_ips, allow_remote=allow_remote,
        )  # fmt: skip
        return changed.settings

    async def change(
        self, *, endpoint: str, model: str, key: str | None = None, forget_key: bool = False,
        verify_tls: bool = True, redact_ips: bool = False, allow_remote: bool | None = None,
    ) -> LlmChange:  # fmt: skip
        """Checked (an http(s) URL without credentials in it), kept in settings.json; the
        key goes to the keyring (``forget_key`` removes it). A key belongs to its server:
        another server (``same_server``) given without a key of its own gets none, the one
        stored removed and said (kept, every chat sent the old server's key to the new one);
        so does a server set while none was, unless the key was stored with that server (``llm
        off`` then ``llm set`` of it again keeps its key); a change that leaves it off (the
        CLI's ``llm off`` meanwhile) removes none.
        Made over the file as it is now (``SettingsService.set_llm``): only what differs from
        the settings shown is changed, so the CLI's server set meanwhile is kept when the
        window renames the model; a key given keeps the server given with it, as typed. The
        server before is the file's, the one the stored key belongs to."""
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
                "allow_remote": allow_remote, "key_with_server": True,
            })  # fmt: skip
        except ValidationError as exc:
            raise UsageError(f"LLM settings: {exc.errors()[0]['msg']}") from None

        if key and not is_token_text(key):  # refused before anything is changed
            raise UsageError(f"the API key is not kept: a key is {TOKEN_RULE}")
        await asyncio.to_thread(self._bind_key_alone)
        # the settings first, the key once they are kept: a save refused (the file changed
        # meanwhile) then leaves the key of the server still in use as it was; the key is
        # stored with its server, so a request between the two sends the old one nowhere
        previous, chosen = await self._preferences.set_llm(chosen, whole=bool(key))
        said = None
        if key:
            bound = _StoredKey.payload(key, chosen.endpoint)
            await self._key_or_back(previous, lambda: self._secrets.put_json(LLM_KEY_REF, bound),
                                    "could not be kept in")  # fmt: skip
        elif forget_key:
            await self._key_or_back(previous, lambda: self._secrets.delete(LLM_KEY_REF),
                                    "could not be removed from")  # fmt: skip
        elif chosen.endpoint is not None and not same_server(chosen.endpoint, previous.endpoint):
            # none (the file's ``llm off``, kept under the window's rename) is no other server:
            # off keeps its key, as ``llm off`` does
            removed = await self._key_or_back(previous, lambda: self._drop_key(chosen.endpoint),
                                              "could not be removed from")  # fmt: skip
            if removed:
                # shown as `llm show` shows it: an older version's ?api_key= never printed
                was = (
                    shown_url(previous.endpoint)
                    if previous.endpoint
                    else "the server turned off before"
                )
                said = (f"the stored API key was for {was}: removed; give the new server's key "
                        "if it needs one")  # fmt: skip
                log.info("LLM key of another server removed")
        self._bus.publish(LLM_CHANGED, chosen)
        return LlmChange(chosen, said)

    def _bind_key_alone(self) -> None:
        """Blocking, before a change of this version is saved (with ``key_with_server``, from
        when a key stored alone is sent nowhere): a key an older version stored alone is stored
        with the server the file names now (the one every request sent it to), so that it is
        still sent there, and to no other while the change is kept (the file naming the new
        server, the keyring still the old key). Not where the file names none (turned off, or
        unusable: its save is refused), nor once this version has changed it (the key's
        server is no longer known), nor a key this version does not keep (not token text:
        it is set again, as this version keeps a key)."""
        now = self._saved()[0]
        if now.endpoint is None or now.key_with_server:
            return
        stored = self._stored_key()
        if stored is None or not stored.alone:
            return
        if not is_token_text(stored.key):
            log.warning("LLM key stored alone not bound (no key this version keeps): set it again")
            return
        self._secrets.put_json(LLM_KEY_REF, _StoredKey.payload(stored.key, now.endpoint))
        log.info("LLM key stored alone bound to its server")

    def _drop_key(self, server: str | None) -> bool:
        """Blocking: the stored key removed, as another server's than ``server`` (the one now
        set, another than the file named before), unless it was stored with ``server`` itself:
        ``llm off`` keeps the key with its server, and ``llm set`` of that server again keeps
        it; whether one was removed. With no keyring to reach, none can be read either
        (``endpoint`` sends none): a keyless local server is still set on such a machine; a
        key read but not removed is refused."""
        stored = self._stored_key()
        if stored is not None and not stored.alone and same_server(server, stored.endpoint):
            return False
        try:
            return self._secrets.delete(LLM_KEY_REF)
        except SecretsUnavailableError:
            if self._stored_key() is not None:
                raise
            return False

    async def _key_or_back(self, previous: LlmSettings, change: Callable[[], T], failed: str) -> T:
        """The key changed in the keyring, the settings already kept; the keyring refusing,
        ``previous`` (the file's before) is put back as it was, so that a server never
        receives a key that is not its own (nor keeps one the person removed)."""
        try:
            return await asyncio.to_thread(change)
        except Exception as exc:
            try:
                await self._preferences.set_llm(previous, whole=True)
            except Exception as back:
                log.error("LLM settings not put back", extra={"why": str(back)[:200]})
                raise SecretsError(
                    f"The API key {failed} the OS keyring ({exc}), and the model server's "
                    f"settings could not be put back either ({back}): settings.json names "
                    "the new server while the keyring holds the old key. Set the LLM again "
                    "(or turn it off and remove its key) once both can be written."
                ) from exc
            raise SecretsError(
                f"The API key {failed} the OS keyring, so the model server's settings were "
                f"put back as they were (nothing was changed): {exc}"
            ) from exc

    async def turn_off(self, *, forget_key: bool = False) -> LlmSettings:
        """No model server from now on (its endpoint removed from settings.json; the model's
        name and the other choices kept for the day it is set again); ``forget_key`` also
        removes its API key from the keyring."""
        if not self._persist:
            raise UsageError("a capture is read-only: set the LLM in the app's own settings")
        self._preferences.access.require(Action.SETTINGS)
        if forget_key:
            self._preferences.access.require(Action.CREDENTIALS)
        off = self.settings.model_copy(update={"endpoint": None, "key_with_server": True})
        # a key stored alone bound first (its server is no longer named once off), then off,
        # the key removed once that is kept (as in ``set``). Never refused for the binding (a
        # locked keyring): a key stored alone is then sent nowhere (``key_with_server``)
        try:
            await asyncio.to_thread(self._bind_key_alone)
        except SecretsError as exc:
            log.warning("LLM key stored alone not bound", extra={"why": str(exc)[:200]})
        previous, chosen = await self._preferences.set_llm(off)
        if forget_key:
            await self._key_or_back(previous, lambda: self._secrets.delete(LLM_KEY_REF),
                                    "could not be removed from")  # fmt: skip
        self._bus.publish(LLM_CHANGED, chosen)
        return chosen

    async def has_key(self) -> bool:
        """Whether a key is stored for the server in use (a key stored for another, or one
        stored alone once this version has changed the LLM, is sent nowhere: ``_key_of``)."""
        stored = await asyncio.to_thread(self._stored_key)
        if stored is None:
            return False
        if stored.alone:
            return not self.settings.key_with_server
        return same_server(stored.endpoint, self.settings.endpoint)

    async def test(
        self, *, endpoint: str | None = None, model: str = "", verify_tls: bool = True,
        key: str | None = None, forget_key: bool = False,
    ) -> LlmCheck:  # fmt: skip
        """The saved server; or, ``endpoint`` given, the one typed (``typed_endpoint``),
        nothing saved."""
        if endpoint is None:
            client = await self.client()
        else:
            client = LlmClient(await asyncio.to_thread(
                self.typed_endpoint, endpoint=endpoint, model=model, verify_tls=verify_tls,
                key=key, forget_key=forget_key,
            ))  # fmt: skip
        try:
            models = await client.models()
            reply = await client.complete(
                [{"role": "user", "content": "Answer with one word: ready?"}], max_tokens=8,
                temperature=0.0,
            )  # fmt: skip
        finally:
            await client.aclose()
        return LlmCheck(models, reply)
