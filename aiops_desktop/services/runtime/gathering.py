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
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger("aiops.services.gathering")

#: how long the other reads are waited for once one failed or all were cancelled: a request's
#: thread ends within the Kubernetes client's own ENDS_WITHIN_S of its cancel (5 s), an HTTP
#: stream's close at once; a read that swallows its cancel is left, said in the log
ENDS_WITHIN_S = 6.0


async def gather_all(*reads: Awaitable[Any]) -> list[Any]:
    """Every read's answer, in order. At the first failure (an error, a read's own cancel, or
    this call cancelled: a poll's limit) the others are cancelled and waited for, then that
    failure is raised. A second cancel while they end is not held back, and no read is
    waited for longer than ENDS_WITHIN_S (``asyncio.gather`` waits for a cancelled read for
    as long as it takes: one that swallows its cancel held its caller for good)."""
    tasks = [asyncio.ensure_future(r) for r in reads]
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.cancelled() or task.exception() is not None:
                    task.result()  # raised: its error, or its own cancel
        return [task.result() for task in tasks]
    except BaseException:
        for task in tasks:
            if not task.done() and not task.cancelling():  # once: a second cancel cuts its
                task.cancel()  # cleanup short
        ending = [t for t in tasks if not t.done()]
        if ending:  # for ENDS_WITHIN_S at most: a read that swallows its cancel holds no caller
            _, left = await asyncio.wait(ending, timeout=ENDS_WITHIN_S)
            for task in left:
                log.warning("a read did not end within %.0f s of its cancel", ENDS_WITHIN_S,
                            extra={"task": task.get_name()})  # fmt: skip
        for task in tasks:  # their errors are this one's consequences: retrieved, not logged
            if task.done() and not task.cancelled():
                task.exception()
        raise
