"""Reading every context of a kubeconfig, with precise reasons for the ones that fail."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from aiops_desktop.services.clusters.kubeconfig import (
    KubeconfigError,
    bearer_token,
    cluster_name_for,
    read_contexts,
)
from tests.qtfree.kubeconfigs import CA_PEM, TOKEN, write_kubeconfig


def test_every_context_is_read_with_its_auth(tmp_path: Path) -> None:
    contexts = {c.context: c for c in read_contexts(write_kubeconfig(tmp_path))}
    assert len(contexts) == 5
    tok = contexts["default/api-ocp-prod-example-com:6443/kube:admin"]
    assert tok.usable and tok.auth == "token" and tok.ca_pem == CA_PEM
    assert tok.cluster_name == "default-api-ocp-prod-example-com-6443-kube-admin"
    assert tok.server == "https://api.ocp-prod.example.com:6443"
    assert bearer_token(tok.payload) == TOKEN
    assert tok.payload and tok.payload["current-context"] == tok.context

    cert = contexts["admin"]
    assert cert.auth == "client-certificate"
    user = cert.payload["users"][0]["user"]  # type: ignore[index]
    assert "client-key" not in user  # the file reference was inlined
    assert base64.b64decode(user["client-key-data"]).startswith(b"-----BEGIN EC PRIVATE KEY")

    oidc = contexts["lab-oidc"]
    assert oidc.auth == "exec" and oidc.exec_command == "oc"
    assert oidc.insecure_skip_tls_verify
    assert any("will NOT be verified" in w for w in oidc.warnings)

    assert "names user 'nobody'" in (contexts["broken-user"].error or "")
    assert "is not an https URL" in (contexts["insecure-http"].error or "")


def test_missing_referenced_file_is_reported_for_that_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path)
    (tmp_path / "certs" / "admin.key").unlink()
    contexts = {c.context: c for c in read_contexts(path)}
    assert "client-key file" in (contexts["admin"].error or "")
    assert contexts["lab-oidc"].usable


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("clusters: [\n  - broken", "not valid YAML at line"),
        ("just a string", "no 'contexts' list"),
        ("contexts: []", "has no contexts"),
    ],
)
def test_unusable_files_give_precise_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(KubeconfigError, match=message):
        read_contexts(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="does not exist"):
        read_contexts(tmp_path / "nope")


@pytest.mark.parametrize(
    ("context", "name"),
    [("admin@Prod_Cluster", "admin-prod-cluster"), ("x", "x-ctx"), ("a" * 80, "a" * 63)],
)
def test_cluster_names_from_contexts(context: str, name: str) -> None:
    assert cluster_name_for(context) == name
