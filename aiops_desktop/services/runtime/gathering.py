"""Layer 2: reads done side by side that end together.

``asyncio.gather`` returns at the first error and leaves the other reads running, owned by no
one: a pods list went on after its inventory had failed, past the app's shutdown. Cancelled,
it returns as soon as the first read's cancel lands, the others still ending (an HTTP stream
closing). A TaskGroup waits for them, but raises an ExceptionGroup where callers catch one
error (a refused read). ``gather_all`` keeps gather's answer and error, and stops and waits
for the rest first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


async def gather_all(*reads: Awaitable[Any]) -> list[Any]:
    """Every read's answer, in order. At the first failure (an error, a read's own cancel, or
    this call cancelled: a poll's limit) the others are cancelled and waited for, then that
    failure is raised. A second cancel while they end is not held back."""
    tasks = [asyncio.ensure_future(r) for r in reads]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            if not task.cancelling():  # once: a second cancel would cut its cleanup short
                task.cancel()
        ending = [t for t in tasks if not t.done()]
        if ending:
            await asyncio.wait(ending)
        raise
