"""SR-IOV: node sync state and VFs from the operator's objects, VF traffic, drops and errors
from the sriov-network-metrics-exporter, each VF joined to the pod that holds it.

VF rates are PromQL over ``resources/sriov/queries.json``; the pod comes from
``sriov_kubepoddevice`` (``pciAddr`` -> ``pod``, ``namespace``) as SIGNALS.md shows.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from aiops_desktop.models import Cluster, MetricQuery
from aiops_desktop.services.catalog import field_queries
from aiops_desktop.services.multicluster import ClusterOutcome, MultiClusterQuery, TaggedSeries

RATE_FIELDS = ("rx_bps", "tx_bps", "rx_drops_ps", "tx_drops_ps", "tx_errors_ps")


def sriov_queries() -> dict[str, str]:
    return field_queries("sriov")


@dataclass
class NodeSync:
    node: str
    status: str  # Succeeded | InProgress | Failed | Unknown
    error: str
    interfaces: list[str] = field(default_factory=list)  # "ens1f0 8/64 VFs (mlx5_core)"


def node_sync_rows(states: list[dict[str, Any]]) -> list[NodeSync]:
    """From SriovNetworkNodeState objects: failed first."""
    rows = []
    for obj in states:
        status = obj.get("status") or {}
        interfaces = [
            f"{i.get('name', '?')} {i.get('numVfs', 0)}/{i.get('totalvfs', '?')} VFs"
            + (f" ({i['driver']})" if i.get("driver") else "")
            for i in status.get("interfaces") or []
            if i.get("totalvfs")
        ]
        rows.append(
            NodeSync(
                node=str((obj.get("metadata") or {}).get("name", "")),
                status=str(status.get("syncStatus", "Unknown")),
                error=str(status.get("lastSyncError", "")),
                interfaces=interfaces,
            )
        )
    order = {"Failed": 0, "InProgress": 1, "Unknown": 2, "Succeeded": 3}
    return sorted(rows, key=lambda r: (order.get(r.status, 2), r.node))


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


def join_vfs(answers: dict[str, list[TaggedSeries]]) -> list[VfRow]:
    rows: dict[tuple[str, str, str], VfRow] = {}
    for fieldname in RATE_FIELDS:
        for tagged in answers.get(fieldname, []):
            labels = tagged.series.labels
            node = labels.get("node") or labels.get("instance", "")
            key = (tagged.cluster, node, labels.get("pciAddr", ""))
            row = rows.get(key)
            if row is None:
                row = rows[key] = VfRow(
                    tagged.cluster, node, labels.get("pf", ""), labels.get("vf", ""), key[2]
                )
            if labels.get("pod"):
                row.pod = f"{labels.get('namespace', '')}/{labels['pod']}"
            values = tagged.series.values
            if values.size and not math.isnan(float(values[-1])):
                setattr(row, fieldname, float(values[-1]))
    return sorted(rows.values(), key=lambda r: (-r.trouble, r.cluster, r.node, r.pf, r.vf))


async def read_vfs(
    queries: MultiClusterQuery, clusters: list[Cluster]
) -> tuple[list[VfRow], list[ClusterOutcome]]:
    catalog = sriov_queries()

    async def one(name: str) -> tuple[str, list[TaggedSeries], list[ClusterOutcome]]:
        answer = await queries.run(MetricQuery(promql=catalog[name]), clusters)
        return name, answer.series, answer.failures

    results = await asyncio.gather(*(one(n) for n in RATE_FIELDS))
    failures = {(o.cluster, o.error): o for _, _, failed in results for o in failed}
    return join_vfs({n: s for n, s, _ in results}), list(failures.values())
