"""A finding's identity: two pods firing the same alert in one namespace, or two interfaces
breaking the same rule, are two findings, each told when it turns CRITICAL and each kept
while its source is not read."""

from __future__ import annotations

from datetime import UTC, datetime

from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AlertSeverity, AnomalyMethod, AnomalySeverity, AnomalyType
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
    new_critical,
)
from aiops_desktop.services.fleet.findings import alert_findings, anomaly_findings, kept_stale

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


def freerun(iface: str) -> Anomaly:
    labels = {"node": "du-1", "iface": iface}
    return Anomaly(cluster="ran-a", metric="ptp_clock_state", labels=labels,
                   method=AnomalyMethod.DOMAIN_RULE, timestamp=AT, score=10, threshold=2.5,
                   severity=AnomalySeverity.CRITICAL, confidence=1,
                   type=AnomalyType.THRESHOLD_BREACH, actual=0,
                   explanation="PTP clock FREERUN, not LOCKED")  # fmt: skip


def not_ready(pod: str) -> Alert:
    return Alert(fingerprint=f"fp-{pod}", cluster="ran-a", name="KubePodNotReady",
                 severity=AlertSeverity.CRITICAL, labels={"namespace": "du-ran", "pod": pod},
                 annotations={"summary": f"Pod du-ran/{pod} has been in a non-ready state"},
                 starts_at=AT)  # fmt: skip


def truth(findings: list[Finding]) -> FleetTruth:
    return FleetTruth(AT, [ClusterTruth("ran-a", "ran-a", None, Health.CRITICAL, 50, 1.0,
                                        findings, {})])  # fmt: skip


def test_a_second_interface_in_freerun_is_news() -> None:
    one = anomaly_findings([freerun("ens1f0")])["ran-a"]
    two = anomaly_findings([freerun("ens1f0"), freerun("ens2f0")])["ran-a"]
    assert len(truth(two).critical()) == 2
    assert len(new_critical(truth(one), truth(two))) == 1
    assert len(new_critical(truth([]), truth(two))) == 2  # "(+1 more)", not "(+0 more)"


def test_a_second_pod_not_ready_is_news() -> None:
    one = alert_findings([not_ready("du-0")])
    two = alert_findings([not_ready("du-0"), not_ready("du-1")])
    assert len(truth(two).critical()) == 2
    said = "ran-a: KubePodNotReady (du-ran): Pod du-ran/du-1 has been in a non-ready state"
    assert new_critical(truth(one), truth(two)) == [said]


def test_a_finding_whose_source_was_not_read_is_kept_by_its_identity() -> None:
    before = alert_findings([not_ready("du-0"), not_ready("du-1")])
    now = alert_findings([not_ready("du-0")])  # du-1's alert not read this time
    kept = kept_stale(before, now, {Domain.ALERTS})
    assert [(f.key, f.stale) for f in kept] == [("fp-du-0", False), ("fp-du-1", True)]


def test_a_finding_without_a_key_is_known_by_its_subject() -> None:
    plain = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-1/gpu3", "XID 79")
    assert plain.identity == "gpu-1/gpu3"
