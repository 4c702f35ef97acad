"""Credentials in a real Secret Service (gnome-keyring on a private D-Bus)."""

from __future__ import annotations

import logging

import pytest
from keyring.backends import fail

from aiops_desktop.logs import REDACTED, redact
from aiops_desktop.models import CredentialKind, CredentialRef
from aiops_desktop.secrets import SecretsError, SecretStore, SecretsUnavailableError


@pytest.fixture
def store(secret_service) -> SecretStore:  # type: ignore[no-untyped-def]
    return SecretStore(secret_service.backend())


def test_roundtrip_and_delete_in_real_keyring(store: SecretStore) -> None:
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/test/api")
    store.check()
    store.put(ref, "sha256~tok-roundtrip-123456789")
    assert store.get(ref) == "sha256~tok-roundtrip-123456789"
    assert "SecretService" in store.describe_backend()
    assert store.delete(ref) is True
    assert store.get(ref) is None
    assert store.delete(ref) is False


def test_json_payload_and_its_secrets_are_redacted(store: SecretStore) -> None:
    ref = CredentialRef(kind=CredentialKind.BASIC_AUTH, key="cluster/test/basic")
    store.put_json(ref, {"username": "noc", "password": "pw-never-logged-42"})
    assert store.get_json(ref) == {"username": "noc", "password": "pw-never-logged-42"}
    assert redact("login with pw-never-logged-42 failed") == f"login with {REDACTED} failed"
    assert "noc" in redact("user noc")  # user names stay readable
    store.delete(ref)


def test_missing_keyring_gives_a_clear_message() -> None:
    store = SecretStore(fail.Keyring())
    with pytest.raises(SecretsUnavailableError, match="No OS keyring is available"):
        store.check()
    with pytest.raises(SecretsUnavailableError, match="Secret Service"):
        store.put(CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="x/api"), "secret-value-1")


def test_redaction_patterns(caplog: pytest.LogCaptureFixture) -> None:
    samples = {
        "Authorization: Bearer abcdefghijklmnop": "abcdefghijklmnop",
        "token=s3cr3tvalue": "s3cr3tvalue",
        '{"password": "hunter2hunter2"}': "hunter2hunter2",
        "https://admin:pa55word@prom.example/api": "pa55word",
        "jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl": "eyJhbGciOiJSUzI1NiJ9",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----": "MIIEow",
        # forms a review found passing (each reached the model and the chat store)
        '{"password":"correct horse battery staple"}': "battery staple",
        "connecting to postgres://app:Zq/9x!Lm@db.prod:5432/orders": "9x!Lm",
        "connecting to https://admin:p@ssw0rd@db.example": "ssw0rd",
        'args: ["--db-password", "Hunter2Hunter2", "--token", "s3cr3tT0ken99"]': "Hunter2",
        "exec: mysql -u root --password Hunter2Hunter2": "Hunter2",
        "Cookie: _oauth_proxy=dGhpcy1pcy1hLXNlc3Npb24tY29va2ll; csrf=x": "dGhpcy1pcy1h",
        "GET /o?X-Amz-Credential=ASIAY34FZKBOKMUTVV7A%2F2024&X-Amz-Signature=9f2c1e7d7b": "9f2c1e",
    }
    for text, secret in samples.items():
        out = redact(text)
        assert secret not in out, out
        assert REDACTED in out
    assert redact("prometheus https://prom.example:9090 answered 200") == (
        "prometheus https://prom.example:9090 answered 200"
    )
    for kept in (
        "bypass: ok", "compass=north", "--verbose --dry-run", "signed by ops",
        # what names a secret's count, name or place is kept, and URLs with a port
        "tests: pass: 12 fail: 0", "usage token_count=1532", "mounted secret_name=db-creds",
        "missing cookie: session expired for user=bob, retried 3 times",
        "GET http://prometheus:9090/api/v1/query?query=up&user=bob@corp.com 200",
    ):  # fmt: skip
        assert redact(kept) == kept
    # a password holding an escaped quote is redacted whole
    assert redact('{"password": "ab\\"cd efg"}') == '{"password": "[REDACTED]"}'
    # bounded: a hostile line of dashes or repeated names is read in linear time (the flag
    # pattern scanned from every dash to the line's end: 16,384 dashes took 16 s on the UI
    # thread); a tenth of a second is far above what linear time needs and far below that
    import time

    for hostile in ("-" * 16_384, "token." * 2_730, "password=" + "a" * 20_000):
        started = time.perf_counter()
        redact(hostile)
        assert time.perf_counter() - started < 0.5, hostile[:20]
    from collectors.llm_redaction import redact_for_llm

    for key in ("github_pat_11ABCDEFG0123456789_abcdefghij", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01",
                "ASIAY34FZKBOKMUTVV7A"):  # fmt: skip
        assert redact_for_llm(f"using {key} now") == f"using {REDACTED} now"
    logging.getLogger("aiops.test").info("nothing secret here")


def test_encrypted_file_only_on_opt_in(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from aiops_desktop.secrets import SecretsError

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    monkeypatch.delenv("AIOPS_DESKTOP_SECRETS", raising=False)
    # keyrings.cryptfile is installed here, yet without the opt-in there is no silent fallback
    default = SecretStore.from_environment(tmp_path)
    assert "SecretService" in default.describe_backend()
    with pytest.raises(SecretsUnavailableError):
        default.check()

    monkeypatch.setenv("AIOPS_DESKTOP_SECRETS", "encrypted-file")
    monkeypatch.delenv("AIOPS_DESKTOP_SECRETS_PASSWORD_FILE", raising=False)
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(SecretsError, match="needs a password"):
        SecretStore.from_environment(tmp_path)

    password = tmp_path / "pw"
    password.write_text("correct horse battery staple\n")
    monkeypatch.setenv("AIOPS_DESKTOP_SECRETS_PASSWORD_FILE", str(password))
    store = SecretStore.from_environment(tmp_path)
    store.check()
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/enc/api")
    store.put(ref, "sha256~file-store-secret-0123456789")
    assert store.get(ref) == "sha256~file-store-secret-0123456789"
    stored = (tmp_path / "credentials.cfg").read_bytes()
    assert b"file-store-secret" not in stored  # encrypted at rest

    password.write_text("wrong password")
    with pytest.raises(SecretsError, match="could not be opened: wrong password"):
        SecretStore.from_environment(tmp_path)


def test_a_field_is_redacted_whole_when_its_name_is_a_secrets() -> None:
    """Labels and span attributes as they leave the site: the name's last word says whether
    its value is the secret or something about one (its name, its count, a cache's key)."""
    from collectors.llm_redaction import names_a_secret

    secret = ["db.password", "http.request.header.x-api-key", "set-cookie", "privateKey",
              "aws_secret_access_key", "authorization", "token"]  # fmt: skip
    about = ["k8s.secret.name", "token_count", "cache.key", "messaging.kafka.message.key",
             "bypass", "keyspace"]  # fmt: skip
    assert [n for n in secret if not names_a_secret(n)] == []
    assert [n for n in about if names_a_secret(n)] == []


class _VanishingItemKeyring(fail.Keyring):
    """A Secret Service whose item is deleted by another thread between the search and the read
    (or the delete): secretstorage raises its own ItemNotFoundException, not a keyring error.
    CI met it when the settings dialog removed a key while the key was being read."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        from secretstorage.exceptions import ItemNotFoundException

        raise ItemNotFoundException("Item does not exist!")

    def delete_password(self, service: str, username: str) -> None:
        from secretstorage.exceptions import ItemNotFoundException

        raise ItemNotFoundException("Item does not exist!")


class _DismissingKeyring(fail.Keyring):
    """A Secret Service that asks before it unlocks or deletes (KWallet, KeePassXC), and the
    user says no: secretstorage's PromptDismissedException, a subclass of
    ItemNotFoundException; the credential is still there."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        from secretstorage.exceptions import PromptDismissedException

        raise PromptDismissedException("Prompt dismissed.")

    def delete_password(self, service: str, username: str) -> None:
        from secretstorage.exceptions import PromptDismissedException

        raise PromptDismissedException("Prompt dismissed.")


def test_a_dismissed_prompt_is_an_error_not_a_credential_gone() -> None:
    store = SecretStore(_DismissingKeyring())
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/kept/api")
    with pytest.raises(SecretsError, match="not deleted: the keyring asked for confirmation"):
        store.delete(ref)  # False ("not there") made the registry forget the entry for good
    with pytest.raises(SecretsError, match="not read: the keyring asked for confirmation"):
        store.get(ref)


def test_a_credential_deleted_while_it_is_read_is_gone_not_an_error() -> None:
    store = SecretStore(_VanishingItemKeyring())
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/gone/api")
    assert store.get(ref) is None  # it was deleted: there is no credential
    assert store.delete(ref) is False  # someone else deleted it first
