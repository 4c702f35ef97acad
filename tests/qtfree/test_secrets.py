"""Credentials in a real Secret Service (gnome-keyring on a private D-Bus)."""

from __future__ import annotations

import logging

import pytest
from keyring.backends import fail

from aiops_desktop.logs import REDACTED, redact
from aiops_desktop.models import CredentialKind, CredentialRef
from aiops_desktop.secrets import SecretStore, SecretsUnavailableError


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
    }
    for text, secret in samples.items():
        out = redact(text)
        assert secret not in out, out
        assert REDACTED in out
    assert redact("prometheus https://prom.example:9090 answered 200") == (
        "prometheus https://prom.example:9090 answered 200"
    )
    logging.getLogger("aiops.test").info("nothing secret here")
