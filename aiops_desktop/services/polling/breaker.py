"""A circuit breaker per endpoint: stop hammering what is down, try again after a pause."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiops_desktop.models.polling import BreakerState


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    reset_after_s: float = 60.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    clock: object = field(default=time.monotonic, repr=False)

    def _now(self) -> float:
        return float(self.clock())  # type: ignore[operator]

    def allow(self) -> bool:
        if self.state is BreakerState.OPEN and self._now() - self.opened_at >= self.reset_after_s:
            self.state = BreakerState.HALF_OPEN  # one trial call
        return self.state is not BreakerState.OPEN

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self.opened_at = self._now()
