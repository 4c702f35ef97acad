"""Layer 2: credentials in the OS keyring, and nowhere else.

On Linux that is the Secret Service (gnome-keyring, KWallet) through ``keyring``. Calls block
on D-Bus, so services call this from a worker thread, never from the UI thread. Every secret
read or written here is registered with the log redactor, so it cannot reach a log line.

The backend is chosen explicitly, never by keyring's priority list: with a file-based backend
installed, keyring would otherwise fall back to a file (and prompt for its password) whenever
the Secret Service is down. An encrypted file is used only when the user opts in
(``AIOPS_DESKTOP_SECRETS=encrypted-file``, password from ``AIOPS_DESKTOP_SECRETS_PASSWORD_FILE``
or a terminal prompt).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops_desktop.logs import names_a_secret, register_secret
from aiops_desktop.models import CredentialKind, CredentialRef
from aiops_desktop.models.credentials import TOKEN_RULE, is_token_text
from aiops_desktop.models.errors import AppError

if TYPE_CHECKING:  # keyring loads its backends: imported where the keyring is used
    from keyring.backend import KeyringBackend

NO_KEYRING_MESSAGE = (
    "No OS keyring is available to hold credentials. AIOps Desktop keeps tokens, passwords and "
    "keys only in the OS keyring (the Secret Service on Linux: gnome-keyring or KWallet). Start "
    "one in your desktop session (for example `gnome-keyring-daemon --start "
    "--components=secrets` inside a D-Bus session) and try again."
)


class SecretsError(AppError):
    """A keyring operation failed; the message says what to do."""


class SecretsUnavailableError(SecretsError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(NO_KEYRING_MESSAGE + (f" ({detail})" if detail else ""))


def _unavailable() -> tuple[type[BaseException], ...]:
    """What a keyring backend raises when there is no keyring to reach: keyring's own errors,
    and the Secret Service library's (it raises its own when D-Bus is not there)."""
    import keyring.errors

    found: tuple[type[BaseException], ...] = (
        keyring.errors.NoKeyringError, keyring.errors.InitError, OSError,
    )  # fmt: skip
    try:
        from secretstorage.exceptions import SecretServiceNotAvailableException
    except ImportError:  # pragma: no cover (not Linux)
        return found
    return (*found, SecretServiceNotAvailableException)


def _vanished() -> tuple[type[BaseException], ...]:
    """What the Secret Service library raises when the item it found was deleted (by another
    thread or process) before it was read or deleted: the credential is simply not there.
    Not its subclass PromptDismissedException (``_dismissed``)."""
    try:
        from secretstorage.exceptions import ItemNotFoundException
    except ImportError:  # pragma: no cover (not Linux)
        return ()
    return (ItemNotFoundException,)


def _dismissed() -> tuple[type[BaseException], ...]:
    """What it raises when the keyring asked the user to confirm (unlock, delete) and the user
    said no: the credential is there, untouched."""
    try:
        from secretstorage.exceptions import PromptDismissedException
    except ImportError:  # pragma: no cover (not Linux)
        return ()
    return (PromptDismissedException,)


def _locked() -> tuple[type[BaseException], ...]:
    """What is raised when the collection (or the item) is locked and was not unlocked for
    the request: the keyring is there, the credential untouched. keyring's own Secret Service
    backend unlocks first and raises its KeyringLocked when that fails (its prompt dismissed,
    no unlock in the session), so it is the error seen there; the Secret Service library's
    LockedException where the library is reached otherwise."""
    import keyring.errors

    try:
        from secretstorage.exceptions import LockedException
    except ImportError:  # pragma: no cover (not Linux)
        return (keyring.errors.KeyringLocked,)
    return (keyring.errors.KeyringLocked, LockedException)


DISMISSED = (
    "the keyring asked for confirmation and it was dismissed; try again and accept its prompt"
)
LOCKED = (
    "the keyring is locked; unlock it (log in to the desktop session, or unlock it in its "
    "password manager) and try again"
)


OPT_IN_ENV = "AIOPS_DESKTOP_SECRETS"
PASSWORD_FILE_ENV = "AIOPS_DESKTOP_SECRETS_PASSWORD_FILE"  # noqa: S105 (a variable name)
ENCRYPTED_FILE = "encrypted-file"
ENCRYPTED_FILE_NAME = "credentials.cfg"


def os_keyring_backend() -> KeyringBackend:
    """The platform's own keyring: Secret Service, macOS Keychain or Windows Credential Locker."""
    if sys.platform == "darwin":
        from keyring.backends import macOS

        return macOS.Keyring()
    if sys.platform == "win32":
        from keyring.backends import Windows

        return Windows.WinVaultKeyring()
    from keyring.backends import SecretService

    return SecretService.Keyring()


def encrypted_file_backend(path: Path, password: str) -> KeyringBackend:
    """An encrypted credentials file (argon2 + AES), for machines without an OS keyring."""
    try:
        from keyrings.cryptfile.cryptfile import CryptFileKeyring  # type: ignore[import-untyped]
    except ImportError as exc:
        # the .deb's interpreter is isolated (no pip install reaches it) and does not carry it
        raise SecretsError(
            "the encrypted-file credential store needs an optional package: "
            "pip install 'aiops-desktop[encrypted-file]'; the Debian package does not include "
            "it: there, use the OS keyring"
        ) from exc
    if not password:
        raise SecretsError("the encrypted credential file needs a password")
    backend = CryptFileKeyring()
    backend.file_path = str(path)
    try:
        backend.keyring_key = password  # unlocks (or creates) the file at once
    except ValueError as exc:
        raise SecretsError(
            f"the credential file {path} could not be opened: wrong password ({exc})"
        ) from exc
    return backend


#: This process asks the Secret Service one call at a time. gnome-keyring asked by several
#: threads at once (each call is its own D-Bus connection) now and then answers that a stored
#: item does not exist (a token read as absent: its endpoint said "bearer auth without a
#: token"), or that its default collection does not exist, and once that happened it went on
#: failing: 2 to 1,695 of 2,000 reads by 4 threads in three runs, none of 6,000 asked one at
#: a time. Nothing is lost by the order: a locked keyring's one unlock prompt stands for every
#: entry.
_SECRET_SERVICE_CALLS = threading.Lock()
#: how long a call waits for the one before it: that one may be waiting on a prompt nobody
#: answers (a delete the keyring asks to confirm); the caller is told, not held for good
KEYRING_BUSY_S = 30.0


@contextlib.contextmanager
def _secret_service_turn() -> Iterator[None]:
    if not _SECRET_SERVICE_CALLS.acquire(timeout=KEYRING_BUSY_S):
        raise SecretsError(
            f"the keyring is busy with another request for over {KEYRING_BUSY_S:g} s (its "
            "prompt may be open: answer it); try again"
        )
    try:
        yield
    finally:
        _SECRET_SERVICE_CALLS.release()


def not_in_keyring(whose: str, ref: CredentialRef) -> str:
    """What to say where a credential's keyring entry is not there (deleted by hand, a home
    restored without its keyring): ``whose`` ("east/prometheus: its token"), and what can be
    done about it."""
    return (
        f"{whose} is not in the keyring (service {ref.service!r}, entry {ref.key!r}): put it "
        "back there, or remove the cluster and add it again with its credential"
    )


def not_as_stored(whose: str, ref: CredentialRef, advice: str) -> str:
    """What to say where a credential's keyring entry holds something other than the JSON the
    app stored there (a bare token pasted over a kubeconfig context's in the password
    manager): ``whose``, the entry, and ``advice``, how to replace it. Never what the entry
    holds."""
    return (
        f"{whose} cannot be read: its keyring entry (service {ref.service!r}, entry "
        f"{ref.key!r}) is not what the app stored there (it was changed outside the app, which "
        f"keeps JSON there, never a bare token); {advice}"
    )


class SecretStore:
    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend

    def _one_call(self) -> contextlib.AbstractContextManager[Any]:
        """Held around each call into the backend: the Secret Service's lock (see above);
        nothing for a backend that is not reached over D-Bus."""
        from keyring.backends import SecretService

        if isinstance(self.backend, SecretService.Keyring):
            return _secret_service_turn()
        return contextlib.nullcontext()

    @classmethod
    def from_environment(cls, data_dir: Path) -> SecretStore:
        """The OS keyring, or the encrypted file where the user opted in."""
        choice = os.environ.get(OPT_IN_ENV, "os").strip().lower()
        if choice in ("", "os"):
            return cls()
        if choice != ENCRYPTED_FILE:
            raise SecretsError(f"{OPT_IN_ENV}={choice!r}: use 'os' or '{ENCRYPTED_FILE}'")
        password_file = os.environ.get(PASSWORD_FILE_ENV)
        if password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SecretsError(
                    f"cannot read {PASSWORD_FILE_ENV} {password_file}: {exc}"
                ) from exc
        elif sys.stdin is not None and sys.stdin.isatty():
            password = getpass.getpass("Password of the AIOps Desktop credential file: ")
        else:
            raise SecretsError(
                f"{OPT_IN_ENV}={ENCRYPTED_FILE} needs a password: set {PASSWORD_FILE_ENV} "
                "to a file that holds it, or run from a terminal"
            )
        return cls(encrypted_file_backend(data_dir / ENCRYPTED_FILE_NAME, password))

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is None:
            self._backend = os_keyring_backend()
        return self._backend

    def describe_backend(self) -> str:
        return type(self.backend).__module__ + "." + type(self.backend).__name__

    def check(self) -> None:
        """Raise SecretsUnavailableError unless a working keyring is there; SecretsError where
        one is there but locked, or its unlock prompt was dismissed (unlocking it is what to
        do, not starting one)."""
        import keyring.errors

        try:
            with self._one_call():
                usable = self.backend.priority > 0  # the OS backends raise when unavailable
                if usable:
                    self.backend.get_password("aiops-desktop", "availability-check")
        except ValueError as exc:  # the encrypted file's wrong password
            raise SecretsError(f"the credential file could not be opened: {exc}") from exc
        except _dismissed() as exc:
            raise SecretsError(f"the keyring could not be used: {DISMISSED}") from exc
        except _locked() as exc:
            raise SecretsError(f"the keyring could not be used: {LOCKED}") from exc
        except (RuntimeError, OSError, keyring.errors.KeyringError) as exc:
            raise SecretsUnavailableError(str(exc) or type(exc).__name__) from exc
        if not usable:
            raise SecretsUnavailableError(self.describe_backend())

    def put(self, ref: CredentialRef, secret: str) -> None:
        _check_bearer(ref, secret)
        register_secret(secret)
        self._write(ref, secret)

    def _write(self, ref: CredentialRef, text: str) -> None:
        """``text`` stored as the entry of ``ref`` (``put``, ``put_json``: checked, its
        secrets registered)."""
        import keyring.errors

        try:
            with self._one_call():
                self.backend.set_password(ref.service, ref.key, text)
        except _dismissed() as exc:  # the Secret Service asked to confirm storing it
            raise SecretsError(f"the credential was not stored: {DISMISSED}") from exc
        except _locked() as exc:
            raise SecretsError(f"the credential was not stored: {LOCKED}") from exc
        except _unavailable() as exc:
            raise SecretsUnavailableError(str(exc) or type(exc).__name__) from exc
        except (keyring.errors.KeyringError, ValueError) as exc:
            raise SecretsError(f"could not store the credential in the keyring: {exc}") from exc

    def get(self, ref: CredentialRef) -> str | None:
        """The entry of ``ref`` (a bearer token), registered with the redactor."""
        value = self._read(ref)
        if value is not None:
            register_secret(value)
        return value

    def _read(self, ref: CredentialRef) -> str | None:
        """The entry's text as the keyring holds it, registered with nothing (``get``,
        ``get_json``: each registers what in it is secret)."""
        import keyring.errors

        try:
            with self._one_call():
                value = self.backend.get_password(ref.service, ref.key)
        except _dismissed() as exc:
            raise SecretsError(f"the credential was not read: {DISMISSED}") from exc
        except _locked() as exc:
            raise SecretsError(f"the credential was not read: {LOCKED}") from exc
        except _vanished():
            return None
        except _unavailable() as exc:
            raise SecretsUnavailableError(str(exc) or type(exc).__name__) from exc
        except (keyring.errors.KeyringError, ValueError) as exc:
            raise SecretsError(f"could not read the credential from the keyring: {exc}") from exc
        return value

    def delete(self, ref: CredentialRef) -> bool:
        import keyring.errors

        try:
            with self._one_call():
                self.backend.delete_password(ref.service, ref.key)
        except keyring.errors.PasswordDeleteError:
            return False
        except _dismissed() as exc:  # still there: a caller that forgets it must not
            raise SecretsError(f"the credential was not deleted: {DISMISSED}") from exc
        except _locked() as exc:
            raise SecretsError(f"the credential was not deleted: {LOCKED}") from exc
        except _vanished():
            return False
        except _unavailable() as exc:
            raise SecretsUnavailableError(str(exc) or type(exc).__name__) from exc
        except keyring.errors.KeyringError as exc:
            raise SecretsError(f"could not delete the credential from the keyring: {exc}") from exc
        return True

    def put_json(self, ref: CredentialRef, payload: dict[str, Any]) -> None:
        """Structured credentials (client cert + key, basic auth, a kubeconfig context; a
        bearer token with what it belongs to, under ``"token"``: the model server's key).
        Its secret leaves are registered with the redactor, never the whole text: a
        kubeconfig context's is up to megabytes (its CA, its certificate), held for good, and
        500 contexts' texts held 476 MiB; a line quoting the text has each leaf blanked."""
        _check_bearer(ref, payload.get("token"))
        for value in _strings(payload):
            register_secret(value)
        self._write(ref, json.dumps(payload, sort_keys=True))

    def get_json(self, ref: CredentialRef) -> dict[str, Any] | None:
        """The payload ``put_json`` stored (None: the entry is not there), its secret leaves
        registered, never the whole text (every client load reads its context's entry: a
        megabyte with its CA, registered again and held for good). ValueError where the entry
        holds something else, no JSON object (changed outside the app: ``not_as_stored``)."""
        raw = self._read(ref)
        if raw is None:
            return None
        payload = json_payload(raw)
        if payload is None:
            raise ValueError("the keyring entry holds no JSON object")
        return payload


def json_payload(raw: str) -> dict[str, Any] | None:
    """The payload ``put_json`` stored, from the entry's text (``get``, where the text may also
    be a bare token: the model server's key as an older version stored it), its secrets
    registered with the redactor; None where the JSON is no object. ValueError where the text
    is not JSON. A text that is no JSON object is registered whole: it is a bare secret."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        register_secret(raw)
        raise
    if not isinstance(data, dict):
        register_secret(raw)
        return None
    for value in _strings(data):
        register_secret(value)
    return data


def _check_bearer(ref: CredentialRef, token: object) -> None:
    """A bearer token that cannot be sent is not stored: every request would fail with an
    error quoting it (a token file of two lines)."""
    if ref.kind is CredentialKind.BEARER_TOKEN and not (
        isinstance(token, str) and is_token_text(token)
    ):
        raise SecretsError(f"the bearer token is not stored: a token is {TOKEN_RULE}")


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
    }
)


#: exec plugin variables that hold a setting, never a secret: their values stay in the logs
#: (every value registered blanked ``us-east-1`` and ``default`` from every error). An endpoint
#: is not one (a URL may carry a password or a signed query), nor any other name: a credential's
#: name need not say it is one (``GITHUB_PAT``, ``TF_TOKEN_app_terraform_io``, ``HUAWEICLOUD_SK``)
_SETTING_NAMES = frozenset({"KUBECONFIG", "HOME", "LANG", "LANGUAGE", "TZ", "NO_COLOR", "TERM"})
_SETTING_SUFFIXES = ("_REGION", "_PROFILE", "_LOG_LEVEL")


def _env_secret(name: str, value: str) -> bool:
    """Whether an exec plugin's environment value is redacted: always under a secret's name
    (``VSPHERE_PASS=sunshine``); else unless the name is a setting's (``AWS_REGION``,
    ``LC_ALL``) or the value a plain word (``regional``, ``true``: up to 12 lowercase letters,
    no digit, capital or mark, as no generated credential is, and blanking such a word wherever
    it is written would empty the logs). No rule by length alone: ``hunter2`` is a password."""
    if names_a_secret(name):
        return True
    upper = name.upper()
    if upper in _SETTING_NAMES or upper.startswith("LC_") or upper.endswith(_SETTING_SUFFIXES):
        return False
    plain_word = value.isascii() and value.isalpha() and value.islower() and len(value) <= 12
    return not plain_word


def _strings(value: Any, key: str = "") -> list[str]:
    """The secret leaves of a payload (values under secret-bearing keys), for the redactor,
    and an exec plugin's environment values (``{"name": ..., "value": ...}``) but settings'
    and plain words (see ``_env_secret``)."""
    if isinstance(value, dict):
        found = [s for k, v in value.items() for s in _strings(v, str(k))]
        name, env_value = value.get("name"), value.get("value")
        if isinstance(name, str) and isinstance(env_value, str) and _env_secret(name, env_value):
            found.append(env_value)
        return found
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, key)]
    if isinstance(value, str) and key in _SECRET_KEYS:
        return [value]
    return []


class NoSecrets(SecretStore):
    """The keyring of an opened capture: there is none. Nothing is read, written or deleted;
    every request says why (a capture is offline and holds no credential)."""

    REASON = "a capture holds no credentials and uses no keyring"

    def __init__(self) -> None:
        super().__init__(backend=None)

    def describe_backend(self) -> str:
        return "none (capture)"

    def check(self) -> None:
        raise SecretsError(self.REASON)

    def put(self, ref: CredentialRef, secret: str) -> None:
        raise SecretsError(self.REASON)

    def put_json(self, ref: CredentialRef, payload: dict[str, Any]) -> None:
        raise SecretsError(self.REASON)

    def _read(self, ref: CredentialRef) -> str | None:  # get, get_json
        raise SecretsError(self.REASON)

    def delete(self, ref: CredentialRef) -> bool:
        raise SecretsError(self.REASON)


__all__ = [
    "NoSecrets", "SecretStore", "SecretsError", "SecretsUnavailableError", "json_payload",
    "not_as_stored", "not_in_keyring",
]  # fmt: skip
