"""Telecom CNF models: PTP, SR-IOV, DPDK, CNF workloads (PRODUCT.md section 4)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import CNFType, PtpClockState, PtpInterfaceRole, SriovSyncStatus

PTP_OFFSET_THRESHOLD_NS = 100.0
PTP_HOLDOVER_TIMEOUT_S = 5.0


class PtpStatus(DomainModel):
    cluster: str
    node: str
    interface: str | None = None
    process: str | None = Field(default=None, description="ptp4l, phc2sys, ts2phc, gnss, dpll")
    clock_state: PtpClockState = PtpClockState.UNKNOWN
    offset_ns: float | None = None
    max_offset_ns: float | None = None
    path_delay_ns: float | None = None
    frequency_adjustment_ppb: float | None = None
    clock_class: int | None = None
    role: PtpInterfaceRole = PtpInterfaceRole.UNKNOWN
    process_running: bool | None = None
    process_restarts: int | None = Field(default=None, ge=0)
    gnss_state: str | None = None
    dpll_state: str | None = None
    observed_at: datetime | None = None

    def within(self, threshold_ns: float = PTP_OFFSET_THRESHOLD_NS) -> bool | None:
        if self.offset_ns is None:
            return None
        return abs(self.offset_ns) <= threshold_ns


class SriovVf(DomainModel):
    vf_id: int = Field(ge=0)
    pci_address: str | None = None
    mac: str | None = None
    vlan: int | None = None
    driver: str | None = None
    pod: str | None = None
    namespace: str | None = None


class SriovInterface(DomainModel):
    name: str
    vendor: str | None = None
    device: str | None = None
    driver: str | None = None
    pci_address: str | None = None
    mtu: int | None = None
    num_vfs: int = Field(default=0, ge=0)
    total_vfs: int = Field(default=0, ge=0)
    link_speed: str | None = None
    vfs: list[SriovVf] = Field(default_factory=list)


class SriovNodeState(DomainModel):
    cluster: str
    node: str
    sync_status: SriovSyncStatus = SriovSyncStatus.UNKNOWN
    last_sync_error: str | None = None
    interfaces: list[SriovInterface] = Field(default_factory=list)


class SriovNetwork(DomainModel):
    cluster: str
    name: str
    resource_name: str
    target_namespace: str | None = None
    vlan: int | None = None
    spoof_chk: str | None = None
    trust: str | None = None


class DpdkPortStats(DomainModel):
    cluster: str
    pod: str | None = None
    namespace: str | None = None
    port: str
    rx_packets: float | None = None
    tx_packets: float | None = None
    rx_bytes: float | None = None
    tx_bytes: float | None = None
    rx_errors: float | None = None
    tx_errors: float | None = None
    rx_dropped: float | None = None


class CNFWorkload(DomainModel):
    cluster: str
    namespace: str
    name: str
    workload_kind: str = "Deployment"
    cnf_type: CNFType = CNFType.OTHER
    pods_ready: int = Field(default=0, ge=0)
    pods_total: int = Field(default=0, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
