"""Which PtpConfig profile each node runs, and that profile's thresholds.

The PTP operator gives a node the profile of the matching ``spec.recommend`` entry with the
lowest ``priority``; an entry matches by ``nodeName`` or by a ``nodeLabel`` the node carries.
A profile's ``ptpClockThreshold`` (``minOffsetThreshold``, ``maxOffsetThreshold``,
``holdOverTimeout``) sets the band the node's offsets are judged against; unset fields keep the
operator's defaults (+/-100 ns, 5 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def _matches(match: Obj, node: str, labels: Mapping[str, str]) -> bool:
    if match.get("nodeName"):
        return bool(match["nodeName"] == node)
    return bool(match.get("nodeLabel")) and match["nodeLabel"] in labels


def node_thresholds(
    ptpconfigs: Sequence[Obj], node_labels: Mapping[str, Mapping[str, str]]
) -> dict[str, Threshold]:
    """node -> the threshold of the profile the operator would give it. Nodes are those in
    ``node_labels`` (name -> labels) and those a recommend entry names; nodes no entry matches
    are left out: they keep the defaults. A recommended profile is looked up in its own
    PtpConfig first, then in the others."""
    own: list[dict[str, Threshold]] = []
    anywhere: dict[str, Threshold] = {}
    recommends: list[tuple[float, int, str, list[Obj]]] = []
    for index, config in enumerate(ptpconfigs):
        spec = config.get("spec") or {}
        profiles = {
            str(p["name"]): profile_threshold(p) for p in spec.get("profile") or [] if p.get("name")
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
        for _, index, name, matches in recommends:
            profile = own[index].get(name) or anywhere.get(name)
            if profile is not None and any(_matches(m, node, labels) for m in matches):
                chosen[node] = profile
                break
    return chosen
