"""A key an older version stored alone reaches no other server once this version has changed
the model server: its server may have changed without the key being bound (``llm set`` where
the keyring cannot be reached, the CLI over ssh; ``llm off`` then ``llm set``), so settings.json
says from this version's first change on that the key is stored with its server, and a key
stored alone is sent nowhere. An older version's key of other characters (a ':') is still read
as its server's. A locked keyring's check says to unlock it, not to start one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from aiops_desktop.secrets import LOCKED, SecretsError, SecretStore, SecretsUnavailableError
from aiops_desktop.services.assistant.llm import LLM_KEY_REF
from tests.qtfree.test_llm_key_binding import NEW, NEW_KEY, OLD, OLD_KEY, Backend, _llm, _stored

#: what an older version (before the token rule) stored: sent as it was
LEGACY_KEY = "team1:9f8e7d6c5b4a3f2e1d0c"
BLANK_KEY = "team1 9f8e7d6c5b4a3f2e1d0c"


#: the keyring out of reach (the CLI over ssh: no Secret Service), or there but locked
NO_DBUS = keyring.errors.InitError("no D-Bus session")
LOCKED_NOW = keyring.errors.KeyringLocked("Failed to unlock the collection!")


class Unreachable(Backend):
    """The keyring both sessions share, refusing every request with ``refusal`` while set."""

    refusal: Exception | None = None

    def _reach(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    def get_password(self, service: str, username: str) -> str | None:
        self._reach()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._reach()
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._reach()
        super().delete_password(service, username)


def _legacy(folder: Path, backend: Backend, key: str = OLD_KEY) -> Path:
    """The file naming OLD, the keyring holding its key alone, as an older version left them."""
    folder.mkdir(exist_ok=True)
    path = folder / "settings.json"
    path.write_text(json.dumps({"llm": {"endpoint": OLD, "model": "m"}}))
    backend.entries[LLM_KEY_REF.key] = key
    return path


@pytest.mark.asyncio
async def test_llm_set_where_the_keyring_is_out_of_reach_sends_a_key_stored_alone_nowhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = Unreachable()
    path = _legacy(tmp_path, backend)
    backend.refusal = NO_DBUS
    made = await _llm(path, backend).change(endpoint=NEW, model="m")
    assert made.settings.endpoint == NEW
    assert backend.entries == {LLM_KEY_REF.key: OLD_KEY}  # neither bound nor removed
    backend.refusal = None  # back in the desktop session
    window = _llm(path, backend)
    with caplog.at_level(logging.WARNING, logger="aiops.assistant.llm"):
        assert window.endpoint().api_key is None
    assert "the stored key was given for another server: set it again" in caplog.text
    assert not await window.has_key()


@pytest.mark.parametrize("with_key", [True, False], ids=["new-key", "no-key"])
@pytest.mark.asyncio
async def test_a_request_while_llm_set_follows_llm_off_sends_the_old_key_nowhere(
    tmp_path: Path, with_key: bool
) -> None:
    backend = Backend()
    path = _legacy(tmp_path, backend)
    await _llm(path, backend).turn_off()  # the key kept
    assert _stored(backend) == {"endpoint": OLD, "token": OLD_KEY}  # bound before it was off
    window, cli = _llm(path, backend), _llm(path, backend)
    sent: list[tuple[str, str | None]] = []

    def request() -> None:  # a chat request, each time the CLI writes or removes the key
        if json.loads(path.read_text())["llm"].get("endpoint") == NEW:
            e = window.endpoint()
            sent.append((e.base_url, e.api_key))
        else:
            backend.meanwhile = request

    backend.meanwhile = request
    await cli.set(endpoint=NEW, model="m", key=NEW_KEY if with_key else None)
    assert sent == [(NEW, None)]
    assert window.endpoint().api_key == (NEW_KEY if with_key else None)


@pytest.mark.asyncio
async def test_llm_off_where_the_keyring_is_out_of_reach_then_llm_set_sends_the_key_nowhere(
    tmp_path: Path,
) -> None:
    backend = Unreachable()
    path = _legacy(tmp_path, backend)
    backend.refusal = NO_DBUS
    await _llm(path, backend).turn_off()
    backend.refusal = None
    path.write_text(json.dumps({"llm": {**json.loads(path.read_text())["llm"], "endpoint": NEW}}))
    assert _llm(path, backend).endpoint().api_key is None  # the file as the next set writes it


@pytest.mark.asyncio
async def test_llm_off_is_not_refused_by_a_locked_keyring_and_the_key_is_sent_nowhere_after(
    tmp_path: Path,
) -> None:
    """Turning the model server off is never refused for the key it would bind."""
    backend = Unreachable()
    path = _legacy(tmp_path, backend)
    backend.refusal = LOCKED_NOW
    assert (await _llm(path, backend).turn_off()).endpoint is None
    backend.refusal = None
    path.write_text(json.dumps({"llm": {**json.loads(path.read_text())["llm"], "endpoint": NEW}}))
    assert _llm(path, backend).endpoint().api_key is None


@pytest.mark.asyncio
async def test_a_change_on_the_same_server_keeps_a_key_stored_alone_as_its_servers(
    tmp_path: Path,
) -> None:
    backend = Backend()
    path = _legacy(tmp_path, backend)
    llm = _llm(path, backend)
    await llm.set(endpoint=OLD, model="renamed")
    assert _stored(backend) == {"endpoint": OLD, "token": OLD_KEY}
    assert llm.endpoint().api_key == OLD_KEY


@pytest.mark.parametrize("key", [LEGACY_KEY, "20251207113045"], ids=["colon", "json-number"])
@pytest.mark.asyncio
async def test_a_key_an_older_version_stored_of_other_characters_is_still_its_servers(
    tmp_path: Path, key: str
) -> None:
    backend = Backend()
    llm = _llm(_legacy(tmp_path, backend, key), backend)
    assert llm.endpoint().api_key == key
    assert await llm.has_key()


@pytest.mark.asyncio
async def test_a_key_stored_alone_is_bound_at_a_change_where_this_version_keeps_such_a_key(
    tmp_path: Path,
) -> None:
    """A number is JSON, and still a key alone, as is a ``user:secret`` (one line of visible
    ASCII); a blank is no token this version keeps: it is not bound, and from the change on
    sent nowhere (set again, as this version keeps a key)."""
    numbers, colon, blank = Backend(), Backend(), Backend()
    llm = _llm(_legacy(tmp_path / "a", numbers, "20251207113045"), numbers)
    await llm.set(endpoint=OLD, model="renamed")
    assert _stored(numbers) == {"endpoint": OLD, "token": "20251207113045"}
    assert llm.endpoint().api_key == "20251207113045"
    llm = _llm(_legacy(tmp_path / "b", colon, LEGACY_KEY), colon)
    await llm.set(endpoint=OLD, model="renamed")
    assert _stored(colon) == {"endpoint": OLD, "token": LEGACY_KEY}
    llm = _llm(_legacy(tmp_path / "c", blank, BLANK_KEY), blank)
    await llm.set(endpoint=OLD, model="renamed")
    assert blank.entries == {LLM_KEY_REF.key: BLANK_KEY}
    assert llm.endpoint().api_key is None


@pytest.mark.asyncio
async def test_a_key_entry_of_two_lines_is_sent_nowhere(tmp_path: Path) -> None:
    backend = Backend()
    llm = _llm(_legacy(tmp_path, backend, f"{OLD_KEY}\n{NEW_KEY}"), backend)
    assert llm.endpoint().api_key is None
    assert not await llm.has_key()


class _Refusing(KeyringBackend):
    """A keyring that is there and refuses every request with ``error``."""

    priority = 1

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


def test_the_check_of_a_locked_keyring_says_to_unlock_it_not_to_start_one() -> None:
    store = SecretStore(_Refusing(keyring.errors.KeyringLocked("Failed to unlock")))
    with pytest.raises(SecretsError) as raised:
        store.check()
    assert not isinstance(raised.value, SecretsUnavailableError)
    assert LOCKED in str(raised.value)


def test_the_check_of_a_keyring_whose_prompt_was_dismissed_says_to_accept_it() -> None:
    exceptions = pytest.importorskip("secretstorage.exceptions")
    store = SecretStore(_Refusing(exceptions.PromptDismissedException("dismissed")))
    with pytest.raises(SecretsError) as raised:
        store.check()
    assert not isinstance(raised.value, SecretsUnavailableError)
    assert "accept its prompt" in str(raised.value)
