"""Incidents, kept: the fleet's findings, the alerts firing and the last hour's anomalies are
grouped (analysis/incidents.py) into incidents after every refresh of the fleet's truth, kept
in the store, and published (``INCIDENTS_CHANGED``); the user acknowledges them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Collection, Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aiops_desktop.logs import redact
from aiops_desktop.models import utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.errors import AppError, UsageError
from aiops_desktop.models.fleet import (
    SEVERITY_RANK,
    Coverage,
    Domain,
    FindingSeverity,
    FleetTruth,
)
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.models.polling import SourceStatus
from aiops_desktop.models.text import one_line
from aiops_desktop.services.fleet.findings import ALERT_SEVERITY
from aiops_desktop.services.fleet.state import ANOMALIES_WITHIN, FLEET_CHANGED
from aiops_desktop.services.runtime.access import Access, Action
from analysis.incidents import (
    EVENT_KEY,
    OFFERED_AFTER_END,
    alert_labels,
    entity_of,
    group,
    object_labels,
    object_place,
    place_of,
)

if TYPE_CHECKING:
    from aiops_desktop.services.fleet.state import FleetState
    from aiops_desktop.services.intelligence.anomalies import AnomalyService
    from aiops_desktop.services.kube.session import KubeSession
    from aiops_desktop.services.polling.poller import Poller
    from aiops_desktop.services.runtime.bus import EventBus
    from aiops_desktop.services.runtime.supervisor import TaskSupervisor
    from aiops_desktop.store.incidents import IncidentRepository

log = logging.getLogger("aiops.services.incidents")

INCIDENTS_CHANGED = "incidents.changed"  # payload: list[Incident] (as ``listed`` gives them)
KEEP_RESOLVED = timedelta(days=7)  # resolved incidents listed this long
#: why an acknowledgement is refused over a capture (the CLI's words)
CAPTURE_READ_ONLY = "a capture is read-only: acknowledge incidents in the live cache"


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_CLOCK_CLASS = re.compile(r" \(clock class #\)")


def finding_kind(reason: str) -> str:
    """What a finding is, without what it measured: its reason's first clause with every
    number as "#" ("temperature # C (critical >= # C)", "offset # ns beyond +/-# ns"), so a
    value that moves is the same signal in a new version, not a new signal each refresh (an
    offset of 350, 352, 347 ns was three signals: "+2 signals"); the clock class a state
    names is not what the finding is (a class read or not, the same clock in FREERUN)."""
    return _CLOCK_CLASS.sub("", _NUMBER.sub("#", reason.split(":", maxsplit=1)[0]))


def finding_signals(truth: FleetTruth, now: datetime) -> list[IncidentSignal]:
    """GPU, PTP, SR-IOV and Kubernetes findings of every cluster (alerts and anomalies are
    taken from their own sources, with their labels)."""
    out = []
    for t in truth.clusters:
        for f in t.findings:
            if f.domain in (Domain.ALERTS, Domain.ANOMALIES):
                continue
            since = f.since or now
            out.append(IncidentSignal(
                key=f"{f.domain.value}|{t.name}|{f.subject}|{finding_kind(f.reason)}",
                source=f.domain.value, cluster=t.name, subject=f.subject, severity=f.severity,
                reason=f.reason, first_seen=min(since, now), last_seen=now,
                topology=place_of(f.subject), entity=_finding_entity(t.name, f.subject),
            ))  # fmt: skip
    return out


def _finding_entity(cluster: str, subject: str) -> str:
    """A finding's subject as RCA names it: "gpu-1/gpu3", "du-2/ens1f0 (ptp4l)", "node du-1",
    "pod ran-du/du-l1-0" -> "<cluster> <subject without the process>"."""
    return f"{cluster} {subject.split(' (', 1)[0]}"


#: the most of a server's name (an alert's, an event's reason) and of its words (an alert's
#: annotation, an event's message) a signal keeps: each is stored and rewritten every refresh
NAME_MOST = 128
REASON_MOST = 300
#: the most of what a signal or a cause is about (an event's object with its namespace and
#: cluster, a series' labels' entity): a Kubernetes name is at most 253 characters, and with
#: its cluster and namespace this holds any real one
ENTITY_MOST = 400
#: the hash a name changed to fit ends with: "… #" and 8 hex digits
_TAG = 11


def fitted_name(text: str, most: int = ENTITY_MOST) -> str:
    """A name from outside (an object's, a label's: what a signal or a cause is about) as one
    printable line of at most ``most`` characters. One that had to change for it (cut, or rid
    of a line break, an escape, a bidi override) ends with a short hash of the whole: two
    names alike in what is kept ("du-0<RLO>0-ud" and the real "du-00-ud", two 200,000-character
    names alike in their first 400) stay two things, never one cause with the other's
    signals and checks. One that fits is kept as it is."""
    # (printable: no control, break or bidi mark; ``one_line`` leaves it as it is, and is
    # slower: each label of 20,000 alerts is fitted every refresh)
    if len(text) <= most and (text.isprintable() or one_line(text) == text):
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    # cut before it is cleaned (a name may be megabytes); a few times ``most`` leaves enough
    # after the controls are taken out of any real one
    return f"{one_line(text[: most * 4])[: most - _TAG]}… #{digest}"


def fitted_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels from outside (an alert's, a series') with each name and value a
    ``fitted_name``: kept in every signal (what it is about, its places) and rewritten every
    refresh, a crafted 100 KB value was stored whole in each (300 alerts: a 30 MB incident);
    the same labels are fitted alike on every cluster (the same alert is still one)."""
    return {fitted_name(k, NAME_MOST): fitted_name(v) for k, v in labels.items()}


def alert_signals(alerts: Mapping[str, list[Alert]], now: datetime) -> list[IncidentSignal]:
    """Every alert firing; its name and annotation one printable line, cut as an event's
    are (a crafted answer's 200,000 characters of escapes would be stored, and shown), its
    labels fitted (``fitted_labels``)."""
    out = []
    for cluster, firing in alerts.items():
        for a in firing:
            name = one_line(a.name)[:NAME_MOST]
            said = a.annotations.get("summary") or a.annotations.get("description") or ""
            labels = fitted_labels(a.labels)
            out.append(IncidentSignal(
                key=f"alert|{cluster}|{a.fingerprint}", source="alert", cluster=cluster,
                subject=name, severity=ALERT_SEVERITY[a.severity],
                reason=one_line(said)[:REASON_MOST].strip() or "firing",
                first_seen=_sane(a.starts_at, now), last_seen=now,
                topology=place_of("", labels), alert_name=name,
                alert_labels=alert_labels(labels),  # with its name: which alert it is
                # not its exporter's; a label is any text: one printable line, cut (from the
                # labels as they are: as RCA names what the series' labels name)
                entity=fitted_name(entity_of(cluster, object_labels(a.labels))),
            ))  # fmt: skip
    return out


#: a time before this is no source's (Go's zero time, 0001-01-01, is an unset one)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _sane(when: datetime, now: datetime) -> datetime:
    """A source's time no later than ``now`` (a clock ahead, a crafted capture: a signal
    "seen" in 2099 would hold its incident open till then) and no earlier than 1970."""
    return max(min(when, now), EPOCH)


def anomaly_signals(anomalies: list[Anomaly], now: datetime) -> list[IncidentSignal]:
    """Anomalies still open, or ended within the hour (last seen at their last point, not
    their worst: one that ended 3 minutes ago, its worst 40 minutes before, resolved its
    incident at once and left the next signal of its node an incident of its own; its times
    no later than ``now``)."""
    out = []
    for a in anomalies:
        seen = _sane(now if a.open else (a.last_at or a.timestamp), now)
        place = place_of("", fitted_labels(a.labels)) or [f"metric:{a.metric}"]
        out.append(IncidentSignal(
            key=f"anomaly|{a.identity}", source="anomaly", cluster=a.cluster, subject=a.metric,
            severity=a.severity.level, reason=a.explanation,
            first_seen=min(_sane(a.started_at or a.timestamp, now), seen), last_seen=seen,
            topology=place,
            entity=fitted_name(entity_of(a.cluster, a.labels)),  # as RCA names it
        ))  # fmt: skip
    return out


EVENTS = "/api/v1/events"
WARNINGS = "type=Warning"  # the API server filters: a busy cluster's Normal events stay there
EVENTS_WITHIN = timedelta(hours=1)
#: an event's first time taken no earlier than this before its last (a count of repeats
#: since long ago, or a zero time, would anchor its incident days or centuries back)
EVENT_SPAN_MOST = timedelta(days=1)
EVENTS_PER_CLUSTER = 200  # the newest warnings of a cluster taken, at most
EVENTS_SOURCE = "events"  # their source, as the CLI says one not read ("east/events: ...")


#: ``_event_time``'s key for an events.k8s.io event's latest repeat
SERIES_LAST = "series.lastObservedTime"
#: how often client-go (tools/events: ``refreshTime``) writes an ongoing series to the API
#: server: between writes it counts repeats in its own cache only, so the scheduler's
#: FailedScheduling of a pod still pending shows a lastObservedTime up to this old
SERIES_REFRESH = timedelta(minutes=30)


def _event_time(obj: dict[str, Any], *keys: str) -> datetime | None:
    """An event's time: the first of ``keys`` that holds one (a server's text: a time without
    a zone is taken as UTC). ``SERIES_LAST`` is the latest repeat of an events.k8s.io event:
    a last time only (its first is ``eventTime``: a FailedScheduling repeated for 40 minutes
    began then, not at its latest repeat)."""
    series = _dict(obj.get("series"))
    for key in keys:
        text = series.get("lastObservedTime") if key == SERIES_LAST else obj.get(key)
        if isinstance(text, str) and len(text) <= 64:
            with contextlib.suppress(ValueError):
                when = datetime.fromisoformat(text.replace("Z", "+00:00"))
                return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


#: a server's clock this far ahead of the app's is said (an event dated after now is taken
#: as now: "seen" in 9999, its series' next write overflowed and every grouping failed)
AHEAD_SAID = timedelta(minutes=1)


def event_signals(
    cluster: str, events: list[dict[str, Any]], now: datetime
) -> list[IncidentSignal]:
    """Kubernetes Warning events of the last hour (newest first, at most
    ``EVENTS_PER_CLUSTER``), each about its object: a pod or a node, else the object in its
    namespace (``object_place``: a ReplicaSet's at its Deployment too). An events.k8s.io
    series is seen until its next write is due (``SERIES_REFRESH``): its incident resolved
    10 minutes after each write and a new one opened at the next, its acknowledgement lost.
    An event dated after now is taken as now (said in the log: any writer of events chooses
    its times); one whose times cannot be worked with is left out and said, never failing
    the others (nor every grouping of the fleet)."""
    out = []
    ahead: list[datetime] = []
    for obj in events:
        if not isinstance(obj, dict) or obj.get("type") != "Warning":
            continue
        try:
            made = _event_signal(cluster, obj, now, ahead)
        except (OverflowError, ValueError) as exc:
            log.info("a Warning event of %s left out: %s", cluster, redact(str(exc)))
            continue
        if made is not None:
            out.append(made)
    if ahead:
        log.info("%s: %d Warning event%s dated after now (the latest %s) taken as now",
                 cluster, len(ahead), "s" if len(ahead) > 1 else "",
                 max(ahead).isoformat())  # fmt: skip
    out.sort(key=lambda s: s.last_seen, reverse=True)
    return out[:EVENTS_PER_CLUSTER]


def _event_signal(
    cluster: str, obj: dict[str, Any], now: datetime, ahead: list[datetime]
) -> IncidentSignal | None:
    """``event_signals``' signal of one Warning event (None: not of the last hour); its
    latest time, where it is after now (by more than ``AHEAD_SAID``), added to ``ahead``."""
    stated = [t for k in ("lastTimestamp", SERIES_LAST, "eventTime", "firstTimestamp")
              if (t := _event_time(obj, k)) is not None]  # fmt: skip
    if stated and (latest := max(stated)) - now > AHEAD_SAID:
        ahead.append(latest)
    last = _event_time(obj, "lastTimestamp", SERIES_LAST, "eventTime")
    if last is None or now - last > EVENTS_WITHIN:
        return None
    if (observed := _event_time(obj, SERIES_LAST)) is not None:
        last = max(last, min(observed, now) + SERIES_REFRESH)
    last = min(last, now)
    first = _event_time(obj, "firstTimestamp", "eventTime") or last
    first = last if first < EPOCH or first > last else max(first, last - EVENT_SPAN_MOST)
    involved = _dict(obj.get("involvedObject"))
    # a server's words and names (any writer of events chooses them): one printable line
    # each, cut; a name changed for it keeps a hash of the whole (``fitted_name``)
    kind = one_line(str(involved.get("kind", ""))[:64])
    name = fitted_name(str(involved.get("name", "?")), 253)  # Kubernetes' most
    namespace = fitted_name(str(involved.get("namespace") or ""), 63)
    if kind in ("Pod", "Node"):
        subject = f"pod {namespace}/{name}" if kind == "Pod" else f"node {name}"
        topology = place_of(subject)
    else:  # "replicaset payments/api-7d9f8b6c5d": its kind as a label names it
        word = "".join(c for c in kind.lower() if c.isalnum()) or "object"
        subject = f"{word} {namespace}/{name}" if namespace else f"{word} {name}"
        topology = object_place(word, namespace, name)
    said = (f"{one_line(str(obj.get('reason', 'Warning'))[:NAME_MOST])}: "
            f"{one_line(str(obj.get('message', ''))[:REASON_MOST])}")  # fmt: skip
    reason = redact(said.strip(": "))  # a server's words
    meta = _dict(obj.get("metadata"))
    uid = str(meta.get("uid") or meta.get("name"))[:128]
    return IncidentSignal(
        key=f"{EVENT_KEY}{cluster}|{uid}", source="Kubernetes", cluster=cluster,
        subject=subject, severity=FindingSeverity.WARNING, reason=reason[:REASON_MOST].strip(),
        first_seen=first, last_seen=last, topology=topology, entity=f"{cluster} {subject}",
        offered_at=now,  # read now: it may repeat again (its last time is its server's)
    )  # fmt: skip


def _events_status(
    before: SourceStatus | None, cluster: str, answer: object, now: datetime
) -> SourceStatus:
    """A cluster's Warning events as a poll's source, after a read at ``now`` (``answer``:
    the events, or why they could not be read) that followed ``before``."""
    failed = isinstance(answer, AppError)
    last = None if before is None else before.last_success
    errors = 0 if before is None else before.consecutive_errors
    return SourceStatus(
        cluster, EVENTS_SOURCE, 0.0, last_attempt=now, last_success=last if failed else now,
        consecutive_errors=errors + 1 if failed else 0,
        last_error=redact(str(answer)) if failed else None,
    )  # fmt: skip


@dataclass(frozen=True)
class _Read:
    """What the signals are made of, as read at one moment."""

    truth: FleetTruth
    alerts: dict[str, list[Alert]]
    anomalies: list[Anomaly]
    events: dict[str, list[dict[str, Any]]]


def _built(read: _Read, now: datetime) -> list[IncidentSignal]:
    """Every signal of ``read`` (off the loop: an alert storm's are many)."""
    events = [s for name, found in read.events.items() for s in event_signals(name, found, now)]
    return [*finding_signals(read.truth, now), *alert_signals(read.alerts, now),
            *anomaly_signals(read.anomalies, now), *events]  # fmt: skip


def _grouped(
    signals: list[IncidentSignal], now: datetime, active: list[Incident],
    taken: Container[str], *, clock: Callable[[], datetime],
    unread: Collection[str] | Mapping[str, Collection[str]],
    last_read: Mapping[str, datetime],
    events_unread: Mapping[str, datetime | None] = MappingProxyType({}),
) -> tuple[list[Incident], set[str]]:  # fmt: skip
    """``signals`` (read at ``now``) grouped into ``active`` as of when this grouping runs
    (``clock``; the store groups again over what is stored where another write landed since
    it read ``active``, the last time in its write transaction): a signal it adds was first
    grouped after every acknowledgement ``active`` holds. Grouped as of ``now`` (the
    refresh's start), a CRITICAL it added was "grouped" before an acknowledgement made
    while the refresh read (the CLI's ``--ack``), and never opened the incident again. A
    signal dated when read (no time of its own before the read: a finding with no "since")
    is first seen when grouped, as RCA takes it (``rca_anchor``: first seen at the read, a
    moment before it was grouped, each such finding was taken for an onset of its own, and
    the live RCA window moved past what began the incident)."""
    at = max(now, clock())
    if at > now:
        signals = [_dated(s, at) if _dated_when_read(s, now) else s for s in signals]
    return group(active, signals, at, unread=unread, last_read=last_read,
                 events_unread=events_unread, taken=taken)  # fmt: skip


#: the sources of findings, as their signals' keys begin (``finding_signals``)
_FINDINGS = frozenset(d.value for d in Domain) - {Domain.ALERTS.value, Domain.ANOMALIES.value}


def _dated_when_read(signal: IncidentSignal, now: datetime) -> bool:
    """Whether ``signal`` is a finding with no time of its own before the read at ``now``
    (``finding_signals``: no "since", first seen at the read); not an alert, an anomaly or
    an event begun then (their times are their sources')."""
    return signal.key.partition("|")[0] in _FINDINGS and signal.first_seen >= now


def _dated(signal: IncidentSignal, at: datetime) -> IncidentSignal:
    """A signal dated when read, first seen (and so seen) when grouped, at ``at``."""
    return signal.model_copy(update={"first_seen": at, "last_seen": max(signal.last_seen, at)})


#: a source's coverage when it was read (live, or a capture's answers)
_READ = (Coverage.READ, Coverage.RECORDED)
_ORDER = {IncidentStatus.OPEN: 0, IncidentStatus.ACKNOWLEDGED: 1, IncidentStatus.RESOLVED: 2}


def _in_order(incidents: list[Incident]) -> list[Incident]:
    return sorted(incidents, key=lambda i: (_ORDER[i.state], SEVERITY_RANK[i.severity],
                                            -i.opened_at.timestamp()))  # fmt: skip


class IncidentService:
    #: each cluster's Warning events as the last read found them (``_events``; none before)
    _events_read: Mapping[str, SourceStatus] = MappingProxyType({})

    def __init__(
        self,
        repo: IncidentRepository,
        fleet: FleetState,
        anomalies: AnomalyService,
        poller: Poller,
        bus: EventBus,
        *,
        kube: KubeSession | None = None,
        clock: Callable[[], datetime] = utcnow,
        access: Access | None = None,
        recorded: bool = False,
    ) -> None:
        """``kube``: where Kubernetes warning events are read (none: not read);
        ``recorded``: over a capture (read-only: its store is a working copy, gone on
        close, so nothing is acknowledged there)."""
        self.repo = repo
        self._access = access or Access()
        self._regrouped_at: datetime | None = None
        self._kube = kube
        self._fleet = fleet
        self._anomalies = anomalies
        self._poller = poller
        self._bus = bus
        self._clock = clock
        self._recorded = recorded
        self._lock = asyncio.Lock()
        #: incidents the last listing left out (beyond the store's LIST_LIMIT)
        self.left_out = 0
        #: (cluster, source) seen read by a refresh of this run (``_note_reads``)
        self._sources_read: set[tuple[str, str]] = set()

    def unread_clusters(self) -> set[str]:
        """The clusters whose truth shows a source that cannot be read now (unreachable, or
        stale) or was not read yet (no data yet: the first regroup after a start can run
        before the first poll): what they show is unknown, so their incidents are held open.
        Not one whose Warning events alone cannot be read (``_events_unread``: only the
        incidents its events made are held; the fleet shows it read)."""
        return set(self.unread_sources())

    def unread_sources(self) -> dict[str, frozenset[str]]:
        """``unread_clusters``, each with its sources that cannot be read now or were not
        read yet (its truth's coverage keys: "metrics", "alerts", ...): only the incidents of
        signals read from one of them are held (``analysis.incidents.READ_FROM``: an
        Alertmanager never read held a PTP clock's incident, read from Prometheus, open for
        good)."""
        truth = self._fleet.last or self._fleet.snapshot()
        gone = (Coverage.UNREACHABLE, Coverage.STALE, Coverage.NO_DATA)
        lost = {t.name: frozenset(k for k, c in t.coverage.items() if c in gone)
                for t in truth.clusters}  # fmt: skip
        return {name: keys for name, keys in lost.items() if keys}

    def _events_unread(self) -> dict[str, datetime | None]:
        """The clusters whose Warning events cannot be read now (``events_read``: a 403, a
        500), each with when they were last read this run (None: not yet): the signals made
        of them are unseen, not ended (``analysis.incidents.group``)."""
        return {n: s.last_success for n, s in self._events_read.items() if s.consecutive_errors}

    def events_read(self) -> list[SourceStatus]:
        """Each cluster's Warning events as the last read found them, as a poll's source (the
        CLI says those failing with the sources it polled: ``say_unread``)."""
        return [self._events_read[n] for n in sorted(self._events_read)]

    def _note_reads(self) -> None:
        """The sources each cluster's truth shows read now, kept for this run (of the
        clusters still there): one lost later was read this run (``_last_read``)."""
        truth = self._fleet.last or self._fleet.snapshot()
        names = {t.name for t in truth.clusters}
        self._sources_read = {r for r in self._sources_read if r[0] in names} | {
            (t.name, k) for t in truth.clusters for k, c in t.coverage.items() if c in _READ
        }

    def _last_read(self, unread: Collection[str]) -> dict[str, datetime]:
        """When each of ``unread`` was last read, where known: its truth's ``stale_since``,
        the oldest known last read of its lost sources, where each lost source's is known (it
        alone is lost, or each was seen read this run: ``_note_reads``); not one with a source
        never read (not read yet, or lost since the start: after a restart an Alertmanager
        never answered, a Prometheus read once, the stored CRITICAL alert's incident was
        judged by the Prometheus read and resolved). An incident whose signals it saw end
        before it went dark is not held open by it (``analysis.incidents.group``)."""
        truth = self._fleet.last or self._fleet.snapshot()
        return {t.name: t.stale_since for t in truth.clusters
                if t.name in unread and t.stale_since is not None
                and Coverage.NO_DATA not in t.coverage.values()
                and (len(lost := t.lost()) == 1
                     or all((t.name, k) in self._sources_read for k in lost))}  # fmt: skip

    async def signals(self) -> list[IncidentSignal]:
        now = self._clock()
        return await asyncio.to_thread(_built, await self._read(now), now)

    async def _read(self, now: datetime) -> _Read:
        """What signals are made of, read on the loop (the alerts' lists copied: the poller
        replaces them there while the signals are built off it)."""
        truth = self._fleet.last or self._fleet.snapshot()
        recent = await self._anomalies.current(ANOMALIES_WITHIN)
        alerts = {name: list(firing) for name, firing in self._poller.alerts.items()}
        return _Read(truth, alerts, recent, await self._events(now))

    async def _events(self, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """Warning events of every cluster with a Kubernetes API, read at ``now``; a cluster
        that cannot be read (a 403, a 500, an answer over the client's size bound) adds none
        and its events are unread (``events_read``: the incidents they made are held, it is
        said: an incident of a FailedMount resolved while the pod still could not start, and
        nothing said why); a capture records no events, and adds none. Only Warning events
        are asked for (``fieldSelector=type=Warning``, filtered by the API server), and
        filtered again (``event_signals``: a server may ignore it); the API client bounds the
        answer's size."""
        if self._kube is None:
            return {}
        out: dict[str, list[dict[str, Any]]] = {}
        statuses: dict[str, SourceStatus] = {}
        answers = await self._kube.objects_of_each(EVENTS, field_selector=WARNINGS)
        for name, answer in answers.items():
            if isinstance(answer, AppError):
                log.info("events of %s not read: %s", name, answer)
                if self._recorded:
                    continue
            else:
                out[name] = answer
            statuses[name] = _events_status(self._events_read.get(name), name, answer, now)
        self._events_read = statuses
        return out

    async def regroup(self, *, every: timedelta | None = None) -> None:
        """The fleet's truth read again and grouped into incidents (what ``aiops-desktop
        incidents`` and the chat's tools show); ``every``: not again sooner than this."""
        now = self._clock()
        if (
            every is not None
            and self._regrouped_at is not None
            and (now - self._regrouped_at < every)
        ):
            return
        await self._fleet.refresh()
        await self.refresh()
        self._regrouped_at = now

    async def refresh(self) -> list[Incident]:
        """Group what is seen now into the incidents not resolved; keep them, publish those
        listed (as ``listed`` reads them: past the store's LIST_LIMIT the same cut, and
        ``left_out`` of it: every active one published flipped with the next read's 1,000,
        under a title saying some were left out), and return those grouped."""
        async with self._lock:
            now = self._clock()
            read = await self._read(now)
            # off the loop: 20,000 alerts are 20,000 signals to build
            signals = await asyncio.to_thread(_built, read, now)
            # grouped off the loop and outside the write transaction, written only if no
            # other grouping wrote the incidents meanwhile (else grouped again over them):
            # every one not resolved, and those resolved lately (their ended signals are
            # still offered: they must not open the same incident again); a thousand signals
            # against a thousand incidents is a second; a new incident's id is none stored
            lately = (now - OFFERED_AFTER_END).timestamp()
            self._note_reads()
            unread = self.unread_sources()
            grouping = partial(_grouped, signals, now, clock=self._clock, unread=unread,
                               last_read=self._last_read(unread),
                               events_unread=self._events_unread())  # fmt: skip
            grouped, _ = await asyncio.to_thread(self.repo.regroup, grouping, resolved_since=lately)
            self._bus.publish(INCIDENTS_CHANGED, _in_order(await self._kept(now)))
            return grouped

    async def listed(self) -> list[Incident]:
        """Open, then acknowledged, then those resolved in the last week; in each, the most
        severe first, then the newest."""
        return _in_order(await self._kept(self._clock()))

    async def _kept(self, now: datetime) -> list[Incident]:
        """Those not resolved and those resolved within ``KEEP_RESOLVED``, as stored: at most
        the store's LIST_LIMIT, the least pressing cut (open critical ones never for being
        old); how many were cut is ``left_out`` (and logged)."""
        found, left_out = await asyncio.to_thread(
            partial(self.repo.listed, since=(now - KEEP_RESOLVED).timestamp())
        )
        if left_out and left_out != self.left_out:
            log.warning("%d incidents not listed (the least pressing; %d listed)", left_out,
                        len(found))  # fmt: skip
        self.left_out = left_out
        return found

    async def get(self, incident_id: str) -> Incident | None:
        return await asyncio.to_thread(self.repo.get, incident_id)

    async def acknowledge(
        self, incident_id: str, *, seen: FindingSeverity | None = None
    ) -> Incident | None:
        """Acknowledge an open incident no worse than ``seen`` (the severity the person saw:
        a refresh may have added a CRITICAL while the click waited for it): as stored after
        (its state ACKNOWLEDGED now, or, as the store's write read it, as it was:
        ACKNOWLEDGED already, RESOLVED, or OPEN and worse than seen); None: no such incident.
        Read and written in one write transaction (the store's ``acknowledge``): this
        process's lock does not hold off another's grouping."""
        self._access.require(Action.ACKNOWLEDGE)
        if self._recorded:  # it "succeeded" into the working copy, and was gone on close
            raise UsageError(CAPTURE_READ_ONLY)
        async with self._lock:
            now = self._clock()
            done = await asyncio.wrap_future(self.repo.acknowledge(incident_id, now, seen=seen))
        if done is None:
            return None
        if done.state is IncidentStatus.OPEN:
            log.info("%s not acknowledged: it is %s now, %s was seen", incident_id,
                     done.severity.value, seen and seen.value)  # fmt: skip
        elif done.state is not IncidentStatus.ACKNOWLEDGED or done.acknowledged_at != now:
            log.info("%s not acknowledged: it is %s", incident_id, done.state.value)
        self._bus.publish(INCIDENTS_CHANGED, await self.listed())
        return done

    def follow(self, supervisor: TaskSupervisor) -> Callable[[], None]:
        """Regroup after every refresh of the fleet's truth (the window and the wall);
        returns the function that stops it."""

        def regroup(_truth: object) -> None:
            with contextlib.suppress(RuntimeError):  # shutting down: nothing more to group
                supervisor.spawn(self._guarded(), name="incidents")

        return self._bus.subscribe(FLEET_CHANGED, regroup)

    async def _guarded(self) -> None:
        try:
            await self.refresh()
        except AppError as exc:  # the store closed under it, a capture's oddity: said
            log.warning("incidents could not be grouped: %s", exc)
