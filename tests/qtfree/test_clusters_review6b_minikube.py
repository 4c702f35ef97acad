"""Review 6b of the kubeconfig import: a stock minikube kubeconfig (``~/.kube/config`` naming
its CA, client certificate and key in ``~/.minikube``) is imported without the user's say, as
before: those files never go to the server. Only a tokenFile from outside the kubeconfig's
folder does (its content is the bearer token), and its consent says it reads that file, not
that something runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aiops_desktop.services.clusters.kubeconfig import read_contexts
from aiops_desktop.services.clusters.registry import _needs_consent
from aiops_desktop.services.core import Core
from tests.servers import tls

pytestmark = pytest.mark.integration
SERVER = "https://192.168.49.2:8443"
TOKEN = "sha256~Qw3rTy7uIoP1aS2dF4gH6jK8lZ0xC9vB"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "user"  # the core fixture's app home is tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def _minikube(home: Path, pki: tls.TestPki) -> Path:
    """``~/.kube/config`` as ``minikube start`` writes it: absolute paths into ~/.minikube."""
    minikube = home / ".minikube"
    profile = minikube / "profiles" / "minikube"
    profile.mkdir(parents=True)
    shutil.copy(pki.ca_cert, minikube / "ca.crt")
    shutil.copy(pki.client_cert, profile / "client.crt")
    shutil.copy(pki.client_key, profile / "client.key")
    config = home / ".kube" / "config"
    config.parent.mkdir()
    config.write_text(f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority: {minikube}/ca.crt
    server: {SERVER}
  name: minikube
contexts:
- context: {{cluster: minikube, namespace: default, user: minikube}}
  name: minikube
current-context: minikube
kind: Config
users:
- name: minikube
  user:
    client-certificate: {profile}/client.crt
    client-key: {profile}/client.key
""")
    return config


def test_a_minikube_kubeconfig_needs_no_say(home: Path, pki: tls.TestPki) -> None:
    (ctx,) = read_contexts(_minikube(home, pki))
    assert ctx.usable and ctx.auth == "client-certificate"
    assert ctx.runs is None
    assert ctx.ca_pem is not None and "BEGIN CERTIFICATE" in ctx.ca_pem


@pytest.mark.asyncio
async def test_a_minikube_kubeconfig_is_imported_without_consent(
    core: Core, home: Path, pki: tls.TestPki
) -> None:
    await core.registry.load()
    report = await core.registry.import_kubeconfig(_minikube(home, pki))
    assert report.skipped == []
    assert [c.api_server_url for c in report.imported] == [SERVER]


def test_a_token_file_from_elsewhere_is_said_to_be_read_not_run(home: Path) -> None:
    token = home / ".kube" / "tokens" / "lab"
    token.parent.mkdir(parents=True)
    token.write_text(TOKEN + "\n")
    path = home / "Downloads" / "lab" / "config"
    path.parent.mkdir(parents=True)
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: lab, cluster: {{server: "{SERVER}"}}}}]
users: [{{name: me, user: {{tokenFile: "~/.kube/tokens/lab"}}}}]
contexts: [{{name: lab, context: {{cluster: lab, user: me}}}}]
""")
    (ctx,) = read_contexts(path)
    said = _needs_consent(ctx)
    assert "whenever it needs a token" not in said and " runs " not in said
    assert repr(str(token)) in said and "bearer token" in said and "--allow-exec" in said
    assert TOKEN not in said
