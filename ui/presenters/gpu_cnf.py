"""Presenters of the GPU fleet, the PTP timing board, the SR-IOV/DPDK/CNF page and drift:
they read through ``GpuCnfReaders`` on a timer while their page is shown (never on the UI
thread) and keep a cluster's last rows, marked stale with their age, while it cannot be read
(the other clusters' rows are always the newest read's)."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import ClusterKind, utcnow
from aiops_desktop.models.cnf import CnfWorkload, DpdkPortRow, NodeSync, SriovObjects, VfRow
from aiops_desktop.models.drift import DriftReport
from aiops_desktop.models.fleet import Domain, Finding
from aiops_desktop.models.gpu import STATE_RANK, GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow
from aiops_desktop.models.text import age_text, time_text
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.fleet.findings import GONE_FOR, gpu_findings, kept_stale, ptp_findings
from aiops_desktop.services.gpu_cnf.cnf import cnf_workloads_by_type
from aiops_desktop.services.gpu_cnf.gpu import gpu_queries
from aiops_desktop.services.gpu_cnf.ptp import FIELDS as PTP_VALUE_FIELDS
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders, problems
from aiops_desktop.services.polling.freshness import LastGoodRows, ShownRows
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import health_changes, worst_first
from ui.presenters.base import Presenter

READ_EVERY_MS = 30_000


class ReaderPresenter(Presenter):
    """Reads the clusters through ``GpuCnfReaders`` on a timer (while its page is shown), and
    keeps each cluster's last rows read without trouble (``LastGoodRows``): a row a newer read
    lacks because its cluster (or the hub answering for it) failed stays shown, marked stale
    with its age; every cluster read fine shows its new rows."""

    def __init__(
        self,
        *,
        readers: GpuCnfReaders,
        tasks: TaskSupervisor,
        interval_ms: int = READ_EVERY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, interval_ms, parent)
        self._readers = readers
        self._every = timedelta(milliseconds=interval_ms)  # a read every (while shown)
        self.forget()

    def forget(self) -> None:
        """The kept rows no longer apply (another window, another question)."""

    #: what a cluster needs for the page to read it, as the page says it where none has it
    reads_from = "Prometheus or a Kubernetes API"

    def readable(self) -> bool:
        """Whether a registered cluster has what the page reads: metrics or a Kubernetes API."""
        return bool(self._readers.with_metrics() or self._readers.with_kube())

    def nothing_to_read(self) -> str:
        """The page's note where no cluster can be read for it (first run: none registered):
        said with an empty answer, so the page does not say "Not read yet" for ever."""
        return f"no cluster with {self.reads_from}: nothing to read"


@lru_cache(maxsize=256)
def _moment(when: datetime, now: datetime) -> str:
    """ "2026-12-07 06:00:00 UTC (2.0 h ago)": written once per moment and read (a site's
    outage has thousands of rows gone, or kept, since the same few reads)."""
    return f"{time_text(when, seconds=True)} ({age_text((now - when).total_seconds())})"


def stale_note(as_of: datetime, was: str, now: datetime | None = None) -> str:
    """What a row kept from an earlier read says of itself: what it read then, and when."""
    return f"STALE: {was} as read at {_moment(as_of, now or utcnow())}"


def failed_clusters(sources: Sequence[Any], failed: Iterable[str]) -> Callable[[str], bool]:
    """Whether a row of the cluster named could not be read this time: ``failed`` names the
    sources that failed (a cluster, or a hub: its outcomes are under its own name). A hub's
    failure covers its members (those it lists, or a cluster no hub lists and not registered
    itself: one a hub answered for before polls named it)."""
    names = {name for c in sources if isinstance(name := getattr(c, "name", None), str)}
    down = set(failed)
    if not down:
        return lambda _name: False
    hubs = [c for c in sources if getattr(c, "kind", None) is ClusterKind.FLEET]
    listed: dict[str, set[str]] = {}
    for hub in hubs:
        for member in hub.status.members:
            listed.setdefault(member, set()).add(hub.name)
    any_hub_down = any(hub.name in down for hub in hubs)

    def is_down(name: str) -> bool:
        if name in down:
            return True
        if name in listed:
            return bool(listed[name] & down)
        return any_hub_down and name not in names

    return is_down


@dataclass(kw_only=True)
class StaleGpu(GpuHealth):
    """A GPU kept from an earlier read while its cluster cannot be read (``stale_gpu``):
    ``read`` is its health as read then, what it is said to have been once it is no longer
    reported (``GoneRows`` gets it, never this copy: UNKNOWN, its stale note's age frozen)."""

    read: GpuHealth


def stale_gpu(health: GpuHealth, as_of: datetime, now: datetime) -> StaleGpu:
    """A GPU kept from the read at ``as_of``: its state then (one read OK is UNKNOWN: its
    cluster cannot say it still is; a fault stays shown), said stale first among its reasons."""
    state = GpuState.UNKNOWN if health.state is GpuState.OK else health.state
    note = stale_note(as_of, health.state.value, now)
    return StaleGpu(**{**vars(health), "state": state, "reasons": [note, *health.reasons]},
                    read=health)  # fmt: skip


@dataclass(kw_only=True)
class StalePort(PtpRow):
    """``StaleGpu`` for a PTP port (``stale_port``): ``read`` is the port as read then."""

    read: PtpRow


def stale_port(row: PtpRow, as_of: datetime, now: datetime) -> StalePort:
    """A port kept from the read at ``as_of``: a fault stays shown as it was read; one read
    fine (or unknown) is UNKNOWN now; said stale first among its notes."""
    state = row.state if row.needs_attention else ClockState.UNKNOWN
    notes = [stale_note(as_of, row.state.value, now), *row.notes]
    return StalePort(**{**vars(row), "state": state, "notes": notes}, read=row)


@dataclass
class UnreportedPort(PtpRow):
    """A port an earlier read reported whose node no read has reported since ``went`` (its
    linuxptp-daemon pod crashed, the node down): its row as last read, in its last state (it
    needs attention where that did, as the fleet's ``PortsGone`` keeps its finding)."""

    went: datetime | None = None


def unreported_port(row: PtpRow, went: datetime, now: datetime) -> UnreportedPort:
    """``row`` as last read, no longer reported since ``went``: said first among its notes."""
    note = f"no longer reported since {_moment(went, now)} (last {row.state.value})"
    return UnreportedPort(**{**vars(row), "notes": [note, *row.notes]}, went=went)


def port_order(row: PtpRow) -> tuple[int, str, str, str, str]:
    """Worst first, then by cluster, node, interface and process."""
    return row.rank, row.cluster, row.node, row.iface, row.process


def _gpu_key(health: GpuHealth) -> tuple[str, ...]:
    """A GPU's identity on the page: its reading's key and its UUID (a neighbour renumbered
    into the index of a GPU fallen off the bus is another GPU, as the fleet's ``GpusGone``
    keys them)."""
    return health.reading.key, health.reading.uuid


def gpu_order(health: GpuHealth) -> tuple[int, str]:
    """Worst first, then by key (``worst_first``'s order)."""
    return -STATE_RANK[health.state], health.reading.key


@cache
def _gpu_fields() -> tuple[str, ...]:
    """The reading's fields that each come from a query of their own (``gpu_queries``)."""
    own = {f.name for f in fields(GpuReading)}
    return tuple(name for name in gpu_queries() if name in own)


# The pages' rule for a row read again while its cluster's read failed in part is the fleet's
# (``kept_stale`` in services/fleet/findings, asked of the row's findings): the row read now
# is shown where its findings replace every finding of the kept row (as severe, or trouble of
# the same kind: a port's HOLDOVER after its FREERUN), else the kept row stays, stale, as the
# fleet keeps the finding (a port's offset warning read again while its clock-state query
# failed says nothing of its FREERUN). A row the fleet finds nothing wrong with that lacks a
# field its kept row had keeps the kept row too (the fleet has no finding of it to keep).


def fleet_keeps(kept: list[Finding], new: list[Finding], domain: Domain) -> bool:
    """Whether the fleet keeps any of ``kept`` (a row's findings when last read), stale,
    beside ``new`` (the same row's, read while its cluster's ``domain`` was read in part)."""
    return len(kept_stale(kept, new, {domain})) > len(new)


def _gpu_found(health: GpuHealth) -> list[Finding]:
    """The fleet's findings of one GPU."""
    return gpu_findings(GpuFleet([health], [])).get(health.reading.cluster, [])


def gpu_kept(new: GpuHealth, kept: GpuHealth) -> bool:
    """Whether ``new`` (of a cluster whose read failed in part) leaves ``kept`` shown, stale
    (``LastGoodRows``' ``says_less``): the fleet keeps a finding of ``kept`` beside what it
    finds of ``new`` (a CRITICAL GPU read OK with a note, or with a WARNING that does not say
    the CRITICAL's reason: ``findings.kept_stale``), or ``gpu_says_less``."""
    return fleet_keeps(_gpu_found(kept), _gpu_found(new), Domain.GPU) or gpu_says_less(new, kept)


def gpu_says_less(new: GpuHealth, kept: GpuHealth) -> bool:
    """Whether ``new`` (of a cluster whose read failed in part) reads OK and lacks a field
    ``kept`` had: its temperature's query timed out, and a GPU CRITICAL at 85 C would be judged
    OK on what is left. A GPU not OK has a finding of the fleet's (``gpu_kept`` asks whether it
    replaces the kept one). An empty XID list is known (the XIDs aged out of the window), not a
    field lost; None is (the window's query failed: an XID 79 in it would read OK)."""
    if new.state is not GpuState.OK:
        return False
    was, now = kept.reading, new.reading
    return any(getattr(was, f) is not None and getattr(now, f) is None for f in _gpu_fields())


#: a port's fields that each come from a query of their own (beside its clock state and role)
_PTP_FIELDS = ("clock_class", *(attr for attr, _ in PTP_VALUE_FIELDS.values()))


def _port_key(row: PtpRow) -> tuple[str, ...]:
    """A port's identity on the board: its cluster, node, interface and process."""
    return row.cluster, row.node, row.iface, row.process


def _port_found(row: PtpRow) -> list[Finding]:
    """The fleet's findings of one port (``ptp_findings`` of it alone)."""
    return ptp_findings(PtpBoard([row], timedelta(0), row.threshold, [])).get(row.cluster, [])


def port_kept(new: PtpRow, kept: PtpRow) -> bool:
    """``gpu_kept`` for a PTP port: the fleet keeps its FREERUN where only its offset warning
    is read again (its clock-state query failed), and so does the page; HOLDOVER read after
    FREERUN (its clock state, read now) replaces it. Or ``port_says_less``."""
    found = _port_found(new)
    if fleet_keeps(_port_found(kept), found, Domain.PTP):
        return True
    return not found and port_says_less(new, kept)


def port_says_less(new: PtpRow, kept: PtpRow) -> bool:
    """``gpu_says_less`` for a PTP port: a port the fleet finds nothing wrong with
    (``ptp_findings`` of it alone) whose clock class query failed does not make a port read
    free-running fine; one it finds anything wrong with has findings of the fleet's
    (``port_kept`` asks whether they replace the kept ones)."""
    if _port_found(new):
        return False
    if kept.state is not ClockState.UNKNOWN and new.state is ClockState.UNKNOWN:
        return True
    if kept.role != "UNKNOWN" and new.role == "UNKNOWN":
        return True
    return any(getattr(kept, f) is not None and getattr(new, f) is None for f in _PTP_FIELDS)


NodeLine = tuple[str, NodeSync]  # (cluster, node)
#: node sync states in the order the page lists them: trouble first
_SYNC_ORDER = {"Failed": 0, "InProgress": 1, "Unknown": 2, "Succeeded": 3}


def stale_node(line: NodeLine, as_of: datetime, now: datetime) -> NodeLine:
    """A node sync state kept from the read at ``as_of``: its status as read then (not the
    config daemon's own "Unknown": the page counts the nodes of a cluster not read apart, as
    not read, and a Failed one stays shown as read, as the fleet keeps its finding), said
    stale first in its error."""
    cluster, row = line
    note = stale_note(as_of, row.status, now)
    return cluster, replace(row, error="; ".join(filter(None, [note, row.error])))


@dataclass
class StaleVf(VfRow):
    """A VF kept from an earlier read while its cluster cannot be read: ``stale`` says when
    (``stale_note``); its rates are that read's, not measured now."""

    stale: str = ""


@dataclass
class StaleDpdkPort(DpdkPortRow):
    """``StaleVf`` for a DPDK port."""

    stale: str = ""


S = TypeVar("S", StaleVf, StaleDpdkPort)


def stale_plane(kind: type[S], row: VfRow | DpdkPortRow, as_of: datetime, now: datetime) -> S:
    """A VF or DPDK port kept from the read at ``as_of``, as ``kind``: its rates as read
    then, said stale, as ``stale_node`` says a node's sync state."""
    return kind(**vars(row), stale=stale_note(as_of, "rates", now))


def unmeasured(row: S) -> S:
    """A VF or DPDK port without its rates (its fields that are None where not reported):
    kept stale, it is still its pod's, and adds nothing to the CNF workloads' rates (they
    are what is measured now)."""
    rates: dict[str, Any] = {f.name: None for f in fields(row) if f.default is None}
    return replace(row, **rates)


@dataclass(kw_only=True)
class StaleCnfWorkload(CnfWorkload):
    """A CNF workload some of whose VFs and DPDK ports are kept stale (their cluster's
    metrics not read now): its rates sum those measured now; ``stale`` of its planes are not
    (all of them: its rates are not known, not 0)."""

    stale: int

    @property
    def unmeasured(self) -> bool:
        """No plane of it is measured now: its rates are not known."""
        return self.stale >= self.vfs + self.dpdk_ports


def with_stale_planes(
    workloads: list[CnfWorkload], planes: Iterable[VfRow | DpdkPortRow]
) -> list[CnfWorkload]:
    """``workloads``, each one holding a VF or port kept stale (``StaleVf``,
    ``StaleDpdkPort``) as a ``StaleCnfWorkload`` that counts them."""
    stale: dict[tuple[str, str, str], int] = {}
    for plane in planes:
        if plane.pod and isinstance(plane, StaleVf | StaleDpdkPort):
            namespace, _, pod = plane.pod.partition("/")
            key = (plane.cluster, namespace, pod)
            stale[key] = stale.get(key, 0) + 1
    return [StaleCnfWorkload(**vars(w), stale=n)
            if (n := stale.get((w.cluster, w.namespace, w.pod))) else w
            for w in workloads]  # fmt: skip


def served_names(sources: Sequence[Any]) -> set[str]:
    """The clusters registered (those a page reads) and the members their hubs list."""
    names = {name for c in sources if isinstance(name := getattr(c, "name", None), str)}
    for hub in sources:
        if getattr(hub, "kind", None) is ClusterKind.FLEET:
            names.update(hub.status.members)
    return names


#: rows no longer reported that a page keeps naming, at most (a whole hub gone)
MAX_GONE = 5000

R = TypeVar("R")
K = TypeVar("K", str, tuple[str, ...])


class GoneRows(Generic[K, R]):
    """The rows an earlier read reported and a newer one does not (a GPU off the bus, a node's
    linuxptp-daemon pod crashed): they do not just vanish from their page, each is named,
    as last read, until it is reported again or something reported now speaks for it
    (``back``), for ``GONE_FOR`` at most from the first read without it (as long as the
    fleet's findings say it: a node retired is not named for the life of the app), and no
    longer once its cluster is removed from the app (registered, listed by a hub, or reporting
    at the last read; none of these now, as the fleet counts the clusters it serves): its rows
    are not gone, they are no longer the app's. ``key``: a row's identity; ``where``: its
    cluster; ``order``: the page's order of rows, worst first (``MAX_GONE`` keeps the worst);
    ``every``: the page's read interval."""

    def __init__(
        self,
        key: Callable[[R], K],
        where: Callable[[R], str],
        order: Callable[[R], Any],
        every: timedelta,
    ) -> None:
        self._key: Callable[[R], K] = key
        self._where = where
        self._order = order
        self._every = every
        self._seen: dict[K, R] = {}  # key -> its last row, gone ones included
        self._went: dict[K, datetime] = {}  # key -> the first read that did not report it
        self._served: set[str] = set()  # the clusters served at the last read
        self._last: datetime | None = None  # the last read

    def offer(
        self, rows: Sequence[R], back: Callable[[R], bool], served: set[str], now: datetime
    ) -> list[tuple[R, datetime]]:
        """The rows seen before that ``rows`` (read at ``now``, as read: never a copy marked
        stale) lack and do not speak for (``back(last row)``), ``MAX_GONE`` at most (the
        worst), each as last read with the first read that lacked it; ``served``: the
        clusters registered (and listed) now. Remembered for the next read.

        A page reads only while shown: a row missing from the first read after a longer gap
        (the page hidden) went at the last read before it, at the latest: said since then,
        it expires with the fleet's finding (which read all along), not a day after."""
        reporting = {self._where(r) for r in rows}
        left = self._served - served - reporting
        self._served = served | reporting
        there = {self._key(r) for r in rows}
        missing = [key for key, row in self._seen.items()
                   if self._where(row) not in left and key not in there
                   and not back(row)]  # fmt: skip
        last, self._last = self._last, now
        since = last if last is not None and now - last > 2 * self._every else now
        went = {key: self._went.get(key, since) for key in missing}
        gone = [key for key in missing if now - went[key] < GONE_FOR]
        if len(gone) > MAX_GONE:  # a site's LOCKED ports crowd out no FREERUN one
            gone = heapq.nsmallest(MAX_GONE, gone, key=lambda key: self._order(self._seen[key]))
        kept = [(self._seen[key], went[key]) for key in gone]
        self._seen = {key: self._seen[key] for key in gone} | {self._key(r): r for r in rows}
        self._went = {key: went[key] for key in gone}
        return kept


class GpuPresenter(ReaderPresenter):
    """Signals: sig_fleet(GpuFleet), sig_history(GpuHistory), sig_error(str).

    A GPU an earlier read reported and a newer one does not (off the bus, its node or its
    exporter gone) does not just vanish from the page: it stays named in the fleet's ``gone``
    until it is reported again, for ``GONE_FOR`` at most (as long as the fleet's findings say
    it: a node retired is not named for the life of the app), and no longer once its cluster
    is removed from the app (or the page is asked another question: ``forget``)."""

    sig_fleet = Signal(object)
    sig_history = Signal(object)

    def forget(self) -> None:
        self._kept: LastGoodRows[GpuHealth] = LastGoodRows(
            lambda h: h.reading.key, lambda h: h.reading.cluster, gpu_kept
        )
        self._gone: GoneRows[tuple[str, ...], GpuHealth] = GoneRows(
            _gpu_key, lambda h: h.reading.cluster, gpu_order, self._every
        )
        #: a GPU (``_gpu_key``) -> every UUID its node reported when the GPU was last
        #: reported (a neighbour renumbered into its index is one of them, no replacement)
        self._node_uuids: dict[tuple[str, ...], frozenset[str]] = {}

    def merged(
        self, fleet: GpuFleet, now: datetime | None = None, sources: Sequence[Any] | None = None
    ) -> tuple[GpuFleet, str]:
        """``fleet`` with the GPUs of the clusters that could not be read (all of them, or
        a node's nvidia-smi) kept from earlier reads, each marked stale with its age (one
        last read OK is UNKNOWN now: nothing says it still is), worst first; and the
        badge. The other clusters' GPUs are this read's, whatever failed elsewhere.
        ``sources``: the clusters with metrics (asked of the readers where not given: off the
        UI thread they are given, as read on it)."""
        now = now or utcnow()
        said = problems(fleet.outcomes)
        sources = self._readers.with_metrics() if sources is None else sources
        down = failed_clusters(sources, {o.cluster for o in fleet.outcomes})
        shown = self._kept.offer(fleet.gpus, said, down, now)
        gpus = [a.row if not a.stale else stale_gpu(a.row, a.as_of, now) for a in shown.rows]
        return replace(fleet, gpus=worst_first(gpus)), shown.badge(now)

    def served(self) -> set[str]:
        """The clusters served: every one whose GPUs are read (``GpuCnfReaders.with_gpus``:
        metrics or a Kubernetes API), and the members their hubs list."""
        return served_names([*self._readers.with_metrics(), *self._readers.with_kube()])

    def with_gone(
        self, fleet: GpuFleet, now: datetime | None = None, served: set[str] | None = None
    ) -> GpuFleet:
        """``fleet`` (read at ``now``) with the GPUs seen before and not in it (``GoneRows``,
        offered each GPU as read, a stale one's health when read), as ``health_changes``
        says them. A GPU is back as the fleet's ``GpusGone`` tells it: reported in its slot
        (node, index) again, MIG-split or not (a MIG change gives the GPU new reading keys,
        no GPU goes); a GPU its node did not have when it was last reported in its slot (the
        board replaced; a neighbour renumbered into the index when it fell off the bus is
        none); or its UUID under another index. ``served``: ``self.served()`` where not
        given (off the UI thread it is, as read on it)."""
        now = now or utcnow()
        read = [h.read if isinstance(h, StaleGpu) else h for h in fleet.gpus]
        seen = {h.reading.physical for h in read}
        slots: dict[tuple[str, str, str], set[str]] = {}  # the UUIDs in each slot now
        nodes: dict[tuple[str, str], set[str]] = {}  # the UUIDs of each node now
        for h in read:
            r = h.reading
            slots.setdefault(r.physical[:3], set()).add(r.uuid)
            nodes.setdefault((r.cluster, r.node), set()).add(r.uuid)
        here = {(h.reading.cluster, h.reading.uuid) for h in read if h.reading.uuid}
        then = self._node_uuids

        def back(last: GpuHealth) -> bool:
            r = last.reading
            new_in_slot = slots.get(r.physical[:3], set()) - then.get(_gpu_key(last), frozenset())
            return (r.physical in seen or bool(new_in_slot)
                    or (bool(r.uuid) and (r.cluster, r.uuid) in here))  # fmt: skip

        gone = self._gone.offer(read, back, self.served() if served is None else served, now)
        node_now = {node: frozenset(uuids) for node, uuids in nodes.items()}
        self._node_uuids = {_gpu_key(last): then.get(_gpu_key(last), frozenset())
                            for last, _ in gone}  # fmt: skip
        self._node_uuids.update((_gpu_key(h), node_now[h.reading.cluster, h.reading.node])
                                for h in read)  # fmt: skip
        return replace(fleet, gone=health_changes([last for last, _ in gone], []))

    def shown(
        self, fleet: GpuFleet, now: datetime, sources: Sequence[Any], served: set[str]
    ) -> tuple[GpuFleet, str]:
        """``merged``, then ``with_gone`` (a GPU kept stale is not gone), and the badge: done
        off the UI thread, ``sources`` and ``served`` as read on it."""
        fleet, badge = self.merged(fleet, now, sources)
        return self.with_gone(fleet, now, served), badge

    async def read(self) -> None:
        # a cluster with a Kubernetes API only has its GPUs read too (nvidia-smi)
        if not self.readable():
            self.sig_fleet.emit(GpuFleet([], []))
            self.sig_error.emit(self.nothing_to_read())
            return
        fleet = await self._readers.gpu_fleet()
        sources, served = self._readers.with_metrics(), self.served()
        fleet, badge = await asyncio.to_thread(self.shown, fleet, utcnow(), sources, served)
        self.sig_fleet.emit(fleet)
        self.sig_error.emit("; ".join(filter(None, [badge, *fleet.notes])))

    range = TimeRange()
    _chosen: GpuReading | None = None
    _asked = 0  # the history reads asked for: only the last one's answer is shown

    def read_history(self, reading: GpuReading) -> None:
        """One GPU's history over the page's range, for the charts under the heatmap. An
        answer to an earlier question (another GPU, another range: a longer range's read
        may end last) is dropped: the charts show what the page now asks."""
        self._chosen = reading
        shown = self.range
        self._asked += 1
        asked = self._asked

        async def work() -> None:
            history = await self._readers.gpu_history(reading, shown)
            if asked == self._asked:
                self.sig_history.emit(history)

        self.spawn("gpu history", work())

    def set_range(self, chosen: TimeRange) -> None:
        """The page's range: the chosen GPU's charts are read again over it."""
        self.range = chosen
        if self._chosen is not None:
            self.read_history(self._chosen)


class PtpPresenter(ReaderPresenter):
    """Signals: sig_board(PtpBoard), sig_error(str)."""

    sig_board = Signal(object)
    reads_from = "Prometheus"  # the board is metrics only (PtpConfigs give its bands)
    range = TimeRange()
    _ranges = 0  # the ranges chosen: a read's answer counts only for the one it was asked

    def forget(self) -> None:
        self._kept: LastGoodRows[PtpRow] = LastGoodRows(_port_key, lambda r: r.cluster, port_kept)
        self._gone: GoneRows[tuple[str, ...], PtpRow] = GoneRows(
            _port_key, lambda r: r.cluster, port_order, self._every
        )

    def _merged_rows(
        self, board: PtpBoard, unread: list[str], now: datetime, sources: Sequence[Any]
    ) -> tuple[list[PtpRow], str]:
        """``merged``'s rows, not sorted, and its badge."""
        down = failed_clusters(sources, {o.cluster for o in board.outcomes})
        shown = self._kept.offer(board.rows, unread, down, now)
        rows = [a.row if not a.stale else stale_port(a.row, a.as_of, now) for a in shown.rows]
        return rows, shown.badge(now)

    def merged(
        self,
        board: PtpBoard,
        unread: list[str],
        now: datetime | None = None,
        sources: Sequence[Any] | None = None,
    ) -> tuple[PtpBoard, str]:
        """``board`` with the ports of the clusters that could not be read kept from earlier
        reads, each marked stale with its age (a port last read fine is UNKNOWN now), worst
        first; and the badge. The other clusters' ports are this read's. ``sources``: the
        clusters with metrics (asked of the readers where not given)."""
        now = now or utcnow()
        sources = self._readers.with_metrics() if sources is None else sources
        rows, badge = self._merged_rows(board, unread, now, sources)
        return replace(board, rows=sorted(rows, key=port_order)), badge

    def _gone_rows(
        self, rows: Sequence[PtpRow], now: datetime, served: set[str]
    ) -> list[UnreportedPort]:
        """``with_gone``'s ports no longer reported, not sorted. ``GoneRows`` is offered each
        port as read (a stale one's row when read: its state then, not UNKNOWN, and no
        stale note whose age would stay frozen)."""
        read = [r.read if isinstance(r, StalePort) else r for r in rows]
        nodes = {(r.cluster, r.node) for r in read}
        gone = self._gone.offer(read, lambda r: (r.cluster, r.node) in nodes, served, now)
        return [unreported_port(last, went, now) for last, went in gone]

    def with_gone(
        self, board: PtpBoard, now: datetime | None = None, served: set[str] | None = None
    ) -> PtpBoard:
        """``board`` (read at ``now``) with the ports seen before whose node it no longer
        reports (``GoneRows``, keyed by node and port as the fleet's ``PortsGone``: any row
        of the node is its daemon answering, and speaks for its ports), each its last row as
        an ``UnreportedPort``, worst first among the others. ``served``: the clusters with
        metrics and their hubs' members (asked of the readers where not given)."""
        now = now or utcnow()
        served = served_names(self._readers.with_metrics()) if served is None else served
        rows = [*board.rows, *self._gone_rows(board.rows, now, served)]
        return replace(board, rows=sorted(rows, key=port_order))

    def shown(
        self, board: PtpBoard, unread: list[str], now: datetime, sources: Sequence[Any]
    ) -> tuple[PtpBoard, str]:
        """``merged`` then ``with_gone`` (a port kept stale is not gone), sorted once (each
        row ranked once), and the badge: done off the UI thread (10,000 ports, half of them
        gone in a site's outage), ``sources`` as read on it."""
        rows, badge = self._merged_rows(board, unread, now, sources)
        rows += self._gone_rows(rows, now, served_names(sources))
        return replace(board, rows=sorted(rows, key=port_order)), badge

    def set_range(self, chosen: TimeRange) -> None:
        """The board's compliance window and its offset charts."""
        self.range = chosen
        self._ranges += 1
        self.forget()  # another range: another answer
        self.refresh()

    def readable(self) -> bool:
        """Metrics only: a Kubernetes API alone gives the board no port."""
        return bool(self._readers.with_metrics())

    async def read(self) -> None:
        if not self.readable():
            self.sig_board.emit(PtpBoard([], self.range.window, DEFAULT_THRESHOLD, []))
            self.sig_error.emit(self.nothing_to_read())
            return
        asked = self._ranges
        answer = await self._readers.ptp_board(self.range)
        if asked != self._ranges:
            return  # read over the range left: not shown, not kept (a read of the new follows)
        sources = self._readers.with_metrics()
        board, badge = await asyncio.to_thread(self.shown, *answer, utcnow(), sources)
        if asked != self._ranges:
            # the range changed while it was merged (off the UI thread; no other read runs
            # beside it): what it kept may have gone into the new range's rows, forgotten again
            self.forget()
            return
        self.sig_board.emit(board)
        self.sig_error.emit("; ".join(filter(None, [badge, *board.in_part])))


class SriovPresenter(ReaderPresenter):
    """The SR-IOV / DPDK / CNF page. Signals: sig_vfs(list[VfRow]), sig_ports(list[DpdkPortRow]),
    sig_nodes(list[tuple[str, NodeSync]]), sig_networks(list[tuple[str, NetworkRow]]),
    sig_workloads(list[CnfWorkload]), sig_error(str).

    A cluster whose Kubernetes API cannot be read keeps its node sync states, stale (a Failed
    node does not vanish), and is said as a row of its own with no node: its cluster, not read,
    and why. The merges and the CNF join (hundreds of nodes, tens of VFs each) are done off the
    UI thread; the view gets rows ready to show."""

    sig_vfs = Signal(list)
    sig_ports = Signal(list)
    sig_nodes = Signal(list)
    sig_networks = Signal(list)
    sig_workloads = Signal(list)

    def forget(self) -> None:
        self._vfs: LastGoodRows[VfRow] = LastGoodRows(
            lambda r: (r.cluster, r.node, r.pf, r.vf), lambda r: r.cluster
        )
        self._ports: LastGoodRows[DpdkPortRow] = LastGoodRows(
            lambda r: (r.cluster, r.node, r.pod, r.port), lambda r: r.cluster
        )
        self._nodes: LastGoodRows[NodeLine] = LastGoodRows(
            lambda line: (line[0], line[1].node), lambda line: line[0]
        )

    async def read(self) -> None:
        """The VFs' and DPDK ports' rates come from metrics (read where a cluster has them);
        node sync states, SriovNetworks and CNF pods from the Kubernetes APIs (read where a
        cluster has one, with or without metrics)."""
        if not self.readable():
            for empty in (self.sig_vfs, self.sig_ports, self.sig_nodes, self.sig_networks,
                          self.sig_workloads):  # fmt: skip
                empty.emit([])
            self.sig_error.emit(self.nothing_to_read())
            return
        metrics = self._readers.with_metrics()
        vfs: list[VfRow] = []
        ports: list[DpdkPortRow] = []
        badge = ""
        if metrics:
            read_vfs, read_ports, outcomes = await self._readers.dataplane()
            vfs, ports, badge = await asyncio.to_thread(
                self.merged, read_vfs, read_ports, outcomes, None, metrics
            )
            self.sig_vfs.emit(vfs)
            self.sig_ports.emit(ports)
        objects = await self._readers.sriov_objects()
        kube = [c.name for c in self._readers.with_kube()]
        nodes, workloads = await asyncio.to_thread(self._objects_shown, objects, kube, vfs, ports)
        self.sig_nodes.emit(nodes)
        self.sig_networks.emit(objects.networks)
        self.sig_workloads.emit(workloads)
        self.sig_error.emit("; ".join(filter(None, [badge, *objects.problems])))

    def _objects_shown(
        self, objects: SriovObjects, kube: list[str], vfs: list[VfRow], ports: list[DpdkPortRow]
    ) -> tuple[list[NodeLine], list[CnfWorkload]]:
        """The node rows (``nodes_merged``) and the CNF workloads by type, a VF or port kept
        stale held by its pod with no rate (not measured now: ``with_stale_planes`` says so
        of its workload): off the UI thread."""
        now_vfs = [unmeasured(r) if isinstance(r, StaleVf) else r for r in vfs]
        now_ports = [unmeasured(r) if isinstance(r, StaleDpdkPort) else r for r in ports]
        workloads = cnf_workloads_by_type(now_vfs, now_ports, objects.pods)
        return self.nodes_merged(objects, kube), with_stale_planes(workloads, [*vfs, *ports])

    def nodes_merged(
        self, objects: SriovObjects, kube: list[str], now: datetime | None = None
    ) -> list[NodeLine]:
        """The node sync states read, with those of the clusters (of ``kube``) whose API
        could not be read kept from earlier reads (``stale_node``), and a row of no node for
        each of those clusters saying why (the view counts the nodes of such a cluster as not
        read); trouble first."""
        now = now or utcnow()
        unread = {name: why for name, why in objects.unread.items() if name in kube}
        shown = self._nodes.offer(objects.nodes, [], unread.__contains__, now)
        # a kept Succeeded is not known to be synced now: listed with the unknown, above those
        # read Succeeded
        ranked = [(2 if a.stale and a.row[1].status == "Succeeded" else
                   _SYNC_ORDER.get(a.row[1].status, 2),
                   a.row if not a.stale else stale_node(a.row, a.as_of, now))
                  for a in shown.rows]  # fmt: skip
        ranked += [(2, (c, NodeSync("", "Unknown", f"not read: {why}")))
                   for c, why in unread.items()]  # fmt: skip
        ranked.sort(key=lambda r: (r[0], r[1][0], r[1][1].node))
        return [line for _, line in ranked]

    def merged(
        self,
        read_vfs: list[VfRow],
        read_ports: list[DpdkPortRow],
        outcomes: list[ClusterOutcome],
        now: datetime | None = None,
        sources: Sequence[Any] | None = None,
    ) -> tuple[list[VfRow], list[DpdkPortRow], str]:
        """The VFs and ports read, with those of the clusters that could not be read
        (``outcomes``) kept from earlier reads, each said stale (``stale_plane``; the badge
        names those clusters and how old their rows are), trouble first; the other clusters'
        rows are this read's.
        ``sources``: the clusters with metrics (asked of the readers where not given: off the
        UI thread they are given, as read on it)."""
        now = now or utcnow()
        failures = problems(outcomes)
        sources = self._readers.with_metrics() if sources is None else sources
        down = failed_clusters(sources, {o.cluster for o in outcomes})
        vfs = self._vfs.offer(read_vfs, failures, down, now)
        ports = self._ports.offer(read_ports, failures, down, now)
        stale = vfs.stale | {c: min(t, vfs.stale.get(c, t)) for c, t in ports.stale.items()}
        badge = ShownRows([], failures, stale).badge(now)
        shown_vfs = [a.row if not a.stale else stale_plane(StaleVf, a.row, a.as_of, now)
                     for a in vfs.rows]  # fmt: skip
        shown_ports = [a.row if not a.stale else stale_plane(StaleDpdkPort, a.row, a.as_of, now)
                       for a in ports.rows]  # fmt: skip
        by_vf = sorted(shown_vfs, key=lambda r: (-r.trouble, r.cluster, r.node, r.pf, r.vf))
        by_port = sorted(shown_ports, key=lambda r: (-r.trouble, r.cluster, r.node, r.pod, r.port))
        return by_vf, by_port, badge


class DriftPresenter(ReaderPresenter):
    """Signals: sig_drift(DriftReport), sig_error(str): the clusters not compared, and why.

    Drift is read where any cluster has metrics (GPU drivers) or a Kubernetes API (PtpConfigs,
    SR-IOV policies). A comparison is not kept past a read that left clusters out: the page
    shows what this read compared and names what it did not."""

    sig_drift = Signal(object)

    async def read(self) -> None:
        if not self.readable():
            self.sig_drift.emit(DriftReport([]))
            self.sig_error.emit(self.nothing_to_read())
            return
        report = await self._readers.drift()
        self.sig_drift.emit(report)
        self.sig_error.emit("; ".join(report.problems))
