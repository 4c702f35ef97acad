"""What a crafted log line costs the redaction, as a ratio to a plain line of its length: the
one measure the redaction tests hold every pattern to (a pattern that rescans the rest of the
line from each of its starts costs hundreds of times a plain line's work)."""

from __future__ import annotations

import time

from collectors.llm_redaction import redact_for_llm

#: a crafted line may cost this many times a plain line
MOST_RATIO = 10


def cost(text: str) -> float:
    """The least of three runs of ``redact_for_llm`` (IP addresses hidden: every pattern)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        redact_for_llm(text, ips=True)
        best = min(best, time.perf_counter() - started)
    return best


def repeated(piece: str, size: int) -> str:
    """``piece`` again and again, ``size`` characters."""
    return (piece * (size // len(piece) + 1))[:size]


def ratio(crafted: str) -> float:
    """``crafted``'s cost over a plain line's of its length."""
    return cost(crafted) / cost(repeated("lorem ipsum ", len(crafted)))
