"""Who depends on whom beyond what one series' labels say: PTP clients on their grandmaster,
and a pod on the SR-IOV VF it holds, the VF on its PF, the PF on its node.

Edges are ``(dependent, dependency)`` pairs of entity names as ``analysis.incidents.entity_of``
names them (a PTP port or a PF is ``"<cluster> <node>/<iface>"``, a pod
``"<cluster> pod <namespace>/<pod>"``), so RCA's symptom rule can let a dependent whose change
came with or after its dependency's give way to it.

PTP: linuxptp exports each port's role (``openshift_ptp_interface_role``) but not which port it
listens to. A grandmaster is a node whose ptp4l ports only lead (MASTER) or that runs ts2phc
(GNSS-fed); every following (SLAVE) port of the cluster on another node is taken as its client.
A boundary clock (a node that both follows and leads) relays: its leading ports depend on its
following ones. Where a cluster has no grandmaster in view, no client edge is guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Edge = tuple[str, str]

LEADS = "MASTER"
FOLLOWS = "SLAVE"
GNSS_PROCESS = "ts2phc"


@dataclass(frozen=True)
class PtpPort:
    cluster: str
    node: str
    iface: str
    role: str  # MASTER, SLAVE, PASSIVE, FAULTY, LISTENING, UNKNOWN
    process: str = "ptp4l"


@dataclass(frozen=True)
class VfLink:
    """A VF and the pod holding it (``pod``: the pod's entity name, as
    ``analysis.incidents.pod_of`` gives it; "" where none)."""

    cluster: str
    node: str
    pf: str
    vf: str
    pod: str = ""


def port_entity(cluster: str, node: str, iface: str) -> str:
    return f"{cluster} {node}/{iface}"


def vf_entity(link: VfLink) -> str:
    return f"{link.cluster} {link.node}/{link.pf} vf{link.vf}"


def grandmasters(ports: Iterable[PtpPort]) -> dict[str, set[str]]:
    """cluster -> its grandmaster nodes."""
    leads: dict[tuple[str, str], bool] = {}
    follows: set[tuple[str, str]] = set()
    gnss: set[tuple[str, str]] = set()
    for p in ports:
        key = (p.cluster, p.node)
        if p.process == GNSS_PROCESS:
            gnss.add(key)
        if p.role == LEADS:
            leads[key] = True
        elif p.role == FOLLOWS:
            follows.add(key)
    out: dict[str, set[str]] = {}
    for cluster, node in (set(leads) - follows) | gnss:
        out.setdefault(cluster, set()).add(node)
    return out


def ptp_edges(ports: Iterable[PtpPort]) -> list[Edge]:
    """Clients on their cluster's grandmaster ports; a boundary clock's leading ports on its
    following ones."""
    ports = list(ports)
    masters = grandmasters(ports)
    gm_ports: dict[str, list[str]] = {}
    for p in ports:
        if p.node in masters.get(p.cluster, ()) and p.role == LEADS:
            gm_ports.setdefault(p.cluster, []).append(port_entity(p.cluster, p.node, p.iface))
    following: dict[tuple[str, str], list[str]] = {}
    for p in ports:
        if p.role == FOLLOWS:
            following.setdefault((p.cluster, p.node), []).append(
                port_entity(p.cluster, p.node, p.iface)
            )
    edges: set[Edge] = set()
    for p in ports:
        here = port_entity(p.cluster, p.node, p.iface)
        if p.role == FOLLOWS and p.node not in masters.get(p.cluster, ()):
            edges.update((here, gm) for gm in gm_ports.get(p.cluster, []))
        elif p.role == LEADS:  # a boundary clock relays what it follows
            edges.update((here, up) for up in following.get((p.cluster, p.node), []))
    return sorted(edges)


def sriov_edges(links: Iterable[VfLink]) -> list[Edge]:
    """A pod on its VF, a VF on its PF, a PF on its node."""
    edges: set[Edge] = set()
    for link in links:
        vf = vf_entity(link)
        pf = port_entity(link.cluster, link.node, link.pf)
        edges.add((vf, pf))
        edges.add((pf, f"{link.cluster} node {link.node}"))
        if link.pod:
            edges.add((link.pod, vf))
    return sorted(edges)
