"""The task supervisor: every background task is referenced, cancellable and loud on failure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiops_desktop.services.runtime.bus import TASK_FAILED, EventBus

log = logging.getLogger("aiops.services.supervisor")
T = TypeVar("T")


@dataclass(frozen=True)
class TaskFailure:
    name: str
    error: str


class TaskSupervisor:
    def __init__(self, bus: EventBus | None = None) -> None:
        self._bus = bus
        self._tasks: set[asyncio.Task[Any]] = set()
        self.failures: list[TaskFailure] = []
        self._closing = False

    @property
    def running(self) -> int:
        return len(self._tasks)

    def names(self) -> list[str]:
        """The names of the tasks running now (diagnostics and tests)."""
        return sorted(t.get_name() for t in self._tasks)

    def cancel(self, name: str) -> int:
        """Cancel the tasks named ``name`` (how many): the rest run on."""
        named = [t for t in self._tasks if t.get_name() == name]
        for task in named:
            task.cancel()
        return len(named)

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        if self._closing:
            coro.close()
            raise RuntimeError(f"supervisor is shutting down; task {name!r} was not started")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            raise
        task = loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            failure = TaskFailure(task.get_name(), f"{type(exc).__name__}: {exc}")
            self.failures.append(failure)
            log.error(
                "background task %s failed",
                task.get_name(),
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            if self._bus is not None:
                self._bus.publish(TASK_FAILED, failure)

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every task and wait for them to finish."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                log.error("task %s did not stop within %.1fs", task.get_name(), timeout)
