"""SR-IOV and DPDK readers over a real Prometheus fleet hub (sriov_fleet.py backfilled), the
operator's objects read into rows, and CNF workloads typed by namespace and label."""

from __future__ import annotations

import pytest

from aiops_desktop.models import ClusterKind, CNFType, EndpointKind
from aiops_desktop.models.cnf import DpdkPortRow, VfRow
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.gpu_cnf.cnf import cnf_workloads_by_type, read_sriov_objects
from aiops_desktop.services.gpu_cnf.sriov import network_rows, node_sync_rows, read_dataplane
from tests.servers.kube_api import RunningKubeApi
from tests.servers.kube_objects import discovery_objects


def _plural(name: str) -> list[dict]:  # type: ignore[type-arg]
    return [o for o in discovery_objects() if o["__plural__"] == name]


def test_node_states_and_networks_from_the_operators_objects() -> None:
    rows = node_sync_rows(_plural("sriovnetworknodestates"))
    assert [(r.node, r.status) for r in rows] == [("gpu-1", "Failed"), ("worker-0", "Succeeded")]
    assert rows[0].error == "failed to configure VFs" and rows[0].interfaces == []
    # eno1 has no VFs (no totalvfs): only the SR-IOV capable NIC is listed
    assert rows[1].interfaces == [
        "ens1f0 8/64 VFs · 25000 Mb/s · MTU 9000 · mlx5_core (15b3:1017) 0000:3b:00.0"
    ]
    assert rows[1].vfs_configured == 8
    [net] = network_rows(_plural("sriovnetworks"))
    assert (net.name, net.resource, net.target_namespace, net.vlan) == (
        "du-fronthaul", "du_fh", "du-site1", 100,
    )  # fmt: skip
    assert (net.spoof_chk, net.trust) == ("off", "on")


def test_cnf_workloads_typed_by_label_then_namespace() -> None:
    vfs = [VfRow("c1", "w0", "ens1f0", "0", "0000:3b:02.0", "du-a/l1-0", rx_bps=1e8,
                 rx_drops_ps=5.0),
           VfRow("c1", "w0", "ens1f0", "1", "0000:3b:02.1", "du-a/l1-0", rx_bps=2e8),
           VfRow("c1", "w0", "ens1f0", "2", "0000:3b:02.2", "apps/router-0"),
           VfRow("c1", "w0", "ens1f0", "3", "0000:3b:02.3")]  # fmt: skip
    ports = [DpdkPortRow("c1", "w1", "0", "upf-x/upf-0", rx_bps=8e9, rx_missed_ps=3.0)]
    pods = [("c1", {"metadata": {"namespace": "core", "name": "amf-0",
                                 "labels": {"app.kubernetes.io/component": "amf"}},
                    "status": {"phase": "Running"}}),
            ("c1", {"metadata": {"namespace": "du-a", "name": "l1-0",
                                 "labels": {"app.kubernetes.io/component": "vDU"}},
                    "status": {"phase": "Running"}}),
            ("c1", {"metadata": {"namespace": "web", "name": "shop-0",
                                 "labels": {"app.kubernetes.io/component": "web"}}})]  # fmt: skip
    rows = cnf_workloads_by_type(vfs, ports, pods)
    assert [(w.cnf_type, w.name) for w in rows] == [
        (CNFType.VDU, "du-a/l1-0"), (CNFType.UPF, "upf-x/upf-0"), (CNFType.AMF, "core/amf-0"),
        (CNFType.OTHER, "apps/router-0"),  # holds a VF, neither labelled nor in a CNF namespace
    ]  # fmt: skip
    du = rows[0]
    assert (du.vfs, du.dpdk_ports, du.rx_bps, du.trouble_ps, du.phase) == (
        2, 0, 3e8, 5.0, "Running",
    )  # fmt: skip
    assert (rows[1].dpdk_ports, rows[1].trouble_ps, rows[1].phase) == (1, 3.0, "")


@pytest.mark.integration
@pytest.mark.asyncio
async def test_vf_and_dpdk_rates_with_their_pods(core: Core, sriov_hub) -> None:  # type: ignore[no-untyped-def]
    await core.registry.add(
        ClusterSpec(name="ran-hub", kind=ClusterKind.FLEET,
                    endpoint_urls={EndpointKind.PROMETHEUS: sriov_hub.url})
    )  # fmt: skip
    vfs, ports, failures = await read_dataplane(core.queries, core.registry.clusters())
    assert failures == [] and len(vfs) == 12 and len(ports) == 3
    drop = vfs[0]
    assert (drop.cluster, drop.node, drop.vf, drop.pod) == (
        "ran-east", "worker-0", "2", "du-site1/du-l1-2",
    )  # fmt: skip
    assert drop.rx_drops_ps == pytest.approx(50.0) and drop.rx_bps == pytest.approx(375e6)
    assert all(v.trouble == 0 for v in vfs[1:])
    missing = ports[0]
    assert (missing.cluster, missing.pod, missing.port) == ("ran-east", "du-site1/du-l1-0", "1")
    assert missing.rx_missed_ps == pytest.approx(120.0)
    assert missing.rx_pps == pytest.approx(1.5e6) and missing.rx_bps == pytest.approx(1.5e6 * 9600)
    upf = next(p for p in ports if p.pod == "upf-core/upf-0")
    assert upf.cluster == "ran-west" and upf.trouble == 0 and upf.tx_pps == pytest.approx(3e6)
    rows = cnf_workloads_by_type(vfs, ports, [])
    kinds = {(w.cluster, w.name): w.cnf_type for w in rows}
    assert kinds[("ran-east", "du-site1/du-l1-0")] is CNFType.VDU
    assert kinds[("ran-west", "cu-site1/cu-1")] is CNFType.VCU
    assert kinds[("ran-west", "upf-core/upf-0")] is CNFType.UPF
    du = next(w for w in rows if (w.cluster, w.name) == ("ran-east", "du-site1/du-l1-0"))
    assert (du.vfs, du.dpdk_ports) == (1, 2) and du.trouble_ps == pytest.approx(120.0)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_operator_objects_and_labelled_pods_from_the_api(
    core: Core, kube_api: RunningKubeApi
) -> None:
    await core.registry.add(
        ClusterSpec(name="ran-east", api_server_url=kube_api.url, ca_bundle_pem=kube_api.ca_pem),
        ClusterSecrets(token="admin-token"),
    )
    found = await read_sriov_objects(core.kube, core.registry.clusters())
    assert found.problems == []
    assert [(c, n.node, n.status) for c, n in found.nodes] == [
        ("ran-east", "gpu-1", "Failed"), ("ran-east", "worker-0", "Succeeded"),
    ]  # fmt: skip
    assert [n.name for _, n in found.networks] == ["du-fronthaul"]
    names = sorted(p["metadata"]["name"] for _, p in found.pods)
    assert names == [
        "amf-0",
        "du-0",
        "du-l1-0",
        "smf-0",
        "trainer-0",
    ]  # labelled, and of CNF namespaces
