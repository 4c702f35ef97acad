"""A panel's live version after its cluster is dropped: nothing is kept of it (every short-
lived hub member left an entry a panel for as long as the app ran), and one added again
under that name never reads a version a chart drew before."""

from __future__ import annotations

import numpy as np

from aiops_desktop.services.polling.live import LiveBuffers

PANELS = [f"panel-{i}" for i in range(18)]


def fill(live: LiveBuffers, cluster: str, at: float) -> None:
    for panel in PANELS:
        live.append(cluster, panel, {"pod": "a"}, np.array([at]), np.array([1.0]))


def test_a_dropped_cluster_leaves_no_panel_versions_behind() -> None:
    live = LiveBuffers()
    for member in range(50):  # short-lived members, each forgotten after MEMBER_KEPT
        fill(live, f"ci-{member:03d}", 1.0)
        live.drop_cluster(f"ci-{member:03d}")
    assert live.clusters() == [] and live._versions == {}


def test_a_panel_version_never_comes_back_after_a_drop_and_a_new_start() -> None:
    """A chart redraws when the version it drew differs: a cluster dropped and added again
    must not read a version it had before (its new data left undrawn)."""
    live = LiveBuffers()
    fill(live, "east-1", 1.0)
    drawn = {live.panel_version("east-1", "panel-0")}
    other = live.panel_version("east-1", "panel-1")
    live.append("east-1", "panel-0", {"pod": "b"}, np.array([2.0]), np.array([1.0]))
    drawn.add(live.panel_version("east-1", "panel-0"))
    live.drop_cluster("east-1")
    assert live.panel_version("east-1", "panel-0") not in drawn  # dropped: redrawn empty
    live.append("east-1", "panel-0", {"pod": "a"}, np.array([5.0]), np.array([1.0]))
    again = live.panel_version("east-1", "panel-0")
    assert again not in drawn and again > max(drawn)
    assert live.panel_version("east-1", "panel-1") != other  # not added again: empty
    live.append("east-1", "panel-0", {"pod": "a"}, np.array([6.0]), np.array([1.0]))
    assert live.panel_version("east-1", "panel-0") > again
