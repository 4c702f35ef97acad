"""Two processes on one settings.json (the window, and the CLI's ``llm set`` or a second
window): each one's change is made over the file as it is now, not over what that process read
at its start, and the model server's API key goes only to the server the file names when the
key is read (the window kept the old server in memory and sent it the new server's key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models.credentials import CredentialRef
from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.models.errors import AppError
from aiops_desktop.services.assistant.llm import LLM_KEY_REF, LlmNotConfigured, LlmService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.settings import SettingsService
from aiops_desktop.settings import Settings, UiSettings

OLD = "http://127.0.0.1:8080/v1"
NEW = "http://127.0.0.1:9000/v1"
NEW_KEY = "sk-new-server-4f9a2c71d0e83b56"
TYPED_KEY = "sk-typed-in-window-8c3e1b0a97d2"


class Keyring:
    """The one keyring both processes share (the calls LlmService makes of a SecretStore)."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    def put(self, ref: CredentialRef, secret: str) -> None:
        self.keys[ref.key] = secret

    def put_json(self, ref: CredentialRef, payload: dict[str, Any]) -> None:
        self.put(ref, json.dumps(payload, sort_keys=True))

    def get(self, ref: CredentialRef) -> str | None:
        return self.keys.get(ref.key)

    def delete(self, ref: CredentialRef) -> bool:
        return self.keys.pop(ref.key, None) is not None

    def stored(self) -> tuple[str | None, str] | None:
        """The model server's key as stored: (the endpoint it was given for, the key)."""
        raw = self.keys.get(LLM_KEY_REF.key)
        if raw is None:
            return None
        payload = json.loads(raw)
        return payload["endpoint"], payload["token"]


class _Anomalies:
    sensitivity = Sensitivity.MEDIUM


def _prefs(path: Path) -> SettingsService:
    """One process's settings service, the file read at its start."""
    return SettingsService(Settings.load(path)[0], path, EventBus(), _Anomalies())  # type: ignore[arg-type]


def _llm(path: Path, keys: Keyring) -> LlmService:
    return LlmService(_prefs(path), keys, EventBus())  # type: ignore[arg-type]


@pytest.fixture
def two(tmp_path: Path) -> tuple[LlmService, LlmService, Keyring, Path]:
    """The window (the old server set, no key) and, opened after it, the CLI."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"llm": {"endpoint": OLD, "model": "old"}}))
    keys = Keyring()
    return _llm(path, keys), _llm(path, keys), keys, path


@pytest.mark.asyncio
async def test_the_key_goes_only_to_the_server_the_file_names(
    two: tuple[LlmService, LlmService, Keyring, Path],
) -> None:
    window, cli, _keys, _path = two
    await cli.set(endpoint=NEW, model="new", key=NEW_KEY)  # `llm set` while the window is open
    sent = window.endpoint()
    assert (sent.base_url, sent.model, sent.api_key) == (NEW, "new", NEW_KEY)
    # the old server typed in the window's Settings is no longer the saved one: no stored key
    assert window.typed_endpoint(endpoint=OLD, model="old", verify_tls=True).api_key is None
    assert window.typed_endpoint(endpoint=NEW, model="new", verify_tls=True).api_key == NEW_KEY


@pytest.mark.asyncio
async def test_a_server_set_while_the_key_is_read_gets_no_key(
    two: tuple[LlmService, LlmService, Keyring, Path],
) -> None:
    """The CLI saves its server between the window's reading of the file and of the key: the
    key read is the new server's, the endpoint read the old one's."""
    window, _cli, _keys, path = two

    class Meanwhile(Keyring):
        def get(self, ref: CredentialRef) -> str | None:
            path.write_text(json.dumps({"llm": {"endpoint": NEW, "model": "new"}}))
            return NEW_KEY

    window._secrets = Meanwhile()  # type: ignore[assignment]
    with pytest.raises(AppError, match="changed while"):
        window.endpoint()


def test_a_settings_file_that_cannot_be_used_says_so(
    two: tuple[LlmService, LlmService, Keyring, Path],
) -> None:
    window, _cli, _keys, path = two
    path.write_text(path.read_text()[:-3])  # a hand edit cut short
    with pytest.raises(LlmNotConfigured, match="is not valid"):
        window.endpoint()


@pytest.mark.asyncio
async def test_the_cli_llm_set_survives_the_windows_later_change_of_another_field(
    two: tuple[LlmService, LlmService, Keyring, Path],
) -> None:
    window, cli, keys, path = two
    await cli.set(endpoint=NEW, model="new", key=NEW_KEY)
    # the window's dialog still shows the old endpoint; only the model is changed there
    await window.set(endpoint=OLD, model="renamed")
    assert json.loads(path.read_text())["llm"] == {
        "endpoint": NEW, "model": "renamed", "key_with_server": True
    }  # fmt: skip
    assert keys.stored() == (NEW, NEW_KEY)  # still the key of the server in the file
    sent = window.endpoint()
    assert (sent.base_url, sent.model, sent.api_key) == (NEW, "renamed", NEW_KEY)
    assert window.settings.endpoint == NEW  # what the window shows next


@pytest.mark.asyncio
async def test_a_key_typed_in_the_window_goes_with_the_endpoint_typed(
    two: tuple[LlmService, LlmService, Keyring, Path],
) -> None:
    window, cli, keys, path = two
    await cli.set(endpoint=NEW, model="new", key=NEW_KEY)
    await window.set(endpoint=OLD, model="old", key=TYPED_KEY)
    assert json.loads(path.read_text())["llm"]["endpoint"] == OLD
    sent = window.endpoint()
    assert (sent.base_url, sent.api_key) == (OLD, TYPED_KEY)
    assert keys.stored() == (OLD, TYPED_KEY)


@pytest.mark.asyncio
async def test_another_windows_theme_survives_this_windows_notification_change(
    tmp_path: Path,
) -> None:
    path = tmp_path / "settings.json"
    first, second = _prefs(path), _prefs(path)  # both open before either changed
    await first.set_ui(first.current.ui.model_copy(update={"theme": "dark", "font_scale": 1.5}))
    # the second's dialog shows its own (older) theme; only the checkbox is ticked
    await second.set_ui(second.current.ui.model_copy(update={"notify_critical": True}))
    kept = Settings.load(path)[0].ui
    assert kept == UiSettings(theme="dark", font_scale=1.5, notify_critical=True)
    assert second.current.ui == kept  # the section changed is as the file has it now
