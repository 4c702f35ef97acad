"""Settings review 3: a save never writes a file the next start refuses, a FIFO in the settings
file's place is refused (never waited on), a refused file's notice escapes the names it quotes,
``--role`` above a damaged file's viewer names the damage, and the Secret Service's own refusals
(a dismissed prompt, a locked collection) are SecretsError."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from aiops_desktop.models import CredentialKind, CredentialRef
from aiops_desktop.models.enums import Sensitivity, UserRole
from aiops_desktop.models.errors import UsageError
from aiops_desktop.secrets import SecretsError, SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import MAX_SETTINGS_BYTES, Settings, resolve_paths


def _more_sensitive(settings: Settings) -> Settings:
    detection = settings.detection.model_copy(update={"sensitivity": Sensitivity.HIGH})
    return settings.model_copy(update={"detection": detection})


def test_a_save_writes_compact_json_where_indented_would_be_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    newer = {"ids": list(range(9000))}  # a newer version's section, kept by every save
    path.write_text(json.dumps({"access": {"role": "admin"}, "poller": {"speed": 2.0},
                                "newer_section": newer}, separators=(",", ":")))  # fmt: skip
    settings, _ = Settings.load(path)
    _more_sensitive(settings).save(path, ["detection"])
    assert path.stat().st_size <= MAX_SETTINGS_BYTES  # indented: 107 KB, refused at start
    again, notice = Settings.load(path)
    assert again.access.role is UserRole.ADMIN and again.poller.speed == 2.0
    assert again.detection.sensitivity is Sensitivity.HIGH
    assert notice is not None and "defaults used" not in notice
    assert json.loads(path.read_text())["newer_section"] == newer


def test_a_save_too_large_even_compact_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    content = json.dumps({"newer_section": {"note": "n" * (MAX_SETTINGS_BYTES - 40)}})
    path.write_text(content)
    settings, _ = Settings.load(path)
    longer = settings.model_copy(
        update={
            "llm": settings.llm.model_copy(
                update={"endpoint": "http://127.0.0.1:8080/v1", "model": "granite-3.1-8b-instruct"}
            )
        }
    )
    with pytest.raises(UsageError, match="too large") as raised:
        longer.save(path)
    assert str(MAX_SETTINGS_BYTES) in str(raised.value) or "KB" in str(raised.value)
    assert path.read_text() == content
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.skipif(sys.platform == "win32", reason="no FIFOs")
def test_a_fifo_in_the_settings_files_place_is_refused_not_waited_on(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    os.mkfifo(path)
    loaded: list[tuple[Settings, str | None]] = []
    reader = threading.Thread(target=lambda: loaded.append(Settings.load(path)), daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # unblock it: a writer opens the FIFO
        with open(path, "wb"):
            pass
        reader.join(5)
        pytest.fail("Settings.load waited on a FIFO")
    settings, notice = loaded[0]
    assert settings.access.role is UserRole.VIEWER  # refused: never a higher role
    assert notice is not None and "not a regular file" in notice and "defaults used" in notice
    with pytest.raises(UsageError, match="not a regular file"):
        settings.save(path)


@pytest.mark.parametrize(
    ("doc", "hostile"),
    [
        ({"llm": {"\x1b]0;owned\x07\x1b[2Jredact_ip": True}}, "\x1b"),
        ({"access": {"rol\u202eresu": "viewer"}}, "\u202e"),
        ({"llm": {"x" * 60_000: 1}}, "x" * 81),
    ],
)
def test_a_refused_files_notice_escapes_and_cuts_the_names_it_quotes(
    tmp_path: Path, doc: dict[str, object], hostile: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    notice = Settings.load(path)[1]
    assert notice is not None and "defaults used" in notice
    assert hostile not in notice and notice.isprintable() and len(notice) < 1000


@pytest.mark.parametrize(
    ("content", "damage"),
    [("{not json", "not valid (file: Invalid JSON"), ('{"access": {"rolle": "admin"}}', "rolle")],
)
def test_role_above_a_refused_files_viewer_names_the_damage_not_an_admin(
    tmp_path: Path, content: str, damage: str
) -> None:
    paths = resolve_paths(tmp_path / "home").ensure()
    paths.settings_file.write_text(content)
    with pytest.raises(UsageError) as raised:
        Core.open(paths, role=UserRole.OPERATOR)
    said = str(raised.value)
    assert "by an admin" not in said
    assert damage in said and "the viewer role applies until it is fixed" in said
    assert "--role operator" in said


def test_role_above_a_usable_files_role_still_says_an_admin_set_it(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path / "home").ensure()
    paths.settings_file.write_text('{"access": {"role": "viewer"}}')
    with pytest.raises(UsageError, match="--role operator is above this account's role"):
        Core.open(paths, role=UserRole.OPERATOR)


def test_role_above_a_damaged_files_own_viewer_says_an_admin_set_it(tmp_path: Path) -> None:
    """A refused file whose access section is valid keeps that role (an admin set it): fixing
    the damage elsewhere would not change it, so it is not said to apply until then."""
    paths = resolve_paths(tmp_path / "home").ensure()
    paths.settings_file.write_text('{"access": {"role": "viewer"}, "ui": {"font_scale": "big"}}')
    with pytest.raises(UsageError) as raised:
        Core.open(paths, role=UserRole.ADMIN)
    said = str(raised.value)
    assert "--role admin is above this account's role" in said and "by an admin" in said
    assert "until it is fixed" not in said
    notice = Settings.load(paths.settings_file)[1]
    assert notice is not None and "viewer role until it is fixed" not in notice


def _secretstorage_error(name: str) -> Exception:
    from secretstorage import exceptions

    if name == "KeyringLocked":  # keyring's own Secret Service backend: an unlock dismissed
        import keyring.errors

        return keyring.errors.KeyringLocked("Failed to unlock the collection!")
    return getattr(exceptions, name)(f"{name} raised by the Secret Service")


class _RefusingKeyring(KeyringBackend):
    """A Secret Service that refuses every request with ``exc``: a confirmation prompt
    dismissed, or the collection locked under it."""

    priority = 1

    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    def get_password(self, service: str, username: str) -> str | None:
        raise self.exc

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.exc

    def delete_password(self, service: str, username: str) -> None:
        raise self.exc


@pytest.mark.parametrize(
    ("name", "what_to_do"),
    [
        ("PromptDismissedException", "accept its prompt"),
        ("LockedException", "unlock it"),
        ("KeyringLocked", "unlock it"),
    ],
)
def test_the_secret_services_refusals_are_secrets_errors_that_say_what_to_do(
    name: str, what_to_do: str
) -> None:
    store = SecretStore(_RefusingKeyring(_secretstorage_error(name)))
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/refused/api")
    for call in (
        lambda: store.put(ref, "sha256~Qm9vTkFxd2VydHl1aW9wYXNkZmdoamts"),
        lambda: store.get(ref),
        lambda: store.delete(ref),
    ):
        with pytest.raises(SecretsError, match=what_to_do):
            call()
