"""The NOC wall's read model: pages of tiles, each tile with a state in the status palette's
terms (OK, WARNING, CRITICAL, UNKNOWN), a few large lines and the age of its data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

RANK = {"CRITICAL": 0, "WARNING": 1, "UNKNOWN": 2, "OK": 3}
STALE_AFTER_S = 180.0  # live-buffer data older than this is badged stale, at the least
#: the lines a tile has room for under its title: a builder makes no more (the first says
#: the state in a word, and why, so the reason is never the line that is cut)
TILE_LINES = 3


@dataclass
class Tile:
    title: str
    state: str  # OK | WARNING | CRITICAL | UNKNOWN
    lines: list[str]
    age_s: float | None = None  # how old the data shown is
    stale: bool = False
    stale_since: datetime | None = None  # when what went stale was last read (None: never)


@dataclass
class WallPage:
    name: str
    title: str
    tiles: list[Tile] = field(default_factory=list)
    #: what is CRITICAL on the page, shown or counted in its last tile (an alert group's key,
    #: an incident's id): a new one is news, whatever tiles show; None: its CRITICAL tiles'
    #: titles
    critical: frozenset[str] | None = None

    @property
    def worst(self) -> str:
        """The worst tile's state; a page with no tiles knows nothing: UNKNOWN, never OK."""
        return min((t.state for t in self.tiles), key=RANK.__getitem__, default="UNKNOWN")


@dataclass
class WallModel:
    pages: list[WallPage]  # the order to show them in: worst first (else as asked)
    health: str  # the wall's own polling health, for its corner
    at: datetime
    badge: str = ""  # what the data is when it is not live: "SAMPLE DATA", "CAPTURE"


WALL_PAGES = ("fleet", "gpu", "ptp", "incidents", "alerts")
