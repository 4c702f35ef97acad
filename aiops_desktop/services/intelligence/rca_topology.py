"""What RCA reads beside the stored series: the PTP ports' roles (grandmaster -> clients) and
the SR-IOV VFs with their pods (PF -> VF -> pod), as they were at the analysis time, and each
VF's drops and errors over the window as signals of its own.

Read through the same multi-cluster queries as every page (a capture answers from what it
recorded); what cannot be read is said in the result and the ranking goes on without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiops_desktop.models import Cluster
from aiops_desktop.models.metrics import MetricQuery, QueryType, TaggedSeries
from aiops_desktop.models.observability import Trace
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.gpu_cnf.ptp import ptp_queries
from aiops_desktop.services.gpu_cnf.sriov import sriov_queries
from aiops_desktop.services.queries.field_reads import last_value, unique_failures
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.gathering import gather_all
from analysis.incidents import node_of, pod_of
from analysis.ptp_compliance import role_of
from analysis.rca.model import Signal, SignalKind, Window
from analysis.rca.topology import Edge, PtpPort, VfLink, ptp_edges, sriov_edges, vf_entity

STEP = timedelta(minutes=1)
#: a VF's fields read over the window, and what each says about the VF being the cause
VF_SIGNALS = {
    "tx_errors_ps": SignalKind.ERRORS,
    "rx_drops_ps": SignalKind.RESOURCE,
    "tx_drops_ps": SignalKind.RESOURCE,
}


def topology_queries(
    start: datetime, end: datetime, *, roles_over_range: bool = False, step: timedelta = STEP
) -> list[MetricQuery]:
    """What RCA asks beside the stored series: the PTP roles at ``end`` (over the range with
    ``roles_over_range``, as an export records them), then each VF field of ``VF_SIGNALS``
    from ``start`` to ``end``."""
    ptp, sriov = ptp_queries(), sriov_queries()
    roles = (
        MetricQuery(promql=ptp["role"], query_type=QueryType.RANGE, start=start, end=end, step=step)
        if roles_over_range
        else MetricQuery(promql=ptp["role"], end=end)
    )
    return [roles] + [
        MetricQuery(promql=sriov[name], query_type=QueryType.RANGE, start=start, end=end, step=step)
        for name in VF_SIGNALS
    ]


@dataclass
class TopologyRead:
    edges: list[Edge] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # "cluster: why" per failed read
    traces: list[Trace] = field(default_factory=list)  # the failing traces opened


def _link(tagged: TaggedSeries) -> VfLink:
    labels = tagged.series.labels
    pod = pod_of(tagged.cluster, labels) or ""
    return VfLink(tagged.cluster, node_of(labels), labels.get("pf", ""), labels.get("vf", ""), pod)


def kept(series: list[TaggedSeries], keep: frozenset[str] | None) -> list[TaggedSeries]:
    """The series of the clusters in ``keep`` (None: all)."""
    return series if keep is None else [t for t in series if t.cluster in keep]


class RcaTopology:
    def __init__(self, queries: MultiClusterQuery, registry: ClusterRegistry) -> None:
        self._queries = queries
        self._registry = registry

    def _asked(self, names: list[str]) -> tuple[list[Cluster], frozenset[str] | None]:
        """Each registered cluster named, and the hubs a member named comes through (a name
        no longer registered is skipped: its stored series still rank); and whose answers to
        keep (None: all). A member is asked through its hub, which answers for every member:
        only the named member's are kept (the others' VFs and PTP ports took places among
        the ranked signals and were ranked as causes of its change). A cluster or hub named
        itself keeps all it answers."""
        out: dict[str, Cluster] = {}
        keep: set[str] = set()
        whole = False
        for name in names:
            try:
                targets, kept = self._registry.targets([name])
            except ClusterNotFoundError:
                continue
            out.update((c.name, c) for c in targets)
            whole = whole or kept is None
            keep.update(kept or ())
        return list(out.values()), None if whole else frozenset(keep)

    async def read(self, names: list[str], window: Window) -> TopologyRead:
        clusters, keep = self._asked(names)
        if not clusters:
            return TopologyRead()
        end = datetime.fromtimestamp(window.end_s, UTC)
        start = datetime.fromtimestamp(window.detect_s - window.before_s, UTC)
        queries = topology_queries(start, end)
        answers = await gather_all(*(self._queries.run(q, clusters) for q in queries))
        out = TopologyRead()
        ports = []
        for tagged in kept(answers[0].series, keep):
            labels = tagged.series.labels
            role = role_of(last_value(tagged))
            ports.append(PtpPort(tagged.cluster, node_of(labels), labels.get("iface", ""), role,
                                 labels.get("process", "ptp4l")))  # fmt: skip
        links: set[VfLink] = set()
        for name, answer in zip(VF_SIGNALS, answers[1:], strict=True):
            for tagged in kept(answer.series, keep):
                link = _link(tagged)
                links.add(link)
                s = tagged.series
                out.signals.append(Signal(vf_entity(link), f"SR-IOV VF {name}", VF_SIGNALS[name],
                                          s.timestamps, s.values))  # fmt: skip
        out.edges = ptp_edges(p for p in ports if p.node and p.iface) + sriov_edges(links)
        failed = unique_failures(o for a in answers for o in a.failures)
        out.unread = sorted(f"{o.cluster}: {o.error}" for o in failed)
        return out
