"""Pod rows as kubectl's STATUS column reads them: a pod Pending that no scheduler has touched
(its scheduler down or misspelt) is a problem, not hidden by "Only pods with a problem"; a pod
being deleted reads Terminating at once, and is a problem only once past its deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_desktop.services.kube.inventory import pod_row

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


# -- Pending, no scheduler touched it ------------------------------------------------------------
def pending(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "du-0", "namespace": "ran",
                     "creationTimestamp": z(NOW - timedelta(hours=6))},
        "spec": {"containers": [{"name": "du"}], **spec},
        "status": {"phase": "Pending", "qosClass": "Guaranteed", **(status or {})},
    }  # fmt: skip


def test_a_pending_pod_no_scheduler_touched_names_its_scheduler() -> None:
    row = pod_row(pending({"schedulerName": "ran-scheduler"}), NOW)
    assert (row.phase, row.reason) == ("Pending", "Pending (not scheduled by ran-scheduler)")


def test_a_pending_pod_of_the_default_scheduler_says_it_is_not_scheduled() -> None:
    for spec in ({}, {"schedulerName": "default-scheduler"}):
        assert pod_row(pending(spec), NOW).reason == "Pending (not scheduled)"


def test_a_pending_pod_that_is_scheduled_or_says_why_keeps_its_own_words() -> None:
    said = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes"}  # fmt: skip
    unschedulable = {"conditions": [said]}
    assert pod_row(pending({}, unschedulable), NOW).reason == "Unschedulable: 0/3 nodes"
    creating = {"containerStatuses": [
        {"name": "du", "state": {"waiting": {"reason": "ContainerCreating"}}}]}  # fmt: skip
    assert pod_row(pending({"nodeName": "w1"}, creating), NOW).reason == "ContainerCreating"
    # scheduled (bound to a node): not "not scheduled"
    scheduled = {"conditions": [{"type": "PodScheduled", "status": "True"}]}
    assert "not scheduled" not in pod_row(pending({"nodeName": "w1"}, scheduled), NOW).reason


# -- Terminating ---------------------------------------------------------------------------------
def deleted(deadline: datetime) -> dict[str, Any]:
    running = {"running": {"startedAt": z(NOW - timedelta(days=3))}}
    return {
        "metadata": {"name": "du-0", "namespace": "ran",
                     "creationTimestamp": z(NOW - timedelta(days=3)),
                     "deletionTimestamp": z(deadline), "deletionGracePeriodSeconds": 3600},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "du"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "du", "ready": True, "restartCount": 0, "state": running}]},
    }  # fmt: skip


def test_a_pod_being_deleted_reads_terminating_at_once_but_is_no_problem_yet() -> None:
    row = pod_row(deleted(NOW + timedelta(minutes=59)), NOW)  # deleted a minute ago, grace 1 h
    assert (row.phase, row.reason, row.crash_looping) == ("Terminating", "", False)


def test_a_pod_past_its_deletion_deadline_is_stuck_terminating() -> None:
    deadline = NOW - timedelta(minutes=5)
    row = pod_row(deleted(deadline), NOW)
    assert row.phase == "Terminating"
    assert row.reason == f"Terminating, due to be gone at {z(deadline)}"


def test_a_pod_not_being_deleted_keeps_its_phase() -> None:
    pod = deleted(NOW)
    del pod["metadata"]["deletionTimestamp"]
    assert (pod_row(pod, NOW).phase, pod_row(pod, NOW).reason) == ("Running", "")


def test_a_pod_shutting_down_within_its_grace_period_is_no_problem() -> None:
    """Not ready, a container ended by SIGTERM: the deletion's doing, not a problem."""
    pod = deleted(NOW + timedelta(minutes=30))
    pod["status"]["containerStatuses"] = [
        {"name": "du", "ready": False, "restartCount": 0,
         "state": {"terminated": {"exitCode": 143, "reason": "Error"}}}]  # fmt: skip
    row = pod_row(pod, NOW)
    assert (row.phase, row.reason) == ("Terminating", "")
    stuck = pod_row(pod, NOW + timedelta(hours=1))  # past its deadline: stuck, and why
    assert stuck.reason.startswith("Terminating, due to be gone at ")
    assert "exit code 143" in stuck.reason
