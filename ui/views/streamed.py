"""A model's reply shown as it streams, without freezing the window.

Each chunk used to re-join everything said so far and lay a word-wrapped label out again: the
cost grew with the square of the reply (16,000 chunks held the UI thread 142 s). Chunks are
now gathered and shown at most every ``EVERY_MS``, and at most ``SHOWN_CHARS`` of a reply are
laid out while it streams (a server may ignore any token limit); the whole reply is kept.
A view that can add to what it shows (``grow``) is handed only what is new: laying out all of
it again every 50 ms held the UI thread longer than that at 20,000 characters."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

EVERY_MS = 50
SHOWN_CHARS = 20_000


class StreamedText(QObject):
    """Gathers chunks and calls ``show`` with the text to show, at most every ``EVERY_MS``;
    or, given ``grow``, calls it instead with what came since (cut at ``SHOWN_CHARS`` of the
    reply: "" past them) and how many characters are past them."""

    def __init__(
        self,
        show: Callable[[str], None] | None,
        parent: QObject | None = None,
        *,
        grow: Callable[[str, int], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._show = show
        self._grow = grow
        self._parts: list[str] = []
        self._size = 0
        self._handed = 0  # the parts handed to ``grow``
        self._grown = 0  # the characters handed to ``grow``
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(EVERY_MS)
        self._timer.timeout.connect(self.flush)

    def start(self) -> None:
        self._timer.stop()
        self._parts, self._size, self._handed, self._grown = [], 0, 0, 0

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
        if self._grow is not None:
            new = "".join(self._parts[self._handed :])[: max(SHOWN_CHARS - self._grown, 0)]
            self._handed, self._grown = len(self._parts), self._grown + len(new)
            self._grow(new, max(self._size - SHOWN_CHARS, 0))
            return
        text = self.text()
        if self._size > SHOWN_CHARS:
            rest = self._size - SHOWN_CHARS
            text = f"{text[:SHOWN_CHARS]}\n{more_text(rest)}"
        if self._show is not None:
            self._show(text)


def more_text(rest: int) -> str:
    """What says that ``rest`` characters of a reply are not shown."""
    return f"… {rest:,} more characters (the whole reply is kept)"
