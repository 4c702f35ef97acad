"""Inventory and the events timeline against a real API (kmock behind nginx)."""

from __future__ import annotations

import asyncio

import pytest

from aiops_desktop.services.kube.inventory import (
    EventTimeline,
    follow_events,
    pod_row,
    take_inventory,
)
from collectors.kube_config import kubeconfig_for_token
from collectors.kubernetes import KubeClient, WatchState
from tests.servers.kube_api import RunningKubeApi

pytestmark = pytest.mark.integration


async def admin(api: RunningKubeApi) -> KubeClient:
    config = kubeconfig_for_token(api.url, "admin-token", ca_pem=api.ca_pem)
    return await KubeClient.open(config, name="ran-east", timeout_s=5)


@pytest.mark.asyncio
async def test_nodes_and_pods_worst_first_with_their_reasons(kube_api: RunningKubeApi) -> None:
    client = await admin(kube_api)
    try:
        inventory = await take_inventory(client)
    finally:
        await client.aclose()
    first = inventory.nodes[0]  # the NotReady node leads
    assert first.name == "gpu-1" and first.ready is False and first.gpus == 8
    assert first.problems == ["NotReady: KubeletNotReady PLEG is not healthy: pleg was last "
                              "seen active 3m0s ago"]  # fmt: skip
    master = next(n for n in inventory.nodes if n.name == "master-0")
    assert master.roles == ["master"] and master.ready and master.memory_gib == 503.5
    pods = inventory.pods
    assert [p.name for p in pods[:3]] == ["du-l1-0", "nrf-0", "trainer-0"]
    crash = pods[0]
    assert crash.crash_looping and crash.restarts == 42 and crash.ready == "0/1"
    assert crash.reason == "CrashLoopBackOff (last exit code 137, OOMKilled)"
    assert pods[1].reason == 'ImagePullBackOff: Back-off pulling image "registry.local/nrf:2.1"'
    assert pods[2].phase == "Pending" and pods[2].node == ""
    assert pods[2].reason == (
        "Unschedulable: 0/4 nodes are available: 4 Insufficient nvidia.com/gpu."
    )
    assert all(not p.reason for p in pods[3:])


@pytest.mark.asyncio
async def test_events_timeline_newest_first_from_a_watch(kube_api: RunningKubeApi) -> None:
    client = await admin(kube_api)
    timeline, stop = EventTimeline(), asyncio.Event()
    task = asyncio.create_task(follow_events(client, timeline, stop=stop))
    try:
        async with asyncio.timeout(15):
            while len(timeline.rows) < 3:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
    rows = timeline.newest_first()
    assert [r.reason for r in rows] == ["BackOff", "FailedScheduling", "Scheduled"]
    assert rows[0].object == "Pod/ran-du/du-l1-0" and rows[0].count == 42
    assert [r.reason for r in timeline.newest_first(warnings_only=True)] == [
        "BackOff", "FailedScheduling",
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_a_410_gone_relists_and_the_watch_goes_on(kube_api: RunningKubeApi) -> None:
    client = await admin(kube_api)
    timeline, state, stop = EventTimeline(), WatchState(), asyncio.Event()
    seen: list[str] = []
    try:
        async with asyncio.timeout(15):
            async for event in client.watch(
                "/api/v1/namespaces/expiring/events", state=state, stop=stop
            ):
                timeline.apply(event)
                seen.append(event.type)
                if event.type == "ADDED":
                    stop.set()
    finally:
        await client.aclose()
    assert seen == ["RELISTED", "RELISTED", "ADDED"]  # listed at 5, 410, listed at 9, went on
    assert state.relists == 1 and state.resource_version == "10" and state.errors == []
    assert [r.reason for r in timeline.newest_first()] == ["Started"]


@pytest.mark.asyncio
async def test_a_cut_watch_resumes_without_losing_or_repeating_events(
    kube_api: RunningKubeApi,
) -> None:
    """The server cuts the stream after every event; the client resumes from the last
    resourceVersion it saw, never relists, and sees each event exactly once."""
    client = await admin(kube_api)
    state, stop = WatchState(), asyncio.Event()
    seen: list[str] = []
    try:
        async with asyncio.timeout(15):
            async for event in client.watch(
                "/api/v1/namespaces/resuming/events", state=state, stop=stop, backoff=(0.05,)
            ):
                if event.type == "RELISTED":
                    seen += [f"LISTED:{i['metadata']['name']}" for i in event.object["items"]]
                else:
                    seen.append(f"{event.type}:{event.object['metadata']['name']}")
                if len(seen) == 4:
                    stop.set()
        asked = (await client.get("/resuming/asked"))["asked"]
    finally:
        await client.aclose()
    assert seen == ["LISTED:r0", "ADDED:r1", "ADDED:r2", "ADDED:r3"]
    assert asked[:3] == ["20", "21", "22"]  # each reconnect resumed where the last one ended
    assert state.relists == 0 and state.reconnects >= 2 and state.resource_version == "23"


def _pod(name: str, phase: str, statuses: list[dict[str, object]], **status: object) -> dict:
    meta = status.pop("meta", {})
    init = status.pop("init", None)
    body = {"phase": phase, "containerStatuses": statuses, **status}
    if init is not None:
        body["initContainerStatuses"] = init
    containers = [{"name": c["name"]} for c in statuses]
    return {"metadata": {"name": name, "namespace": "ns", **meta},  # type: ignore[dict-item]
            "spec": {"nodeName": "n1", "containers": containers}, "status": body}  # fmt: skip


def test_a_pod_reads_as_kubectl_would_say_it() -> None:
    """Init containers, the crash-looping container's own last exit (not a sidecar's), a
    Failed Job pod, a lost node, running but not ready, stuck terminating: each said (all
    were read as fine, or with another container's exit code)."""
    crash = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}
    error = {"terminated": {"exitCode": 1, "reason": "Error"}}
    done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    cases = {
        "init-crash": _pod("init-crash", "Pending",
                           [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}],
                           init=[{"name": "migrate", "restartCount": 12, "state": crash,
                                  "lastState": error}]),
        "two": _pod("two", "Running", [
            {"name": "side", "ready": True, "restartCount": 1, "state": {"running": {}},
             "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}},
            {"name": "app", "restartCount": 40, "state": crash,
             "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]),
        "job": _pod("job", "Failed",
                    [{"name": "main", "state": error}]),
        "lost": _pod("lost", "Unknown", [{"name": "web", "state": {"running": {}}}],
                     reason="NodeLost"),
        "unready": _pod("unready", "Running", [{"name": "web", "state": {"running": {}}}]),
        "stuck": _pod("stuck", "Running", [{"name": "w", "ready": True, "state": {"running": {}}}],
                      meta={"deletionTimestamp": "2024-01-01T00:00:00Z"}),
        "done": _pod("done", "Succeeded",
                     [{"name": "m", "state": done}]),
    }  # fmt: skip
    # a native sidecar (an init container that restarts always) that started runs beside
    # the app: kubectl says Running 2/2, it read Init:0/1; a pod deleted a second ago is no
    # stuck one
    sidecar = _pod("mesh", "Running", [{"name": "app", "ready": True, "state": {"running": {}}}],
                   init=[{"name": "proxy", "started": True, "ready": True,
                          "state": {"running": {}}}])  # fmt: skip
    sidecar["spec"]["initContainers"] = [{"name": "proxy", "restartPolicy": "Always"}]
    cases["mesh"] = sidecar
    cases["leaving"] = _pod("leaving", "Running", [{"name": "w", "ready": True,
                                                     "state": {"running": {}}}],
                            meta={"deletionTimestamp": "2099-01-01T00:00:00Z"})  # fmt: skip
    rows = {name: pod_row(pod) for name, pod in cases.items()}
    said = {name: (r.crash_looping, r.reason, r.restarts) for name, r in rows.items()}
    assert said == {
        "init-crash": (True, "Init:CrashLoopBackOff (last exit code 1, Error)", 12),
        "two": (True, "CrashLoopBackOff (last exit code 2, Error)", 41),
        "job": (False, "Error (exit code 1)", 0),
        "lost": (False, "NodeLost", 0),
        "unready": (False, "NotReady (0/1 containers ready)", 0),
        "stuck": (False, "Terminating, due to be gone at 2024-01-01T00:00:00Z", 0),
        "done": (False, "", 0),
        "mesh": (False, "", 0),
        "leaving": (False, "", 0),
    }
