"""Review fixes of the cluster registry: a re-imported kubeconfig context replaces the stored
credential of the cluster it registered (no NAME-2, history kept); a cluster removed by
another process is removed in the window too (CLUSTER_REMOVED); a damaged cluster row says
why in one line and can be removed by name."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster, CredentialKind, EndpointKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import resolve_auth
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.bus import CLUSTER_REMOVED, EventBus
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.credential_keys import CredentialKeyRepository
from aiops_desktop.store.health import HealthRepository
from aiops_desktop.store.series import SeriesBatch
from tests.qtfree.cli_runner import call_main
from tests.qtfree.kubeconfigs import CA_PEM

API = EndpointKind.API_SERVER
PROM = EndpointKind.PROMETHEUS
OLD = "sha256~OLDTOKENexpired000000"
NEW = "sha256~NEWTOKENfresh1111111"
EAST = "https://api.prod-east.example:6443"
#: what a damaged row holds must never reach the person (it may hold anything)
PRIVATE = "hunter2-in-the-row"


def kubeconfig(
    token: str,
    *,
    east: str = "",
    ops_context: bool = False,
    exec_user: bool = False,
) -> str:
    """prod-east and prod-west (user ``u``); ``east``: extra fields of prod-east's cluster;
    ``ops_context``: a second user's context to prod-east's server."""
    ca = base64.b64encode(CA_PEM.encode()).decode()
    user = (
        "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: oc, args: [t]}}"
        if exec_user
        else f'{{token: "{token}"}}'
    )
    ops = "- name: prod-east-ops\n  context: {cluster: c1, user: ops}\n" if ops_context else ""
    return f"""apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {{server: "{EAST}", certificate-authority-data: {ca}{east}}}
- name: c2
  cluster: {{server: "https://api.prod-west.example:6443", certificate-authority-data: {ca}}}
users:
- name: u
  user: {user}
- name: ops
  user: {{token: "sha256~OPSTOKENother22222222"}}
contexts:
- name: prod-east
  context: {{cluster: c1, user: u}}
- name: prod-west
  context: {{cluster: c2, user: u}}
{ops}current-context: prod-east
"""


def token_of(core: Core, cluster: Cluster) -> Any:
    assert cluster.credential is not None
    payload = core.secrets.get_json(cluster.credential)
    assert payload is not None
    return payload["users"][0]["user"].get("token")


def store_series(core: Core, name: str) -> None:
    ts = np.arange(10, dtype=np.int64) * 15_000 + 1_700_000_000_000
    core.series.append([SeriesBatch(name, "cpu", {"node": "n1"}, ts, np.ones(10))]).result()
    core.series.flush().result()


async def settled(core: Core) -> None:
    """The removal's deletes go through the writer thread, spawned from the bus."""
    for _ in range(5):
        await asyncio.sleep(0.02)
        core.db.write(lambda c: None).result()


# -- 4: re-importing a context replaces its credential ------------------------------------------
@pytest.mark.asyncio
async def test_reimport_replaces_the_credential_and_keeps_the_cluster(
    core: Core, tmp_path: Path
) -> None:
    registry = core.registry
    removed: list[str] = []
    core.bus.subscribe(CLUSTER_REMOVED, lambda c: removed.append(c.name))
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    first = await registry.import_kubeconfig(path)
    assert [c.name for c in first.imported] == ["prod-east", "prod-west"]
    east = registry.get("prod-east")
    old_ref = east.credential
    assert old_ref is not None and token_of(core, east) == OLD
    # its history: a series, a health record, an endpoint sharing the cluster's credential
    store_series(core, "prod-east")
    await registry.apply_check("prod-east", {API: False}, "401 Unauthorized")
    await registry.set_endpoint("prod-east", PROM, "https://thanos.east", use_cluster_token=True)
    before = registry.get("prod-east")

    # `oc login` refreshed the token; the file now also holds another user's context to
    # prod-east's server: that one is another cluster
    path.write_text(kubeconfig(NEW, ops_context=True))
    again = await registry.import_kubeconfig(path)

    assert [c.name for c in again.replaced] == ["prod-east", "prod-west"]
    assert [c.name for c in again.imported] == ["prod-east-ops"]
    assert again.skipped == []
    assert [c.name for c in registry.clusters()] == ["prod-east", "prod-east-ops", "prod-west"]
    east = registry.get("prod-east")
    assert east.id == before.id and east.name == "prod-east"
    assert east.display_name == before.display_name
    assert east.credential is not None and token_of(core, east) == NEW
    assert core.secrets.get(old_ref) is None  # the stale one is gone from the keyring
    prom = east.endpoint(PROM)
    assert prom is not None and prom.url == "https://thanos.east"
    assert prom.credential == east.credential  # still the cluster's: the new one
    assert (await asyncio.to_thread(resolve_auth, prom, core.secrets)).token == NEW
    ops = registry.get("prod-east-ops")
    assert ops.id != east.id and token_of(core, ops) == "sha256~OPSTOKENother22222222"
    # history kept: nothing was removed
    assert removed == []
    assert len(await registry.health_history("prod-east")) == 1
    await settled(core)
    assert len(core.series.read("cpu", cluster="prod-east")) == 1
    # as stored: a new process reads the same
    stored = ClusterRepository(core.db).get(east.id)
    assert stored is not None and stored.credential == east.credential


@pytest.mark.asyncio
async def test_reimport_never_turns_tls_verification_off(core: Core, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    await core.registry.import_kubeconfig(path)
    path.write_text(kubeconfig(NEW, east=", insecure-skip-tls-verify: true"))
    report = await core.registry.import_kubeconfig(path, ["prod-east"])
    assert report.replaced == [] and report.imported == []
    ((ctx, why),) = report.skipped
    assert ctx == "prod-east" and "insecure-skip-tls-verify" in why and "not replaced" in why
    east = core.registry.get("prod-east")
    assert east.tls_verify is True and token_of(core, east) == OLD


@pytest.mark.asyncio
async def test_reimport_of_a_context_that_now_runs_a_command_needs_consent(
    core: Core, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    await core.registry.import_kubeconfig(path)
    path.write_text(kubeconfig(NEW, exec_user=True))
    refused = await core.registry.import_kubeconfig(path, ["prod-east"])
    assert refused.replaced == [] and "--allow-exec" in refused.skipped[0][1]
    assert token_of(core, core.registry.get("prod-east")) == OLD
    allowed = await core.registry.import_kubeconfig(path, ["prod-east"], allow_exec=True)
    (east,) = allowed.replaced
    assert east.credential is not None and east.credential.exec_command == "oc"
    assert [c.name for c in core.registry.clusters()] == ["prod-east", "prod-west"]


@pytest.mark.asyncio
async def test_a_name_taken_by_another_cluster_is_still_suffixed(
    core: Core, tmp_path: Path
) -> None:
    """Only the cluster the context registered is refreshed: one of the same name added
    otherwise (its own token, the same server) is another cluster."""
    await core.registry.add(ClusterSpec(name="prod-east", api_server_url=EAST),
                            ClusterSecrets(token=OLD))  # fmt: skip
    path = tmp_path / "config"
    path.write_text(kubeconfig(NEW))
    report = await core.registry.import_kubeconfig(path, ["prod-east"])
    assert report.replaced == [] and [c.name for c in report.imported] == ["prod-east-2"]
    east = core.registry.get("prod-east")
    assert east.credential is not None and core.secrets.get(east.credential) == OLD


def test_cli_import_says_which_credentials_were_replaced(
    tmp_path: Path,
    secret_service: Any,
) -> None:
    home = tmp_path / "home"
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    code, out, err = call_main(home, "clusters", "import-kubeconfig", str(path))
    assert code == 0, err
    path.write_text(kubeconfig(NEW))
    code, out, err = call_main(home, "clusters", "import-kubeconfig", str(path))
    assert code == 0, err
    assert "credential replaced: prod-east" in out and "credential replaced: prod-west" in out
    assert "imported" not in out and NEW not in out + err
    code, out, err = call_main(home, "clusters", "list")
    assert code == 0 and "prod-east-2" not in out


@pytest.mark.asyncio
async def test_a_window_edit_after_the_cli_reimport_keeps_the_new_credential(
    core: Core, tmp_path: Path
) -> None:
    """The CLI re-imports (the old keyring entry deleted) while the window still holds the
    cluster with the old credential: an edit in the window saves the new one, not the old."""
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    await core.registry.import_kubeconfig(path)
    old_ref = core.registry.get("prod-east").credential
    cli = other_process(core)
    await cli.load()
    path.write_text(kubeconfig(NEW))
    assert [c.name for c in (await cli.import_kubeconfig(path, ["prod-east"])).replaced] == [
        "prod-east"
    ]
    new_ref = cli.get("prod-east").credential
    assert new_ref is not None and new_ref != old_ref
    assert core.registry.get("prod-east").credential == old_ref  # the window is behind

    east = await core.registry.set_endpoint(
        "prod-east", PROM, "https://thanos.east", use_cluster_token=True
    )
    assert east.credential == new_ref and token_of(core, east) == NEW
    prom = east.endpoint(PROM)
    assert prom is not None and prom.credential == new_ref  # the cluster's: the new one
    assert core.registry.get("prod-east") == east  # the window's copy refreshed
    stored = ClusterRepository(core.db).get(east.id)
    assert stored is not None and stored.credential == new_ref
    assert stored.endpoint(PROM) == prom
    assert token_of(core, stored) == NEW
    # a restarted app reads the fresh token
    fresh = other_process(core)
    await fresh.load()
    assert token_of(core, fresh.get("prod-east")) == NEW


@pytest.mark.asyncio
async def test_an_edit_that_replaces_the_credential_itself_is_kept(
    core: Core, tmp_path: Path
) -> None:
    """The window's own re-import after the CLI's: its credential is the one saved."""
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    await core.registry.import_kubeconfig(path, ["prod-east"])
    cli = other_process(core)
    await cli.load()
    path.write_text(kubeconfig(NEW))
    await cli.import_kubeconfig(path, ["prod-east"])
    path.write_text(kubeconfig("sha256~NEWERTOKEN222222222"))
    (east,) = (await core.registry.import_kubeconfig(path, ["prod-east"])).replaced
    assert token_of(core, east) == "sha256~NEWERTOKEN222222222"
    stored = ClusterRepository(core.db).get(east.id)
    assert stored is not None and stored.credential == east.credential


OTHER_CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUOTHERCA\n-----END CERTIFICATE-----\n"


@pytest.mark.asyncio
async def test_reimport_never_swaps_the_certificate_authority(core: Core, tmp_path: Path) -> None:
    """A file that brings another CA for the same context and server: trusting it is as bad
    as verification off, so it is skipped with why; the cluster keeps its CA and token."""
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    await core.registry.import_kubeconfig(path, ["prod-east"])
    ours = base64.b64encode(CA_PEM.encode()).decode()
    theirs = base64.b64encode(OTHER_CA.encode()).decode()
    (tmp_path / "vendor.yaml").write_text(kubeconfig(NEW).replace(ours, theirs, 1))
    report = await core.registry.import_kubeconfig(tmp_path / "vendor.yaml", ["prod-east"])
    assert report.replaced == [] and report.imported == []
    ((ctx, why),) = report.skipped
    assert ctx == "prod-east"
    assert "certificate authority differs" in why and "not replaced" in why
    assert "remove the cluster and import it again" in why
    east = core.registry.get("prod-east")
    assert east.ca_bundle_pem == CA_PEM and east.tls_verify is True
    assert token_of(core, east) == OLD
    payload = core.secrets.get_json(east.credential) if east.credential else None
    assert payload is not None
    assert payload["clusters"][0]["cluster"]["certificate-authority-data"] == ours
    # a file that names no CA where one was pinned: any CA the system trusts would then do
    (tmp_path / "bare.yaml").write_text(
        kubeconfig(NEW).replace(f", certificate-authority-data: {ours}", "", 1)
    )
    report = await core.registry.import_kubeconfig(tmp_path / "bare.yaml", ["prod-east"])
    assert report.replaced == [] and "certificate authority differs" in report.skipped[0][1]
    assert token_of(core, core.registry.get("prod-east")) == OLD


@pytest.mark.asyncio
async def test_reimport_with_the_same_or_no_certificate_authority_replaces(
    core: Core, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    path.write_text(kubeconfig(OLD))
    await core.registry.import_kubeconfig(path, ["prod-east"])
    path.write_text(kubeconfig(NEW))  # the same CA, the same bytes
    (east,) = (await core.registry.import_kubeconfig(path, ["prod-east"])).replaced
    assert token_of(core, east) == NEW and east.ca_bundle_pem == CA_PEM
    # the same CA, as another tool writes it (CRLF line ends, no final newline)
    crlf = base64.b64encode(CA_PEM.strip().replace("\n", "\r\n").encode()).decode()
    ours = base64.b64encode(CA_PEM.encode()).decode()
    path.write_text(kubeconfig("sha256~THIRDTOKEN3333333333").replace(ours, crlf, 1))
    (east,) = (await core.registry.import_kubeconfig(path, ["prod-east"])).replaced
    assert token_of(core, east) == "sha256~THIRDTOKEN3333333333"

    # a cluster registered with no CA (its server's certificate publicly trusted), and a
    # file that gives none either
    public = "https://api.public.example:6443"
    no_ca = f"""apiVersion: v1
kind: Config
clusters:
- name: pub
  cluster: {{server: "{public}"}}
users:
- name: u
  user: {{token: "TOKEN"}}
contexts:
- name: pub
  context: {{cluster: pub, user: u}}
current-context: pub
"""
    path.write_text(no_ca.replace("TOKEN", OLD))
    (pub,) = (await core.registry.import_kubeconfig(path, ["pub"])).imported
    assert pub.ca_bundle_pem is None
    path.write_text(no_ca.replace("TOKEN", NEW))
    report = await core.registry.import_kubeconfig(path, ["pub"])
    assert report.skipped == [] and [c.name for c in report.replaced] == ["pub"]
    assert token_of(core, report.replaced[0]) == NEW


# -- 5: a cluster removed by another process -----------------------------------------------------
def other_process(core: Core) -> ClusterRegistry:
    """The CLI's registry on the same cache (its own bus: the window hears nothing)."""
    return ClusterRegistry(ClusterRepository(core.db), HealthRepository(core.db), core.secrets,
                           EventBus(), keys=CredentialKeyRepository(core.db))  # fmt: skip


@pytest.mark.asyncio
async def test_a_cluster_removed_elsewhere_is_removed_in_the_window(core: Core) -> None:
    seen: list[str] = []
    core.bus.subscribe(CLUSTER_REMOVED, lambda c: seen.append(c.name))
    for name in ("prod-east", "prod-west"):
        await core.registry.add(ClusterSpec(name=name, api_server_url=f"https://{name}.example"),
                                ClusterSecrets(token="sha256~aaaaaaaaaaaaaaaa"))  # fmt: skip
        store_series(core, name)
    cli = other_process(core)
    await cli.load()
    await cli.remove("prod-east")
    await cli.remove("prod-west")

    # found at its health check
    with pytest.raises(ClusterNotFoundError, match="removed meanwhile"):
        await core.registry.apply_check("prod-east", {API: True})
    assert seen == ["prod-east"]
    # found by the look for clusters added elsewhere
    await core.registry.adopt_added()
    assert seen == ["prod-east", "prod-west"]
    assert core.registry.clusters() == []
    await settled(core)  # Core._on_cluster_removed ran: the data kept by name went too
    assert core.series.read("cpu", cluster="prod-east") == []
    assert core.series.read("cpu", cluster="prod-west") == []


@pytest.mark.asyncio
async def test_a_row_damaged_elsewhere_is_not_taken_for_removed(core: Core) -> None:
    seen: list[str] = []
    core.bus.subscribe(CLUSTER_REMOVED, lambda c: seen.append(c.name))
    await core.registry.add(ClusterSpec(name="prod-east", api_server_url="https://e.example"))
    store_series(core, "prod-east")
    core.db.write(lambda c: c.execute(
        "UPDATE clusters SET doc = json_set(doc, '$.future', 1) WHERE name = 'prod-east'"
    )).result()  # fmt: skip
    await core.registry.adopt_added()
    assert seen == []
    assert [c.name for c in core.registry.clusters()] == ["prod-east"]
    await settled(core)
    assert len(core.series.read("cpu", cluster="prod-east")) == 1


# -- a damaged row: why, in one line; removed by name ----------------------------------------------
def damage(path: Path, name: str) -> None:
    """An old row whose CA bundle holds a private key (which the model now refuses)."""
    pem = CA_PEM + f"-----BEGIN PRIVATE KEY-----\n{PRIVATE}\n-----END PRIVATE KEY-----\n"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE clusters SET doc = json_set(doc, '$.ca_bundle_pem', ?) "
                     "WHERE name = ?", (pem, name))  # fmt: skip
        conn.commit()


def test_a_damaged_row_says_why_and_is_removed_by_name(tmp_path: Path, secret_service: Any) -> None:
    home = tmp_path / "home"
    paths = resolve_paths(home)

    async def in_core(work: Any) -> Any:
        core = Core.open(paths, secrets=SecretStore(secret_service.backend()))
        try:
            await core.registry.load()
            return await work(core)
        finally:
            await core.shutdown()

    async def add(core: Core) -> Cluster:
        cluster = await core.registry.add(
            ClusterSpec(name="prod-east", api_server_url="https://e.example:6443"),
            ClusterSecrets(token="sha256~eastTOKEN00000000"),
        )
        store_series(core, "prod-east")
        return cluster

    async def series(core: Core) -> int:
        return len(core.series.read("cpu", cluster="prod-east"))

    cluster = asyncio.run(in_core(add))
    damage(paths.db_path, "prod-east")

    code, out, err = call_main(home, "clusters", "list")
    assert code == 0
    said = [line for line in err.splitlines() if "prod-east" in line]
    assert len(said) == 1, err  # one line
    assert "ca_bundle_pem" in said[0] and "private key" in said[0]
    assert "clusters remove" in said[0]
    assert PRIVATE not in err + out and "BEGIN" not in err

    code, out, err = call_main(home, "clusters", "remove", "prod-east")
    assert code == 0, err
    assert "removed prod-east" in out
    with closing(sqlite3.connect(paths.db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM clusters").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM credential_keys").fetchone() == (0,)
    assert asyncio.run(in_core(series)) == 0  # its series went with it
    assert cluster.credential is not None
    assert cluster.credential.kind is CredentialKind.BEARER_TOKEN
    backend = secret_service.backend()
    assert backend.get_password(cluster.credential.service, cluster.credential.key) is None
    code, _, err = call_main(home, "clusters", "remove", "prod-east")
    assert code != 0 and "no cluster named 'prod-east'" in err
