"""SR-IOV VF counters (sriov-network-metrics-exporter names and labels) with the pod mapping
(``sriov_kubepoddevice``), and DPDK port counters (``dpdk_port_*``), for two clusters, for a
real Prometheus fleet hub.

Known events: the VF of pod du-site1/du-l1-2 (ran-east, worker-0, ens1f0 VF 2) drops 50
received packets a second; DPDK port 1 of du-site1/du-l1-0 (ran-east, worker-0) misses 120
packets a second (RX queues full). Pods: du-l1-* in du-site1 (vDU), cu-* in cu-site1 (vCU),
upf-0 in upf-core (UPF, DPDK only, on ran-west/worker-1)."""

from __future__ import annotations

from tests.servers.prometheus import SeriesSpec

COUNT, STEP_S = 40, 15
DROPPING = ("ran-east", "worker-0", "2")
#: (cluster, node, namespace, pod, port): packets/s, bytes/s, missed/s
DPDK_PORTS = {
    ("ran-east", "worker-0", "du-site1", "du-l1-0", "0"): (2.0e6, 2.0e6 * 1200, 0.0),
    ("ran-east", "worker-0", "du-site1", "du-l1-0", "1"): (1.5e6, 1.5e6 * 1200, 120.0),
    ("ran-west", "worker-1", "upf-core", "upf-0", "0"): (3.0e6, 3.0e6 * 800, 0.0),
}


def sriov_fleet_series() -> list[SeriesSpec]:
    out: list[SeriesSpec] = []
    for cluster in ("ran-east", "ran-west"):
        for node in ("worker-0", "worker-1"):
            for vf in range(3):
                pci = f"0000:3b:02.{vf}"
                vf_labels = {"cluster": cluster, "node": node, "pf": "ens1f0", "vf": str(vf),
                             "pciAddr": pci, "numa_node": "0"}  # fmt: skip
                du = vf == 0 or node == "worker-0"
                pod = {"cluster": cluster, "node": node, "pciAddr": pci, "dev_type": "vfio-pci",
                       "pod": (f"du-l1-{vf}" if node == "worker-0" else "du-l1-b0") if du
                       else f"cu-{vf}",
                       "namespace": "du-site1" if du else "cu-site1",
                       "container": "l1" if du else "cu"}  # fmt: skip
                drops = 50.0 if (cluster, node, str(vf)) == DROPPING else 0.0
                rate = 1.25e8 * (vf + 1) / 8  # bytes/s: 125, 250, 375 Mbit/s
                out += [
                    ("sriov_vf_rx_bytes", vf_labels, lambda i, r=rate: r * i * STEP_S),
                    ("sriov_vf_tx_bytes", vf_labels, lambda i, r=rate: r * i * STEP_S / 2),
                    ("sriov_vf_rx_dropped", vf_labels, lambda i, d=drops: d * i * STEP_S),
                    ("sriov_vf_tx_dropped", vf_labels, lambda i: 0.0),
                    ("sriov_vf_tx_errors", vf_labels, lambda i: 0.0),
                    ("sriov_kubepoddevice", pod, lambda i: 1.0),
                ]
    for (cluster, node, namespace, pod_name, port), (pps, bps, missed) in DPDK_PORTS.items():
        labels = {"cluster": cluster, "node": node, "namespace": namespace, "pod": pod_name,
                  "port": port}  # fmt: skip
        out += [
            ("dpdk_port_rx_packets", labels, lambda i, r=pps: r * i * STEP_S),
            ("dpdk_port_tx_packets", labels, lambda i, r=pps: r * i * STEP_S),
            ("dpdk_port_rx_bytes", labels, lambda i, r=bps: r * i * STEP_S),
            ("dpdk_port_tx_bytes", labels, lambda i, r=bps: r * i * STEP_S),
            ("dpdk_port_rx_missed", labels, lambda i, r=missed: r * i * STEP_S),
            ("dpdk_port_rx_nombuf", labels, lambda i: 0.0),
            ("dpdk_port_rx_errors", labels, lambda i: 0.0),
            ("dpdk_port_tx_errors", labels, lambda i: 0.0),
        ]
    return out
