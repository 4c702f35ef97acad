"""A capture's export reads the Kubernetes objects the PTP, SR-IOV and drift pages use all at
once, within its own bound: one cluster slow to list its nodes (read unbounded by the PTP
board's 10 s, so a big fleet's list still gets recorded) must not leave every other
cluster's SR-IOV and drift objects unread when the export's time runs out."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.outputs.recorded import record_objects


class _Client:
    def __init__(self, slow: bool) -> None:
        self.slow = slow

    async def list(self, path: str, **_kw: Any) -> tuple[list[dict[str, Any]], None]:
        if self.slow:
            await asyncio.sleep(30)  # an API server that never finishes its node list
        return [], None


class _Pool:
    offline = None

    async def kube(self, cluster: Cluster) -> _Client:
        return _Client(cluster.name == "slow")


class _Registry:
    def __init__(self) -> None:
        self._clusters = [Cluster(name=n, api_server_url=f"https://api.{n}.example:6443")
                          for n in ("fast", "slow")]  # fmt: skip

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)

    def get(self, name: str) -> Cluster:
        return next(c for c in self._clusters if c.name == name)


@pytest.mark.asyncio
async def test_one_slow_cluster_leaves_the_others_objects_recorded() -> None:
    registry = _Registry()
    kube = KubeSession(registry, _Pool(), None, None)  # type: ignore[arg-type]
    into: dict[str, list[dict[str, Any]]] = {}
    with contextlib.suppress(TimeoutError):  # as the export bounds it (60 s; 0.3 s here)
        async with asyncio.timeout(0.3):
            await record_objects(kube, registry.clusters(), into)  # type: ignore[arg-type]
    fast = {key.split(" ")[1] for key in into if key.startswith("fast ")}
    assert "/apis/ptp.openshift.io/v1/ptpconfigs" in fast
    assert "/apis/sriovnetwork.openshift.io/v1/sriovnetworknodestates" in fast
    assert "/api/v1/pods" in fast and len(fast) >= 5  # the drift lists too
    assert kube.recording is None
