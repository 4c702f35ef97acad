"""The Kubernetes page of a cluster: who am I and what may I read, nodes, pods, events.

The page is one view shared by every cluster: each cluster shown starts from an empty page
(nothing of the cluster shown before), the nodes and pods say when they were read (and that
they are stale when a later read failed), and the events say when their watch is not live."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from PySide6.QtCore import QObject, Signal

from aiops_desktop.logs import longest_secret, redact
from aiops_desktop.models.kube import Inventory, NodeRow, PodRow, ValidationResult
from aiops_desktop.models.text import cut, cut_line, one_line, printable
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.kube.discovery import DiscoveryService
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

EVENTS_SHOWN = 500  # rows handed to the table, of all events and of the warnings each
TROUBLE_CHARS = 300  # an error as the events tab shows it: its first line, this long at most
#: an identity card field (a version, a user, the groups) this long at most: the API server's
#: words, and a 100 KB gitVersion made the page 925,525 px wide
CARD_CHARS = 200
#: the most of a text redacted for a line that shows TROUBLE_CHARS of it
REDACTED_CHARS = 4096
#: how far past REDACTED_CHARS a text is redacted, then dropped (at least: the longest secret
#: registered, if longer): a secret straddling a cut is not found whole
REDACTED_MARGIN = 4096
GROUPS_SHOWN = 50  # an identity card's groups, then "+N more" (all in its tooltip)
NOT_LISTED = "events not read yet (listing …)"


class WatchHealth(Protocol):
    """What the page reads of an events watch's state (the collector's ``WatchState``)."""

    resource_version: str | None
    errors: list[str]
    failing: bool
    failure: str


def _redacted(text: str) -> str:
    """``text`` redacted, as much of it as a short line can show (redacting 100 KB holds the
    UI thread ~200 ms: a hostile gitVersion, on every Refresh); past REDACTED_CHARS it ends
    in "…". Redacted before it is cut: cut first, a registered secret across the cut was not
    found whole and its start stayed, and what redaction shrank before it brought that start
    into the line shown. So a margin past the cut, longer than any secret, is redacted too,
    then as much dropped from the end: a secret's start left unredacted at the window's end
    is within it, wherever redaction moved it."""
    margin = max(REDACTED_MARGIN, longest_secret())
    if len(text) <= REDACTED_CHARS + margin:
        return redact(text)
    window = redact(text[: REDACTED_CHARS + margin])
    return window[: max(len(window) - margin, 0)] + "…"


def _one_line(text: str) -> str:
    """A message as one short line of plain text, redacted (again: the collector redacts its
    own errors; a session's error opening the client is not a collector's)."""
    text = _redacted(text)
    line = text.strip().splitlines()[0] if text.strip() else ""
    return cut_line(line, TROUBLE_CHARS)


def said(text: str) -> str:
    """What the status line says: one printable line (no control or bidi character), redacted,
    TROUBLE_CHARS at most. Its line breaks are folded, not cut at: a validation's reason holds
    the API server's user name, and a user named "system:admin", a line break and more must
    not read as system:admin."""
    return cut(one_line(_redacted(text)).strip(), TROUBLE_CHARS)


def card(text: str) -> str:
    """An identity card field: the API server's words as one printable line, cut."""
    return cut_line(text, CARD_CHARS)


def groups_card(groups: list[str]) -> str:
    """The identity card's groups: each one cut (cut all together, 14 ordinary groups lost
    "cluster-admins"), GROUPS_SHOWN of them, then how many more; "—" for none."""
    shown = ", ".join(card(g) for g in groups[:GROUPS_SHOWN])
    more = len(groups) - GROUPS_SHOWN
    return f"{shown}, +{more} more" if more > 0 else shown or "—"


# -- the nodes and pods tables as text ----------------------------------------------------------
#: a table row as text: its cells, its tooltips by column (None: the table's own), its sort
#: keys by column, and how bad it is ("critical", "warning", "")
TextRow = tuple[list[str], dict[int, str] | None, dict[int, Any], str]


@dataclass(frozen=True, slots=True)
class InventoryText:
    """An inventory's tables as text, worked out once (for 100,000 pods, seconds: off the UI
    thread, ``ShownInventory``): the nodes, the pods, and which pods have a problem (what
    "Only pods with a problem" keeps, without working any row out again)."""

    nodes: list[TextRow]
    pods: list[TextRow]
    troubled: list[bool]


@dataclass
class ShownInventory(Inventory):
    """An inventory with its tables' text, worked out before it was emitted."""

    text: InventoryText | None = field(default=None, repr=False, compare=False)


def line(text: str) -> str:
    """Server text as one printable line (``one_line``: a node name, a kubelet version, a
    namespace can carry an RTL override, ESC or a line break, and forge a row where a row is
    copied or exported); text with nothing to clean, nearly all, is returned as it is at the
    cost of one ``isprintable`` (every character ``one_line`` drops or folds is one it says
    is not printable)."""
    return text if text.isprintable() else one_line(text)


def tips(cells: dict[int, str]) -> dict[int, str] | None:
    """Server text's tooltips, by column: the whole text, its lines kept and made printable,
    where it had line breaks (the cell shows it as one line); the others keep the table's
    own (a long cell's whole text)."""
    found = {
        col: printable(text)
        for col, text in cells.items()
        if not text.isprintable() and one_line(text) != printable(text)
    }
    return found or None


def age_key(at: datetime | None, now: datetime) -> float | None:
    """An age as sorting compares it: the seconds since ``at`` as of ``now`` (the Age column
    shows the age: ascending, the youngest first); None without a time, sorted by its "—",
    after every age."""
    return (now - at).total_seconds() if at is not None else None


def age(at: datetime | None, now: datetime | None = None) -> str:
    if at is None:
        return "—"
    seconds = max(0, int(((now or datetime.now(UTC)) - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _node_text(n: NodeRow, now: datetime) -> TextRow:
    problems = "; ".join(n.problems)  # a condition's message: server text
    roles = ", ".join(n.roles)
    return (
        [line(n.name), {True: "Ready", False: "NotReady", None: "Unknown"}[n.ready], line(roles),
         str(n.gpus) if n.gpus else "", line(n.cpu), f"{n.memory_gib:.1f}", line(n.kubelet),
         age(n.created, now), line(problems)],
        tips({0: n.name, 2: roles, 4: n.cpu, 6: n.kubelet, 8: problems}),
        {3: n.gpus, 5: n.memory_gib, 7: age_key(n.created, now)},
        "critical" if n.ready is False or n.problems else "",
    )  # fmt: skip


def ready_key(ready: str) -> float | None:
    """A pod's READY ("9/12") as sorting compares it: the share ready, then (a tie) how many
    containers (as text, "10/12" sorted before "2/2"); None (its text) when it is not a/b."""
    done, _, total = ready.partition("/")
    if not (done.isdigit() and total.isdigit()):
        return None
    containers = int(total)
    # a share differs from another by 1/(b*d) at least; the tie-break adds less than that
    # for any pod of fewer than 10,000 containers
    return (int(done) / containers if containers else 0.0) + containers * 1e-13


def _pod_text(p: PodRow, now: datetime) -> TextRow:
    return (
        [line(p.namespace), line(p.name), line(p.phase), p.ready, str(p.restarts), line(p.node),
         age(p.created, now), line(p.reason)],
        tips({0: p.namespace, 1: p.name, 2: p.phase, 5: p.node, 7: p.reason}),
        {3: ready_key(p.ready), 4: p.restarts, 6: age_key(p.created, now)},
        "critical" if p.crash_looping else "warning" if p.reason else "",
    )  # fmt: skip


def inventory_text(inventory: Inventory) -> InventoryText:
    """The nodes' and pods' rows as text: every string the API server gave as one printable
    line (the whole text, lines kept, is the tooltip where a break was folded); ages as of
    the read (what is shown says when that was)."""
    now = inventory.taken_at
    return InventoryText(
        [_node_text(n, now) for n in inventory.nodes],
        [_pod_text(p, now) for p in inventory.pods],
        [bool(p.reason) for p in inventory.pods],
    )


async def shown_inventory(inventory: Inventory) -> ShownInventory:
    """``inventory`` with its tables' text, worked out on a worker thread."""
    text = await asyncio.to_thread(inventory_text, inventory)
    fields = {f.name: getattr(inventory, f.name) for f in dataclasses.fields(Inventory)}
    return ShownInventory(**fields, text=text)


class KubePresenter(Presenter):
    """Signals:

    sig_validation(ValidationResult | None): identity, version and permissions of the
    credentials; None: not checked (yet) for the cluster shown, the fields are cleared.
    sig_inventory(Inventory | None, str): nodes and pods, worst first, and what went wrong
    reading them ("" when the inventory is the last read). ``(None, "")``: not read yet (the
    tables are cleared); ``(None, why)``: not read; ``(inventory, why)``: a later read failed,
    the inventory shown is stale (its ``taken_at`` says when it was read).
    sig_events(newest, newest_warnings, total, warnings, trouble): the events timeline, newest
    first, redrawn when it moves (at most once a second): the EVENTS_SHOWN newest events and
    the EVENTS_SHOWN newest warnings (filtered before they are cut: Normal churn never pushes
    a warning out of "Warnings only"), how many events and warnings the timeline holds, and
    why the timeline is not live ("" when its watch is).
    sig_status(str): what is being done, or what went wrong, in one line.
    """

    sig_validation = Signal(object)
    sig_inventory = Signal(object, str)
    sig_events = Signal(list, list, int, int, str)
    sig_status = Signal(str)

    def __init__(
        self,
        *,
        registry: ClusterRegistry,
        kube: KubeSession,
        discovery: DiscoveryService,
        tasks: TaskSupervisor,
        redraw_ms: int = 1000,  # a newest-first table repaints whole: once a second
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, redraw_ms, parent)
        self._registry = registry
        self._kube = kube
        self._discovery = discovery
        self.cluster: str | None = None
        self._timeline: EventTimeline | None = None
        self._watch: WatchHealth | None = None
        self._drawn = -1
        #: the cluster's last answers (shown again when the same cluster is shown again), and
        #: its id: a cluster removed and another added under its name is another cluster
        self._answers_of: UUID | None = None
        self._inventory: Inventory | None = None
        self._validation: ValidationResult | None = None
        self._trouble = ""  # what the events tab was last told of the watch
        #: reloads asked for: the answers of one that a later Refresh (or another cluster)
        #: superseded are dropped (a slow older read must not replace, or mark stale, a newer)
        self._reloads = 0
        #: the last reload's validation and inventory: cancelled when superseded, or when the
        #: page is left (each inventory reads every node and pod, up to 512 MiB a list)
        self._reading: list[asyncio.Task[None]] = []

    def show_cluster(self, name: str) -> None:
        if name == self.cluster and self._timeline is not None:
            return
        self.stop()
        cluster_id, why = self._readable(name)
        if why or cluster_id != self._answers_of:  # another: nothing of the last one is shown
            self._inventory = self._validation = None
        self.cluster, self._answers_of = name, cluster_id
        if why:
            self._say(why)
            self.sig_validation.emit(None)
            self.sig_inventory.emit(None, why)
            self.sig_events.emit([], [], 0, 0, f"events not read: {why}")
            return
        # this cluster's last answers (with when they were read), or nothing
        self.sig_validation.emit(self._validation)
        self.sig_inventory.emit(self._inventory, "")
        self.reload()
        self._timeline, self._watch = self._kube.follow(name)
        self._drawn, self._trouble = -1, ""
        self.start()

    def _readable(self, name: str) -> tuple[UUID | None, str]:
        """The cluster's id, and why its API server is not asked ("" when it is)."""
        hub = self._registry.hub_of(name)
        if hub is not None:
            return None, (
                f"no API server registered for this member: {name}'s metrics and alerts come "
                f"through fleet hub {hub.name}; register it to see its nodes, pods and events"
            )
        try:
            cluster = self._registry.get(name)
        except ClusterNotFoundError as exc:  # removed meanwhile
            return None, str(exc) or f"{name} is not registered"
        if not has_kube_api(cluster):
            return cluster.id, f"{name} has no Kubernetes API configured (metrics only)"
        return cluster.id, ""

    def reload(self) -> None:
        """Ask the API server again: who am I, what may I read, nodes and pods (the reads of
        the last reload, if still under way, are cancelled)."""
        name = self.cluster
        if name is None:
            return
        self._cancel_reads()
        self._say(f"asking {name}'s API server ...")
        self._reloads += 1
        reload = self._reloads

        def latest() -> bool:  # of the cluster shown, and no Refresh asked since
            return name == self.cluster and reload == self._reloads

        def report(text: str) -> None:  # a failure of a read superseded is not said
            if latest():
                self._say(text)

        async def check() -> None:
            result = await self._kube.validate(name)
            if latest():
                self._validation = result
                self.sig_validation.emit(result)
                self._say(f"{result.outcome.value}: {result.reason}")

        async def inventory() -> None:
            try:
                taken = await shown_inventory(await self._kube.inventory(name))
            except Exception as exc:
                if latest():  # what is shown stays, marked stale (or: not read)
                    why = _one_line(str(exc)) or type(exc).__name__
                    self.sig_inventory.emit(self._inventory, why)
                raise  # and the status line says why
            if latest():
                self._inventory = taken
                self.sig_inventory.emit(taken, "")

        self._reading = [
            self.spawn(f"validate {name}", check(), report),
            self.spawn(f"inventory {name}", inventory(), report),
        ]

    def _cancel_reads(self) -> None:
        """Cancel the last reload's reads still under way: a cancel is not reported (only
        an error is), and one cancelled before it ran is closed unstarted (``spawn``)."""
        for task in self._reading:
            task.cancel()
        self._reading = []

    def discover(self) -> None:
        name = self.cluster
        if name is None:
            return
        self._say(f"discovering {name} ...")

        async def work() -> None:
            found = await self._discovery.run(name)
            caps = found.capabilities
            text = (
                f"discovered {len(found.endpoints)} endpoint(s), {caps.gpu_count} GPUs, "
                f"PTP {'yes' if caps.has_ptp else 'no'}, SR-IOV {'yes' if caps.has_sriov else 'no'}"
            )
            if found.vanished:
                text += f"; VANISHED: {', '.join(found.vanished)}"
            self._say(text)

        self.spawn(f"discover {name}", work(), self._say)

    def _say(self, text: str) -> None:
        """The status line: every text goes through ``said`` (a server's words are in most)."""
        self.sig_status.emit(said(text))

    def stop(self) -> None:
        super().stop()
        self._cancel_reads()
        if self.cluster is not None:
            self._kube.unfollow(self.cluster)
        self._timeline = None
        self._watch = None

    def refresh(self) -> None:
        """A redraw tick: the events timeline, when it moved or its watch's health changed."""
        timeline = self._timeline
        if timeline is None:
            return
        trouble = self._watch_trouble(timeline)
        if timeline.version == self._drawn and trouble == self._trouble:
            return
        self._drawn, self._trouble = timeline.version, trouble
        rows = timeline.newest_first()
        warnings = [r for r in rows if r.type == "Warning"]
        self.sig_events.emit(
            rows[:EVENTS_SHOWN], warnings[:EVENTS_SHOWN], len(rows), len(warnings), trouble
        )

    def _watch_trouble(self, timeline: EventTimeline) -> str:
        """Why the timeline is not live: never listed (with the last error, if any), or its
        watch failed and has shown no sign of life since (the collector's ``WatchState``
        says: an event skipped as malformed is noted but leaves the watch running); "" when
        it is live."""
        state = self._watch
        if state is None:
            return ""
        if state.failing:
            return f"events not live: {_one_line(state.failure)}"
        listed = timeline.version > 0 or state.resource_version is not None
        if not listed and state.errors:
            return f"events not live: {_one_line(state.errors[-1])}"
        return "" if listed else NOT_LISTED
