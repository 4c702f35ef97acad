"""Grouping alerts for people: by cluster, namespace or alert name.

Grouped by alert name, the same alert firing on many clusters is one row with a count: one
incident, not a wall of duplicates.
"""

from __future__ import annotations

from collections import defaultdict

from aiops_desktop.models.alerts import SEVERITY_RANK, Alert, AlertGroup
from aiops_desktop.models.enums import GroupBy


def group_alerts(alerts: list[Alert], by: GroupBy = GroupBy.ALERTNAME) -> list[AlertGroup]:
    """Groups, worst severity first, then the most clusters, then the oldest."""
    buckets: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        if by is GroupBy.CLUSTER:
            key = alert.cluster
        elif by is GroupBy.NAMESPACE:
            key = alert.namespace or "(cluster-wide)"
        else:
            key = alert.name
        buckets[key].append(alert)
    groups = [AlertGroup(k, v) for k, v in buckets.items()]
    groups.sort(key=lambda g: (SEVERITY_RANK[g.severity], -len(g.clusters), g.since))
    return groups
