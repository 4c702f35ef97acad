"""Health scoring and the cluster state machine (docs/architecture.md#rules).

Score starts at 100: API server down -50, Prometheus -20, Tempo -15, Loki -15 (only endpoints
the cluster has count). UNKNOWN becomes ONLINE/OFFLINE on the first check; a partial failure is
DEGRADED; an unreachable API server is OFFLINE. Connectivity looks at recent checks: all
reachable CONNECTED, none DISCONNECTED, a mix INTERMITTENT. Reachable is "answered": an
endpoint that answered but is down (its credential refused, a redirect, another 4xx) is down for
the score and reachable for state and connectivity (an expired token is not OFFLINE).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

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


def reachable(
    results: Mapping[EndpointKind, bool], answered: Collection[EndpointKind] = ()
) -> bool:
    """The cluster answers at all: its API server, or (without one) any endpoint; up, or
    down but ``answered`` (it said 401, 403, a redirect, another 4xx: it is there; a 5xx, as a
    gateway answers for a cluster gone, or "not ready" is not)."""
    if EndpointKind.API_SERVER in results:
        return results[EndpointKind.API_SERVER] or EndpointKind.API_SERVER in answered
    return any(results.values()) or any(kind in results for kind in answered)


def next_state(
    previous: ClusterState,
    results: Mapping[EndpointKind, bool],
    answered: Collection[EndpointKind] = (),
) -> ClusterState:
    if not results:
        return previous
    if not reachable(results, answered):
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
