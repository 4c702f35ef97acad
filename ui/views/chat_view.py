"""The Chat page: sessions on the left; the conversation (the person's questions, the model's
replies as they stream, each tool call as a collapsible step with its arguments and result,
tokens and latency under each reply); a question box (Ctrl+Enter sends), Stop and Copy. The
model's words are shown as plain text, never as HTML (a reply can be crafted), and without
controls or bidi overrides (``printable``: a reply quoting a log line could show a command in
another order than Copy gives)."""

from __future__ import annotations

import json
from uuid import UUID

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from aiops_desktop.models.chat import MAX_QUESTION_CHARS, ChatMessage, ChatSession, reply_stats
from aiops_desktop.models.enums import ChatRole
from aiops_desktop.models.text import printable
from ui.theme import Theme
from ui.views.streamed import SHOWN_CHARS, StreamedText, more_text
from ui.views.text import PlainLabel, tip

RESULT_SHOWN_CHARS = 6000
ANSWERING = "The model is answering…"
SHOWN_MESSAGES = 60  # a chat opened draws its last ones: "Show earlier messages" adds more
PART_CHARS = 1500  # a streamed reply's labels hold about this much: only the last one grows


class _Part(PlainLabel):
    """A label that remembers its height for a width until its text or look changes: a
    streamed reply's labels are asked it twice on each redraw (the page's layout, at two
    widths), and a word-wrapped label lays its whole text out to answer."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._heights: dict[int, int] = {}

    def setText(self, text: str) -> None:
        self._heights.clear()
        super().setText(text)

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            if len(self._heights) > 8:  # a window resized by dragging asks many widths
                self._heights.clear()
            height = self._heights[width] = super().heightForWidth(width)
        return height

    def changeEvent(self, event: QEvent) -> None:
        self._heights.clear()  # a font, a style sheet or margins change the height
        super().changeEvent(event)


def bubble(text: str, who: str, label_type: type[PlainLabel] = PlainLabel) -> PlainLabel:
    """A turn's words, as plain text with no control or bidi override: a reply can be crafted."""
    label = label_type(printable(text))
    label.setWordWrap(True)
    label.setProperty("chat", who)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


def _cut(text: str) -> tuple[str, str]:
    """``text`` (over PART_CHARS) as a part of at most PART_CHARS and the rest, cut at a line
    break in its second half, else between words: the break between the two labels stands
    for the character cut at."""
    at = text.rfind("\n", PART_CHARS // 2, PART_CHARS + 1)
    if at < 0:
        at = text.rfind(" ", 1, PART_CHARS + 1)
    if at < 0:
        return text[:PART_CHARS], text[PART_CHARS:]
    return text[:at], text[at + 1 :]


class StreamedReply(QWidget):
    """A reply as it streams: its text in labels of about PART_CHARS, so that a redraw lays
    out only the last one (one word-wrapped label of 20,000 characters took longer to lay out
    again than the 50 ms between redraws); past SHOWN_CHARS only the small count of what is
    not shown changes. Done, it is one label again (``settle``): one layout, and the text
    selectable as a whole."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.parts = [bubble("", "assistant", _Part)]
        self._layout.addWidget(self.parts[0])
        self.more = PlainLabel()
        self.more.setProperty("muted", True)
        self.more.setVisible(False)
        self._layout.addWidget(self.more)
        self._tail = ""  # the last label's text

    def grow(self, new: str, rest: int) -> None:
        """Add ``new`` to what is shown; ``rest``: the characters past SHOWN_CHARS."""
        if new:
            tail = self._tail + printable(new)
            while len(tail) > PART_CHARS:
                done, tail = _cut(tail)
                self.parts[-1].setText(done)
                self.parts.append(bubble("", "assistant", _Part))
                self._layout.insertWidget(len(self.parts) - 1, self.parts[-1])
            self._tail = tail
            self.parts[-1].setText(tail)
        if rest:
            self.more.setText(more_text(rest))
            self.more.setVisible(True)

    def settle(self, text: str) -> None:
        """Show ``text`` (the reply as done, cut as ``_shown`` cuts it) in one label."""
        for widget in (*self.parts[1:], self.more):
            self._layout.removeWidget(widget)
            widget.setParent(None)
            widget.deleteLater()
        del self.parts[1:]
        self.parts[0].setText(printable(text))


class ToolStep(QWidget):
    """One tool call: a header (name, arguments, outcome, time) that opens the details."""

    def __init__(self, name: str, arguments: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name  # as the presenter names it (``show_tool_finished`` finds it so)
        self.arguments = printable(arguments)  # as shown: a model's or a log's words
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 2, 0, 2)
        self.header = QToolButton()
        self.header.setCheckable(True)
        self.header.setArrowType(Qt.ArrowType.RightArrow)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setProperty("role", "toolstep")
        self.header.toggled.connect(self._on_toggled)
        layout.addWidget(self.header)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(180)
        self.details.setVisible(False)
        layout.addWidget(self.details)
        self.result = ""
        self.is_error = False
        self._set_header("running…")
        self.details.setPlainText(f"arguments: {arguments}")

    def _set_header(self, outcome: str) -> None:
        shown = self.arguments if len(self.arguments) <= 80 else self.arguments[:79] + "…"
        self.header.setText(f"Tool {printable(self.name)}({shown}) · {outcome}")

    def finish(self, result: str, is_error: bool, elapsed_ms: float) -> None:
        self.result, self.is_error = result, is_error
        word = "error" if is_error else f"{len(result):,} bytes"
        self._set_header(f"{word} · {elapsed_ms:.0f} ms")
        shown = result if len(result) <= RESULT_SHOWN_CHARS else result[:RESULT_SHOWN_CHARS] + "…"
        shown = printable(shown)
        self.details.setPlainText(f"arguments: {self.arguments}\n\nresult: {shown}")
        self.header.setProperty("status", "error" if is_error else "ok")

    def _on_toggled(self, shown: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.details.setVisible(shown)


class ChatView(QWidget):
    """Signals: sig_ask(str); sig_stop(); sig_new(persona, clusters); sig_open(id);
    sig_delete(id)."""

    sig_ask = Signal(str)
    sig_stop = Signal()
    sig_new = Signal(str, list)
    sig_open = Signal(str)
    sig_delete = Signal(str)

    def __init__(
        self, theme: Theme, personas: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._theme = theme
        self._reply: StreamedReply | None = None
        self._stream = StreamedText(None, self, grow=self._grow_streamed)
        self._steps: list[ToolStep] = []
        # what ``show_session`` drew, so that the same chat shown again after a turn draws
        # only its new messages: the layout's first ``_drawn_widgets`` widgets show the
        # session's messages from ``_first`` to ``_drawn`` (the last of them ``_drawn_last``;
        # those before ``_first`` wait for "Show earlier messages"); its tool steps by call id
        # (a result may come in a later show)
        self._session_id: UUID | None = None
        self._messages: list[ChatMessage] = []
        self._first = 0
        self._drawn = 0
        self._drawn_last: ChatMessage | None = None
        self._drawn_widgets = 0
        self._call_steps: dict[str, ToolStep] = {}
        self._last_answer = ""
        self._busy = False
        self._sending = ""  # the question being handed over: it leaves the box if a turn starts
        self._add_at: int | None = None  # where ``_add`` puts a widget (None: at the end)
        outer = QVBoxLayout(self)
        self.notice = PlainLabel()
        self.notice.setWordWrap(True)
        self.notice.setProperty("role", "warning")
        self.notice.setVisible(False)
        outer.addWidget(self.notice)
        outer.addLayout(self._build_bar(personas))
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._build_sessions())
        split.addWidget(self._build_conversation())
        split.setStretchFactor(1, 1)
        split.setSizes([220, 900])
        outer.addWidget(split, 1)
        send = QShortcut(QKeySequence("Ctrl+Return"), self.question)
        send.activated.connect(self._on_send)

    def _build_bar(self, personas: list[tuple[str, str]]) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.persona = QComboBox()
        for name, title in personas:
            self.persona.addItem(f"{title} ({name})", name)
        self.persona.setToolTip("The persona: its instructions and the tools it may call")
        bar.addWidget(PlainLabel("Persona"))
        bar.addWidget(self.persona)
        self.clusters = QLineEdit()
        self.clusters.setPlaceholderText("clusters in focus, comma-separated (default: all)")
        bar.addWidget(self.clusters, 1)
        self.new_button = QPushButton("New chat")
        self.new_button.clicked.connect(self._on_new)
        bar.addWidget(self.new_button)
        return bar

    def _build_sessions(self) -> QWidget:
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        self.sessions = QListWidget()
        self.sessions.setWordWrap(True)
        self.sessions.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sessions.itemActivated.connect(self._on_session_activated)
        self.sessions.itemClicked.connect(self._on_session_activated)
        side_layout.addWidget(self.sessions, 1)
        self.delete_button = QPushButton("Delete chat")
        self.delete_button.clicked.connect(self._on_delete)
        side_layout.addWidget(self.delete_button)
        return side

    def _build_conversation(self) -> QWidget:
        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        self.title = PlainLabel("New chat")
        self.title.setProperty("role", "heading")
        main_layout.addWidget(self.title)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.transcript = QWidget()
        column = QVBoxLayout(self.transcript)
        self.earlier_button = QPushButton()
        self.earlier_button.setVisible(False)
        self.earlier_button.clicked.connect(self._show_earlier)
        column.addWidget(self.earlier_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.lines = QVBoxLayout()  # the messages: the button above is never one of them
        self.lines.setContentsMargins(0, 0, 0, 0)
        self.lines.addStretch(1)
        column.addLayout(self.lines, 1)
        self.scroll.setWidget(self.transcript)
        main_layout.addWidget(self.scroll, 1)
        self.question = QPlainTextEdit()
        self.question.setPlaceholderText(
            "Ask about the fleet (Ctrl+Enter sends): which GPUs are unhealthy? why is du-2 "
            "out of sync?"
        )
        self.question.setMaximumHeight(90)
        main_layout.addWidget(self.question)
        buttons = QHBoxLayout()
        self.status = PlainLabel()
        self.status.setProperty("muted", True)
        self.status.setWordWrap(True)
        buttons.addWidget(self.status, 1)
        self.copy_button = QPushButton("Copy answer")
        self.copy_button.clicked.connect(self._on_copy)
        self.copy_button.setEnabled(False)  # no answer yet
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.sig_stop.emit)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self._on_send)
        for b in (self.copy_button, self.stop_button, self.send_button):
            buttons.addWidget(b)
        main_layout.addLayout(buttons)
        return main

    # -- what the presenter says ------------------------------------------------------------
    def show_configured(self, why_not: str) -> None:
        self.notice.setText(why_not)
        self.notice.setVisible(bool(why_not))
        self.send_button.setEnabled(not why_not and not self._busy)

    def show_sessions(self, sessions: list[tuple[object, str, str, float]]) -> None:
        self.sessions.clear()
        for session_id, title, persona, _updated in sessions:
            item = QListWidgetItem(f"{title}\n{persona}")
            item.setData(Qt.ItemDataRole.UserRole, str(session_id))
            item.setToolTip(tip(title))  # the question's words: never markup
            self.sessions.addItem(item)

    def show_session(self, session: ChatSession) -> None:
        """Show ``session``: of a chat not shown yet, its last ``SHOWN_MESSAGES`` (drawing
        1,080 messages held the UI thread for 1.6 s), the earlier ones a click away. The chat
        already shown, once more after a turn (the presenter says so after each), keeps what
        was drawn of it: only what the live turn showed goes, for the turn's messages as kept
        (a stop marked, the question as redacted). Drawing the whole of it again held the UI
        thread for seconds after every reply in a long chat."""
        messages = session.messages
        drawn = self._drawn
        kept = (
            session.id == self._session_id
            and drawn <= len(messages)
            and (drawn == 0 or messages[drawn - 1] == self._drawn_last)
        )
        if kept:
            self._drop_live()
        else:
            self._clear()
            drawn = self._first = _window_start(messages, len(messages))
        self._session_id = session.id
        self._messages = messages
        self.title.setText(f"{session.title} · {session.persona.value}"
                           + (f" · {', '.join(session.cluster_context)}"
                              if session.cluster_context else ""))  # fmt: skip
        index = self.persona.findData(session.persona.value)
        if index >= 0:
            self.persona.setCurrentIndex(index)
        new = messages[drawn:]
        self._draw(new)
        # Copy: the last answer of the new messages; of a chat drawn anew, of all of it, drawn
        # or not (its last messages may be stopped turns' tool rounds, the answer before them)
        answer = next((m.content for m in reversed(new if kept else messages)
                       if m.role is ChatRole.ASSISTANT and m.content), None)  # fmt: skip
        if answer is not None:
            self._set_answer(answer)
        self._drawn = len(messages)
        self._drawn_last = messages[-1] if messages else None
        self._drawn_widgets = self.lines.count() - 1  # all but the stretch
        self._say_earlier()

    def _draw(self, messages: list[ChatMessage]) -> None:
        """Add the widgets of ``messages`` where ``_add`` puts them."""
        steps = self._call_steps
        for m in messages:
            if m.role is ChatRole.USER:
                self._bubble(m.content, "user")
            elif m.role is ChatRole.ASSISTANT:
                if m.content:
                    self._bubble(_shown(m.content), "assistant")
                for call in m.tool_calls:
                    shown = call.raw_arguments or _arguments_text(call.arguments)
                    steps[call.id] = self._step(call.name, shown)
                self._footer(m.tokens_completion, m.latency_ms)
            elif m.role is ChatRole.TOOL and m.tool_result is not None:
                r = m.tool_result
                step = steps.get(r.call_id)
                if step is not None:
                    step.finish(r.content, r.is_error, m.latency_ms or 0.0)

    def _show_earlier(self) -> None:
        """Draw the ``SHOWN_MESSAGES`` before those shown, above them; the view stays where
        it is (at the top: the button, then the messages just added)."""
        first = _window_start(self._messages, self._first)
        steps = len(self._steps)
        count = self.lines.count()
        self._add_at = 0
        try:
            self._draw(self._messages[first : self._first])
        finally:
            self._add_at = None
        # their steps first: ``show_tool_finished`` finishes the last running step of a
        # name, a live turn's and never an older one left without a result (a stop)
        self._steps = self._steps[steps:] + self._steps[:steps]
        self._drawn_widgets += self.lines.count() - count
        self._first = first
        self._say_earlier()

    def _say_earlier(self) -> None:
        self.earlier_button.setText(f"Show earlier messages ({self._first:,} not shown)")
        self.earlier_button.setVisible(self._first > 0)

    def show_chunk(self, text: str) -> None:
        if self._reply is None:
            self._stream.start()
            self._reply = StreamedReply()
            self._add(self._reply)
        self._stream.add(text)  # shown at most every 50 ms: see StreamedText

    def _grow_streamed(self, new: str, rest: int) -> None:
        if self._reply is not None:
            self._reply.grow(new, rest)
            self._scroll_to_end()

    def show_tool_started(self, name: str, arguments: str) -> None:
        self._end_reply()
        self._step(name, arguments)

    def show_tool_finished(self, name: str, result: str, is_error: bool, ms: float) -> None:
        for step in reversed(self._steps):
            if step.name == name and not step.result and not step.is_error:
                step.finish(result, is_error, ms)
                break

    def show_reply_done(self, stats: str) -> None:
        if self._reply is not None:
            self._set_answer(self._stream.text())  # done: Copy copies the whole
        self._end_reply()
        if stats:
            self._note(stats)

    def show_busy(self, busy: bool) -> None:
        self._busy = busy
        if busy and self._sending:  # its turn started: the question moves to the chat
            self._bubble(self._sending, "user")
            self.question.clear()
            self._sending = ""
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy and not self.notice.isVisible())
        if busy:
            self.status.setText(ANSWERING)
        elif self.status.text() == ANSWERING:  # what went wrong, or a stop, stays said
            self.status.setText("")
        if not busy:
            self._end_reply()

    def show_error(self, text: str) -> None:
        self.status.setText(text)
        if text:
            self._note(text, role="warning")

    # -- helpers ----------------------------------------------------------------------------
    def _add(self, widget: QWidget) -> None:
        if self._add_at is not None:  # earlier messages, above those shown
            self.lines.insertWidget(self._add_at, widget)
            self._add_at += 1
            return
        self.lines.insertWidget(self.lines.count() - 1, widget)
        self._scroll_to_end()

    def _bubble(self, text: str, who: str) -> PlainLabel:
        label = bubble(text, who)
        self._add(label)
        return label

    def _note(self, text: str, role: str = "muted") -> None:
        label = PlainLabel(text)
        label.setWordWrap(True)
        if role == "muted":
            label.setProperty("muted", True)
        else:
            label.setProperty("role", role)
        self._add(label)

    def _footer(self, tokens: int | None, latency_ms: float | None) -> None:
        stats = reply_stats(tokens, latency_ms)
        if stats:
            self._note(stats)

    def _step(self, name: str, arguments: str) -> ToolStep:
        step = ToolStep(name, arguments)
        self._steps.append(step)
        self._add(step)
        return step

    def _end_reply(self) -> None:
        """The reply streaming (if any) ends: shown whole (as cut) in one label, at once."""
        if self._reply is not None:
            self._reply.settle(_shown(self._stream.text()))
            self._stream.start()  # no pending redraw over it
        self._reply = None

    def _set_answer(self, text: str) -> None:
        self._last_answer = printable(text)  # what is shown: the same characters
        self.copy_button.setEnabled(bool(self._last_answer))

    def _clear(self) -> None:
        self._set_answer("")  # another chat's answer is never this one's
        self._call_steps.clear()
        self._session_id, self._drawn, self._drawn_last = None, 0, None
        self._messages, self._first = [], 0
        self._drawn_widgets = 0
        self._say_earlier()
        self._drop_live()

    def _drop_live(self) -> None:
        """Remove what was shown past the drawn messages (a turn as it streamed, notes)."""
        self._stream.start()  # the reply streaming, if any, goes: no redraw over it
        self._reply = None
        gone: set[QWidget] = set()
        while self.lines.count() > self._drawn_widgets + 1:
            item = self.lines.takeAt(self._drawn_widgets)
            widget = item.widget() if item is not None else None
            if widget is not None:
                gone.add(widget)
                widget.setParent(None)
                widget.deleteLater()
        self._steps = [step for step in self._steps if step not in gone]

    def _scroll_to_end(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    # -- what the person does ---------------------------------------------------------------
    def _on_send(self) -> None:
        text = self.question.toPlainText().strip()
        if not text or self.notice.isVisible():  # the notice says why there is no model
            return
        if self._busy:
            self.status.setText(
                "A reply is still coming: wait for it, or Stop it, then send; your question "
                "stays in the box."
            )
            return
        if len(text) > MAX_QUESTION_CHARS:
            self.status.setText(
                f"The question is {len(text):,} characters: at most {MAX_QUESTION_CHARS:,} "
                "can be sent. Shorten it (it stays in the box) and send again."
            )
            return
        self._end_reply()
        self._sending = text
        try:
            self.sig_ask.emit(text)  # a turn that starts says so at once: see show_busy
        finally:
            self._sending = ""  # refused: it stays in the box, and the presenter says why

    def _on_new(self) -> None:
        clusters = [c.strip() for c in self.clusters.text().split(",") if c.strip()]
        self.sig_new.emit(str(self.persona.currentData()), clusters)

    def _on_session_activated(self, item: QListWidgetItem) -> None:
        self.sig_open.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def _on_delete(self) -> None:
        item = self.sessions.currentItem()
        if item is not None:
            self.sig_delete.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def _on_copy(self) -> None:
        if not self._last_answer:  # what the clipboard holds is the person's: left alone
            self.status.setText("No answer to copy yet.")
            return
        QGuiApplication.clipboard().setText(self._last_answer)
        self.status.setText("Answer copied.")


def _shown(reply: str) -> str:
    """At most ``SHOWN_CHARS`` of a reply, cut as while it streamed (StreamedText.flush): a
    server may ignore any token limit, and a word-wrapped label of megabytes holds the UI
    thread for seconds. The whole reply is kept (Copy answer, the store)."""
    if len(reply) <= SHOWN_CHARS:
        return reply
    return f"{reply[:SHOWN_CHARS]}\n{more_text(len(reply) - SHOWN_CHARS)}"


def _window_start(messages: list[ChatMessage], end: int) -> int:
    """Where the ``SHOWN_MESSAGES`` before ``end`` start: never at a tool result, whose call
    (its step) would not be drawn: the round's call and its results are drawn together."""
    start = max(0, end - SHOWN_MESSAGES)
    while start > 0 and messages[start].role is ChatRole.TOOL:
        start -= 1
    return start


def _arguments_text(arguments: dict[str, object]) -> str:
    return json.dumps(arguments, ensure_ascii=False)
