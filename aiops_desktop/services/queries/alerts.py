"""Grouping alerts for people: by cluster, namespace or alert name; and whether what is shown
is known (every Alertmanager read recently) or only what was last read.

Grouped by alert name, the same alert firing on many clusters is one row with a count: one
incident, not a wall of duplicates.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiops_desktop.models import Cluster, EndpointKind, utcnow
from aiops_desktop.models.alerts import SEVERITY_RANK, Alert, AlertGroup
from aiops_desktop.models.enums import GroupBy
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.text import age_text


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


@dataclass
class AlertReads:
    """Whether the alerts shown are what fires now: how many Alertmanagers there are, those
    not read recently (and why), and how old each one's answer is. "Nothing firing" is only
    true when every Alertmanager was read recently; alerts whose Alertmanager stopped
    answering may have ended since (they are shown, badged with their age)."""

    managers: int
    #: "cluster: why", one per Alertmanager failing, stale or never read
    unread: list[str] = field(default_factory=list)
    #: name alerts are filed under (a cluster, or a hub's member) -> its Alertmanager
    filed_under: dict[str, str] = field(default_factory=dict)
    #: Alertmanager (its cluster) -> seconds since it last answered (None: never)
    ages: dict[str, float | None] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)  # Alertmanagers failing or stale
    #: Alertmanager -> when it last answered (None: never)
    last_success: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every Alertmanager there is was read recently (and there is one)."""
        return self.managers > 0 and not self.unread

    def freshness(self, clusters: Iterable[str]) -> tuple[float | None, bool]:
        """A group's age (its oldest Alertmanager answer; None where one is not known) and
        whether any of its Alertmanagers is failing or stale."""
        managers = {self.filed_under.get(c, c) for c in clusters}
        ages = [self.ages.get(m) for m in managers]
        age = None if not ages or None in ages else max(a for a in ages if a is not None)
        return age, bool(managers & self.lost)

    def lost_since(self, clusters: Iterable[str]) -> datetime | None:
        """When the first of a group's failing or stale Alertmanagers last answered (None:
        none is lost, or none ever answered)."""
        lost = {self.filed_under.get(c, c) for c in clusters} & self.lost
        return min((t for m in lost if (t := self.last_success.get(m)) is not None), default=None)


class AlertClusters(Protocol):
    """Which clusters have an Alertmanager, and the hub a member's alerts come through (the
    registry, or the registry's presenter)."""

    def clusters(self) -> list[Cluster]: ...
    def hub_of(self, name: str) -> Cluster | None: ...


def fleet_alert_reads(
    clusters: AlertClusters,
    statuses: Mapping[tuple[str, str], SourceStatus],
    filed: Iterable[str],
    now: datetime | None = None,
) -> AlertReads:
    """The reads of every registered Alertmanager, as the poller keeps its ``statuses``
    (copied: a snapshot); ``filed``: the names the poller's alerts are filed under (a hub's
    member's alerts are its hub's Alertmanager's to vouch for). The Alerts page and the wall
    both judge alerts by it."""
    managers = {c.name: copy.copy(statuses.get((c.name, Source.ALERTS)))
                for c in clusters.clusters() if c.endpoint(EndpointKind.ALERTMANAGER)}  # fmt: skip
    filed_under = {}
    for name in filed:
        hub = clusters.hub_of(name) if name not in managers else None
        if hub is not None:
            filed_under[name] = hub.name
    return alert_reads(managers, filed_under, now)


def alert_reads(
    statuses: Mapping[str, SourceStatus | None],
    filed_under: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> AlertReads:
    """``statuses``: each Alertmanager (its cluster's name) -> the poller's status of its
    alerts source (None: not polled yet); ``filed_under``: a hub member's name -> its hub
    (a hub's alerts are filed under its members)."""
    now = now or utcnow()
    reads = AlertReads(len(statuses), filed_under=dict(filed_under or {}))
    for name, status in sorted(statuses.items()):
        reads.ages[name] = status.age_s(now) if status is not None else None
        reads.last_success[name] = status.last_success if status is not None else None
        if status is None or status.last_success is None:
            why = (status.last_error if status is not None else None) or "not read yet"
            reads.unread.append(f"{name}: {why} (never read)")
            reads.lost.add(name)
        elif not status.answered or status.stale(now):
            why = status.last_error or "no answer"
            reads.unread.append(f"{name}: {why} (last read {age_text(status.age_s(now))})")
            reads.lost.add(name)
    return reads
