"""Review fixes of the inventory: native sidecars count in READY (a not-ready one is a
problem), node-problem-detector conditions and every Kubernetes memory quantity are read,
events dated in the future (or one namespace's flood) cannot hold the timeline, and a full
relist is parsed off the event loop (the UI thread) with later events applied after it."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from aiops_desktop.services.kube import inventory
from aiops_desktop.services.kube.inventory import EventTimeline, follow_events, node_row, pod_row
from collectors.kubernetes import KubeClient, WatchEvent


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


# -- 1. native sidecars in READY -------------------------------------------------------------------
def sidecar_pod(*, sidecar_ready: bool, started: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-1", "namespace": "shop",
                     "creationTimestamp": "2026-12-01T00:00:00Z"},
        "spec": {
            "nodeName": "n1",
            "initContainers": [{"name": "setup"},
                               {"name": "istio-proxy", "restartPolicy": "Always"}],
            "containers": [{"name": "app"}],
        },
        "status": {
            "phase": "Running",
            "initContainerStatuses": [
                {"name": "setup", "ready": False, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "istio-proxy", "started": started, "ready": sidecar_ready,
                 "restartCount": 0, "state": {"running": {"startedAt": "2026-12-01T00:00:01Z"}}},
            ],
            "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": "2026-12-01T00:00:02Z"}}}],
        },
    }  # fmt: skip


def test_a_started_sidecar_not_ready_counts_in_ready_and_is_a_problem() -> None:
    row = pod_row(sidecar_pod(sidecar_ready=False), datetime.now(UTC))
    assert row.ready == "1/2"  # kubectl's READY: the sidecar counts, the finished init not
    assert row.reason == "NotReady (1/2 containers ready)"


def test_a_ready_sidecar_counts_as_ready_and_is_no_problem() -> None:
    row = pod_row(sidecar_pod(sidecar_ready=True), datetime.now(UTC))
    assert (row.ready, row.reason) == ("2/2", "")


# -- 7. node-problem-detector conditions, memory quantities ---------------------------------------
def test_node_problem_detector_conditions_that_are_true_are_problems() -> None:
    node = {
        "metadata": {"name": "gpu-7", "labels": {}},
        "status": {
            "capacity": {"cpu": "64", "memory": "512G"},
            "conditions": [
                {"type": "KernelDeadlock", "status": "True", "reason": "DockerHung"},
                {"type": "ReadonlyFilesystem", "status": "True", "reason": "FilesystemIsReadOnly"},
                {"type": "FrequentKubeletRestart", "status": "False", "reason": "NoProblem"},
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady"},
            ],
        },
    }  # fmt: skip
    row = node_row(node)
    assert row.ready is True
    assert row.problems == [
        "KernelDeadlock: DockerHung",
        "ReadonlyFilesystem: FilesystemIsReadOnly",
    ]


EKS_AGENT_CONDITIONS = (  # the EKS node monitoring agent's: True when the node is healthy
    "KernelReady", "NetworkingReady", "StorageReady", "ContainerRuntimeReady",
    "AcceleratedHardwareReady",
)  # fmt: skip


def eks_node(**statuses: str) -> dict[str, Any]:
    conditions = [
        {"type": "Ready", "status": "True", "reason": "KubeletReady"},
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
        {"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"},
    ] + [
        {"type": kind, "status": statuses.get(kind, "True"), "reason": f"{kind}Reason"}
        for kind in EKS_AGENT_CONDITIONS
    ]
    return {"metadata": {"name": "ip-10-0-1-5"}, "status": {"conditions": conditions}}


def test_positive_conditions_that_are_true_are_no_problems() -> None:
    row = node_row(eks_node())
    assert row.ready is True
    assert row.problems == []


@pytest.mark.parametrize("kind", EKS_AGENT_CONDITIONS)
@pytest.mark.parametrize("status", ["False", "Unknown"])
def test_a_positive_condition_not_true_is_a_problem(kind: str, status: str) -> None:
    row = node_row(eks_node(**{kind: status}))
    assert row.ready is True
    assert row.problems == [f"{kind}={status}: {kind}Reason"]


@pytest.mark.parametrize(
    ("kind", "status", "problem"),
    [
        ("NetworkUnavailable", "True", "NetworkUnavailable: NoRouteCreated"),  # not "…Available"
        ("KernelDeadlock", "True", "KernelDeadlock: NoRouteCreated"),
        ("KubeletNotReady", "True", "KubeletNotReady: NoRouteCreated"),  # a negated "…Ready"
        ("DiskHealthy", "False", "DiskHealthy=False: NoRouteCreated"),
        ("GPUOK", "Unknown", "GPUOK=Unknown: NoRouteCreated"),
        ("ServiceAvailable", "False", "ServiceAvailable=False: NoRouteCreated"),
    ],
)
def test_each_condition_is_read_in_its_polarity(kind: str, status: str, problem: str) -> None:
    node = {"metadata": {"name": "n"}, "status": {"conditions": [
        {"type": "Ready", "status": "True"},
        {"type": kind, "status": status, "reason": "NoRouteCreated"},
    ]}}  # fmt: skip
    assert node_row(node).problems == [problem]


@pytest.mark.parametrize(
    ("memory", "gib"),
    [
        ("16Gi", 16.0),
        ("17179869184", 16.0),
        ("512G", 476.8),
        ("500000000k", 465.7),
        ("2T", 1862.6),
        ("1P", 931322.6),
        ("1Pi", 1048576.0),
        ("1Ei", 1073741824.0),
        ("1E", 931322574.6),
        ("0.5Ti", 512.0),
        ("16384Mi", 16.0),
        ("16777216Ki", 16.0),
        ("17179869184000m", 16.0),
        ("1e9", 0.9),
        ("1E9", 0.9),
        ("2e+12", 1862.6),
        ("lots", 0.0),
        ("16Qi", 0.0),
        ("1e999", 0.0),
    ],
)
def test_memory_is_read_in_every_kubernetes_quantity_suffix(memory: str, gib: float) -> None:
    node = {"metadata": {"name": "n"}, "status": {"capacity": {"memory": memory}}}
    assert node_row(node).memory_gib == gib


# -- 4. events dated in the future, one namespace's flood -----------------------------------------
def event(uid: str, at: datetime, namespace: str, reason: str) -> dict[str, Any]:
    return {
        "metadata": {"uid": uid, "namespace": namespace, "name": uid},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": "x"},
        "reason": reason, "message": "m", "type": "Warning", "lastTimestamp": z(at),
    }  # fmt: skip


def test_events_dated_in_the_future_do_not_hold_the_timeline() -> None:
    future = datetime(2099, 1, 1, tzinfo=UTC)
    timeline = EventTimeline()
    spam = [event(f"spam{i}", future, "tenant-a", "Spam") for i in range(2000)]
    timeline.apply(WatchEvent("RELISTED", {"items": spam}))
    for i in range(1000):  # the real trouble arrives live, dated as it happens
        at = datetime.now(UTC) + timedelta(seconds=1)
        timeline.apply(WatchEvent("ADDED", event(f"real{i}", at, "ran-du", "NodeNotReady")))
    real = [r for r in timeline.rows.values() if r.uid.startswith("real")]
    assert len(real) == 1000
    shown = timeline.newest_first(warnings_only=True)[:500]
    assert {r.reason for r in shown} == {"NodeNotReady"}
    spammed = [r for r in timeline.rows.values() if r.reason == "Spam"]
    assert spammed and all(r.at == future for r in spammed)  # shown as it says, ordered not


def test_one_namespace_holds_at_most_half_while_others_need_the_room() -> None:
    now = datetime.now(UTC) - timedelta(hours=1)
    flood = [event(f"a{i}", now + timedelta(seconds=i), "noisy", "Flood") for i in range(30)]
    older = [event(f"b{i}", now - timedelta(minutes=i + 1), "ran-du", "BackOff") for i in range(8)]
    timeline = EventTimeline(kept=10)
    timeline.apply(WatchEvent("RELISTED", {"items": [*flood, *older]}))
    held = Counter(r.namespace for r in timeline.rows.values())
    assert held == {"noisy": 5, "ran-du": 5}
    assert [r.uid for r in timeline.newest_first()][:5] == [f"a{i}" for i in (29, 28, 27, 26, 25)]
    for i in range(30, 60):  # the flood goes on live: trimmed the same way
        at = now + timedelta(seconds=i)
        timeline.apply(WatchEvent("ADDED", event(f"a{i}", at, "noisy", "Flood")))
    assert Counter(r.namespace for r in timeline.rows.values())["ran-du"] >= 5
    alone = EventTimeline(kept=10)  # with no one else to make room for, it keeps them all
    alone.apply(WatchEvent("RELISTED", {"items": flood}))
    assert len(alone.rows) == 10


# -- 5. a full relist off the event loop, later events after it -----------------------------------
class Watching:
    def __init__(self, events: list[WatchEvent]) -> None:
        self.events = events

    async def watch(self, path: str, **_: Any) -> AsyncIterator[WatchEvent]:
        for item in self.events:
            yield item


@pytest.mark.asyncio
async def test_a_relist_is_parsed_off_the_loop_and_later_events_follow_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop_thread = threading.get_ident()
    parsed_on: dict[str, int] = {}
    parse = inventory.event_row

    def event_row(obj: Any) -> Any:
        parsed_on[obj["metadata"]["uid"]] = threading.get_ident()
        return parse(obj)

    monkeypatch.setattr(inventory, "event_row", event_row)
    now = datetime.now(UTC) - timedelta(minutes=5)
    listed = [event(f"l{i}", now + timedelta(seconds=i), "ns", "BackOff") for i in range(50)]
    client = Watching([
        WatchEvent("RELISTED", {"items": listed}),
        WatchEvent("DELETED", listed[10]),
        WatchEvent("ADDED", event("new", now + timedelta(minutes=1), "ns", "Started")),
        WatchEvent("MODIFIED", event("l3", now + timedelta(minutes=2), "ns", "Again")),
    ])  # fmt: skip
    timeline = EventTimeline()
    await follow_events(cast(KubeClient, client), timeline)
    assert all(parsed_on[f"l{i}"] != loop_thread for i in (0, 1, 49))
    assert "l10" not in timeline.rows and len(timeline.rows) == 50
    assert [r.uid for r in timeline.newest_first()[:3]] == ["l3", "new", "l49"]
    assert timeline.rows["l3"].reason == "Again"


@pytest.mark.asyncio
async def test_a_big_relist_leaves_the_loop_free() -> None:
    """100,000 events (a relist may hold 200,000) took 1.3 s in one call on the UI thread."""
    at = z(datetime.now(UTC) - timedelta(hours=1))
    items = [{"metadata": {"uid": f"u{i}", "namespace": "ns"}, "reason": "BackOff",
              "type": "Warning", "lastTimestamp": at} for i in range(100_000)]  # fmt: skip
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    timeline = EventTimeline()
    await follow_events(cast(KubeClient, Watching([WatchEvent("RELISTED", {"items": items})])),
                        timeline)  # fmt: skip
    ticker.cancel()
    await asyncio.gather(ticker, return_exceptions=True)
    assert len(timeline.rows) == 2000
    assert ticks > 5  # the loop ran meanwhile (one synchronous call let it tick once)
