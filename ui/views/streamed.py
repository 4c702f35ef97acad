"""A model's reply shown as it streams, without freezing the window.

Each chunk used to re-join everything said so far and lay a word-wrapped label out again: the
cost grew with the square of the reply (16,000 chunks held the UI thread 142 s). Chunks are
now gathered and shown at most every ``EVERY_MS``, and at most ``SHOWN_CHARS`` of a reply are
laid out while it streams (a server may ignore any token limit); the whole reply is kept."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

EVERY_MS = 50
SHOWN_CHARS = 20_000


class StreamedText(QObject):
    """Gathers chunks and calls ``show`` with the text to show, at most every ``EVERY_MS``."""

    def __init__(self, show: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show = show
        self._parts: list[str] = []
        self._size = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(EVERY_MS)
        self._timer.timeout.connect(self.flush)

    def start(self) -> None:
        self._timer.stop()
        self._parts, self._size = [], 0

    def add(self, chunk: str) -> None:
        self._parts.append(chunk)
        self._size += len(chunk)
        if not self._timer.isActive():
            self._timer.start()

    def text(self) -> str:
        """The whole reply so far."""
        return "".join(self._parts)

    def flush(self) -> None:
        """Show what has come (the last chunks, at the end of a reply, at once)."""
        self._timer.stop()
        text = self.text()
        if self._size > SHOWN_CHARS:
            rest = self._size - SHOWN_CHARS
            text = f"{text[:SHOWN_CHARS]}\n… {rest:,} more characters (the whole reply is kept)"
        self._show(text)
