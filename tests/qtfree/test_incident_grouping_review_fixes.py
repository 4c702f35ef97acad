"""Grouping by what an alert or series is about, and the titles it gives: an aggregated alert
(TargetDown) keeps the target it names; the same alert on clusters of an ACM hub (each with
its own cluster id) is one incident; node-exporter's series and alerts under a ServiceMonitor
are about the node, not the exporter's pod; a title names as many clusters as its alert fires
on, and a crafted alert name cannot make it unbounded or put control characters in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.incidents import IncidentSignal
from aiops_desktop.services.intelligence.incidents import (
    alert_signals,
    anomaly_signals,
    finding_signals,
)
from analysis.incidents import (
    alert_labels,
    depends_on,
    entity_of,
    group,
    object_labels,
    place_of,
)
from collectors.alertmanager import parse_alert

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _alert(
    cluster: str,
    name: str,
    labels: dict[str, str],
    fp: str,
    *,
    severity: AlertSeverity = AlertSeverity.WARNING,
    at: datetime = T0,
) -> Alert:
    return Alert(fingerprint=fp, cluster=cluster, name=name, severity=severity,
                 labels={"alertname": name, "severity": severity.value.lower(), **labels},
                 annotations={"summary": name}, starts_at=at)  # fmt: skip


# -- 1: TargetDown, `count(up == 0) by (job, namespace, service)`: no instance ----------------
def _target_down(cluster: str, job: str, namespace: str, service: str, fp: str) -> Alert:
    return _alert(cluster, "TargetDown", {"job": job, "namespace": namespace, "service": service},
                  fp)  # fmt: skip


def test_an_aggregated_alert_keeps_the_target_it_names() -> None:
    """Without ``instance`` a label set was aggregated: its job, namespace and service are
    what it is about, not a scrape target's labels to drop; three exporters down on two
    clusters are three alerts, three incidents (not one "TargetDown on 2 clusters")."""
    alerts = {
        "ran-east": [_target_down("ran-east", "linuxptp-daemon-monitor", "openshift-ptp",
                                  "ptp-monitor-service", "f1")],
        "gpu-west": [_target_down("gpu-west", "nvidia-dcgm-exporter", "nvidia-gpu-operator",
                                  "nvidia-dcgm-exporter", "f2"),
                     _target_down("gpu-west", "sriov-network-metrics-exporter",
                                  "openshift-sriov-network-operator",
                                  "sriov-network-metrics-exporter-service", "f3")],
    }  # fmt: skip
    now = T0 + 10 * MINUTE
    signals = alert_signals(alerts, now)
    assert signals[0].alert_labels == {"job": "linuxptp-daemon-monitor",
                                       "namespace": "openshift-ptp",
                                       "service": "ptp-monitor-service"}  # fmt: skip
    incidents, _ = group([], signals, now)
    assert len(incidents) == 3, [i.title for i in incidents]
    assert all(len(i.clusters) == 1 for i in incidents)
    # the same target down on two clusters is still the same alert: one incident
    twice = {c: [_target_down(c, "node-exporter", "openshift-monitoring", "node-exporter", c)]
             for c in ("ran-east", "ran-west")}  # fmt: skip
    incidents, _ = group([], alert_signals(twice, now), now)
    assert [i.title for i in incidents] == ["TargetDown on 2 clusters (+1 signal)"]
    # a scraped series (with instance) still loses its target's labels
    assert object_labels({"instance": "10.0.0.1:9100", "job": "node-exporter",
                          "service": "node-exporter", "device": "sda"}) == {
        "device": "sda", "instance": "10.0.0.1:9100"}  # fmt: skip


# -- 2: the same alert on clusters of an ACM hub -----------------------------------------------
def test_the_same_alert_on_clusters_of_an_acm_hub_is_one_incident() -> None:
    """Alerts forwarded to an ACM hub carry ``managed_cluster`` (the cluster's id), hub-evaluated
    ones ``clusterID``; Thanos' and HA pairs' labels say which Prometheus raised it: none is
    what the alert is about, so the same alert on two clusters is one incident."""

    def burn(cluster: str, uuid: str, replica: str) -> Alert:
        return _alert(cluster, "KubeAPIErrorBudgetBurn",
                      {"cluster": cluster, "managed_cluster": uuid, "clusterID": uuid,
                       "cluster_id": uuid, "tenant_id": uuid, "prometheus_replica": replica,
                       "replica": replica, "prometheus": "openshift-monitoring/k8s",
                       "openshift_io_alert_source": "platform", "long": "1h", "short": "5m"},
                      uuid, severity=AlertSeverity.CRITICAL)  # fmt: skip

    now = T0 + MINUTE
    signals = alert_signals({"ran-east": [burn("ran-east", "7f3c0e1a-1111", "prometheus-k8s-0")],
                             "ran-west": [burn("ran-west", "9b2d4f5e-2222", "prometheus-k8s-1")]},
                            now)  # fmt: skip
    assert signals[0].alert_labels == {"openshift_io_alert_source": "platform", "long": "1h",
                                       "short": "5m"}  # fmt: skip
    incidents, _ = group([], signals, now)
    assert [(i.title, i.clusters) for i in incidents] == [
        ("KubeAPIErrorBudgetBurn on 2 clusters (+1 signal)", ["ran-east", "ran-west"])
    ]
    # what it is about still tells two alerts apart
    assert alert_labels({"alertname": "X", "managed_cluster": "u1", "pod": "a"}) != alert_labels(
        {"alertname": "X", "managed_cluster": "u2", "pod": "b"}
    )


# -- 3: node-exporter under a ServiceMonitor -------------------------------------------------
#: what kube-prometheus and OpenShift give every node-exporter series: the target's namespace,
#: pod, service, container and endpoint; instance relabelled to the node's name
NODE_EXPORTER = {"instance": "du-1", "job": "node-exporter", "namespace": "openshift-monitoring",
                 "pod": "node-exporter-7xk2p", "container": "kube-rbac-proxy",
                 "endpoint": "https", "service": "node-exporter"}  # fmt: skip


def test_node_exporter_series_and_alerts_are_about_the_node_not_the_exporter_pod() -> None:
    """A node_load1 anomaly and NodeFilesystemSpaceFillingUp on du-1, and an XID on du-1/gpu0
    at the same moment, share the node: one incident; RCA names the node, not the pod."""
    anomaly = Anomaly(cluster="ran-east", metric="node_load1", labels=NODE_EXPORTER,
                      method=AnomalyMethod.DOMAIN_RULE, timestamp=T0, started_at=T0, score=9,
                      threshold=2.5, severity=AnomalySeverity.CRITICAL, confidence=0.9,
                      type=AnomalyType.SPIKE, actual=99, explanation="load 99 (expected 2)",
                      open=True)  # fmt: skip
    now = T0 + MINUTE
    xid = Finding(Domain.GPU, FindingSeverity.CRITICAL, "du-1/gpu0",
                  "XID 79 GPU has fallen off the bus", since=T0)  # fmt: skip
    truth = FleetTruth(at=now, clusters=[ClusterTruth("ran-east", "ran-east", None, Health.OK,
                                                      None, None, [xid], {})])  # fmt: skip
    disk = _alert("ran-east", "NodeFilesystemSpaceFillingUp",
                  {"device": "/dev/sda4", "mountpoint": "/var", **NODE_EXPORTER}, "fp",
                  severity=AlertSeverity.CRITICAL, at=T0 + timedelta(seconds=30))  # fmt: skip
    series, alerts = anomaly_signals([anomaly], now), alert_signals({"ran-east": [disk]}, now)
    assert (series[0].topology, series[0].entity) == (["node:du-1"], "ran-east node du-1")
    assert (alerts[0].topology, alerts[0].entity) == (["node:du-1"], "ran-east node du-1")
    # the exporter's pod (a new name each restart) is not what the alert is about
    assert alerts[0].alert_labels == {"device": "/dev/sda4", "mountpoint": "/var",
                                      "instance": "du-1"}  # fmt: skip
    incidents, _ = group([], series + finding_signals(truth, now) + alerts, now)
    assert len(incidents) == 1, [i.title for i in incidents]
    assert depends_on("ran-east", NODE_EXPORTER) == []  # no exporter pod "on" the node
    # a port after the node's name is no part of it
    assert place_of("", {**NODE_EXPORTER, "instance": "du-1:9100"}) == ["node:du-1"]


def test_a_pod_the_series_is_about_stays_its_place() -> None:
    """The kubelet's (cAdvisor) series of a workload pod, an app's own series (its instance
    its pod's address) and a pod renamed by the exporter keep their pod."""
    cadvisor = {"instance": "10.0.0.5:10250", "job": "kubelet", "service": "kubelet",
                "endpoint": "https-metrics", "namespace": "ran-du", "pod": "du-l1-0",
                "container": "l1"}  # fmt: skip
    own = {"instance": "10.128.0.5:8080", "job": "du-l1", "service": "du-l1",
           "endpoint": "metrics", "namespace": "ran-du", "pod": "du-l1-0"}  # fmt: skip
    renamed = {**NODE_EXPORTER, "exported_namespace": "ran-du", "exported_pod": "du-l1-0"}
    for labels in (cadvisor, own, renamed):
        assert place_of("", labels) == ["ns:ran-du", "pod:ran-du/du-l1-0"], labels
    for labels in (cadvisor, own):
        assert entity_of("c1", labels) == "c1 pod ran-du/du-l1-0", labels


# -- 5: the title's cluster count --------------------------------------------------------------
def test_a_title_counts_only_the_clusters_its_alert_fires_on() -> None:
    """NodeClockNotSynchronising on ran-east and ran-west and a CRITICAL PtpClockFreerun on
    ran-east only: the title names PtpClockFreerun on ran-east, not "on 2 clusters"."""
    alerts = {
        "ran-east": [_alert("ran-east", "NodeClockNotSynchronising", {"node": "du-1"}, "a1"),
                     _alert("ran-east", "PtpClockFreerun", {"node": "du-1", "iface": "ens1f0"},
                            "a2", severity=AlertSeverity.CRITICAL, at=T0 + 2 * MINUTE)],
        "ran-west": [_alert("ran-west", "NodeClockNotSynchronising", {"node": "du-1"}, "b1",
                            at=T0 + MINUTE)],
    }  # fmt: skip
    now = T0 + 3 * MINUTE
    incidents, _ = group([], alert_signals(alerts, now), now)
    assert [i.title for i in incidents] == [
        "ran-east: PtpClockFreerun: PtpClockFreerun (+2 signals)"
    ]
    # the worst alert on both clusters: its count
    freerun = _alert("ran-west", "PtpClockFreerun", {"node": "du-1", "iface": "ens1f0"}, "b2",
                     severity=AlertSeverity.CRITICAL, at=T0 + 2 * MINUTE)  # fmt: skip
    alerts["ran-west"].append(freerun)
    incidents, _ = group([], alert_signals(alerts, now), now)
    assert [i.title for i in incidents] == ["PtpClockFreerun on 2 clusters (+3 signals)"]


# -- 7: a crafted alert name -------------------------------------------------------------------
def test_a_crafted_alert_name_makes_a_bounded_one_line_title() -> None:
    """An Alertmanager answer with a 200,000-character alert name full of control characters:
    the title is one printable line of at most 200 characters."""
    name = "Evil\x1b[2J\x1b[31m\r\nFAKE: all clear\x07" + "A" * 200_000
    item = {"fingerprint": "f1", "startsAt": "2026-01-05T12:00:00Z",
            "labels": {"alertname": name, "severity": "critical"},
            "annotations": {"summary": "x"}}  # fmt: skip
    now = T0 + MINUTE
    for clusters in (["ran-east"], ["ran-east", "ran-west"]):
        alerts = {c: [parse_alert(item, c)] for c in clusters}
        incidents, _ = group([], alert_signals(alerts, now), now)
        title = incidents[0].title
        assert len(title) <= 200, len(title)
        assert title.isprintable(), repr(title[:60])
        assert title.startswith("ran-east: Evil[2J[31m FAKE" if len(clusters) == 1
                                else "Evil[2J[31m FAKE"), repr(title[:60])  # fmt: skip
        assert title.endswith("on 2 clusters (+1 signal)" if len(clusters) == 2 else ": x")
    # a signal stored before names were cut where signals are made: its title is cut too
    for clusters in (["ran-east"], ["ran-east", "ran-west"]):
        stored = [IncidentSignal(key=f"alert|{c}|f1", source="alert", cluster=c, subject=name,
                                 severity=FindingSeverity.CRITICAL, reason="x" * 100_000,
                                 first_seen=T0, last_seen=now, alert_name=name)
                  for c in clusters]  # fmt: skip
        incidents, _ = group([], stored, now)
        title = incidents[0].title
        assert len(title) <= 200 and title.isprintable(), (len(title), repr(title[:60]))
        assert title.startswith("ran-east: Evil[2J[31m FAKE" if len(clusters) == 1
                                else "Evil[2J[31m FAKE"), repr(title[:60])  # fmt: skip
        assert title.endswith("on 2 clusters (+1 signal)" if len(clusters) == 2 else "x…")
