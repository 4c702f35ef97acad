"""SR-IOV and DPDK: node sync state, interfaces and networks from the operator's objects; VF
traffic, drops and errors from the sriov-network-metrics-exporter, each VF joined to the pod
that holds it; DPDK port rates, errors and drops per pod and port.

VF rates are PromQL over ``resources/sriov/queries.json``; the pod comes from
``sriov_kubepoddevice`` (``pciAddr`` -> ``pod``, ``namespace``), as
docs/architecture.md#signals shows. DPDK port rates are ``resources/dpdk/queries.json``
(``dpdk_port_*``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiops_desktop.models import Cluster
from aiops_desktop.models.cnf import DpdkPortRow, NetworkRow, NodeSync, VfRow
from aiops_desktop.models.metrics import ClusterOutcome, TaggedSeries
from aiops_desktop.models.text import cut_line
from aiops_desktop.services.fleet.findings import cut_reason
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.queries.field_reads import join_rows, read_fields, unique_failures
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from collectors.shapes import malformed_as

RATE_FIELDS = ("rx_bps", "tx_bps", "rx_drops_ps", "tx_drops_ps", "tx_errors_ps")
DPDK_FIELDS = (
    "rx_pps", "tx_pps", "rx_bps", "tx_bps",
    "rx_missed_ps", "rx_nombuf_ps", "rx_errors_ps", "tx_errors_ps",
)  # fmt: skip


def sriov_queries() -> dict[str, str]:
    return field_queries("sriov")


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


@malformed_as("a SriovNetworkNodeState")
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
                # cut here: an operator's error was seen at 1 MB, and is quoted whole by the
                # SR-IOV page and the fleet's findings (an alert's reason's bound)
                error=cut_reason(str(status.get("lastSyncError", ""))),
                interfaces=[_interface_text(i) for i in nics],
                vfs_configured=sum(int(i.get("numVfs") or 0) for i in nics),
            )
        )
    order = {"Failed": 0, "InProgress": 1, "Unknown": 2, "Succeeded": 3}
    return sorted(rows, key=lambda r: (order.get(r.status, 2), r.node))


@malformed_as("a SriovNetwork")
def network_rows(networks: list[dict[str, Any]], said: list[str] | None = None) -> list[NetworkRow]:
    """``said``: where given, a line for each network whose VLAN is not a number (shown as
    none): one network's odd VLAN must not hide the others, nor its cluster's node states."""
    rows = []
    for obj in networks:
        spec = obj.get("spec") or {}
        name = str((obj.get("metadata") or {}).get("name", ""))
        try:
            vlan = _vlan(spec.get("vlan"))
        except ValueError:
            vlan = None
            if said is not None:
                given = cut_line(str(spec["vlan"]), 40)
                said.append(f"SriovNetwork {cut_line(name, 80)}: its VLAN {given!r} is not a "
                            "number: shown as none")  # fmt: skip
        rows.append(
            NetworkRow(
                name=name,
                resource=str(spec.get("resourceName", "")),
                target_namespace=str(spec.get("networkNamespace", "")),
                vlan=vlan,
                spoof_chk=str(spec.get("spoofChk", "")),
                trust=str(spec.get("trust", "")),
            )
        )
    return sorted(rows, key=lambda r: (r.resource, r.name))


def _vlan(value: Any) -> int | None:
    """A SriovNetwork's ``spec.vlan``: None where unset; ValueError where it is no decimal
    number (``str.isdigit`` holds for "²", which ``int`` refuses, as it refuses a number of
    more than 4,300 digits: either failed the cluster's whole read)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if not text.isdecimal():
        raise ValueError(f"{text!r} is not a number")
    return int(text)


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
    queries: MultiClusterQuery, clusters: list[Cluster], *, at: datetime | None = None
) -> tuple[list[VfRow], list[ClusterOutcome]]:
    answers, failures, _ = await read_fields(queries, clusters, sriov_queries(), RATE_FIELDS, at=at)
    return await asyncio.to_thread(join_vfs, answers), failures  # 19,200 VFs: 180 ms


async def read_dpdk_ports(
    queries: MultiClusterQuery, clusters: list[Cluster], *, at: datetime | None = None
) -> tuple[list[DpdkPortRow], list[ClusterOutcome]]:
    catalog = field_queries("dpdk")
    answers, failures, _ = await read_fields(queries, clusters, catalog, DPDK_FIELDS, at=at)
    return await asyncio.to_thread(join_ports, answers), failures


async def read_dataplane(
    queries: MultiClusterQuery, clusters: list[Cluster], *, at: datetime | None = None
) -> tuple[list[VfRow], list[DpdkPortRow], list[ClusterOutcome]]:
    """VFs and DPDK ports together (as they are now, or were ``at``); a cluster that fails
    both is named once."""
    vfs, vf_failed = await read_vfs(queries, clusters, at=at)
    ports, port_failed = await read_dpdk_ports(queries, clusters, at=at)
    return vfs, ports, unique_failures([*vf_failed, *port_failed])
