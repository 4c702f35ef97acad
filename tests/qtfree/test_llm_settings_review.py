"""The model server's settings and its API key never disagree: a change whose save is refused
leaves the key as it was (the server still in use would otherwise send the new one), and a
keyring write that fails puts the settings back. A test asks the server typed, not the one
saved, and sends the stored key only to the server it belongs to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.errors import AppError, UsageError
from aiops_desktop.secrets import SecretsUnavailableError
from aiops_desktop.services.assistant import llm as llm_module
from aiops_desktop.services.assistant.llm import LLM_CHANGED, LLM_KEY_REF, LlmService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import Settings
from collectors.llm import LlmEndpoint, Reply

OLD = "http://127.0.0.1:8080/v1"
NEW = "http://127.0.0.1:11434/v1"
OLD_KEY = "sk-key-of-the-old-server-0123456789"
NEW_KEY = "sk-key-of-the-new-server-9876543210"


class Keyring:
    """The calls LlmService makes of the SecretStore; ``broken``: every write fails as a
    keyring that went away does."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.broken = False

    def put(self, ref: CredentialRef, secret: str) -> None:
        if self.broken:
            raise SecretsUnavailableError("gone")
        self.keys[ref.key] = secret

    def get(self, ref: CredentialRef) -> str | None:
        return self.keys.get(ref.key)

    def delete(self, ref: CredentialRef) -> bool:
        if self.broken:
            raise SecretsUnavailableError("gone")
        return self.keys.pop(ref.key, None) is not None


def _service(tmp_path: Path) -> tuple[LlmService, Keyring, Path, list[Any]]:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"llm": {"endpoint": OLD, "model": "a"}}))
    keys = Keyring()
    keys.put(LLM_KEY_REF, OLD_KEY)
    bus = EventBus()
    changed: list[Any] = []
    bus.subscribe(LLM_CHANGED, changed.append)
    prefs = SettingsService(Settings.load(path)[0], path, bus, anomalies=None)  # type: ignore[arg-type]
    return LlmService(prefs, keys, bus), keys, path, changed  # type: ignore[arg-type]


def _damaged_file(path: Path) -> None:
    """The file is damaged meanwhile (a hand edit cut short): every save is refused, so that
    what it holds is not lost."""
    path.write_text(path.read_text()[:-3])


@pytest.mark.asyncio
async def test_a_refused_change_leaves_the_key_of_the_server_in_use(tmp_path: Path) -> None:
    llm, keys, path, changed = _service(tmp_path)
    _damaged_file(path)
    with pytest.raises(UsageError):
        await llm.set(endpoint=NEW, model="b", key=NEW_KEY)
    in_use = llm.endpoint()
    assert (in_use.base_url, in_use.api_key) == (OLD, OLD_KEY)  # the new key not sent to OLD
    assert keys.keys[LLM_KEY_REF.key] == OLD_KEY and changed == []


@pytest.mark.asyncio
async def test_a_refused_turn_off_keeps_the_key(tmp_path: Path) -> None:
    llm, _keys, path, changed = _service(tmp_path)
    _damaged_file(path)
    with pytest.raises(UsageError):
        await llm.turn_off(forget_key=True)
    assert llm.endpoint().api_key == OLD_KEY and llm.settings.endpoint == OLD
    assert changed == []


@pytest.mark.asyncio
async def test_a_key_not_kept_puts_the_settings_back(tmp_path: Path) -> None:
    llm, keys, path, changed = _service(tmp_path)
    keys.broken = True
    with pytest.raises(AppError) as refused:
        await llm.set(endpoint=NEW, model="b", key=NEW_KEY)
    assert "put back" in str(refused.value)  # said: nothing is left half changed
    # the old key never goes to the new server: the settings are the old ones again
    assert (llm.settings.endpoint, llm.settings.model) == (OLD, "a")
    assert json.loads(path.read_text())["llm"]["endpoint"] == OLD
    assert keys.keys[LLM_KEY_REF.key] == OLD_KEY and changed == []


@pytest.mark.asyncio
async def test_a_key_not_removed_puts_the_server_back(tmp_path: Path) -> None:
    llm, keys, path, changed = _service(tmp_path)
    keys.broken = True
    with pytest.raises(AppError) as refused:
        await llm.turn_off(forget_key=True)
    assert "put back" in str(refused.value)
    assert llm.settings.endpoint == OLD and json.loads(path.read_text())["llm"]["endpoint"] == OLD
    assert changed == []


@pytest.mark.asyncio
async def test_a_key_that_is_no_token_is_refused_before_anything_is_saved(tmp_path: Path) -> None:
    llm, keys, path, changed = _service(tmp_path)
    with pytest.raises(UsageError):
        await llm.set(endpoint=NEW, model="b", key="two\nlines")
    assert llm.settings.endpoint == OLD and json.loads(path.read_text())["llm"]["endpoint"] == OLD
    assert keys.keys[LLM_KEY_REF.key] == OLD_KEY and changed == []


@pytest.mark.asyncio
async def test_a_change_kept_keeps_the_key(tmp_path: Path) -> None:
    llm, keys, path, changed = _service(tmp_path)
    await llm.set(endpoint=NEW, model="b", key=NEW_KEY)
    assert (llm.endpoint().base_url, llm.endpoint().api_key) == (NEW, NEW_KEY)
    assert json.loads(path.read_text())["llm"]["endpoint"] == NEW and len(changed) == 1
    await llm.turn_off(forget_key=True)
    assert LLM_KEY_REF.key not in keys.keys and llm.settings.endpoint is None


class Asked:
    """Stands in for the HTTP client: records the server asked and the key sent."""

    seen: ClassVar[list[LlmEndpoint]] = []

    def __init__(self, endpoint: LlmEndpoint) -> None:
        Asked.seen.append(endpoint)

    async def models(self) -> list[str]:
        return ["m"]

    async def complete(self, *args: Any, **kw: Any) -> Reply:
        return Reply("ready", [], "stop", 1, 1, 5.0, 9.0)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[LlmEndpoint]:
    Asked.seen = []
    monkeypatch.setattr(llm_module, "LlmClient", Asked)
    return Asked.seen


@pytest.mark.asyncio
async def test_a_test_asks_the_server_typed_and_saves_nothing(
    tmp_path: Path, asked: list[LlmEndpoint]
) -> None:
    llm, _keys, path, changed = _service(tmp_path)
    before = path.read_text()
    await llm.test(endpoint=NEW, model="b", verify_tls=False)
    assert [(e.base_url, e.model, e.verify) for e in asked] == [(NEW, "b", False)]
    assert asked[0].api_key is None  # the old server's key is not sent to another
    assert path.read_text() == before and llm.settings.endpoint == OLD and changed == []


@pytest.mark.asyncio
async def test_a_test_sends_the_key_typed_or_the_one_of_that_server(
    tmp_path: Path, asked: list[LlmEndpoint]
) -> None:
    llm, keys, _path, _changed = _service(tmp_path)
    await llm.test(endpoint=NEW, model="b", key=NEW_KEY)
    await llm.test(endpoint=OLD + " ", model="c")  # the saved server: its own key
    await llm.test(endpoint=OLD, model="c", forget_key=True)  # a key being removed: none
    assert [(e.base_url, e.api_key) for e in asked] == [
        (NEW, NEW_KEY), (OLD, OLD_KEY), (OLD, None),
    ]  # fmt: skip
    assert keys.keys[LLM_KEY_REF.key] == OLD_KEY  # the key typed is not kept by a test


@pytest.mark.asyncio
async def test_a_test_of_what_cannot_be_asked_says_why(
    tmp_path: Path, asked: list[LlmEndpoint]
) -> None:
    llm, *_ = _service(tmp_path)
    with pytest.raises(UsageError, match="model's name"):
        await llm.test(endpoint=NEW, model=" ")
    with pytest.raises(UsageError, match="on this machine"):
        await llm.test(endpoint="http://10.0.0.9/v1", model="b")
    with pytest.raises(AppError, match="no LLM is configured"):
        await llm.test(endpoint="", model="b")
    assert asked == []
    await llm.test()  # as saved (the CLI's `llm test`)
    assert [(e.base_url, e.api_key) for e in asked] == [(OLD, OLD_KEY)]
