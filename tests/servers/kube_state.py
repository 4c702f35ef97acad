"""kube-state-metrics series of a small fleet (the fleet truth's Kubernetes findings):
ran-east's node du-1 is NotReady and its pod ran-du/du-l1-0 is in CrashLoopBackOff; every
other node is Ready and every other container runs."""

from __future__ import annotations

from tests.servers.gpu_fleet import const
from tests.servers.prometheus import SeriesSpec

STEP_S, COUNT = 15, 40
NODES = {"ran-east": ("du-1", "du-2"), "ran-west": ("du-3", "du-4")}
NOT_READY = ("ran-east", "du-1")
CRASH_LOOPING = ("ran-east", "ran-du", "du-l1-0")


def kube_state_series() -> list[SeriesSpec]:
    out: list[SeriesSpec] = []
    for cluster, nodes in NODES.items():
        for node in nodes:
            ready = 0.0 if (cluster, node) == NOT_READY else 1.0
            for status, value in (("true", ready), ("false", 1.0 - ready)):
                labels = {"cluster": cluster, "node": node, "condition": "Ready",
                          "status": status}  # fmt: skip
                out.append(("kube_node_status_condition", labels, const(value)))
        for pod in ("du-l1-0", "du-l1-1"):
            looping = 1.0 if (cluster, "ran-du", pod) == CRASH_LOOPING else 0.0
            labels = {"cluster": cluster, "namespace": "ran-du", "pod": pod,
                      "container": "l1", "reason": "CrashLoopBackOff"}  # fmt: skip
            out.append(("kube_pod_container_status_waiting_reason", labels, const(looping)))
    return out
