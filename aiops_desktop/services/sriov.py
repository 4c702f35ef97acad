"""SR-IOV and DPDK: node sync state, interfaces and networks from the operator's objects; VF
traffic, drops and errors from the sriov-network-metrics-exporter, each VF joined to the pod
that holds it; DPDK port rates, errors and drops per pod and port.

VF rates are PromQL over ``resources/sriov/queries.json``; the pod comes from
``sriov_kubepoddevice`` (``pciAddr`` -> ``pod``, ``namespace``) as SIGNALS.md shows. DPDK port
rates are ``resources/dpdk/queries.json`` (``dpdk_port_*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiops_desktop.models import Cluster
from aiops_desktop.services.catalog import field_queries
from aiops_desktop.services.field_reads import join_rows, read_fields, unique_failures
from aiops_desktop.services.multicluster import ClusterOutcome, MultiClusterQuery, TaggedSeries

RATE_FIELDS = ("rx_bps", "tx_bps", "rx_drops_ps", "tx_drops_ps", "tx_errors_ps")
DPDK_FIELDS = (
    "rx_pps", "tx_pps", "rx_bps", "tx_bps",
    "rx_missed_ps", "rx_nombuf_ps", "rx_errors_ps", "tx_errors_ps",
)  # fmt: skip


def sriov_queries() -> dict[str, str]:
    return field_queries("sriov")


@dataclass
class NodeSync:
    node: str
    status: str  # Succeeded | InProgress | Failed | Unknown
    error: str
    #: "ens1f0 8/64 VFs · 25000 Mb/s · MTU 9000 · mlx5_core (15b3:1017) 0000:3b:00.0"
    interfaces: list[str] = field(default_factory=list)
    vfs_configured: int = 0


def _interface_text(i: dict[str, Any]) -> str:
    parts = [f"{i.get('name', '?')} {i.get('numVfs', 0)}/{i.get('totalvfs', '?')} VFs"]
    if i.get("linkSpeed"):
        parts.append(str(i["linkSpeed"]))
    if i.get("mtu"):
        parts.append(f"MTU {i['mtu']}")
    device = str(i.get("driver", ""))
    if i.get("vendor") and i.get("deviceID"):
        device += f" ({i['vendor']}:{i['deviceID']})"
    if i.get("pciAddress"):
        device += f" {i['pciAddress']}"
    if device.strip():
        parts.append(device.strip())
    return " · ".join(parts)


def node_sync_rows(states: list[dict[str, Any]]) -> list[NodeSync]:
    """From SriovNetworkNodeState objects: failed first."""
    rows = []
    for obj in states:
        status = obj.get("status") or {}
        nics = [i for i in status.get("interfaces") or [] if i.get("totalvfs")]
        rows.append(
            NodeSync(
                node=str((obj.get("metadata") or {}).get("name", "")),
                status=str(status.get("syncStatus", "Unknown")),
                error=str(status.get("lastSyncError", "")),
                interfaces=[_interface_text(i) for i in nics],
                vfs_configured=sum(int(i.get("numVfs") or 0) for i in nics),
            )
        )
    order = {"Failed": 0, "InProgress": 1, "Unknown": 2, "Succeeded": 3}
    return sorted(rows, key=lambda r: (order.get(r.status, 2), r.node))


@dataclass
class NetworkRow:
    """A SriovNetwork: which VF pool it draws from and how it attaches pods."""

    name: str
    resource: str
    target_namespace: str
    vlan: int | None
    spoof_chk: str
    trust: str


def network_rows(networks: list[dict[str, Any]]) -> list[NetworkRow]:
    rows = []
    for obj in networks:
        spec = obj.get("spec") or {}
        rows.append(
            NetworkRow(
                name=str((obj.get("metadata") or {}).get("name", "")),
                resource=str(spec.get("resourceName", "")),
                target_namespace=str(spec.get("networkNamespace", "")),
                vlan=int(spec["vlan"]) if str(spec.get("vlan", "")).isdigit() else None,
                spoof_chk=str(spec.get("spoofChk", "")),
                trust=str(spec.get("trust", "")),
            )
        )
    return sorted(rows, key=lambda r: (r.resource, r.name))


@dataclass
class VfRow:
    cluster: str
    node: str
    pf: str
    vf: str
    pci: str
    pod: str = ""  # namespace/pod
    rx_bps: float | None = None
    tx_bps: float | None = None
    rx_drops_ps: float | None = None
    tx_drops_ps: float | None = None
    tx_errors_ps: float | None = None

    @property
    def trouble(self) -> float:
        return sum(v or 0.0 for v in (self.rx_drops_ps, self.tx_drops_ps, self.tx_errors_ps))


def _node(tagged: TaggedSeries) -> str:
    labels = tagged.series.labels
    return labels.get("node") or labels.get("instance", "")


def join_vfs(answers: dict[str, list[TaggedSeries]]) -> list[VfRow]:
    rows = join_rows(
        answers, RATE_FIELDS,
        lambda t: (t.cluster, _node(t), t.series.labels.get("pciAddr", "")),
        lambda t: VfRow(t.cluster, _node(t), t.series.labels.get("pf", ""),
                        t.series.labels.get("vf", ""), t.series.labels.get("pciAddr", "")),
    )  # fmt: skip
    return sorted(rows.values(), key=lambda r: (-r.trouble, r.cluster, r.node, r.pf, r.vf))


@dataclass
class DpdkPortRow:
    cluster: str
    node: str
    port: str
    pod: str = ""  # namespace/pod
    rx_pps: float | None = None
    tx_pps: float | None = None
    rx_bps: float | None = None
    tx_bps: float | None = None
    rx_missed_ps: float | None = None  # dropped by the NIC: RX queues full
    rx_nombuf_ps: float | None = None  # RX mbuf allocation failures
    rx_errors_ps: float | None = None
    tx_errors_ps: float | None = None

    @property
    def trouble(self) -> float:
        return sum(
            v or 0.0
            for v in (self.rx_missed_ps, self.rx_nombuf_ps, self.rx_errors_ps, self.tx_errors_ps)
        )


def join_ports(answers: dict[str, list[TaggedSeries]]) -> list[DpdkPortRow]:
    def key(t: TaggedSeries) -> tuple[str, str, str, str, str]:
        labels = t.series.labels
        return (t.cluster, _node(t), labels.get("namespace", ""), labels.get("pod", ""),
                labels.get("port", ""))  # fmt: skip

    rows = join_rows(
        answers, DPDK_FIELDS, key,
        lambda t: DpdkPortRow(t.cluster, _node(t), t.series.labels.get("port", "")),
    )  # fmt: skip
    return sorted(rows.values(), key=lambda r: (-r.trouble, r.cluster, r.node, r.pod, r.port))


async def read_vfs(
    queries: MultiClusterQuery, clusters: list[Cluster]
) -> tuple[list[VfRow], list[ClusterOutcome]]:
    answers, failures = await read_fields(queries, clusters, sriov_queries(), RATE_FIELDS)
    return join_vfs(answers), failures


async def read_dpdk_ports(
    queries: MultiClusterQuery, clusters: list[Cluster]
) -> tuple[list[DpdkPortRow], list[ClusterOutcome]]:
    catalog = field_queries("dpdk")
    answers, failures = await read_fields(queries, clusters, catalog, DPDK_FIELDS)
    return join_ports(answers), failures


async def read_dataplane(
    queries: MultiClusterQuery, clusters: list[Cluster]
) -> tuple[list[VfRow], list[DpdkPortRow], list[ClusterOutcome]]:
    """VFs and DPDK ports together; a cluster that fails both is named once."""
    vfs, vf_failed = await read_vfs(queries, clusters)
    ports, port_failed = await read_dpdk_ports(queries, clusters)
    return vfs, ports, unique_failures([*vf_failed, *port_failed])
