"""The NOC wall's model, Qt-free: pages of tiles (fleet, GPU, PTP, alerts), each tile with a
state in the status palette's terms, a few large lines and the age of its data; the page with
a CRITICAL item first. Everything comes from what the app already holds (the fleet's one
truth, live buffers, alerts): the wall adds no queries of its own, and an opened capture feeds
it the same way."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiops_desktop.models import AlertSeverity, Cluster, ClusterKind, EndpointKind
from aiops_desktop.models.fleet import Domain, FindingSeverity, Health
from aiops_desktop.models.gpu import TEMP_CRITICAL_C, TEMP_WARNING_C
from aiops_desktop.models.polling import Source
from aiops_desktop.models.ptp import OFFSET_THRESHOLD_NS
from aiops_desktop.models.wall import RANK, Tile, WallModel, WallPage
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.queries.alerts import group_alerts
from aiops_desktop.store.capture import CaptureManifest

STALE_AFTER_S = 180.0  # live-buffer data older than this is badged stale


def _members(src: WallService, cluster: Cluster) -> list[str]:
    return src.registry.members(cluster, src.live.clusters())


def _latest(src: WallService, cluster: str, panel: str) -> tuple[dict[str, float], float | None]:
    """Each series' last value, and the newest sample's time."""
    snap = src.live.snapshot(cluster, panel)
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


#: the fleet truth's states in the wall's palette terms (unknown is never OK)
WALL_STATE = {
    Health.CRITICAL: "CRITICAL", Health.OFFLINE: "CRITICAL", Health.DEGRADED: "WARNING",
    Health.STALE: "UNKNOWN", Health.NO_DATA: "UNKNOWN", Health.NOT_CONFIGURED: "UNKNOWN",
    Health.OK: "OK",
}  # fmt: skip


def _fleet_page(src: WallService, now: datetime) -> WallPage:
    """Every cluster and hub member as the fleet's one truth (services/fleet) judges it."""
    page = WallPage("fleet", "Fleet")
    truth = src.fleet.snapshot()
    hubs = {c.name for c in src.registry.clusters() if c.kind is ClusterKind.FLEET}
    for t in truth.clusters:
        score = "–" if t.health_score is None else str(t.health_score)
        lines = [f"{t.state.value} · score {score}"]
        if t.name in hubs:
            members = sum(1 for m in truth.clusters if m.hub == t.name)
            lines.append(f"fleet hub of {members} member clusters")
        else:
            lines.append(t.summary() or "no findings")
        worst = t.worst()
        if worst is not None:
            lines.append(f"{worst.subject}: {worst.reason}")
        elif t.state is not Health.OK:
            lines.append(", ".join(f"{k} {v.value}" for k, v in t.coverage.items()))
        age = None if src.capture is not None else t.data_age_s
        stale = t.state in (Health.STALE, Health.OFFLINE)
        page.tiles.append(Tile(t.name, WALL_STATE[t.state], lines, age, stale))
    return page


def _member_tiles(
    src: WallService, read: Callable[[str], tuple[str, list[str], float | None] | None]
) -> list[Tile]:
    """One tile per (member) cluster that ``read`` finds data for: (state, lines, newest)."""
    tiles = []
    for cluster in src.registry.clusters():
        for name in _members(src, cluster):
            found = read(name)
            if found is not None:
                state, lines, newest = found
                age = _age(src.now(), newest)
                tiles.append(Tile(name, state, lines, age, age is not None and age > STALE_AFTER_S))
    return tiles


def _domain_verdict(
    src: WallService, name: str, domain: Domain, lines: list[str]
) -> tuple[str, list[str]]:
    """A GPU or PTP tile's state: the fleet's one truth's worst finding of that domain (XID,
    ECC, FREERUN... not only what the charts' series show), its reason as the last line."""
    judged = src.fleet.last.get(name) if src.fleet.last is not None else None
    found = [f for f in judged.findings if f.domain is domain] if judged else []
    if not found:
        return ("OK" if judged is not None else "UNKNOWN"), lines
    worst = found[0]  # the truth lists findings worst first
    state = "CRITICAL" if worst.severity is FindingSeverity.CRITICAL else "WARNING"
    if worst.severity is FindingSeverity.INFO:
        state = "OK"
    return state, [*lines, f"{worst.subject}: {worst.reason}"]


def _gpu_page(src: WallService, now: datetime) -> WallPage:
    def read(name: str) -> tuple[str, list[str], float | None] | None:
        temps, newest = _latest(src, name, "gpu_temperature")
        utils, _ = _latest(src, name, "gpu_util")
        if not temps and not utils:
            return None
        hot = sum(t >= TEMP_CRITICAL_C for t in temps.values())
        warm = sum(TEMP_WARNING_C <= t < TEMP_CRITICAL_C for t in temps.values())
        avg = sum(utils.values()) / len(utils) if utils else float("nan")
        hottest = f"hottest {max(temps.values()):.0f} C" if temps else "no temperatures"
        limits = f"{hot} >= {TEMP_CRITICAL_C:g} C, {warm} >= {TEMP_WARNING_C:g} C"
        lines = [f"{max(len(temps), len(utils))} GPUs · {avg:.0f}% busy", limits, hottest]
        state, lines = _domain_verdict(src, name, Domain.GPU, lines)
        return state, lines, newest

    return WallPage("gpu", "GPUs", _member_tiles(src, read))


def _ptp_page(src: WallService, now: datetime) -> WallPage:
    def read(name: str) -> tuple[str, list[str], float | None] | None:
        states, newest = _latest(src, name, "ptp_clock_state")
        offsets, _ = _latest(src, name, "ptp_offset")
        if not states:
            return None
        freerun = [p for p, s in states.items() if s == 0]
        holdover = [p for p, s in states.items() if s == 2]
        drifting = [p for p, o in offsets.items() if abs(o) > OFFSET_THRESHOLD_NS]
        locked = sum(s == 1 for s in states.values())
        lines = [f"{locked}/{len(states)} ports LOCKED"]
        lines += [f"FREERUN {p}" for p in freerun[:2]] + [f"HOLDOVER {p}" for p in holdover[:2]]
        lines += [f"offset {offsets[p]:.0f} ns at {p}" for p in drifting[:2]]
        state, lines = _domain_verdict(src, name, Domain.PTP, lines[:3])
        return state, lines, newest

    return WallPage("ptp", "PTP timing", _member_tiles(src, read))


def _alerts_page(src: WallService, now: datetime) -> WallPage:
    page = WallPage("alerts", "Alerts firing")
    alerts = [a for firing in src.poller.alerts.values() for a in firing]
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
    if not alerts:  # nothing firing: say whether that is known or merely not asked
        managers = [c for c in src.registry.clusters() if c.endpoint(EndpointKind.ALERTMANAGER)]
        read = [
            c for c in managers
            if (s := src.poller.status.get((c.name, Source.ALERTS))) is not None
            and s.polls and not s.consecutive_errors
        ]  # fmt: skip
        if not managers:
            page.tiles.append(Tile("Alertmanager", "UNKNOWN", ["not configured",
                                   "no cluster has an Alertmanager"]))  # fmt: skip
        elif src.capture is not None:
            page.tiles.append(Tile("No alerts firing", "OK", ["in the capture"]))
        else:
            state = "OK" if len(read) == len(managers) else "UNKNOWN"
            said = f"{len(read)} of {len(managers)} Alertmanagers read"
            page.tiles.append(Tile("No alerts firing", state, [said]))
    return page


BUILDERS = {"fleet": _fleet_page, "gpu": _gpu_page, "ptp": _ptp_page, "alerts": _alerts_page}


def poll_health(src: WallService) -> str:
    """The wall's own health for its corner: sources failing now, or all well."""
    if src.capture is not None:
        return "capture: not polling"
    failing = [s for s in src.poller.status.values() if s.consecutive_errors]
    if not src.poller.status:
        return "nothing polled yet"
    if not failing:
        return f"polling OK · {len(src.poller.status)} sources"
    worst = max(failing, key=lambda s: s.consecutive_errors)
    return (f"{len(failing)} of {len(src.poller.status)} sources failing · "
            f"{worst.cluster}/{worst.source}: {worst.last_error or 'error'}")  # fmt: skip


def build_wall(src: WallService, pages: list[str], now: datetime | None = None) -> WallModel:
    now = now or src.now()
    built = [BUILDERS[name](src, now) for name in pages]
    for page in built:  # worst first; the fleet page keeps the truth's order within a state
        page.tiles.sort(key=lambda t: (RANK[t.state], "" if page.name == "fleet" else t.title))
    # a page with a CRITICAL item comes first; otherwise the chosen order stays
    ordered = sorted(built, key=lambda p: 0 if p.worst == "CRITICAL" else 1)
    badge = "" if src.capture is None else (src.capture.label or "CAPTURE")
    return WallModel(ordered, poll_health(src), now, badge)


@dataclass
class WallService:
    """The wall's one door (``WallSources`` held explicitly)."""

    registry: ClusterRegistry
    poller: Poller
    live: LiveBuffers
    fleet: FleetState
    clock: Callable[[], datetime]
    capture: CaptureManifest | None = None

    def now(self) -> datetime:
        return self.clock()

    def build(self, pages: list[str], now: datetime | None = None) -> WallModel:
        return build_wall(self, pages, now)
