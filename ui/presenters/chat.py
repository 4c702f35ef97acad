"""The Chat page's presenter: sessions (kept in the cache), a turn streamed as it comes (text,
tool steps with their arguments and results), Stop, and whether a model is configured at all.
Every network wait and write runs in the chat service's tasks, never on the UI thread."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.chat import ChatSession, reply_stats
from aiops_desktop.models.enums import PersonaName
from aiops_desktop.services.assistant.chat import (
    ChatEvent,
    ChatService,
    ReplyDone,
    TextChunk,
    ToolFinished,
    ToolStarted,
    TurnFailed,
)
from aiops_desktop.services.assistant.llm import LLM_CHANGED, NOT_CONFIGURED, LlmService
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

STILL_ANSWERING = "A reply is still coming: wait for it, or Stop it, then ask again."


class ChatPresenter(Presenter):
    """Signals: sig_sessions(list[(id, title, persona, updated_at)]); sig_session(ChatSession):
    show this one (the one shown, again after a turn: the view draws only its new messages);
    sig_chunk(str): reply text as it streams; sig_tool_started(name,
    arguments); sig_tool_finished(name, result, is_error, ms); sig_reply_done(stats);
    sig_busy(bool): a turn runs (Stop enabled), said as it is asked for, and until its task is
    done; sig_configured(str): "" or why there is no model; sig_error(str)."""

    sig_sessions = Signal(list)
    sig_session = Signal(object)
    sig_chunk = Signal(str)
    sig_tool_started = Signal(str, str)
    sig_tool_finished = Signal(str, str, bool, float)
    sig_reply_done = Signal(str)
    sig_busy = Signal(bool)
    sig_configured = Signal(str)

    def __init__(
        self, *, chat: ChatService, llm: LlmService, bus: EventBus, tasks: TaskSupervisor,
        registry: ClusterRegistry, parent: QObject | None = None,
    ) -> None:  # fmt: skip
        """``registry``: what the clusters in focus are checked against."""
        super().__init__(tasks, parent=parent)
        self._chat = chat
        self._registry = registry
        self._llm = llm
        self.session: ChatSession = chat.new_session()
        self._turn: asyncio.Task[None] | None = None
        self.listen(bus, LLM_CHANGED, lambda _s: self._say_configured())

    @property
    def personas(self) -> list[tuple[str, str]]:
        """(name, title) of every persona, for the picker."""
        return [(p.value, persona.title) for p, persona in self._chat.personas.items()]

    def _say_configured(self) -> None:
        self.sig_configured.emit("" if self._llm.configured else NOT_CONFIGURED)

    async def read(self) -> None:
        self._say_configured()
        self.sig_sessions.emit(await self._chat.sessions())

    def new_session(self, persona: str, clusters: list[str]) -> None:
        """A new chat; a cluster in focus that is not registered (nor a hub's member) is
        refused, as the CLI's ``chat --clusters`` refuses it: the model would be told of a
        cluster that is not there. The chat shown, and its turn, go on."""
        if clusters:
            try:
                self._registry.targets(clusters)
            except ClusterNotFoundError as exc:
                self.sig_error.emit(str(exc))
                return
        self.stop()
        self.session = self._chat.new_session(PersonaName(persona), clusters)
        self.sig_session.emit(self.session)
        self.sig_error.emit("")  # a refusal of the clusters typed before no longer holds

    def open_session(self, session_id: str) -> None:
        async def work() -> None:
            self.session = await self._chat.load(UUID(session_id))
            self.sig_session.emit(self.session)

        self.stop()
        self.spawn("open chat", work())

    def delete_session(self, session_id: str) -> None:
        answering = self._turn if str(self.session.id) == session_id else None
        if answering is not None:
            self.stop()

        async def work() -> None:
            if answering is not None:  # its last save and redraw first: the delete comes last
                await asyncio.wait([answering])
            await self._chat.delete(UUID(session_id))
            if str(self.session.id) == session_id:
                self.session = self._chat.new_session(self.session.persona)
                self.sig_session.emit(self.session)
                self.sig_error.emit("")  # a "Stopped: … kept" of its turn no longer holds
            self.sig_sessions.emit(await self._chat.sessions())

        self.spawn("delete chat", work())

    def ask(self, question: str, *, tool_choice: str | None = None) -> None:
        """One turn; ``tool_choice``: a tool the model must call first (tests, scripts)."""
        if self.busy:
            self.sig_error.emit(STILL_ANSWERING)
            return
        forced = {"type": "function", "function": {"name": tool_choice}} if tool_choice else None
        session = self.session

        def on_event(event: ChatEvent) -> None:
            if self.session is session:  # never into the chat shown in its place
                self._on_event(event)

        async def work() -> None:
            try:
                await self._chat.ask(session, question, on_event, tool_choice=forced)
            except asyncio.CancelledError:
                self.sig_error.emit("Stopped: what was said so far is kept.")
                raise
            finally:
                # the turn as it was kept (a stop marked, the question as redacted): the view
                # draws only its messages again, never the whole chat (seconds in a long one)
                self.sig_session.emit(self.session)
                self.sig_sessions.emit(await asyncio.shield(self._chat.sessions()))

        self._turn = self.spawn("chat", work(), on_error=self._failed)
        # busy at once, so the view lets the question go from its box only when a turn
        # started; idle when the task is done, however it ended (even stopped before it ran,
        # when none of ``work`` runs), so Send comes back only when a question is taken
        self.sig_busy.emit(True)
        self._turn.add_done_callback(lambda _t: self.sig_busy.emit(False))

    def _failed(self, text: str) -> None:
        self.sig_error.emit(text.removeprefix("chat failed: "))

    def stop(self) -> None:
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()

    @property
    def busy(self) -> bool:
        return self._turn is not None and not self._turn.done()

    def _on_event(self, event: ChatEvent) -> None:
        if isinstance(event, TextChunk):
            self.sig_chunk.emit(event.text)
        elif isinstance(event, ToolStarted):
            c = event.call
            shown = c.raw_arguments if c.raw_arguments is not None else json.dumps(c.arguments)
            self.sig_tool_started.emit(c.name, shown)
        elif isinstance(event, ToolFinished):
            r = event.result
            self.sig_tool_finished.emit(r.name, r.content, r.is_error, event.elapsed_ms)
        elif isinstance(event, ReplyDone):
            m = event.message
            self.sig_reply_done.emit(reply_stats(m.tokens_completion, m.latency_ms))
        elif isinstance(event, TurnFailed):
            pass  # the raised error reaches sig_error through the task
