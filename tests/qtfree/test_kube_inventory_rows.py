"""Inventory rows as a NOC engineer needs them: a recurring event dated by its latest
occurrence, a container running again after an OOM kill flagged, and one object of the wrong
shape skipped and counted instead of failing the whole Nodes/Pods read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aiops_desktop.services.kube.inventory import (
    EventTimeline,
    event_row,
    pod_row,
    take_inventory,
    worst_pods_first,
)
from collectors.kubernetes import WatchEvent

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


# -- events: kubectl's LAST SEEN -------------------------------------------------------------------
def failed_scheduling() -> dict[str, Any]:
    """As events.k8s.io/v1 writes it, seen through core/v1: no lastTimestamp, eventTime the
    first occurrence, series.lastObservedTime the latest."""
    return {
        "metadata": {"uid": "fs", "namespace": "du-1", "name": "du-l1-0.17f",
                     "creationTimestamp": z(NOW - timedelta(hours=1))},
        "type": "Warning", "reason": "FailedScheduling",
        "involvedObject": {"kind": "Pod", "namespace": "du-1", "name": "du-l1-0"},
        "message": "0/12 nodes are available: 12 Insufficient nvidia.com/gpu.",
        "firstTimestamp": None, "lastTimestamp": None, "count": 0,
        "eventTime": z(NOW - timedelta(hours=1)),
        "series": {"count": 57, "lastObservedTime": z(NOW - timedelta(seconds=20))},
    }  # fmt: skip


def test_a_recurring_event_is_dated_by_its_latest_occurrence() -> None:
    row = event_row(failed_scheduling())
    assert row.at == NOW - timedelta(seconds=20) and row.count == 57
    timeline = EventTimeline(kept=3)
    old = [{"metadata": {"uid": f"n{i}"}, "type": "Normal", "reason": "Pulled",
            "lastTimestamp": z(NOW - timedelta(minutes=5 + i))} for i in range(4)]  # fmt: skip
    timeline.apply(WatchEvent("RELISTED", {"items": [failed_scheduling(), *old]}))
    newest = timeline.newest_first()
    assert [r.uid for r in newest] == ["fs", "n0", "n1"]  # kept, first: it happened 20 s ago


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"lastTimestamp": 1, "series": 2, "eventTime": 3, "firstTimestamp": 4}, 1),
        ({"series": 2, "eventTime": 3, "firstTimestamp": 4}, 2),
        ({"eventTime": 3, "firstTimestamp": 4}, 3),
        ({"firstTimestamp": 4}, 4),
        ({}, 5),
    ],
)
def test_event_time_order_is_kubectls(fields: dict[str, int], expected: int) -> None:
    def at(minutes: int) -> str:
        return z(NOW - timedelta(minutes=minutes))

    event: dict[str, Any] = {"metadata": {"uid": "e", "creationTimestamp": at(5)}}
    for key, minutes in fields.items():
        if key == "series":
            event["series"] = {"count": 2, "lastObservedTime": at(minutes)}
        else:
            event[key] = at(minutes)
    assert event_row(event).at == NOW - timedelta(minutes=expected)


# -- a container running again after it was OOM-killed -------------------------------------------
def pod(
    name: str = "upf-0",
    *,
    last: dict[str, Any] | None = None,
    restarts: int = 14,
    ready: bool = True,
    phase: str = "Running",
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    container = {
        "name": "upf", "ready": ready, "restartCount": restarts,
        "state": {"running": {"startedAt": z(NOW - timedelta(minutes=3))}},
        "lastState": {"terminated": last} if last else {},
    }  # fmt: skip
    containers = [container, *(extra or [])]
    return {
        "metadata": {"name": name, "namespace": "upf-core"},
        "spec": {"containers": [{"name": c["name"]} for c in containers]},
        "status": {"phase": phase, "containerStatuses": containers},
    }


def oom(minutes_ago: float) -> dict[str, Any]:
    finished = z(NOW - timedelta(minutes=minutes_ago))
    return {"exitCode": 137, "reason": "OOMKilled", "finishedAt": finished}


def test_a_container_oom_killed_and_running_again_is_a_problem() -> None:
    row = pod_row(pod(last=oom(3)), NOW)
    assert row.phase == "Running" and not row.crash_looping and row.restarts == 14
    assert row.reason == "restarted 14x, last OOMKilled (exit code 137) 3 min ago"
    pending = {
        "metadata": {"name": "job-x", "namespace": "batch"},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled",
                   "status": "False", "reason": "Unschedulable", "message": "0/3 nodes"}]},
    }  # fmt: skip
    fine = pod("fine-0", restarts=0)
    ranked = worst_pods_first([pod_row(fine, NOW), pod_row(pending, NOW), row])
    assert [r.name for r in ranked] == ["upf-0", "job-x", "fine-0"]


def test_a_crash_with_an_exit_code_also_counts_and_not_ready_is_said_too() -> None:
    crashed = {"exitCode": 1, "reason": "Error", "finishedAt": z(NOW - timedelta(seconds=40))}
    row = pod_row(pod(last=crashed, restarts=2, ready=False), NOW)
    assert row.reason == (
        "restarted 2x, last Error (exit code 1) 40 s ago; NotReady (0/1 containers ready)"
    )


def test_only_a_recent_bad_end_flags_a_running_pod() -> None:
    assert pod_row(pod(last=oom(61)), NOW).reason == ""  # over an hour ago: settled
    clean = {"exitCode": 0, "reason": "Completed", "finishedAt": z(NOW - timedelta(minutes=1))}
    assert pod_row(pod(last=clean), NOW).reason == ""  # it ended well (a rollout, a drain)
    assert pod_row(pod(last={"exitCode": 137, "reason": "OOMKilled"}), NOW).reason == ""
    assert pod_row(pod(last=oom(3), phase="Succeeded"), NOW).reason == ""


def test_the_latest_bad_end_of_several_containers_names_its_container() -> None:
    sidecar = {"name": "proxy", "ready": True, "restartCount": 3,
               "state": {"running": {}}, "lastState": {"terminated": oom(10)}}  # fmt: skip
    row = pod_row(pod(last=oom(25), restarts=5, extra=[sidecar]), NOW)
    assert row.reason == "restarted 3x, last OOMKilled (exit code 137) 10 min ago (container proxy)"


def test_a_native_sidecar_oom_killed_and_running_again_is_a_problem() -> None:
    spec = pod(restarts=0)
    spec["spec"]["initContainers"] = [{"name": "istio-proxy", "restartPolicy": "Always"}]
    spec["status"]["initContainerStatuses"] = [{
        "name": "istio-proxy", "started": True, "ready": True, "restartCount": 6,
        "state": {"running": {}}, "lastState": {"terminated": oom(2)},
    }]  # fmt: skip
    row = pod_row(spec, NOW)
    assert row.reason.startswith("restarted 6x, last OOMKilled (exit code 137) 2 min ago")


# -- one object of the wrong shape ---------------------------------------------------------------
class ListingClient:
    name = "ran-east"

    def __init__(self, lists: dict[str, list[Any]]) -> None:
        self.lists = lists

    async def list(self, path: str) -> tuple[list[Any], str]:
        return self.lists[path], "1"


@pytest.mark.asyncio
async def test_one_malformed_pod_or_node_is_skipped_and_counted() -> None:
    good = [pod(f"p{i}", restarts=0) for i in range(499)]
    bad_pod = pod("odd")
    bad_pod["status"]["containerStatuses"][0]["restartCount"] = "three"
    nodes = [
        {
            "metadata": {"name": "n1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
        {"metadata": {"name": "n2"}, "status": {"conditions": ["Ready"]}},
    ]
    client = ListingClient({"/api/v1/nodes": nodes, "/api/v1/pods": [*good, bad_pod, "x"]})
    inventory = await take_inventory(client)  # type: ignore[arg-type]
    assert [n.name for n in inventory.nodes] == ["n1"]
    assert len(inventory.pods) == 499 and "odd" not in {p.name for p in inventory.pods}
    assert (inventory.skipped_nodes, inventory.skipped_pods, inventory.skipped) == (1, 2, 3)
    assert "a node is not in Kubernetes format" in inventory.skipped_reason


@pytest.mark.asyncio
async def test_a_clean_inventory_skips_nothing() -> None:
    client = ListingClient({"/api/v1/nodes": [], "/api/v1/pods": [pod(restarts=0)]})
    inventory = await take_inventory(client)  # type: ignore[arg-type]
    assert inventory.skipped == 0 and inventory.skipped_reason == ""
    assert [p.name for p in inventory.pods] == ["upf-0"]
