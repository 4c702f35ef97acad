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
from aiops_desktop.services.assistant.llm import (
    LLM_CHANGED,
    LLM_KEY_REF,
    LlmNotConfigured,
    LlmService,
)
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import Settings
from collectors.llm import LlmEndpoint, Reply
from tests.qtfree.test_settings_service_fresh import Keyring as SharedKeyring

OLD = "http://127.0.0.1:8080/v1"
NEW = "http://127.0.0.1:11434/v1"
OLD_KEY = "sk-key-of-the-old-server-0123456789"
NEW_KEY = "sk-key-of-the-new-server-9876543210"


class Keyring(SharedKeyring):
    """The calls LlmService makes of the SecretStore; ``broken``: every write fails as a
    keyring that went away does."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def put(self, ref: CredentialRef, secret: str) -> None:
        if self.broken:
            raise SecretsUnavailableError("gone")
        super().put(ref, secret)

    def delete(self, ref: CredentialRef) -> bool:
        if self.broken:
            raise SecretsUnavailableError("gone")
        return super().delete(ref)


def _service(tmp_path: Path) -> tuple[LlmService, Keyring, Path, list[Any]]:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"llm": {"endpoint": OLD, "model": "a"}}))
    keys = Keyring()
    keys.put_json(LLM_KEY_REF, {"endpoint": OLD, "token": OLD_KEY})  # stored with its server
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
    # the file damaged, no server is known to own the stored key: none is sent it (the
    # server this process read earlier may no longer be the key's), and the key is kept
    with pytest.raises(LlmNotConfigured, match="is not valid"):
        llm.endpoint()
    assert keys.stored() == (OLD, OLD_KEY) and changed == []


@pytest.mark.asyncio
async def test_a_refused_turn_off_keeps_the_key(tmp_path: Path) -> None:
    llm, keys, path, changed = _service(tmp_path)
    _damaged_file(path)
    with pytest.raises(UsageError):
        await llm.turn_off(forget_key=True)
    with pytest.raises(LlmNotConfigured, match="is not valid"):
        llm.endpoint()  # nothing sent while the file names no server (see above)
    assert keys.stored() == (OLD, OLD_KEY) and llm.settings.endpoint == OLD
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
    assert keys.stored() == (OLD, OLD_KEY) and changed == []


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
    assert keys.stored() == (OLD, OLD_KEY) and changed == []


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
    assert keys.stored() == (OLD, OLD_KEY)  # the key typed is not kept by a test


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


# --- review #4: a key belongs to its server ------------------------------------------------------

#: the saved server OLD as it may be typed again: still OLD, its key kept and sent
OLD_TYPED = [OLD + "/", " " + OLD + "// ", "HTTP://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/"]


@pytest.mark.asyncio
async def test_apply_of_another_server_without_a_key_removes_the_stored_one(
    tmp_path: Path,
) -> None:
    """Apply of a new endpoint with the key field left empty kept the old server's key, and
    every chat sent it to the new server (anybody's, with --allow-remote)."""
    llm, keys, path, changed = _service(tmp_path)
    result = await llm.change(endpoint=NEW, model="b")
    assert result.settings.endpoint == NEW and len(changed) == 1
    assert result.said is not None
    assert f"the stored API key was for {OLD}: removed" in result.said
    assert "give the new server's key" in result.said
    assert LLM_KEY_REF.key not in keys.keys
    in_use = llm.endpoint()
    assert (in_use.base_url, in_use.api_key) == (NEW, None)
    assert json.loads(path.read_text())["llm"]["endpoint"] == NEW


@pytest.mark.asyncio
async def test_apply_of_another_server_with_its_key_replaces_the_stored_one(
    tmp_path: Path,
) -> None:
    llm, keys, _path, _changed = _service(tmp_path)
    result = await llm.change(endpoint=NEW, model="b", key=NEW_KEY)
    assert result.said is None and keys.stored() == (NEW, NEW_KEY)
    assert llm.endpoint().api_key == NEW_KEY
    # ``set`` is the same change, its settings alone (the CLI's and the window's)
    chosen = await llm.set(endpoint=OLD, model="a")
    assert chosen.endpoint == OLD and LLM_KEY_REF.key not in keys.keys


@pytest.mark.parametrize("typed", OLD_TYPED)
@pytest.mark.asyncio
async def test_the_same_server_typed_otherwise_keeps_its_key(tmp_path: Path, typed: str) -> None:
    """Scheme and host in any case, a trailing '/' or spaces: the same server, its key kept
    (a model, TLS or redaction changed is no other server)."""
    llm, keys, _path, _changed = _service(tmp_path)
    result = await llm.change(endpoint=typed, model="c", verify_tls=False, redact_ips=True)
    assert result.said is None and keys.stored() == (OLD, OLD_KEY)
    assert llm.endpoint().api_key == OLD_KEY and llm.settings.model == "c"


@pytest.mark.asyncio
async def test_another_port_or_path_is_another_server(tmp_path: Path) -> None:
    for other in (
        "http://127.0.0.1:8081/v1",
        "http://127.0.0.1:8080/v2",
        "https://127.0.0.1:8080/v1",
    ):
        llm, keys, _path, _changed = _service(tmp_path)
        result = await llm.change(endpoint=other, model="a")
        assert result.said is not None and LLM_KEY_REF.key not in keys.keys, other


@pytest.mark.asyncio
async def test_no_key_stored_nothing_is_said(tmp_path: Path) -> None:
    llm, keys, _path, _changed = _service(tmp_path)
    del keys.keys[LLM_KEY_REF.key]
    result = await llm.change(endpoint=NEW, model="b")
    assert result.said is None and llm.settings.endpoint == NEW


@pytest.mark.asyncio
async def test_a_server_set_again_after_off_does_not_get_the_key_of_the_one_before(
    tmp_path: Path,
) -> None:
    """Turned off without removing its key, the key's server is no longer known: any server
    set then without a key of its own gets none."""
    llm, keys, _path, _changed = _service(tmp_path)
    await llm.turn_off()
    assert keys.stored() == (OLD, OLD_KEY)
    result = await llm.change(endpoint=NEW, model="b")
    assert result.said is not None and "removed" in result.said
    assert LLM_KEY_REF.key not in keys.keys and llm.endpoint().api_key is None


@pytest.mark.asyncio
async def test_a_key_that_cannot_be_removed_for_another_server_changes_nothing(
    tmp_path: Path,
) -> None:
    llm, keys, path, changed = _service(tmp_path)
    keys.broken = True  # its key still read, but not removed
    with pytest.raises(AppError, match="put back"):
        await llm.change(endpoint=NEW, model="b")
    assert llm.settings.endpoint == OLD and json.loads(path.read_text())["llm"]["endpoint"] == OLD
    assert changed == []


@pytest.mark.asyncio
async def test_no_keyring_at_all_a_keyless_server_is_still_set(tmp_path: Path) -> None:
    """A machine without a keyring (a local server needs no key) can still change its server:
    no key can be read there either."""

    class NoKeyring(Keyring):
        def get(self, ref: CredentialRef) -> str | None:
            raise SecretsUnavailableError("none")

        def delete(self, ref: CredentialRef) -> bool:
            raise SecretsUnavailableError("none")

    llm, _keys, _path, _changed = _service(tmp_path)
    llm._secrets = NoKeyring()  # type: ignore[assignment]
    result = await llm.change(endpoint=NEW, model="b")
    assert result.settings.endpoint == NEW and llm.settings.endpoint == NEW


@pytest.mark.parametrize("typed", OLD_TYPED)
@pytest.mark.asyncio
async def test_a_test_of_the_saved_server_typed_otherwise_sends_its_key(
    tmp_path: Path, asked: list[LlmEndpoint], typed: str
) -> None:
    llm, *_ = _service(tmp_path)
    await llm.test(endpoint=typed, model="a")
    assert asked[-1].api_key == OLD_KEY


@pytest.mark.asyncio
async def test_a_test_without_the_saved_tls_verification_sends_no_stored_key(
    tmp_path: Path, asked: list[LlmEndpoint]
) -> None:
    """'Verify TLS' unticked and not yet applied: the stored key is not sent where the
    server's certificate is not checked (it may not be that server)."""
    llm, *_ = _service(tmp_path)
    await llm.test(endpoint=OLD, model="a", verify_tls=False)
    assert (asked[-1].verify, asked[-1].api_key) == (False, None)
    await llm.test(endpoint=OLD, model="a", verify_tls=False, key=NEW_KEY)  # one typed: sent
    assert asked[-1].api_key == NEW_KEY
    await llm.change(endpoint=OLD, model="a", verify_tls=False)  # applied: its own choice
    await llm.test(endpoint=OLD, model="a", verify_tls=False)
    assert asked[-1].api_key == OLD_KEY
