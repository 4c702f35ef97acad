"""The Kubernetes page of a cluster: who am I and what may I read, nodes, pods, events.

The page is one view shared by every cluster: each cluster shown starts from an empty page
(nothing of the cluster shown before), the nodes and pods say when they were read (and that
they are stale when a later read failed), and the events say when their watch is not live."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, Signal

from aiops_desktop.logs import redact
from aiops_desktop.models.kube import Inventory, ValidationResult
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.kube.discovery import DiscoveryService
from aiops_desktop.services.kube.inventory import EventTimeline
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

EVENTS_SHOWN = 500  # rows handed to the table, of all events and of the warnings each
TROUBLE_CHARS = 300  # an error as the events tab shows it: its first line, this long at most
NOT_LISTED = "events not read yet (listing …)"


class WatchHealth(Protocol):
    """What the page reads of an events watch's state (the collector's ``WatchState``)."""

    resource_version: str | None
    errors: list[str]
    failing: bool
    failure: str


def _one_line(text: str) -> str:
    """A message as one short line of plain text, redacted (again: the collector redacts its
    own errors; a session's error opening the client is not a collector's)."""
    line = redact(text).strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= TROUBLE_CHARS else line[: TROUBLE_CHARS - 1] + "…"


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
        #: the cluster's last answers (shown again when the same cluster is shown again)
        self._inventory: Inventory | None = None
        self._validation: ValidationResult | None = None
        self._trouble = ""  # what the events tab was last told of the watch

    def show_cluster(self, name: str) -> None:
        if name == self.cluster and self._timeline is not None:
            return
        self.stop()
        if name != self.cluster:  # another cluster: nothing of the last one is shown for it
            self._inventory = self._validation = None
        self.cluster = name
        why = self._unreadable(name)
        if why:
            self._inventory = self._validation = None
            self.sig_status.emit(why)
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

    def _unreadable(self, name: str) -> str:
        """Why the cluster's API server is not asked ("" when it is)."""
        hub = self._registry.hub_of(name)
        if hub is not None:
            return (
                f"no API server registered for this member: {name}'s metrics and alerts come "
                f"through fleet hub {hub.name}; register it to see its nodes, pods and events"
            )
        try:
            cluster = self._registry.get(name)
        except ClusterNotFoundError as exc:  # removed meanwhile
            return str(exc) or f"{name} is not registered"
        if not has_kube_api(cluster):
            return f"{name} has no Kubernetes API configured (metrics only)"
        return ""

    def reload(self) -> None:
        """Ask the API server again: who am I, what may I read, nodes and pods."""
        name = self.cluster
        if name is None:
            return
        self.sig_status.emit(f"asking {name}'s API server ...")

        def report(text: str) -> None:  # a failure of a cluster no longer shown is not said
            if name == self.cluster:
                self.sig_status.emit(text)

        async def check() -> None:
            result = await self._kube.validate(name)
            if name == self.cluster:
                self._validation = result
                self.sig_validation.emit(result)
                self.sig_status.emit(f"{result.outcome.value}: {result.reason}")

        async def inventory() -> None:
            try:
                taken = await self._kube.inventory(name)
            except Exception as exc:
                if name == self.cluster:  # what is shown stays, marked stale (or: not read)
                    why = _one_line(str(exc)) or type(exc).__name__
                    self.sig_inventory.emit(self._inventory, why)
                raise  # and the status line says why
            if name == self.cluster:
                self._inventory = taken
                self.sig_inventory.emit(taken, "")

        self.spawn(f"validate {name}", check(), report)
        self.spawn(f"inventory {name}", inventory(), report)

    def discover(self) -> None:
        name = self.cluster
        if name is None:
            return
        self.sig_status.emit(f"discovering {name} ...")

        async def work() -> None:
            found = await self._discovery.run(name)
            caps = found.capabilities
            text = (
                f"discovered {len(found.endpoints)} endpoint(s), {caps.gpu_count} GPUs, "
                f"PTP {'yes' if caps.has_ptp else 'no'}, SR-IOV {'yes' if caps.has_sriov else 'no'}"
            )
            if found.vanished:
                text += f"; VANISHED: {', '.join(found.vanished)}"
            self.sig_status.emit(text)

        self.spawn(f"discover {name}", work(), self.sig_status.emit)

    def stop(self) -> None:
        super().stop()
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
