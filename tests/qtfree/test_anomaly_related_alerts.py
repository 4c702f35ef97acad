"""Each anomaly names its related alerts (PRODUCT.md section 5): the alerts of its cluster
firing while it went on, at its place; an INFO alert (OpenShift's Watchdog, always firing)
is related to nothing. (Named live and kept as the episode goes on: the live path's test in
test_anomaly_episodes_review.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AlertSeverity
from analysis.incidents import related_alerts

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
