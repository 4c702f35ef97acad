"""Kubernetes inventory: nodes, pods and the events timeline (docs/architecture.md#rules).

Plain functions turn API objects into rows a NOC engineer reads (node roles and conditions,
GPU count; pod phase, restarts, crash-looping, why it is pending); ``EventTimeline`` keeps a
cluster's recent events fed by a watch (resourceVersion kept, relist on 410, reconnect with
backoff: the collector's ``watch``).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiops_desktop.models.kube import EventRow, Inventory, NodeRow, PodRow
from aiops_desktop.models.text import age_text, cut
from aiops_desktop.services.runtime.gathering import gather_all
from collectors.errors import CollectorBadResponse, KubeForbidden
from collectors.kubernetes import KubeClient, WatchEvent, WatchState
from collectors.shapes import malformed_as

Obj = dict[str, Any]
Row = TypeVar("Row")
EVENTS_KEPT = 2000
CRASH_REASONS = {"CrashLoopBackOff"}
#: an event dated further than this past when it arrived is ordered and trimmed as arriving
#: then: whoever may create events in a namespace sets their dates, and 2,000 dated 2099 held
#: the timeline for good (every real event the oldest, trimmed at once)
CLOCK_SKEW = timedelta(minutes=5)
#: the most of the kept events one namespace holds while other namespaces' events need the
#: room: half, so one tenant's flood (or hostile dates) cannot push every other namespace out,
#: yet a namespace that is truly busy still gets the larger part; with no one else to make
#: room for, it fills the rest
NAMESPACE_SHARE = 0.5
EPOCH = datetime.min.replace(tzinfo=UTC)
#: events sorted at a time in a relist's thread, then merged: one sort of 100,000 holds the GIL
#: (and the UI thread waiting on it) for ~120 ms; one of this many, a few ms
SORTED_AT_ONCE = 5000
#: the most of an event's message, reason and object kept (with "…" where cut): whoever may
#: create events in a namespace writes them, core/v1 sets no limit, and 500 messages of
#: 100 KB held the UI thread 4 s on every redraw of the events tab (once a second). A pod's
#: reason and a node's problems (the kubelet's, the scheduler's, a registry's words) too: a
#: 100 KB one made each repaint of the pods tab take half a second
EVENT_TEXT_CHARS = 2048
#: Kubernetes' quantity suffixes (resource.Quantity): binary, decimal, and milli
QUANTITY_FACTORS = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
}  # fmt: skip
QUANTITY = re.compile(
    r"([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)"
)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _memory_gib(quantity: str) -> float:
    """A memory quantity in GiB, in any of Kubernetes' forms ("512G", "1Pi", "1e9",
    "500000000k"); 0 when it is none of them."""
    found = QUANTITY.fullmatch(quantity.strip())
    if found is None:
        return 0.0
    number, exponent, suffix = found.groups()
    if exponent:
        gib = float(number + exponent) / 2**30
    else:
        gib = float(number) * QUANTITY_FACTORS[suffix or ""] / 2**30
    return gib if math.isfinite(gib) else 0.0  # "1e999" is no memory a node has


#: a node condition named for health (``KernelReady``, ``DiskHealthy``), not for a fault: True is
#: well; not a negated one (``KubeletNotReady``), nor ``NetworkUnavailable`` (case tells it)
POSITIVE_CONDITION = re.compile(r"(?<!Not)(?:Ready|OK|Healthy|Available)$")


@malformed_as("a node")
def node_row(node: Obj) -> NodeRow:
    meta, status = _meta(node), node.get("status") or {}
    labels = meta.get("labels") or {}
    roles = sorted(
        k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")
    ) or ["worker"]
    ready: bool | None = None
    problems: list[str] = []
    for cond in status.get("conditions") or []:
        kind, value = cond.get("type"), cond.get("status")
        if kind == "Ready":
            ready = value == "True"
            if not ready:
                problems.append(f"NotReady: {cond.get('reason', '')} {cond.get('message', '')}")
        elif POSITIVE_CONDITION.search(str(kind)):  # True when well (the EKS node monitoring
            # agent's KernelReady, NetworkingReady...): False or Unknown is the problem
            if value != "True":
                problems.append(f"{kind}={value}: {cond.get('reason', '')}")
        elif value == "True":  # every other condition (the kubelet's pressures, the node-
            # problem-detector's KernelDeadlock, ReadonlyFilesystem...) is True when wrong
            problems.append(f"{kind}: {cond.get('reason', '')}")
    if (node.get("spec") or {}).get("unschedulable"):
        problems.append("SchedulingDisabled (cordoned)")
    capacity = status.get("capacity") or {}
    allocatable = status.get("allocatable") or {}
    try:
        gpus = int(str(allocatable.get("nvidia.com/gpu", "0")))
    except ValueError:
        gpus = 0
    return NodeRow(
        name=str(meta.get("name", "")),
        roles=roles,
        ready=ready,
        problems=[_cut(p.strip()) for p in problems],
        cpu=str(capacity.get("cpu", "")),
        memory_gib=round(_memory_gib(str(capacity.get("memory", "0"))), 1),
        gpus=gpus,
        kubelet=str((status.get("nodeInfo") or {}).get("kubeletVersion", "")),
        created=parse_time(meta.get("creationTimestamp")),
    )


def _state(container: Obj, key: str = "state") -> tuple[str, Obj]:
    """A container status's state (``state`` or ``lastState``): ``("waiting" | "running" |
    "terminated" | "", its details)``."""
    states = container.get(key) or {}
    for name in ("waiting", "terminated", "running"):
        if states.get(name) is not None:
            return name, states.get(name) or {}
    return "", {}


def _ended(details: Obj) -> str:
    """How a container ended, in kubectl's words: its reason, else the signal or exit code."""
    code = details.get("exitCode")
    reason = details.get("reason") or (
        f"Signal:{details['signal']}" if details.get("signal") else f"ExitCode:{code}"
    )
    return f"{reason} (exit code {code})" if code not in (None, 0) else str(reason)


def _crashing(container: Obj, waiting: Obj) -> str:
    """A crash-looping container's reason with how it last ended (its own last state, not
    another container's)."""
    kind, last = _state(container, "lastState")
    said = str(waiting.get("reason", ""))
    if kind == "terminated":
        said += f" (last exit code {last.get('exitCode')}, {last.get('reason', 'Error')})"
    return said


def _init_problem(init: list[Obj], specs: list[Obj]) -> tuple[bool, str]:
    """(crash-looping, why) from the init containers, as kubectl's Init:… column: the first
    that has not finished well says why the pod waits. A sidecar (an init container that
    restarts always: Kubernetes' native sidecars) that has started runs beside the app and
    is not waited for (a healthy Istio pod read Init:0/1)."""
    sidecars = {str(c.get("name")) for c in specs
                if isinstance(c, dict) and c.get("restartPolicy") == "Always"}  # fmt: skip
    declared = len(specs)
    for i, container in enumerate(init):
        if container.get("name") in sidecars and container.get("started"):
            continue
        kind, details = _state(container)
        if kind == "terminated" and details.get("exitCode") == 0:
            continue
        if kind == "terminated":
            return False, f"Init:{_ended(details)}"
        reason = str(details.get("reason", "")) if kind == "waiting" else ""
        if reason in CRASH_REASONS:
            return True, f"Init:{_crashing(container, details)}"
        if reason and reason != "PodInitializing":
            return False, f"Init:{reason}"
        return False, f"Init:{i}/{declared or len(init)}"
    return False, ""


def _container_problem(containers: list[Obj]) -> tuple[bool, str]:
    """(crash-looping, why) from the app containers: a crash-looping one first, then one
    waiting, then one that ended badly."""
    states = [(c, *_state(c)) for c in containers]
    for container, kind, details in states:
        if kind == "waiting" and details.get("reason") in CRASH_REASONS:
            return True, _crashing(container, details)
    for _container, kind, details in states:
        if kind == "waiting" and details.get("reason") not in (None, "", "PodInitializing"):
            return False, f"{details.get('reason', '')}: {details.get('message', '')}".strip(": ")
    for _container, kind, details in states:
        if kind == "terminated" and details.get("exitCode") not in (None, 0):
            return False, _ended(details)
    return False, ""


def _phase_problem(phase: str, spec: Obj, status: Obj, ready: int, total: int) -> str:
    """Why a pod whose containers say nothing is not well: unscheduled, failed, lost with
    its node, or running but not ready."""
    said = f"{status.get('reason', '')}: {status.get('message', '')}".strip(": ")
    if phase == "Pending":
        scheduled = {
            c.get("status"): c for c in status.get("conditions") or []
            if c.get("type") == "PodScheduled"
        }  # fmt: skip
        if unscheduled := scheduled.get("False"):
            return f"{unscheduled.get('reason', '')}: {unscheduled.get('message', '')}"
        if said or spec.get("nodeName") or "True" in scheduled:
            return said
        # no scheduler has looked at it (its scheduler is down, or its name misspelt): it
        # waits for good, saying nothing; "" hid it from "Only pods with a problem"
        by = str(spec.get("schedulerName") or "default-scheduler")
        return f"Pending (not scheduled{'' if by == 'default-scheduler' else f' by {by}'})"
    if phase in ("Failed", "Unknown"):
        return said or phase
    if phase == "Running" and ready < total and status.get("containerStatuses"):  # known
        return f"NotReady ({ready}/{total} containers ready)"
    return ""


#: a pod still there this long after its deletion's deadline (its grace period) is stuck
STUCK_TERMINATING = timedelta(minutes=1)
#: a container that last ended badly (OOMKilled, a non-zero exit) this recently and runs again
#: is still a problem: a leak that OOMs every 20-30 min never sits in CrashLoopBackOff long
RECENT_RESTART = timedelta(hours=1)


def _recent_restart(containers: list[Obj], now: datetime) -> str:
    """Why a pod whose containers run again is not well: the container that most recently
    ended badly within RECENT_RESTART (its ``lastState``), as "restarted 14x, last OOMKilled
    (exit code 137) 3 min ago"; "" when none did."""
    worst: tuple[datetime, Obj, Obj] | None = None
    for container in containers:
        kind, last = _state(container, "lastState")
        if kind != "terminated":
            continue
        if last.get("reason") != "OOMKilled" and last.get("exitCode") in (None, 0):
            continue
        finished = parse_time(last.get("finishedAt"))
        if finished is None or now - finished > RECENT_RESTART:
            continue
        if worst is None or finished > worst[0]:
            worst = (finished, container, last)
    if worst is None:
        return ""
    finished, container, last = worst
    said = (
        f"restarted {int(container.get('restartCount') or 0)}x, last {_ended(last)} "
        f"{age_text(max(0.0, (now - finished).total_seconds()))}"
    )
    return said + (f" (container {container.get('name')})" if len(containers) > 1 else "")


@malformed_as("a pod")
def pod_row(pod: Obj, now: datetime | None = None) -> PodRow:
    """One pod as kubectl's STATUS column reads it (init containers, the crash-looping
    container's own last exit, a Failed pod's container, a lost node, not ready,
    terminating), with why it is not running well ("" when it is)."""
    now = now or datetime.now(UTC)
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    init = status.get("initContainerStatuses") or []
    containers = status.get("containerStatuses") or []
    # kubectl's READY: native sidecars (init containers that restart always) run beside the
    # app and count, ready once started and ready (a failing istio-proxy read 1/1, healthy)
    sidecars = {str(c.get("name")) for c in spec.get("initContainers") or []
                if isinstance(c, dict) and c.get("restartPolicy") == "Always"}  # fmt: skip
    running = [*(c for c in init if c.get("name") in sidecars), *containers]
    ready = sum(1 for c in containers if c.get("ready")) + sum(
        1 for c in init if c.get("name") in sidecars and c.get("started") and c.get("ready")
    )
    total = (len(spec.get("containers") or []) or len(containers)) + len(sidecars)
    phase = str(status.get("phase", "Unknown"))
    crash, reason = _init_problem(init, spec.get("initContainers") or [])
    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    # kubectl's RESTARTS: an init container's retries count while the pod initializes, then
    # only the app's and the sidecars' (a pod whose init job retried 7 times read "7" for good)
    counted = [*init, *containers] if reason and not initialized else running
    restarts = sum(int(c.get("restartCount", 0)) for c in counted)
    if not reason and phase != "Succeeded":
        crash, reason = _container_problem(containers)
    if not reason:  # running again after an OOM kill or a crash, and maybe not ready yet
        restarted = "" if phase == "Succeeded" else _recent_restart(running, now)
        said = (restarted, _phase_problem(phase, spec, status, ready, total))
        reason = "; ".join(r for r in said if r)
    deadline = parse_time(meta.get("deletionTimestamp"))  # when it should be gone by
    if meta.get("deletionTimestamp"):  # being deleted: kubectl's STATUS says so at once
        phase = "Terminating"
        if deadline is not None and now - deadline <= STUCK_TERMINATING:
            # within its grace period a pod going away is no problem: what it says as it
            # shuts down (not ready, exit code 143) is the deletion's doing
            crash, reason = False, ""
    if deadline is not None and now - deadline > STUCK_TERMINATING:  # stuck: it needs eyes
        since = f"Terminating, due to be gone at {meta['deletionTimestamp']}"
        reason = f"{since}; {reason}" if reason else since
    return PodRow(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        phase=phase,
        node=str(spec.get("nodeName", "")),
        ready=f"{ready}/{total}",
        restarts=restarts,
        crash_looping=crash,
        reason=_cut(reason),
        created=parse_time(meta.get("creationTimestamp")),
    )


def worst_pods_first(rows: Iterable[PodRow]) -> list[PodRow]:
    """Crash-looping, then pending/failed, then by restarts: what needs eyes first."""

    def key(r: PodRow) -> tuple[int, int, str]:
        rank = 0 if r.crash_looping else 1 if r.phase in ("Pending", "Failed") or r.reason else 2
        return rank, -r.restarts, f"{r.namespace}/{r.name}"

    return sorted(rows, key=key)


def _cut(text: str) -> str:
    return cut(text, EVENT_TEXT_CHARS)


@malformed_as("an event")
def event_row(event: Obj) -> EventRow:
    meta = _meta(event)
    involved = event.get("involvedObject") or event.get("regarding") or {}
    at = (
        # kubectl's LAST SEEN: an events.k8s.io event (the scheduler's FailedScheduling) has
        # no lastTimestamp, and its eventTime is its first occurrence, not its latest
        parse_time(event.get("lastTimestamp"))
        or parse_time((event.get("series") or {}).get("lastObservedTime"))
        or parse_time(event.get("eventTime"))
        or parse_time(event.get("firstTimestamp"))
        or parse_time(meta.get("creationTimestamp"))
    )
    where = "/".join(str(p) for p in (involved.get("namespace"), involved.get("name")) if p)
    return EventRow(
        uid=str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"),
        at=at,
        type=_cut(str(event.get("type", "Normal"))),
        reason=_cut(str(event.get("reason", ""))),
        object=_cut(f"{involved.get('kind', '?')}/{where}"),
        message=_cut(str(event.get("message") or event.get("note") or "")),
        count=int(event.get("count") or (event.get("series") or {}).get("count") or 1),
        namespace=str(meta.get("namespace", "")),
    )


def _ordered_at(row: EventRow, received: datetime) -> datetime:
    """When an event is ordered and trimmed by: its own time, unless that is later than its
    arrival (and the clock skew): then its arrival (its own time is still what is shown)."""
    at = row.at or EPOCH
    return received if at > received + CLOCK_SKEW else at


def _newest(rows: Iterable[EventRow], order: dict[str, datetime], kept: int) -> list[EventRow]:
    """The ``kept`` newest rows by ``order``, no namespace holding more than its
    NAMESPACE_SHARE while other namespaces' rows are left out; room still left goes to the
    newest of those over their share."""

    def when(row: EventRow) -> float:
        return (order.get(row.uid) or row.at or EPOCH).timestamp()

    share = max(1, int(kept * NAMESPACE_SHARE))
    held: Counter[str] = Counter()
    chosen: list[EventRow] = []
    over: list[EventRow] = []
    every = list(rows)
    runs = [
        sorted(every[i : i + SORTED_AT_ONCE], key=when, reverse=True)
        for i in range(0, len(every), SORTED_AT_ONCE)
    ]
    for row in heapq.merge(*runs, key=when, reverse=True):
        if len(chosen) >= kept:
            break
        if held[row.namespace] < share:
            held[row.namespace] += 1
            chosen.append(row)
        else:
            over.append(row)
    return chosen + over[: kept - len(chosen)]


def _parsed(obj: Any) -> EventRow | None:
    """The row of one event; None for an object that is not a Kubernetes event."""
    try:
        return event_row(obj)
    except (CollectorBadResponse, ValueError, TypeError, AttributeError):
        return None


@dataclass
class EventTimeline:
    """A cluster's recent events, newest first, one row per event object (updates replace)."""

    kept: int = EVENTS_KEPT
    rows: dict[str, EventRow] = field(default_factory=dict)
    version: int = 0  # bumps on every change (views redraw when it moves)
    skipped: int = 0  # objects that were not Kubernetes events
    #: uid -> when the row is ordered and trimmed by (``_ordered_at``)
    order: dict[str, datetime] = field(default_factory=dict, repr=False)

    @malformed_as("an event list")
    def apply(self, event: WatchEvent) -> None:
        """Fold one watch event in; an object that is not a Kubernetes event is skipped and
        counted (one crafted event stopped the timeline for good)."""
        if event.type == "RELISTED":
            self._relisted(self.listed(event, datetime.now(UTC)))
            return
        received = datetime.now(UTC)
        if (row := _parsed(event.object)) is None:
            self.skipped += 1
        elif event.type == "DELETED":
            self.rows.pop(row.uid, None)
            self.order.pop(row.uid, None)
        else:
            self.rows[row.uid] = row
            self.order[row.uid] = _ordered_at(row, received)
        if len(self.rows) > self.kept + self.kept // 10:  # trimmed now and then, not per event
            self._keep(_newest(self.rows.values(), self.order, self.kept))
        self.version += 1

    async def relist(self, event: WatchEvent) -> None:
        """``apply`` of a RELISTED event, its items (up to the collector's MOST_LISTED, 200,000)
        parsed and trimmed in a thread: not on the event loop, which is the UI thread."""
        self._relisted(await asyncio.to_thread(self.listed, event, datetime.now(UTC)))

    @malformed_as("an event list")
    def listed(
        self, event: WatchEvent, received: datetime
    ) -> tuple[list[EventRow], dict[str, datetime], int]:
        """(the rows of a relist to keep, their order, objects skipped); changes nothing (it
        runs in a thread while the timeline is read)."""
        rows: dict[str, EventRow] = {}
        order: dict[str, datetime] = {}
        skipped = 0
        items = event.object.get("items")
        for obj in items if isinstance(items, list) else ():
            if (row := _parsed(obj)) is None:
                skipped += 1
                continue
            rows[row.uid] = row
            order[row.uid] = _ordered_at(row, received)
        kept = _newest(rows.values(), order, self.kept)
        return kept, {r.uid: order[r.uid] for r in kept}, skipped

    def _relisted(self, listed: tuple[list[EventRow], dict[str, datetime], int]) -> None:
        rows, self.order, skipped = listed
        self.rows = {r.uid: r for r in rows}
        self.skipped += skipped
        self.version += 1

    def _keep(self, rows: list[EventRow]) -> None:
        self.rows = {r.uid: r for r in rows}
        self.order = {r.uid: self.order[r.uid] for r in rows if r.uid in self.order}

    def newest_first(self, *, warnings_only: bool = False) -> list[EventRow]:
        """Ordered by when each happened, an event dated in the future by when it arrived."""
        rows = [r for r in self.rows.values() if not warnings_only or r.type == "Warning"]
        return sorted(rows, key=lambda r: self.order.get(r.uid) or r.at or EPOCH, reverse=True)


async def follow_events(
    client: KubeClient,
    timeline: EventTimeline,
    *,
    state: WatchState | None = None,
    stop: asyncio.Event | None = None,
    path: str = "/api/v1/events",
) -> None:
    """Feed ``timeline`` from the cluster's events until ``stop`` is set (a supervised task).
    A relist is parsed in a thread; the watch is not read meanwhile, so no later event is
    applied before the relist it follows."""
    async for event in client.watch(path, state=state, stop=stop):
        if event.type == "RELISTED":
            await timeline.relist(event)
        else:
            timeline.apply(event)


async def take_inventory(client: KubeClient) -> Inventory:
    """Every node and pod. Nodes the credential may not list leave the nodes empty, said in
    the inventory's ``nodes_unread``: the built-in ``view`` ClusterRole lists pods but not
    nodes (cluster-scoped), and a 403 on them showed no pods at all, crash-looping ones too."""
    (nodes, unread), (pods, _) = await gather_all(_nodes(client), client.list("/api/v1/pods"))
    # 20,000 pods take a few hundred ms to read: not on the UI thread
    return await asyncio.to_thread(inventory_of, client.name, nodes, pods, nodes_unread=unread)


async def _nodes(client: KubeClient) -> tuple[list[Obj], str]:
    """(the nodes, "" or why they were not read)."""
    try:
        nodes, _ = await client.list("/api/v1/nodes")
    except KubeForbidden as exc:
        return [], f"the nodes, which the credential may not list ({exc})"
    return nodes, ""


def inventory_of(
    cluster: str, nodes: list[Obj], pods: list[Obj], *, nodes_unread: str = ""
) -> Inventory:
    """The rows of every node and pod; an object of the wrong shape is skipped and counted
    (one odd pod among thousands failed the whole read), the first one's reason kept.
    ``nodes_unread``: why the nodes were not read ("" when they were)."""
    now = datetime.now(UTC)
    node_rows, skipped_nodes, why_nodes = _rows(nodes, node_row)
    pod_rows, skipped_pods, why_pods = _rows(pods, lambda p: pod_row(p, now))
    return Inventory(
        cluster=cluster,
        nodes=sorted(node_rows, key=lambda r: (r.ready is not False, r.name)),
        pods=worst_pods_first(pod_rows),
        taken_at=now,
        skipped_nodes=skipped_nodes,
        skipped_pods=skipped_pods,
        skipped_reason=why_nodes or why_pods,
        nodes_unread=nodes_unread,
    )


def _rows(objects: Iterable[Obj], row: Callable[[Obj], Row]) -> tuple[list[Row], int, str]:
    """(rows, objects skipped, the first skip's reason)."""
    rows: list[Row] = []
    skipped, why = 0, ""
    for obj in objects:
        try:
            rows.append(row(obj))
        except CollectorBadResponse as exc:
            skipped += 1
            why = why or str(exc)
    return rows, skipped, why
