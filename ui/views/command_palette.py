"""Ctrl+K: one box to reach anything by typing a few letters of it: pages, actions, clusters,
nodes, pods, GPUs, PTP ports, alerts and incidents the window knows. Matching is fuzzy (the
letters in order, anywhere; whole words and adjacent letters rank first); Enter runs the
first (or the chosen) entry, the arrows choose, Esc closes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

MAX_SHOWN = 60


@dataclass(frozen=True)
class Command:
    """``kind``: what it is ("Page", "Action", "Cluster", "GPU", "Pod", "Incident", ...)."""

    title: str
    kind: str
    run: Callable[[], object]


def fuzzy_score(query: str, text: str) -> int | None:
    """How well ``query``'s letters match ``text`` in order (higher is better), or None. A
    letter after a word's start or right after the previous match scores more; an exact
    substring scores most."""
    q = query.lower().replace(" ", "")
    t = text.lower()
    if not q:
        return 0
    compact = t.replace(" ", "")
    if q in compact:  # a substring: earlier and in a shorter text is better
        return 1000 - 2 * compact.index(q) - len(compact) // 10
    score, at, previous = 0, 0, -2
    for ch in q:
        found = t.find(ch, at)
        if found < 0:
            return None
        score += 10 if found == previous + 1 else 1
        if found == 0 or not t[found - 1].isalnum():
            score += 5
        previous, at = found, found + 1
    return score


def ranked(query: str, commands: list[Command]) -> list[Command]:
    """Best first: a match in the title, then one that needs the kind's word too."""
    scored = []
    for n, c in enumerate(commands):
        s = fuzzy_score(query, c.title)
        if s is None and (s := fuzzy_score(query, f"{c.kind} {c.title}")) is not None:
            s -= 100
        if s is not None:
            scored.append((-s, n, c))
    return [c for _s, _n, c in sorted(scored)[:MAX_SHOWN]]


class CommandPalette(QDialog):
    def __init__(self, commands: list[Command], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Go to…")
        self.setModal(True)
        self.resize(620, 420)
        self.commands = commands
        layout = QVBoxLayout(self)
        self.query = QLineEdit()
        self.query.setPlaceholderText(
            "Type to find a page, action, cluster, node, pod, GPU, alert or incident"
        )
        self.query.textChanged.connect(self._fill)
        self.query.installEventFilter(self)
        layout.addWidget(self.query)
        self.results = QListWidget()
        self.results.itemActivated.connect(self._run_item)
        layout.addWidget(self.results, 1)
        self._shown: list[Command] = []
        self._fill("")

    def _fill(self, text: str) -> None:
        self._shown = ranked(text, self.commands)
        self.results.clear()
        for c in self._shown:
            self.results.addItem(QListWidgetItem(f"{c.kind}: {c.title}"))
        if self._shown:
            self.results.setCurrentRow(0)

    def run_current(self) -> None:
        row = self.results.currentRow()
        if 0 <= row < len(self._shown):
            chosen = self._shown[row]
            self.accept()
            chosen.run()

    def _run_item(self, item: QListWidgetItem) -> None:
        self.results.setCurrentItem(item)
        self.run_current()

    def eventFilter(self, watched: object, event: object) -> bool:
        """The query box keeps the focus; Up/Down move in the list, Enter runs."""
        if watched is self.query and isinstance(event, QKeyEvent) and event.type() == \
                QKeyEvent.Type.KeyPress:  # fmt: skip
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                row = max(0, min(self.results.count() - 1, self.results.currentRow() + step))
                self.results.setCurrentRow(row)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.run_current()
                return True
        return super().eventFilter(watched, event)  # type: ignore[arg-type]
