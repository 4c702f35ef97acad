"""Each anomaly names its related alerts (PRODUCT.md section 5): the alerts of its cluster
firing while it went on, at its place; an INFO alert (OpenShift's Watchdog, always firing)
is related to nothing. (Named live and kept as the episode goes on: the live path's test in
test_anomaly_episodes_review.py.)"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from aiops_desktop.models.alerts import SEVERITY_RANK as ALERT_RANK
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import RELATED_KEPT, Anomaly
from aiops_desktop.models.enums import AlertSeverity
from analysis.incidents import (
    RELATED_WITHIN,
    RelatedAlerts,
    _same_place,
    place_of,
    related_alerts,
)

AT = datetime(2026, 12, 6, 12, tzinfo=UTC)


def anomaly(labels: dict[str, str], *, cluster: str = "east") -> Anomaly:
    return Anomaly(cluster=cluster, metric="node_cpu", labels=labels, method="MAD",
                   timestamp=AT, started_at=AT - timedelta(minutes=10), last_at=AT,
                   score=9.0, threshold=2.5, severity="HIGH", confidence=0.9, type="SPIKE",
                   actual=97.0, explanation="CPU at 97 %")  # fmt: skip


def alert(name: str, labels: dict[str, str], *, starts: datetime = AT,
          severity: AlertSeverity = AlertSeverity.WARNING, cluster: str = "east",
          ends: datetime | None = None) -> Alert:  # fmt: skip
    return Alert(fingerprint=name + str(sorted(labels.items())), cluster=cluster, name=name,
                 severity=severity, labels=labels, starts_at=starts, ends_at=ends)  # fmt: skip


def test_an_alert_firing_with_it_at_its_place_is_related() -> None:
    node = {"instance": "worker-1:9100"}
    found = anomaly(node)
    alerts = [
        alert("NodeHighCpu", {"instance": "worker-1:9100"}),
        alert("NodeDown", {"instance": "worker-1:9100"}, severity=AlertSeverity.CRITICAL),
        alert("Watchdog", {}, severity=AlertSeverity.INFO),  # always firing: never related
        alert("NodeHighCpu", {"instance": "worker-2:9100"}),  # another node
        alert("DiskFull", {"instance": "worker-1:9100"}, starts=AT + timedelta(hours=1)),
        alert(
            "Flapped",
            {"instance": "worker-1:9100"},
            starts=AT - timedelta(hours=2),
            ends=AT - timedelta(hours=1),
        ),  # over before it began
        alert("NodeHighCpu", {"instance": "worker-1:9100"}, cluster="west"),
        alert("Late", {"instance": "worker-1:9100"}, starts=AT + timedelta(minutes=4)),
    ]
    assert related_alerts(found, alerts) == ["NodeDown", "Late", "NodeHighCpu"]
    # a cluster-wide series and a cluster-wide alert are one place; a node's alert is not it
    wide = anomaly({})
    assert related_alerts(wide, [alert("KubeAPIErrorsHigh", {}), *alerts[:1]]) == [
        "KubeAPIErrorsHigh"
    ]


def _one_by_one(found: Anomaly, alerts: list[Alert]) -> list[str]:
    """The rule itself, each alert against the anomaly (what ``RelatedAlerts`` narrows)."""
    start = (found.started_at or found.timestamp) - RELATED_WITHIN
    end = (found.last_at or found.timestamp) + RELATED_WITHIN
    mine = place_of("", found.labels)
    named: dict[str, int] = {}
    for a in alerts:
        if a.severity is AlertSeverity.INFO or a.cluster != found.cluster:
            continue
        if a.starts_at > end or (a.ends_at is not None and a.ends_at < start):
            continue
        theirs = place_of("", a.labels)
        if not (_same_place(mine, theirs) if mine or theirs else True):
            continue
        rank = ALERT_RANK[a.severity]
        named[a.name] = min(rank, named.get(a.name, rank))
    return sorted(named, key=lambda n: (named[n], n))[:RELATED_KEPT]


def test_alerts_placed_once_relate_as_one_by_one() -> None:
    """Grouped by place and time (each alert placed once for many anomalies), alerts relate
    to each anomaly exactly as the rule does one by one: a node's, a pod's, a device's, a
    namespace's (to a narrower one only where one side is the namespace), a cluster-wide's."""
    rng = random.Random(7)
    places: list[dict[str, str]] = [
        {},
        {"namespace": "ran"},
        {"namespace": "core"},
        {"instance": "worker-1:9100"},
        {"instance": "worker-2:9100"},
        {"node": "worker-1"},
        {"Hostname": "worker-1", "gpu": "0"},
        {"Hostname": "worker-1", "gpu": "1"},
        {"node": "worker-2", "iface": "ens1f0"},
        {"namespace": "ran", "pod": "du-0", "instance": "10.0.0.5:8080"},
        {"namespace": "ran", "pod": "du-1", "instance": "10.0.0.6:8080"},
        {"namespace": "core", "pod": "amf-0"},
        {"service": "checkout"},
    ]
    severities = [AlertSeverity.CRITICAL, AlertSeverity.WARNING, AlertSeverity.INFO]
    alerts = [
        alert(f"A{rng.randrange(12)}", rng.choice(places), severity=rng.choice(severities),
              cluster=rng.choice(["east", "east", "west"]),
              starts=AT + timedelta(minutes=rng.randrange(-120, 60)),
              ends=rng.choice([None, AT + timedelta(minutes=rng.randrange(-60, 60))]))
        for _ in range(400)
    ]  # fmt: skip
    found = []
    for i in range(150):
        a = anomaly(rng.choice(places), cluster=rng.choice(["east", "west"]))
        shift = timedelta(minutes=rng.randrange(-90, 90))
        found.append(
            a.model_copy(
                update={
                    "timestamp": AT + shift,
                    "last_at": AT + shift,
                    "started_at": AT + shift - timedelta(minutes=i % 20),
                }
            )
        )
    related = RelatedAlerts(alerts)
    got = [related.of(a) for a in found]
    assert got == [_one_by_one(a, alerts) for a in found]
    assert sum(map(bool, got)) > 50 and any(len(g) > 3 for g in got)  # a test of something
    assert [related_alerts(a, alerts) for a in found[:20]] == got[:20]
