"""A client certificate and key are checked where they are given (a cluster added with them):
not PEM, swapped, not belonging together or protected by a passphrase is a clear refusal,
nothing stored; and a connection never asks for a passphrase on the terminal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aiops_desktop.models import AuthMethod
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.clusters.registry import RegistryError
from aiops_desktop.services.core import Core
from collectors.auth import EndpointAuth, check_client_pair, ssl_context
from collectors.errors import CollectorAuthError
from tests.conftest import require_binary
from tests.servers import tls


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([require_binary("openssl"), *args], cwd=cwd, check=True, capture_output=True,
                   timeout=60)  # fmt: skip


@pytest.fixture
def other_keys(tmp_path: Path, pki: tls.TestPki) -> tuple[str, str]:
    """(another key, the client key protected by a passphrase)."""
    _openssl("genrsa", "-out", "other.key", "2048", cwd=tmp_path)
    _openssl("rsa", "-in", str(pki.client_key), "-aes256", "-passout", "pass:secret-pass",
             "-out", "locked.key", cwd=tmp_path)  # fmt: skip
    return (tmp_path / "other.key").read_text(), (tmp_path / "locked.key").read_text()


def _damaged(pem: str) -> str:
    """``pem`` with its body's first lines overwritten (its header and footer kept)."""
    lines = pem.splitlines()
    return "\n".join([lines[0], *("B" * len(x) for x in lines[1:4]), *lines[4:]]) + "\n"


def test_a_pair_that_cannot_be_used_is_named(pki: tls.TestPki, other_keys: tuple[str, str]) -> None:
    cert, key = pki.client_cert.read_text(), pki.client_key.read_text()
    other, locked = other_keys
    check_client_pair(cert, key)  # the good pair
    cases = {
        (key, cert): "not a PEM certificate",  # swapped
        ("hello", key): "not a PEM certificate",
        (cert, "garbage"): "not a PEM private key",
        (cert, other): "not the client certificate's",
        (cert, locked): "protected by a passphrase",
        (cert, _damaged(key)): "cannot be read",
    }
    for (c, k), said in cases.items():
        with pytest.raises(CollectorAuthError, match=said) as caught:
            check_client_pair(c, k)
        assert "PRIVATE KEY-----" not in str(caught.value)  # never quoted


def test_a_connection_never_asks_for_a_passphrase(
    pki: tls.TestPki, other_keys: tuple[str, str]
) -> None:
    """A key with a passphrase (a kubeconfig's, a key in the keyring from an older version)
    was handed to OpenSSL, which asked for it on the terminal the app was started from."""
    _other, locked = other_keys
    auth = EndpointAuth(AuthMethod.MTLS, client_cert_pem=pki.client_cert.read_text(),
                        client_key_pem=locked)  # fmt: skip
    with pytest.raises(CollectorAuthError, match="passphrase"):
        ssl_context(verify=True, ca_pem=pki.ca_pem, auth=auth)


@pytest.mark.asyncio
async def test_a_cluster_added_with_an_unusable_pair_is_refused_and_nothing_stored(
    core: Core, pki: tls.TestPki, other_keys: tuple[str, str]
) -> None:
    await core.registry.load()
    cert, key = pki.client_cert.read_text(), pki.client_key.read_text()
    spec = ClusterSpec(name="edge-1", api_server_url="https://api.edge-1:6443")
    for secrets, said in (
        (ClusterSecrets(client_cert_pem=cert, client_key_pem=other_keys[0]), "not the client"),
        (ClusterSecrets(client_cert_pem=cert), "needs its key"),
    ):
        with pytest.raises(RegistryError, match=said):
            await core.registry.add(spec, secrets)
    assert core.registry.clusters() == []
    assert core.db.fetch_all("SELECT key FROM credential_keys") == []
    added = await core.registry.add(spec, ClusterSecrets(client_cert_pem=cert, client_key_pem=key))
    assert added.credential is not None
