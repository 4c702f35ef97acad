"""Discovery: what a cluster runs and where its observability endpoints are
(docs/architecture.md#rules).

Read-only lists through the Kubernetes collector, then plain functions over the objects:
Prometheus/Thanos and Alertmanager (OpenShift routes in ``openshift-monitoring``, else the
usual namespaces), LokiStack and TempoStack gateways, the GPU operator (ClusterPolicy, node
labels, allocatable ``nvidia.com/gpu``), PTP (PtpConfig, NodePtpDevice), SR-IOV
(SriovNetworkNodeState, SriovNetwork), CNF workloads typed by namespace and component label,
and the platform (OpenShift ClusterVersion, else ``/version``).

A missing operator (its CRD answers 404) is a normal answer; a read the credentials may not do
is listed as such. Only addresses reachable from outside (routes) become endpoints (a
TempoStack gateway's with its tenant's path); in-cluster service addresses are reported, not
used, as is a gateway whose tenant cannot be read. An endpoint the user typed in is never
replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from aiops_desktop.models import Cluster, Endpoint, EndpointKind, utcnow
from aiops_desktop.models.cluster import ClusterCapabilities
from aiops_desktop.models.enums import AuthMethod, CNFType, EndpointSource, Platform
from aiops_desktop.models.errors import AppError
from aiops_desktop.services.clusters.connections import (
    ClientPool,
    credential_may_travel,
    kube_signature,
)
from aiops_desktop.services.clusters.registry import (
    ClusterNotFoundError,
    ClusterRegistry,
    cluster_credential_auth,
)
from aiops_desktop.services.kube.validation import has_kube_api, version_text
from aiops_desktop.services.runtime.bus import CLUSTER_REMOVED, CLUSTERS_CHANGED, EventBus
from aiops_desktop.services.runtime.gathering import gather_all
from collectors.errors import CollectorError, CollectorTimeout, KubeForbidden, KubeNotFound
from collectors.kubernetes import KubeClient
from collectors.shapes import malformed_as
from collectors.tempo import api_prefix

log = logging.getLogger("aiops.services.discovery")

Obj = dict[str, Any]

#: one discovery's whole time: each request has its own deadline, but an API server answering
#: every page just in time (a slow or hostile one; hundreds of pages) held it for hours
DISCOVER_WITHIN_S = 300.0
#: background discoveries run at once: one slow cluster takes one of them, not the loop
DISCOVER_AT_ONCE = 4


class DiscoveryDiscarded(AppError):
    """A discovery not applied: its cluster was removed, or its API server or credential
    changed, while it ran. What that API server named (routes) is not this cluster's."""


#: What discovery lists: name -> API path (cluster-wide lists).
READS: dict[str, str] = {
    "namespaces": "/api/v1/namespaces",
    "nodes": "/api/v1/nodes",
    "services": "/api/v1/services",
    "pods": "/api/v1/pods",
    "routes": "/apis/route.openshift.io/v1/routes",
    "clusterversions": "/apis/config.openshift.io/v1/clusterversions",
    "clusterpolicies": "/apis/nvidia.com/v1/clusterpolicies",
    "ptpconfigs": "/apis/ptp.openshift.io/v1/ptpconfigs",
    "nodeptpdevices": "/apis/ptp.openshift.io/v1/nodeptpdevices",
    "sriovnetworknodestates": "/apis/sriovnetwork.openshift.io/v1/sriovnetworknodestates",
    "sriovnetworks": "/apis/sriovnetwork.openshift.io/v1/sriovnetworks",
    "lokistacks": "/apis/loki.grafana.com/v1/lokistacks",
    "tempostacks": "/apis/tempo.grafana.com/v1alpha1/tempostacks",
}

MONITORING_NAMESPACES = ("openshift-monitoring", "monitoring", "prometheus")
LOGGING_NAMESPACES = ("openshift-logging",)
TRACING_NAMESPACES = ("openshift-distributed-tracing", "tracing", "openshift-tempo-operator")
CNF_PREFIXES: dict[str, CNFType] = {
    "du-": CNFType.VDU,
    "cu-": CNFType.VCU,
    "upf-": CNFType.UPF,
    "amf-": CNFType.AMF,
    "smf-": CNFType.SMF,
    "nrf-": CNFType.NRF,
    "ran-": CNFType.OTHER,
    "5g-": CNFType.OTHER,
}
_COMPONENTS = {t.value.lower().lstrip("v"): t for t in CNFType if t is not CNFType.OTHER}

#: each capability (by ClusterCapabilities.present()'s name): its fields and the reads (of
#: READS) it is concluded from. Not found while one of those reads was denied (403) says
#: nothing: the capability is "unreadable", and the value known before is kept.
CAPABILITY_SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gpus": (("gpu_nodes", "gpu_count", "gpu_types"), ("nodes",)),
    "gpu operator": (("has_gpu_operator",), ("clusterpolicies",)),
    "ptp": (("has_ptp",), ("ptpconfigs", "nodeptpdevices")),
    "sr-iov": (("has_sriov",), ("sriovnetworknodestates", "sriovnetworks")),
    "prometheus": (("has_prometheus",), ("routes", "services")),
    "thanos": (("has_thanos",), ("routes", "services")),
    "loki": (("has_loki",), ("lokistacks", "routes", "services")),
    "tempo": (("has_tempo",), ("tempostacks", "routes", "services")),
    "service mesh": (("has_service_mesh",), ("namespaces",)),
    "cnf": (("has_cnf", "cnf_types"), ("namespaces", "pods")),
}


@dataclass
class Found:
    """One discovered endpoint: where it is, how it was found, whether we can use it."""

    kind: EndpointKind
    url: str
    how: str
    #: used as an endpoint: a route (reachable from the desktop) to the API; else only reported
    #: (an in-cluster service, a gateway's route whose tenant is not known)
    external: bool
    namespace: str = ""  # where it was found: the cluster's credential goes only to a platform's


@dataclass
class Discovery:
    cluster: str
    platform: Platform = Platform.KUBERNETES
    platform_version: str | None = None
    endpoints: list[Found] = field(default_factory=list)
    capabilities: ClusterCapabilities = field(default_factory=ClusterCapabilities)
    ptp_profiles: list[str] = field(default_factory=list)
    ptp_devices: dict[str, list[str]] = field(default_factory=dict)  # node -> interfaces
    sriov_nodes: dict[str, str] = field(default_factory=dict)  # node -> syncStatus
    sriov_networks: list[str] = field(default_factory=list)
    cnf_namespaces: dict[str, str] = field(default_factory=dict)  # namespace -> type
    absent: list[str] = field(default_factory=list)  # APIs not served (operator not installed)
    denied: list[str] = field(default_factory=list)  # reads the credentials may not do
    vanished: list[str] = field(default_factory=list)
    #: capabilities not found while a read they come from was denied: not known, kept as before
    unreadable: list[str] = field(default_factory=list)
    checked_at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["platform"] = self.platform.value
        data["checked_at"] = self.checked_at.isoformat()
        data["endpoints"] = [{**asdict(f), "kind": f.kind.value} for f in self.endpoints]
        data["capabilities"] = self.capabilities.model_dump(mode="json")
        return data


# -- reading -------------------------------------------------------------------------------------
async def read_all(client: KubeClient) -> tuple[dict[str, list[Obj]], list[str], list[str]]:
    """Every list of READS in parallel: (objects by name, absent APIs, denied reads)."""

    async def one(name: str, path: str) -> tuple[str, list[Obj] | None, str | None]:
        try:
            items, _ = await client.list(path)
        except KubeNotFound:
            return name, None, "absent"
        except KubeForbidden:
            return name, None, "denied"
        return name, items, None

    answers = await gather_all(*(one(n, p) for n, p in READS.items()))
    objects = {name: items or [] for name, items, _ in answers}
    absent = [name for name, _, why in answers if why == "absent"]
    denied = [name for name, _, why in answers if why == "denied"]
    return objects, absent, denied


# -- plain functions over the objects ------------------------------------------------------------
def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _route_url(route: Obj) -> str | None:
    spec = route.get("spec") or {}
    host = spec.get("host")
    if not host:
        return None
    scheme = "https" if spec.get("tls") else "http"
    return f"{scheme}://{host}{spec.get('path') or ''}".rstrip("/")


def _service_url(service: Obj, *, prefer: tuple[str, ...] = ("web", "https", "http")) -> str:
    meta = _meta(service)
    ports = (service.get("spec") or {}).get("ports") or [{}]
    chosen = next((p for name in prefer for p in ports if p.get("name") == name), ports[0])
    port = chosen.get("port", 80)
    scheme = "https" if "https" in str(chosen.get("name", "")) or port in (443, 9091) else "http"
    return f"{scheme}://{meta.get('name')}.{meta.get('namespace')}.svc:{port}"


def _by_name(objs: list[Obj], namespace: str, name: str) -> Obj | None:
    wanted = (namespace, name)
    return next(
        (o for o in objs if (_meta(o).get("namespace"), _meta(o).get("name")) == wanted), None
    )


def find_metrics_endpoints(routes: list[Obj], services: list[Obj]) -> list[Found]:
    """Prometheus/Thanos and Alertmanager: OpenShift routes first, then services."""
    found: list[Found] = []
    wanted = (
        (EndpointKind.PROMETHEUS, ("thanos-querier", "prometheus-k8s", "prometheus")),
        (EndpointKind.ALERTMANAGER, ("alertmanager-main", "alertmanager")),
    )
    for kind, names in wanted:
        hit = _first_route(routes, names) or _first_service(services, names)
        if hit is not None:
            found.append(Found(kind, *hit))
    return found


def _first_route(routes: list[Obj], names: tuple[str, ...]) -> tuple[str, str, bool, str] | None:
    for namespace in MONITORING_NAMESPACES:
        for name in names:
            route = _by_name(routes, namespace, name)
            url = _route_url(route) if route else None
            if url:
                return url, f"route {namespace}/{name}", True, namespace
    return None


def _first_service(
    services: list[Obj], names: tuple[str, ...]
) -> tuple[str, str, bool, str] | None:
    for namespace in MONITORING_NAMESPACES:
        for name in names:
            service = _by_name(services, namespace, name)
            if service:
                how = f"service {namespace}/{name} (in-cluster)"
                return _service_url(service), how, False, namespace
    return None


def find_stack_gateway(
    kind: EndpointKind,
    stacks: list[Obj],
    routes: list[Obj],
    services: list[Obj],
    *,
    namespaces: tuple[str, ...],
    gateway_names: tuple[str, ...],
    api_path: Callable[[Obj], str | None] = lambda _stack: "",
    in_cluster_names: tuple[str, ...] = (),
) -> Found | None:
    """A LokiStack / TempoStack gateway: its route if exposed, else its gateway service.
    ``api_path``: where the stack's API is below its gateway's root (a TempoStack's tenant),
    None where it cannot be told: such a route is reported, not used (its root answers every
    read 404). ``in_cluster_names``: services that serve the API in-cluster whose route does
    not (a TempoStack's query frontend: its route is the Jaeger UI)."""
    for stack in stacks:
        meta = _meta(stack)
        namespace, name = meta.get("namespace"), meta.get("name")
        if namespace not in namespaces:
            continue
        path = api_path(stack)
        candidates = [g.format(name=name) for g in gateway_names]
        for candidate in candidates:
            route = _by_name(routes, namespace, candidate)
            url = _route_url(route) if route else None
            if url:
                how = f"route {namespace}/{candidate} ({stack['kind']})"
                if path is None:
                    how += ": its gateway serves only a tenant's paths, and no tenant was read"
                return Found(kind, url + (path or ""), how, path is not None, str(namespace))
        own = [g.format(name=name) for g in in_cluster_names]
        for candidate in candidates + own:
            service = _by_name(services, namespace, candidate)
            if service:
                how = f"service {namespace}/{candidate} ({stack['kind']}, in-cluster)"
                url = _service_url(service, prefer=("public", "http"))
                below = (path or "") if candidate in candidates else ""
                return Found(kind, url + below, how, False, str(namespace))
    return None


#: the multitenancy modes whose tenants a TempoStack names in ``spec.tenants.authentication``
#: (the operator's gateway config lists no tenant in any other)
TEMPO_TENANT_MODES = ("static", "openshift")


def tempostack_tenant_path(stack: Obj) -> str | None:
    """Where a TempoStack gateway serves Tempo's API: its first tenant's
    ``/api/traces/v1/<tenantName>`` (the Tempo client reads ``.../tempo/api/...`` under it),
    in either mode (static, the default, or openshift). None where the stack names no tenant
    (no ``spec.tenants``: its gateway cannot run) or none the Tempo client can address."""
    tenants = (stack.get("spec") or {}).get("tenants") or {}
    if tenants.get("mode", "static") not in TEMPO_TENANT_MODES:
        return None
    named = (a.get("tenantName") for a in tenants.get("authentication") or [])
    paths = (f"/api/traces/v1/{n}" for n in named if isinstance(n, str))
    return next((p for p in paths if api_prefix(p)), None)


def gpu_inventory(nodes: list[Obj]) -> tuple[int, int, list[str]]:
    """(GPU nodes, GPUs, GPU models) from node labels and allocatable ``nvidia.com/gpu``."""
    gpu_nodes = gpus = 0
    models: set[str] = set()
    for node in nodes:
        labels = _meta(node).get("labels") or {}
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        try:
            count = int(str(allocatable.get("nvidia.com/gpu", "0")))
        except ValueError:
            count = 0
        if count > 0 or labels.get("nvidia.com/gpu.present") == "true":
            gpu_nodes += 1
            gpus += count
            if labels.get("nvidia.com/gpu.product"):
                models.add(labels["nvidia.com/gpu.product"])
    return gpu_nodes, gpus, sorted(models)


def namespace_cnf_type(namespace: str) -> CNFType | None:
    """The CNF type a namespace's name implies (``du-*`` vDU, ``cu-*`` vCU, ``upf-*`` UPF,
    ``amf-*`` AMF, ``smf-*`` SMF, ``nrf-*`` NRF, ``ran-*``/``5g-*`` other), or None."""
    for prefix, kind in CNF_PREFIXES.items():
        if namespace.startswith(prefix):
            return kind
    return None


def component_cnf_type(labels: Mapping[str, str]) -> CNFType | None:
    """The CNF type an ``app.kubernetes.io/component`` label names (du, vdu, cu, upf, amf,
    smf, nrf, any case), or None."""
    component = str(labels.get("app.kubernetes.io/component", ""))
    return _COMPONENTS.get(re.sub(r"^v", "", component.lower()))


def cnf_workloads(namespaces: list[Obj], pods: list[Obj]) -> dict[str, str]:
    """namespace -> CNF type, from namespace prefixes and ``app.kubernetes.io/component``."""
    found: dict[str, str] = {}
    for ns in namespaces:
        name = str(_meta(ns).get("name", ""))
        kind = namespace_cnf_type(name)
        if kind is not None:
            found[name] = kind.value
    for pod in pods:
        meta = _meta(pod)
        typed = component_cnf_type(meta.get("labels") or {})
        if typed is not None:
            namespace = str(meta.get("namespace", ""))
            if found.get(namespace) in (None, CNFType.OTHER.value):
                found[namespace] = typed.value
    return found


def platform_of(
    clusterversions: list[Obj], version: Mapping[str, Any]
) -> tuple[Platform, str | None]:
    """The platform and its version, one printable line (``version_text``): the server's
    text, stored as the cluster's and printed by the CLI and the Details tab (a line break
    in a gitVersion forged lines there; a megabyte of one was kept whole)."""
    for cv in clusterversions:
        status = cv.get("status") or {}
        desired = version_text((status.get("desired") or {}).get("version"))
        history = (version_text(h.get("version")) for h in status.get("history") or [])
        return Platform.OPENSHIFT, desired or next((v for v in history if v), None)
    return Platform.KUBERNETES, version_text(version.get("gitVersion"))


@malformed_as("an object discovery read")
def interpret(
    name: str,
    objects: Mapping[str, list[Obj]],
    version: Mapping[str, Any],
    absent: list[str],
    denied: list[str],
) -> Discovery:
    """Everything discovery concludes from the listed objects (pure: easy to test)."""
    routes, services = objects.get("routes", []), objects.get("services", [])
    platform, platform_version = platform_of(objects.get("clusterversions", []), version)
    found = find_metrics_endpoints(routes, services)
    loki = find_stack_gateway(
        EndpointKind.LOKI, objects.get("lokistacks", []), routes, services,
        namespaces=LOGGING_NAMESPACES, gateway_names=("{name}", "{name}-gateway-http"),
    )  # fmt: skip
    tempo = find_stack_gateway(
        EndpointKind.TEMPO, objects.get("tempostacks", []), routes, services,
        namespaces=TRACING_NAMESPACES, gateway_names=("tempo-{name}-gateway",),
        api_path=tempostack_tenant_path, in_cluster_names=("tempo-{name}-query-frontend",),
    )  # fmt: skip
    found += [f for f in (loki, tempo) if f is not None]
    gpu_nodes, gpus, models = gpu_inventory(objects.get("nodes", []))
    cnf = cnf_workloads(objects.get("namespaces", []), objects.get("pods", []))
    devices = {
        str(_meta(d).get("name")): [
            str(i.get("name")) for i in (d.get("status") or {}).get("devices") or []
        ]
        for d in objects.get("nodeptpdevices", [])
    }
    sriov_nodes = {
        str(_meta(s).get("name")): str((s.get("status") or {}).get("syncStatus", "Unknown"))
        for s in objects.get("sriovnetworknodestates", [])
    }
    namespaces = {str(_meta(n).get("name")) for n in objects.get("namespaces", [])}
    prometheus = next((f for f in found if f.kind is EndpointKind.PROMETHEUS), None)
    capabilities = ClusterCapabilities(
        gpu_nodes=gpu_nodes,
        gpu_count=gpus,
        gpu_types=models,
        has_prometheus=prometheus is not None,
        has_thanos=prometheus is not None and "thanos" in prometheus.how,
        has_loki=loki is not None,
        has_tempo=tempo is not None,
        has_service_mesh="istio-system" in namespaces,
        has_cnf=bool(cnf),
        cnf_types=sorted({CNFType(t) for t in cnf.values()}, key=list(CNFType).index),
        has_ptp=bool(objects.get("ptpconfigs")) or bool(devices),
        has_sriov=bool(objects.get("sriovnetworknodestates")) or bool(objects.get("sriovnetworks")),
        has_gpu_operator=bool(objects.get("clusterpolicies")),
        discovered_at=utcnow(),
    )
    return Discovery(
        cluster=name,
        platform=platform,
        platform_version=platform_version,
        endpoints=found,
        capabilities=capabilities,
        ptp_profiles=sorted(str(_meta(p).get("name")) for p in objects.get("ptpconfigs", [])),
        ptp_devices=devices,
        sriov_nodes=sriov_nodes,
        sriov_networks=sorted(str(_meta(n).get("name")) for n in objects.get("sriovnetworks", [])),
        cnf_namespaces=cnf,
        absent=absent,
        denied=denied,
        unreadable=unreadable_capabilities(capabilities, denied),
    )


def unreadable_capabilities(found: ClusterCapabilities, denied: list[str]) -> list[str]:
    """The capabilities ``found`` does not have while a read they come from was denied: an
    empty answer to a read we may not do says nothing (a narrower role is not a smaller
    cluster). One found all the same (Prometheus from its service, routes denied) is known."""
    present = found.present()
    return sorted(
        name
        for name, (_fields, reads) in CAPABILITY_SOURCES.items()
        if name not in present and any(r in denied for r in reads)
    )


async def discover(client: KubeClient) -> Discovery:
    """List what discovery needs and interpret it. Raises CollectorError when the API server
    cannot be reached at all (an absent or forbidden API is part of the answer). /version
    closed to this user (validation goes on too) is a denied read, "version": no version
    known, the one stored kept (``merged``)."""
    closed: list[str] = []
    try:
        version = await client.get("/version")
    except KubeForbidden:
        version, closed = {}, ["version"]
    objects, absent, denied = await read_all(client)
    return interpret(client.name, objects, version, absent, [*closed, *denied])


# -- applying it to the registered cluster -------------------------------------------------------
def merged(cluster: Cluster, found: Discovery) -> Cluster:
    """The cluster with the discovery applied: capabilities and platform replaced, vanished
    capabilities flagged, external endpoints added or refreshed unless the user set that kind.
    A kind found but not used (only reported) drops the endpoint an earlier discovery stored
    for it (a TempoStack's query-frontend route, its Jaeger UI, or a tenant-less gateway's
    root: every search answered 404), unless the routes could not be read (a 403 leaves
    only the in-cluster service found, which says nothing of the route stored).
    A capability ``found.unreadable`` (a read it comes from was denied) keeps its value from
    before and is not flagged vanished: a 403 is no answer ("no GPUs" from a role that may
    not list nodes turned a GPU cluster into a plain one). So is /version's ("version"
    denied): the version stored is kept unless a ClusterVersion gave one (it was stored
    None)."""
    endpoints = list(cluster.endpoints)
    for f in found.endpoints:
        current = cluster.endpoint(f.kind)
        if current is not None and current.source is EndpointSource.USER:
            continue  # the user's override wins
        if not f.external and "routes" in found.denied:
            continue
        endpoints = [e for e in endpoints if e.kind is not f.kind]
        if f.external:
            endpoints.append(_endpoint_for(cluster, f))
    before = cluster.capabilities
    kept: dict[str, object] = {}  # what a denied read would have told: as known before
    for name in found.unreadable:
        fields, _reads = CAPABILITY_SOURCES.get(name, ((), ()))
        kept |= {f: getattr(before, f) for f in fields}
    capabilities = found.capabilities.model_copy(update=kept)
    vanished = sorted(before.present() - capabilities.present())
    if before.discovered_at is None:
        vanished = []  # the first discovery: nothing was known before
    found.vanished = vanished
    capabilities = capabilities.model_copy(update={"vanished": vanished})
    update: dict[str, object] = {"endpoints": endpoints, "capabilities": capabilities}
    if "clusterversions" not in found.denied:  # unreadable: the platform is not known better
        update["platform"] = found.platform
        # /version denied: the version stored stays, of the same platform only (another's
        # was paired with this one: OPENSHIFT v1.29.8)
        same = found.platform is cluster.platform
        if found.platform_version is not None or "version" not in found.denied or not same:
            update["platform_version"] = found.platform_version
    return cluster.model_copy(update=update)


#: namespaces only the platform can make (OpenShift refuses a project request named so): a
#: route in one is the platform's. Any other (``monitoring``, ``tracing``) a tenant may make
#: and route anywhere, so the cluster's credential is never sent to it unasked.
PLATFORM_NAMESPACES = ("openshift-", "kube-")


def _endpoint_for(cluster: Cluster, found: Found) -> Endpoint:
    """OpenShift routes in a platform namespace take the cluster's own credential, over TLS
    only: a route without TLS gets none (the token would cross the network in clear), nor
    does one in a namespace a tenant could have made (its host may be anyone's)."""
    trusted = found.namespace.startswith(PLATFORM_NAMESPACES)
    ref = cluster.credential if trusted and credential_may_travel(found.url) else None
    return Endpoint(
        kind=found.kind,
        url=found.url,
        source=EndpointSource.DISCOVERED,
        auth=cluster_credential_auth(ref) if ref else AuthMethod.NONE,
        credential=ref,
        # verified whatever the cluster says: its tls_verify (a kubeconfig's
        # insecure-skip-tls-verify) was chosen for the API server, and a route is another host
        # (the ingress) that gets the bearer token. The cluster's CA bundle is trusted for it
        # beside the system's CAs (the pool's fallback): an ingress signed by the cluster's
        # own CA works, and so does one the system vouches for.
        tls_verify=True,
    )


class DiscoveryService:
    """Discovery on demand, for new clusters, and again every 24 h (a supervised task)."""

    EVERY = timedelta(hours=24)
    RETRY_AFTER_S = 600.0  # after a failed attempt (cluster unreachable)

    def __init__(self, registry: ClusterRegistry, pool: ClientPool, bus: EventBus) -> None:
        self._registry = registry
        self._pool = pool
        self._wake = asyncio.Event()
        self._failed_at: dict[str, float] = {}
        #: the discoveries under way, by cluster id: a removed cluster's are stopped
        self._running: dict[UUID, set[asyncio.Task[Discovery]]] = {}
        self._unsubscribe = [
            bus.subscribe(CLUSTERS_CHANGED, lambda _c: self._wake.set()),
            bus.subscribe(CLUSTER_REMOVED, self._stop_removed),
        ]

    @property
    def failed(self) -> set[str]:
        """Clusters whose last background discovery failed (retried after RETRY_AFTER_S)."""
        return set(self._failed_at)

    def _stop_removed(self, cluster: Cluster) -> None:
        """A removed cluster's discovery is of use to no one: stopped (its run says so); and
        its failure is forgotten (one registered again by its name, its URL set right, is
        discovered at once, not RETRY_AFTER_S later)."""
        for reading in self._running.get(cluster.id, ()):
            reading.cancel()
        self._failed_at.pop(cluster.name, None)

    async def run(self, name: str) -> Discovery:
        """Discover one cluster now, within DISCOVER_WITHIN_S, and store what was found.
        Raises CollectorError (CollectorTimeout past the limit), and DiscoveryDiscarded when the
        cluster was removed, or its API server or credential changed, while it was discovered:
        what one API server named (its routes) never lands on another's cluster, with that
        cluster's credential (a hostile server answering slowly chose the moment)."""
        cluster = self._registry.get(name)
        signature = kube_signature(cluster)
        client = await self._pool.kube(cluster)
        reading = asyncio.create_task(discover(client), name=f"discover-{name}")
        running = self._running.setdefault(cluster.id, set())
        running.add(reading)
        try:
            async with asyncio.timeout(DISCOVER_WITHIN_S):
                found = await reading  # a cancel or the limit stops the reading too
        except TimeoutError as exc:
            why = f"discovery of {name} took over {DISCOVER_WITHIN_S:.0f} s: stopped"
            raise CollectorTimeout(why, backend=name) from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if reading.cancelled() and task is not None and not task.cancelling():
                why = f"{name} was removed while it was discovered: nothing of it applied"
                log.warning("discovery not applied", extra={"cluster": name, "why": why})
                raise DiscoveryDiscarded(why) from None  # the reading was stopped, not us
            raise
        finally:
            running.discard(reading)
            if not running and self._running.get(cluster.id) is running:
                del self._running[cluster.id]

        def apply(now: Cluster) -> Cluster:
            if now.id != cluster.id:
                changed = "was removed and added again"
            elif kube_signature(now) != signature:
                changed = "changed its API server or credential"
            else:
                return merged(now, found)  # as it is by now
            why = f"{name} {changed} while it was discovered: nothing applied; discover again"
            raise DiscoveryDiscarded(why)

        try:
            await self._registry.change(name, apply)
        except DiscoveryDiscarded as exc:
            log.warning("discovery not applied", extra={"cluster": name, "why": str(exc)})
            raise
        if found.vanished:
            log.warning("capabilities vanished", extra={"cluster": name, "gone": found.vanished})
        if found.unreadable:
            log.info("capabilities unreadable, kept as before",
                     extra={"cluster": name, "unreadable": found.unreadable,
                            "denied": found.denied})  # fmt: skip
        return found

    def due(self, now: float) -> list[str]:
        """Clusters with a Kubernetes API never discovered, or discovered over 24 h ago."""
        out = []
        for c in self._registry.clusters():
            if not has_kube_api(c):
                continue
            if now - self._failed_at.get(c.name, -math.inf) < self.RETRY_AFTER_S:
                continue
            at = c.capabilities.discovered_at
            if at is None or utcnow() - at >= self.EVERY:
                out.append(c.name)
        return out

    async def run_periodic(self, check_every_s: float = 600.0) -> None:
        """Discover the due clusters, DISCOVER_AT_ONCE at a time: each worker takes the next
        one, so a slow cluster (DISCOVER_WITHIN_S at most) holds one worker, and a cluster
        registered meanwhile is discovered by another (one after another, a slow one held
        them all). Stopped, every discovery under way is stopped and waited for."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        taken: set[str] = set()  # queued or under way: not queued again

        async def schedule() -> None:
            while True:
                self._wake.clear()
                for name in self.due(time.monotonic()):
                    if name not in taken:
                        taken.add(name)
                        queue.put_nowait(name)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(check_every_s):  # not wait_for: it can swallow a
                        await self._wake.wait()  # cancel

        async def work() -> None:
            while True:
                name = await queue.get()
                try:
                    await self._in_background(name)
                finally:
                    taken.discard(name)
                    self._wake.set()  # looked at again: one that changed meanwhile is due

        await gather_all(schedule(), *(work() for _ in range(DISCOVER_AT_ONCE)))

    async def _in_background(self, name: str) -> None:
        try:
            await self.run(name)
            self._failed_at.pop(name, None)
        except (CollectorError, ClusterNotFoundError, DiscoveryDiscarded) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # stopped as it failed: stop
                raise asyncio.CancelledError from exc
            if isinstance(exc, DiscoveryDiscarded | ClusterNotFoundError):
                return  # its cluster changed or was removed meanwhile: due again as it is now
            self._failed_at[name] = time.monotonic()
            log.info("discovery failed", extra={"cluster": name, "error": str(exc)})

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
