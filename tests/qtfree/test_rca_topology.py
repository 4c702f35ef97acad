"""RCA's topology beyond one series' labels: PTP clients on their grandmaster, a pod on its
SR-IOV VF on its PF on its node; read from real Prometheus hubs (tests/servers/ptp_fleet.py,
sriov_fleet.py) and used by the ranking (a client that moved with its grandmaster gives way)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import numpy as np
import pytest

from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.store.series import SeriesBatch
from analysis.rca.model import Window
from analysis.rca.topology import PtpPort, VfLink, grandmasters, ptp_edges, sriov_edges
from tests.servers.ptp_fleet import COUNT, STEP_S


def test_clients_follow_their_grandmaster_and_a_boundary_clock_relays() -> None:
    ports = [
        PtpPort("east", "gm-0", "ens2f0", "MASTER"),
        PtpPort("east", "gm-0", "ens2f0", "UNKNOWN", "ts2phc"),
        PtpPort("east", "bc-1", "ens1f0", "SLAVE"),
        PtpPort("east", "bc-1", "ens1f1", "MASTER"),
        PtpPort("east", "du-2", "ens1f0", "SLAVE"),
        PtpPort("west", "du-9", "ens1f0", "SLAVE"),  # no grandmaster in view: no guess
    ]
    assert grandmasters(ports) == {"east": {"gm-0"}}
    assert ptp_edges(ports) == [
        ("east bc-1/ens1f0", "east gm-0/ens2f0"),
        ("east bc-1/ens1f1", "east bc-1/ens1f0"),
        ("east du-2/ens1f0", "east gm-0/ens2f0"),
    ]


def test_a_pod_depends_on_its_vf_on_its_pf_on_its_node() -> None:
    links = [
        VfLink("east", "w-0", "ens1f0", "2", "east pod du/du-l1-2"),
        VfLink("east", "w-0", "ens1f0", "3"),
    ]
    assert sriov_edges(links) == [
        ("east pod du/du-l1-2", "east w-0/ens1f0 vf2"),
        ("east w-0/ens1f0", "east node w-0"),
        ("east w-0/ens1f0 vf2", "east w-0/ens1f0"),
        ("east w-0/ens1f0 vf3", "east w-0/ens1f0"),
    ]


async def _hub(core: Core, name: str, url: str) -> None:
    await core.registry.add(
        ClusterSpec(name=name, kind=ClusterKind.FLEET, endpoint_urls={EndpointKind.PROMETHEUS: url})
    )


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_client_that_moved_with_its_grandmaster_gives_way_to_it(
    core: Core, ptp_hub
) -> None:  # type: ignore[no-untyped-def]
    """ran-east's grandmaster port (gm-0) and a client (du-3) leave their baselines in the same
    minute, the client further: the roles read from the hub make the client the
    grandmaster's dependent, so the grandmaster ranks first; without the roles the client
    would."""
    server, start = ptp_hub
    await _hub(core, "ran-hub", server.url)
    await core.registry.set_members("ran-hub", ["ran-east", "ran-west"])  # as a poll finds them
    end = (start + (COUNT - 1) * STEP_S) // 60 * 60  # the hub's last minute: roles are known
    ts = np.arange(end - 3600, end + 1, 60)
    jump = end - 240
    rng = np.random.default_rng(3)

    def offset(node: str, iface: str, rise: float) -> SeriesBatch:
        values = rng.normal(0, 2, ts.size) + np.where(ts >= jump, rise, 0.0)
        labels = {"node": node, "iface": iface, "process": "ptp4l"}  # as the poller keeps them
        return SeriesBatch("ran-east", "ptp_offset", labels, ts * 1000, values)

    await asyncio.wrap_future(core.series.append([
        offset("gm-0", "ens2f0", 40.0), offset("du-3", "ens1f0", 90.0),
        offset("du-1", "ens1f0", 0.0),
    ]))  # fmt: skip
    await asyncio.wrap_future(core.series.flush())
    at = datetime.fromtimestamp(end, UTC)
    with_roles = await core.rca.for_cluster(
        "ran-east", ["ran-east"], at
    )  # a member: its hub is asked
    ranked = [c.entity for c in with_roles.causes]
    assert ranked[:2] == ["ran-east gm-0/ens2f0", "ran-east du-3/ens1f0"], ranked
    assert with_roles.unread == []
    blind = RcaService(core.series, core.catalog, clock=core.now)  # no topology reader
    alone = await blind.for_cluster("ran-east", ["ran-east"], at)  # a member: its hub is asked
    assert alone.causes[0].entity == "ran-east du-3/ens1f0"


@pytest.mark.integration
@pytest.mark.asyncio
async def test_vfs_and_their_pods_are_read_from_the_hub_with_their_drops(
    core: Core, sriov_hub
) -> None:  # type: ignore[no-untyped-def]
    await _hub(core, "ran-hub", sriov_hub.url)
    topology = core.rca._topology
    assert topology is not None
    now = core.now().timestamp()
    read = await topology.read(["ran-hub"], Window(now - 300, analysis_s=now))
    assert read.unread == []
    assert ("ran-east pod du-site1/du-l1-2", "ran-east worker-0/ens1f0 vf2") in read.edges
    assert ("ran-east worker-0/ens1f0 vf2", "ran-east worker-0/ens1f0") in read.edges
    drops = {s.entity: float(np.nanmax(s.values)) for s in read.signals
             if s.name == "SR-IOV VF rx_drops_ps"}  # fmt: skip
    assert drops["ran-east worker-0/ens1f0 vf2"] == pytest.approx(50.0)
    assert drops["ran-east worker-0/ens1f0 vf1"] == 0.0


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_unreachable_hub_is_named_and_the_ranking_goes_on(core: Core) -> None:
    await _hub(core, "gone", "http://127.0.0.1:9")
    result = await core.rca.for_cluster("gone", ["gone"], core.now())
    assert result.unread and result.unread[0].startswith("gone: ")
    assert "not read (topology, logs, traces): gone: " in result.shown().window
