"""The registry service: add, import, remove, health state machine, history, fleet summary."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aiops_desktop.models import (
    AuthMethod,
    ClusterState,
    Connectivity,
    CredentialKind,
    EndpointKind,
    HealthRecord,
)
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.registry import (
    ClusterNotFoundError,
    DuplicateClusterError,
    RegistryError,
)
from aiops_desktop.services.core import Core
from aiops_desktop.services.runtime.bus import CLUSTERS_CHANGED
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store.health import HealthRepository
from tests.qtfree.kubeconfigs import TOKEN, write_kubeconfig

API = EndpointKind.API_SERVER
PROM = EndpointKind.PROMETHEUS


@pytest.mark.asyncio
async def test_add_with_token_keeps_secret_in_keyring_only(core: Core) -> None:
    seen: list[int] = []
    core.bus.subscribe(CLUSTERS_CHANGED, lambda clusters: seen.append(len(clusters)))
    spec = ClusterSpec(
        name="prod-east-1",
        api_server_url="https://api.prod-east-1:6443",
        endpoint_urls={PROM: "https://thanos.prod-east-1"},
    )
    cluster = await core.registry.add(
        spec, ClusterSecrets(token=TOKEN, endpoints_use_cluster_token=True)
    )
    assert cluster.credential is not None and cluster.credential.kind is CredentialKind.BEARER_TOKEN
    prom = cluster.endpoint(PROM)
    assert (
        prom is not None
        and prom.auth is AuthMethod.BEARER
        and prom.credential == cluster.credential
    )
    assert core.secrets.get(cluster.credential) == TOKEN
    assert TOKEN not in cluster.model_dump_json()
    assert seen == [1]
    with pytest.raises(DuplicateClusterError, match="already registered"):
        await core.registry.add(spec)
    removed = await core.registry.remove("prod-east-1")
    assert core.secrets.get(removed.credential) is None  # type: ignore[arg-type]
    with pytest.raises(ClusterNotFoundError):
        core.registry.get("prod-east-1")


@pytest.mark.asyncio
async def test_invalid_spec_gives_a_readable_error(core: Core) -> None:
    with pytest.raises(RegistryError, match=r"api_server_url: API server URL 'http://x'"):
        await core.registry.add(ClusterSpec(name="good-name", api_server_url="http://x"))


@pytest.mark.asyncio
async def test_import_every_usable_context(core: Core, tmp_path: Path) -> None:
    # a context whose credential runs a command is skipped, with the command, unless allowed
    careful = await core.registry.import_kubeconfig(write_kubeconfig(tmp_path))
    (runs,) = [why for ctx, why in careful.skipped if ctx == "lab-oidc"]
    assert "runs 'oc get-token (environment: OIDC_SECRET=<hidden>) (secret values hidden; " in runs
    assert "--allow-exec" in runs
    assert "exec-env-secret-value" not in runs  # a secret-named variable's value is hidden
    for cluster in careful.imported:
        await core.registry.remove(cluster.name)
    # the window's tick consents to the command it showed, and to no other: a file changed
    # between the preview and the import runs something else, and is skipped
    path = write_kubeconfig(tmp_path)
    ticked = await core.registry.import_kubeconfig(
        path, ["lab-oidc"], consented={"lab-oidc": "oc something-else"}
    )
    assert ticked.imported == [] and "runs 'oc get-token" in ticked.skipped[0][1]
    report = await core.registry.import_kubeconfig(path, allow_exec=True)
    names = sorted(c.name for c in report.imported)
    assert names == ["admin", "default-api-ocp-prod-example-com-6443-kube-admin", "lab-oidc"]
    assert sorted(ctx for ctx, _ in report.skipped) == ["broken-user", "insecure-http"]
    assert any("NOT be verified" in w for w in report.warnings)
    lab = core.registry.get("lab-oidc")
    assert lab.tls_verify is False
    assert lab.credential is not None and lab.credential.exec_command == "oc"
    payload = core.secrets.get_json(lab.credential)
    assert payload and payload["users"][0]["user"]["exec"]["command"] == "oc"
    # importing again replaces the context's credential: the same cluster, no admin-2
    admin = core.registry.get("admin")
    again = await core.registry.import_kubeconfig(write_kubeconfig(tmp_path), ["admin"])
    assert again.imported == [] and [c.id for c in again.replaced] == [admin.id]
    # the registry reloads from the store as it was
    reloaded = await core.registry.load()
    assert len(reloaded) == 3


@pytest.mark.asyncio
async def test_health_state_machine_and_history(core: Core) -> None:
    await core.registry.add(
        ClusterSpec(
            name="edge-7",
            api_server_url="https://api.edge-7:6443",
            endpoint_urls={PROM: "https://prom", EndpointKind.LOKI: "https://loki"},
        )
    )
    assert core.registry.get("edge-7").status.state is ClusterState.UNKNOWN
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    steps = [
        (
            {API: True, PROM: True, EndpointKind.LOKI: True},
            ClusterState.ONLINE,
            100,
            Connectivity.CONNECTED,
        ),
        (
            {API: True, PROM: False, EndpointKind.LOKI: False},
            ClusterState.DEGRADED,
            65,
            Connectivity.CONNECTED,
        ),
        (
            {API: False, PROM: False, EndpointKind.LOKI: False},
            ClusterState.OFFLINE,
            15,
            Connectivity.INTERMITTENT,
        ),
    ]
    for i, (results, state, score, conn) in enumerate(steps):
        cluster = await core.registry.apply_check("edge-7", results, at=t0 + timedelta(minutes=i))
        assert (cluster.status.state, cluster.status.health_score, cluster.status.connectivity) == (
            state,
            score,
            conn,
        )
    history = await core.registry.health_history("edge-7")
    assert [h.state for h in history] == [s for _, s, _, _ in steps]
    summary = core.registry.fleet_summary()
    assert summary.total == 1 and summary.by_state == {ClusterState.OFFLINE: 1}
    assert summary.average_health == 15
    old = await core.registry.apply_check("edge-7", {API: True}, at=t0 - timedelta(days=8))
    assert old.status.state is ClusterState.ONLINE
    assert await core.registry.prune_history(datetime.now(UTC), timedelta(days=7)) == 1


@pytest.mark.asyncio
async def test_a_health_check_folded_in_meanwhile_never_undoes_an_endpoint_change(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check's history write is held while the user points the metrics endpoint elsewhere:
    the change does not wait for it, and both land, in memory and in the cache."""
    await core.registry.add(ClusterSpec(name="hub", endpoint_urls={PROM: "http://127.0.0.1:1"}))
    record = HealthRepository.record
    held: list[tuple[Future[None], HealthRecord]] = []

    def hold(repo: HealthRepository, rec: HealthRecord) -> Future[None]:
        held.append((Future(), rec))
        monkeypatch.setattr(HealthRepository, "record", record)  # only the first is held
        return held[-1][0]

    monkeypatch.setattr(HealthRepository, "record", hold)
    check = asyncio.create_task(core.registry.apply_check("hub", {PROM: True}))
    while not held:
        await asyncio.sleep(0.01)
    change = asyncio.create_task(core.registry.set_endpoint("hub", PROM, "http://127.0.0.1:2"))
    await asyncio.sleep(0.1)
    assert change.done() and not check.done()  # the change waits on no other change
    future, rec = held[0]
    record(core.registry._history, rec).add_done_callback(lambda f: future.set_result(None))
    checked, changed = await asyncio.gather(check, change)
    assert checked.endpoint(PROM).url == "http://127.0.0.1:1"  # type: ignore[union-attr]
    now = core.registry.get("hub")
    assert now.endpoint(PROM).url == "http://127.0.0.1:2" == changed.endpoint(PROM).url  # type: ignore[union-attr]
    assert now.status.state is ClusterState.ONLINE and now.status.last_check_at is not None
    (stored,) = await core.registry.load()
    assert stored.endpoint(PROM).url == "http://127.0.0.1:2"  # type: ignore[union-attr]
    assert stored.status.state is ClusterState.ONLINE


@pytest.mark.asyncio
async def test_a_health_check_never_undoes_what_another_process_changed(
    core: Core,
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    """The window and the CLI share one cache: the window's health checks write the status
    alone, so the CLI's set-endpoint stands and a cluster it removed does not come back
    (without its credential); the window takes up what the cache now says."""
    await core.registry.add(ClusterSpec(name="prod-1", endpoint_urls={PROM: "https://old.example"}))
    await core.registry.add(ClusterSpec(name="lab-2", endpoint_urls={PROM: "https://lab.example"}))
    cli = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(secret_service.backend()))
    try:
        await cli.registry.load()
        await cli.registry.set_endpoint("prod-1", PROM, "https://new.example")
        await cli.registry.remove("lab-2")
    finally:
        await cli.shutdown()
    checked = await core.registry.apply_check("prod-1", {PROM: True})
    assert checked.endpoint(PROM).url == "https://new.example"  # type: ignore[union-attr]
    assert core.registry.get("prod-1").status.state is ClusterState.ONLINE
    with pytest.raises(ClusterNotFoundError, match="removed meanwhile"):
        await core.registry.apply_check("lab-2", {API: False, PROM: False})
    assert [c.name for c in core.registry.clusters()] == ["prod-1"]
    stored = {c.name: c for c in await core.registry.load()}
    assert list(stored) == ["prod-1"]
    assert stored["prod-1"].endpoint(PROM).url == "https://new.example"  # type: ignore[union-attr]
    assert stored["prod-1"].status.state is ClusterState.ONLINE


@pytest.mark.asyncio
async def test_a_cluster_the_cli_adds_is_taken_in_by_the_running_app(
    core: Core,
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    """A cluster added by another process sharing the cache (the CLI) reached a running
    window only after a restart; now it is taken in (and published: polling starts), once,
    and a cluster this process removed is not taken back from a read made before its
    deletion committed."""
    await core.registry.add(ClusterSpec(name="prod-1", endpoint_urls={PROM: "https://a.example"}))
    published: list[list[str]] = []
    core.bus.subscribe(CLUSTERS_CHANGED, lambda cs: published.append([c.name for c in cs]))
    cli = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(secret_service.backend()))
    try:
        await cli.registry.load()
        await cli.registry.add(ClusterSpec(name="edge-9", endpoint_urls={PROM: "https://e.example"},
                                           ), ClusterSecrets(token="t-0k3n-9"))  # fmt: skip
    finally:
        await cli.shutdown()
    assert [c.name for c in await core.registry.adopt_added()] == ["edge-9"]
    assert [c.name for c in core.registry.clusters()] == ["edge-9", "prod-1"]
    assert published[-1] == ["edge-9", "prod-1"]
    assert await core.registry.adopt_added() == []  # once
    stale = await asyncio.to_thread(core.registry._repo.list)  # read before a removal lands
    await core.registry.remove("prod-1")
    core.registry._repo.list = lambda: stale  # type: ignore[method-assign]
    assert await core.registry.adopt_added() == []
    assert [c.name for c in core.registry.clusters()] == ["edge-9"]
