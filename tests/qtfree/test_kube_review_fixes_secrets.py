"""Review fixes, Kubernetes secrets: a client key never reaches the disk (the Kubernetes client
wrote it to a temp file kept for the whole process, left behind by a crash), and an exec
plugin's consent binds its environment's values, refusing one that steers which binary runs
(PATH, LD_PRELOAD) and arguments that cmd.exe would read as commands."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.services.clusters.kubeconfig import read_contexts
from collectors.errors import KubeConfigInvalid
from collectors.kube_config import kubeconfig_for_token, load_api_client
from tests.servers import tls
from tests.servers.nginx import RunningNginx, start_nginx
from tests.servers.processes import free_port


# -- a client key never reaches the disk ---------------------------------------------------------
@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tempfile (and so the Kubernetes client's temp files) writes, empty."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.fixture
def mtls_front(tmp_path: Path, pki: tls.TestPki) -> Iterator[RunningNginx]:
    """nginx asking for a client certificate signed by the test CA, in front of nothing (a
    request that passed TLS gets a 502; one without a certificate a 400)."""
    server = start_nginx(tmp_path / "nginx", f"http://127.0.0.1:{free_port()}", "t", pki)
    try:
        yield server
    finally:
        server.stop()


def _status(api: Any, url: str) -> int:
    try:
        return int(api.rest_client.pool_manager.request("GET", url + "/version").status)
    finally:
        api.close()


def _left_behind(where: Path) -> list[str]:
    return [p.name for p in where.iterdir()]


@pytest.mark.integration
def test_a_client_certificate_cluster_writes_no_key_and_still_connects(
    temp_dir: Path, mtls_front: RunningNginx, pki: tls.TestPki
) -> None:
    cert, key = pki.client_cert.read_text(), pki.client_key.read_text()
    config = kubeconfig_for_token(
        mtls_front.mtls_url, ca_pem=pki.ca_pem, client_cert_pem=cert, client_key_pem=key
    )
    api, _ = load_api_client(config, "edge-1")
    assert _left_behind(temp_dir) == []  # neither the key nor the certificates
    assert _status(api, mtls_front.mtls_url) == 502  # through TLS with the client certificate
    assert _left_behind(temp_dir) == []
    without, _ = load_api_client(kubeconfig_for_token(mtls_front.mtls_url, ca_pem=pki.ca_pem), "x")
    assert _status(without, mtls_front.mtls_url) == 400  # nginx: no client certificate sent


@pytest.mark.integration
def test_an_exec_plugins_client_key_is_not_left_on_disk(
    temp_dir: Path, tmp_path: Path, mtls_front: RunningNginx, pki: tls.TestPki
) -> None:
    status = {"clientCertificateData": pki.client_cert.read_text(),
              "clientKeyData": pki.client_key.read_text()}  # fmt: skip
    plugin = tmp_path / "cert-plugin.py"
    plugin.write_text(
        "import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        f"'kind': 'ExecCredential', 'status': {status!r}}}))\n"
    )
    config = kubeconfig_for_token(mtls_front.mtls_url, ca_pem=pki.ca_pem)
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    api, _ = load_api_client(config, "exec-cert")
    assert _left_behind(temp_dir) == []
    assert _status(api, mtls_front.mtls_url) == 502


def test_an_unusable_client_key_is_said_and_not_quoted(temp_dir: Path, pki: tls.TestPki) -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n"
    config = kubeconfig_for_token(
        "https://127.0.0.1:6443", client_cert_pem=pki.client_cert.read_text(), client_key_pem=broken
    )
    with pytest.raises(KubeConfigInvalid, match="client certificate or key") as caught:
        load_api_client(config, "edge-1")
    assert "QUJD" not in str(caught.value)
    assert _left_behind(temp_dir) == []


def test_loading_keeps_no_descriptor_open(temp_dir: Path, pki: tls.TestPki) -> None:
    config = kubeconfig_for_token("https://127.0.0.1:6443", ca_pem=pki.ca_pem,
                                  client_cert_pem=pki.client_cert.read_text(),
                                  client_key_pem=pki.client_key.read_text())  # fmt: skip
    load_api_client(config, "warm-up")[0].close()
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    for _ in range(5):
        load_api_client(config, "edge-1")[0].close()
    after = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    assert after == before


# -- an exec plugin's consent binds its environment ------------------------------------------------
def _kubeconfig(path: Path, env: list[dict[str, str]], args: list[str] | None = None) -> Path:
    exec_ = {"apiVersion": "client.authentication.k8s.io/v1", "command": "kubectl",
             "args": args if args is not None else ["oidc-login", "get-token"],
             "interactiveMode": "Never", "env": env}  # fmt: skip
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"exec": exec_}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "prod",
    }))  # fmt: skip
    return path


def test_the_consent_shows_and_binds_the_environments_values(tmp_path: Path) -> None:
    a = read_contexts(_kubeconfig(tmp_path / "a", [{"name": "AWS_PROFILE", "value": "prod"}]))[0]
    b = read_contexts(_kubeconfig(tmp_path / "b", [{"name": "AWS_PROFILE", "value": "evil"}]))[0]
    assert a.error is None and a.runs is not None and b.runs is not None
    assert "AWS_PROFILE=prod" in a.runs and "AWS_PROFILE=evil" in b.runs
    assert a.runs != b.runs


def test_a_secret_environment_value_is_hidden_but_bound(tmp_path: Path) -> None:
    def env(secret: str) -> list[dict[str, str]]:
        return [{"name": "OIDC_CLIENT_SECRET", "value": secret},
                {"name": "PYTHONPATH", "value": "/opt/x"}]  # fmt: skip

    one = read_contexts(_kubeconfig(tmp_path / "a", env("s3cr3t-1")))[0]
    two = read_contexts(_kubeconfig(tmp_path / "b", env("s3cr3t-2")))[0]
    assert one.runs is not None and two.runs is not None
    assert "s3cr3t" not in one.runs and "OIDC_CLIENT_SECRET=<hidden>" in one.runs
    assert "PYTHONPATH=/opt/x" in one.runs  # what steers loading is never hidden
    assert one.runs != two.runs  # the fingerprint differs with the hidden value


@pytest.mark.parametrize(
    "name", ["PATH", "Path", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES"]
)
def test_an_environment_that_chooses_the_binary_is_refused(tmp_path: Path, name: str) -> None:
    ctx = read_contexts(_kubeconfig(tmp_path / "k", [{"name": name, "value": str(tmp_path)}]))[0]
    assert not ctx.usable
    assert ctx.error is not None and name in ctx.error and "PATH" in ctx.error
    payload = json.loads((tmp_path / "k").read_text())  # stored before this refusal: not run
    marker = tmp_path / "ran"
    payload["users"][0]["user"]["exec"].update(
        command=sys.executable, args=["-c", f"open({str(marker)!r}, 'w')"]
    )
    with pytest.raises(KubeConfigInvalid, match=name):
        load_api_client(payload, "prod")
    assert not marker.exists()


@pytest.mark.parametrize("arg", ["--server-id=abc&calc.exe", "a|b", "<in", ">out", "^x", "%PATH%"])
def test_arguments_cmd_exe_would_read_as_commands_are_refused(tmp_path: Path, arg: str) -> None:
    ctx = read_contexts(_kubeconfig(tmp_path / "k", [], ["get-token", arg]))[0]
    assert not ctx.usable
    assert ctx.error is not None and "cmd.exe" in ctx.error
    with pytest.raises(KubeConfigInvalid, match=r"cmd\.exe"):
        load_api_client(json.loads((tmp_path / "k").read_text()), "prod")
