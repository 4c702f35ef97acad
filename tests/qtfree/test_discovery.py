"""Discovery against a real API (kmock behind nginx): endpoints, operators, CNF workloads,
stored on the cluster; a user's endpoint is never replaced; vanished capabilities flagged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import pytest

from aiops_desktop.models import Cluster, EndpointKind, utcnow
from aiops_desktop.models.cluster import ClusterCapabilities
from aiops_desktop.models.credentials import CredentialKind, CredentialRef
from aiops_desktop.models.enums import AuthMethod, EndpointSource, Platform
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.kube.discovery import (
    Found,
    cnf_workloads,
    find_stack_gateway,
    interpret,
    merged,
    platform_of,
)
from collectors.errors import CollectorError
from tests.qtfree.cli_runner import run_cli
from tests.servers.kube_api import RunningKubeApi
from tests.servers.kube_objects import APPS
from tests.servers.processes import free_port

pytestmark = pytest.mark.integration
THANOS = f"https://thanos-querier-openshift-monitoring.{APPS}"
ALERTMANAGER = f"https://alertmanager-main-openshift-monitoring.{APPS}"


def add(home: Path, env: dict[str, str], ca: Path, api: RunningKubeApi, name: str, token: str,
        *extra: str) -> None:  # fmt: skip
    done = run_cli(
        home, env, "clusters", "add", name, "--api-url", api.url, "--ca-file", str(ca),
        "--token-stdin", *extra, stdin=token,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_discover_finds_and_stores_what_the_cluster_runs(
    tmp_path: Path, secret_service, kube_api: RunningKubeApi
) -> None:  # type: ignore[no-untyped-def]
    env, home, ca = dict(secret_service.env), tmp_path / "home", tmp_path / "ca.pem"
    ca.write_text(kube_api.ca_pem)
    add(home, env, ca, kube_api, "ran-east", "admin-token")
    add(home, env, ca, kube_api, "ran-typed", "admin-token", "--prometheus-url", "http://prom:9090")
    add(home, env, ca, kube_api, "ran-view", "viewer-token")

    done = run_cli(home, env, "clusters", "discover", "ran-east", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["platform"] == "OPENSHIFT" and found["platform_version"] == "4.16.14"
    endpoints = {e["kind"]: e for e in found["endpoints"]}
    assert endpoints["PROMETHEUS"]["url"] == THANOS and endpoints["PROMETHEUS"]["external"]
    assert endpoints["ALERTMANAGER"]["url"] == ALERTMANAGER
    loki = endpoints["LOKI"]  # a LokiStack with no route: found, reported, not used
    assert loki["url"] == "http://logging-loki-gateway-http.openshift-logging.svc:8080"
    assert not loki["external"] and "LokiStack" in loki["how"]
    caps = found["capabilities"]
    assert (caps["gpu_nodes"], caps["gpu_count"], caps["gpu_types"]) == (
        2, 16, ["NVIDIA-H100-80GB-HBM3"],
    )  # fmt: skip
    assert caps["has_gpu_operator"] and caps["has_ptp"] and caps["has_sriov"]
    assert caps["has_thanos"] and caps["has_loki"] and not caps["has_tempo"]
    assert found["ptp_profiles"] == ["du-ptp-slave", "du-ptp-slave-b", "grandmaster"]
    assert found["ptp_devices"] == {"worker-0": ["ens1f0", "ens1f1"]}
    assert found["sriov_nodes"] == {"worker-0": "Succeeded", "gpu-1": "Failed"}
    assert found["cnf_namespaces"] == {"du-site1": "vDU", "core-5g": "AMF", "ran-du": "other"}
    assert caps["cnf_types"] == ["vDU", "AMF", "other"]
    assert found["absent"] == ["tempostacks"] and found["denied"] == []  # no Tempo operator

    listed = json.loads(run_cli(home, env, "clusters", "list", "--json").stdout)
    stored = {c["name"]: c for c in listed}["ran-east"]
    prom = next(e for e in stored["endpoints"] if e["kind"] == "PROMETHEUS")
    assert prom["url"] == THANOS and prom["source"] == "DISCOVERED" and prom["auth"] == "BEARER"
    assert {e["kind"] for e in stored["endpoints"]} == {"PROMETHEUS", "ALERTMANAGER"}
    assert stored["platform"] == "OPENSHIFT" and stored["capabilities"]["gpu_count"] == 16

    typed = run_cli(home, env, "clusters", "discover", "ran-typed")
    assert typed.returncode == 0, typed.stderr
    assert "  sr-iov        2 nodes (1 not synced), networks du-fronthaul" in typed.stdout
    assert "  not installed tempostacks" in typed.stdout
    listed = json.loads(run_cli(home, env, "clusters", "list", "--json").stdout)
    kept = {c["name"]: c for c in listed}["ran-typed"]
    urls = {e["kind"]: (e["url"], e["source"]) for e in kept["endpoints"]}
    assert urls["PROMETHEUS"] == ("http://prom:9090", "USER")  # the user's choice wins
    assert urls["ALERTMANAGER"] == (ALERTMANAGER, "DISCOVERED")

    def prometheus_of(name: str) -> tuple[str, str]:
        listed = json.loads(run_cli(home, env, "clusters", "list", "--json").stdout)
        cluster = {c["name"]: c for c in listed}[name]
        e = next(e for e in cluster["endpoints"] if e["kind"] == "PROMETHEUS")
        return e["url"], e["source"]

    own = run_cli(
        home, env, "clusters", "set-endpoint", "ran-east", "prometheus", "http://own:9090"
    )
    assert own.returncode == 0 and "http://own:9090 (yours: discovery keeps it)" in own.stdout
    assert run_cli(home, env, "clusters", "discover", "ran-east").returncode == 0
    assert prometheus_of("ran-east") == ("http://own:9090", "USER")
    gone = run_cli(home, env, "clusters", "set-endpoint", "ran-east", "prometheus")
    assert gone.returncode == 0 and "prometheus: removed" in gone.stdout
    assert run_cli(home, env, "clusters", "discover", "ran-east").returncode == 0
    assert prometheus_of("ran-east") == (THANOS, "DISCOVERED")

    viewer = run_cli(home, env, "clusters", "discover", "ran-view", "--json")
    assert viewer.returncode == 0, viewer.stderr
    limited = json.loads(viewer.stdout)
    assert "clusterpolicies" in limited["denied"] and "ptpconfigs" in limited["denied"]
    assert not limited["capabilities"]["has_gpu_operator"]
    assert limited["capabilities"]["gpu_count"] == 16  # nodes are readable: GPUs still seen


def test_a_capability_that_disappears_is_flagged() -> None:
    before = ClusterCapabilities(has_ptp=True, has_sriov=True, discovered_at=utcnow())
    cluster = Cluster(name="ran-east", api_server_url="https://api:6443", capabilities=before)
    objects = {"sriovnetworks": [{"metadata": {"name": "fh", "namespace": "x"}}]}
    found = interpret("ran-east", objects, {"gitVersion": "v1.29.8"}, [], [])
    after = merged(cluster, found)
    assert after.capabilities.vanished == ["ptp"] and found.vanished == ["ptp"]
    assert after.platform is Platform.KUBERNETES and after.platform_version == "v1.29.8"
    fresh = merged(Cluster(name="new-one", api_server_url="https://api:6443"), found)
    assert fresh.capabilities.vanished == []  # the first discovery knew nothing before


def test_gateways_cnf_and_platform_from_objects() -> None:
    stack = {"kind": "TempoStack", "metadata": {"name": "ran", "namespace": "tracing"}}
    route = {
        "metadata": {"name": "tempo-ran-gateway", "namespace": "tracing"},
        "spec": {"host": "tempo.apps.x", "tls": {"termination": "edge"}},
    }
    found = find_stack_gateway(
        EndpointKind.TEMPO, [stack], [route], [],
        namespaces=("tracing",), gateway_names=("tempo-{name}-gateway",),
    )  # fmt: skip
    assert found is not None and found.url == "https://tempo.apps.x" and found.external
    elsewhere = {"kind": "TempoStack", "metadata": {"name": "ran", "namespace": "team-a"}}
    not_watched = find_stack_gateway(
        EndpointKind.TEMPO, [elsewhere], [route], [],
        namespaces=("tracing",), gateway_names=("tempo-{name}-gateway",),
    )  # fmt: skip
    assert not_watched is None
    # the cluster's credential goes to a route only in a namespace only the platform makes: a
    # tenant may make "tracing" and route it to a host of its own
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/x/api")
    cluster = Cluster(name="ran-east", api_server_url="https://api:6443", credential=ref)
    platform = Found(EndpointKind.TEMPO, "https://tempo.apps.x", "route", True, "openshift-tempo")
    for where, sent in ((found, None), (platform, ref)):
        discovered = interpret("ran-east", {}, {"gitVersion": "v1.29.8"}, [], [])
        discovered.endpoints = [where]
        (endpoint,) = merged(cluster, discovered).endpoints
        assert endpoint.credential == sent, where.namespace
        assert (endpoint.auth is AuthMethod.NONE) is (sent is None)
    namespaces = [{"metadata": {"name": n}} for n in ("upf-edge", "cu-7", "5g-lab", "apps")]
    pods = [{"metadata": {"namespace": "5g-lab", "labels": {"app.kubernetes.io/component": "nrf"}}}]
    assert cnf_workloads(namespaces, pods) == {"upf-edge": "UPF", "cu-7": "vCU", "5g-lab": "NRF"}
    assert platform_of([], {"gitVersion": "v1.30.2+k3s1"}) == (Platform.KUBERNETES, "v1.30.2+k3s1")
    assert EndpointSource.DISCOVERED.value == "DISCOVERED"


@pytest.mark.asyncio
async def test_new_clusters_are_discovered_in_the_background(
    core: Core, kube_api: RunningKubeApi
) -> None:
    """The supervised task discovers a newly registered cluster without being asked, and an
    unreachable one is retried only after RETRY_AFTER_S (not on every registry change)."""
    task = asyncio.create_task(core.discovery.run_periodic(check_every_s=30))
    try:
        await core.registry.add(
            ClusterSpec(
                name="ran-east", api_server_url=kube_api.url, ca_bundle_pem=kube_api.ca_pem
            ),
            ClusterSecrets(token="admin-token"),
        )
        await core.registry.add(
            ClusterSpec(name="dark-9", api_server_url=f"https://127.0.0.1:{free_port()}"),
            ClusterSecrets(token="admin-token"),
        )
        async with asyncio.timeout(20):
            while (
                core.registry.get("ran-east").capabilities.discovered_at is None
                or "dark-9" not in core.discovery.failed
            ):
                await asyncio.sleep(0.05)
        east = core.registry.get("ran-east")
        assert east.capabilities.gpu_count == 16 and east.platform is Platform.OPENSHIFT
        assert east.endpoint(EndpointKind.PROMETHEUS) is not None
        assert core.registry.get("dark-9").capabilities.discovered_at is None
        assert core.discovery.due(time.monotonic()) == []  # both handled: one found, one waits
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.asyncio
async def test_a_stop_that_comes_as_a_discovery_fails_stops_it(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.11's wait_for can take a cancel in and give back the call's error instead:
    the loop sees a failed discovery, not its stop. It stops all the same (it waited ten
    minutes, and the app's shutdown with it)."""
    await core.registry.add(
        ClusterSpec(name="dark-9", api_server_url=f"https://127.0.0.1:{free_port()}"),
        ClusterSecrets(token="admin-token"),
    )

    async def fails_as_it_is_stopped(name: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)  # the cancel, taken in
        raise CollectorError(f"{name}: connection refused")  # and the error given back

    monkeypatch.setattr(core.discovery, "run", fails_as_it_is_stopped)
    task = asyncio.create_task(core.discovery.run_periodic(check_every_s=600))
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "dark-9" not in core.discovery.failed


def test_discover_a_cluster_without_any_operator(
    tmp_path: Path, secret_service, bare_kube_api: RunningKubeApi
) -> None:  # type: ignore[no-untyped-def]
    """No routes, no OpenShift, no GPU/PTP/SR-IOV/Loki/Tempo operators: a normal answer."""
    env, home, ca = dict(secret_service.env), tmp_path / "home", tmp_path / "ca.pem"
    ca.write_text(bare_kube_api.ca_pem)
    add(home, env, ca, bare_kube_api, "plain-k8s", "admin-token")
    done = run_cli(home, env, "clusters", "discover", "plain-k8s", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["platform"] == "KUBERNETES" and found["platform_version"] == "v1.29.8+f10c92d"
    assert found["endpoints"] == [] and found["denied"] == []
    assert found["absent"] == [
        "routes", "clusterversions", "clusterpolicies", "ptpconfigs", "nodeptpdevices",
        "sriovnetworknodestates", "sriovnetworks", "lokistacks", "tempostacks",
    ]  # fmt: skip
    caps = found["capabilities"]
    assert caps["gpu_count"] == 0 and not caps["has_ptp"] and not caps["has_sriov"]
    assert not caps["has_cnf"] and not caps["has_prometheus"] and caps["cnf_types"] == []
    text = run_cli(home, env, "clusters", "discover", "plain-k8s")
    assert text.returncode == 0 and text.stdout.startswith("plain-k8s: KUBERNETES v1.29.8")
    assert "  not installed routes, clusterversions, clusterpolicies" in text.stdout
