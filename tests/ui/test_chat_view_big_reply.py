"""A reply far longer than the page lays out (a model server may ignore any token limit and
send up to the stream cap): when it is done, and when its chat is reopened, the page shows at
most ``SHOWN_CHARS`` of it with a note of how much was left out, as while it streamed (the
whole 1 MB on one word-wrapped label held the UI thread for seconds); "Copy answer" still
copies the whole reply."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from aiops_desktop.models.chat import ChatMessage, ChatSession
from aiops_desktop.models.enums import ChatRole, PersonaName
from ui.theme import Theme
from ui.views.chat_view import ChatView
from ui.views.streamed import SHOWN_CHARS

BIG = ("gpu-3 is hot and drops packets " * 40 + "\n") * 840  # about 1 MB
NOTE = "\n… {rest:,} more characters (the whole reply is kept)"


def _assistant_texts(view: ChatView) -> list[str]:
    return [w.text() for w in view.transcript.findChildren(type(view.title))
            if w.property("chat") == "assistant"]  # fmt: skip


def _assert_capped(view: ChatView) -> None:
    (shown,) = _assistant_texts(view)
    rest = len(BIG) - SHOWN_CHARS
    assert len(shown) <= SHOWN_CHARS + len(NOTE.format(rest=rest))
    assert shown == BIG[:SHOWN_CHARS] + NOTE.format(rest=rest)
    assert f"{rest:,} more characters" in shown


def _assert_copies_whole(view: ChatView) -> None:
    assert view.copy_button.isEnabled()
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == BIG
    assert view.status.text() == "Answer copied."


def test_a_big_reply_done_shows_the_capped_text_and_copies_the_whole(
    qtbot: QtBot, theme: Theme
) -> None:
    assert len(BIG) > 1_000_000
    view = ChatView(theme, [("default", "NOC assistant")])
    qtbot.addWidget(view)
    for start in range(0, len(BIG), 4096):  # chunks as a server sends them
        view.show_chunk(BIG[start : start + 4096])
    view.show_reply_done("12 tokens · 3 s")
    _assert_capped(view)
    _assert_copies_whole(view)


def test_a_big_reply_in_a_reopened_chat_shows_the_capped_text_and_copies_the_whole(
    qtbot: QtBot, theme: Theme
) -> None:
    view = ChatView(theme, [("default", "NOC assistant")])
    qtbot.addWidget(view)
    session = ChatSession(persona=PersonaName.DEFAULT)
    session.messages += [
        ChatMessage(role=ChatRole.USER, content="why is gpu-3 dropping packets?"),
        ChatMessage(role=ChatRole.ASSISTANT, content=BIG),
    ]
    view.show_session(session)
    _assert_capped(view)
    _assert_copies_whole(view)
    assert session.messages[-1].content == BIG  # what is stored is left whole


def test_a_reply_within_the_cap_is_shown_whole(qtbot: QtBot, theme: Theme) -> None:
    view = ChatView(theme, [("default", "NOC assistant")])
    qtbot.addWidget(view)
    exact = "x" * SHOWN_CHARS
    view.show_chunk(exact)
    view.show_reply_done("")
    assert _assistant_texts(view) == [exact]
