"""A streamed reply is drawn a few times a second, not once per chunk (16,000 chunks held the
UI thread 142 s: each re-joined the whole text and laid a word-wrapped label out again), its
shown part is bounded, the whole is kept; and a chat's title tooltip is text, not markup."""

from __future__ import annotations

from aiops_desktop.models.chat import ChatSession
from ui.views.streamed import SHOWN_CHARS, StreamedText
from ui.views.text import PlainLabel


def test_chunks_are_drawn_a_few_times_not_once_each(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = PlainLabel()
    qtbot.addWidget(label)
    drawn: list[int] = []

    def show(text: str) -> None:
        drawn.append(len(text))
        label.setText(text)

    stream = StreamedText(show, label)
    stream.start()
    for n in range(16_000):
        stream.add(f"word{n % 10} ")
    qtbot.waitUntil(lambda: bool(drawn), timeout=2000)
    assert len(drawn) == 1  # one redraw for the whole burst
    assert stream.text().startswith("word0 word1") and len(stream.text()) == 16_000 * 6
    stream.flush()
    shown = label.text()
    assert len(shown) < SHOWN_CHARS + 100 and shown.endswith("(the whole reply is kept)")
    assert f"{16_000 * 6 - SHOWN_CHARS:,} more characters" in shown
    stream.start()  # a new reply: nothing pending is drawn over it
    stream.add("late")
    stream.start()
    qtbot.wait(120)
    assert label.text() == shown


def test_a_chat_title_tooltip_is_text(sample_desktop, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    window.show_view("chat")
    chat = window.page("chat")
    crafted = '<img src="file:///etc/hostname" width=900><h1>PTP OK</h1>'
    session = ChatSession(title=crafted)
    chat.show_sessions([(session.id, crafted, "noc", 0.0)])
    tooltip = chat.sessions.item(0).toolTip()
    assert tooltip.startswith("<p>&lt;img") and "<h1>" not in tooltip
