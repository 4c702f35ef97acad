"""What the registry keeps of a cluster's health checks (its connectivity window) goes with the
cluster: removed here, or by another process (the CLI's ``clusters remove``), it was kept for
good (a CI cluster added, checked and removed a thousand times: a thousand windows)."""

from __future__ import annotations

import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from tests.qtfree.test_registry_review5 import other_process

PROM = EndpointKind.PROMETHEUS


async def _checked(core: Core, name: str) -> None:
    await core.registry.add(ClusterSpec(name=name, endpoint_urls={PROM: f"https://{name}.example"}))
    await core.registry.apply_check(name, {PROM: True})


@pytest.mark.asyncio
async def test_a_removed_clusters_connectivity_window_goes_with_it(core: Core) -> None:
    for i in range(3):
        await _checked(core, f"ci-run-{i}")
        await core.registry.remove(f"ci-run-{i}")
    assert core.registry._reachability == {}


@pytest.mark.asyncio
async def test_a_cluster_removed_elsewhere_lets_its_connectivity_window_go(core: Core) -> None:
    await _checked(core, "ci-run-1")
    cli = other_process(core)
    await cli.load()
    await cli.remove("ci-run-1")
    assert await core.registry.adopt_added() == []
    assert core.registry.clusters() == [] and core.registry._reachability == {}
