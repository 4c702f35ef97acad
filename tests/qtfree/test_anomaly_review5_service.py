"""Review 5 of the anomaly service: what live detection does not judge is said, not only
logged. #4: the series a full detector set declines (over MAX_SERIES; the scale bench's fleet
has more) are counted per panel (``unjudged``) and said (``shortfalls``), else "No anomaly
found" stood for series nobody looked at. #6: detection moved into the window's process
(its own died) is said (``degraded``), and its detectors kept there are dropped when it moves
back."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.services.intelligence.anomalies import AnomalyService
from aiops_desktop.services.intelligence.detect_worker import RETRY_PROCESS_S
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesStore
from analysis import detect
from analysis.detectors.live import StreamScorers

STEP = 15.0
T0 = 1_700_000_000.0


class App:
    """The app's anomaly service over a cache folder, wired as Core wires it."""

    def __init__(self, folder: Path, *, isolated: bool = False) -> None:
        self.db = Database(folder / "cache.sqlite3")
        self.live = LiveBuffers()
        self.svc = AnomalyService(AnomalyRepository(self.db), EventBus(), live=self.live,
                                  series=SeriesStore(self.db), catalog=load_catalog(),
                                  isolated=isolated)  # fmt: skip

    def poll(self, rounds: int, series: int = 3, samples: int = 40) -> None:
        """``series`` node_load series on "east", the ``rounds``-th batch of ``samples``."""
        ts = T0 + STEP * (rounds * samples + np.arange(samples))
        for i in range(series):
            values = 40 + np.random.default_rng(i).normal(0, 1, samples)
            self.live.append("east", "node_load", {"instance": f"n{i}"}, ts, values)

    def close(self) -> None:
        self.svc.close()
        self.db.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    opened = App(tmp_path)
    yield opened
    opened.close()


@pytest.mark.asyncio
async def test_series_over_the_detectors_limit_are_counted_and_said(app: App) -> None:
    """The detector set full at 2 series (MAX_SERIES's code path): the third is judged by
    nobody's detector, and Diagnostics and the Anomalies page are told so."""
    detect._LIVE_STREAMS[app.svc._owner] = StreamScorers(max_series=2)
    app.poll(0)
    await app.svc.analyse_live(force=True)
    assert app.svc.unjudged == {("east", "node_load"): 1}
    said = ["1 series not judged: over the anomaly detector's limit of 2 series"]
    assert app.svc.shortfalls() == said
    assert app.svc.shortfalls(("east",)) == said
    assert app.svc.shortfalls(("west",)) == []  # another cluster's page: all judged there
    app.poll(1)  # the next round: still over the limit, still one (not one more a round)
    await app.svc.analyse_live(force=True)
    assert app.svc.unjudged == {("east", "node_load"): 1}
    await app.svc.forget_clusters(["east"])  # removed: nothing of it is said any more
    assert app.svc.unjudged == {} and app.svc.shortfalls() == []


@pytest.mark.asyncio
async def test_a_round_that_judges_every_series_clears_the_count(app: App) -> None:
    detect._LIVE_STREAMS[app.svc._owner] = StreamScorers(max_series=2)
    app.poll(0)
    await app.svc.analyse_live(force=True)
    assert app.svc.unjudged
    detect._LIVE_STREAMS[app.svc._owner] = StreamScorers(max_series=3)  # room for all
    app.poll(1)
    await app.svc.analyse_live(force=True)
    assert app.svc.unjudged == {} and app.svc.shortfalls() == []


@pytest.mark.asyncio
async def test_detection_moved_into_the_window_is_said_and_goes_back(tmp_path: Path) -> None:
    """The detection process killed: the round runs in the window's process and says so;
    after the back-off a fresh process runs it again, and the detectors the window's
    process kept meanwhile are dropped (they would hold up to 1 GiB there)."""
    app = App(tmp_path, isolated=True)
    try:
        now = [1000.0]
        app.svc._worker._clock = lambda: now[0]
        app.poll(0)
        await app.svc.analyse_live(force=True)
        assert app.svc.degraded is None and app.svc.shortfalls() == []
        assert app.svc._owner not in detect._LIVE_STREAMS  # kept in the process
        os.kill(await app.svc._worker.run(os.getpid), signal.SIGKILL)
        app.poll(1)
        await app.svc.analyse_live(force=True)
        assert app.svc.degraded is not None
        assert app.svc.shortfalls() == [app.svc.degraded]
        app.poll(2)
        await app.svc.analyse_live(force=True)  # learns again, in the window's process
        assert app.svc._owner in detect._LIVE_STREAMS
        now[0] += RETRY_PROCESS_S
        app.poll(3)
        await app.svc.analyse_live(force=True)  # in a fresh process
        assert app.svc.degraded is None and app.svc.shortfalls() == []
        app.poll(4)
        await app.svc.analyse_live(force=True)
        assert app.svc._owner not in detect._LIVE_STREAMS
    finally:
        app.close()


@pytest.mark.asyncio
async def test_a_failed_rounds_declines_are_not_charged_to_the_next(app: App) -> None:
    """Rounds whose store write fails (a full disk) after detection ran: their declined
    series are theirs, not added up and said of the next round that succeeds."""
    detect._LIVE_STREAMS[app.svc._owner] = StreamScorers(max_series=2)
    real = app.svc.repo.save

    def full(_anomalies: object) -> Future[object]:
        failed: Future[object] = Future()
        failed.set_exception(OSError(28, "No space left on device"))
        return failed

    for r in range(4):
        ts = T0 + STEP * (r * 40 + np.arange(40))
        for g in range(3):  # GPUs at 75 C: the rule's breach, saved each round
            app.live.append("east", "gpu_temperature", {"gpu": str(g)}, ts, np.full(40, 75.0))
        app.svc.repo.save = full if 1 <= r <= 2 else real  # type: ignore[method-assign,assignment]
        await app.svc.analyse_live(force=True)
    assert app.svc.unjudged == {("east", "gpu_temperature"): 1}
