"""One breach, one anomaly: an episode keeps its identity (its first point) however the
window it is read through moves (the live buffer sliding, a restart's warm-up read, a new
series in the panel, "Analyse 24 h" clicked again), the stored row follows the episode as it
grows and ends, and a small move from a baseline of 0 is not graded HIGH."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import utcnow
from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.services.intelligence import anomalies as service
from aiops_desktop.services.intelligence.anomalies import ANOMALIES_FOUND, AnomalyService
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from analysis.detect import SeriesInput, detect_anomalies
from analysis.detectors.live import StreamScorers

STEP = 15.0
T0 = 1_700_000_000.0
CLOCK = {"node": "n1", "iface": "ens1f0"}


class App:
    """The app's anomaly service over a cache folder, wired as Core wires it."""

    def __init__(self, folder: Path, clock: Callable[[], datetime] | None = None) -> None:
        self.db = Database(folder / "cache.sqlite3")
        self.bus = EventBus()
        self.published: list[Anomaly] = []
        self.bus.subscribe(ANOMALIES_FOUND, self.published.extend)
        self.live = LiveBuffers()
        self.series = SeriesStore(self.db)
        self.svc = AnomalyService(AnomalyRepository(self.db), self.bus, live=self.live,
                                  series=self.series, catalog=load_catalog(),
                                  clock=clock or utcnow)  # fmt: skip

    async def store_history(self, metric: str, labels: dict[str, str], ts: np.ndarray,
                            values: np.ndarray) -> None:  # fmt: skip
        ms = (ts * 1000).astype(np.int64)
        await asyncio.wrap_future(self.series.append([SeriesBatch("east", metric, labels, ms,
                                                                  values)]))  # fmt: skip
        await asyncio.wrap_future(self.series.flush())

    async def stored(self) -> list[Anomaly]:
        return await self.svc.stored(AnomalyFilter())

    def close(self) -> None:
        self.svc.close()
        self.db.close()


@pytest_asyncio.fixture
async def apps(tmp_path: Path) -> AsyncIterator[list[App]]:
    """Sessions of the app over one cache (a restart: a second session), closed at the end."""
    opened: list[App] = []
    yield opened
    for app in opened:
        app.close()


def _open(apps: list[App], folder: Path, **kw: Callable[[], datetime]) -> App:
    if apps:
        apps[-1].close()
        apps.pop()
    apps.append(App(folder, **kw))
    return apps[-1]


def test_a_short_rule_breach_keeps_its_identity_once_the_window_slides_past_its_start() -> None:
    """A clock FREERUN for 10 samples, then LOCKED: the breach lies whole inside the window
    for a while, then the window's first sample falls inside it. Still one anomaly, started
    at its own first sample (not a second one started at the window's)."""
    streams = StreamScorers()
    ts = T0 + np.arange(200) * STEP
    state = np.ones(200)
    state[22:32] = 0.0
    identities = set()
    for end in range(40, 200, 5):  # the app's window moves 5 samples a round
        window = slice(end - 40, end)
        found = detect_anomalies(
            SeriesInput("east", "ptp_clock_state", CLOCK, ts[window], state[window]),
            streams=streams,
        )
        identities |= {a.identity for a in found}
    assert identities == {f"east|ptp_clock_state|iface=ens1f0,node=n1|{ts[22]:.0f}"}


@pytest.mark.asyncio
async def test_a_breach_going_on_over_a_restart_is_the_stored_one(
    tmp_path: Path, apps: list[App]
) -> None:
    """A clock FREERUN from hour 4 on; the app ran hours 5 to 5.5, and is restarted at hour
    14, still FREERUN: its warm-up read starts inside the breach. The restarted app goes on
    with the stored anomaly (no second CRITICAL stored or published)."""
    n = 4 * 60 * 16
    ts = T0 + np.arange(n) * STEP
    state = np.ones(n)
    state[4 * 60 * 4 :] = 0.0
    first = App(tmp_path)
    await first.store_history("ptp_clock_state", CLOCK, ts, state)
    first.close()
    for upto, rounds in ((4 * 60 * 5, 5), (4 * 60 * 14, 3)):
        app = _open(apps, tmp_path)
        app.live.append("east", "ptp_clock_state", CLOCK, ts[upto - 720 : upto],
                        state[upto - 720 : upto])  # fmt: skip
        await app.svc.analyse_live(force=True)
        for r in range(rounds):
            a, b = upto + 4 * r, upto + 4 * (r + 1)
            app.live.append("east", "ptp_clock_state", CLOCK, ts[a:b], state[a:b])
            await app.svc.analyse_live(force=True)
        if upto == 4 * 60 * 14:
            assert app.published == []  # the restart published nothing new
    stored = await apps[-1].stored()
    assert [(a.started_at.timestamp() if a.started_at else None, a.open) for a in stored] == [
        (ts[4 * 60 * 4], True)
    ]
    assert stored[0].last_at is not None and stored[0].last_at.timestamp() == ts[4 * 60 * 14 + 11]


@pytest.mark.asyncio
@pytest.mark.parametrize("judged", [True, False])
async def test_a_restarted_app_reports_nothing_its_last_run_judged(
    tmp_path: Path, apps: list[App], judged: bool
) -> None:
    """The last run judged the panel up to hour 3 and found nothing (here: a rule this
    version adds would have). Restarted, the app reads that hour again (the poller's
    backfill) and learns from it: a breach that ended by hour 3 is not news, one after it
    is. With no mark stored (the first run ever), both are reported."""
    ts = T0 + np.arange(4 * 60 * 4) * STEP
    state = np.ones(ts.size)
    state[540:580] = 0.0  # FREERUN 10 min at hour 2.25: judged by the last run
    state[740:780] = 0.0  # and at hour 3.08, after it
    old = _open(apps, tmp_path)
    await old.store_history("ptp_clock_state", CLOCK, ts[:720], state[:720])
    if judged:
        await asyncio.wrap_future(old.svc.repo.mark_judged([("east", "ptp_clock_state",
                                                             float(ts[719]))]))  # fmt: skip
    app = _open(apps, tmp_path)
    app.live.append("east", "ptp_clock_state", CLOCK, ts[480:800], state[480:800])
    await app.svc.analyse_live(force=True)
    published = sorted(a.started_at.timestamp() for a in app.published if a.started_at)
    assert published == ([ts[740]] if judged else [ts[540], ts[740]])
    assert app.svc.repo.judged_until("east", "ptp_clock_state") == ts[799]  # marked for the next


@pytest.mark.asyncio
async def test_a_removed_cluster_leaves_no_mark(tmp_path: Path, apps: list[App]) -> None:
    """A cluster added again under a removed one's name starts unjudged; marks never go back
    (a second window that judged less does not undo the first's)."""
    repo = _open(apps, tmp_path).svc.repo
    await asyncio.wrap_future(repo.mark_judged([("east", "p", T0), ("west", "p", T0)]))
    await asyncio.wrap_future(repo.mark_judged([("west", "p", T0 - 60)]))
    assert await asyncio.wrap_future(repo.forget_clusters(["east"])) == 0
    assert (repo.judged_until("east", "p"), repo.judged_until("west", "p")) == (None, T0)


@pytest.mark.asyncio
async def test_a_cluster_removed_during_a_round_is_not_marked(
    tmp_path: Path, apps: list[App]
) -> None:
    """Removed while its round runs (its buffers go at once, its marks' delete is queued):
    the round's mark, written after that delete, would hide the first hour of a cluster
    added again under the name."""
    app = _open(apps, tmp_path)
    ts = T0 + np.arange(100) * STEP
    app.live.append("east", "ptp_clock_state", CLOCK, ts, np.ones(100))
    real = app.svc.analyse

    async def removed_meanwhile(inputs: list[SeriesInput], **kw: object) -> list[Anomaly]:
        found = await real(inputs, **kw)  # type: ignore[arg-type]
        if inputs:  # the clock's panel (the others hold no series)
            app.live.drop_cluster("east")  # as Core does on removal
            await asyncio.wrap_future(app.svc.repo.forget_clusters(["east"]))
        return found

    app.svc.analyse = removed_meanwhile  # type: ignore[method-assign]
    await app.svc.analyse_live(force=True)
    assert app.svc.repo.judged_until("east", "ptp_clock_state") is None


@pytest.mark.asyncio
async def test_analysing_24_h_again_finds_the_stored_breach_not_a_new_one(
    tmp_path: Path, apps: list[App]
) -> None:
    """A clock FREERUN for 28 h: each click of "Analyse 24 h" (a minute apart) reads from
    24 h before now, inside the breach. One anomaly stored and published, not one a click."""
    n = 4 * 60 * 30
    ts = T0 + np.arange(n) * STEP
    state = np.zeros(n)
    state[: 4 * 60 * 2] = 1.0
    now = [ts[-1] + 1]
    app = _open(apps, tmp_path, clock=lambda: datetime.fromtimestamp(now[0], UTC))
    await app.store_history("ptp_clock_state", CLOCK, ts, state)
    starts = []
    for _ in range(3):
        found = await app.svc.analyse_history("east", "ptp_clock_state")
        starts += [a.started_at for a in found]
        now[0] += 60
    assert len(set(starts)) == 1 and len(starts) == 3
    assert len(await app.stored()) == 1 and len(app.published) == 1


@pytest.mark.asyncio
async def test_the_stored_anomaly_follows_its_episode_as_it_grows_and_ends(
    tmp_path: Path, apps: list[App]
) -> None:
    """A clock FREERUN for 30 min (120 samples), analysed every minute: the stored anomaly
    (the list, the reports, the CLI) says how long it lasted, not its first round's 4 points."""
    n = 500
    ts = T0 + np.arange(n) * STEP
    state = np.ones(n)
    state[300:420] = 0.0
    app = _open(apps, tmp_path)
    app.live.append("east", "ptp_clock_state", CLOCK, ts[:200], state[:200])
    await app.svc.analyse_live(force=True)
    for end in range(204, n, 4):
        app.live.append("east", "ptp_clock_state", CLOCK, ts[end - 4 : end], state[end - 4 : end])
        await app.svc.analyse_live(force=True)
    (stored,) = await app.stored()
    assert "lasted 120 points" in stored.explanation and not stored.open
    assert stored.last_at is not None and stored.last_at.timestamp() == ts[419]


@pytest.mark.asyncio
async def test_a_new_series_reads_history_for_itself_only(tmp_path: Path, apps: list[App]) -> None:
    """A series appearing in a panel gets the store's history before its buffer; the series
    already followed are not read and judged again over hours of history, and an episode
    of theirs that ended long ago is not cut at that history's first sample and reported
    again."""
    n = 2300
    ts = T0 + np.arange(n) * STEP
    state = np.ones(n)
    state[700:900] = 0.0  # FREERUN 50 min, long ago
    app = _open(apps, tmp_path)
    await app.store_history("ptp_clock_state", CLOCK, ts[:1480], state[:1480])
    app.live.append("east", "ptp_clock_state", CLOCK, ts[1480:2200], state[1480:2200])
    await app.svc.analyse_live(force=True)
    assert len(app.published) == 1
    sizes: list[dict[str, int]] = []
    real = app.svc.analyse

    async def spy(inputs: list[SeriesInput], **kw: object) -> list[Anomaly]:
        sizes.append({i.labels["node"]: i.ts.size for i in inputs})
        return await real(inputs, **kw)  # type: ignore[arg-type]

    app.svc.analyse = spy  # type: ignore[method-assign]
    new = {"node": "n9", "iface": "ens1f0"}
    await app.store_history("ptp_clock_state", new, ts[1480:2200], np.ones(720))
    app.live.append("east", "ptp_clock_state", new, ts[2200:2204], np.ones(4))
    app.live.append("east", "ptp_clock_state", CLOCK, ts[2200:2204], state[2200:2204])
    await app.svc.analyse_live(force=True)
    assert sizes == [{"n1": 720, "n9": 724}]
    assert len(app.published) == 1 and len(await app.stored()) == 1


def test_a_round_with_nothing_open_reads_no_series_steps() -> None:
    """The silent-series check runs on the event loop after every round: with nothing open
    it looks at no series, and with one open it works out that series' step only."""
    at = datetime.fromtimestamp(T0, UTC)
    closed = Anomaly(cluster="east", metric="ptp_clock_state", labels={"node": "a"},
                     method="DOMAIN_RULE", timestamp=at, started_at=at, score=1.0, threshold=1.0,
                     severity="CRITICAL", confidence=1.0, type="THRESHOLD_BREACH", actual=0.0,
                     explanation="PTP clock FREERUN, not LOCKED")  # fmt: skip
    unreadable = np.array([None, None, T0 + 3600], dtype=object)  # a step of these raises
    inputs = [SeriesInput("east", "ptp_clock_state", {"node": "b"}, unreadable, np.ones(3))]
    assert service._silent_ended([closed], inputs) == [closed]
    still = closed.model_copy(update={"open": True})
    ts = T0 + np.arange(60) * STEP
    mine = SeriesInput("east", "ptp_clock_state", {"node": "a"}, ts[:20], np.ones(20))
    assert service._silent_ended([still], [mine, *inputs]) == [still.ended()]


@pytest.mark.parametrize(
    ("metric", "unit", "history"),
    [
        ("error_log_lines", "errors/min", "stray"),
        ("pod_restarts", "restarts", "zero"),
        ("alerts_firing", "alerts", "stray"),
        ("gpu_util", "percent", "zero"),
    ],
)
def test_a_small_move_from_a_baseline_of_0_is_not_high(
    metric: str, unit: str, history: str
) -> None:
    """Errors, restarts, alerts at 0 with a stray 1 now and then (MAD 0, no % change): a 1
    or 2 is no HIGH; nor is an idle GPU's 2 % (2 points from 0 % is a small move)."""
    rng = np.random.default_rng(3)
    n = 2000
    ts = T0 + np.arange(n) * 60.0
    values = (rng.random(n) < 0.02).astype(float) if history == "stray" else np.zeros(n)
    values[1900] = 2.0
    values[1950:1953] = 1.0
    found = detect_anomalies(SeriesInput("east", metric, {"pod": "x"}, ts, values), unit=unit)
    assert found  # still found: new for the series
    assert all(not a.severity.serious for a in found), [(a.severity, a.explanation) for a in found]
    big = values.copy()
    big[1900] = 40.0  # a real move from 0 still is
    found = detect_anomalies(SeriesInput("east", metric, {"pod": "x"}, ts, big), unit=unit)
    assert any(a.severity is AnomalySeverity.HIGH for a in found if a.actual == 40.0)
