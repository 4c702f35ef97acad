"""Telecom CNF read models (docs/architecture.md#rules): SR-IOV node sync state and networks, VFs
joined to the pods that hold them, DPDK ports, and CNF workloads by type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiops_desktop.models.enums import CNFType


@dataclass
class NodeSync:
    node: str
    status: str  # Succeeded | InProgress | Failed | Unknown
    error: str
    #: "ens1f0 8/64 VFs · 25000 Mb/s · MTU 9000 · mlx5_core (15b3:1017) 0000:3b:00.0"
    interfaces: list[str] = field(default_factory=list)
    vfs_configured: int = 0


@dataclass
class NetworkRow:
    """A SriovNetwork: which VF pool it draws from and how it attaches pods."""

    name: str
    resource: str
    target_namespace: str
    vlan: int | None
    spoof_chk: str
    trust: str


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


@dataclass
class CnfWorkload:
    cnf_type: CNFType
    cluster: str
    namespace: str
    pod: str
    component: str = ""
    phase: str = ""  # from the Kubernetes API; "" where only metrics named the pod
    vfs: int = 0
    dpdk_ports: int = 0
    rx_bps: float = 0.0  # VFs and DPDK ports together
    tx_bps: float = 0.0
    trouble_ps: float = 0.0  # drops and errors a second

    @property
    def name(self) -> str:
        return f"{self.namespace}/{self.pod}"


@dataclass
class SriovObjects:
    """What the clusters' Kubernetes APIs say about SR-IOV and CNF pods."""

    nodes: list[tuple[str, NodeSync]] = field(default_factory=list)  # (cluster, node)
    networks: list[tuple[str, NetworkRow]] = field(default_factory=list)
    pods: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # labelled CNF pods
    problems: list[str] = field(default_factory=list)  # "cluster: why" where unreadable
    unread: dict[str, str] = field(default_factory=dict)  # cluster -> why, where unreadable
