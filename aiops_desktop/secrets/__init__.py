"""Layer 2: credentials in the OS keyring, and nowhere else.

On Linux that is the Secret Service (gnome-keyring, KWallet) through ``keyring``. Calls block
on D-Bus, so services call this from a worker thread, never from the UI thread. Every secret
read or written here is registered with the log redactor, so it cannot reach a log line.
"""

from __future__ import annotations

import json
from typing import Any

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from aiops_desktop.logs import register_secret
from aiops_desktop.models import CredentialRef

NO_KEYRING_MESSAGE = (
    "No OS keyring is available to hold credentials. AIOps Desktop keeps tokens, passwords and "
    "keys only in the OS keyring (the Secret Service on Linux: gnome-keyring or KWallet). Start "
    "one in your desktop session (for example `gnome-keyring-daemon --start "
    "--components=secrets` inside a D-Bus session) and try again."
)


class SecretsError(Exception):
    """A keyring operation failed; the message says what to do."""


class SecretsUnavailableError(SecretsError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(NO_KEYRING_MESSAGE + (f" ({detail})" if detail else ""))


class SecretStore:
    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is None:
            self._backend = keyring.get_keyring()
        return self._backend

    def describe_backend(self) -> str:
        return type(self.backend).__module__ + "." + type(self.backend).__name__

    def check(self) -> None:
        """Raise SecretsUnavailableError unless a working keyring is there."""
        if self.backend.priority <= 0:  # keyring's fail/null backends
            raise SecretsUnavailableError(self.describe_backend())
        try:
            self.backend.get_password("aiops-desktop", "availability-check")
        except keyring.errors.KeyringError as exc:
            raise SecretsUnavailableError(str(exc)) from exc

    def put(self, ref: CredentialRef, secret: str) -> None:
        register_secret(secret)
        try:
            self.backend.set_password(ref.service, ref.key, secret)
        except keyring.errors.NoKeyringError as exc:
            raise SecretsUnavailableError(str(exc)) from exc
        except keyring.errors.KeyringError as exc:
            raise SecretsError(f"could not store the credential in the keyring: {exc}") from exc

    def get(self, ref: CredentialRef) -> str | None:
        try:
            value = self.backend.get_password(ref.service, ref.key)
        except keyring.errors.NoKeyringError as exc:
            raise SecretsUnavailableError(str(exc)) from exc
        except keyring.errors.KeyringError as exc:
            raise SecretsError(f"could not read the credential from the keyring: {exc}") from exc
        if value is not None:
            register_secret(value)
        return value

    def delete(self, ref: CredentialRef) -> bool:
        try:
            self.backend.delete_password(ref.service, ref.key)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise SecretsError(f"could not delete the credential from the keyring: {exc}") from exc
        return True

    def put_json(self, ref: CredentialRef, payload: dict[str, Any]) -> None:
        """Structured credentials (client cert + key, basic auth, a kubeconfig context)."""
        for value in _strings(payload):
            register_secret(value)
        self.put(ref, json.dumps(payload, sort_keys=True))

    def get_json(self, ref: CredentialRef) -> dict[str, Any] | None:
        raw = self.get(ref)
        if raw is None:
            return None
        data = json.loads(raw)
        for value in _strings(data):
            register_secret(value)
        return data if isinstance(data, dict) else None


_SECRET_KEYS = frozenset(
    {
        "token",
        "password",
        "client-key-data",
        "client_key",
        "id-token",
        "refresh-token",
        "client-secret",
        "access-token",
        "value",  # exec plugin env entries: {"name": ..., "value": ...}
    }
)


def _strings(value: Any, key: str = "") -> list[str]:
    """The secret leaves of a payload (values under secret-bearing keys), for the redactor."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, str(k))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, key)]
    if isinstance(value, str) and key in _SECRET_KEYS:
        return [value]
    return []


__all__ = ["SecretStore", "SecretsError", "SecretsUnavailableError"]
