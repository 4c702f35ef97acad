"""Layer 2: reads done side by side that end together.

``asyncio.gather`` returns at the first error and leaves the other reads running, owned by no
one: a pods list went on after its inventory had failed, past the app's shutdown. A TaskGroup
stops them, but raises an ExceptionGroup where callers catch one error (a refused read).
``gather_all`` keeps gather's answer and error, and stops and waits for the rest first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


async def gather_all(*reads: Awaitable[Any]) -> list[Any]:
    """Every read's answer, in order; at the first failure the others are cancelled and
    waited for, then that failure is raised. Cancelled itself: every read is cancelled and
    waited for (as gather does)."""
    tasks = [asyncio.ensure_future(r) for r in reads]
    try:
        return await asyncio.gather(*tasks)
    except Exception:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
