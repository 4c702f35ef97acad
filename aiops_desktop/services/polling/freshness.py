"""Stale data is badged, never blanked: the last complete answer of a periodic read stays
shown, with its age, while the reads that would replace it fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from aiops_desktop.models import utcnow
from aiops_desktop.models.text import age_text, time_text

T = TypeVar("T")


@dataclass
class Shown(Generic[T]):
    value: T
    as_of: datetime  # when this answer was read
    stale: bool  # an older answer kept because the newest read failed
    problems: list[str] = field(default_factory=list)

    def badge(self, now: datetime | None = None) -> str:
        """ "" for a fresh, clean answer; else what is wrong and how old the data shown is."""
        if not self.stale:
            return "; ".join(self.problems)
        age = ((now or utcnow()) - self.as_of).total_seconds()
        when = time_text(self.as_of, seconds=True)
        return f"STALE: showing data from {when} ({age_text(age)}): " + "; ".join(self.problems)


class LastGood(Generic[T]):
    """Keeps the last answer read without trouble. A new answer replaces it unless its read
    failed somewhere and it holds fewer rows (``size``) than the kept one: then the kept one
    stays, marked stale, with the reasons."""

    def __init__(self, size: Callable[[T], int]) -> None:
        self._size = size
        self._kept: Shown[T] | None = None

    def offer(self, answer: T, problems: list[str], now: datetime | None = None) -> Shown[T]:
        now = now or utcnow()
        kept = self._kept
        if problems and kept is not None and self._size(answer) < self._size(kept.value):
            return Shown(kept.value, kept.as_of, True, problems)
        self._kept = Shown(answer, now, False)
        return Shown(answer, now, False, problems)
