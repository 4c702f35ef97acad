"""Incident grouping, found in review: a workload's alert is about its workload, not its
namespace (two workloads of one namespace are two incidents, and a namespace alone is no
"thing" that joins a days-old incident); kube-state-metrics scraped without ``instance``
(OpenShift) names the exporter's Service, no place; a cluster gone dark holds an incident open
only where its last read may still have shown a signal of it; an operator's own alert on
three clusters is one alert whatever its pod's hashes; one incident of 20,000 signals groups
in seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence.incidents import alert_signals
from analysis.incidents import acknowledge, alert_labels, group, place_of

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def _alert(cluster: str, name: str, labels: dict[str, str], at: datetime, *,
           severity: AlertSeverity = AlertSeverity.WARNING) -> Alert:  # fmt: skip
    return Alert(fingerprint=f"{cluster}|{name}|{sorted(labels.items())}", cluster=cluster,
                 name=name, severity=severity,
                 labels={"alertname": name, "severity": severity.value.lower(), **labels},
                 annotations={"summary": f"{name} fires"}, starts_at=at)  # fmt: skip


def _firing_for_days(alert: Alert, since: datetime, until: datetime) -> list[Incident]:
    """``alert``'s incident, acknowledged, refreshed every half hour from ``since`` to
    ``until`` while it fires."""
    at = since
    incidents, _ = group([], alert_signals({alert.cluster: [alert]}, at), at)
    incidents = [acknowledge(incidents[0], at + 5 * MINUTE)]
    while at < until:
        at = min(at + 30 * MINUTE, until)
        incidents, _ = group(incidents, alert_signals({alert.cluster: [alert]}, at), at)
    return incidents


# -- 1: a workload's alert is about its workload, and a namespace is no thing -----------------
#: kube-prometheus' kube-state-metrics keeps its own instance
KSM = {"instance": "10.128.2.5:8443", "job": "kube-state-metrics"}


def test_two_workload_alerts_of_one_namespace_are_two_incidents() -> None:
    """KubeDeploymentReplicasMismatch of fraud-scorer has fired (acknowledged) for three
    days; KubeStatefulSetReplicasMismatch of ledger-db in the same namespace begins now: a new
    problem of another workload, an incident of its own, OPEN (it was added to the days-old
    acknowledged one, unseen: both were placed at "ns:payments" only, the same "thing")."""
    old = _alert(
        "c1",
        "KubeDeploymentReplicasMismatch",
        {**KSM, "namespace": "payments", "deployment": "fraud-scorer"},
        T0 - 3 * DAY,
    )
    new = _alert(
        "c1",
        "KubeStatefulSetReplicasMismatch",
        {**KSM, "namespace": "payments", "statefulset": "ledger-db"},
        T0 - MINUTE,
    )
    assert place_of("", old.labels) == ["ns:payments", "obj:payments/deployment/fraud-scorer"]
    assert place_of("", new.labels) == ["ns:payments", "obj:payments/statefulset/ledger-db"]
    assert "obj:openshift-backup/job/etcd-backup-1" in place_of(
        "", {"namespace": "openshift-backup", "job_name": "etcd-backup-1"})  # fmt: skip
    incidents = _firing_for_days(old, T0 - 3 * DAY + MINUTE, T0 - MINUTE)
    incidents, _ = group(incidents, alert_signals({"c1": [old, new]}, T0), T0)
    assert sorted((i.state, [s.subject for s in i.signals]) for i in incidents) == [
        (IncidentStatus.ACKNOWLEDGED, ["KubeDeploymentReplicasMismatch"]),
        (IncidentStatus.OPEN, ["KubeStatefulSetReplicasMismatch"]),
    ]
    # the same workload's two alerts are still one thing, however long the first has fired
    stuck = _alert(
        "c1",
        "KubeDeploymentRolloutStuck",
        {**KSM, "namespace": "payments", "deployment": "fraud-scorer"},
        T0 - MINUTE,
    )
    incidents = _firing_for_days(old, T0 - 3 * DAY + MINUTE, T0 - MINUTE)
    incidents, _ = group(incidents, alert_signals({"c1": [old, stuck]}, T0), T0)
    assert [sorted(s.subject for s in i.signals) for i in incidents] == [
        ["KubeDeploymentReplicasMismatch", "KubeDeploymentRolloutStuck"]]  # fmt: skip


def test_a_namespace_alone_joins_only_an_incident_of_the_moment() -> None:
    """Two alerts placed at a namespace only (aggregated by namespace): the second, three days
    after the first began, is a problem of its own; begun within GROUP_WINDOW of it, one."""
    quota = _alert("c1", "KubeQuotaExceeded", {"namespace": "payments"}, T0 - 3 * DAY)
    pods = _alert("c1", "NamespacePodsPending", {"namespace": "payments"}, T0 - MINUTE)
    assert place_of("", pods.labels) == ["ns:payments"]
    incidents = _firing_for_days(quota, T0 - 3 * DAY + MINUTE, T0 - MINUTE)
    incidents, _ = group(incidents, alert_signals({"c1": [quota, pods]}, T0), T0)
    assert len(incidents) == 2, [i.title for i in incidents]
    together = _alert("c1", "KubeQuotaExceeded", {"namespace": "payments"}, T0 - 3 * MINUTE)
    incidents, _ = group([], alert_signals({"c1": [together, pods]}, T0), T0)
    assert len(incidents) == 1


# -- 2: kube-state-metrics scraped without instance (OpenShift) --------------------------------
#: OpenShift's kube-state-metrics ServiceMonitor drops ``instance`` (and the exporter's pod):
#: its job, service, endpoint and container are the exporter's
OPENSHIFT_KSM = {"job": "kube-state-metrics", "service": "kube-state-metrics",
                 "endpoint": "https-main", "container": "kube-rbac-proxy-main",
                 "prometheus": "openshift-monitoring/k8s"}  # fmt: skip


def test_kube_state_metrics_without_instance_is_no_shared_place() -> None:
    """KubeJobFailed in openshift-backup has fired for three days; a stuck router rollout and
    a crash-looping DNS pod begin now: three unrelated problems, three incidents (each was
    placed at "svc:kube-state-metrics": one incident that never ended)."""
    job = _alert("c1", "KubeJobFailed", {**OPENSHIFT_KSM, "namespace": "openshift-backup",
                                         "job_name": "etcd-backup-123", "condition": "true"},
                 T0 - 3 * DAY)  # fmt: skip
    rollout = _alert(
        "c1",
        "KubeDeploymentRolloutStuck",
        {
            **OPENSHIFT_KSM,
            "namespace": "openshift-ingress",
            "deployment": "router-default",
            "condition": "Progressing",
        },
        T0 - 2 * MINUTE,
    )
    crash = _alert(
        "c1",
        "KubePodCrashLooping",
        {
            **OPENSHIFT_KSM,
            "namespace": "openshift-dns",
            "pod": "dns-default-x7k2p",
            "container": "dns",
            "reason": "CrashLoopBackOff",
        },
        T0 - MINUTE,
    )
    assert place_of("", rollout.labels) == [
        "ns:openshift-ingress",
        "obj:openshift-ingress/deployment/router-default",
    ]
    assert not any(t.startswith("svc:") for a in (job, crash) for t in place_of("", a.labels))
    incidents = _firing_for_days(job, T0 - 3 * DAY + MINUTE, T0 - MINUTE)
    incidents, _ = group(incidents, alert_signals({"c1": [job, rollout, crash]}, T0), T0)
    assert sorted([s.subject for s in i.signals] for i in incidents) == [
        ["KubeDeploymentRolloutStuck"], ["KubeJobFailed"], ["KubePodCrashLooping"]]  # fmt: skip
    # a span's service (not scraped: no job, no endpoint) is still a place
    assert place_of("", {"service": "checkout"}) == ["svc:checkout"]


def test_one_mismatch_on_three_clusters_and_another_apart_without_instance() -> None:
    """The same router-default mismatch on three clusters is one incident; dns-default's on
    one of them, at the same moment, another (all four were one)."""

    def mismatch(cluster: str, namespace: str, deployment: str, n: int) -> Alert:
        return _alert(cluster, "KubeDeploymentReplicasMismatch",
                      {**OPENSHIFT_KSM, "cluster": cluster, "namespace": namespace,
                       "deployment": deployment}, T0 + n * MINUTE)  # fmt: skip

    firing = {c: [mismatch(c, "openshift-ingress", "router-default", n)]
              for n, c in enumerate(("east", "west", "north"))}  # fmt: skip
    firing["west"].append(mismatch("west", "openshift-dns", "dns-default", 3))
    now = T0 + 4 * MINUTE
    incidents, _ = group([], alert_signals(firing, now), now)
    assert sorted(sorted(s.cluster for s in i.signals) for i in incidents) == [
        ["east", "north", "west"], ["west"]]  # fmt: skip


# -- 3: a cluster gone dark after its signals ended -------------------------------------------
def _ptp(cluster: str) -> Alert:
    return _alert(
        cluster,
        "PtpClockUnlocked",
        {"node": "du-1", "iface": "ens1f0"},
        T0,
        severity=AlertSeverity.CRITICAL,
    )


def test_a_cluster_dark_after_its_signals_ended_does_not_hold_the_incident() -> None:
    """The alert clears at 12:06 while edge-1 is read; edge-1 is last read at 12:07:50 and is
    dark for two days: its signal had ended when it was last read, so the incident resolves
    (it was held open for as long as edge-1 stayed dark)."""
    firing = {"edge-1": [_ptp("edge-1")]}
    incidents, _ = group([], alert_signals(firing, T0), T0)
    incidents, _ = group(incidents, alert_signals(firing, T0 + 5 * MINUTE), T0 + 5 * MINUTE)
    incidents, _ = group(incidents, [], T0 + 6 * MINUTE)  # read, and no alert
    last_read = {"edge-1": T0 + 7 * MINUTE + timedelta(seconds=50)}
    for later in (timedelta(minutes=23), 2 * DAY):
        [done], _ = group(incidents, [], T0 + later, unread={"edge-1"}, last_read=last_read)
        assert done.state is IncidentStatus.RESOLVED and done.unread == [], later


def test_a_cluster_dark_while_its_signal_fired_or_unknown_still_holds() -> None:
    """Seen at edge-1's last read (grouped after it), the signal is unseen, not ended: held;
    with edge-1's last read unknown (not read since a restart), held too."""
    firing = {"edge-1": [_ptp("edge-1")]}
    incidents, _ = group([], alert_signals(firing, T0), T0)
    at = T0 + 8 * MINUTE
    incidents, _ = group(incidents, alert_signals(firing, at), at)  # after the 12:07:50 read
    last_read = {"edge-1": T0 + 7 * MINUTE + timedelta(seconds=50)}
    [held], _ = group(incidents, [], T0 + 2 * DAY, unread={"edge-1"}, last_read=last_read)
    assert held.state is IncidentStatus.OPEN and held.unread == ["edge-1"]
    [held], _ = group(incidents, [], T0 + 2 * DAY, unread={"edge-1"})
    assert held.state is IncidentStatus.OPEN and held.unread == ["edge-1"]
    # another cluster, read when its own signal had ended, does not hold it beside edge-1
    both = {"edge-1": [_ptp("edge-1")], "edge-2": [_ptp("edge-2")]}
    incidents, _ = group([], alert_signals(both, T0), T0)
    incidents, _ = group(incidents, alert_signals({"edge-1": [_ptp("edge-1")]}, at), at)
    [held], _ = group(incidents, [], T0 + 2 * DAY, unread={"edge-1", "edge-2"},
                      last_read={"edge-2": T0 + 7 * MINUTE})  # fmt: skip
    assert held.state is IncidentStatus.OPEN and held.unread == ["edge-1"]


# -- 4: an operator's own alert on three clusters --------------------------------------------
def _operator(cluster: str, pod: str, ip: str) -> Alert:
    return _alert(cluster, "ClusterMonitoringOperatorReconciliationErrors",
                  {"container": "kube-rbac-proxy", "endpoint": "https", "instance": f"{ip}:8443",
                   "job": "cluster-monitoring-operator", "namespace": "openshift-monitoring",
                   "pod": pod, "service": "cluster-monitoring-operator",
                   "prometheus": "openshift-monitoring/k8s"}, T0 - 3 * MINUTE)  # fmt: skip


def test_an_operator_s_own_alert_on_three_clusters_is_one_incident() -> None:
    """Its series are scraped from its own pod (instance: the pod's IP), named
    "<deployment>-<ReplicaSet hash>-<random>", different on each cluster: the alert is about
    the operator's workload, one alert on three clusters (it was three incidents)."""
    alerts = {
        "ran-east": [_operator("ran-east", "cluster-monitoring-operator-6c9f8b7d4-x2kq9",
                               "10.128.0.31")],
        "ran-west": [_operator("ran-west", "cluster-monitoring-operator-6c9f8b7d4-p8vzt",
                               "10.129.0.17")],
        "core-1": [_operator("core-1", "cluster-monitoring-operator-7d5b9c6f8b-m4hjd",
                             "10.130.0.9")],
    }  # fmt: skip
    assert alert_labels(alerts["core-1"][0].labels) == {
        "namespace": "openshift-monitoring", "pod": "cluster-monitoring-operator"}  # fmt: skip
    incidents, _ = group([], alert_signals(alerts, T0), T0)
    assert [i.title for i in incidents] == [
        "ClusterMonitoringOperatorReconciliationErrors on 3 clusters (+2 signals)"]  # fmt: skip
    # each still at its own pod on its cluster
    assert "pod:openshift-monitoring/cluster-monitoring-operator-6c9f8b7d4-x2kq9" in (
        incidents[0].signals[0].topology + incidents[0].signals[1].topology
        + incidents[0].signals[2].topology)  # fmt: skip
    # a DaemonSet's pod "<name>-<random>" alike; a StatefulSet's ordinal is kept
    daemon = {
        **alerts["core-1"][0].labels,
        "job": "sriov-network-config-daemon",
        "service": "sriov-network-config-daemon",
        "pod": "sriov-network-config-daemon-q7x2v",
    }
    assert alert_labels(daemon)["pod"] == "sriov-network-config-daemon"
    ordinal = {
        **daemon,
        "job": "alertmanager-main",
        "service": "alertmanager-main",
        "pod": "alertmanager-main-0",
    }
    assert alert_labels(ordinal)["pod"] == "alertmanager-main-0"
    # a pod the series is about, not the target's own (the kubelet's), is named by its
    # workload too: the same alert of one workload's pods on several clusters (a bad rollout
    # fleet-wide) is one alert; its signal keeps the pod as its place (``place_of``)
    kubelet = {
        "instance": "10.0.0.5:10250",
        "job": "kubelet",
        "service": "kubelet",
        "endpoint": "https-metrics",
        "namespace": "ran-du",
        "pod": "du-l1-6c9f8b7d4-x2kq9",
    }
    assert alert_labels(kubelet)["pod"] == "du-l1"
    assert "pod:ran-du/du-l1-6c9f8b7d4-x2kq9" in place_of("", kubelet)


# -- 5: one incident of many signals ---------------------------------------------------------
def test_one_incident_of_twenty_thousand_signals_groups_in_seconds() -> None:
    """A storm on one node: 20,000 signals of one incident (each compared with every signal
    of it for when it was last seen and when its newest began: 41 s)."""

    def signal(n: int) -> IncidentSignal:
        return IncidentSignal(
            key=f"alert|c1|{n}", source="alert", cluster="c1", subject="KubePodNotReady",
            severity=FindingSeverity.WARNING, reason="not ready",
            first_seen=T0 - timedelta(seconds=n % 600), last_seen=T0,
            topology=["node:w1", f"pod:ns/p{n}", "ns:ns"], alert_name="KubePodNotReady",
            alert_labels={"pod": f"p{n}", "namespace": "ns", "node": "w1"})  # fmt: skip

    signals = [signal(n) for n in range(20_000)]
    began = time.perf_counter()
    incidents, _ = group([], signals, T0)
    took = time.perf_counter() - began
    assert [len(i.signals) for i in incidents] == [20_000]
    assert took < 5, f"{took:.1f} s"
