"""The Chat page as wired in the app (ui/page_views.chat), over the real chat service and store
(the bundled sample capture) and a model server whose every chunk the test lets through:
what the person typed is never lost (a question too long, a question sent while a reply
still streams, after the page was shown again); a chat deleted while it answers stays gone and
nothing of its reply shows up in the chat shown in its place; "Copy answer" never copies
another chat's answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from aiops_desktop.models.chat import ChatMessage, ChatSession
from aiops_desktop.models.enums import ChatRole, PersonaName
from aiops_desktop.services.assistant import chat as chat_service
from aiops_desktop.services.assistant.chat import ChatService
from aiops_desktop.services.assistant.llm import LLM_CHANGED
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.store.chats import ChatRepository
from collectors.llm import LlmClient, LlmEndpoint
from tests.ui.conftest import SAMPLE, run_coro, run_until
from ui import page_views
from ui.presenters.chat import ChatPresenter
from ui.theme import Theme
from ui.views import chat_view
from ui.views.chat_view import ChatView


def _sse(*chunks: dict[str, Any] | bytes) -> bytes:
    return b"".join(
        b"data: " + (c if isinstance(c, bytes) else json.dumps(c).encode()) + b"\n\n"
        for c in chunks
    )


class GatedServer:
    """An OpenAI-compatible server that streams a chunk only when the test says it."""

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[str | None] = asyncio.Queue()
        self.questions: list[str] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["messages"]
        self.questions.append(next(m["content"] for m in reversed(sent) if m["role"] == "user"))

        async def stream() -> AsyncIterator[bytes]:
            while (text := await self.chunks.get()) is not None:
                yield _sse({"choices": [{"index": 0, "delta": {"content": text}}]})
            yield _sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                       b"[DONE]")  # fmt: skip

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())

    def say(self, text: str) -> None:
        self.chunks.put_nowait(text)

    def end(self) -> None:
        self.chunks.put_nowait(None)

    def client(self) -> Callable[[], Any]:
        async def make() -> LlmClient:
            return LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"),
                             transport=httpx.MockTransport(self.handler))  # fmt: skip

        return make


class ConfiguredLlm:
    """All the presenter reads of the model settings."""

    configured = True


class Page(SimpleNamespace):
    view: ChatView
    chat: ChatPresenter
    server: GatedServer
    service: ChatService
    bus: EventBus


@pytest.fixture
def page(qtbot: QtBot, qloop: qasync.QEventLoop, theme: Theme) -> Iterator[Page]:
    core: Core = open_capture(SAMPLE)
    server = GatedServer()
    service = ChatService(core.tools, ChatRepository(core.db), server.client(), clock=core.now)
    bus = EventBus()
    tasks = TaskSupervisor(bus)
    presenter = ChatPresenter(chat=service, llm=ConfiguredLlm(), bus=bus, tasks=tasks,  # type: ignore[arg-type]
                              registry=core.registry)  # fmt: skip
    view = page_views.chat(SimpleNamespace(chat=presenter), theme, None)  # type: ignore[arg-type]
    view.resize(1000, 700)
    view.show()
    qtbot.addWidget(view)
    run_coro(qtbot, presenter.read())
    try:
        yield Page(view=view, chat=presenter, server=server, service=service, bus=bus)
    finally:
        presenter.stop()
        run_coro(qtbot, tasks.shutdown())
        presenter.close()
        run_coro(qtbot, core.shutdown())
        # the service's shielded last saves outlive a stopped turn by a moment
        run_until(qtbot, lambda: all(t.done() for t in asyncio.all_tasks(qloop)))


def _user_bubbles(view: ChatView) -> list[str]:
    return [w.text() for w in view.transcript.findChildren(type(view.title))
            if w.property("chat") == "user"]  # fmt: skip


def _shown_text(view: ChatView) -> str:
    return "\n".join(w.text() for w in view.transcript.findChildren(type(view.title)))


def _send(qtbot: QtBot, view: ChatView, text: str) -> None:
    view.question.setPlainText(text)
    qtbot.mouseClick(view.send_button, Qt.MouseButton.LeftButton)


def _send_by_keys(qtbot: QtBot, view: ChatView, text: str) -> None:
    """Ctrl+Enter: it sends even where the Send button is disabled."""
    view.question.setPlainText(text)
    view.question.setFocus()
    qtbot.keyClick(view.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def _answered(qtbot: QtBot, p: Page, text: str) -> None:
    p.server.say(text)
    p.server.end()
    run_until(qtbot, lambda: not p.chat.busy and p.view.send_button.isEnabled())


# -- 1. what the person typed is never lost --------------------------------------------------
def test_a_question_too_long_is_kept_in_the_box_and_says_why(page: Page, qtbot: QtBot) -> None:
    pasted = "Why is du-2 out of sync? Log excerpt:\n" + "ptp4l[123]: offset 2 s2\n" * 400
    assert len(pasted) > 8000
    _send_by_keys(qtbot, page.view, pasted)
    qtbot.wait(300)  # a turn, had one started, would have redrawn the chat by now
    assert page.view.question.toPlainText() == pasted  # kept, to be shortened
    assert "8,000" in page.view.status.text() and "characters" in page.view.status.text()
    assert not page.chat.busy and page.server.questions == []
    shorter = pasted[:7000]
    _send(qtbot, page.view, shorter)  # shortened, it goes
    run_until(qtbot, lambda: page.chat.busy and page.view.question.toPlainText() == "")
    assert _user_bubbles(page.view) == [shorter.strip()]
    _answered(qtbot, page, "du-2 lost its grandmaster.")


def test_the_view_says_the_same_limit_as_the_service() -> None:
    assert chat_view.MAX_QUESTION_CHARS == chat_service.MAX_QUESTION_CHARS


def test_the_box_is_cleared_once_the_turn_started(page: Page, qtbot: QtBot) -> None:
    _send(qtbot, page.view, "which GPUs are unhealthy?")
    assert page.chat.busy  # the turn started: the question left the box for the chat
    assert page.view.question.toPlainText() == ""
    assert _user_bubbles(page.view) == ["which GPUs are unhealthy?"]
    _answered(qtbot, page, "none")


def test_a_question_sent_while_a_reply_streams_is_refused_and_kept(
    page: Page, qtbot: QtBot
) -> None:
    view = page.view
    _send(qtbot, view, "which GPUs are unhealthy?")
    page.server.say("Reading the fleet")
    run_until(qtbot, lambda: "Reading the fleet" in _shown_text(view))
    run_coro(qtbot, page.chat.read())  # the person went to Alerts and back
    page.bus.publish(LLM_CHANGED, None)  # and the model settings were saved again
    assert not view.send_button.isEnabled() and view.stop_button.isEnabled()
    _send_by_keys(qtbot, view, "and since when?")
    assert view.question.toPlainText() == "and since when?"  # kept
    assert "reply is still coming" in view.status.text().lower()
    page.chat.ask("and since when?")  # handed to the presenter all the same: said, not dropped
    assert "reply is still coming" in view.status.text().lower()
    _answered(qtbot, page, ": none.")
    assert page.server.questions == ["which GPUs are unhealthy?"]
    assert view.question.toPlainText() == "and since when?"  # still there, to send now
    _send(qtbot, view, view.question.toPlainText())
    run_until(qtbot, lambda: page.server.questions[-1:] == ["and since when?"])
    _answered(qtbot, page, "since 01:03")
    assert _user_bubbles(view) == ["which GPUs are unhealthy?", "and since when?"]


# -- 2. a chat deleted while it answers -------------------------------------------------------
def test_a_chat_deleted_while_it_answers_stays_gone(page: Page, qtbot: QtBot) -> None:
    view = page.view
    _send(qtbot, view, "which GPUs are unhealthy?")
    page.server.say("Reading the fleet")
    run_until(qtbot, lambda: "Reading the fleet" in _shown_text(view))
    run_coro(qtbot, page.chat.read())  # the page shown again: the chat is listed
    assert view.sessions.count() == 1
    deleted = page.chat.session.id
    view.sessions.setCurrentRow(0)
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: page.chat.session.id != deleted)
    page.server.say(" SECRET-LATE-CHUNK")  # what the server still sends is shown nowhere
    qtbot.wait(300)  # a chunk is drawn within 50 ms
    assert "SECRET-LATE-CHUNK" not in _shown_text(view)
    page.server.end()
    run_until(qtbot, lambda: not page.chat.busy)
    qtbot.wait(300)
    assert view.title.text().startswith("New chat")
    assert _user_bubbles(view) == [] and "SECRET-LATE-CHUNK" not in _shown_text(view)
    assert "Reading the fleet" not in _shown_text(view)
    assert view.sessions.count() == 0 and "kept" not in view.status.text()
    assert view.send_button.isEnabled() and not view.stop_button.isEnabled()
    assert all(s[0] != deleted for s in run_coro(qtbot, page.service.sessions()))


def test_a_reply_never_streams_into_a_chat_opened_in_its_place(page: Page, qtbot: QtBot) -> None:
    view = page.view
    _send(qtbot, view, "which GPUs are unhealthy?")
    page.server.say("Reading the fleet")
    run_until(qtbot, lambda: "Reading the fleet" in _shown_text(view))
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    page.server.say(" SECRET-LATE-CHUNK")
    page.server.end()
    run_until(qtbot, lambda: not page.chat.busy)
    qtbot.wait(200)
    assert "SECRET-LATE-CHUNK" not in _shown_text(view) and _user_bubbles(view) == []


# -- 3. Copy answer ---------------------------------------------------------------------------
def _answered_session() -> ChatSession:
    old = ChatSession(persona=PersonaName.DEFAULT, cluster_context=["ran-east"])
    old.messages += [
        ChatMessage(role=ChatRole.USER, content="why is du-2 in FREERUN?"),
        ChatMessage(role=ChatRole.ASSISTANT, content="du-2 lost its grandmaster at 01:03."),
    ]
    return old


def test_copy_answer_never_copies_another_chats_answer(qtbot: QtBot, theme: Theme) -> None:
    view = ChatView(theme, [("default", "NOC assistant")])
    qtbot.addWidget(view)
    assert not view.copy_button.isEnabled()  # nothing answered yet
    view.show_session(_answered_session())
    assert view.copy_button.isEnabled()
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == "du-2 lost its grandmaster at 01:03."
    QGuiApplication.clipboard().setText("kept by the person")
    view.show_session(ChatSession(persona=PersonaName.DEFAULT))  # New chat
    assert not view.copy_button.isEnabled()
    view._on_copy()  # Ctrl-clicked through anyway: says so, copies nothing
    assert QGuiApplication.clipboard().text() == "kept by the person"
    assert view.status.text() == "No answer to copy yet."


def test_copy_answer_copies_the_streamed_answer_of_this_chat(page: Page, qtbot: QtBot) -> None:
    view = page.view
    assert not view.copy_button.isEnabled()
    _send(qtbot, view, "which GPUs are unhealthy?")
    _answered(qtbot, page, "none are unhealthy")
    assert view.copy_button.isEnabled()
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "none are unhealthy"
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert not view.copy_button.isEnabled()
