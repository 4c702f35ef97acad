"""Which PtpConfig profiles each node runs, and their thresholds.

The PTP operator pools the ``spec.recommend`` entries of every PtpConfig and gives a node the
profiles of all the entries of the lowest ``priority`` that match it (controllers/recommend.go,
``getRecommendProfilesNames``): several where entries tie, as a dual-NIC boundary clock's two
PtpConfigs (one per NIC) or a grandmaster's beside an ordinary clock's do. An entry matches by
its ``nodeName`` or by a ``nodeLabel`` the node carries. A profile's ``ptpClockThreshold``
(``minOffsetThreshold``, ``maxOffsetThreshold``, ``holdOverTimeout``) sets the band the offsets
of its ports are judged against; unset fields keep the operator's defaults (+/-100 ns, 5 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, Threshold

Obj = Mapping[str, Any]


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def profile_threshold(profile: Obj) -> Threshold:
    limits = profile.get("ptpClockThreshold") or {}
    return Threshold(
        min_ns=_number(limits.get("minOffsetThreshold"), DEFAULT_THRESHOLD.min_ns),
        max_ns=_number(limits.get("maxOffsetThreshold"), DEFAULT_THRESHOLD.max_ns),
        holdover_timeout_s=_number(
            limits.get("holdOverTimeout"), DEFAULT_THRESHOLD.holdover_timeout_s
        ),
        profile=str(profile.get("name", "")),
    )


#: ptp4l.conf sections that are not a port (linuxptp: [global], [unicast_master_table]; the
#: daemon's ts2phc sections share the format: [nmea])
_NOT_PORTS = frozenset({"global", "unicast_master_table", "nmea"})


def profile_interfaces(profile: Obj) -> tuple[str, ...]:
    """The ports a profile runs on: its ``interface`` and the port sections of its
    ``ptp4lConf`` ([ens1f0]); a boundary clock's profile often names them in the latter only."""
    names = [str(profile["interface"])] if profile.get("interface") else []
    for raw in str(profile.get("ptp4lConf") or "").splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section and section not in _NOT_PORTS:
                names.append(section)
    return tuple(dict.fromkeys(names))


def tightest(thresholds: Iterable[Threshold]) -> Threshold:
    """The narrowest band of ``thresholds`` (the first of equals): the one to judge a port by
    where which of them applies to it is not known."""
    return min(thresholds, key=lambda t: t.max_ns - t.min_ns)


@dataclass(frozen=True)
class NodeThresholds(Threshold):
    """A node that runs several profiles: its own band the tightest of them (for a port no
    profile names), ``ports`` each named port's own profile's. A ``Threshold``, so that a
    (cluster, node) -> threshold map carries it unchanged to the board (``board_rows``)."""

    ports: tuple[tuple[str, Threshold], ...] = ()

    @property
    def fallback(self) -> Threshold:
        return Threshold(self.min_ns, self.max_ns, self.holdover_timeout_s, self.profile)


def _node_threshold(profiles: list[tuple[Threshold, tuple[str, ...]]]) -> Threshold:
    if len(profiles) == 1:
        return profiles[0][0]
    ports: dict[str, Threshold] = {}
    for threshold, interfaces in profiles:
        for iface in interfaces:  # a port two profiles name (a mistake): the tighter
            ports[iface] = tightest([threshold, ports.get(iface, threshold)])
    node = tightest(t for t, _ in profiles)
    return NodeThresholds(node.min_ns, node.max_ns, node.holdover_timeout_s, node.profile,
                          ports=tuple(sorted(ports.items())))  # fmt: skip


def _matches(match: Obj, node: str, labels: Mapping[str, str]) -> bool:
    """The operator's rule (``nodeMatches``): the entry's ``nodeName`` is the node, or its
    ``nodeLabel`` is one of the node's labels; an entry may give both."""
    if match.get("nodeName") and match["nodeName"] == node:
        return True
    return bool(match.get("nodeLabel")) and match["nodeLabel"] in labels


def node_thresholds(
    ptpconfigs: Sequence[Obj], node_labels: Mapping[str, Mapping[str, str]]
) -> dict[str, Threshold]:
    """node -> the threshold of the profile the operator would give it or, where it gives
    several (entries of one priority tie), a ``NodeThresholds`` of each port's. Nodes are those
    in ``node_labels`` (name -> labels) and those a recommend entry names; nodes no entry
    matches are left out: they keep the defaults. A recommended profile is looked up in its
    own PtpConfig first, then in the others; an entry whose profile is nowhere is passed over."""
    own: list[dict[str, tuple[Threshold, tuple[str, ...]]]] = []
    anywhere: dict[str, tuple[Threshold, tuple[str, ...]]] = {}
    recommends: list[tuple[float, int, str, list[Obj]]] = []
    for index, config in enumerate(ptpconfigs):
        spec = config.get("spec") or {}
        profiles = {
            str(p["name"]): (profile_threshold(p), profile_interfaces(p))
            for p in spec.get("profile") or []
            if p.get("name")
        }
        own.append(profiles)
        anywhere = profiles | anywhere  # the first config naming a profile keeps it
        for rec in spec.get("recommend") or []:
            recommends.append(
                (_number(rec.get("priority"), 0.0), index, str(rec.get("profile", "")),
                 list(rec.get("match") or []))
            )  # fmt: skip
    recommends.sort(key=lambda r: (r[0], r[1]))
    named = {str(m["nodeName"]) for *_, ms in recommends for m in ms if m.get("nodeName")}
    chosen: dict[str, Threshold] = {}
    for node in sorted(set(node_labels) | named):
        labels = node_labels.get(node, {})
        best: float | None = None
        found: dict[tuple[int, str], tuple[Threshold, tuple[str, ...]]] = {}
        for priority, index, name, matches in recommends:
            if best is not None and priority != best:
                break  # every profile of the best matching priority, and no other
            profile = own[index].get(name) or anywhere.get(name)
            if profile is not None and any(_matches(m, node, labels) for m in matches):
                best = priority
                found[index if name in own[index] else -1, name] = profile
        if found:
            chosen[node] = _node_threshold(list(found.values()))
    return chosen
