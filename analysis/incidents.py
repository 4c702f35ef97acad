"""Grouping signals into incidents, Qt-free and deterministic.

A new signal joins an incident that is not resolved when it belongs with one of its signals
(a signal of a resolved incident offered again is left there: it does not reopen it; seen
alive after the incident resolved, it is news again and is grouped as a new signal is):
- the same alert (its name and what it is about: ``alert_labels``) on any cluster, while it
  is alive there (seen within ``GROUP_WINDOW`` before the new one began): one incident for an
  alert firing fleet-wide, not one that ended days ago in an incident still alive by another
  signal; an incident holding the alert is preferred to one that only shares a place
  (KubePodCrashLooping of two unrelated workloads' pods is two alerts, not one; of one
  DaemonSet's pods on several clusters, one: a pod by its workload);
- the same cluster and the same thing (a GPU, a port, else a pod or a workload, else a node;
  never a namespace alone) as one of its signals still alive (seen within ``GROUP_WINDOW``
  before it began);
- the same cluster and a shared place (the node of a GPU, a namespace...), when it began
  within ``GROUP_WINDOW`` of the newest signal of the incident above INFO (the last one to
  begin), before or after it: an incident whose signals began days ago and still last (a
  warning on a node firing for three days) does not take a new problem of a GPU of that
  node, nor a new incident a signal that began days before it (OpenShift's Watchdog, firing
  for ever in openshift-monitoring); each is an incident of its own.
Otherwise it opens an incident of its own, so unrelated anomalies stay apart (a signal of INFO
severity only joins: news opens no incident; nor does it keep one alive). A signal seen
again only moves its ``last_seen``. An incident none of whose signals above INFO has been
seen for ``RESOLVE_AFTER`` is resolved (not while the source a signal of it is read from, on
its cluster, cannot be read, or was not read yet, where its last read may still have shown
it: ``READ_FROM``); an acknowledged one stays acknowledged until then, unless a signal first
grouped into it after the acknowledgement (``grouped_at``: the app had not seen it, whenever
it began) makes it worse, or one below the severity acknowledged then grows worse than it:
then it is OPEN again (``reopened_at``, and why).

Places come from a finding's subject and from labels (``place_of``). Prometheus gives every
series it scrapes the labels of the scrape *target* (``instance``: its address, ``job``; with
Kubernetes service discovery also the target's ``namespace``, ``service``, ``pod``,
``container``, ``endpoint``): an exporter's, not those of the object it reports on. So, in a
label set with ``instance`` (``object_labels``; without it, the labels were aggregated away:
TargetDown's ``count(up == 0) by (job, namespace, service)`` names the target that is down):
- ``exported_namespace``/``exported_pod`` (the object's, renamed where they collided with the
  target's) are the namespace and pod; ``namespace`` otherwise only where the labels name a
  namespaced object (``pod``, ``deployment``, ... as kube-state-metrics and the kubelet name
  them), not the exporter's namespace of a node-level alert;
- ``instance`` is a place (the node, by its host) only where the labels name no object at all
  (the series is about its target itself: a node exporter's node); never beside one (a
  kube-state-metrics address shared by every alert it raises);
- ``pod`` is not the object where it is the target's own, an exporter reporting on its node
  (``exporters_pod``: node-exporter under a ServiceMonitor: its instance is the node's name;
  a node agent beside the node it names, DCGM's or linuxptp-daemon's, whatever its instance),
  nor beside another object the labels name (``about_another``: an operator's series about
  a ClusterOperator, ``name``, its namespace kept; kept in ``alert_labels``, what the alert
  is); an app's own ``name`` (a circuit breaker's) or ``role`` names no other object;
- ``service``, ``job``, ``endpoint`` never (the Service the target was found through);
  ``service`` is a place only of labels with no ``job`` nor ``endpoint`` (a span's service):
  beside them it names the exporter, scraped with its instance dropped (OpenShift's
  kube-state-metrics: a place shared by every alert it raises) or aggregated (TargetDown's,
  which tells its alerts apart: ``alert_labels``, not where they are);
- an object a namespaced label names (a Deployment, a Job, a volume claim: ``_OBJECTS``) is
  a place of its own, narrower than its namespace;
- a pod is at its workload too (by its name, ``workload_of``; a StatefulSet's without its
  ordinal), and so is a Deployment, a StatefulSet or a DaemonSet (``_places``): a bad
  rollout's crash-looping pods and its Deployment's alerts are one place.
Two signals narrower than a namespace (a pod, a workload, a node, a device, a service) are
not one place by their namespace alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from bisect import bisect_right
from collections.abc import Collection, Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar

from aiops_desktop.models.alerts import SEVERITY_RANK as ALERT_RANK
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import RELATED_KEPT, Anomaly
from aiops_desktop.models.enums import AlertSeverity, IncidentStatus
from aiops_desktop.models.fleet import SEVERITY_RANK, FindingSeverity
from aiops_desktop.models.incidents import (
    FIRST_KEPT,
    UNREAD_KEPT,
    Incident,
    IncidentSignal,
    worst_first,
)
from aiops_desktop.models.text import cut_line, one_line

_When = TypeVar("_When", datetime, None)

GROUP_WINDOW = timedelta(minutes=15)
RESOLVE_AFTER = timedelta(minutes=10)
#: a signal that ended longer ago than this is offered no more (anomalies and Kubernetes
#: events are offered for an hour after they end; alerts and findings while they last)
OFFERED_AFTER_END = timedelta(hours=2)
#: the signals an incident keeps: beyond this, its long-ended ones (offered no more) are let
#: go and counted, all but its first FIRST_KEPT and its worst (a fleet-wide alert that
#: fires for days would otherwise grow its record, its copy each refresh and its row
#: without bound)
MOST_SIGNALS = 500
#: no cluster's last read known (``group``'s ``last_read``)
_NONE_READ: Mapping[str, datetime] = MappingProxyType({})
#: no cluster's Warning events unread (``group``'s ``events_unread``)
_EVENTS_READ: Mapping[str, datetime | None] = MappingProxyType({})
#: how the key of a signal made of a Kubernetes Warning event begins ("event|<cluster>|<uid>")
EVENT_KEY = "event|"


def node_of(labels: dict[str, str]) -> str:
    """The node a series or alert is on, by its labels ("" where none says)."""
    return labels.get("node") or labels.get("Hostname") or labels.get("instance", "").split(":")[0]


def pod_of(cluster: str, labels: dict[str, str]) -> str | None:
    """The entity name of the pod a series or alert is about (None where none: an exporter's
    own pod is not, ``exporters_pod``)."""
    if not labels.get("pod") or exporters_pod(labels):
        return None
    return f"{cluster} pod {labels.get('namespace', '?')}/{labels['pod']}"


#: labels Prometheus adds to what it scrapes about the scrape target (not the object)
_TARGET = frozenset({"instance", "job", "service", "endpoint", "namespace", "pod", "container"})
#: labels naming a Kubernetes object in a namespace (the kind in lower case, as
#: kube-state-metrics and the kubelet name them): beside one, ``namespace`` is the object's
_NAMESPACED = frozenset({
    "pod", "exported_pod", "deployment", "statefulset", "daemonset", "replicaset", "job_name",
    "cronjob", "persistentvolumeclaim", "horizontalpodautoscaler", "poddisruptionbudget",
    "resourcequota", "configmap", "secret", "serviceaccount", "ingress", "networkpolicy",
    "lease", "role", "rolebinding", "endpointslice",
})  # fmt: skip


def targets_pod(labels: dict[str, str]) -> bool:
    """Whether the labels' ``pod`` is the scrape target's own: found through a Service
    (``service`` or ``endpoint``), named after its job or Service (a workload's pod
    "<name>-<hash>"; the kubelet's series of a workload pod are not), no ``exported_pod``
    beside it."""
    pod = labels.get("pod", "")
    if not pod or labels.get("exported_pod") or not (labels.get("service")
                                                     or labels.get("endpoint")):  # fmt: skip
        return False
    return any(pod.startswith(f"{labels[k]}-") for k in ("job", "service") if labels.get(k))


def exporters_pod(labels: dict[str, str]) -> bool:
    """Whether the labels' ``pod`` is the scrape target's own (``targets_pod``), an exporter
    reporting on its node, not a pod the series is about: node-exporter under a ServiceMonitor
    (kube-prometheus, OpenShift) gives every series and alert its target's pod, namespace,
    service, endpoint and container, with ``instance`` relabelled to the node's name. So: with
    an instance that names a host, not an address (an app's own series: its instance is its
    pod's IP and port, and the pod is what it is about) nor the pod itself. Where the labels
    name the node (``node``, ``Hostname``) and a GPU or PTP port of it, whatever the
    instance: a node agent's DaemonSet scraped by its pod's IP (DCGM's) or its node's
    (linuxptp-daemon, hostNetwork) reports on its node's GPU or port (``_node_agents_pod``):
    taken for the place, its pod and workload made every GPU or PTP alert of a cluster one."""
    if _node_agents_pod(labels):
        return True
    if not targets_pod(labels):
        return False
    pod = labels["pod"]
    instance = labels.get("instance", "")
    if not instance or instance.startswith("[") or instance.count(":") > 1:  # an IPv6 address
        return False
    host = instance.split(":")[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host != pod
    return False


def _node_agents_pod(labels: dict[str, str]) -> bool:
    """Whether the labels' ``pod`` is a node agent's, beside the node it reports on (``node``,
    ``Hostname``) and a device of it: a GPU's (``gpu``, ``UUID``) where the pod is the scrape
    target's own (``targets_pod``: DCGM's, named after its job; a GPU's series may name the
    workload's pod using it, kept where it is not the target's), or a PTP port's
    (``iface``), found through a Service (no ``exported_pod``): a port's series are its
    daemon's, about no workload (linuxptp-daemon, not named after the Service it is found
    through). Not an app's own series with a ``node`` label (a ServiceMonitor's relabelling,
    a ``group_left(node)``): its pod is what it is about (taken for an agent's, two apps'
    alerts on one node were one incident)."""
    if not (labels.get("node") or labels.get("Hostname")):
        return False
    port = bool(labels.get("iface") and labels.get("pod") and not labels.get("exported_pod")
                and (labels.get("service") or labels.get("endpoint")))  # fmt: skip
    gpu = bool(labels.get("gpu") or labels.get("UUID"))
    return port or (gpu and targets_pod(labels))


#: labels by which an operator's own series name what they report on (a ClusterOperator, an
#: OLM CSV, an ingress controller: ``name``), beside the namespaced objects' (``_OBJECTS``)
_NAMING = ("name",)
#: labels beside ``name`` that make a series a report on the state of the object named (a
#: ClusterOperator's ``condition`` and ``reason``, as CVO's cluster_operator_conditions)
_STATE_OF = ("condition", "reason")
#: scrape jobs of operators whose series name the objects they manage by ``name``, wherever
#: they run (an OpenShift operator's, in an openshift-* namespace, is one by its job's name)
_OPERATOR_JOBS = frozenset({"cluster-version-operator"})
#: namespaced labels that are also words an app's own series use for their own things (a
#: database's ``role``, a client's ``secret``, a leader election's ``lease``): beside the
#: scrape target's own pod, no object of it (neither another object nor a place)
_GENERIC = frozenset({"role", "secret", "lease", "configmap"})


def _operators_report(labels: dict[str, str]) -> bool:
    """Whether the labels say the series is an operator's report on the objects it manages:
    ``name`` beside the object's state (``_STATE_OF``), or the target an operator's (a known
    one's job, or an ``*-operator`` job in an openshift-* namespace). An app's own ``name``
    (a circuit breaker's, a workqueue's, a connection pool's) is not."""
    if any(labels.get(k) for k in _STATE_OF):
        return True
    job = labels.get("job", "")
    if job in _OPERATOR_JOBS:
        return True
    return labels.get("namespace", "").startswith("openshift-") and job.endswith("-operator")


def about_another(labels: dict[str, str]) -> bool:
    """Whether the labels' ``pod`` is the scrape target's own (``targets_pod``) beside labels
    naming another object it reports on: a namespaced object's (a Deployment's, a volume
    claim's: ``_OBJECTS``, but the words an app uses for its own things, ``_GENERIC``), or an
    operator's report on its objects by ``name`` (``_operators_report``: OpenShift's CVO,
    scraped from its own pod, raises ClusterOperatorDegraded name=authentication and
    name=machine-config: placed at CVO's pod, the second joined the first's old incident).
    A ``name`` that is the target's own (its job, Service or workload), or of an app's own
    series (Resilience4j's circuit breaker, client-go's workqueue), names no other: taken
    for one, the app's alert lost its pod and namespace and split from the pod's own."""
    if not targets_pod(labels):
        return False
    if any(labels.get(k) for k in _OBJECTS if k not in _GENERIC):
        return True
    if not _operators_report(labels):
        return False
    own = {labels.get("job"), labels.get("service"), workload_of(labels["pod"])}
    return any(labels.get(k) and labels[k] not in own for k in _NAMING)


def object_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels of what a series or an alert is about, without the scrape target's (see
    the module's doc): a label set not scraped, or aggregated (no ``instance``: the app's own
    aggregated series, a span's, TargetDown's job, namespace and service), as it is. The
    target's own pod beside another object named (``about_another``) is not its place, nor
    is its namespace, where nothing namespaced is named but that pod."""
    return _object_labels(labels, keep_target=False)


def _object_labels(labels: dict[str, str], *, keep_target: bool) -> dict[str, str]:
    """``object_labels``; ``keep_target``: the target's own pod beside another object named
    (``about_another``) kept (what the alert is, ``alert_labels``), and the words an app uses
    for its own things (``_GENERIC``) beside its own pod, that tell its alerts apart. The
    target's namespace is kept beside another object (where that is in no namespace, a
    ClusterOperator, the operator's is the nearest place)."""
    if "instance" not in labels:
        return labels
    out = {k: v for k, v in labels.items() if k not in _TARGET and not k.startswith("exported_")}
    node_agent = exporters_pod(labels)  # the node is the place, by its instance
    another = not node_agent and about_another(labels)  # the other object is
    exporter = node_agent or (another and not keep_target)
    if not keep_target and not another and targets_pod(labels):  # the app's own words
        out = {k: v for k, v in out.items() if k not in _GENERIC}
    namespaced = another or any(labels.get(k) for k in _NAMESPACED if not (exporter and k == "pod"))
    if labels.get("exported_namespace") or labels.get("exported_pod"):
        if labels.get("exported_namespace"):
            out["namespace"] = labels["exported_namespace"]
        if labels.get("exported_pod"):
            out["pod"] = labels["exported_pod"]
    else:
        if labels.get("pod") and not exporter:
            out["pod"] = labels["pod"]
        if namespaced and labels.get("namespace"):
            out["namespace"] = labels["namespace"]
    names_object = namespaced or another or bool(labels.get("node") or labels.get("Hostname"))
    if not names_object and labels.get("instance"):  # about the target itself: its host
        out["instance"] = labels["instance"]
    return out


#: labels of an alert naming where it was raised: its cluster (by name; by id where an ACM hub
#: forwards it, ``managed_cluster``, or evaluates it, ``clusterID``; a Thanos or Observatorium
#: tenant's) and the Prometheus or ruler that raised it (an HA pair's replica)
_RAISED_BY = frozenset({
    "cluster", "managed_cluster", "clusterID", "cluster_id", "tenant_id", "prometheus",
    "prometheus_replica", "replica",
})  # fmt: skip
#: labels of an alert that are not what it is about: its name, how bad, where it was raised
#: (``_RAISED_BY``: they differ per cluster, and the same alert on two is one incident), and a
#: pod's ``uid`` (kube-state-metrics' pod series carry it, KubePodCrashLooping keeps it):
#: every pod's own on every cluster, as its name's suffix is (``workload_of``; a DaemonSet's
#: pod crash-looping on three clusters was three alerts)
_NOT_ABOUT = _RAISED_BY | {"alertname", "severity", "uid"}


def same_alert(alert: Alert) -> tuple[str, frozenset[tuple[str, str]]]:
    """What tells one alert of a cluster from another: its name and its labels but those of
    where it was raised (``_RAISED_BY``); one with no labels, by its fingerprint. Two rulers
    raising one alert (two fleet hubs' of a member) label it each their own, so Alertmanager
    gives each copy its own fingerprint."""
    if not alert.labels:
        return alert.fingerprint, frozenset()
    return alert.name, frozenset((k, v) for k, v in alert.labels.items() if k not in _RAISED_BY)


def alert_labels(labels: dict[str, str]) -> dict[str, str]:
    """What an alert is about, by its labels: its ``object_labels`` without its name, its
    severity, its cluster or the Prometheus that raised it (``_NOT_ABOUT``); with its name,
    the same on two clusters is the same alert. Its pod is named by its workload, without
    the hashes and random suffixes every cluster gives it differently (``workload_of``): an
    operator's alert on its own series, and kube-state-metrics' KubePodCrashLooping of a
    DaemonSet's pod after a bad rollout fleet-wide, are each one alert on every cluster
    (its signals keep the pod as their place: ``place_of``)."""
    out = {k: v for k, v in _object_labels(labels, keep_target=True).items()
           if k not in _NOT_ABOUT}  # fmt: skip
    if out.get("pod"):
        out["pod"] = workload_of(out["pod"])
    return out


#: the characters of the hashes and random suffixes Kubernetes names pods with (no vowels,
#: no 0, 1 or 3); a ReplicaSet's hash of old was a decimal number
_HASHED = "bcdfghjklmnpqrstvwxz2456789"
_POD_SUFFIX = re.compile(rf"(?:-[{_HASHED}013]{{6,10}})?-[{_HASHED}]{{5}}$")


def workload_of(pod: str) -> str:
    """The workload a pod is of, by its name: a Deployment's pod
    "<name>-<ReplicaSet hash>-<random>", a DaemonSet's or a Job's "<name>-<random>", without
    them; a StatefulSet's "<name>-<ordinal>" as it is (the same pod on every cluster)."""
    return _POD_SUFFIX.sub("", pod) or pod


def place_of(subject: str, labels: dict[str, str] | None = None) -> list[str]:
    """Where a signal is, as topology tokens: from a finding's subject ("gpu-1/gpu3",
    "du-2/ens1f0 (ptp4l)", "node du-1", "pod ran-du/du-l1-0") and a series' or alert's labels
    (node, instance, its GPU or port there, namespace, pod, a span's service:
    ``object_labels``)."""
    tokens: list[str] = []
    if subject.startswith("node "):
        tokens.append(f"node:{subject[5:]}")
    elif subject.startswith("pod "):
        namespace, _, pod = subject[4:].partition("/")
        tokens += [f"pod:{namespace}/{pod}", f"ns:{namespace}"]
    elif "/" in subject and " " not in subject.split("/", 1)[0]:
        node, _, rest = subject.partition("/")
        tokens.append(f"node:{node}")
        tokens.append(f"dev:{node}/{rest.split(' ', 1)[0]}")
    labels = object_labels(labels or {})
    node = node_of(labels)
    if node:
        tokens.append(f"node:{node}")
        if labels.get("gpu"):  # named as a finding's subject names it ("gpu-1/gpu3")
            tokens.append(f"dev:{node}/gpu{labels['gpu']}")
        if labels.get("iface"):  # "du-2/ens1f0"
            tokens.append(f"dev:{node}/{labels['iface']}")
    if labels.get("namespace"):
        namespace = labels["namespace"]
        tokens.append(f"ns:{namespace}")
        if labels.get("pod"):
            tokens.append(f"pod:{namespace}/{labels['pod']}")
        tokens += [f"obj:{namespace}/{_kind(k)}/{labels[k]}" for k in _OBJECTS if labels.get(k)]
    # a span's service (failed spans, span latency): not scraped; beside a job or an
    # endpoint, the Service a target was found through, no place (kube-state-metrics scraped
    # without its instance, as OpenShift does: every alert it raises names it)
    if labels.get("service") and not (labels.get("job") or labels.get("endpoint")):
        tokens.append(f"svc:{labels['service']}")
    return sorted(set(tokens))


#: labels naming a namespaced object other than a pod (a workload, a volume claim...): what
#: an alert about it is about, narrower than its namespace ("obj:payments/deployment/api")
_OBJECTS = sorted(_NAMESPACED - {"pod", "exported_pod"})
#: a ReplicaSet's pod-template-hash, its name's suffix after its Deployment's ("-7d9f8b6c5d";
#: of old, a decimal number)
_TEMPLATE_HASH = re.compile(rf"-[{_HASHED}013]{{6,10}}$")


def object_place(kind: str, namespace: str, name: str) -> list[str]:
    """Where a Kubernetes object other than a pod or a node is (a Warning event's), as
    topology tokens: the object in its namespace ("obj:payments/replicaset/api-7d9f8b6c5d",
    its kind in lower case as a label names it, a Job's as ``job_name`` does: "job"), a
    ReplicaSet at its Deployment too (by its pod-template-hash: with the Deployment's alerts
    and its pods, one workload); a cluster-scoped one at itself ("obj:/persistentvolume/pv-1")."""
    if not namespace:
        return [f"obj:/{kind}/{name}"]
    tokens = [f"ns:{namespace}", f"obj:{namespace}/{kind}/{name}"]
    if kind == "replicaset" and (owner := _TEMPLATE_HASH.sub("", name)) != name and owner:
        tokens.append(f"obj:{namespace}/deployment/{owner}")
    return sorted(tokens)


def _kind(label: str) -> str:
    """An object's kind by the label naming it (kube-state-metrics' ``job_name``: a Job)."""
    return label.removesuffix("_name")


#: how far apart in time an alert and an anomaly may be and be related (an alert fires
#: minutes after what it watches moved: its ``for``), as a later symptom's within RCA's 300 s
RELATED_WITHIN = timedelta(minutes=5)
_ALERT_NAME_MOST = 128


def related_alerts(anomaly: Anomaly, alerts: Iterable[Alert]) -> list[str]:
    """The names of ``alerts`` (its cluster's) related to ``anomaly``: firing while it went on
    (within ``RELATED_WITHIN``) at the same place (a shared node, pod or device: the rule of
    incidents, ``_same_place``; a cluster-wide alert for a cluster-wide series), most severe
    first. An INFO alert (OpenShift's Watchdog, always firing) is related to nothing. For
    many anomalies, ``RelatedAlerts`` places the alerts once."""
    return RelatedAlerts(alerts).of(anomaly)


@dataclass(frozen=True)
class _Placed:
    """An alert as related anomalies look at it: its place (``place_of``) worked out once."""

    starts: datetime
    ends: datetime | None
    place: list[str]
    name: str
    rank: int


class RelatedAlerts:
    """``related_alerts`` for many anomalies over one set of alerts: each alert's place is
    worked out once, and the alerts are grouped by cluster and place token, each group by
    when they began, so an anomaly looks only at the alerts that can be related to it (300
    anomalies over 3,000 alerts parsed every alert's labels 300 times: 16 s on the loop):
    those sharing a node, pod, object, device or service token with it, or its namespace
    where one of the two is no narrower (``_same_place``); a cluster-wide one, the
    cluster-wide alerts; of those, the ones that began by its end."""

    def __init__(self, alerts: Iterable[Alert]) -> None:
        groups: dict[tuple[str, str], list[_Placed]] = {}
        for alert in alerts:
            if alert.severity is AlertSeverity.INFO:
                continue
            placed = _Placed(alert.starts_at, alert.ends_at, place_of("", alert.labels),
                             one_line(alert.name)[:_ALERT_NAME_MOST],
                             ALERT_RANK[alert.severity])  # fmt: skip
            for token in _keys(placed.place, looking=False):
                groups.setdefault((alert.cluster, token), []).append(placed)
        self._groups: dict[tuple[str, str], tuple[list[datetime], list[_Placed]]] = {}
        for key, group in groups.items():
            group.sort(key=lambda p: p.starts)
            self._groups[key] = ([p.starts for p in group], group)

    def of(self, anomaly: Anomaly) -> list[str]:
        """The names of the alerts related to ``anomaly``, most severe first."""
        start = (anomaly.started_at or anomaly.timestamp) - RELATED_WITHIN
        end = (anomaly.last_at or anomaly.timestamp) + RELATED_WITHIN
        mine = place_of("", anomaly.labels)
        seen: set[int] = set()
        found: dict[str, int] = {}
        for key in _keys(mine, looking=True):
            starts, group = self._groups.get((anomaly.cluster, key), ((), []))
            for alert in group[: bisect_right(starts, end)]:  # began by its end
                if id(alert) in seen or (alert.ends is not None and alert.ends < start):
                    continue
                seen.add(id(alert))
                if mine and not _same_place(mine, alert.place):
                    continue
                found[alert.name] = min(alert.rank, found.get(alert.name, alert.rank))
        return sorted(found, key=lambda n: (found[n], n))[:RELATED_KEPT]


def _keys(place: list[str], *, looking: bool) -> list[str]:
    """The groups of ``RelatedAlerts`` an alert at ``place`` is in (``looking``: False) or an
    anomaly at ``place`` looks in (True), as ``_same_place`` relates them: "" for no place
    (a cluster-wide one is related only to another), each node, pod, object, device or
    service token, and a namespace's ("ns:x" holds every alert in it; "ns:x!" those no
    narrower than it, which are all a narrower anomaly's namespace may relate it to)."""
    if not place:
        return [""]
    narrow = any(not t.startswith("ns:") for t in place)
    keys = []
    for token in sorted(_places(place)):
        if not token.startswith("ns:"):
            keys.append(token)
        elif looking:
            keys.append(f"{token}!" if narrow else token)
        else:
            keys += [token] if narrow else [token, f"{token}!"]
    return keys


def entity_of(cluster: str, labels: dict[str, str]) -> str:
    """Where a series (or an alert) is, by name: its GPU, PTP port, pod, node, service (a
    span's, where no pod is named) or the cluster itself (a GPU's series name the GPU even
    where DCGM adds the pod using it); RCA's causes and incidents' signals are named alike."""
    node = node_of(labels)
    if node and labels.get("gpu"):
        return f"{cluster} {node}/gpu{labels['gpu']}"
    if node and labels.get("iface"):
        return f"{cluster} {node}/{labels['iface']}"
    if pod := pod_of(cluster, labels):
        return pod
    if node:
        return f"{cluster} node {node}"
    return f"{cluster} service {labels['service']}" if labels.get("service") else cluster


def depends_on(cluster: str, labels: dict[str, str]) -> list[tuple[str, str]]:
    """What a series' labels say about who depends on whom, as (dependent, dependency): a
    GPU's or PTP port's pod on it (DCGM's pod labels), the GPU or port on its node, a pod on
    the node it runs on."""
    node = node_of(labels)
    here = entity_of(cluster, labels)
    out: list[tuple[str, str]] = []
    node_entity = f"{cluster} node {node}" if node else None
    pod = pod_of(cluster, labels)
    if pod and here != pod:
        out.append((pod, here))
    if node_entity and here != node_entity:
        out.append((here, node_entity))
    return out


class _Pace:
    """An incident as ``group`` compares signals with it: when a signal of it above INFO was
    last seen and when its newest signal above INFO began, kept as signals join it or are
    seen again (worked out from every signal of it for each new one, a storm's incident of
    20,000 signals took 41 s). An INFO signal is news, not a problem: as it keeps no incident
    alive, it makes none new (a LOW anomaly of a node made a days-old acknowledged incident
    of it take a new GPU warning of that node, hidden under its acknowledgement)."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self._seen = _last_seen(incident, default=None)
        self.newest = max(
            (s.first_seen for s in incident.signals if s.severity is not FindingSeverity.INFO),
            default=incident.opened_at,
        )

    @property
    def alive(self) -> datetime:
        """When a signal above INFO was last seen (none: when the incident last changed)."""
        return self.incident.updated_at if self._seen is None else self._seen

    def seen(self, signal: IncidentSignal) -> None:
        """``signal`` of the incident seen (as it is kept there)."""
        if signal.severity is not FindingSeverity.INFO:
            self._seen = max(self._seen or signal.last_seen, signal.last_seen)

    def joined(self, signal: IncidentSignal) -> None:
        self.seen(signal)
        if signal.severity is not FindingSeverity.INFO:
            self.newest = max(self.newest, signal.first_seen)


class _Paces:
    """The ``_Pace`` of each incident a grouping compares a signal with, worked out once."""

    def __init__(self) -> None:
        self._by: dict[int, _Pace] = {}

    def of(self, incident: Incident) -> _Pace:
        pace = self._by.get(id(incident))
        if pace is None:
            pace = self._by[id(incident)] = _Pace(incident)
        return pace

    def seen(self, incident: Incident, signal: IncidentSignal) -> None:
        """A signal of ``incident`` seen again (one not worked out yet will be from it)."""
        if (pace := self._by.get(id(incident))) is not None:
            pace.seen(signal)


def _belongs(signal: IncidentSignal, pace: _Pace) -> bool:
    """While the incident (``pace``'s) is alive (a signal of it above INFO seen within
    GROUP_WINDOW before this one began: still seen is alive now): the same alert as one of its
    signals still alive (seen within GROUP_WINDOW before this one began: where it ended days
    ago, the same alert new on another cluster is a new problem, not hidden under that old
    incident's acknowledgement); or, on the same cluster, the same thing as one of its
    signals still alive (``_thing``: its device, pod or workload, node); or, on the same
    cluster, a shared place (a node a GPU is on, a namespace), begun within GROUP_WINDOW of
    the incident's newest signal above INFO (the last to begin), before or after it: a
    warning on a node firing for three days does not make every new problem of that node its
    own, nor an alert firing for 30 days a new incident its own."""
    if signal.first_seen - pace.alive > GROUP_WINDOW:
        return False
    recent = abs(signal.first_seen - pace.newest) <= GROUP_WINDOW
    thing = _thing(signal.topology)
    alert = _alert(signal)
    for other in pace.incident.signals:
        alive = signal.first_seen - other.last_seen <= GROUP_WINDOW  # still seen when it began
        if alert is not None and alive and alert == _alert(other):
            return True
        if signal.cluster != other.cluster:
            continue
        if alive and thing & _thing(other.topology):
            return True
        if recent and _same_place(signal.topology, other.topology):
            return True
    return False


def _alert(signal: IncidentSignal) -> str | None:
    """Which alert a signal is, on any cluster: its name and what it is about (None: not an
    alert)."""
    if not signal.alert_name:
        return None
    return f"{signal.alert_name}|{sorted(signal.alert_labels.items())}"


def _last_seen(incident: Incident, *, default: _When) -> datetime | _When:
    """When a signal of it above INFO was last seen (``default`` where none is): an INFO one
    does not keep it alive (OpenShift's Watchdog fires for ever; a LOW novelty is news)."""
    seen = (s.last_seen for s in incident.signals if s.severity is not FindingSeverity.INFO)
    return max(seen, default=default)


#: a signal's places from the narrowest: what it is about is its narrowest ones; a namespace
#: is none (two workloads' alerts in it are two things: a signal only there joins by the rule
#: of a shared place, begun near the incident's newest)
_LEVELS = (("dev:",), ("pod:", "obj:"), ("node:", "svc:", "metric:"))


def _thing(topology: list[str]) -> set[str]:
    """What a signal is about: its narrowest places (a GPU or a port, else a pod, its
    workload or another object in a namespace, else a node or a service: ``_places``); none
    where it is only in a namespace."""
    places = _places(topology)
    for level in _LEVELS:
        found = {t for t in places if t.startswith(level)}
        if found:
            return found
    return set()


#: the workloads whose pods are named after them (``workload_of``), by their label's kind
_WORKLOADS = ("deployment", "statefulset", "daemonset")
#: a StatefulSet's pod's ordinal ("ledger-db-0")
_ORDINAL = re.compile(r"-\d+$")


@lru_cache(maxsize=4096)
def _workload_places(topology: tuple[str, ...]) -> frozenset[str]:
    """``_places`` of a topology (as a tuple: worked out once for each, not for each pair of
    signals compared)."""
    found = set(topology)
    for token in topology:
        namespace, _, name = token.partition(":")[2].partition("/")
        if token.startswith("pod:"):
            workload = workload_of(name)
            if workload == name:  # no hash: a StatefulSet's "<name>-<ordinal>", or a bare pod
                workload = _ORDINAL.sub("", name) or name
            found.add(f"obj:{namespace}/workload/{workload}")
        elif token.startswith("obj:"):
            kind, _, name = name.partition("/")
            if kind in _WORKLOADS:
                found.add(f"obj:{namespace}/workload/{name}")
    return frozenset(found)


def _places(topology: list[str]) -> frozenset[str]:
    """A signal's places (its ``topology``) with the workload of each of its pods (by its
    name, ``workload_of``) and of each Deployment, StatefulSet or DaemonSet it names
    ("obj:payments/workload/api"): a bad rollout's crash-looping pods and its Deployment's
    alerts are one thing (their pod and object, sharing only their namespace, were two); two
    workloads of one namespace are not."""
    return _workload_places(tuple(topology))


def _same_place(a: list[str], b: list[str]) -> bool:
    """A shared node, pod, workload or device; a shared namespace only where one of the two
    is no narrower than its namespace (two pods, two nodes of one namespace are not one
    place)."""
    shared = _places(a) & _places(b)
    if any(not t.startswith("ns:") for t in shared):
        return True
    narrow_a = any(not t.startswith("ns:") for t in a)
    narrow_b = any(not t.startswith("ns:") for t in b)
    return bool(shared) and not (narrow_a and narrow_b)


def _title(incident: Incident) -> str:
    """Its worst signal's alert "on N clusters" where that alert fires on several together
    (not where only another alert of it does), else its cluster, place and reason; one
    printable line of at most TITLE_CHARS (an alert's name is a server's text: a crafted one
    held 200,000 characters of terminal escapes)."""
    worst = incident.worst
    if worst is None:
        return "incident"
    alert = _alert(worst)
    same = [s for s in incident.signals if alert is not None and _alert(s) == alert]
    # the clusters it fires on together: seen within GROUP_WINDOW of its latest sighting (not
    # where it ended days before it fired on another)
    latest = max((s.last_seen for s in same), default=worst.last_seen)
    firing = {s.cluster for s in same if latest - s.last_seen <= GROUP_WINDOW}
    if worst.alert_name and len(firing) > 1:
        head = f"{_cut(worst.alert_name)} on {len(firing)} clusters"
    else:
        head = f"{_cut(worst.cluster)}: {_cut(worst.place)}: {_headline(worst.reason)}"
    more = incident.signal_count - 1
    tail = f" (+{more} signal{'s' if more > 1 else ''})" if more else ""
    return _cut(head, TITLE_CHARS - len(tail)) + tail


TITLE_REASON_CHARS = 80
TITLE_NAME_CHARS = 80  # a title's cluster, place, alert name
TITLE_CHARS = 200


def _cut(text: str, most: int = TITLE_NAME_CHARS) -> str:
    """``text`` as one printable line of at most ``most`` characters ("…" where cut)."""
    return cut_line(text, most)


def _headline(reason: str) -> str:
    """A reason's first clause ("XID 79 GPU has fallen off the bus", not its advice)."""
    reason = one_line(reason)
    marks = (reason.find(": ", 12), reason.find(". ", 12), reason.find("; ", 12))
    cut = min((i for i in marks if i > 0), default=len(reason))
    return _cut(reason[:cut], TITLE_REASON_CHARS)


def _identity(signal: IncidentSignal) -> str:
    digest = hashlib.sha1(signal.key.encode(), usedforsecurity=False).hexdigest()[:6]
    return f"INC-{signal.first_seen:%Y%m%d-%H%M%S}-{digest}"


class _Near:
    """Incidents by their signals' places (cluster and topology token) and alerts: a signal
    is compared with those only, the only ones it can belong with (``_belongs``: the same
    alert, or the same cluster and a shared place); the same result as with all,
    without the square (5,000 anomalies on the nodes of one cluster took 46 s, compared with
    every incident of their cluster)."""

    def __init__(self, incidents: list[Incident]) -> None:
        self._order: dict[int, int] = {}
        self._by: dict[str, dict[int, Incident]] = {}
        for incident in incidents:
            for signal in incident.signals:
                self.add(incident, signal)

    @staticmethod
    def _keys(signal: IncidentSignal) -> list[str]:
        places = [f"p|{signal.cluster}|{t}" for t in _places(signal.topology)]
        alert = _alert(signal)
        return places + ([f"a|{alert}"] if alert is not None else [])

    def add(self, incident: Incident, signal: IncidentSignal) -> None:
        self._order.setdefault(id(incident), len(self._order))
        for key in self._keys(signal):
            self._by.setdefault(key, {})[id(incident)] = incident

    def of(self, signal: IncidentSignal) -> list[Incident]:
        """Those holding the signal's alert first (the same alert on another cluster is that
        incident's, not an older one's of its place), each part in the order they were made."""
        named = _alert(signal)
        alert = self._by.get(f"a|{named}", {}) if named is not None else {}
        found: dict[int, Incident] = {}
        for key in self._keys(signal):
            found |= self._by.get(key, {})
        return sorted(found.values(), key=lambda i: (id(i) not in alert, self._order[id(i)]))


def _back_after_resolved(incident: Incident, signal: IncidentSignal) -> IncidentSignal | None:
    """A signal of a resolved incident seen alive after it resolved (a clock in FREERUN
    again, an alert firing again: their keys hold no time): the signal as news, first seen no
    earlier than the resolution; None where it is not back (an ended one offered again)."""
    resolved = incident.resolved_at
    if incident.state is not IncidentStatus.RESOLVED or resolved is None:
        return None
    if signal.last_seen <= resolved:
        return None
    return signal.model_copy(update={"first_seen": max(signal.first_seen, resolved)})


def _let_go(incident: Incident, now: datetime) -> int:
    """Past MOST_SIGNALS, the incident's oldest long-ended signals are let go (counted in
    ``signals_dropped``); its first FIRST_KEPT and its worst stay. How many went."""
    over = len(incident.signals) - MOST_SIGNALS
    if over <= 0:
        return 0
    worst = incident.worst
    ended = [
        n
        for n, s in enumerate(incident.signals)
        if n >= FIRST_KEPT and s is not worst and now - s.last_seen > OFFERED_AFTER_END
    ]
    gone = set(sorted(ended, key=lambda n: incident.signals[n].last_seen)[:over])
    incident.signals = [s for n, s in enumerate(incident.signals) if n not in gone]
    incident.signals_dropped += len(gone)
    return len(gone)


def _news(
    signal: IncidentSignal, by_key: dict[str, tuple[Incident, int]], changed: set[str],
    paces: _Paces,
) -> IncidentSignal | None:  # fmt: skip
    """The signal to group as new; None where it was a known one, seen again (its incident
    marked changed, and its pace moved, where that moved it)."""
    known = by_key.get(signal.key)
    if known is None:
        return signal
    back = _back_after_resolved(known[0], signal)
    if back is None and _seen_again(*known, signal):
        changed.add(known[0].id)
        paces.seen(known[0], known[0].signals[known[1]])
    return back


def _unique(wanted: str, taken: set[str], stored: Container[str]) -> str:
    """``wanted``, or with a suffix where an incident already has that id, among those
    grouped or those stored (never replaced: a resolved incident no longer grouped keeps its
    record); taken from now on."""
    n, found = 1, wanted
    while found in taken or found in stored:
        n += 1
        found = f"{wanted}-{n}"
    taken.add(found)
    return found


def _seen_again(incident: Incident, n: int, signal: IncidentSignal) -> bool:
    """A known signal offered again: alive till its ``last_seen``, at its worst (whether the
    incident changed). An ended signal of a resolved incident does not reopen it."""
    if incident.state is IncidentStatus.RESOLVED:
        return False
    old = incident.signals[n]
    worse = SEVERITY_RANK[signal.severity] < SEVERITY_RANK[old.severity]
    # what it said before stays readable as of then (RCA of a past moment reads that)
    seen = old.changed(signal.severity if worse else old.severity, signal.reason,
                       signal.last_seen)  # fmt: skip
    update = {"last_seen": max(old.last_seen, signal.last_seen)}
    if old.offered_at is not None or signal.offered_at is not None:
        update["offered_at"] = max(_offered(old), _offered(signal))
    seen = seen.model_copy(update=update)
    if seen == old:
        return False
    incident.signals[n] = seen  # kept: a later refresh must see it alive and at its worst
    return True


def group(
    incidents: Iterable[Incident],
    signals: Iterable[IncidentSignal],
    now: datetime,
    *,
    unread: Collection[str] | Mapping[str, Collection[str]] = (),
    last_read: Mapping[str, datetime] = _NONE_READ,
    events_unread: Mapping[str, datetime | None] = _EVENTS_READ,
    taken: Container[str] = frozenset(),
) -> tuple[list[Incident], set[str]]:
    """The incidents after ``signals`` were seen at ``now``, and the ids of those that
    changed. ``incidents`` are not modified (copies are returned). A signal of INFO severity
    joins an incident it belongs with but opens none: on a fleet of drifting series the
    detector's LOW novelties alone would open one every few seconds. ``unread``: clusters
    whose sources cannot be read now, or were not read yet: their incidents do not resolve
    (a signal unseen because its Prometheus is down has not ended; resolved, it came back as a
    new incident, its acknowledgement lost and its first signal moved), only by a signal its
    last read may still have shown (``_holding``); as a mapping, each with the sources lost
    (its truth's coverage keys: "metrics", "alerts", ...): only a signal read from one of
    them is held (``READ_FROM``: an Alertmanager never read held a PTP clock's incident,
    read from Prometheus, open for good). ``last_read``: when each cluster of
    ``unread`` was last read (its truth's ``stale_since``); one not in it (not read since a
    start) may show any. ``events_unread``: clusters whose Warning events alone cannot be
    read now, each with when they last were (None: not known): they hold only the signals
    made of events (an incident of an alert, read from Alertmanager, resolves when it
    clears; held by a 403 on events, it stayed open for good). ``taken``: the ids of
    incidents stored (``incidents`` holds only those still grouped): a new incident's id is
    none of them (a signal back with its first time, long after its incident resolved, would
    otherwise replace that incident's record)."""
    out = [i.model_copy(deep=True) for i in incidents]
    # (written, but no change of what it shows: its updated_at stays)
    noted = {i.id for i in out if _noted_acknowledged(i)}
    changed: set[str] = set()
    # a key held by a resolved incident and a live one (it came back and joined another):
    # the live one's, or the signal would be news again each time and be added again
    live_last = sorted(out, key=lambda i: i.state is not IncidentStatus.RESOLVED)
    by_key = {s.key: (inc, n) for inc in live_last for n, s in enumerate(inc.signals)}
    near = _Near(out)  # the incidents a signal may belong with: its places', its alert's
    ids = {i.id for i in out}
    paces = _Paces()
    for offered in sorted(signals, key=lambda s: (s.first_seen, s.key)):
        signal = _news(offered, by_key, changed, paces)
        if signal is None:
            continue
        home = next((i for i in near.of(signal) if i.state is not IncidentStatus.RESOLVED
                     and _belongs(signal, paces.of(i))), None)  # fmt: skip
        if home is None:
            if signal.severity is FindingSeverity.INFO:
                continue  # news (a LOW novelty, a sync in progress) joins, never opens one
            home = Incident(id=_unique(_identity(signal), ids, taken), title="",
                            severity=signal.severity, opened_at=signal.first_seen,
                            updated_at=signal.first_seen)  # fmt: skip
            out.append(home)
        # when the app first saw it here: an acknowledgement before that did not see it
        signal = signal.model_copy(update={"grouped_at": now})
        near.add(home, signal)
        home.signals.append(signal)
        paces.of(home).joined(signal)
        home.updated_at = max(home.updated_at, signal.first_seen)
        by_key[signal.key] = (home, len(home.signals) - 1)
        changed.add(home.id)
    for incident in out:
        if incident.state is not IncidentStatus.RESOLVED and _settled(
            incident, now, _Unread(unread, last_read, events_unread)
        ):
            changed.add(incident.id)
    for incident in out:
        if incident.id in changed:
            incident.updated_at = max(incident.updated_at, now)  # the last change
    return out, changed | noted


def _noted_acknowledged(incident: Incident) -> bool:
    """An acknowledged incident whose severity acknowledged is not noted (acknowledged in
    the store, or stored before it was kept) notes the severity it has: an acknowledgement
    changes none, so it is the one acknowledged (for a row stored before, the best known).
    Whether it was noted."""
    if (incident.state is not IncidentStatus.ACKNOWLEDGED
            or incident.acknowledged_severity is not None):  # fmt: skip
        return False
    incident.acknowledged_severity = incident.severity
    return True


#: the sources (a cluster's truth's coverage keys) each kind of signal is read from, by how
#: its key begins: alerts from Alertmanager, and from the Prometheus that raises them (it
#: evaluates the rules: lost, Alertmanager, still answering, lets its alerts go at their
#: endsAt; an acknowledged incident resolved, and the alert back opened a new one);
#: findings (GPU, PTP, Kubernetes by kube-state-metrics) and anomalies from Prometheus;
#: SR-IOV's node states and Warning events from the Kubernetes API (events also by
#: ``group``'s ``events_unread``). A kind not named here is read from any (held while any
#: source is lost)
READ_FROM: Mapping[str, frozenset[str]] = MappingProxyType({
    "alert": frozenset({"alerts", "metrics"}),
    "anomaly": frozenset({"metrics", "findings"}),
    "GPU": frozenset({"metrics", "findings"}),
    "PTP": frozenset({"metrics", "findings"}),
    "Kubernetes": frozenset({"metrics", "findings"}),
    "SR-IOV": frozenset({"kubernetes", "findings"}),
    EVENT_KEY.rstrip("|"): frozenset({"kubernetes"}),
})  # fmt: skip
#: a source as a held incident says it ("held open: Alertmanager of east cannot be read")
SOURCE_WORDS: Mapping[str, str] = MappingProxyType({
    "metrics": "Prometheus", "findings": "Prometheus", "alerts": "Alertmanager",
    "kubernetes": "Kubernetes API",
})  # fmt: skip


@dataclass(frozen=True)
class _Unread:
    """What cannot be read now (``group``'s ``unread``, ``last_read``, ``events_unread``)."""

    clusters: Collection[str] | Mapping[str, Collection[str]]
    last_read: Mapping[str, datetime]
    events: Mapping[str, datetime | None]

    def lost(self, signal: IncidentSignal) -> set[str] | None:
        """The sources ``signal`` is read from that cannot be read now (empty: none); None
        where its cluster is unread and which of its sources is not known (it is held)."""
        if signal.cluster not in self.clusters:
            return set()
        if not isinstance(self.clusters, Mapping):
            return None
        lost = set(self.clusters[signal.cluster])
        read_from = READ_FROM.get(signal.key.partition("|")[0])
        return lost if read_from is None else lost & read_from


def _settled(incident: Incident, now: datetime, unread: _Unread) -> bool:
    """An incident not resolved after this refresh's signals: its record bounded, its
    severity, title and held clusters brought up to date, OPEN again where a signal first
    grouped after its acknowledgement made it worse, resolved when its signals above INFO
    ended. Whether it changed."""
    changed = _let_go(incident, now) > 0
    before = incident.severity
    changed = _headed(incident) or changed
    changed = _reopened(incident, before, now) or changed
    dark, said = _holding(incident, unread)
    kept, more = dark[:UNREAD_KEPT], max(0, len(dark) - UNREAD_KEPT)
    held = (kept, more, said[:UNREAD_KEPT])
    if held != (incident.unread, incident.unread_more, incident.held_by):  # page, CLI
        incident.unread, incident.unread_more, incident.held_by = held
        changed = True
    last = _last_seen(incident, default=incident.opened_at)
    if now - last >= RESOLVE_AFTER and not dark:  # (ended before it was grouped: at once)
        incident.state, incident.resolved_at = IncidentStatus.RESOLVED, now
        changed = True
    return changed


def _holding(incident: Incident, unread: _Unread) -> tuple[list[str], list[str]]:
    """Its clusters that cannot be read now whose last read may have shown a signal of it
    (unseen since, not ended) read from a source lost (``_Unread.lost``), by name; then, as
    "Warning events of <cluster>", those whose Warning events alone cannot be read, where a
    signal of it was made of them (its other signals are read). Judged by ``_unseen``. And
    the same in words: each cluster by the sources lost ("Alertmanager of east"), where
    they are known."""
    dark: dict[str, set[str]] = {}
    for s in incident.signals:
        lost = unread.lost(s)
        if (lost is None or lost) and _unseen(s, unread.last_read.get(s.cluster)):
            dark.setdefault(s.cluster, set()).update(lost or ())
    events = {s.cluster for s in incident.signals if s.key.startswith(EVENT_KEY)
              and s.cluster in unread.events and _unseen(s, unread.events[s.cluster])}  # fmt: skip
    said = [f"Warning events of {name}" for name in sorted(events - dark.keys())]
    return sorted(dark) + said, [_said(name, dark[name]) for name in sorted(dark)] + said


def _said(cluster: str, sources: set[str]) -> str:
    """A cluster as what holds an incident open: by its sources lost ("Alertmanager of
    east"), by name where they are not known."""
    words = sorted({SOURCE_WORDS.get(k, k) for k in sources})
    return f"{' and '.join(words)} of {cluster}" if words else cluster


def _unseen(signal: IncidentSignal, read: datetime | None) -> bool:
    """Whether a read at ``read``, the last of its source, may have shown ``signal`` (unseen
    since, not ended): one at a time not known (None: not read since a start), or one that
    showed it going on above INFO (``_going_on``); not one after it had ended (an alert
    cleared at 12:06 while its cluster was read, the cluster dark from 12:08 for days: it
    ended, the cluster holds nothing)."""
    return read is None or (signal.severity is not FindingSeverity.INFO
                            and _going_on(signal, read))  # fmt: skip


def _going_on(signal: IncidentSignal, read: datetime) -> bool:
    """Whether the read at ``read`` showed ``signal`` going on: offered by that read or a
    later one (``_offered``: a signal is offered when the read showing it is grouped, after
    it; a BackOff event repeating every 5 minutes, read at 12:07 showing its 12:05 repeat, was
    judged by its 12:05 and ended), and seen within RESOLVE_AFTER before it (an event is
    offered for an hour after its last repeat: one quiet for half an hour had ended as far as
    its incident goes)."""
    return _offered(signal) >= read and read - signal.last_seen < RESOLVE_AFTER


def _offered(signal: IncidentSignal) -> datetime:
    """When a read last showed ``signal`` going on (``IncidentSignal.offered_at``)."""
    return signal.offered_at or signal.last_seen


def _reopened(incident: Incident, before: FindingSeverity, now: datetime) -> bool:
    """An acknowledged incident made worse than it was (``before``) by a signal first grouped
    into it after the acknowledgement (a problem the user had not seen, whenever it began: an
    alert that started a minute before may be polled a minute after), or by a signal grown
    worse than the severity acknowledged then (``acknowledged_severity``: a node's memory
    anomaly, INFO under a WARNING acknowledged, now CRITICAL; a WARNING acknowledged, now
    CRITICAL: an acknowledgement covers no more than was seen), is OPEN again, and says why;
    whether it was. A signal stored without ``grouped_at`` counts from when it began."""
    acked = incident.acknowledged_at
    if incident.state is not IncidentStatus.ACKNOWLEDGED or acked is None:
        return False
    rank = SEVERITY_RANK[before]
    worse = [s for s in incident.signals
             if SEVERITY_RANK[s.severity] < rank and _grouped(s) > acked]  # fmt: skip
    if worse:
        news = min(worse, key=lambda s: (SEVERITY_RANK[s.severity], _grouped(s)))
        why = "first seen after the acknowledgement"
    elif grown := _grown(incident, acked):
        news, then = grown
        seen = incident.acknowledged_severity
        why = f"(it was {then.value}, the incident {seen and seen.value} when acknowledged)"
    else:
        return False
    incident.state, incident.reopened_at = IncidentStatus.OPEN, now
    incident.acknowledged_severity = None  # noted again at the next acknowledgement
    incident.reopened_because = (
        f"open again: {news.severity.value} {news.cluster}: {news.subject}: "
        f"{_headline(news.reason)} {why}"
    )
    return True


def _grown(incident: Incident, acked: datetime) -> tuple[IncidentSignal, FindingSeverity] | None:
    """Its worst signal grouped by the acknowledgement (at ``acked``) that was no worse than
    the severity acknowledged then and is worse than it now, with its severity then (its
    version of then, ``as_of``); None where none is (or that severity is not noted)."""
    seen = incident.acknowledged_severity
    if seen is None:
        return None
    grown = [(s, then) for s in incident.signals
             if SEVERITY_RANK[s.severity] < SEVERITY_RANK[seen] and _grouped(s) <= acked
             and SEVERITY_RANK[then := s.as_of(acked).severity] >= SEVERITY_RANK[seen]]  # fmt: skip
    return min(grown, key=lambda g: worst_first(g[0]), default=None)


def _grouped(signal: IncidentSignal) -> datetime:
    """When a signal was first grouped into its incident (stored before that was kept: when
    it began)."""
    return signal.grouped_at or signal.first_seen


def _headed(incident: Incident) -> bool:
    """Its severity (its worst signal's) and title brought up to its signals; whether the
    title changed."""
    worst = incident.worst
    if worst is not None:
        incident.severity = worst.severity
    title = _title(incident)
    changed, incident.title = title != incident.title, title
    return changed


def as_it_stood(incident: Incident, at: datetime) -> Incident | None:
    """``incident`` as it stood at ``at``, as a report of a past period shows it: only the
    signals seen by then, each in its version of then (its last seen no later), its state,
    severity and title of then (acknowledged or resolved only if that happened by then);
    None when it had not opened. Signals let go (``signals_dropped``) were seen between its
    first and its newest kept ones: counted only when every kept one was seen by then. Which
    clusters held it open then is not kept: none is said."""
    kept = [s for s in incident.signals if s.first_seen <= at]
    if incident.opened_at > at or not kept:
        return None
    signals = [s.as_of(at).model_copy(update={"last_seen": min(s.last_seen, at)}) for s in kept]
    acknowledged, resolved = _by(incident.acknowledged_at, at), _by(incident.resolved_at, at)
    reopened = _by(incident.reopened_at, at)
    if acknowledged and reopened and reopened >= acknowledged:  # open again by then
        acknowledged = None
    state = (IncidentStatus.RESOLVED if resolved else
             IncidentStatus.ACKNOWLEDGED if acknowledged else IncidentStatus.OPEN)  # fmt: skip
    then = incident.model_copy(update={
        "signals": signals, "state": state, "acknowledged_at": acknowledged,
        "resolved_at": resolved, "updated_at": min(incident.updated_at, at), "unread": [],
        "unread_more": 0, "held_by": [], "reopened_at": reopened,
        "acknowledged_severity": incident.acknowledged_severity if acknowledged else None,
        "reopened_because": incident.reopened_because if reopened else "",
        "signals_dropped": incident.signals_dropped if len(kept) == len(incident.signals) else 0,
    })  # fmt: skip
    _headed(then)
    return then


def _by(when: datetime | None, at: datetime) -> datetime | None:
    """``when``, if it had happened by ``at``."""
    return when if when is not None and when <= at else None


def acknowledge(incident: Incident, now: datetime) -> Incident:
    if incident.state is not IncidentStatus.OPEN:
        return incident
    return incident.model_copy(update={"state": IncidentStatus.ACKNOWLEDGED,
                                       "acknowledged_at": now,
                                       "acknowledged_severity": incident.severity})  # fmt: skip
