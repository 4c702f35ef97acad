"""The Chat page opening a long kept chat: only its last messages are drawn (1,080 messages
took 0.9 s to build and 0.7 s to lay out on the UI thread), and "Show earlier messages" adds
the ones before; and "clusters in focus" checked against the registry as the CLI's
``chat --clusters`` checks them (a typo was put in the model's system prompt)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from aiops_desktop.models.chat import ChatMessage, ChatSession, ToolCall, ToolResult
from aiops_desktop.models.enums import ChatRole
from aiops_desktop.services.assistant.chat import ChatService
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.store.chats import ChatRepository
from tests.ui.conftest import SAMPLE, run_coro
from tests.ui.test_chat_page_fixes_page import ConfiguredLlm, GatedServer, Page, page
from ui.presenters.chat import ChatPresenter
from ui.theme import Theme
from ui.views.chat_view import SHOWN_MESSAGES, ChatView, ToolStep

__all__ = ["page"]  # the page as wired in the app, over the real service and store


def _view(qtbot: QtBot, theme: Theme) -> ChatView:
    view = ChatView(theme, [("default", "Default")])
    qtbot.addWidget(view)
    return view


def _said(count: int) -> list[ChatMessage]:
    """Questions and answers, one widget each (no stats under the answers)."""
    return [
        ChatMessage(role=ChatRole.USER if n % 2 == 0 else ChatRole.ASSISTANT, content=f"said {n}")
        for n in range(count)
    ]


def _widgets(view: ChatView) -> list[QWidget]:
    items = (view.lines.itemAt(i) for i in range(view.lines.count()))
    return [w for item in items if item is not None and (w := item.widget()) is not None]


def _texts(view: ChatView) -> list[str]:
    return [w.text() for w in _widgets(view) if isinstance(w, QLabel)]


def test_a_long_chat_opens_with_only_its_last_messages_drawn(qtbot: QtBot, theme: Theme) -> None:
    view = _view(qtbot, theme)
    view.show()
    view.show_session(ChatSession(messages=_said(1000)))
    assert _texts(view) == [f"said {n}" for n in range(1000 - SHOWN_MESSAGES, 1000)]
    assert view.earlier_button.isVisibleTo(view)
    assert f"{1000 - SHOWN_MESSAGES:,}" in view.earlier_button.text()
    assert view._last_answer == "said 999"
    # a short chat has nothing earlier: no button
    view.show_session(ChatSession(messages=_said(10)))
    assert _texts(view) == [f"said {n}" for n in range(10)]
    assert not view.earlier_button.isVisibleTo(view)


def test_show_earlier_messages_adds_the_previous_ones_above(qtbot: QtBot, theme: Theme) -> None:
    view = _view(qtbot, theme)
    view.show()
    session = ChatSession(messages=_said(2 * SHOWN_MESSAGES + 10))
    view.show_session(session)
    shown = _widgets(view)
    qtbot.mouseClick(view.earlier_button, Qt.MouseButton.LeftButton)
    assert _texts(view) == [f"said {n}" for n in range(10, 2 * SHOWN_MESSAGES + 10)]
    assert _widgets(view)[SHOWN_MESSAGES:] == shown  # the same widgets, not built again
    assert view._last_answer == f"said {2 * SHOWN_MESSAGES + 9}"  # Copy: still the last one
    qtbot.mouseClick(view.earlier_button, Qt.MouseButton.LeftButton)
    assert _texts(view) == [f"said {n}" for n in range(2 * SHOWN_MESSAGES + 10)]
    assert not view.earlier_button.isVisibleTo(view)
    # a turn after: only its messages are added, below
    session.messages += _said(2)
    view.show_session(session)
    assert _texts(view)[-2:] == ["said 0", "said 1"]
    assert len(_widgets(view)) == 2 * SHOWN_MESSAGES + 12


def test_a_round_of_tool_calls_is_not_cut_at_the_edge(qtbot: QtBot, theme: Theme) -> None:
    """The first message drawn is never a tool result: its call (and step) is drawn with it."""
    calls = [
        ToolCall(id=f"c{i}", name="query_metrics", arguments={"promql": "up"}) for i in range(4)
    ]
    round_ = [ChatMessage(role=ChatRole.ASSISTANT, content="", tool_calls=calls)] + [
        ChatMessage(role=ChatRole.TOOL, tool_result=ToolResult(call_id=c.id, name=c.name,
                                                               content=f"result {c.id}"))
        for c in calls
    ]  # fmt: skip
    # the window's edge falls on the round's third result
    session = ChatSession(messages=_said(20) + round_ + _said(SHOWN_MESSAGES - 2))
    view = _view(qtbot, theme)
    view.show_session(session)
    steps = [w for w in _widgets(view) if isinstance(w, ToolStep)]
    assert [s.result for s in steps] == [f"result c{i}" for i in range(4)]
    qtbot.mouseClick(view.earlier_button, Qt.MouseButton.LeftButton)
    assert _texts(view)[:20] == [f"said {n}" for n in range(20)]
    assert len([w for w in _widgets(view) if isinstance(w, ToolStep)]) == 4


def _stopped_turn(turn: int) -> list[ChatMessage]:
    """A question, then rounds of tool calls and their results, stopped with no answer text."""
    out = [ChatMessage(role=ChatRole.USER, content=f"question {turn}")]
    for r in range(5):
        calls = [ToolCall(id=f"t{turn}r{r}c{i}", name="query_metrics", arguments={})
                 for i in range(4)]  # fmt: skip
        out.append(ChatMessage(role=ChatRole.ASSISTANT, content="", tool_calls=calls))
        out += [ChatMessage(role=ChatRole.TOOL,
                            tool_result=ToolResult(call_id=c.id, name=c.name, content="up"))
                for c in calls]  # fmt: skip
    return out


def test_copy_answer_finds_the_answer_before_the_messages_drawn(qtbot: QtBot, theme: Theme) -> None:
    """The last answer is further back than the last ``SHOWN_MESSAGES`` (three stopped turns
    of tool rounds after it): Copy still copies it, not drawn yet."""
    answered = [
        ChatMessage(role=ChatRole.USER, content="why is du-2 down?"),
        ChatMessage(role=ChatRole.ASSISTANT, content="PTP holdover on du-2"),
    ]
    session = ChatSession(messages=answered + [m for t in range(3) for m in _stopped_turn(t)])
    assert len(session.messages) - 2 > SHOWN_MESSAGES
    view = _view(qtbot, theme)
    view.show_session(session)
    assert "PTP holdover on du-2" not in _texts(view)  # not drawn: "Show earlier messages"
    assert view.copy_button.isEnabled()
    assert view._last_answer == "PTP holdover on du-2"


@pytest.fixture
def core(qloop: qasync.QEventLoop, qtbot: QtBot) -> Iterator[Core]:
    core = open_capture(SAMPLE)
    run_coro(qtbot, core.registry.load())
    yield core
    run_coro(qtbot, core.shutdown())


def test_new_chat_refuses_a_cluster_that_is_not_registered(qtbot: QtBot, core: Core) -> None:
    service = ChatService(core.tools, ChatRepository(core.db), GatedServer().client())
    bus = EventBus()
    tasks = TaskSupervisor(bus)
    presenter = ChatPresenter(chat=service, llm=ConfiguredLlm(), bus=bus, tasks=tasks,
                              registry=core.registry)  # fmt: skip
    errors: list[str] = []
    shown: list[ChatSession] = []
    presenter.sig_error.connect(errors.append)
    presenter.sig_session.connect(shown.append)
    before = presenter.session
    presenter.new_session("default", ["ran-eats"])  # a typo of ran-east
    assert errors == ["no cluster named 'ran-eats' is registered"]
    assert presenter.session is before and shown == []
    presenter.new_session("default", ["ran-east"])
    assert presenter.session.cluster_context == ["ran-east"] and shown == [presenter.session]
    presenter.close()
    run_coro(qtbot, tasks.shutdown())


def test_new_chat_made_after_a_refusal_clears_what_was_said(page: Page, qtbot: QtBot) -> None:
    """A new chat refused for a typo, then made with the right name: the refusal no longer
    holds, so the status line says nothing of it."""
    run_coro(qtbot, page.chat._registry.load())
    view = page.view
    view.clusters.setText("ran-eats")
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert "ran-eats" in view.status.text()
    view.clusters.setText("ran-east")
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert "ran-east" in view.title.text()
    assert view.status.text() == ""
