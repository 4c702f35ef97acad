"""Health scoring and the cluster state machine (docs/architecture.md#rules).

Score starts at 100: API server down -50, Prometheus -20, Tempo -15, Loki -15 (only endpoints
the cluster has count). UNKNOWN becomes ONLINE/OFFLINE on the first check; a partial failure is
DEGRADED; an unreachable API server is OFFLINE. Connectivity looks at recent checks: all
reachable CONNECTED, none DISCONNECTED, a mix INTERMITTENT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiops_desktop.models import (
    HEALTH_PENALTY,
    ClusterState,
    Connectivity,
    EndpointKind,
)

CONNECTIVITY_WINDOW = 5


def health_score(results: Mapping[EndpointKind, bool]) -> int:
    penalty = sum(HEALTH_PENALTY.get(kind, 0) for kind, up in results.items() if not up)
    return max(0, 100 - penalty)


def reachable(results: Mapping[EndpointKind, bool]) -> bool:
    """The cluster answers at all: its API server, or (without one) any endpoint."""
    if EndpointKind.API_SERVER in results:
        return results[EndpointKind.API_SERVER]
    return any(results.values())


def next_state(previous: ClusterState, results: Mapping[EndpointKind, bool]) -> ClusterState:
    if not results:
        return previous
    if not reachable(results):
        return ClusterState.OFFLINE
    if all(results.values()):
        return ClusterState.ONLINE
    return ClusterState.DEGRADED


def connectivity(recent_reachable: Sequence[bool]) -> Connectivity:
    window = list(recent_reachable)[-CONNECTIVITY_WINDOW:]
    if window and all(window):
        return Connectivity.CONNECTED
    if not any(window):
        return Connectivity.DISCONNECTED
    return Connectivity.INTERMITTENT
