"""The incidents page's presenter: the incidents (open first), acknowledging one, and the
root-cause analysis of one, off the UI thread with its progress said."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.chat import reply_stats
from aiops_desktop.models.enums import IncidentStatus, Verdict
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import (
    RCA_WINDOW_AFTER,
    ExplainedSentence,
    ExplanationView,
    Incident,
)
from aiops_desktop.services.assistant.explain import explain
from aiops_desktop.services.assistant.llm import LLM_CHANGED, NOT_CONFIGURED, LlmService
from aiops_desktop.services.intelligence.incidents import INCIDENTS_CHANGED, IncidentService
from aiops_desktop.services.intelligence.rca import RcaResult, RcaService, nothing_read
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

#: an analysis and the incident it is of (None: a cluster at a moment)
Analysed = tuple[RcaResult, Incident | None]
#: how the Explain state starts when the model stopped before its explanation was checked (it
#: failed): the view marks the draft it shows with it and leaves Explain on to try again
EXPLAIN_STOPPED = "The model stopped: this draft was not checked"


class IncidentsPresenter(Presenter):
    """Signals: sig_rows(list[Incident], int) when they change and on show, with how many
    were left out of the list (the least pressing, past the store's limit); sig_rca_busy(str): an
    analysis started (what it analyses) or ended (""); sig_rca(RcaReport); sig_rca_failed(str):
    the analysis asked last could not be made (why); sig_explain_text(str): the explanation as
    it streams; sig_explained(ExplanationView); sig_explain_state(str): what Explain can do now
    ("" ready, or why not: no analysis yet, no model configured, working; or, ready again,
    ``EXPLAIN_STOPPED`` and why the last explanation failed); sig_error(str).

    One analysis at a time: asking another stops the one running, so what is shown is always
    the analysis asked last (a slow one never lands over a newer one); asking one clears what
    was shown: an explanation still streaming is stopped, and Explain waits for the new one."""

    sig_rows = Signal(list, int)
    sig_rca = Signal(object)
    sig_rca_busy = Signal(str)
    sig_rca_failed = Signal(str)
    sig_explain_text = Signal(str)
    sig_explained = Signal(object)
    sig_explain_state = Signal(str)

    def __init__(
        self,
        *,
        incidents: IncidentService,
        rca: RcaService,
        bus: EventBus,
        tasks: TaskSupervisor,
        llm: LlmService | None = None,
        clusters_of: Callable[[str], list[str]] = lambda name: [name],
        interval_ms: int = 10_000,
        parent: QObject | None = None,
    ) -> None:
        """``clusters_of``: the clusters whose series explain a cluster's name (a fleet hub's
        are its members': ``rca_clusters``)."""
        super().__init__(tasks, interval_ms, parent)
        self._incidents = incidents
        self._rca = rca
        self._llm = llm
        self._clusters_of = clusters_of
        self._analysis: asyncio.Task[None] | None = None
        self._explaining: asyncio.Task[None] | None = None
        #: why the analysis shown was last explained in vain (its draft was never checked)
        self._explain_failed = ""
        #: the analysis shown, and its incident (None: a cluster at a moment)
        self._shown: Analysed | None = None
        #: how many times the bus brought the rows (an acknowledgement's, a regrouping's)
        self._published = 0
        #: the severity of each incident in the rows last emitted: what the page shows, and
        #: so what an acknowledgement from it covers
        self._severity_shown: dict[str, FindingSeverity] = {}
        self.listen(bus, INCIDENTS_CHANGED, self._on_changed)
        self.listen(bus, LLM_CHANGED, lambda _s: self._say_explain_state())

    async def read(self) -> None:
        published = self._published
        rows = await self._incidents.listed()
        # the bus brought newer rows while this read ran (an acknowledgement): they stay, the
        # incident just acknowledged never shows OPEN again until the next read
        if published == self._published:
            self._emit_rows(rows)
        self._say_explain_state()

    def _on_changed(self, rows: list[Incident]) -> None:
        self._published += 1
        self._emit_rows(rows)

    def _emit_rows(self, rows: list[Incident]) -> None:
        self._severity_shown = {i.id: i.severity for i in rows}
        self.sig_rows.emit(rows, self._incidents.left_out)

    def acknowledge(self, incident_id: str) -> None:
        """Acknowledge the incident as the page shows it: one a refresh made worse since (a
        CRITICAL the person never saw) is not, and that is said."""
        seen = self._severity_shown.get(incident_id)

        async def work() -> None:
            # the bus brings the new rows (before this returns: the error stays shown)
            done = await self._incidents.acknowledge(incident_id, seen=seen)
            if done is not None and done.state is IncidentStatus.OPEN and seen is not None:
                self.sig_error.emit(f"{incident_id} not acknowledged: it is "
                                    f"{done.severity.value} now, {seen.value} when shown; "
                                    "look at it again")  # fmt: skip

        self.spawn("acknowledge", work())

    def analyse(self, incident_id: str) -> None:
        """Rank the incident's likely causes (seconds on a big fleet: off the UI thread)."""

        async def result() -> Analysed:
            incident = await self._incidents.get(incident_id)
            if incident is None:
                raise LookupError(f"incident {incident_id} is no longer kept")
            return await self._rca.for_incident(incident), incident

        self._run_rca(incident_id, result)

    def analyse_at(self, cluster: str, first_s: float) -> None:
        """Rank what changed on ``cluster`` around ``first_s`` (an anomaly's or alert's
        start): the window runs from 30 min before it to 5 min after, and no later than now
        (nothing is known later: a recent anomaly's would say "read up to" a time to come;
        a capture's now is its end). A start no datetime holds (an Alertmanager's past
        9999) fails on the panel, not in this slot."""

        async def result() -> Analysed:
            start = datetime.fromtimestamp(first_s, UTC)
            # now, the latest an analysis may read: the RCA service's (a capture's is its end)
            at = min(start, self._rca.now() - RCA_WINDOW_AFTER) + RCA_WINDOW_AFTER
            return await self._rca.for_cluster(cluster, self._clusters_of(cluster), at), None

        self._run_rca(cluster, result)

    def _run_rca(
        self,
        what: str,
        result: Callable[[], Coroutine[Any, Any, Analysed]],
    ) -> None:
        """``result``: makes the analysis' coroutine once it runs (one stopped before it ran
        leaves no coroutine never awaited)."""
        if self._analysis is not None:
            self._analysis.cancel()  # asked again: only the newest is shown
        # what was shown goes now, whether this one is shown or fails: its explanation stops
        # (it streamed on under a failure) and Explain no longer acts on it
        self._stop_explaining()
        self._shown = None
        self._explain_failed = ""
        self._say_explain_state()

        async def work() -> None:
            self.sig_rca_busy.emit(f"Analysing {what}…")
            found = await result()  # a failure: on_error below says it in the panel
            # no cause and nothing read: "nothing deviated" would pass for an all-clear (the
            # CLI refuses it too)
            empty = None if found[0].causes else nothing_read(found[0])
            if empty is not None:
                self._shown = None  # nothing to explain
                self.sig_rca_failed.emit(f"{empty} (analysing {what})")
                self._say_explain_state()
                return
            self._shown = found
            self.sig_rca.emit(found[0].shown())
            self._say_explain_state()

        def failed(why: str) -> None:  # why: "root-cause analysis failed: <the reason>"
            self.sig_rca_failed.emit(f"{why} (analysing {what})")

        task = self.spawn("root-cause analysis", work(), on_error=failed)
        self._analysis = task
        task.add_done_callback(self._analysis_ended)

    def _analysis_ended(self, task: asyncio.Task[None]) -> None:
        if task is self._analysis:  # not one stopped for a newer analysis
            self._analysis = None
            self.sig_rca_busy.emit("")

    def _stop_explaining(self) -> None:
        if self._explaining is not None:
            self._explaining.cancel()
            self._explaining = None

    def _say_explain_state(self) -> None:
        if self._explaining is not None:
            return  # the model is still telling the analysis shown: Explain stays off
        if self._llm is None or not self._llm.configured:
            self.sig_explain_state.emit(f"{NOT_CONFIGURED}.")
        elif self._shown is None:
            self.sig_explain_state.emit("Analyse a root cause first; Explain then tells it.")
        else:  # the failure stays said while its draft is shown (a read says the state too)
            self.sig_explain_state.emit(self._explain_failed)

    def explain(self) -> None:
        """The local model explains the analysis shown; each sentence is checked."""
        shown, llm = self._shown, self._llm
        if shown is None or llm is None or not llm.configured:
            self._say_explain_state()
            return

        if self._explaining is not None:
            return  # one explanation at a time

        async def work() -> None:
            self._explain_failed = ""
            self.sig_explain_state.emit("The model is explaining…")
            done = await explain(shown[0], llm.client, shown[1],
                                 on_text=self.sig_explain_text.emit)  # fmt: skip
            e = done.explanation
            self.sig_explained.emit(ExplanationView(
                [ExplainedSentence(s.text, s.verdict is Verdict.VERIFIED, s.reasons,
                                   s.verdict.value) for s in e.sentences],
                [(i.id, i.text) for i in done.evidence],
                reply_stats(done.reply.completion_tokens, done.reply.total_ms),
                e.truncated,
            ))  # fmt: skip

        def failed(why: str) -> None:  # why: "explanation failed: <the reason>"
            # said where the draft is, when the task has ended (``ended`` says the state)
            self._explain_failed = f"{EXPLAIN_STOPPED} ({why}); Explain tries again."

        task = self.spawn("explanation", work(), on_error=failed)
        self._explaining = task

        def ended(done: asyncio.Task[None]) -> None:
            if done is self._explaining:
                self._explaining = None
                self._say_explain_state()

        task.add_done_callback(ended)
