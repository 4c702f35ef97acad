"""Grouping alerts for people: by cluster, namespace or alert name.

Grouped by alert name, the same alert firing on many clusters is one row with a count: one
incident, not a wall of duplicates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aiops_desktop.models import Alert, AlertSeverity

_RANK = {AlertSeverity.CRITICAL: 0, AlertSeverity.WARNING: 1, AlertSeverity.INFO: 2}


class GroupBy(StrEnum):
    CLUSTER = "cluster"
    NAMESPACE = "namespace"
    ALERTNAME = "alertname"


@dataclass
class AlertGroup:
    key: str
    alerts: list[Alert]

    @property
    def severity(self) -> AlertSeverity:
        return min((a.severity for a in self.alerts), key=_RANK.__getitem__)

    @property
    def clusters(self) -> list[str]:
        return sorted({a.cluster for a in self.alerts})

    @property
    def namespaces(self) -> list[str]:
        return sorted({a.namespace for a in self.alerts if a.namespace})

    @property
    def names(self) -> list[str]:
        return sorted({a.name for a in self.alerts})

    @property
    def since(self) -> datetime:
        return min(a.starts_at for a in self.alerts)

    @property
    def summary(self) -> str:
        return self.alerts[0].summary


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
    groups.sort(key=lambda g: (_RANK[g.severity], -len(g.clusters), g.since))
    return groups
