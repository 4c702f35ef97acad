"""SR-IOV VF counters (sriov-network-metrics-exporter names and labels) and the pod mapping
(``sriov_kubepoddevice``) for two clusters, for a real Prometheus fleet hub. Known event: the VF
of pod ran-du/du-l1-0 (ran-east, worker-0, ens1f0 VF 2) drops 50 received packets a second."""

from __future__ import annotations

from tests.servers.prometheus import SeriesSpec

COUNT, STEP_S = 40, 15
DROPPING = ("ran-east", "worker-0", "2")


def sriov_fleet_series() -> list[SeriesSpec]:
    out: list[SeriesSpec] = []
    for cluster in ("ran-east", "ran-west"):
        for node in ("worker-0", "worker-1"):
            for vf in range(3):
                pci = f"0000:3b:02.{vf}"
                vf_labels = {"cluster": cluster, "node": node, "pf": "ens1f0", "vf": str(vf),
                             "pciAddr": pci, "numa_node": "0"}  # fmt: skip
                pod = {"cluster": cluster, "node": node, "pciAddr": pci, "dev_type": "vfio-pci",
                       "pod": f"du-l1-{vf}" if vf == 0 or node == "worker-0" else f"cu-{vf}",
                       "namespace": "ran-du", "container": "l1"}  # fmt: skip
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
    return out
