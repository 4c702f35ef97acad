"""GPUs read by ``nvidia-smi`` in the NVIDIA driver daemonset's pods, for clusters whose
Prometheus has no DCGM exporter series (docs/architecture.md#rules). One exec per GPU node, in
parallel; a node that cannot answer is reported with its reason, the others still count.

``read_gpus`` is the one GPU reader (DCGM, else nvidia-smi): the GPU page, the fleet's
findings (tiles, wall, CLI, notifications) and drift all read the GPUs through it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.gpu import GpuFleet, shown_pods
from aiops_desktop.models.gpu import GpuReading as Reading
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.services.gpu_cnf.gpu import read_gpu_fleet, xid_table
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.gathering import gather_all
from analysis.gpu_health import assess, worst_first
from collectors.errors import CollectorError, ExecExited, KubeNotFound
from collectors.kubernetes import KubeClient
from collectors.nvidia_smi import (
    APPS_COMMAND,
    GPU_COMMAND,
    PIDS_COMMAND,
    ComputeApp,
    GpuReading,
    NvidiaSmiFormatError,
    parse_gpus,
    read_compute_apps,
)

DRIVER_NAMESPACES = ("nvidia-gpu-operator", "gpu-operator")
#: the driver pods' labels, tried in turn: gpu-operator's component label (its own
#: anti-affinity selects on it), set in every variant: OpenShift's Driver Toolkit renames the
#: daemonset per RHCOS version and sets ``app`` to that name
#: ("nvidia-driver-daemonset-418.94.202509100653-0"), as do NVIDIADriver resources; then the
#: ``app`` of the plain daemonset, for an operator older than that label
DRIVER_SELECTORS = ("app.kubernetes.io/component=nvidia-driver", "app=nvidia-driver-daemonset")
DRIVER_SELECTOR = DRIVER_SELECTORS[0]
DRIVER_CONTAINER = "nvidia-driver-ctr"
#: a reason taken from a pod's status (a waiting container's, the pod's) is cut to this
REASON_CHARS = 80


@dataclass
class NodeGpus:
    node: str
    pod: str
    gpus: list[GpuReading] = field(default_factory=list)
    apps: list[ComputeApp] = field(default_factory=list)
    #: the node's failure: its GPUs were not read, or not all of them (nvidia-smi exited 15,
    #: a GPU lost, after printing the rows of those still answering: they are kept)
    error: str | None = None
    #: nvidia-smi exited 14 (a corrupted infoROM) after printing every GPU's row: said beside
    #: the readings, which count; not a failed read
    note: str | None = None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _word(value: Any) -> str:
    return value[:REASON_CHARS] if isinstance(value, str) else ""


def _container_reason(statuses: Any) -> str:
    """The first reason a container is not running: waiting (CrashLoopBackOff,
    ImagePullBackOff...) or terminated with a failure (Error, OOMKilled)."""
    for status in _list(statuses):
        state = _dict(_dict(status).get("state"))
        if reason := _word(_dict(state.get("waiting")).get("reason")):
            return reason
        ended = _dict(state.get("terminated"))
        if ended and ended.get("exitCode") != 0 and (reason := _word(ended.get("reason"))):
            return reason
    return ""


def not_running(pod: dict[str, Any]) -> str | None:
    """Why a driver pod cannot be exec'd into ("driver pod Pending: CrashLoopBackOff"), or
    None while it runs (a pod without a phase is taken as running: the exec will say)."""
    status = _dict(pod.get("status"))
    phase = status.get("phase", "Running")
    if phase == "Running":
        return None
    conditions = status.get("conditions")
    unscheduled = next((_word(c.get("reason")) for c in _list(conditions)
                        if isinstance(c, dict) and c.get("type") == "PodScheduled"
                        and c.get("status") == "False"), "")  # fmt: skip
    why = (
        _container_reason(status.get("initContainerStatuses"))
        or _container_reason(status.get("containerStatuses"))
        or _word(status.get("reason"))
        or unscheduled
    )
    phase = _word(phase) or "not running"
    return f"driver pod {phase}: {why}" if why else f"driver pod {phase}"


async def driver_pods(client: KubeClient) -> list[tuple[str, str, str, str | None]]:
    """(namespace, pod, node, why it is not running) of the driver pods, one per node (a
    running one where the node has one), in the first namespace that has any (by the first of
    ``DRIVER_SELECTORS`` that finds any there). A node whose driver is not running (it failed
    to build or load: Init:CrashLoopBackOff) is listed with why, never left out: its GPUs are
    not read, and that must be said."""
    for namespace, selector in itertools.product(DRIVER_NAMESPACES, DRIVER_SELECTORS):
        try:
            pods, _ = await client.list(
                f"/api/v1/namespaces/{namespace}/pods", label_selector=selector
            )
        except KubeNotFound:
            continue
        per_node: dict[str, tuple[str, str, str, str | None]] = {}
        named = [p for p in pods if isinstance(p, dict)]
        for p in sorted(named, key=lambda p: str(_dict(p.get("metadata")).get("name", ""))):
            name = str(_dict(p.get("metadata")).get("name", ""))
            why = not_running(p)
            # a pod not bound to a node yet is named by itself
            node = str(_dict(p.get("spec")).get("nodeName") or f"pod {name}")
            kept = per_node.get(node)
            if kept is None or (kept[3] is not None and why is None):
                per_node[node] = (namespace, name, node, why)
        if per_node:
            return sorted(per_node.values(), key=lambda f: f[2])
    return []


async def read_node(
    client: KubeClient, namespace: str, pod: str, node: str, down: str | None = None
) -> NodeGpus:
    """One node's GPUs and processes; ``down``: why its driver pod is not running (then
    nothing is exec'd, and that is the node's error)."""
    result = NodeGpus(node=node, pod=f"{namespace}/{pod}", error=down)
    if down is not None:
        return result
    try:
        try:
            text = await client.exec_read(namespace, pod, GPU_COMMAND, container=DRIVER_CONTAINER)
        except ExecExited as exc:
            # nvidia-smi prints every GPU it can read and exits 14 where one GPU's infoROM is
            # corrupted, 15 where one fell off the bus: the rows printed count (a GPU at 88 C
            # among them), and the exit is said (``_exited``)
            text = exc.output
            if not text.strip():
                raise
            _exited(result, exc)
        result.gpus = parse_gpus(text)
        try:
            pids = await client.exec_read(namespace, pod, PIDS_COMMAND, container=DRIVER_CONTAINER)
        except ExecExited as exc:
            # the same exit on the same node: the processes printed count too (none printed:
            # none run), or its GPUs show no pods
            pids = exc.output
            _exited(result, exc)
        result.apps, unread = read_compute_apps(
            pids, await _names(client, namespace, pod), {g.uuid for g in result.gpus}
        )
        if unread and result.error is None:
            rows = "1 row" if unread == 1 else f"{unread} rows"
            said = (f"{rows} of --query-compute-apps not read (no GPU of this node, "
                    "or not numbers)")  # fmt: skip
            result.note = f"{result.note}; {said}" if result.note else said
    except (CollectorError, NvidiaSmiFormatError, ValueError, OverflowError) as exc:
        # one node's output (crafted, or a driver that prints something new) is that node's
        # error: every other node's readings still count
        result.error = str(exc) or type(exc).__name__
        result.note = None
    return result


async def _names(client: KubeClient, namespace: str, pod: str) -> str:
    """APPS_COMMAND's output, which names the processes; "" where it cannot be read: the
    processes are then shown by their pids, and the node's read is no worse for it."""
    try:
        return await client.exec_read(namespace, pod, APPS_COMMAND, container=DRIVER_CONTAINER)
    except ExecExited as exc:
        return exc.output
    except CollectorError:
        return ""


#: nvidia-smi's exit where one GPU's infoROM is corrupted: every GPU's row was printed
INFOROM_CORRUPTED = 14


def _exited(result: NodeGpus, exc: ExecExited) -> None:
    """An nvidia-smi exit after it printed rows: 14 (a corrupted infoROM, every GPU printed)
    is the node's note; any other (15: a GPU fell off the bus, and its row is missing) is
    the node's failure, its rows still shown: a note would make the read whole, and the lost
    GPU vanish with no finding while the fleet dropped what it knew of it. The first of each
    is said; a failure replaces a note."""
    if exc.code == INFOROM_CORRUPTED:
        if result.error is None:
            result.note = result.note or str(exc)
    else:
        result.error, result.note = result.error or str(exc), None


async def read_fleet_gpus(client: KubeClient) -> list[NodeGpus]:
    """Every GPU node's nvidia-smi readings (empty when no driver daemonset has pods); a node
    whose driver pod is not running is listed with that as its error."""
    pods = await driver_pods(client)
    return list(await gather_all(*(read_node(client, *found) for found in pods)))


def process_text(app: ComputeApp) -> str:
    """One process as the GPU's pods are shown: "pid 48211 /usr/bin/python3 (71000 MiB)"."""
    name = f" {app.process}" if app.process else ""
    memory = "" if app.used_memory_mib is None else f" ({app.used_memory_mib:.0f} MiB)"
    return f"pid {app.pid}{name}{memory}"


def _processes(apps: list[ComputeApp]) -> list[str]:
    return shown_pods([process_text(a) for a in apps], "processes")


def node_readings(
    cluster: str, nodes: list[NodeGpus]
) -> tuple[list[Reading], list[ClusterOutcome]]:
    """The nodes' nvidia-smi readings as the GPU page's readings of ``cluster`` (judged by the
    same rules as DCGM's; nvidia-smi has no XID or ECC counters: a GPU it cannot give a
    temperature for reads UNKNOWN), each with the processes ``--query-compute-apps`` lists on
    it (joined by the GPU's uuid) where DCGM's readings have their pods, and a failure per
    node that could not answer, or not whole (a GPU lost: the rows of the others are
    readings too); a node whose every row was read, with exit 14 said, is none
    (``node_notes``)."""
    readings = []
    for n in nodes:
        on: dict[str, list[ComputeApp]] = {}
        for app in n.apps:
            on.setdefault(app.gpu_uuid, []).append(app)
        readings += [
            Reading(
                cluster=cluster, node=n.node, gpu=str(g.index), uuid=g.uuid, model=g.name,
                driver=g.driver, pods=_processes(on.get(g.uuid, [])), util_pct=g.util_gpu_pct,
                util_memory_pct=g.util_memory_pct, mem_used_mib=g.memory_used_mib,
                mem_free_mib=g.memory_free_mib, mem_total_mib=g.memory_total_mib,
                temperature_c=g.temperature_c, power_w=g.power_draw_w,
                power_limit_w=g.power_limit_w,
            )
            for g in n.gpus
        ]  # fmt: skip
    failed = [
        ClusterOutcome(
            cluster, False, 0.0, reason="nvidia_smi", error=f"nvidia-smi on {n.node}: {n.error}"
        )
        for n in nodes
        if n.error
    ]
    return readings, failed


def node_notes(cluster: str, nodes: list[NodeGpus]) -> list[str]:
    """What the nodes read whole said beside their rows (nvidia-smi's exit 14), for
    the fleet's notes: a failed read would keep a GPU's last reading, a CRITICAL that has
    since cooled, as the cluster's "last known" finding."""
    return [f"{cluster}: nvidia-smi on {n.node}: {n.note}" for n in nodes if n.note]


# -- the one GPU reader: DCGM, else nvidia-smi ----------------------------------------------------
class ExecReader(Protocol):
    """Where nvidia-smi runs (``KubeSession``): every GPU node's readings of a cluster."""

    async def gpus_by_exec(self, name: str) -> list[NodeGpus]: ...


def may_have_gpus(cluster: Cluster) -> bool:
    """Not discovered yet, or discovered with GPUs or the GPU operator."""
    found = cluster.capabilities
    return found.discovered_at is None or found.gpu_count > 0 or found.has_gpu_operator


def known_gpus(cluster: Cluster) -> bool:
    """Discovery found GPUs or the GPU operator on it."""
    found = cluster.capabilities
    return found.gpu_count > 0 or found.has_gpu_operator


#: why a cluster known to have GPUs had none read by nvidia-smi
NO_DRIVER_PODS = (
    f"nvidia-smi: no driver pods found with selector {' or '.join(DRIVER_SELECTORS)}"
    f" in {' or '.join(DRIVER_NAMESPACES)}: its GPUs are not read"
)


async def by_exec(
    kube: ExecReader, name: str, *, gpus_known: bool = False
) -> tuple[list[Reading], list[ClusterOutcome], list[str]]:
    """One cluster's GPUs by nvidia-smi; what failed, as that cluster's failure; and its
    nodes' notes. No driver pod where discovery found GPUs (``gpus_known``) is a failure
    too, not a silent 0: the pods are labelled in a way this reader does not know, or not
    there."""
    try:
        nodes = await kube.gpus_by_exec(name)
    except (CollectorError, AppError) as exc:
        return [], [ClusterOutcome(name, False, 0.0, reason="nvidia_smi",
                                   error=f"nvidia-smi: {exc}")], []  # fmt: skip
    if not nodes and gpus_known:
        failed = ClusterOutcome(name, False, 0.0, reason="nvidia_smi", error=NO_DRIVER_PODS)
        return [], [failed], []
    return (*node_readings(name, nodes), node_notes(name, nodes))


async def read_gpus(
    queries: MultiClusterQuery,
    clusters: list[Cluster],
    kube: ExecReader | None,
    *,
    at: datetime | None = None,
    recorded: bool = False,
) -> GpuFleet:
    """Every cluster's GPUs from its DCGM exporter series; a cluster whose Prometheus
    answered without any (no DCGM exporter) and that has a Kubernetes API is read by
    ``nvidia-smi`` in its driver pods instead, so its GPUs are not a silent 0 (unless
    discovery found it has no GPU and no GPU operator: nothing to exec into). Where that
    cannot run (no session to exec through; no Kubernetes API though discovery found GPUs),
    the cluster's GPUs are "not read", never OK. ``recorded``: a capture is open: no exec
    into anything (nor a failure for what it did not record). ``at``: the DCGM read's moment
    (nvidia-smi reads now)."""
    fleet = await read_gpu_fleet(queries, clusters, at=at)
    if recorded:
        return fleet
    seen = {h.reading.cluster for h in fleet.gpus} | {o.cluster for o in fleet.outcomes}
    # a fleet hub's GPUs are its members' series (their nvidia-smi runs where each is
    # registered): a failed exec into the hub would mark every member's findings unread
    without = [c for c in clusters if c.name not in seen and c.kind is not ClusterKind.FLEET
               and may_have_gpus(c)]  # fmt: skip
    execs = [c.name for c in without if has_kube_api(c)] if kube is not None else []
    # what nvidia-smi would read but cannot (no session to exec through), and what discovery
    # found GPUs on but has no Kubernetes API: not read, which is not "no GPU" nor OK
    cannot = [
        ClusterOutcome(c.name, False, 0.0, reason="nvidia_smi", error=(
            "no DCGM exporter series, and nvidia-smi cannot run there ("
            + ("no Kubernetes session" if has_kube_api(c) else "no Kubernetes API")
            + "): its GPUs are not read"))
        for c in without
        if c.name not in execs and (has_kube_api(c) or known_gpus(c))
    ]  # fmt: skip
    if not execs and not cannot:
        return fleet
    known = {c.name for c in without if known_gpus(c)}
    found = (
        await gather_all(*(by_exec(kube, name, gpus_known=name in known) for name in execs))
        if kube is not None
        else []
    )
    table = xid_table()
    added = [assess(r, table) for readings, _, _ in found for r in readings]
    failed = [o for _, outcomes, _ in found for o in outcomes]
    notes = [n for _, _, said in found for n in said]
    return replace(fleet, gpus=worst_first(fleet.gpus + added),
                   outcomes=fleet.outcomes + failed + cannot,
                   notes=fleet.notes + notes)  # fmt: skip
