"""Review fixes (second round) to the SR-IOV reads and findings: one cluster's keyring or
offline error no longer empties every cluster's SR-IOV objects, the clusters and their lists
are read at once, and an operator's huge ``lastSyncError`` is cut at the source and said as
one line in the fleet's findings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.cnf import NodeSync
from aiops_desktop.secrets import SecretsUnavailableError
from aiops_desktop.services.clusters.connections import EndpointNotConfigured
from aiops_desktop.services.fleet.findings import ALERT_TEXT_CHARS, sriov_findings
from aiops_desktop.services.gpu_cnf.cnf import NAMESPACES, PODS, SRIOV_NETWORKS, read_sriov_objects
from aiops_desktop.services.gpu_cnf.sriov import node_sync_rows

FAILED = {"metadata": {"name": "du-1"},
          "status": {"syncStatus": "Failed", "lastSyncError": "VF config failed"}}  # fmt: skip
NET = {"metadata": {"name": "fh"}, "spec": {"resourceName": "du_fh"}}
POD = {"metadata": {"name": "du-0", "namespace": "du-a"}}


def clusters(*names: str) -> list[Cluster]:
    return [Cluster(name=n, api_server_url=f"https://api.{n}:6443") for n in names]


class Kube:
    """KubeSession's reads: ``broken`` cluster -> the error its every read raises."""

    def __init__(self, broken: dict[str, Exception] | None = None) -> None:
        self.broken = broken or {}
        self.running = self.most_running = 0

    async def _read(self, name: str, answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await asyncio.sleep(0.05)
            if name in self.broken:
                raise self.broken[name]
            return answer
        finally:
            self.running -= 1

    async def sriov_states(self, name: str) -> list[dict[str, Any]]:
        return await self._read(name, [FAILED])

    async def objects(self, name: str, path: str, **_: Any) -> list[dict[str, Any]]:
        return await self._read(name, {SRIOV_NETWORKS: [NET], PODS: [POD], NAMESPACES: []}[path])


@pytest.mark.parametrize(
    "error",
    [SecretsUnavailableError("keyring locked"), EndpointNotConfigured("offline: no API")],
)
def test_one_cluster_s_error_names_it_and_the_others_are_shown(error: Exception) -> None:
    kube = Kube({"ran-b": error})
    out = asyncio.run(read_sriov_objects(kube, clusters("ran-a", "ran-b", "ran-c")))  # type: ignore[arg-type]
    assert [(c, n.node, n.status) for c, n in out.nodes] == [
        ("ran-a", "du-1", "Failed"), ("ran-c", "du-1", "Failed"),
    ]  # fmt: skip
    assert [c for c, _ in out.networks] == ["ran-a", "ran-c"]
    assert [c for c, _ in out.pods] == ["ran-a", "ran-c"]
    assert out.problems == [f"ran-b: {error}"]


def test_a_bug_is_not_taken_for_an_unreadable_cluster() -> None:
    kube = Kube({"ran-b": ZeroDivisionError("a bug")})
    with pytest.raises(ZeroDivisionError):
        asyncio.run(read_sriov_objects(kube, clusters("ran-a", "ran-b")))  # type: ignore[arg-type]


def test_every_cluster_and_list_is_read_at_once() -> None:
    kube = Kube()
    out = asyncio.run(read_sriov_objects(kube, clusters("ran-c0", "ran-c1", "ran-c2", "ran-c3")))  # type: ignore[arg-type]
    assert kube.most_running == 4 * 4  # 4 clusters x (states, networks, pods, namespaces)
    assert [c for c, _ in out.nodes] == [
        "ran-c0",
        "ran-c1",
        "ran-c2",
        "ran-c3",
    ]  # still in the clusters' order


def test_a_huge_last_sync_error_is_cut_at_the_source_with_a_mark() -> None:
    state = {"metadata": {"name": "du-1"},
             "status": {"syncStatus": "Failed", "lastSyncError": "E" * 1_000_000}}  # fmt: skip
    (row,) = node_sync_rows([state])
    assert len(row.error) == ALERT_TEXT_CHARS and row.error.endswith("…")
    assert row.error[:-1] == "E" * (ALERT_TEXT_CHARS - 1)
    (short,) = node_sync_rows([FAILED])
    assert short.error == "VF config failed"  # a short one whole, no mark


def test_the_sync_failure_finding_is_one_line() -> None:
    node = NodeSync("du-1", "Failed", "line1\nFAKE ROW\r\x1b]0;pwned\x07 \u202eevil")
    (finding,) = sriov_findings("ran", [node])["ran"]
    assert finding.reason == "SR-IOV sync Failed: line1 FAKE ROW ]0;pwned evil"
    assert finding.reason.isprintable()


def test_a_sync_failure_not_cut_at_the_source_is_still_a_bounded_finding() -> None:
    node = NodeSync("du-1", "Failed", "E" * 1_000_000 + "\x1b]0;pwned\x07")
    (finding,) = sriov_findings("ran", [node])["ran"]
    assert len(finding.reason) == ALERT_TEXT_CHARS and finding.reason.endswith("…")
