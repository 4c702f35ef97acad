"""What the app's readers found, as findings per cluster (or hub member).

GPU health (XID, ECC, remaps, temperature, throttling; a GPU that was not OK and is no longer
reported; a corrected ECC total is a note), PTP (clock state, offset beyond its profile's
band, a stopped process, a FAULTY port, a clock state or offset not reported; a port that was
not OK and whose node is no longer reported),
SR-IOV node sync (SriovNetworkNodeState), Kubernetes
(NotReady nodes, crash-looping pods, from kube-state-metrics), firing alerts and recent
anomalies each become ``Finding`` s with a severity, a subject and one line of reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.cnf import NodeSync
from aiops_desktop.models.enums import AlertSeverity
from aiops_desktop.models.fleet import SEVERITY_RANK, Domain, Finding, FindingSeverity
from aiops_desktop.models.gpu import (
    STATE_RANK,
    GpuFleet,
    GpuHealth,
    GpuKey,
    GpuReading,
    GpuState,
    by_physical,
)
from aiops_desktop.models.metrics import ClusterOutcome, TaggedSeries
from aiops_desktop.models.ptp import ClockState, PtpBoard, PtpRow
from aiops_desktop.models.text import cut_line
from analysis.ptp_compliance import CLOCK_TYPE_PROCESSES, is_port_only

PerCluster = dict[str, list[Finding]]
#: what a refresh could not read: cluster (as registered: a hub answers for its members) ->
#: domain -> why
Unread = dict[str, dict[Domain, str]]

ALERT_SEVERITY = {
    AlertSeverity.CRITICAL: FindingSeverity.CRITICAL,
    AlertSeverity.WARNING: FindingSeverity.WARNING,
    AlertSeverity.INFO: FindingSeverity.INFO,
}
#: a GPU whose health is not known (no temperature, no health counter) is a warning: no data
#: must not read as a healthy GPU
_GPU = {
    GpuState.CRITICAL: FindingSeverity.CRITICAL,
    GpuState.WARNING: FindingSeverity.WARNING,
    GpuState.UNKNOWN: FindingSeverity.WARNING,
}
#: a reason of a GPU that is OK (a corrected ECC total since the driver loaded) is a note:
#: shown, not degrading its cluster
_SEVERITY = {**_GPU, GpuState.OK: FindingSeverity.INFO}


def gpu_findings(fleet: GpuFleet) -> PerCluster:
    """One finding per GPU that is not OK, or OK with a note (INFO). A physical GPU split into
    MIG instances has its device's state (DCGM repeats the temperature, XID and ECC counters
    on every instance) said once, naming the instances; a reason only some instances have
    stays with each."""
    out: PerCluster = {}
    noted = [health for health in fleet.gpus if health.state in _GPU or health.reasons]
    for group in by_physical(noted).values():
        found = _one_gpu(group[0]) if len(group) == 1 else _mig_gpu(group)
        out.setdefault(group[0].reading.cluster, []).extend(found)
    return out


#: a PTP board's row: (cluster, node, iface, process)
PortKey = tuple[str, str, str, str]


#: how long a GPU or port no longer reported, and not replaced, is said gone: long enough for
#: the next shift to see it at its handover (a node retired or down stays CRITICAL no longer
#: than that)
GONE_FOR = timedelta(hours=24)

K = TypeVar("K", bound=tuple[str, ...])  # what is kept, its cluster first
T = TypeVar("T")


@dataclass
class _Kept(Generic[T]):
    """A thing not OK as last reported (``last``); ``went``: the first read (of its cluster)
    that no longer reported it."""

    last: T
    went: datetime | None = None


class _Gone(Generic[K, T]):
    """What each cluster reported that was not OK, as last seen, so that one no longer
    reported is said as such at its last severity rather than dropped; said until it is
    reported again (or something reported speaks for it: ``back``), or else for ``GONE_FOR``
    after it went. Only what was not OK is kept (what was OK and is gone has nothing to say),
    so the memory is as large as the findings. ``GpusGone`` and ``PortsGone`` say what is
    reported of GPUs and ports, and how one is said gone (``_said``)."""

    def __init__(self) -> None:
        self._last: dict[str, dict[K, _Kept[T]]] = {}

    def _said(self, last: T, went: datetime | None) -> Finding:
        raise NotImplementedError

    def _gone(
        self,
        bad: Mapping[str, Mapping[K, T]],
        back: Callable[[K, T], bool],
        unread: Collection[str],
        served: Collection[str],
        now: datetime,
    ) -> PerCluster:
        """A finding per thing kept that is no longer reported. ``bad``: what each cluster
        reported now that is not OK; ``back``: whether a kept thing is reported again or
        spoken for; ``unread``: the clusters whose read failed (the failure path keeps and
        marks their last findings: nothing is said here, and what is kept stays, its time
        gone not begun); ``served``: the clusters and hub members known now (what is kept of
        any other is forgotten); ``now``: when it was read."""
        out: PerCluster = {}
        last: dict[str, dict[K, _Kept[T]]] = {}
        for cluster in {*self._last, *bad}:
            if cluster not in served:
                continue
            gone: dict[K, _Kept[T]] = {}
            for key, kept in self._last.get(cluster, {}).items():
                if back(key, kept.last):
                    continue
                went = kept.went if kept.went is not None or cluster in unread else now
                if went is not None and now - went >= GONE_FOR:
                    continue
                gone[key] = replace(kept, went=went)
            if gone and cluster not in unread:
                out[cluster] = [self._said(gone[key].last, gone[key].went) for key in sorted(gone)]
            if kept_all := gone | {key: _Kept(v) for key, v in bad.get(cluster, {}).items()}:
                last[cluster] = kept_all
        self._last = last
        return out


@dataclass(frozen=True)
class _GpuSeen:
    """A GPU not OK as last reported, and every UUID its node reported then (a GPU that takes
    its index later and is one of them is a neighbour renumbered, no replacement)."""

    health: GpuHealth
    uuids: frozenset[str]


class GpusGone(_Gone[GpuKey, _GpuSeen]):
    """The GPUs each cluster reported that were not OK: after an XID 79 the exporter restarts
    and DCGM no longer lists the GPU, and the cluster's CRITICAL turned OK. Said until a GPU
    is reported in its slot (node, index) again: the GPU itself, or a new one (the board
    replaced: the slot speaks for itself now; a neighbour the node already had, renumbered
    into the index when the lost GPU was no longer enumerated, is none), until the GPU itself
    is reported under another index (renumbered: it speaks for itself), or else for
    ``GONE_FOR`` after it went (the node retired or down for good)."""

    def findings(
        self, fleet: GpuFleet, unread: Collection[str], served: Collection[str], now: datetime
    ) -> PerCluster:
        """A finding per GPU kept that ``fleet`` no longer has (``_Gone._gone``)."""
        seen: set[GpuKey] = set()
        uuids: dict[tuple[str, str], set[str]] = {}  # (cluster, node) -> its UUIDs now
        bad: dict[str, dict[GpuKey, GpuHealth]] = {}
        for health in fleet.gpus:
            r = health.reading
            seen.add(r.physical)
            uuids.setdefault((r.cluster, r.node), set()).add(r.uuid)
            if health.state in _GPU:  # its worst MIG instance stands for it
                was = bad.setdefault(r.cluster, {}).get(r.physical)
                if was is None or STATE_RANK[health.state] > STATE_RANK[was.state]:
                    bad[r.cluster][r.physical] = health
        slots: dict[tuple[str, str, str], set[str]] = {}  # the UUIDs reported in each slot now
        here: set[tuple[str, str]] = set()  # (cluster, UUID): wherever each is numbered now
        for cluster, node, gpu, uuid in seen:
            slots.setdefault((cluster, node, gpu), set()).add(uuid)
            if uuid:
                here.add((cluster, uuid))

        def back(key: GpuKey, last: _GpuSeen) -> bool:
            # reported again, a new GPU in its slot, or renumbered itself: what it reports now
            # speaks for it
            return (key in seen or bool(slots.get(key[:3], set()) - last.uuids)
                    or (bool(key[3]) and (key[0], key[3]) in here))  # fmt: skip

        now_bad = {cluster: {key: _GpuSeen(h, frozenset(uuids[key[:2]])) for key, h in gpus.items()}
                   for cluster, gpus in bad.items()}  # fmt: skip
        return self._gone(now_bad, back, unread, served, now)

    def _said(self, last: _GpuSeen, went: datetime | None) -> Finding:
        health = last.health
        r = health.reading
        said = f"{health.state.value}: {'; '.join(health.reasons)}"
        reason = f"no longer reported{_since(went)} (last: {said})"
        return Finding(Domain.GPU, _GPU[health.state], f"{r.node}/gpu{r.gpu}", reason,
                       _xid_since(health))  # fmt: skip


class PortsGone(_Gone[PortKey, tuple[Finding, ...]]):
    """The PTP ports each cluster reported that were not OK, with their findings as last read:
    when a node's linuxptp-daemon pod crashes (or is evicted) every openshift_ptp_* series of
    the node goes, the queries still answer, and a FREERUN port's CRITICAL turned OK. Said
    until its node is reported again (any row of it: the daemon answers for the node, and
    what it says now speaks for the port; a process reported down, a row of its own, comes
    back with its ports' rows), or else for ``GONE_FOR`` after it went."""

    def findings(
        self, board: PtpBoard, unread: Collection[str], served: Collection[str], now: datetime
    ) -> PerCluster:
        """A finding per port kept whose node ``board`` no longer has (``_Gone._gone``)."""
        nodes = {(r.cluster, r.node) for r in board.rows}
        bad: dict[str, dict[PortKey, tuple[Finding, ...]]] = {}
        for row, found in _port_findings(board):
            if found:
                key = (row.cluster, row.node, row.iface, row.process)
                bad.setdefault(row.cluster, {})[key] = tuple(found)
        return self._gone(bad, lambda key, _last: key[:2] in nodes, unread, served, now)

    def _said(self, last: tuple[Finding, ...], went: datetime | None) -> Finding:
        worst = min((f.severity for f in last), key=SEVERITY_RANK.__getitem__)
        said = "; ".join(f.reason for f in last)
        return Finding(Domain.PTP, worst, last[0].subject,
                       f"no longer reported{_since(went)} (last: {said})")  # fmt: skip


def _since(went: datetime | None) -> str:
    return "" if went is None else f" since {went.astimezone(UTC):%H:%M} UTC"


def _reasons(health: GpuHealth) -> list[tuple[GpuState, str]]:
    """A GPU's reasons, each with its state (the GPU's where not known)."""
    states = health.reason_states
    if len(states) != len(health.reasons):
        states = [health.state] * len(health.reasons)
    return list(zip(states, health.reasons, strict=True)) or [(health.state, health.state.value)]


def _finding(
    subject: str, reasons: list[tuple[GpuState, str]], since: datetime | None, suffix: str = ""
) -> Finding:
    worst = max((state for state, _ in reasons), key=STATE_RANK.__getitem__)
    reason = "; ".join(text for _, text in reasons) + suffix
    return Finding(Domain.GPU, _SEVERITY[worst], subject, reason, since)


def _subject(r: GpuReading) -> str:
    return f"{r.node}/gpu{r.gpu}" + (f" MIG {r.mig_id}" if r.mig_profile else "")


def _one_gpu(health: GpuHealth) -> list[Finding]:
    return [_finding(_subject(health.reading), _reasons(health), _xid_since(health))]


def _mig_gpu(group: list[GpuHealth]) -> list[Finding]:
    """The reasons every instance has (the device's) as one finding about the physical GPU;
    each instance's others as its own."""
    each = [_reasons(h) for h in group]
    common = [reason for reason in each[0] if all(reason in other for other in each[1:])]
    found = []
    if common:
        first = group[0]
        r = first.reading
        ids = sorted(
            {h.reading.mig_id for h in group if h.reading.mig_id}, key=lambda i: (len(i), i)
        )
        named = f"{_MIG_NAMED}{', '.join(ids)})" if ids else ""
        since = (
            _xid_since(first)
            if first.reasons and first.reasons[0] in {t for _, t in common}
            else None
        )
        found.append(_finding(f"{r.node}/gpu{r.gpu}", common, since, named))
    for health, reasons in zip(group, each, strict=True):
        if own := [reason for reason in reasons if reason not in common]:
            since = (
                _xid_since(health) if health.reasons and own[0][1] == health.reasons[0] else None
            )
            found.append(_finding(_subject(health.reading), own, since))
    return found


#: how a MIG device's finding names its instances, after its reasons
_MIG_NAMED = " (MIG instances "


def _xid_since(health: GpuHealth) -> datetime | None:
    """When the finding began, where its worst reason is an XID that came in the XID window
    (its incident then begins with it, beside the anomaly the gauge's panel made of it, not
    when the app first read it: on a capture, its end)."""
    r = health.reading
    if r.xid and r.xid_since is not None and health.reasons[0].startswith(f"XID {r.xid} "):
        return datetime.fromtimestamp(r.xid_since, UTC)
    return None


#: how a port's clock state finding begins (``kept_stale`` knows a clock state by it)
_CLOCK_IN = "clock in "


def ptp_findings(board: PtpBoard) -> PerCluster:
    """Per port: FREERUN is critical; HOLDOVER, an offset beyond the band, a stopped process,
    a FAULTY port, an out-of-spec clock class, GNSS or DPLL trouble and a port whose clock
    state or offset is not reported are warnings (no data must not read as a port in sync,
    as an unknown GPU is a warning). A clock class is the node's process's, on each of its
    rows: said once per node (by the worst row with a clock state of its own, or by its
    FREERUN or HOLDOVER finding)."""
    out: PerCluster = {}
    for row, found in _port_findings(board):
        if found:
            out.setdefault(row.cluster, []).extend(found)
    return out


def _port_findings(board: PtpBoard) -> list[tuple[PtpRow, list[Finding]]]:
    """Each row of ``board`` with its findings (``ptp_findings``)."""
    out = []
    named = {(r.cluster, r.node, r.clock_class) for r in board.rows
             if r.state in (ClockState.FREERUN, ClockState.HOLDOVER)}  # fmt: skip
    speakers = _class_speakers(board.rows)
    for row in board.rows:
        subject = f"{row.node}/{row.iface}" + (f" ({row.process})" if row.process else "")
        found: list[Finding] = []
        # the clock class says how far the clock can be trusted (and names its runbook entry)
        cls = "" if row.clock_class is None else f" (clock class {row.clock_class})"
        if row.state is ClockState.FREERUN:
            found.append(Finding(Domain.PTP, FindingSeverity.CRITICAL, subject,
                                 f"{_CLOCK_IN}FREERUN{cls}"))  # fmt: skip
        elif row.state is ClockState.HOLDOVER:
            found.append(Finding(Domain.PTP, FindingSeverity.WARNING, subject,
                                 f"{_CLOCK_IN}HOLDOVER{cls}"))  # fmt: skip
        if row.offset_in is False and row.offset_ns is not None:
            found.append(
                Finding(
                    Domain.PTP,
                    FindingSeverity.WARNING,
                    subject,
                    f"offset {row.offset_ns:g} ns beyond {row.threshold.band}",
                )
            )
        unknown = _not_reported(row)
        if unknown:
            found.append(Finding(Domain.PTP, FindingSeverity.WARNING, subject, unknown))
        if row.role == "FAULTY":
            found.append(Finding(Domain.PTP, FindingSeverity.WARNING, subject, "port FAULTY"))
        if row.process_up is False:
            configs = f" ({', '.join(row.down_configs)})" if row.down_configs else ""
            found.append(Finding(Domain.PTP, FindingSeverity.WARNING, subject,
                                 f"{row.process} is down{configs}"))  # fmt: skip
        for trouble in _troubles(row, named, speakers):
            found.append(Finding(Domain.PTP, FindingSeverity.WARNING, subject, trouble))
        out.append((row, found))
    return out


def _not_reported(row: PtpRow) -> str:
    """What a port does not report of its clock: its state (the daemon's 3, an odd value, or
    none) or its offset; "" where both are there, or where the row is a port with a role
    only (a MASTER port: the daemon reports a clock state and offset for the port its clock
    follows, not for it). A clock type's overall state (GM, BC, OC) has no offset of its
    own by design: only its state is asked of it. A node whose ptp4l is up with no clock
    state at all says that (``PtpRow.silence``)."""
    if is_port_only(row.notes):
        return ""
    if row.silent:
        return row.silence
    missing = []
    if row.state is ClockState.UNKNOWN:
        missing.append("PTP state unknown")
    if row.offset_ns is None and row.process not in CLOCK_TYPE_PROCESSES:
        missing.append("no offset reported")
    return "; ".join(missing)


def _class_speakers(rows: list[PtpRow]) -> dict[tuple[str, str, str], int]:
    """Which row says each node's clock class trouble: the first (worst) with a clock state
    of its own, or the first port with a role only where the node has none. The class is
    the clock's, on every row of its process: said once, by the clock's row."""
    speakers: dict[tuple[str, str, str], PtpRow] = {}
    for row in rows:
        for trouble in row.class_trouble:
            key = (row.cluster, row.node, trouble)
            if key not in speakers or (
                is_port_only(speakers[key].notes) and not is_port_only(row.notes)
            ):
                speakers[key] = row
    return {key: id(row) for key, row in speakers.items()}


def _troubles(
    row: PtpRow,
    named: set[tuple[str, str, int | None]],
    speakers: dict[tuple[str, str, str], int],
) -> list[str]:
    """What the board says is wrong beside the state, offset and process (``_annotate`` in
    services/gpu_cnf/ptp.py): an out-of-spec clock class (by the row that says it for its
    node: ``speakers``; none where a FREERUN or HOLDOVER finding of the node names it
    already: ``named``), GNSS without a fix, a DPLL that lost its lock. The board coloured
    them and the fleet's truth said nothing."""
    classes = []
    if (row.cluster, row.node, row.clock_class) not in named:
        classes = [t for t in row.class_trouble
                   if speakers.get((row.cluster, row.node, t)) == id(row)]  # fmt: skip
    return [*classes, *row.signal_trouble]


def kube_findings(not_ready: Iterable[TaggedSeries], looping: Iterable[TaggedSeries]) -> PerCluster:
    """kube-state-metrics answers (resources/kube/queries.json): a NotReady node and a pod in
    CrashLoopBackOff are each a warning."""
    out: PerCluster = {}
    for tagged in not_ready:
        node = tagged.series.labels.get("node", "?")
        out.setdefault(tagged.cluster, []).append(
            Finding(Domain.KUBERNETES, FindingSeverity.WARNING, f"node {node}", "NotReady")
        )
    for tagged in looping:
        labels = tagged.series.labels
        pod = f"{labels.get('namespace', '?')}/{labels.get('pod', '?')}"
        out.setdefault(tagged.cluster, []).append(
            Finding(Domain.KUBERNETES, FindingSeverity.WARNING, f"pod {pod}", "CrashLoopBackOff")
        )
    return out


def sriov_findings(cluster: str, nodes: Iterable[NodeSync]) -> PerCluster:
    """A node whose SR-IOV configuration failed to apply is critical (its VFs are not what the
    policies ask: CNF pods that need them cannot start there); one still applying is news;
    one whose sync state is unknown (the config daemon never reported) is a warning: no
    data must not read as a node in sync, as an unknown GPU is a warning."""
    found = []
    for row in nodes:
        if row.status == "Failed":
            # the operator's error as one line (a finding is one line of reason), bounded as
            # an alert's (cut where it was read, ``node_sync_rows``; again for any other row)
            said = f": {row.error}" if row.error else ""
            reason = cut_reason("SR-IOV sync Failed" + said)
            found.append(
                Finding(Domain.SRIOV, FindingSeverity.CRITICAL, f"node {row.node}", reason)
            )
        elif row.status == "InProgress":
            found.append(
                Finding(
                    Domain.SRIOV,
                    FindingSeverity.INFO,
                    f"node {row.node}",
                    "SR-IOV sync in progress",
                )
            )
        elif row.status != "Succeeded":  # no syncStatus (or one of no known meaning)
            found.append(
                Finding(
                    Domain.SRIOV,
                    FindingSeverity.WARNING,
                    f"node {row.node}",
                    "SR-IOV sync state unknown",
                )
            )
    return {cluster: found} if found else {}


#: the most of an alert's name and summary a finding keeps: an Alertmanager's labels and
#: annotations come whole (a summary of 1 MB was seen to freeze the wall quoting it)
ALERT_TEXT_CHARS = 512


def cut_reason(text: str) -> str:
    """``text`` as one printable line cut to ``ALERT_TEXT_CHARS``, the cut marked "…" (a
    finding's reason's most): an alert's summary's line breaks made a fixed-height Fleet tile
    and the Ctrl+K palette's rows many lines tall, and a right-to-left override in it made
    the line read other than it is."""
    return cut_line(text, ALERT_TEXT_CHARS)


def alert_findings(alerts: Iterable[Alert]) -> list[Finding]:
    out = []
    for alert in alerts:
        where = alert.labels.get("namespace") or alert.labels.get("instance") or ""
        summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
        subject = cut_reason(alert.name + (f" ({where})" if where else ""))
        severity = ALERT_SEVERITY[alert.severity]
        out.append(Finding(Domain.ALERTS, severity, subject, cut_reason(summary) or "firing",
                           alert.starts_at, key=alert_identity(alert)))  # fmt: skip
    return out


def anomaly_findings(anomalies: Iterable[Anomaly]) -> PerCluster:
    """Recent anomalies: a CRITICAL one (by rule) is critical, a HIGH one a warning, the
    others information."""
    out: PerCluster = {}
    for a in anomalies:
        severity = a.severity.level
        since = a.started_at or a.timestamp
        key = series_identity(a.metric, a.labels)
        out.setdefault(a.cluster, []).append(
            Finding(Domain.ANOMALIES, severity, a.metric, a.explanation, since, key=key)
        )
    return out


def alert_identity(alert: Alert) -> str:
    """Alertmanager's fingerprint (of the alert's label set); its labels where none came."""
    return alert.fingerprint or series_identity(alert.name, alert.labels)


def series_identity(name: str, labels: dict[str, str]) -> str:
    """One series: its metric (or alert) name and every label, in order. An anomaly's episodes
    of one series are one finding (its panel id alone would make every port one)."""
    return name + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def note_unread(unread: Unread, domain: Domain, outcomes: Iterable[ClusterOutcome]) -> None:
    """Add the clusters whose ``domain`` query failed (a timeout, Thanos' 422, a 503) to
    ``unread``, each with its first reason: their findings of ``domain`` are not known."""
    for o in outcomes:
        if not o.ok:
            why = o.error or o.reason or "not read"
            unread.setdefault(o.cluster, {}).setdefault(domain, why)


def distinct(findings: Iterable[Finding]) -> list[Finding]:
    """Each finding once, in order: a cluster read twice (registered itself and a hub's
    member, or a member of two hubs over one fleet) had each finding twice, and its score
    penalised twice. The same finding is the same domain, identity, severity and reason: a
    PTP port's FREERUN and its FAULTY role share the port as identity and are two."""
    seen: set[tuple[Domain, str, FindingSeverity, str]] = set()
    out = []
    for f in findings:
        said = (f.domain, f.identity, f.severity, f.reason)
        if said not in seen:
            seen.add(said)
            out.append(f)
    return out


def kept_stale(
    before: list[Finding], now: list[Finding], lost: Collection[Domain]
) -> list[Finding]:
    """``now``'s findings, and those of ``before`` in the ``lost`` domains (not read this time)
    that ``now`` does not replace, marked stale. Dropping them would turn an unread CRITICAL
    into OK, and tell it as new once it is read again. A finding of the same identity read
    now replaces a kept one where it is as severe (the subject reads no better than it was),
    or where it is trouble (a WARNING or worse) that reads again what made the kept one what
    it was, and so is news whatever its rank: of a PTP port, a finding of the same kind (its
    HOLDOVER after its FREERUN); of a GPU, one whose reasons say the kept one's worst reason
    (its XID 79, now held since before the XID window). No other does: a port's offset
    warning read again while its clock state query failed says nothing of its FREERUN, nor a
    GPU's temperature warning (its own query) of the XID 79 whose query timed out, nor its
    corrected ECC note of its temperature not read."""
    again: dict[tuple[Domain, str], list[Finding]] = {}
    for f in now:
        again.setdefault((f.domain, f.identity), []).append(f)
    kept = [replace(f, stale=True) for f in before if f.domain in lost and not any(
        _replaces(g, f) for g in again.get((f.domain, f.identity), []))]  # fmt: skip
    return [*now, *kept]


def _replaces(new: Finding, old: Finding) -> bool:
    """Whether ``new``, read now, replaces ``old``, kept (``kept_stale``)."""
    if SEVERITY_RANK[new.severity] <= SEVERITY_RANK[old.severity]:  # as severe, or more
        return True
    if new.severity is FindingSeverity.INFO:
        return False
    if new.domain is Domain.GPU:
        # a GPU's fields are queries of their own: one of them read again (its temperature)
        # says nothing of another whose query failed (its XID)
        return _worst_reason(old) in new.reason
    return _kind(new) == _kind(old)


def _kind(f: Finding) -> str:
    """What a finding is of, among those of its identity: a PTP port's clock state (FREERUN,
    HOLDOVER), or each of its other findings (its offset, role, process: one port, many
    findings); any other identity has one finding (a GPU's holds the reasons of several
    queries: ``_replaces``)."""
    if f.domain is not Domain.PTP:
        return ""
    return "clock state" if f.reason.startswith(_CLOCK_IN) else f.reason


def _worst_reason(f: Finding) -> str:
    """A GPU finding's first reason, its worst (``_finding``): up to the first "; " (an
    XID's action may hold one: its start still names the XID), without the MIG instances
    named after it."""
    return f.reason.split("; ", 1)[0].split(_MIG_NAMED, 1)[0]
