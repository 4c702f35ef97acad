"""One time range for a page's panels: the last 15 min ... 7 d (following now), or a fixed
span between two moments (absolute)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiops_desktop.models.text import count, time_text

#: the ranges a page offers, shortest first
PRESETS: dict[str, int] = {"15 min": 900, "1 h": 3600, "6 h": 21600, "24 h": 86400, "7 d": 604800}
#: the longest absolute span a page reads (what the cache keeps as rollups)
LONGEST = timedelta(days=30)
#: a chart holds at most about this many points per series (a range query's step grows with
#: the span: 7 d at 15 s would be 40,320, past Prometheus's 11,000)
MOST_POINTS = 1500
#: how far past now an absolute span may end: another machine's clock a little ahead
SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class TimeRange:
    """``seconds`` back from ``end``; ``end`` None: from now, moving with it."""

    seconds: int = 3600
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError("a time range must be longer than nothing")
        if self.seconds > LONGEST.total_seconds():
            raise ValueError(f"a time range is at most {LONGEST.days} days")
        if self.end is not None and self.end.tzinfo is None:
            raise ValueError("an absolute range's end needs a time zone")

    @classmethod
    def preset(cls, label: str) -> TimeRange:
        return cls(PRESETS[label])

    @classmethod
    def between(
        cls,
        start: datetime,
        end: datetime,
        *,
        now: datetime | None = None,
        kept: timedelta | None = None,
    ) -> TimeRange:
        """The span from ``start`` to ``end``; with ``now``, none that ends after it (beyond
        ``SLACK``): a fixed range is read once, so a span into the future was drawn empty
        and stayed so; with ``kept`` (the cache's retention), none that starts before
        ``now - kept``, where the cache has nothing left. ValueError says which."""
        if end <= start:
            raise ValueError(f"the range ends ({time_text(end)}) before it starts "
                             f"({time_text(start)})")  # fmt: skip
        if now is not None and end > now + SLACK:
            raise ValueError(f"the range ends ({time_text(end)}) after now ({time_text(now)}): "
                             "there is nothing to show there yet")  # fmt: skip
        if now is not None and kept is not None and start < now - kept:
            oldest, back = time_text(now - kept), _days(kept)
            raise ValueError(f"the range starts ({time_text(start)}) before the oldest data "
                             f"the cache keeps ({oldest}, {back} back)")  # fmt: skip
        return cls(math.ceil((end - start).total_seconds()), end.astimezone(UTC))

    @property
    def follows_now(self) -> bool:
        return self.end is None

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        end = self.end or now
        return end - self.window, end

    def step(self, base: timedelta) -> timedelta:
        """A range query's step: ``base``, or longer so the range has at most MOST_POINTS."""
        return max(base, timedelta(seconds=math.ceil(self.seconds / MOST_POINTS)))

    @property
    def label(self) -> str:
        if self.end is None:
            named = {s: label for label, s in PRESETS.items()}
            return named.get(self.seconds, f"last {self.seconds // 60} min")
        start = self.end - self.window
        return f"{time_text(start)} to {time_text(self.end)}"


def _days(span: timedelta) -> str:
    """``span`` as a person says it: "30 days", "48 hours"."""
    if span % timedelta(days=1) == timedelta(0):
        return count(span.days, "day")
    return count(math.ceil(span.total_seconds() / 3600), "hour")
