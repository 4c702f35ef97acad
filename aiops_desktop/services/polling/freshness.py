"""Stale data is badged, never blanked: what the last good read said stays shown, with its
age, while the reads that would replace it fail.

``LastGoodRows`` keeps it per part of the fleet (the GPU, PTP and SR-IOV pages): only the rows
of the clusters that could not be read come from an earlier read; every other cluster's rows
are the new read's (a whole answer kept instead let one cluster's failure bring back every
other cluster's old rows, and hide a fresh CRITICAL behind them)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from aiops_desktop.models import utcnow
from aiops_desktop.models.text import age_text, count, time_text

R = TypeVar("R")


@dataclass(frozen=True)
class Aged(Generic[R]):
    """A row as shown: from the newest read, or (``stale``) kept from the read at ``as_of``
    because the part of the fleet it comes from could not be read since."""

    row: R
    as_of: datetime
    stale: bool = False


#: the clusters a badge names by name, at most (a hub gone can take hundreds with it)
BADGE_NAMES = 5


@dataclass
class ShownRows(Generic[R]):
    rows: list[Aged[R]]  # the new read's, then those kept from earlier reads
    problems: list[str]  # what could not be read this time
    #: cluster -> when the oldest of its rows kept from an earlier read was read
    stale: dict[str, datetime] = field(default_factory=dict)

    @property
    def values(self) -> list[R]:
        return [a.row for a in self.rows]

    def badge(self, now: datetime | None = None) -> str:
        """ "" for a clean read; the problems where nothing shown is older than this read;
        else which clusters' rows are older, and how old, then the problems."""
        said = "; ".join(self.problems)
        if not self.stale:
            return said
        now = now or utcnow()
        by_time: dict[datetime, list[str]] = {}
        for name, as_of in self.stale.items():
            by_time.setdefault(as_of, []).append(name)
        parts = []
        for as_of, names in sorted(by_time.items()):
            age = age_text((now - as_of).total_seconds())
            parts.append(f"from {time_text(as_of, seconds=True)} ({age}) for {_names(names)}")
        return "STALE: showing data " + "; ".join(parts) + (f": {said}" if said else "")


def _names(names: list[str]) -> str:
    names = sorted(names)
    if len(names) <= BADGE_NAMES:
        return ", ".join(names)
    shown = ", ".join(names[:BADGE_NAMES])
    return f"{count(len(names), 'cluster')} ({shown} and {len(names) - BADGE_NAMES} more)"


class LastGoodRows(Generic[R]):
    """Each row's last reading, kept per cluster (``where``). A new read's rows are shown as
    they came, whatever failed elsewhere. A row an earlier read gave (by ``key``) and this one
    does not stays shown, stale, with the time it was read, only while ``failed`` says its
    cluster (or the hub that answers for it) could not be read: a row of a cluster read fine
    that is no longer there is gone, and a failure elsewhere never hides a fresh row behind an
    older one.

    Each field has its own query, so a row can come back from a cluster whose read failed in
    part without the field that judged it (a GPU's temperature, a port's clock class), and
    would pass for fresh and fine. ``says_less(new, kept)``: whether ``new`` should not
    replace the kept row while its cluster failed (it reads fine and lacks a field the kept
    one had, or the fleet's own rule, ``services.fleet.findings.kept_stale``, keeps a finding
    of the kept row beside it: ``ui.presenters.gpu_cnf.gpu_kept`` / ``port_kept``); the kept
    row then stays shown, stale: the page and the fleet tell one state."""

    def __init__(
        self,
        key: Callable[[R], Hashable],
        where: Callable[[R], str],
        says_less: Callable[[R, R], bool] | None = None,
    ) -> None:
        self._key = key
        self._where = where
        self._says_less = says_less
        self._kept: list[Aged[R]] = []

    def offer(
        self,
        rows: Sequence[R],
        problems: list[str],
        failed: Callable[[str], bool],
        now: datetime | None = None,
    ) -> ShownRows[R]:
        """``failed(cluster)``: whether that cluster's rows could not all be read this time."""
        now = now or utcnow()
        before = {self._key(a.row): a for a in self._kept} if self._says_less else {}
        fresh: list[Aged[R]] = []
        kept: list[Aged[R]] = []
        for row in rows:
            was = before.get(self._key(row))
            if (was is not None and self._says_less is not None and failed(self._where(row))
                    and self._says_less(row, was.row)):  # fmt: skip
                kept.append(Aged(was.row, was.as_of, True))  # read in part: the whole stands
            else:
                fresh.append(Aged(row, now))
        there = {self._key(row) for row in rows}
        kept += [Aged(a.row, a.as_of, True) for a in self._kept
                 if self._key(a.row) not in there and failed(self._where(a.row))]  # fmt: skip
        stale: dict[str, datetime] = {}
        for a in kept:
            name = self._where(a.row)
            stale[name] = min(a.as_of, stale.get(name, a.as_of))
        self._kept = fresh + kept
        return ShownRows(fresh + kept, list(problems), stale)
