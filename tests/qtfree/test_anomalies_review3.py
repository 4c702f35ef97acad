"""An episode's worst point is one everywhere (the list, the chart, what counts now) however
long it outlasts the live buffer; "Analyse the last 24 h" judges all of those 24 h."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.services.intelligence.anomalies import AnomalyService
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore

GPU = {"Hostname": "n1", "gpu": "0"}
NODE = {"instance": "n0"}


class App:
    """The app's anomaly service over a cache folder, wired as Core wires it."""

    def __init__(self, folder: Path) -> None:
        self.db = Database(folder / "cache.sqlite3")
        self.live = LiveBuffers()
        self.series = SeriesStore(self.db)
        self.svc = AnomalyService(AnomalyRepository(self.db), EventBus(), live=self.live,
                                  series=self.series, catalog=load_catalog())  # fmt: skip

    async def store(self, panel: str, labels: dict[str, str], ts: np.ndarray,
                    values: np.ndarray) -> None:  # fmt: skip
        batch = SeriesBatch("east", panel, labels, (ts * 1000).astype(np.int64), values)
        await asyncio.wrap_future(self.series.append([batch]))
        await asyncio.wrap_future(self.series.flush())

    async def poll(self, panel: str, labels: dict[str, str], ts: np.ndarray,
                   values: np.ndarray) -> None:  # fmt: skip
        """As the poller does: stored, then in the live buffer."""
        await self.store(panel, labels, ts, values)
        self.live.append("east", panel, labels, ts, values)

    def close(self) -> None:
        self.svc.close()
        self.db.close()


@pytest_asyncio.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    opened = App(tmp_path)
    yield opened
    opened.close()


def _worst(a: Anomaly) -> tuple[datetime, float]:
    return a.timestamp, a.actual


@pytest.mark.asyncio
async def test_a_rule_episode_longer_than_the_buffer_keeps_its_worst_point(app: App) -> None:
    """A GPU at 79 C for 10 samples, then at 71 C for longer than the 720-sample buffer:
    both HIGH, 79 C the worst. Once 79 C has left the buffer, the chart's marker and what
    counts now (incidents, the fleet) kept whatever was worst in the buffer (71 C, at its
    left edge, moving every round) while the list (the store) kept 79 C."""
    step, n = 15.0, 1240
    ts = time.time() // step * step - n * step + np.arange(n) * step
    temp = np.full(n, 55.0)
    temp[300:310], temp[310:] = 79.0, 71.0
    for a, b in ((0, 400), *((e - 120, e) for e in range(520, n + 1, 120))):
        await app.poll("gpu_temperature", GPU, ts[a:b], temp[a:b])
        await app.svc.analyse_live(force=True)
    worst = (datetime.fromtimestamp(ts[300], UTC), 79.0)
    (listed,) = await app.svc.stored(AnomalyFilter())
    (marker,) = app.svc.for_panel("east", "gpu_temperature")
    (counted,) = await app.svc.current(timedelta(hours=1))
    assert marker.open and counted.open
    assert [_worst(listed), _worst(marker), _worst(counted)] == [worst] * 3
    assert listed.severity is marker.severity is counted.severity is AnomalySeverity.HIGH


@pytest.mark.asyncio
async def test_analysing_the_last_24_h_judges_their_first_hours(app: App) -> None:
    """38 h stored at a 60 s step, a +30 spike 15 h ago: "the last 24 h" read from 24 h ago
    left the detector's first 750 samples (12.5 h) learnt from, never judged, and said "no
    anomaly in the last 24 h". Read with the lead before it, the spike is found, and nothing
    found before the window is reported."""
    now = time.time() // 60 * 60
    ts = now - 60 * np.arange(38 * 60 - 1, -1, -1, dtype=float)
    load = 40 + np.random.default_rng(8).normal(0, 1, ts.size)
    spike = ts.size - 15 * 60
    load[spike : spike + 2] += 30
    await app.store("node_load", NODE, ts, load)
    found = await app.svc.analyse_history("east", "node_load", since=timedelta(hours=24))
    assert any(abs(a.timestamp.timestamp() - ts[spike]) <= 60 for a in found)
    assert all((a.last_at or a.timestamp).timestamp() >= now - 24 * 3600 for a in found)
    assert app.svc.history_judged("east", "node_load") == (0, 0)  # the lead held: all judged


@pytest.mark.asyncio
@pytest.mark.parametrize(("hours", "judged"), [(20.0, (0, 1)), (0.4, (1, 0))])
async def test_a_history_shorter_than_the_lead_says_so(
    app: App, hours: float, judged: tuple[int, int]
) -> None:
    """Stored history that does not reach the lead before "the last 24 h" (20 h: its first
    12.5 h only learnt from) is partly judged; one of 24 samples, judged by none of the
    statistics, too short: as the CLI's analyse and the assistant's tool say."""
    now = time.time() // 60 * 60
    ts = now - 60 * np.arange(int(hours * 60) - 1, -1, -1, dtype=float)
    await app.store("node_load", NODE, ts, 40 + np.random.default_rng(3).normal(0, 1, ts.size))
    await app.svc.analyse_history("east", "node_load", since=timedelta(hours=24))
    assert app.svc.history_judged("east", "node_load") == judged
