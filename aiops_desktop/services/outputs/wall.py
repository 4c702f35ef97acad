"""The NOC wall's model, Qt-free: pages of tiles (fleet, GPU, PTP, alerts), each tile with a
state in the status palette's terms, a few large lines and the age of its data; the worst
page first. Everything comes from what the app already holds (the fleet's one truth, live
buffers, alerts): the wall adds no queries of its own, and an opened capture feeds it the
same way."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiops_desktop.models import AlertSeverity, Cluster, ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.cluster import ClusterCapabilities
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Coverage,
    Domain,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.gpu import TEMP_CRITICAL_C, TEMP_WARNING_C
from aiops_desktop.models.polling import Source, hub_sample_text
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD
from aiops_desktop.models.text import age_text, count
from aiops_desktop.models.wall import RANK, STALE_AFTER_S, TILE_LINES, Tile, WallModel, WallPage
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import MIN_STEP_S, Poller
from aiops_desktop.services.queries.alerts import AlertReads, fleet_alert_reads, group_alerts
from aiops_desktop.store.capture import CaptureManifest
from analysis.ptp_compliance import offset_ok
from analysis.rules import is_dcgm_blank

if TYPE_CHECKING:
    from aiops_desktop.models.incidents import Incident
    from aiops_desktop.services.intelligence.incidents import IncidentService
    from aiops_desktop.services.runtime.bus import EventBus

log = logging.getLogger("aiops.services.wall")

INCIDENT_TILES = 12  # incidents a page shows; one more tile counts the rest
INCIDENTS_READ_S = 30.0  # how often the wall reads the incidents (grouped every minute)
INCIDENTS_STALE_S = 180.0  # incidents not read for this long are badged stale
ALERT_GROUPS = 12  # alert groups a page shows; one more tile counts the rest
#: an alert group's severity in the wall's palette terms. INFO (OpenShift's Watchdog fires for
#: ever by design) is OK: it does not set the page's state, or the page would never read OK on
#: a healthy fleet and would stay ahead of the OK pages; its tile still says "firing · info".
#: What may fire unseen (an Alertmanager not read) is UNKNOWN, in a tile of its own
ALERT_STATE = {AlertSeverity.CRITICAL: "CRITICAL", AlertSeverity.WARNING: "WARNING",
               AlertSeverity.INFO: "OK"}  # fmt: skip


def _truth(src: WallService) -> FleetTruth:
    """The fleet's one truth this build judges by (``build_wall`` takes it once for all pages)."""
    return src.fleet.last if src.fleet.last is not None else src.fleet.snapshot()


@dataclass
class Latest:
    """A panel's series as the wall counts them: each reporting series' last value, the
    newest sample's time, and how many series stopped reporting (their last sample more than
    the cluster's staleness limit before the newest: ptp4l died, a GPU fell off, and the
    series is gone; its last value says nothing of now, so it is not counted as if it did)."""

    last: dict[str, float]
    newest: float | None
    stopped: int


def _latest(
    src: WallService, cluster: str, panel: str, stale_s: float, *, dcgm: bool = False
) -> Latest:
    """``dcgm``: the panel is DCGM exporter's, whose blanks (2147483632, 2**47 ...) are no
    reading, as NaN is none: "hottest 2147483632 C" is a GPU that did not say."""
    snap = src.live.snapshot(cluster, panel)
    found: dict[str, tuple[float, float]] = {}
    for key, (ts, values) in snap.series.items():
        value = float(values[-1]) if ts.size else math.nan
        if not math.isnan(value) and not (dcgm and is_dcgm_blank(value)):
            labels = dict(key)
            named = [labels[k] for k in ("node", "Hostname", "iface", "gpu") if k in labels]
            found["/".join(named or labels.values())] = (float(ts[-1]), value)
    newest = max((t for t, _ in found.values()), default=None)
    if newest is None:
        return Latest({}, None, 0)
    last = {name: v for name, (t, v) in found.items() if newest - t <= stale_s}
    return Latest(last, newest, len(found) - len(last))


def _stopped(latest: Latest, what: str) -> str:
    return f" · {count(latest.stopped, what)} stopped reporting" if latest.stopped else ""


def _age(src: WallService, now: datetime, newest: float | None) -> float | None:
    """How old the newest sample is; none in a capture (its data is as recorded, not old)."""
    if src.capture is not None or newest is None:
        return None
    return max(0.0, now.timestamp() - newest)


def _judged_at(src: WallService, now: datetime, *reads: Latest) -> float | None:
    """The time a tile's panels are judged old from: now; in a capture (its data is as
    recorded, of no age) its newest sample, so a panel recorded long before the rest is said."""
    if src.capture is None:
        return now.timestamp()
    return max((r.newest for r in reads if r.newest is not None), default=None)


def _oldest(*reads: Latest) -> float | None:
    """A tile's data is as old as the oldest of its panels' newest samples: one panel whose
    query keeps failing ages the tile, however fresh the others are."""
    return min((r.newest for r in reads if r.newest is not None), default=None)


def _late(src: WallService, latest: Latest, at: float | None, stale_s: float) -> str:
    """The mark after a panel's figures, " (6.0 h ago)", when its newest sample is older
    than ``stale_s``: they are its last, not of now (shown all the same, never blanked)."""
    if latest.newest is None or at is None or at - latest.newest <= stale_s:
        return ""
    late = age_text(at - latest.newest)
    return f" ({late})" if src.capture is None else f" ({late.removesuffix(' ago')} older)"


#: the fleet truth's states in the wall's palette terms (unknown is never OK)
WALL_STATE = {
    Health.CRITICAL: "CRITICAL", Health.OFFLINE: "CRITICAL", Health.DEGRADED: "WARNING",
    Health.STALE: "UNKNOWN", Health.NO_DATA: "UNKNOWN", Health.NOT_CONFIGURED: "UNKNOWN",
    Health.OK: "OK",
}  # fmt: skip
#: states in which the truth does not know what a cluster's GPUs or ports are doing now
NOT_KNOWN = (Health.OFFLINE, Health.STALE, Health.NO_DATA, Health.NOT_CONFIGURED)
_READ = (Coverage.READ, Coverage.RECORDED, Coverage.NOT_CONFIGURED)


def _hub_sample(src: WallService, hub: str, now: datetime, whose: str = "the hub's ") -> str:
    """How old hub ``hub``'s newest sample is, " · the hub's newest sample 4 min ago" (""
    where not known, and in a capture): a poll of the hub seconds ago may bring samples
    minutes old (ACM pushes every 30-300 s). A hub's own tile says "newest sample" (``whose``
    "")."""
    pushed = None if src.capture is not None else src.poller.hub_age_s(hub, now)
    return hub_sample_text(pushed, whose)


def _fleet_page(src: WallService, now: datetime) -> WallPage:
    """Every cluster and hub member as the fleet's one truth judges it, in its order (worst
    first: the Fleet page's and the CLI's), in the Fleet page's words: a source not read
    (not configured, no data yet, stale, unreachable) is said ("alerts not configured"),
    never "no findings"; a hub member's tile says how old its hub's newest sample is."""
    page = WallPage("fleet", "Fleet")
    truth = _truth(src)
    hubs = {c.name: c for c in src.registry.clusters() if c.kind is ClusterKind.FLEET}
    for t in truth.clusters:
        score = "–" if t.health_score is None else str(t.health_score)
        lines = [f"{t.state.value} · score {score}"]
        unknown = t.unknown()
        if (hub := hubs.get(t.name)) is not None:
            seen = [m.name for m in truth.clusters if m.hub == t.name]
            members = len(src.registry.members(hub, seen))  # a member of two hubs counts in both
            newest = _hub_sample(src, t.name, now, whose="")
            lines.append(f"fleet hub of {count(members, 'member cluster')}{newest}")
        else:  # its findings; none: all clear only where every source was read
            found = t.summary() or ("nothing found in what was read" if unknown else "no findings")
            lines.append(found + ("" if t.hub is None else _hub_sample(src, t.hub, now)))
        worst = t.worst()
        if worst is not None:
            lines.append(worst.line())
        elif unknown:
            lines.append("; ".join(unknown))
        age = None if src.capture is not None else t.data_age_s
        page.tiles.append(Tile(t.name, WALL_STATE[t.state], lines[:TILE_LINES], age,
                               bool(t.lost()), t.stale_since))  # fmt: skip
    return page


def stale_after_s(src: WallService, cluster: Cluster, panels: tuple[str, ...]) -> float:
    """How old the newest sample of ``panels`` read from ``cluster`` (a member's hub, or
    itself) may be while its polling is healthy: the poller reads it every interval (and
    jitter) in steps of the cluster's interval at least, the newest sample up to a step
    before the read, and a step's margin. STALE_AFTER_S at the least: a FAR_EDGE
    cluster's (120 s +-10 %, 120 s steps) 372 s, a HUB's (15 s) 180 s."""
    poller = src.poller
    steps = [float(p.step_s) for p in poller.catalog if p.id in panels]
    step = max(MIN_STEP_S, float(cluster.check_interval_s), *steps)
    interval = poller.interval_s(cluster, Source.METRICS) * (1 + poller.settings.jitter)
    return max(STALE_AFTER_S, 2 * step + interval)


#: what a GPU or PTP page's builder finds of a member (its name, the staleness limit of the
#: cluster polled for it): (its figures, the oldest of its panels' newest samples)
Read = Callable[[str, float], tuple[list[str], float | None] | None]


def _member_tiles(
    src: WallService,
    now: datetime,
    domain: Domain,
    read: Read,
    panels: tuple[str, ...],
    *,
    expected: Callable[[ClusterCapabilities], bool],
) -> list[Tile]:
    """One tile per (member) cluster that ``read`` finds data for, once however many hubs
    it reports through (a fleet hub's own series, of no member, are filed under its name:
    a tile of the hub's where it has GPUs or ports of its own), judged by the truth's
    findings of ``domain``; worst first. Its data is stale when older than the polled
    cluster's polling allows (``stale_after_s``). A
    cluster ``expected`` to have some (its capabilities, or the truth's findings of
    ``domain``) that has none (the live buffers start empty: down when the wall started)
    has its tile all the same, never left out: UNKNOWN, or the truth's finding where it has
    a WARNING or CRITICAL one."""
    tiles = []
    shown: set[str] = set()
    truth = _truth(src)
    # read once a page, not once a cluster: a build runs on the UI thread every 2 s, and a
    # scan of them for each cluster made it quadratic (200 clusters: 157-374 ms)
    judged_by_name = {t.name: t for t in truth.clusters}
    live = src.live.clusters()
    for cluster in src.registry.clusters():
        names = src.registry.members(cluster, live)
        if cluster.kind is ClusterKind.FLEET:  # its own GPUs and ports (series of no member)
            names = [cluster.name, *names]
        for name in names:
            if name in shown:
                continue
            limit = stale_after_s(src, cluster, panels)
            if (found := read(name, limit)) is None:
                continue
            shown.add(name)
            figures, newest = found
            judged = judged_by_name.get(name)
            state, verdict, kept = _domain_verdict(judged, domain)
            age = _age(src, now, newest)
            old = age is not None and age > limit
            if old and state == "OK":  # no finding, but figures hours old: not known to be well
                state, verdict = "UNKNOWN", verdict.replace("OK", "UNKNOWN", 1)
            lost = judged is not None and bool(judged.lost())
            since = judged.stale_since if judged is not None and lost else None
            if since is None and old and newest is not None:
                since = datetime.fromtimestamp(newest, UTC)
            lines = [verdict, *figures[: TILE_LINES - 1]]
            tiles.append(Tile(name, state, lines, age, old or lost or kept, since))
    expect = {c.name for c in src.registry.clusters()
              if c.kind is not ClusterKind.FLEET and expected(c.capabilities)}  # fmt: skip
    expect |= {t.name for t in truth.clusters if any(f.domain is domain for f in t.findings)}
    none = f"no {domain.value} data " + ("since start" if src.capture is None else "recorded")
    for name in sorted(expect - shown):
        judged = judged_by_name.get(name)
        state, verdict, kept = _domain_verdict(judged, domain)
        if state == "OK":  # no finding, but no figure either: not known to be well
            state, verdict = "UNKNOWN", verdict.replace("OK", "UNKNOWN", 1)
        lost = judged is not None and bool(judged.lost())
        since = judged.stale_since if judged is not None and lost else None
        tiles.append(Tile(name, state, [verdict, none], None, lost or kept, since))
    tiles.sort(key=lambda t: (RANK[t.state], t.title))
    return tiles


def _domain_verdict(judged: ClusterTruth | None, domain: Domain) -> tuple[str, str, bool]:
    """A GPU or PTP tile's state, its first line (the state in a word and why), and whether it
    is judged on a last known finding: the fleet's one truth's worst finding of that domain
    (XID, ECC, FREERUN... not only what the charts' series show). Where the truth does not
    know (the cluster is OFFLINE, STALE or has no data, or its metrics or findings were not
    read), a WARNING or CRITICAL finding kept from the last read stays what it is, as on the
    Fleet page (an unread CRITICAL stays CRITICAL: a GPU fallen off the bus is not greyed out
    for one failed read), said last known and why, its tile badged stale; UNKNOWN, never OK,
    where it would otherwise be OK."""
    if judged is None:
        return "UNKNOWN", "UNKNOWN · not judged yet", False
    found = [f for f in judged.findings if f.domain is domain]
    worst = found[0] if found else None  # the truth lists findings worst first
    state = "OK"
    if worst is not None and worst.severity is not FindingSeverity.INFO:
        state = "CRITICAL" if worst.severity is FindingSeverity.CRITICAL else "WARNING"
    unread = [f"{k} {v.value}" for k, v in judged.coverage.items()
              if k in ("metrics", "findings") and v not in _READ]  # fmt: skip
    if judged.state in NOT_KNOWN or unread:
        why = f"cluster {judged.state.value}" if judged.state in NOT_KNOWN else unread[0]
        if worst is not None and state != "OK":
            return state, f"{state} · {worst.line()}; {why}", True
        return "UNKNOWN", f"UNKNOWN · {why}" + (f"; {worst.line()}" if worst else ""), False
    if worst is None:
        return "OK", f"OK · no {domain.value} findings", False
    return state, f"{state} · {worst.line()}", False


GPU_PANELS = ("gpu_temperature", "gpu_util")
PTP_PANELS = ("ptp_clock_state", "ptp_offset")


def _gpu_page(src: WallService, now: datetime) -> WallPage:
    def read(name: str, stale_s: float) -> tuple[list[str], float | None] | None:
        heat_read = _latest(src, name, "gpu_temperature", stale_s, dcgm=True)
        util_read = _latest(src, name, "gpu_util", stale_s, dcgm=True)
        temps, utils = heat_read.last, util_read.last
        if heat_read.newest is None and util_read.newest is None:
            return None
        at = _judged_at(src, now, heat_read, util_read)  # each panel aged: one may be old
        hot = sum(t >= TEMP_CRITICAL_C for t in temps.values())
        warm = sum(TEMP_WARNING_C <= t < TEMP_CRITICAL_C for t in temps.values())
        busy = (f"{sum(utils.values()) / len(utils):.0f}% busy" + _late(src, util_read, at, stale_s)
                if utils else "utilisation not read")  # fmt: skip
        gpus = count(len(temps.keys() | utils.keys()), "GPU")  # one blank on each: still 2
        heat = (f"hottest {max(temps.values()):.0f} C · {hot} >= {TEMP_CRITICAL_C:g} C, "
                f"{warm} >= {TEMP_WARNING_C:g} C" + _late(src, heat_read, at, stale_s)
                if temps else "no temperatures")  # fmt: skip
        oldest = _oldest(heat_read, util_read)  # the tile is as old as its oldest panel
        return [f"{gpus} · {busy}", heat + _stopped(heat_read, "GPU")], oldest

    def gpus(caps: ClusterCapabilities) -> bool:
        return caps.gpu_count > 0 or caps.gpu_nodes > 0

    tiles = _member_tiles(src, now, Domain.GPU, read, GPU_PANELS, expected=gpus)
    return WallPage("gpu", "GPUs", tiles)


def _offset_beyond(src: WallService, name: str) -> Callable[[str, float], bool]:
    """Whether a port's ("node/iface") live ptp4l offset is beyond its band: its node's
    PtpConfig profile's, as the fleet's last refresh read it over the Kubernetes API (the
    wall reads no profiles: judged by the default band, a port well within its profile's
    +/-1500 ns was trouble on a tile the truth said OK); the default band where none was
    read, as the truth judges a node without a profile. The band, not the truth's verdict:
    that is of the offset a minute ago, or of another process on the port (ts2phc)."""
    bands = {f"{node}/{iface}": band for (node, iface), band in src.fleet.ptp_bands(name).items()}
    return lambda port, offset: offset_ok(offset, bands.get(port, DEFAULT_THRESHOLD)) is False


def _ptp_page(src: WallService, now: datetime) -> WallPage:
    def read(name: str, stale_s: float) -> tuple[list[str], float | None] | None:
        state_read = _latest(src, name, "ptp_clock_state", stale_s)
        offset_read = _latest(src, name, "ptp_offset", stale_s)
        states, offsets = state_read.last, offset_read.last
        if state_read.newest is None and offset_read.newest is None:
            return None
        at = _judged_at(src, now, state_read, offset_read)  # each panel aged: one may be old
        late = _late(src, offset_read, at, stale_s)
        troubles = [f"FREERUN {p}" for p, s in states.items() if s == 0]
        troubles += [f"HOLDOVER {p}" for p, s in states.items() if s == 2]
        beyond = _offset_beyond(src, name)
        troubles += [f"offset {o:.0f} ns at {p}{late}" for p, o in offsets.items()
                     if beyond(p, o)]  # fmt: skip
        locked = sum(s == 1 for s in states.values())
        ports = (f"{locked}/{len(states)} ports LOCKED" + _late(src, state_read, at, stale_s)
                 if states else "clock states not read")  # fmt: skip
        lines = [ports + _stopped(state_read, "port")]
        if troubles:  # the worst two, and how many more
            more = f" · +{len(troubles) - 2} more" if len(troubles) > 2 else ""
            lines.append(" · ".join(troubles[:2]) + more)
        return lines, _oldest(state_read, offset_read)

    def ptp(caps: ClusterCapabilities) -> bool:
        return caps.has_ptp

    tiles = _member_tiles(src, now, Domain.PTP, read, PTP_PANELS, expected=ptp)
    return WallPage("ptp", "PTP timing", tiles)


def _alert_reads(src: WallService, now: datetime) -> AlertReads | None:
    """Whether each Alertmanager was read recently, as the Alerts page judges it (None for a
    capture: what it recorded is all there is, of no age)."""
    if src.capture is not None:
        return None
    return fleet_alert_reads(src.registry, src.poller.status, src.poller.alerts, now)


def _lasting(seconds: float) -> str:
    """How long something has gone on, as the app writes ages: "for 48.3 h", not "for 2895
    min"; never less than 0 s (a cluster's clock a little ahead of the wall's: "for -40 s")."""
    return "for " + age_text(max(0.0, seconds)).removesuffix(" ago")


def _aged_alerts(tile: Tile, reads: AlertReads | None, clusters: Iterable[str]) -> Tile:
    """``tile`` of alerts from ``clusters`` given their age and whether they may have ended
    since (an Alertmanager of theirs failing or stale), and since when; as it is in a
    capture (``reads`` None)."""
    if reads is not None:
        tile.age_s, tile.stale = reads.freshness(clusters)
        tile.stale_since = reads.lost_since(clusters)
    return tile


def _alerts_page(src: WallService, now: datetime) -> WallPage:
    """Alert groups worst first, as many as a page shows, then one tile for the rest."""
    page = WallPage("alerts", "Alerts firing")
    alerts = [a for firing in src.poller.alerts.values() for a in firing]
    groups = group_alerts(alerts)
    # every CRITICAL group, shown or not: the wall flashes for a new one, not for a group
    # that resolved (the rest's count changing, a hidden one coming into view)
    page.critical = frozenset(g.key for g in groups if g.severity is AlertSeverity.CRITICAL)
    reads = _alert_reads(src, now)
    for group in groups[:ALERT_GROUPS]:
        severity = group.severity.value
        state = ALERT_STATE[group.severity]
        began = min(a.starts_at for a in group.alerts)
        lines = [f"{len(group.alerts)} firing · {severity}",
                 ", ".join(group.clusters[:3]) + (" …" if len(group.clusters) > 3 else ""),
                 _lasting((now - began).total_seconds())]  # fmt: skip
        page.tiles.append(_aged_alerts(Tile(group.key, state, lines), reads, group.clusters))
    if rest := groups[ALERT_GROUPS:]:  # said, not silently dropped
        worst = min((ALERT_STATE[g.severity] for g in rest), key=RANK.__getitem__)
        critical = sum(g.severity is AlertSeverity.CRITICAL for g in rest)
        firing = sum(len(g.alerts) for g in rest)
        lines = [f"{count(len(rest), 'more alert group')} not shown",
                 f"{count(firing, 'alert')} firing · {critical} critical"]  # fmt: skip
        clusters = sorted({c for g in rest for c in g.clusters})
        # its count: in its lines; as old as the groups it counts, as those shown are
        page.tiles.append(_aged_alerts(Tile("More alert groups", worst, lines), reads, clusters))
    said = ""  # how many Alertmanagers were read, where they are read (not a capture)
    if reads is not None:
        said = f"{reads.managers - len(reads.lost)} of {reads.managers} Alertmanagers read"
    if not alerts:  # nothing firing: say whether that is known or merely not asked
        managers = [c for c in src.registry.clusters() if c.endpoint(EndpointKind.ALERTMANAGER)]
        if not managers:
            page.tiles.append(Tile("Alertmanager", "UNKNOWN", ["not configured",
                                   "no cluster has an Alertmanager"]))  # fmt: skip
        elif reads is None:
            page.tiles.append(Tile("No alerts firing", "OK", ["in the capture"]))
        else:  # as the Alerts page: known only where every one was read recently
            state = "OK" if reads.complete else "UNKNOWN"
            page.tiles.append(Tile("No alerts firing", state, [said, *reads.unread[:2]]))
    elif reads is not None and reads.unread:  # what fires is not all that may: said so
        page.tiles.append(Tile("Alertmanagers not read", "UNKNOWN", [said, *reads.unread[:2]]))
    return page


#: an incident's severity in the wall's palette terms
INCIDENT_STATE = {FindingSeverity.CRITICAL: "CRITICAL", FindingSeverity.WARNING: "WARNING",
                  FindingSeverity.INFO: "OK"}  # fmt: skip


def _incidents_page(src: WallService, now: datetime) -> WallPage:
    """The incidents not resolved, as the Incidents page lists them (open first, the most
    severe first), as many as a page shows, then one tile for the rest; UNKNOWN until they
    were read. They are grouped from the fleet's truth (by this process or another sharing
    the cache): their age is the older of the last read and the last refresh of the fleet's
    findings (a refresh that hangs or fails leaves them as old as its last), and "none open"
    is OK only where every cluster was read (those whose incidents are held open for it,
    ``IncidentService``'s unread clusters, are not known to have none)."""
    page = WallPage("incidents", "Incidents")
    if src.incidents_read is None:
        page.tiles.append(Tile("Incidents", "UNKNOWN", ["UNKNOWN · not read yet"]))
        return page
    read_at, found = src.incidents_read
    refreshed = src.fleet.refreshed_at  # None: not refreshed yet (its clusters: not read)
    oldest = read_at if refreshed is None else min(read_at, refreshed)
    age = None if src.capture is not None else max(0.0, (now - oldest).total_seconds())
    stale = age is not None and age > INCIDENTS_STALE_S
    since = oldest if stale else None
    live = [i for i in found if i.state is not IncidentStatus.RESOLVED]
    # by id, shown or not (incidents may share a title): the wall flashes for a new one
    page.critical = frozenset(i.id for i in live if i.severity is FindingSeverity.CRITICAL)
    for i in live[:INCIDENT_TILES]:
        page.tiles.append(_incident_tile(src, i, now, age, since))
    if rest := live[INCIDENT_TILES:]:  # said, not silently dropped
        worst = min((INCIDENT_STATE[i.severity] for i in rest), key=RANK.__getitem__)
        critical = sum(i.severity is FindingSeverity.CRITICAL for i in rest)
        lines = [f"{count(len(rest), 'more incident')} not shown", f"{critical} critical"]
        page.tiles.append(Tile("More incidents", worst, lines, age, stale, since))  # count: lines
    if not live:
        page.tiles.append(_none_open(src, found, age, since))
    return page


def _signal_seen(i: Incident) -> datetime:
    """When ``i``'s newest signal was last seen going on (its last update without any)."""
    return max((s.offered_at or s.last_seen for s in i.signals), default=i.updated_at)


def _incident_tile(
    src: WallService, i: Incident, now: datetime, age: float | None, since: datetime | None
) -> Tile:
    """``i``'s tile: as old as its newest signal (the incidents read or refreshed longer
    ago: that); badged stale, and why said on its last line, where it is held open (a
    cluster of its unread: its signals unseen, not ended) or is the last run's (this run
    did not group the incidents yet); since its newest signal. In a capture (of no age) a
    hold is said and badged all the same; not grouped there is as recorded."""
    acknowledged = " · acknowledged" if i.state is IncidentStatus.ACKNOWLEDGED else ""
    clusters = i.clusters
    lasting = _lasting((now - i.opened_at).total_seconds())
    head = f"{i.severity.value} · {count(i.signal_count, 'signal')}{acknowledged}"
    where = ", ".join(clusters[:3]) + (" …" if len(clusters) > 3 else "")
    seen = _signal_seen(i)
    if age is not None:
        age = max(age, (now - seen).total_seconds(), 0.0)
    why = ""
    if i.unread:
        more = f" and {i.unread_more} more" if i.unread_more else ""
        why = f"held open: {', '.join(i.held_by or i.unread)}{more} not read"
    elif src.capture is None and not src.incidents_grouped:
        why = "last run's: not grouped yet in this run"
    elif i.reopened_at is not None and i.state is IncidentStatus.OPEN and i.reopened_because:
        why = f"reopened: {i.reopened_because}"
    # why on its own line, how long it has gone on beside its severity
    lines = [f"{head} · {lasting}", where, why] if why else [head, where, lasting]
    held = bool(i.unread) or (src.capture is None and not src.incidents_grouped)
    stale = since is not None or held
    if held:
        since = seen if since is None else min(since, seen)
    return Tile(i.title, INCIDENT_STATE[i.severity], lines, age, stale, since)


def _none_open(
    src: WallService, found: list[Incident], age: float | None, since: datetime | None
) -> Tile:
    """No incident open: OK where every cluster was read; UNKNOWN, badged stale where one
    was lost (since when it was last read), while any is unreachable, stale or not read yet,
    and before this run's first grouping (``WallService.incidents_grouped``: a capture's
    CRITICAL incidents read "none open", OK, until it). ``since``: when the incidents went
    stale (None: they did not)."""
    resolved = f"{count(len(found), 'incident')} resolved in the last week"
    unread = src.incidents.unread_clusters() if src.incidents is not None else set()
    if not unread:  # before this run's first grouping, the store holds the last run's
        state, said = (
            ("OK", "none open") if src.incidents_grouped else ("UNKNOWN", "not grouped yet")
        )
        lines = [f"{state} · {said}", resolved]
        return Tile("No open incidents", state, lines, age, since is not None, since)
    names = sorted(unread)
    lost = [t.stale_since for t in _truth(src).clusters if t.name in unread and t.lost()]
    moments = [m for m in (*lost, since) if m is not None]
    lines = ["UNKNOWN · none open in what was read",
             f"{count(len(names), 'cluster')} not read: " + ", ".join(names[:3])
             + (" …" if len(names) > 3 else ""), resolved]  # fmt: skip
    stale = bool(lost) or since is not None
    return Tile("No open incidents", "UNKNOWN", lines, age, stale, min(moments, default=None))


BUILDERS = {"fleet": _fleet_page, "gpu": _gpu_page, "ptp": _ptp_page,
            "incidents": _incidents_page, "alerts": _alerts_page}  # fmt: skip


def poll_health(src: WallService, now: datetime | None = None) -> str:
    """The wall's own health for its corner: sources failing now, or stale (not read for
    longer than their polling allows, no error recorded: a poll that hangs, polling that
    stopped; as the fleet's truth and the Alerts page judge them), or all well."""
    if src.capture is not None:
        return "capture: not polling"
    statuses = src.poller.status.values()
    if not statuses:
        return "nothing polled yet"
    now = now or utcnow()
    failing = [s for s in statuses if s.consecutive_errors]
    # a first poll still under way is not stale: nothing answered, nothing failed yet
    stale = [s for s in statuses
             if not s.consecutive_errors and not s.not_heard_from and s.stale(now)]  # fmt: skip
    if failing:
        worst = max(failing, key=lambda s: s.consecutive_errors)
        also = f" · {len(stale)} stale" if stale else ""
        return (f"{len(failing)} of {len(statuses)} sources failing · "
                f"{worst.cluster}/{worst.source}: {worst.last_error or 'error'}{also}")  # fmt: skip
    if stale:
        # each answered once: one never answered is failing, not offered or not heard from
        oldest = max(stale, key=lambda s: s.age_s(now) or 0.0)
        return (f"{len(stale)} of {len(statuses)} sources stale · {oldest.cluster}/"
                f"{oldest.source} last read {age_text(oldest.age_s(now))}")  # fmt: skip
    return f"polling OK · {len(statuses)} sources"


def build_wall(src: WallService, pages: list[str], now: datetime | None = None) -> WallModel:
    """Each page's tiles worst first (each builder orders its own: the fleet page as the
    truth does, the alerts page as their groups), from one judgement of the fleet; the pages
    worst first too (CRITICAL, WARNING, UNKNOWN, OK), in the order asked within a state."""
    now = now or src.now()
    src.fleet.snapshot()  # alerts and sources move between the truth's refreshes
    built = [BUILDERS[name](src, now) for name in pages]
    ordered = sorted(built, key=lambda p: RANK[p.worst])  # stable: the asked order within
    badge = "" if src.capture is None else (src.capture.label or "CAPTURE")
    return WallModel(ordered, poll_health(src, now), now, badge)


@dataclass
class WallService:
    """The wall's one door (``WallSources`` held explicitly)."""

    registry: ClusterRegistry
    poller: Poller
    live: LiveBuffers
    fleet: FleetState
    clock: Callable[[], datetime]
    capture: CaptureManifest | None = None
    incidents: IncidentService | None = None
    #: where the incidents service publishes its groupings (``INCIDENTS_CHANGED``; none:
    #: this run's groupings are not known, and "none open" stays UNKNOWN)
    bus: EventBus | None = None
    #: the incidents as last read, and when (None: not read yet)
    incidents_read: tuple[datetime, list[Incident]] | None = None
    #: groupings published so far: a store read begun before one is older than it
    _published: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        """Listens from the start: a grouping published before the reader's first turn
        would leave "none open" UNKNOWN until the next one."""
        from aiops_desktop.services.intelligence.incidents import INCIDENTS_CHANGED

        if self.bus is not None:
            self.bus.subscribe(INCIDENTS_CHANGED, self._grouped)

    def now(self) -> datetime:
        return self.clock()

    @property
    def incidents_grouped(self) -> bool:
        """A grouping of this run was published: before it, the store holds the last run's."""
        return self._published > 0

    async def read_incidents(self) -> None:
        """The incidents as listed now (from the store: another process may group them);
        dropped where a grouping was published while it read (it may predate its write)."""
        if self.incidents is not None:
            published = self._published
            found = await self.incidents.listed()
            if published == self._published:
                self.incidents_read = (self.now(), found)

    def _grouped(self, listed: list[Incident]) -> None:
        """A grouping's incidents, as published (as ``listed`` gives them): shown at once,
        not at the next read. (Only groupings publish them in the wall's process: it
        acknowledges none.)"""
        self._published += 1
        self.incidents_read = (self.now(), listed)

    async def follow_incidents(self, every_s: float = INCIDENTS_READ_S) -> None:
        """Read the incidents every ``every_s`` for as long as the wall runs (another
        process may group them; this run's groupings come as published: ``_grouped``); a
        read that fails, whatever the error (the store busy, a sqlite error the store raises
        as it is), leaves the last one, aged, and is tried again. Each kind of error is
        logged once while reads keep failing, not at every try."""
        said: set[type[Exception]] = set()
        while True:
            try:
                await self.read_incidents()
                said.clear()  # read again: a later failure is news
            except Exception as exc:  # the reader must outlive any one read
                if type(exc) not in said:
                    said.add(type(exc))
                    log.warning("the wall could not read the incidents: %s: %s",
                                type(exc).__name__, exc,
                                exc_info=not isinstance(exc, AppError))  # fmt: skip
            await asyncio.sleep(every_s)

    def build(self, pages: list[str], now: datetime | None = None) -> WallModel:
        return build_wall(self, pages, now)
