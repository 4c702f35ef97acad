"""The objects of the test cluster served by kmock: an OpenShift RAN site with GPUs, PTP and
SR-IOV, written as the API server returns them (``__plural__`` tells kmock where each goes)."""

from __future__ import annotations

from typing import Any

CREATED = "2026-11-20T08:00:00Z"


def _meta(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{namespace or 'cluster'}-{name}",
        "resourceVersion": "1001",
        "creationTimestamp": CREATED,
    }
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def _namespace(name: str, **labels: str) -> dict[str, Any]:
    return {
        "__plural__": "namespaces",
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(name, **labels),
        "status": {"phase": "Active"},
    }


def _node(name: str, role: str, gpus: int = 0, *, ready: bool = True) -> dict[str, Any]:
    labels = {f"node-role.kubernetes.io/{role}": "", "kubernetes.io/hostname": name}
    capacity = {"cpu": "64", "memory": "527973604Ki", "pods": "250"}
    if gpus:
        labels |= {
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
            "nvidia.com/gpu.count": str(gpus),
        }
        capacity["nvidia.com/gpu"] = str(gpus)
    return {
        "__plural__": "nodes",
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(name, **labels),
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "KubeletReady" if ready else "KubeletNotReady",
                    "message": "kubelet is posting ready status"
                    if ready
                    else "PLEG is not healthy: pleg was last seen active 3m0s ago",
                    "lastTransitionTime": CREATED,
                },
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                    "lastTransitionTime": CREATED,
                },
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.29.8+f10c92d",
                "osImage": "Red Hat Enterprise Linux CoreOS 416.94.202409040013-0",
                "containerRuntimeVersion": "cri-o://1.29.8-5.rhaos4.16.git0a8b3f5.el9",
            },
        },
    }


def _custom(
    plural: str, api: str, kind: str, name: str, namespace: str | None, **body: Any
) -> dict[str, Any]:
    return {
        "__plural__": plural,
        "apiVersion": api,
        "kind": kind,
        "metadata": _meta(name, namespace),
        **body,
    }


def _route(namespace: str, name: str, host: str) -> dict[str, Any]:
    return _custom(
        "routes", "route.openshift.io/v1", "Route", name, namespace,
        spec={"host": host, "to": {"kind": "Service", "name": name},
              "tls": {"termination": "reencrypt"}},
    )  # fmt: skip


def _service(namespace: str, name: str, port: int, port_name: str) -> dict[str, Any]:
    return {
        "__plural__": "services",
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, namespace),
        "spec": {"type": "ClusterIP", "ports": [{"name": port_name, "port": port}]},
    }


def _pod(namespace: str, name: str, **labels: str) -> dict[str, Any]:
    return {
        "__plural__": "pods",
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, namespace, **labels),
        "spec": {"nodeName": "worker-0", "containers": [{"name": "main", "image": "x"}]},
        "status": {"phase": "Running"},
    }


APPS = "apps.ran-east.example.com"
MON = "openshift-monitoring"
LOGGING = "openshift-logging"


def discovery_objects() -> list[dict[str, Any]]:
    """Monitoring routes, Loki, the GPU/PTP/SR-IOV operators' objects and CNF workloads."""
    sriov, ptp = "sriovnetwork.openshift.io/v1", "ptp.openshift.io/v1"
    return [
        _route(MON, "thanos-querier", f"thanos-querier-{MON}.{APPS}"),
        _route(MON, "alertmanager-main", f"alertmanager-main-{MON}.{APPS}"),
        _service(MON, "thanos-querier", 9091, "web"),
        _service(LOGGING, "logging-loki-gateway-http", 8080, "public"),
        _custom("lokistacks", "loki.grafana.com/v1", "LokiStack", "logging-loki", LOGGING,
                spec={"size": "1x.small"}),
        _custom("clusterpolicies", "nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy", None,
                spec={"driver": {"version": "550.90.07"}}, status={"state": "ready"}),
        # du-4's profile widens the band to +/-150 ns and the holdover timeout to 30 s
        _custom("ptpconfigs", ptp, "PtpConfig", "du-ptp-slave", "openshift-ptp",
                spec={"profile": [{"name": "slave", "interface": "ens1f0",
                                   "ptp4lOpts": "-2 -s", "phc2sysOpts": "-a -r -n 24",
                                   "ptpClockThreshold": {"holdOverTimeout": 30,
                                                         "maxOffsetThreshold": 150,
                                                         "minOffsetThreshold": -150}}],
                      "recommend": [{"profile": "slave", "priority": 4,
                                     "match": [{"nodeName": "du-4"}]}]}),
        _custom("ptpconfigs", ptp, "PtpConfig", "grandmaster", "openshift-ptp",
                spec={"profile": [{"name": "gm", "interface": "ens2f0"}]}),
        _custom("nodeptpdevices", ptp, "NodePtpDevice", "worker-0", "openshift-ptp",
                status={"devices": [{"name": "ens1f0"}, {"name": "ens1f1"}]}),
        _custom("sriovnetworknodestates", sriov, "SriovNetworkNodeState", "worker-0",
                "openshift-sriov-network-operator", status={
                    "syncStatus": "Succeeded",
                    "interfaces": [
                        {"name": "ens1f0", "vendor": "15b3", "deviceID": "1017",
                         "driver": "mlx5_core", "pciAddress": "0000:3b:00.0", "mtu": 9000,
                         "numVfs": 8, "totalvfs": 64, "linkSpeed": "25000 Mb/s",
                         "linkType": "ETH",
                         "Vfs": [{"name": "ens1f0v0", "pciAddress": "0000:3b:02.0",
                                  "vfID": 0, "driver": "vfio-pci"}]},
                        {"name": "eno1", "vendor": "8086", "deviceID": "1521", "driver": "igb",
                         "pciAddress": "0000:01:00.0", "mtu": 1500, "linkSpeed": "1000 Mb/s"},
                    ]}),
        _custom("sriovnetworknodestates", sriov, "SriovNetworkNodeState", "gpu-1",
                "openshift-sriov-network-operator",
                status={"syncStatus": "Failed", "lastSyncError": "failed to configure VFs"}),
        _custom("ptpconfigs", ptp, "PtpConfig", "du-ptp-slave-b", "openshift-ptp",
                spec={"profile": [{"name": "slave", "interface": "ens1f0",
                                   "ptp4lOpts": "-2 -s --summary_interval -4",
                                   "phc2sysOpts": "-a -r -n 24"}]}),
        _custom("sriovnetworknodepolicies", sriov, "SriovNetworkNodePolicy", "du-fh-workers",
                "openshift-sriov-network-operator",
                spec={"resourceName": "du_fh", "numVfs": 8, "mtu": 9000, "deviceType": "vfio-pci"}),
        _custom("sriovnetworknodepolicies", sriov, "SriovNetworkNodePolicy", "du-fh-gpu",
                "openshift-sriov-network-operator",
                spec={"resourceName": "du_fh", "numVfs": 4, "mtu": 9000, "deviceType": "vfio-pci"}),
        _custom("sriovnetworks", sriov, "SriovNetwork", "du-fronthaul",
                "openshift-sriov-network-operator",
                spec={"resourceName": "du_fh", "vlan": 100, "networkNamespace": "du-site1",
                      "spoofChk": "off", "trust": "on"}),
        _namespace("du-site1"),
        _namespace("core-5g"),
        # a label whose name says it is a secret: a capture carries it as [REDACTED]
        _pod("du-site1", "du-0", **{"app.kubernetes.io/component": "du",
                                    "db_password": "Hunter2-s3cr3t"}),
        _pod("core-5g", "amf-0", **{"app.kubernetes.io/component": "amf"}),
        _pod("core-5g", "smf-0", **{"app.kubernetes.io/component": "smf"}),
    ]  # fmt: skip


def _event(
    namespace: str,
    name: str,
    kind: str,
    obj: str,
    reason: str,
    message: str,
    *,
    type_: str = "Normal",
    at: str = "2026-11-27T09:00:00Z",
    count: int = 1,
) -> dict[str, Any]:
    return {
        "__plural__": "events",
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": _meta(name, namespace),
        "involvedObject": {"kind": kind, "namespace": namespace, "name": obj},
        "reason": reason,
        "message": message,
        "type": type_,
        "count": count,
        "firstTimestamp": at,
        "lastTimestamp": at,
        "source": {"component": "kubelet"},
    }  # fmt: skip


def troubled_objects() -> list[dict[str, Any]]:
    """Pods in the states an engineer must spot, and the events that tell why."""
    crash = _pod("ran-du", "du-l1-0", app="du-l1")
    crash["status"] = {
        "phase": "Running",
        "containerStatuses": [{
            "name": "main", "ready": False, "restartCount": 42,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                                  "message": "back-off 5m0s restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
        }],
    }  # fmt: skip
    pending = _pod("ran-du", "trainer-0", app="trainer")
    pending["spec"].pop("nodeName")
    pending["status"] = {
        "phase": "Pending",
        "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/4 nodes are available: 4 Insufficient nvidia.com/gpu.",
        }],
    }  # fmt: skip
    pulling = _pod("core-5g", "nrf-0", app="nrf")
    pulling["status"] = {
        "phase": "Pending",
        "containerStatuses": [{
            "name": "main", "ready": False, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff",
                                  "message": "Back-off pulling image \"registry.local/nrf:2.1\""}},
        }],
    }  # fmt: skip
    return [
        crash,
        pending,
        pulling,
        _event("ran-du", "du-l1-0.1", "Pod", "du-l1-0", "BackOff",
               "Back-off restarting failed container main", type_="Warning",
               at="2026-11-27T09:30:00Z", count=42),
        _event("ran-du", "trainer-0.1", "Pod", "trainer-0", "FailedScheduling",
               "0/4 nodes are available: 4 Insufficient nvidia.com/gpu.", type_="Warning",
               at="2026-11-27T09:20:00Z"),
        _event("ran-du", "du-0.1", "Pod", "du-0", "Scheduled",
               "Successfully assigned du-site1/du-0 to worker-0", at="2026-11-27T09:10:00Z"),
    ]  # fmt: skip


def driver_pods() -> list[dict[str, Any]]:
    """The NVIDIA driver daemonset's pods on the two GPU nodes (where nvidia-smi runs)."""
    pods = []
    for node, suffix in (("gpu-0", "7xk2p"), ("gpu-1", "q9d4m")):
        pod = _pod("nvidia-gpu-operator", f"nvidia-driver-daemonset-416.94-{suffix}",
                   app="nvidia-driver-daemonset")  # fmt: skip
        pod["spec"] = {
            "nodeName": node,
            "containers": [{"name": "nvidia-driver-ctr", "image": "x"}],
        }
        pods.append(pod)
    return pods


def cluster_objects() -> list[dict[str, Any]]:
    return [
        *driver_pods(),
        *discovery_objects(),
        *troubled_objects(),
        _namespace("default"),
        _namespace("openshift-monitoring", **{"openshift.io/cluster-monitoring": "true"}),
        _namespace("ran-du", **{"cnf-type": "vDU"}),
        _node("master-0", "master"),
        _node("worker-0", "worker"),
        _node("gpu-0", "worker", gpus=8),
        _node("gpu-1", "worker", gpus=8, ready=False),
        {
            "__plural__": "clusterversions",
            "apiVersion": "config.openshift.io/v1",
            "kind": "ClusterVersion",
            "metadata": _meta("version"),
            "spec": {"channel": "stable-4.16", "clusterID": "5d2f0a7e-3c1b-4b8e-9a51-2f6f0c9d1e42"},
            "status": {
                "desired": {"version": "4.16.14"},
                "history": [{"state": "Completed", "version": "4.16.14"}],
            },
        },
    ]


def bare_objects() -> list[dict[str, Any]]:
    """A plain Kubernetes cluster with nothing to discover beyond its nodes."""
    return [
        _namespace("default"),
        _namespace("kube-system"),
        _node("node-a", "worker"),
        _node("node-b", "worker"),
        _pod("default", "web-0", app="web"),
    ]
