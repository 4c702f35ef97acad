"""`aiops-desktop clusters validate NAME` against a real API (kmock behind nginx, TLS, tokens):
each of the five outcomes, with its reason, from credentials kept in a real keyring."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from tests.qtfree.cli_runner import run_cli
from tests.servers.kube_api import RunningKubeApi
from tests.servers.processes import free_port

pytestmark = pytest.mark.integration


def expired_jwt() -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'sub': 'noc', 'exp': 1700000000})}.c2ln"


def exec_kubeconfig(api: RunningKubeApi, folder: Path) -> dict:  # type: ignore[type-arg]
    """A kubeconfig whose user is an exec plugin (as ``oc login`` / OIDC helpers write them)
    that hands out a credential which expired: the server refuses it."""
    plugin = folder / "expired-plugin.py"
    plugin.write_text(
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',"
        " 'kind': 'ExecCredential', 'status': {'token': 'stale-exec-token',"
        " 'expirationTimestamp': '2024-01-01T00:00:00Z'}}))\n"
    )
    ca = base64.b64encode(api.ca_pem.encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "ran", "cluster": {"server": api.url,
                                                   "certificate-authority-data": ca}}],
        "users": [{"name": "noc", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
            "args": [str(plugin)], "interactiveMode": "Never"}}}],
        "contexts": [{"name": "oc-login-expired", "context": {"cluster": "ran", "user": "noc"}}],
        "current-context": "oc-login-expired",
    }  # fmt: skip


def validate(home: Path, env: dict[str, str], name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = run_cli(home, env, "clusters", "validate", name, "--json")
    return done.returncode, json.loads(done.stdout)


def test_validate_tells_each_outcome_with_its_reason(
    tmp_path: Path, secret_service, kube_api: RunningKubeApi
) -> None:  # type: ignore[no-untyped-def]
    env = dict(secret_service.env)
    home = tmp_path / "home"
    ca = tmp_path / "ca.pem"
    ca.write_text(kube_api.ca_pem)
    clusters = {
        "east-1": (kube_api.url, "admin-token"),
        "noc-view": (kube_api.url, "viewer-token"),
        "intern": (kube_api.url, "limited-token"),
        "webhooked": (kube_api.url, "webhooked-token"),
        "wrong": (kube_api.url, "not-a-token"),
        "stale": (kube_api.url, expired_jwt()),
        "dark-9": (f"https://127.0.0.1:{free_port()}", "admin-token"),
    }
    clusters["no-ca"] = (kube_api.url, "admin-token")
    for name, (url, token) in clusters.items():
        ca_args = () if name == "no-ca" else ("--ca-file", str(ca))
        added = run_cli(
            home, env, "clusters", "add", name, "--api-url", url, *ca_args,
            "--token-stdin", stdin=token,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr

    code, admin = validate(home, env, "east-1")
    assert code == 0 and admin["outcome"] == "valid"
    assert admin["version"] == "v1.29.8+f10c92d" and admin["platform"] == "linux/amd64"
    assert admin["user"] == "system:admin" and "system:masters" in admin["groups"]
    assert all(p["allowed"] for p in admin["permissions"]) and len(admin["permissions"]) == 15

    code, viewer = validate(home, env, "noc-view")
    assert code == 0 and viewer["outcome"] == "valid" and viewer["user"] == "noc-viewer"
    denied = {p["need"] for p in viewer["permissions"] if not p["allowed"]}
    assert "create pods/exec" in denied and "list ptpconfigs.ptp.openshift.io" in denied
    assert "list routes.route.openshift.io" not in denied and "watch events" not in denied
    assert viewer["reason"].endswith(f"{len(denied)} optional read(s) denied")

    code, intern = validate(home, env, "intern")
    assert code == 1 and intern["outcome"] == "insufficient_permissions"
    assert intern["reason"] == "the credentials cannot list nodes, list pods"

    code, refused = validate(home, env, "webhooked")  # RBAC says yes, the reads answer 403
    assert code == 1 and refused["outcome"] == "insufficient_permissions"
    assert refused["reason"] == "the credentials cannot list nodes, list pods"
    nodes = next(p for p in refused["permissions"] if p["need"] == "list nodes")
    assert "(the API server answered 403)" in nodes["why"]

    code, wrong = validate(home, env, "wrong")
    assert code == 1 and wrong["outcome"] == "invalid"
    assert "refused the credential" in wrong["reason"] and "401" in wrong["reason"]

    code, stale = validate(home, env, "stale")
    assert code == 1 and stale["outcome"] == "expired"
    assert "expired at 2023-11-14 22:13 UTC" in stale["reason"]

    code, untrusted = validate(home, env, "no-ca")
    assert code == 1 and untrusted["outcome"] == "invalid"
    assert "TLS verification failed" in untrusted["reason"] and "CA bundle" in untrusted["reason"]

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(exec_kubeconfig(kube_api, tmp_path)))
    imported = run_cli(home, env, "clusters", "import-kubeconfig", str(kubeconfig), "--allow-exec")
    assert imported.returncode == 0, imported.stderr
    code, stale_exec = validate(home, env, "oc-login-expired")
    assert code == 1 and stale_exec["outcome"] == "expired"
    assert "expired at 2024-01-01 00:00 UTC" in stale_exec["reason"]

    code, dark = validate(home, env, "dark-9")
    assert code == 1 and dark["outcome"] == "unreachable" and "cannot reach" in dark["reason"]

    text = run_cli(home, env, "clusters", "validate", "noc-view")
    assert text.returncode == 0
    assert text.stdout.startswith("noc-view: valid - noc-viewer on v1.29.8+f10c92d")
    assert (
        "  cannot   create pods/exec (nvidia-smi where no DCGM exporter runs, in "
        "nvidia-gpu-operator or gpu-operator; optional)"
    ) in text.stdout
    for _url, token in clusters.values():  # no secret reaches the output or the logs
        assert token not in text.stdout
    logs = "".join(p.read_text() for p in home.rglob("*.log"))
    assert "admin-token" not in logs and "viewer-token" not in logs
