"""Running a presenter's async work as a supervised task, with failures shown to the user."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiops_desktop.services.core import Core

log = logging.getLogger("aiops.ui.tasks")


def spawn_guarded(
    core: Core, name: str, work: Coroutine[Any, Any, None], on_error: Callable[[str], None]
) -> None:
    """Run ``work`` as a supervised task; a failure reaches the user through ``on_error``."""

    async def guarded() -> None:
        try:
            await work
        except Exception as exc:
            log.exception("%s failed", name)
            on_error(f"{name} failed: {exc or type(exc).__name__}")

    core.supervisor.spawn(guarded(), name=name)
