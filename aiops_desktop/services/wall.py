"""The NOC wall's model, Qt-free: pages of tiles (fleet, GPU, PTP, alerts), each tile with a
state in the status palette's terms, a few large lines and the age of its data; the page with
a CRITICAL item first. Everything comes from what the poller already holds (registry state,
live buffers, alerts): the wall adds no queries of its own, and an opened capture feeds it the
same way."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiops_desktop.models import AlertSeverity, Cluster, ClusterKind, ClusterState
from aiops_desktop.services.alerts import group_alerts
from aiops_desktop.services.core import Core
from aiops_desktop.services.poller import Source

PAGES = ("fleet", "gpu", "ptp", "alerts")
RANK = {"CRITICAL": 0, "WARNING": 1, "UNKNOWN": 2, "OK": 3}
STATE_OF = {
    ClusterState.ONLINE: "OK",
    ClusterState.DEGRADED: "WARNING",
    ClusterState.OFFLINE: "CRITICAL",
}
TEMP_WARNING_C, TEMP_CRITICAL_C, OFFSET_NS = 70.0, 80.0, 100.0
STALE_AFTER_S = 180.0  # live-buffer data older than this is badged stale


@dataclass
class Tile:
    title: str
    state: str  # OK | WARNING | CRITICAL | UNKNOWN
    lines: list[str]
    age_s: float | None = None  # how old the data shown is
    stale: bool = False


@dataclass
class WallPage:
    name: str
    title: str
    tiles: list[Tile] = field(default_factory=list)

    @property
    def worst(self) -> str:
        return min((t.state for t in self.tiles), key=RANK.__getitem__, default="OK")


@dataclass
class WallModel:
    pages: list[WallPage]  # the order to show them in: a page with a CRITICAL item first
    health: str  # the wall's own polling health, for its corner
    at: datetime
    badge: str = ""  # what the data is when it is not live: "SAMPLE DATA", "CAPTURE"


def _members(core: Core, cluster: Cluster) -> list[str]:
    return core.registry.members(cluster, core.live.clusters())


def _latest(core: Core, cluster: str, panel: str) -> tuple[dict[str, float], float | None]:
    """Each series' last value, and the newest sample's time."""
    snap = core.live.snapshot(cluster, panel)
    last: dict[str, float] = {}
    newest = None
    for key, (ts, values) in snap.series.items():
        if ts.size and not math.isnan(float(values[-1])):
            labels = dict(key)
            named = [labels[k] for k in ("node", "Hostname", "iface", "gpu") if k in labels]
            last["/".join(named or labels.values())] = float(values[-1])
            newest = max(newest or ts[-1], ts[-1])
    return last, newest


def _age(now: datetime, newest: float | None) -> float | None:
    return None if newest is None else max(0.0, now.timestamp() - newest)


def _fleet_page(core: Core, now: datetime) -> WallPage:
    page = WallPage("fleet", "Fleet")
    for cluster in core.registry.clusters():
        status = core.poller.status.get((cluster.name, Source.HEALTH))
        age = status.age_s(now) if status else None
        stale = bool(status and status.stale(now))
        if core.capture is not None:  # no polling: the data is as old as the capture says
            age, stale = None, False
        firing = [a for m in _members(core, cluster) for a in core.poller.alerts.get(m, [])]
        critical = sum(a.severity is AlertSeverity.CRITICAL for a in firing)
        state = STATE_OF.get(cluster.status.state, "UNKNOWN")
        if critical and state == "OK":
            state = "WARNING"
        lines = [f"{cluster.status.state.value} · score {cluster.status.health_score}",
                 f"{len(firing)} alerts ({critical} critical)"]  # fmt: skip
        if cluster.kind is ClusterKind.FLEET:
            lines.append(f"{len(_members(core, cluster))} member clusters")
        page.tiles.append(Tile(cluster.name, state, lines, age, stale))
    return page


def _member_tiles(
    core: Core, read: Callable[[str], tuple[str, list[str], float | None] | None]
) -> list[Tile]:
    """One tile per (member) cluster that ``read`` finds data for: (state, lines, newest)."""
    tiles = []
    for cluster in core.registry.clusters():
        for name in _members(core, cluster):
            found = read(name)
            if found is not None:
                state, lines, newest = found
                age = _age(core.now(), newest)
                tiles.append(Tile(name, state, lines, age, age is not None and age > STALE_AFTER_S))
    return tiles


def _gpu_page(core: Core, now: datetime) -> WallPage:
    def read(name: str) -> tuple[str, list[str], float | None] | None:
        temps, newest = _latest(core, name, "gpu_temperature")
        utils, _ = _latest(core, name, "gpu_util")
        if not temps and not utils:
            return None
        hot = sum(t >= TEMP_CRITICAL_C for t in temps.values())
        warm = sum(TEMP_WARNING_C <= t < TEMP_CRITICAL_C for t in temps.values())
        avg = sum(utils.values()) / len(utils) if utils else float("nan")
        hottest = f"hottest {max(temps.values()):.0f} C" if temps else "no temperatures"
        lines = [f"{max(len(temps), len(utils))} GPUs · {avg:.0f}% busy",
                 f"{hot} >= 80 C, {warm} >= 70 C", hottest]  # fmt: skip
        return ("CRITICAL" if hot else "WARNING" if warm else "OK"), lines, newest

    return WallPage("gpu", "GPUs", _member_tiles(core, read))


def _ptp_page(core: Core, now: datetime) -> WallPage:
    def read(name: str) -> tuple[str, list[str], float | None] | None:
        states, newest = _latest(core, name, "ptp_clock_state")
        offsets, _ = _latest(core, name, "ptp_offset")
        if not states:
            return None
        freerun = [p for p, s in states.items() if s == 0]
        holdover = [p for p, s in states.items() if s == 2]
        drifting = [p for p, o in offsets.items() if abs(o) > OFFSET_NS]
        locked = sum(s == 1 for s in states.values())
        lines = [f"{locked}/{len(states)} ports LOCKED"]
        lines += [f"FREERUN {p}" for p in freerun[:2]] + [f"HOLDOVER {p}" for p in holdover[:2]]
        lines += [f"offset {offsets[p]:.0f} ns at {p}" for p in drifting[:2]]
        state = "CRITICAL" if freerun else "WARNING" if holdover or drifting else "OK"
        return state, lines, newest

    return WallPage("ptp", "PTP timing", _member_tiles(core, read))


def _alerts_page(core: Core, now: datetime) -> WallPage:
    page = WallPage("alerts", "Alerts firing")
    alerts = [a for firing in core.poller.alerts.values() for a in firing]
    for group in group_alerts(alerts)[:12]:
        severity = group.severity.value
        state = {AlertSeverity.CRITICAL: "CRITICAL", AlertSeverity.WARNING: "WARNING"}.get(
            group.severity, "OK"
        )
        since = min(a.starts_at for a in group.alerts)
        minutes = (now - since).total_seconds() / 60
        lines = [f"{len(group.alerts)} firing · {severity}",
                 ", ".join(group.clusters[:3]) + (" …" if len(group.clusters) > 3 else ""),
                 f"for {minutes:.0f} min"]  # fmt: skip
        page.tiles.append(Tile(group.key, state, lines))
    return page


BUILDERS = {"fleet": _fleet_page, "gpu": _gpu_page, "ptp": _ptp_page, "alerts": _alerts_page}


def poll_health(core: Core) -> str:
    """The wall's own health for its corner: sources failing now, or all well."""
    if core.capture is not None:
        return "capture: not polling"
    failing = [s for s in core.poller.status.values() if s.consecutive_errors]
    if not failing:
        return f"polling OK · {len(core.poller.status)} sources"
    worst = max(failing, key=lambda s: s.consecutive_errors)
    return (f"{len(failing)} of {len(core.poller.status)} sources failing · "
            f"{worst.cluster}/{worst.source}: {worst.last_error or 'error'}")  # fmt: skip


def build_wall(core: Core, pages: list[str], now: datetime | None = None) -> WallModel:
    now = now or core.now()
    built = [BUILDERS[name](core, now) for name in pages]
    for page in built:
        page.tiles.sort(key=lambda t: (RANK[t.state], t.title))
    # a page with a CRITICAL item comes first; otherwise the chosen order stays
    ordered = sorted(built, key=lambda p: 0 if p.worst == "CRITICAL" else 1)
    badge = "" if core.capture is None else (core.capture.label or "CAPTURE")
    return WallModel(ordered, poll_health(core), now, badge)


def parse_pages(text: str) -> list[str]:
    pages = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in pages if p not in PAGES]
    if unknown or not pages:
        raise argparse.ArgumentTypeError(
            f"{text!r}: pages are a comma-separated choice of {', '.join(PAGES)}"
        )
    return pages
