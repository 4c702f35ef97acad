"""The polling engine's own state, per cluster and source: when it last answered, how long it
took, its errors and its circuit breaker (the Diagnostics page and the freshness badges)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aiops_desktop.models.base import utcnow
from aiops_desktop.models.text import age_text


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


STALE_AFTER_INTERVALS = 3


class Source:
    HEALTH = "health"
    ALERTS = "alerts"
    METRICS = "metrics"
    LOGS = "logs"
    TRACES = "traces"


@dataclass
class SourceStatus:
    cluster: str
    source: str
    interval_s: float
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    latency_ms: float | None = None
    consecutive_errors: int = 0
    total_errors: int = 0
    polls: int = 0  # attempts since the app started
    last_error: str | None = None
    breaker: BreakerState = BreakerState.CLOSED
    #: why its endpoint does not offer the source (Tempo before 2.4: no TraceQL metrics),
    #: until it is read again: not failing, not waiting for an answer, and not stale
    not_offered: str | None = None
    #: the time a poll of it is given ([poller].timeout_s): an answer may take that long
    timeout_s: float = 0.0

    def age_s(self, now: datetime | None = None) -> float | None:
        if self.last_success is None:
            return None
        return ((now or utcnow()) - self.last_success).total_seconds()

    @property
    def stale_after_s(self) -> float:
        """How old its last answer may get before it is stale: STALE_AFTER_INTERVALS
        intervals, and a poll's time limit on top. An answer is stamped when its poll ends,
        the next poll starts an interval later and answers within the limit: an Alertmanager
        answering every poll in 21 s was 10 s + 21 s old before each answer, over 3 x 10 s,
        judged STALE part of the time with no poll failed."""
        return STALE_AFTER_INTERVALS * self.interval_s + self.timeout_s

    @property
    def answered(self) -> bool:
        """Its last poll answered: read once, and no poll failed since."""
        return self.last_success is not None and not self.consecutive_errors

    @property
    def not_heard_from(self) -> bool:
        """Not polled yet, or still on its first poll: nothing answered and nothing ever
        failed (a poll is counted when it starts: a hung first read is no lost source). One
        whose endpoint does not offer the source was heard from: nothing is coming."""
        failed = self.consecutive_errors or self.total_errors
        return self.last_success is None and not failed and self.not_offered is None

    def seen_stale(self, seen: datetime | None, now: datetime) -> bool:
        """Whether a hub's member ``seen`` then (None: not seen though polled) is stale by
        this, its hub's, status: older than its answer may get (a slow poll's time on top)."""
        return seen is None or (now - seen).total_seconds() > self.stale_after_s

    def stale(self, now: datetime | None = None) -> bool:
        if self.not_offered is not None:
            return False  # nothing to read there: no data is coming, none is late
        age = self.age_s(now)
        return age is None or age > self.stale_after_s


def hub_sample_text(age_s: float | None, whose: str = "the hub's ") -> str:
    """ " · the hub's newest sample 20 min ago" ("" when not known; ``age_s``:
    ``Poller.hub_age_s``): a hub's poll seconds ago, with a member's series in it, may bring
    samples minutes old (ACM pushes every 30-300 s); a member's tile and its dashboard say
    both, a hub's own wall tile "newest sample" (``whose`` "")."""
    return "" if age_s is None else f" · {whose}newest sample {age_text(age_s)}"


@dataclass
class DiagnosticsRow:
    cluster: str
    source: str
    last_success: str
    age: str
    latency_ms: float | None
    errors: int
    consecutive: int
    breaker: str
    last_error: str
    stale: bool
