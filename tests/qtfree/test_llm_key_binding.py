"""The model server's API key is stored with the server it belongs to, and sent to no other:
``llm set`` writes settings.json first and the keyring after, and a window's request in
between read the new server from the file and the old server's key from the keyring (the file
read twice named the same server). A key an older version stored alone is read as before,
and bound to its server before the file names another. A window's change is made over the
file as it is under the save's lock, so an ``llm set`` landing just before is kept."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from aiops_desktop import settings as settings_module
from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.models.errors import UsageError
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.assistant.llm import LLM_KEY_REF, LlmService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import Settings

OLD, NEW = "http://127.0.0.1:8080/v1", "http://127.0.0.1:9000/v1"
OLD_KEY = "sk-old-server-7d1e4b92c05a38f6"
NEW_KEY = "sk-new-server-2b8f60c4e91d57a3"


class Backend(KeyringBackend):
    """The OS keyring both processes share; ``meanwhile`` runs once, as the next write or
    removal begins (while the keyring asks to be unlocked, say)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, str] = {}
        self.meanwhile: Callable[[], None] | None = None

    def _first(self) -> None:
        hook, self.meanwhile = self.meanwhile, None
        if hook is not None:
            hook()

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._first()
        self.entries[username] = password

    def delete_password(self, service: str, username: str) -> None:
        self._first()
        if self.entries.pop(username, None) is None:
            raise PasswordDeleteError("not there")


class _Anomalies:
    sensitivity = Sensitivity.MEDIUM


def _llm(path: Path, backend: Backend) -> LlmService:
    """One process's model server service, the file read at its start."""
    prefs = SettingsService(Settings.load(path)[0], path, EventBus(), _Anomalies())  # type: ignore[arg-type]
    return LlmService(prefs, SecretStore(backend), EventBus())


def _stored(backend: Backend) -> dict[str, str] | None:
    raw = backend.entries.get(LLM_KEY_REF.key)
    return None if raw is None else json.loads(raw)


@pytest.fixture
def old_server(tmp_path: Path) -> Iterator[tuple[Path, Backend]]:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"llm": {"endpoint": OLD, "model": "m"}}))
    yield path, Backend()


@pytest.mark.parametrize("legacy", [False, True], ids=["bound", "stored-alone"])
@pytest.mark.parametrize("with_key", [True, False], ids=["new-key", "no-key"])
@pytest.mark.asyncio
async def test_a_request_while_llm_set_stores_the_key_sends_the_old_key_nowhere_else(
    old_server: tuple[Path, Backend], with_key: bool, legacy: bool
) -> None:
    path, backend = old_server
    if legacy:  # as an older version stored it
        backend.entries[LLM_KEY_REF.key] = OLD_KEY
    else:
        await _llm(path, backend).set(endpoint=OLD, model="m", key=OLD_KEY)
    window, cli = _llm(path, backend), _llm(path, backend)
    sent: list[tuple[str, str | None]] = []

    def request() -> None:  # a chat request, each time the CLI writes or removes the key
        if json.loads(path.read_text())["llm"]["endpoint"] == NEW:
            e = window.endpoint()
            sent.append((e.base_url, e.api_key))
        else:
            backend.meanwhile = request

    backend.meanwhile = request
    await cli.set(endpoint=NEW, model="m", key=NEW_KEY if with_key else None)
    assert sent == [(NEW, None)]  # never the old server's key
    assert window.endpoint().api_key == (NEW_KEY if with_key else None)
    assert _stored(backend) == ({"endpoint": NEW, "token": NEW_KEY} if with_key else None)


@pytest.mark.asyncio
async def test_a_key_is_stored_with_its_server_and_sent_only_there(
    old_server: tuple[Path, Backend],
) -> None:
    path, backend = old_server
    llm = _llm(path, backend)
    await llm.set(endpoint=OLD + "/", model="m", key=OLD_KEY)
    assert _stored(backend) == {"endpoint": OLD + "/", "token": OLD_KEY}
    assert llm.endpoint().api_key == OLD_KEY  # the same server, written otherwise
    assert await llm.has_key()
    # the file names another server (a hand edit, a settings put back): the key stays its own
    path.write_text(json.dumps({"llm": {"endpoint": NEW, "model": "m"}}))
    assert llm.endpoint().api_key is None
    assert llm.typed_endpoint(endpoint=NEW, model="m", verify_tls=True).api_key is None


@pytest.mark.asyncio
async def test_a_key_stored_alone_is_read_as_before_and_bound_at_the_next_set(
    old_server: tuple[Path, Backend],
) -> None:
    path, backend = old_server
    backend.entries[LLM_KEY_REF.key] = OLD_KEY
    llm = _llm(path, backend)
    assert llm.endpoint().api_key == OLD_KEY
    await llm.set(endpoint=OLD, model="renamed", key=OLD_KEY)
    assert _stored(backend) == {"endpoint": OLD, "token": OLD_KEY}
    assert llm.endpoint().api_key == OLD_KEY


@pytest.mark.asyncio
async def test_the_windows_change_keeps_an_llm_set_landing_just_before_its_save(
    old_server: tuple[Path, Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's ``llm set`` lands as the window's save begins: the window's change (the
    model renamed) is made over the CLI's server, not over the file as read before."""
    path, backend = old_server
    await _llm(path, backend).set(endpoint=OLD, model="m", key=OLD_KEY)
    window, cli = _llm(path, backend), _llm(path, backend)
    locked, landed = settings_module._locked, list[bool]()

    @contextlib.contextmanager
    def cli_first(at: Path) -> Iterator[None]:
        if not landed:
            landed.append(True)
            done = threading.Thread(
                target=lambda: asyncio.run(cli.set(endpoint=NEW, model="m", key=NEW_KEY))
            )
            done.start()
            done.join()
        with locked(at):
            yield

    monkeypatch.setattr(settings_module, "_locked", cli_first)
    await window.change(endpoint=OLD, model="m2", verify_tls=True)
    assert landed
    assert json.loads(path.read_text())["llm"] == {
        "endpoint": NEW, "model": "m2", "key_with_server": True,
    }  # fmt: skip
    sent = window.endpoint()
    assert (sent.base_url, sent.api_key) == (NEW, NEW_KEY)


@pytest.mark.asyncio
async def test_a_refused_save_leaves_a_key_stored_alone_as_it_was(
    old_server: tuple[Path, Backend],
) -> None:
    """The file cannot be used (its save is refused): no server is known to bind the key to,
    and it is left as the older version stored it."""
    path, backend = old_server
    backend.entries[LLM_KEY_REF.key] = OLD_KEY
    llm = _llm(path, backend)
    path.write_text(path.read_text()[:-3])  # a hand edit cut short
    with pytest.raises(UsageError):
        await llm.set(endpoint=NEW, model="m", key=NEW_KEY)
    assert backend.entries == {LLM_KEY_REF.key: OLD_KEY}
