"""The poller's global slots: how many polls run at once, a small share of them for failing
sources (black-holed endpoints each hold theirs a whole connect timeout or poll limit).

Polls wait in one queue, first come first served; whether a poll is failing is asked when a
slot comes free for it, not when it queued: a site going dark queued its clusters' polls as
healthy ones, and when their health checks failed those polls still took the common slots one
after another, each for a connect timeout, with the healthy clusters' polls behind them. A
failing poll takes a slot and a share's at once, or waits (those behind it that are not failing
go first); it never holds one while it waits for the other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass
class _Waiter:
    failing: Callable[[], bool]
    granted: asyncio.Future[bool]  # its result: whether it took a failing share's slot too


class Slots:
    """``total`` slots, ``failing`` of them (at most) for polls of failing sources."""

    def __init__(self, total: int, failing: int) -> None:
        self.free = total
        self.failing_free = failing
        self._waiting: deque[_Waiter] = deque()  # for a slot, in their order
        #: judged failing when their turn came, with none of the share's slots free: they go
        #: first when one is (those judged since came after them)
        self._parked: deque[_Waiter] = deque()

    @contextlib.asynccontextmanager
    async def slot(self, failing: Callable[[], bool]) -> AsyncIterator[bool]:
        """A slot for the time of the block (whether it is a failing one); ``failing``: whether
        the poll is failing now, asked when its turn comes and a slot is free."""
        waiter = _Waiter(failing, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        self._hand_out()
        try:
            took_failing = await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._give_back(waiter.granted.result())  # granted as it was cancelled
            else:
                for queue in (self._waiting, self._parked):
                    with contextlib.suppress(ValueError):
                        queue.remove(waiter)
            raise
        try:
            yield took_failing
        finally:
            self._give_back(took_failing)

    def _give_back(self, took_failing: bool) -> None:
        self.free += 1
        if took_failing:
            self.failing_free += 1
        self._hand_out()

    def _hand_out(self) -> None:
        """The free slots to the waiters in their order, each judged once, when its turn
        comes: a failing one with none of the share's slots free is parked, and those behind
        it go first."""
        while self.free > 0:
            if self._parked and self.failing_free > 0:
                waiter, failing = self._parked.popleft(), True
            elif self._waiting:
                waiter = self._waiting.popleft()
                if waiter.granted.done():  # (cancelled)
                    continue
                failing = waiter.failing()
                if failing and self.failing_free <= 0:
                    self._parked.append(waiter)
                    continue
            else:
                return
            if waiter.granted.done():  # (cancelled)
                continue
            self.free -= 1
            if failing:
                self.failing_free -= 1
            waiter.granted.set_result(failing)
