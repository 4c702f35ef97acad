"""Incidents tell the truth at their edges: an always-firing INFO alert (OpenShift's Watchdog)
neither joins nor holds open an incident; an acknowledgement does not silence a worse signal
the app first saw after it; "the same alert" is its name and what it is about, not its name
alone; the CLI's timeline never hides the worst signal."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from aiops_desktop.cli import incidents as cli
from aiops_desktop.cli.args import Io, Printable
from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence.incidents import alert_signals, finding_signals
from analysis.incidents import RESOLVE_AFTER, acknowledge, group

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _truth(at: datetime, findings: list[Finding]) -> FleetTruth:
    return FleetTruth(at=at, clusters=[ClusterTruth("ran-east", "ran-east", None, Health.DEGRADED,
                                                    90, 0.0, findings, {})])  # fmt: skip


# -- 1: an always-firing INFO alert ------------------------------------------------------------
WATCHDOG = Alert(
    fingerprint="wd", cluster="ran-east", name="Watchdog", severity=AlertSeverity.INFO,
    starts_at=T0 - timedelta(days=30),
    labels={"alertname": "Watchdog", "namespace": "openshift-monitoring",
            "prometheus": "openshift-monitoring/k8s", "severity": "none"},
    annotations={"summary": "An alert that should always be firing"},
)  # fmt: skip
RULES = Alert(
    fingerprint="p1", cluster="ran-east", name="PrometheusRuleFailures",
    severity=AlertSeverity.WARNING, starts_at=T0,
    labels={"alertname": "PrometheusRuleFailures", "namespace": "openshift-monitoring",
            "pod": "prometheus-k8s-0", "container": "prometheus", "instance": "10.128.2.9:9091",
            "job": "prometheus-k8s", "severity": "warning"},
    annotations={"summary": "Prometheus is failing rule evaluations"},
)  # fmt: skip


def test_an_always_firing_info_alert_neither_joins_nor_holds_an_incident_open() -> None:
    """Watchdog fires for ever in openshift-monitoring; a warning there ends at 12:05: its
    incident resolves RESOLVE_AFTER after it was last seen, without Watchdog in it (it began
    30 days before the warning: not within the window of it)."""
    incidents: list[Incident] = []
    for minute in range(0, 40):
        now = T0 + minute * MINUTE
        firing = [WATCHDOG] + ([RULES] if minute < 5 else [])
        incidents, _ = group(incidents, alert_signals({"ran-east": firing}, now), now)
    [incident] = incidents
    assert [s.subject for s in incident.signals] == ["PrometheusRuleFailures"]
    assert incident.state is IncidentStatus.RESOLVED
    assert incident.resolved_at == T0 + 4 * MINUTE + RESOLVE_AFTER


def test_an_info_signal_that_joins_does_not_extend_the_incident_s_life() -> None:
    """A LOW note on the same pod joins its incident, and is still seen: the incident resolves
    RESOLVE_AFTER after its warning was last seen all the same."""
    warning = IncidentSignal(key="w", source="alert", cluster="c1", subject="PodHot",
                             severity=FindingSeverity.WARNING, reason="hot", first_seen=T0,
                             last_seen=T0, topology=["ns:a", "pod:a/p"])  # fmt: skip
    note = warning.model_copy(update={"key": "n", "source": "anomaly", "first_seen": T0 + MINUTE,
                                      "last_seen": T0 + MINUTE,
                                      "severity": FindingSeverity.INFO})  # fmt: skip
    incidents, _ = group([], [warning, note], T0 + MINUTE)
    assert [len(i.signals) for i in incidents] == [2]  # it joined
    now = T0 + MINUTE
    while now < T0 + 2 * RESOLVE_AFTER:
        now += MINUTE
        incidents, _ = group(incidents, [note.model_copy(update={"last_seen": now})], now)
    [incident] = incidents
    assert incident.resolved_at == T0 + RESOLVE_AFTER


# -- 2: an acknowledgement and a worse signal first seen after it ------------------------------
def test_an_acknowledgement_does_not_silence_a_critical_first_seen_after_it() -> None:
    """Acknowledged at 12:05 while WARNING; at 12:06 the alerts poll brings a CRITICAL that
    started at 12:04: nobody had seen it, so the incident is OPEN again and says why."""
    notready = Finding(Domain.KUBERNETES, FindingSeverity.WARNING, "node du-1", "NotReady")
    incidents, _ = group([], finding_signals(_truth(T0, [notready]), T0), T0)
    acked_at = T0 + 5 * MINUTE
    incidents = [acknowledge(i, acked_at) for i in incidents]
    freerun = Alert(fingerprint="f1", cluster="ran-east", name="PtpClockFreerun",
                    severity=AlertSeverity.CRITICAL, starts_at=T0 + 4 * MINUTE,
                    labels={"alertname": "PtpClockFreerun", "node": "du-1", "iface": "ens1f0"},
                    annotations={"summary": "PTP clock on du-1 ens1f0 in FREERUN"})  # fmt: skip
    seen = acked_at + MINUTE
    offered = finding_signals(_truth(seen, [notready]), seen) + alert_signals(
        {"ran-east": [freerun]}, seen)  # fmt: skip
    [incident], _ = group(incidents, offered, seen)
    assert incident.severity is FindingSeverity.CRITICAL and len(incident.signals) == 2
    assert incident.state is IncidentStatus.OPEN and incident.reopened_at == seen
    assert "PtpClockFreerun" in incident.reopened_because
    assert "after the acknowledgement" in incident.reopened_because
    assert {s.subject: s.grouped_at for s in incident.signals} == {
        "node du-1": T0,
        "PtpClockFreerun": seen,
    }


def test_an_incident_stored_before_signals_said_when_they_were_grouped_still_loads() -> None:
    """A stored incident (or a capture's) has no ``grouped_at``: it loads, and its signals'
    first times stand in for it."""
    signal = IncidentSignal(key="k", source="alert", cluster="c1", subject="A", reason="r",
                            severity=FindingSeverity.WARNING, first_seen=T0, last_seen=T0,
                            alert_name="A")  # fmt: skip
    stored = Incident(id="INC-1", title="t", severity=FindingSeverity.WARNING, opened_at=T0,
                      updated_at=T0, signals=[signal]).model_dump(mode="json")  # fmt: skip
    for s in stored["signals"]:
        for field in ("grouped_at", "alert_labels"):
            s.pop(field, None)
    loaded = Incident.model_validate(stored)
    assert loaded.signals[0].grouped_at is None and loaded.signals[0].alert_labels == {}
    acked = acknowledge(loaded, T0 + MINUTE)
    [kept], _ = group([acked], [signal.model_copy(update={"last_seen": T0 + 2 * MINUTE})],
                      T0 + 2 * MINUTE)  # fmt: skip
    assert kept.state is IncidentStatus.ACKNOWLEDGED


# -- 3: the same alert is its name and what it is about ----------------------------------------
def _crashloop(cluster: str, namespace: str, pod: str, began: datetime) -> Alert:
    return Alert(fingerprint=f"{cluster}{namespace}{pod}", cluster=cluster,
                 name="KubePodCrashLooping", severity=AlertSeverity.WARNING, starts_at=began,
                 labels={"alertname": "KubePodCrashLooping", "namespace": namespace, "pod": pod,
                         "container": "main", "instance": "10.0.0.9:8443",
                         "job": "kube-state-metrics", "cluster": cluster},
                 annotations={"summary": f"Pod {namespace}/{pod} is crash looping"})  # fmt: skip


def test_one_alert_name_on_unrelated_pods_is_not_one_incident() -> None:
    """KubePodCrashLooping of shop/cart-0 on ran-east (acknowledged) and, three hours later, of
    ran-du/du-l1-0 on ran-west: two incidents, the new one OPEN; and two namespaces of one
    cluster stay apart too."""
    cart = _crashloop("ran-east", "shop", "cart-0", T0)
    incidents, _ = group([], alert_signals({"ran-east": [cart]}, T0), T0)
    incidents = [acknowledge(i, T0 + MINUTE) for i in incidents]
    later = T0 + timedelta(hours=3)
    du = _crashloop("ran-west", "ran-du", "du-l1-0", later)
    incidents, _ = group(incidents, alert_signals({"ran-east": [cart], "ran-west": [du]}, later),
                         later)  # fmt: skip
    by_state = sorted((i.state.value, [s.cluster for s in i.signals]) for i in incidents)
    assert by_state == [("ACKNOWLEDGED", ["ran-east"]), ("OPEN", ["ran-west"])]
    du_east = _crashloop("ran-east", "ran-du", "du-l1-0", T0 + timedelta(hours=2))
    apart, _ = group([], alert_signals({"ran-east": [cart, du_east]}, later), later)
    assert len(apart) == 2


def test_one_alert_about_the_same_object_on_three_clusters_is_one_incident() -> None:
    """The ingress router's deployment short of replicas on three clusters (their
    kube-state-metrics addresses and ``cluster`` labels differ): one incident; the same
    alert about another deployment is not in it."""

    def mismatch(cluster: str, namespace: str, deployment: str, n: int) -> Alert:
        return Alert(fingerprint=f"{cluster}{deployment}", cluster=cluster,
                     name="KubeDeploymentReplicasMismatch", severity=AlertSeverity.WARNING,
                     starts_at=T0 + n * MINUTE,
                     labels={"alertname": "KubeDeploymentReplicasMismatch", "cluster": cluster,
                             "namespace": namespace, "deployment": deployment,
                             "container": "kube-rbac-proxy-main", "instance": f"10.0.{n}.9:8443",
                             "job": "kube-state-metrics", "service": "kube-state-metrics",
                             "prometheus": "openshift-monitoring/k8s", "severity": "warning"},
                     annotations={"summary": f"{deployment} is short of replicas"})  # fmt: skip

    clusters = ("east", "west", "north")
    firing = {c: [mismatch(c, "openshift-ingress", "router-default", n)]
              for n, c in enumerate(clusters)}  # fmt: skip
    firing["west"].append(mismatch("west", "openshift-dns", "dns-default", 3))
    now = T0 + 4 * MINUTE
    incidents, _ = group([], alert_signals(firing, now), now)
    by_clusters = sorted(sorted(s.cluster for s in i.signals) for i in incidents)
    assert by_clusters == [["east", "north", "west"], ["west"]]
    fleet_wide = next(i for i in incidents if len(i.clusters) == 3)
    assert fleet_wide.title == "KubeDeploymentReplicasMismatch on 3 clusters (+2 signals)"


# -- 4: the CLI's timeline ---------------------------------------------------------------------
@pytest.mark.asyncio
async def test_the_cli_shows_an_incident_s_worst_signal_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seven signals, the CRITICAL one the sixth to begin: it is listed, and the two not
    listed are counted."""
    warning, critical = FindingSeverity.WARNING, FindingSeverity.CRITICAL
    items = [(warning, f"du-2/ens1f{n} (ptp4l)", f"offset {300 + n} ns") for n in range(5)]
    items += [(critical, "du-2/ens2f0 (ptp4l)", "clock in FREERUN"),
              (warning, "node du-2", "NotReady")]  # fmt: skip
    found = [Finding(Domain.PTP, severity, subject, reason, T0 + n * MINUTE)
             for n, (severity, subject, reason) in enumerate(items)]  # fmt: skip
    now = T0 + 7 * MINUTE
    [incident], _ = group([], finding_signals(_truth(now, found), now), now)

    class Incidents:
        left_out = 0

        async def listed(self) -> list[Incident]:
            return [incident]

    async def whole(_core: object, _io: object) -> bool:
        return True

    monkeypatch.setattr(cli, "_regroup", whole)
    out = io.StringIO()
    said = Io(out=Printable(out), stdin=io.StringIO(), err=Printable(io.StringIO()))
    core = SimpleNamespace(incidents=Incidents(), capture=None)
    assert await cli._incidents(core, argparse.Namespace(ack=None, json=False), said) == 0  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()
    assert any("du-2/ens2f0 (ptp4l): clock in FREERUN" in line for line in lines[1:])
    assert lines[-1] == "    … and 2 more signals"
    assert len(lines) == 1 + 5 + 1


def test_an_explanation_is_given_an_incident_s_worst_signals_and_the_rest_counted() -> None:
    """The model explaining an incident was given its first eight signals: a CRITICAL that
    began ninth was never among its facts."""
    from aiops_desktop.services.assistant.explain import SIGNALS_TOLD, evidence_of
    from aiops_desktop.services.intelligence.rca import RcaResult
    from analysis.rca.model import Window

    warning, critical = FindingSeverity.WARNING, FindingSeverity.CRITICAL
    items = [(warning, f"du-2/ens1f{n} (ptp4l)", f"offset {300 + n} ns") for n in range(10)]
    items.insert(9, (critical, "du-2/ens2f0 (ptp4l)", "clock in FREERUN"))
    found = [Finding(Domain.PTP, severity, subject, reason, T0 + n * MINUTE)
             for n, (severity, subject, reason) in enumerate(items)]  # fmt: skip
    now = T0 + 12 * MINUTE
    [incident], _ = group([], finding_signals(_truth(now, found), now), now)
    shown, more = incident.most_telling(SIGNALS_TOLD)
    assert len(shown) == SIGNALS_TOLD and more == len(items) - SIGNALS_TOLD
    assert shown == sorted(shown, key=lambda s: s.first_seen)  # in time order
    end = now.timestamp()
    facts = [i.text for i in evidence_of(RcaResult("INC", Window(end), []),
                                         incident)]  # fmt: skip
    assert any("clock in FREERUN" in text for text in facts)
    assert f"{more} more signals of the incident, none worse than those above." in facts
