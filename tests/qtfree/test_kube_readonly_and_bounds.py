"""A read-only credential (the built-in ``view`` ClusterRole, a role without the review APIs)
still gets what it may read; a server's long or forged texts (a pod's reason, a node's
problem, a version) are kept one bounded line; RESTARTS counts as kubectl's does."""

from __future__ import annotations

from typing import Any

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.enums import Platform, ValidationOutcome
from aiops_desktop.services.kube import validation
from aiops_desktop.services.kube.discovery import (
    READS,
    discover,
    interpret,
    merged,
    platform_of,
)
from aiops_desktop.services.kube.inventory import (
    EVENT_TEXT_CHARS,
    inventory_of,
    node_row,
    pod_row,
    take_inventory,
)
from aiops_desktop.services.kube.validation import (
    ACCESS_REVIEW,
    RULES_REVIEW,
    SELF_SUBJECT_REVIEW,
    VERSION_CHARS,
)
from collectors.errors import KubeForbidden

CRASHING = {
    "metadata": {"namespace": "ran", "name": "du-l1-0"},
    "spec": {"containers": [{"name": "l1"}]},
    "status": {"phase": "Running", "containerStatuses": [
        {"name": "l1", "restartCount": 9, "ready": False,
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
    ]},
}  # fmt: skip


def forbidden(what: str) -> KubeForbidden:
    return KubeForbidden(
        f'ran-east: API server answered 403: {what} is forbidden: User "noc-viewer" cannot '
        f"do it at the cluster scope",
        backend="ran-east",
    )


class ViewOnly:
    """An API server that answers ``denied`` paths 403 (the ``view`` ClusterRole's lot)."""

    name = "ran-east"
    server = "https://api.ran-east.example:6443"
    expires_at = None

    def __init__(self, denied: tuple[str, ...] = (), version: Any = "v1.29.8") -> None:
        self.denied = denied
        self.version = version

    def _check(self, path: str) -> None:
        if any(path.startswith(d) for d in self.denied):
            raise forbidden(path)

    async def list(self, path: str, **_kw: Any) -> tuple[list[dict[str, Any]], str]:
        self._check(path)
        return ([CRASHING] if path == "/api/v1/pods" else []), "7"

    async def get(self, path: str, query: Any = None) -> Any:
        self._check(path)
        if path == "/version":
            return {"gitVersion": self.version, "platform": "linux/amd64"}
        return {"kind": "List", "metadata": {}, "items": []}

    async def review(self, path: str, body: Any) -> Any:
        self._check(path)
        if path == SELF_SUBJECT_REVIEW:
            return {"status": {"userInfo": {"username": "noc-viewer", "groups": []}}}
        if path == RULES_REVIEW:
            rule = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
            return {"status": {"resourceRules": [rule], "incomplete": False}}
        assert path == ACCESS_REVIEW, path
        return {"status": {"allowed": True}}

    async def aclose(self) -> None:
        pass


# -- the inventory with nodes not readable ----------------------------------------------------
@pytest.mark.asyncio
async def test_pods_show_when_the_nodes_may_not_be_listed() -> None:
    inventory = await take_inventory(ViewOnly(denied=("/api/v1/nodes",)))  # type: ignore[arg-type]
    assert inventory.nodes == []
    assert [p.name for p in inventory.pods] == ["du-l1-0"] and inventory.pods[0].crash_looping
    assert "nodes" in inventory.nodes_unread and "403" in inventory.nodes_unread
    assert inventory.skipped_reason == ""  # no object was malformed


@pytest.mark.asyncio
async def test_pods_not_readable_still_fail_the_inventory() -> None:
    with pytest.raises(KubeForbidden):
        await take_inventory(ViewOnly(denied=("/api/v1/pods",)))  # type: ignore[arg-type]


# -- long reasons and problems cut as events' texts are -------------------------------------------
def test_a_pods_reason_and_a_nodes_problem_are_cut() -> None:
    said = "Back-off pulling image: registry said: " + "denied " * 15_000
    pod = {
        "metadata": {"namespace": "ran", "name": "du-0"},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Pending", "containerStatuses": [
            {"name": "c", "restartCount": 0,
             "state": {"waiting": {"reason": "ImagePullBackOff", "message": said}}},
        ]},
    }  # fmt: skip
    reason = inventory_of("ran-east", [], [pod]).pods[0].reason
    assert len(reason) == EVENT_TEXT_CHARS and reason.startswith("ImagePullBackOff: Back-off")
    assert reason.endswith("…")
    node = {
        "metadata": {"name": "gpu-1"},
        "status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": said},
            {"type": "KernelDeadlock", "status": "True", "reason": "x" * 100_000},
        ]},
    }  # fmt: skip
    problems = node_row(node).problems
    assert [len(p) for p in problems] == [EVENT_TEXT_CHARS, EVENT_TEXT_CHARS]
    assert problems[0].startswith("NotReady: KubeletNotReady Back-off")


# -- RESTARTS as kubectl counts it -------------------------------------------------------------
def pod_with_init(
    init_restarts: int, app_restarts: int, *, initialized: bool, sidecar_restarts: int = 0
) -> dict[str, Any]:
    done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    running: dict[str, Any] = {"running": {}} if initialized else {}
    init = [
        {"name": "wait-db", "restartCount": init_restarts,
         "state": done if initialized else {"waiting": {"reason": "CrashLoopBackOff"}}},
        {"name": "mesh", "restartCount": sidecar_restarts, "started": initialized,
         "ready": initialized, "state": running},
    ]  # fmt: skip
    app = [{"name": "app", "restartCount": app_restarts, "ready": initialized, "state": running}]
    return {
        "metadata": {"namespace": "ran", "name": "cu-0"},
        "spec": {
            "initContainers": [{"name": "wait-db"}, {"name": "mesh", "restartPolicy": "Always"}],
            "containers": [{"name": "app"}],
        },
        "status": {
            "phase": "Running" if initialized else "Pending",
            "conditions": [{"type": "Initialized", "status": str(initialized)}],
            "initContainerStatuses": init,
            "containerStatuses": app,
        },
    }


def test_a_finished_init_containers_retries_no_longer_count() -> None:
    assert pod_row(pod_with_init(7, 0, initialized=True)).restarts == 0
    assert pod_row(pod_with_init(7, 3, initialized=True)).restarts == 3


def test_a_native_sidecars_restarts_always_count() -> None:
    row = pod_row(pod_with_init(7, 3, initialized=True, sidecar_restarts=2))
    assert row.restarts == 5


def test_an_initializing_pods_init_retries_count() -> None:
    row = pod_row(pod_with_init(7, 0, initialized=False))
    assert row.restarts == 7 and row.crash_looping


# -- validation: a 403 on a review is no refused credential ---------------------------------------
async def validated(monkeypatch: pytest.MonkeyPatch, client: ViewOnly) -> Any:
    async def opened(*_args: Any, **_kwargs: Any) -> ViewOnly:
        return client

    monkeypatch.setattr(validation, "kubeconfig_for", lambda _cluster, _secrets: {})
    monkeypatch.setattr(validation.KubeClient, "open", opened)
    cluster = Cluster(name="ran-east", api_server_url=client.server)
    return await validation.validate(cluster, None)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_403_on_who_am_i_leaves_the_user_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    result = await validated(monkeypatch, ViewOnly(denied=(SELF_SUBJECT_REVIEW,)))
    assert result.outcome is ValidationOutcome.VALID, result.reason
    assert result.user is None and all(p.allowed for p in result.permissions)


@pytest.mark.asyncio
async def test_a_403_on_the_rules_review_asks_each_read(monkeypatch: pytest.MonkeyPatch) -> None:
    result = await validated(monkeypatch, ViewOnly(denied=(RULES_REVIEW,)))
    assert result.outcome is ValidationOutcome.VALID, result.reason
    assert all(p.allowed for p in result.permissions)


@pytest.mark.asyncio
async def test_a_403_on_every_review_leaves_the_permissions_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = ViewOnly(denied=(SELF_SUBJECT_REVIEW, RULES_REVIEW, ACCESS_REVIEW))
    result = await validated(monkeypatch, client)
    # the essential reads were tried themselves (and answered); the rest is not known
    assert result.outcome is ValidationOutcome.VALID, result.reason
    essential = [p for p in result.permissions if p.essential]
    assert essential and all(p.allowed for p in essential)
    optional = [p for p in result.permissions if not p.essential]
    assert optional and all(not p.allowed and "not known" in p.why for p in optional)


@pytest.mark.asyncio
async def test_an_essential_read_refused_is_still_insufficient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = ViewOnly(denied=(RULES_REVIEW, ACCESS_REVIEW, "/api/v1/nodes"))
    result = await validated(monkeypatch, client)
    assert result.outcome is ValidationOutcome.INSUFFICIENT_PERMISSIONS
    assert result.reason == "the credentials cannot list nodes"


# -- discovery's /version --------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_discovery_goes_on_when_version_is_closed() -> None:
    found = await discover(ViewOnly(denied=("/version",)))  # type: ignore[arg-type]
    assert found.platform is Platform.KUBERNETES and found.platform_version is None
    assert found.denied == ["version"] and set(READS) >= {"pods"}


@pytest.mark.asyncio
async def test_a_version_closed_keeps_the_version_known() -> None:
    """A 403 on /version is no answer: the version an earlier discovery stored is kept (it
    was stored None); one ClusterVersion gives is stored all the same."""
    stored = Cluster(name="ran-east", api_server_url="https://c:6443")
    stored = merged(stored, await discover(ViewOnly()))  # type: ignore[arg-type]
    assert stored.platform_version == "v1.29.8"
    closed = await discover(ViewOnly(denied=("/version",)))  # type: ignore[arg-type]
    kept = merged(stored, closed)
    assert kept.platform is Platform.KUBERNETES and kept.platform_version == "v1.29.8"
    cv = {"status": {"desired": {"version": "4.16.3"}}}
    objects: dict[str, list[dict[str, Any]]] = {"clusterversions": [cv]}
    openshift = interpret("ran-east", objects, {}, [], ["version"])
    told = merged(stored, openshift)
    assert told.platform is Platform.OPENSHIFT and told.platform_version == "4.16.3"
    # another platform found with no version: the stored one was another platform's
    unversioned = interpret("ran-east", {"clusterversions": [{"status": {}}]}, {}, [], ["version"])
    moved = merged(stored, unversioned)
    assert moved.platform is Platform.OPENSHIFT and moved.platform_version is None


@pytest.mark.asyncio
async def test_a_forged_version_is_one_bounded_line() -> None:
    forged = "v1.29.0\nran-east: OPENSHIFT 4.16 (all good)\u202e" + "x" * 1_000_000
    found = await discover(ViewOnly(version=forged))  # type: ignore[arg-type]
    stored = merged(Cluster(name="ran-east", api_server_url="https://c:6443"), found)
    version = stored.platform_version or ""
    assert len(version) == VERSION_CHARS and version.isprintable()
    assert version.startswith("v1.29.0 ran-east: OPENSHIFT 4.16 (all good)x")
    found = await discover(ViewOnly(version={"major": "1"}))  # type: ignore[arg-type]
    assert found.platform_version is None


def test_a_clusterversions_version_is_one_bounded_line() -> None:
    forged = "4.16.3\n\x1b[2J" + "9" * 5000
    clusterversion = {"status": {"desired": {"version": forged}}}
    platform, version = platform_of([clusterversion], {})
    assert platform is Platform.OPENSHIFT and version is not None
    assert len(version) == VERSION_CHARS and version.startswith("4.16.3 [2J9")
    history = {"status": {"desired": {}, "history": [{"version": ["4.16"]}, {"version": "4.15.9"}]}}
    assert platform_of([history], {}) == (Platform.OPENSHIFT, "4.15.9")


@pytest.mark.asyncio
async def test_validation_keeps_a_version_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    result = await validated(monkeypatch, ViewOnly(version="v1.29.8" + "-rc" * 10_000))
    assert result.version is not None and len(result.version) == VERSION_CHARS
    assert len(result.reason) < 2 * VERSION_CHARS
