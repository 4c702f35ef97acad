"""The Chat page after a turn: the whole conversation was deleted and built again on the UI thread
after every reply (2.4-4.3 s at 880 messages); only the turn's own messages are drawn again now,
and the view still shows exactly what the session holds. Reply text, tool arguments and tool
results are shown without bidi overrides or other controls (as the Logs page, tooltips and the
CLI show them), and Copy gives the same text."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from aiops_desktop.models.chat import ChatMessage, ChatSession, ToolCall, ToolResult
from aiops_desktop.models.enums import ChatRole
from aiops_desktop.services.assistant.chat import STOPPED
from tests.ui.test_chat_page_fixes_page import Page, _answered, _send, page
from ui.theme import Theme
from ui.views.chat_view import ChatView, StreamedReply, ToolStep

__all__ = ["page"]  # the page as wired in the app, over the real service and store

RLO, LRI, PDI = "\u202e", "\u2066", "\u2069"


def _view(qtbot: QtBot, theme: Theme) -> ChatView:
    view = ChatView(theme, [("default", "Default")])
    qtbot.addWidget(view)
    view.sig_ask.connect(lambda _q: view.show_busy(True))  # a turn starts, as the presenter says
    return view


def _turn(n: int) -> list[ChatMessage]:
    call = ToolCall(id=f"c{n}", name="query_logs", arguments={"logql": '{app="du"}'})
    return [
        ChatMessage(role=ChatRole.USER, content=f"question {n}"),
        ChatMessage(role=ChatRole.ASSISTANT, content="", tool_calls=[call]),
        ChatMessage(role=ChatRole.TOOL, latency_ms=12.0,
                    tool_result=ToolResult(call_id=call.id, name=call.name, content=f"lines {n}")),
        ChatMessage(role=ChatRole.ASSISTANT, content=f"answer {n}", tokens_completion=40,
                    latency_ms=900.0),
    ]  # fmt: skip


def _widgets(view: ChatView) -> list[QWidget]:
    items = (view.lines.itemAt(i) for i in range(view.lines.count()))
    return [w for item in items if item is not None and (w := item.widget()) is not None]


def _seen(view: ChatView) -> list[tuple[str, ...]]:
    """What the transcript shows, in order: each label's text, each tool step's header and
    details, each streamed reply's labels."""
    seen: list[tuple[str, ...]] = []
    for w in _widgets(view):
        if isinstance(w, ToolStep):
            seen.append(("step", w.header.text(), w.details.toPlainText()))
        elif isinstance(w, StreamedReply):
            seen.append(("streamed", *(p.text() for p in w.parts)))
        elif isinstance(w, QLabel):
            seen.append((str(w.property("chat")), w.text()))
    return seen


def _drawn_whole(qtbot: QtBot, theme: Theme, session: ChatSession) -> list[tuple[str, ...]]:
    fresh = ChatView(theme, [("default", "Default")])
    qtbot.addWidget(fresh)
    fresh.show_session(session)
    while fresh.earlier_button.isVisibleTo(fresh):
        fresh.earlier_button.click()
    return _seen(fresh)


def _live_turn(view: ChatView, session: ChatSession, n: int, *, stopped: bool = False) -> None:
    """One turn as the presenter shows it while it runs, then the session as it was kept."""
    view.question.setPlainText(f"question {n}")
    view._on_send()
    view.show_tool_started("query_logs", '{"logql": "{app=\\"du\\"}"}')
    view.show_tool_finished("query_logs", f"lines {n}", False, 12.0)
    view.show_chunk(f"answer {n}")
    view._stream.flush()
    turn = _turn(n)
    if stopped:
        turn[-1] = ChatMessage(role=ChatRole.ASSISTANT, content=f"answer {n}{STOPPED}")
        view.show_error("Stopped: what was said so far is kept.")
    else:
        view.show_reply_done("40 tokens · 0.9 s")
    session.messages += turn
    view.show_session(session)  # the presenter's last word on the turn
    view.show_busy(False)


def test_a_turn_on_a_long_chat_keeps_the_widgets_already_shown(qtbot: QtBot, theme: Theme) -> None:
    view = _view(qtbot, theme)
    session = ChatSession(messages=[m for n in range(50) for m in _turn(n)])
    view.show_session(session)
    while view.earlier_button.isVisibleTo(view):
        view.earlier_button.click()
    before = _widgets(view)
    assert len(before) == 200  # 50 turns of a question, a tool step, an answer, its stats
    _live_turn(view, session, 50)
    after = _widgets(view)
    assert after[: len(before)] == before  # the same objects: not deleted and built again
    assert all(w.parent() is view.transcript for w in before)
    assert _seen(view) == _drawn_whole(qtbot, theme, session)
    assert view.title.text().startswith(session.title)
    _live_turn(view, session, 51, stopped=True)  # a stop: the view is corrected, still cheaply
    assert _widgets(view)[: len(before)] == before
    assert _seen(view) == _drawn_whole(qtbot, theme, session)
    assert view._last_answer == f"answer 51{STOPPED}"


def test_the_page_keeps_what_it_showed_after_each_turn(
    page: Page, qtbot: QtBot, theme: Theme
) -> None:
    view = page.view
    _send(qtbot, view, "which GPUs are unhealthy?")
    _answered(qtbot, page, "gpu-3 is hot")
    first = _widgets(view)
    assert _seen(view) == _drawn_whole(qtbot, theme, page.chat.session)
    assert view.title.text().startswith("which GPUs are unhealthy?")
    _send(qtbot, view, "since when?")
    _answered(qtbot, page, "since 01:03")
    assert _widgets(view)[: len(first)] == first
    assert _seen(view) == _drawn_whole(qtbot, theme, page.chat.session)
    assert len(page.chat.session.messages) == 4


def test_another_chat_or_a_changed_one_is_drawn_whole(qtbot: QtBot, theme: Theme) -> None:
    view = _view(qtbot, theme)
    first = ChatSession(messages=_turn(0) + _turn(1))
    view.show_session(first)
    other = ChatSession(messages=_turn(7))
    view.show_session(other)
    assert _seen(view) == _drawn_whole(qtbot, theme, other)
    # the same chat read again from the store, but not as it was shown: drawn whole
    changed = other.model_copy(update={"messages": _turn(8) + _turn(9)})
    view.show_session(changed)
    assert _seen(view) == _drawn_whole(qtbot, theme, changed)
    view.show_session(ChatSession(id=changed.id))  # emptied: nothing of it stays
    assert _seen(view) == []
    assert not view.copy_button.isEnabled()


def test_bidi_overrides_are_not_shown_nor_copied(qtbot: QtBot, theme: Theme) -> None:
    view = _view(qtbot, theme)
    reply = f"Safe to run: oc get pods -n ran {RLO}{LRI} ,ran- n- dop eteled co{PDI}\nthen wait"
    call = ToolCall(id="c1", name="query_logs", arguments={"q": f"a{RLO}b"})
    session = ChatSession(messages=[
        ChatMessage(role=ChatRole.USER, content="what should I check?"),
        ChatMessage(role=ChatRole.ASSISTANT, content="", tool_calls=[call]),
        ChatMessage(role=ChatRole.TOOL, tool_result=ToolResult(
            call_id="c1", name="query_logs", content=f'{{"line":"ok {RLO}txt.exe"}}')),
        ChatMessage(role=ChatRole.ASSISTANT, content=reply),
    ])  # fmt: skip
    view.show_session(session)
    bidi = (RLO, LRI, PDI, "\x1b")
    shown = "\n".join("\n".join(s) for s in _seen(view))
    assert "Safe to run: oc get pods -n ran  ,ran- n- dop eteled co\nthen wait" in shown
    assert "txt.exe" in shown and "ab" in shown
    assert not any(c in shown for c in bidi)
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == (
        "Safe to run: oc get pods -n ran  ,ran- n- dop eteled co\nthen wait"
    )
    # the same as it streams live
    live = _view(qtbot, theme)
    live.show_tool_started(f"query{RLO}_logs", f'{{"q": "a{RLO}b"}}')
    live.show_tool_finished(f"query{RLO}_logs", f"ok {RLO}txt.exe\x1b[2J", False, 3.0)
    live.show_chunk(reply)
    live._stream.flush()
    streaming = "\n".join("\n".join(s) for s in _seen(live))
    assert "eteled co" in streaming and "txt.exe" in streaming
    assert not any(c in streaming for c in bidi)
    live.show_reply_done("")
    settled = "\n".join("\n".join(s) for s in _seen(live))
    assert "eteled co\nthen wait" in settled and not any(c in settled for c in bidi)
    assert live._last_answer == printable_reply(reply)


def printable_reply(text: str) -> str:
    return "".join(c for c in text if c not in (RLO, LRI, PDI))
