"""The live anomaly path over an episode's whole life: a cluster removed while its round runs
keeps nothing of that round; an episode stored open is closed once nothing says it goes on;
live rounds and one batch group breaches into the same episodes; an episode never gets less
severe while it lasts; and a rule's breach is never graded below an excursion inside the
rule's limits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import utcnow
from aiops_desktop.models.anomalies import RELATED_KEPT, Anomaly, AnomalyFilter
from aiops_desktop.models.enums import AlertSeverity, AnomalyMethod, AnomalySeverity, Sensitivity
from aiops_desktop.services.intelligence.anomalies import ANOMALIES_FOUND, AnomalyService
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import ALERTS_CHANGED
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from analysis import incidents
from analysis.detect import SeriesInput, detect_anomalies
from analysis.detectors.live import StreamScorers
from tests.qtfree.test_anomaly_related_alerts import alert as _alert

STEP = 15.0
T0 = 1_700_000_000.0
CLOCK = {"node": "n1", "iface": "ens1f0"}


class App:
    """The app's anomaly service over a cache folder, wired as Core wires it."""

    def __init__(self, folder: Path) -> None:
        self.db = Database(folder / "cache.sqlite3")
        self.bus = EventBus()
        self.published: list[Anomaly] = []
        self.bus.subscribe(ANOMALIES_FOUND, self.published.extend)
        self.live = LiveBuffers()
        self.series = SeriesStore(self.db)
        self.repo = AnomalyRepository(self.db)
        self.svc = AnomalyService(self.repo, self.bus, live=self.live, series=self.series,
                                  catalog=load_catalog())  # fmt: skip

    async def store_history(self, metric: str, labels: dict[str, str], ts: np.ndarray,
                            values: np.ndarray) -> None:  # fmt: skip
        ms = (ts * 1000).astype(np.int64)
        await asyncio.wrap_future(self.series.append([SeriesBatch("east", metric, labels, ms,
                                                                  values)]))  # fmt: skip
        await asyncio.wrap_future(self.series.flush())

    async def stored(self, **kw: Any) -> list[Anomaly]:
        return await self.svc.stored(AnomalyFilter(**kw))

    def close(self) -> None:
        self.svc.close()
        self.db.close()


@pytest_asyncio.fixture
async def apps() -> AsyncIterator[list[App]]:
    """Sessions of the app (over one cache or several), closed at the end."""
    opened: list[App] = []
    yield opened
    for app in opened:
        app.close()


def _open(apps: list[App], folder: Path) -> App:
    """A new session over ``folder``'s cache (the one before it closed: a restart)."""
    if apps:
        apps.pop().close()
    apps.append(App(folder))
    return apps[-1]


# -- #3: a cluster removed during a detection round -------------------------------------------


def _remove_during_round(app: App, *, forget_first: bool) -> None:
    """Remove "east" while its clock panel's detection runs in the worker, as Core does
    (its buffers dropped at once, the anomalies' delete queued, the service's forgetting
    spawned). ``forget_first``: the spawned forgetting runs before the round resumes; else
    the round resumes first (the worker had answered before the removal was handled)."""
    real = app.svc._worker.run

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        out = await real(fn, *args)
        called = getattr(fn, "func", fn)  # detect_all, or a partial of it (the XID table)
        if getattr(called, "__name__", "") == "detect_all" and any(
            i.cluster == "east" and i.metric == "ptp_clock_state" for i in args[0]
        ):
            app.live.drop_cluster("east")
            deleted = app.repo.forget_clusters(["east"])
            task = asyncio.get_running_loop().create_task(app.svc.forget_clusters(["east"]))
            tasks.append(task)
            if forget_first:
                await asyncio.wrap_future(deleted)
                await task
        return out

    tasks: list[asyncio.Task[None]] = []
    app.svc._worker.run = run  # type: ignore[method-assign]


@pytest.mark.asyncio
@pytest.mark.parametrize("forget_first", [True, False])
async def test_a_cluster_removed_during_its_round_keeps_nothing_of_it(
    tmp_path: Path, apps: list[App], forget_first: bool
) -> None:
    """The round found the removed cluster's clock FREERUN: nothing of it is stored after
    the removal's delete, published, or marked on a chart; a cluster added again under the
    name inherits none of it."""
    app = _open(apps, tmp_path)
    ts = T0 + np.arange(100) * STEP
    state = np.ones(100)
    state[50:60] = 0.0  # FREERUN for 10 samples
    app.live.append("east", "ptp_clock_state", CLOCK, ts, state)
    _remove_during_round(app, forget_first=forget_first)
    await app.svc.analyse_live(force=True)
    await asyncio.sleep(0.05)  # the spawned forgetting, where it runs after the round
    await asyncio.wrap_future(app.db.write(lambda _conn: None))  # every queued write done
    assert await app.stored() == []
    assert app.published == []
    assert app.svc.for_panel("east", "ptp_clock_state") == []
    assert app.svc.still_open() == []
    # a cluster added again under the name: its clock LOCKED, nothing of the removed one's
    del app.svc._worker.run  # the worker as it is (no removal this round)
    later = T0 + 3600 + np.arange(100) * STEP
    app.live.append("east", "ptp_clock_state", CLOCK, later, np.ones(100))
    await app.svc.analyse_live(force=True)
    assert await app.stored() == [] and app.svc.for_panel("east", "ptp_clock_state") == []


# -- #1: an episode stored open, never closed ------------------------------------------------


async def _round(app: App, ts: np.ndarray, state: np.ndarray) -> None:
    """The poller's samples stored and buffered, then one live round."""
    await app.store_history("ptp_clock_state", CLOCK, ts, state)
    app.live.append("east", "ptp_clock_state", CLOCK, ts, state)
    await app.svc.analyse_live(force=True)


async def _left_open(apps: list[App], folder: Path) -> Anomaly:
    """A first session: the clock goes FREERUN near its end, and the app is closed while
    it is (the episode stored open)."""
    ts = T0 + np.arange(400) * STEP
    state = np.ones(400)
    state[380:] = 0.0
    await _round(_open(apps, folder), ts, state)
    (row,) = await apps[-1].stored()
    assert row.open and row.last_at is not None and row.last_at.timestamp() == ts[-1]
    return row


@pytest.mark.asyncio
async def test_an_episode_left_open_is_ended_by_a_later_read_that_does_not_find_it(
    tmp_path: Path, apps: list[App]
) -> None:
    """Three days later the clock is LOCKED the whole time: the stored episode is ended at
    its last point (the list, a capture of this cache and the purge no longer take it for
    going on)."""
    was = await _left_open(apps, tmp_path)
    app = _open(apps, tmp_path)
    await _round(app, T0 + 3 * 86400 + np.arange(400) * STEP, np.ones(400))
    (row,) = await app.stored()
    assert (row.identity, row.open, row.last_at) == (was.identity, False, was.last_at)
    assert "still open" not in row.explanation
    assert await app.stored(open_only=True) == [] and app.published == []


@pytest.mark.asyncio
async def test_a_new_breach_long_after_an_episode_left_open_is_a_new_anomaly(
    tmp_path: Path, apps: list[App]
) -> None:
    """A week later the clock is FREERUN again from before the read: a new anomaly, stored
    and published, not the old one grown by a week; the old one ended."""
    was = await _left_open(apps, tmp_path)
    app = _open(apps, tmp_path)
    later = T0 + 7 * 86400 + np.arange(400) * STEP
    await _round(app, later, np.zeros(400))
    assert [a.started_at.timestamp() for a in app.published if a.started_at] == [later[0]]
    rows = {a.identity: a for a in await app.stored()}
    assert len(rows) == 2 and not rows[was.identity].open
    assert rows[was.identity].explanation == was.ended().explanation  # not "lasted 40340"


def test_an_open_episode_whose_last_point_is_past_retention_is_purged(tmp_path: Path) -> None:
    """Open, but its last point found is older than the retention: nothing has said it goes
    on since; one open whose last point is recent stays, however old its worst point."""
    now = datetime.fromtimestamp(T0 + 60 * 86400, UTC)

    def row(metric: str, start: datetime, last: datetime) -> Anomaly:
        return Anomaly(cluster="east", metric=metric, labels=CLOCK, method="DOMAIN_RULE",
                       timestamp=start, started_at=start, last_at=last, score=4.0,
                       threshold=2.5, severity="CRITICAL", confidence=1.0,
                       type="THRESHOLD_BREACH", actual=0.0, open=True,
                       explanation="PTP clock FREERUN, not LOCKED")  # fmt: skip

    db = Database(tmp_path / "cache.sqlite3")
    try:
        repo = AnomalyRepository(db)
        old = now - timedelta(days=40)
        repo.save([row("stale", old, old + timedelta(hours=1)), row("going", old, now)]).result()
        assert repo.purge_before((now - timedelta(days=30)).timestamp()).result() == 1
        assert [a.metric for a in repo.list()] == ["going"]
    finally:
        db.close()


# -- #6: live rounds and one batch find the same episodes ------------------------------------


def _ramp(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise, then a slow ramp away from it: breaches a sample or two apart at its start."""
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(1600) * STEP
    values = 50 + rng.normal(0, 1, ts.size)
    values[1300:] += np.linspace(0, 30, ts.size - 1300)
    return ts, values


@pytest.mark.parametrize(
    ("seed", "sensitivity", "chunk"),
    [(2, "EXTREME", 4), (12, "HIGH", 4), (2, "EXTREME", 1), (12, "HIGH", 5)],
)
def test_live_rounds_group_breaches_into_the_batchs_episodes(
    seed: int, sensitivity: str, chunk: int
) -> None:
    """Breaches up to EPISODE_GAP samples apart are one episode in one batch; live, with a
    round's boundary between them (a round of one sample: rounds that find nothing between
    them), they are the same one episode, not two anomalies."""
    sens = Sensitivity[sensitivity]
    ts, values = _ramp(seed)
    batch = detect_anomalies(SeriesInput("c", "node_load", {"n": "1"}, ts, values),
                             sensitivity=sens)  # fmt: skip
    streams = StreamScorers()
    live: dict[str, Anomaly] = {}
    for end in range(chunk, ts.size + 1, chunk):
        window = slice(max(0, end - 720), end)
        for a in detect_anomalies(
            SeriesInput("c", "node_load", {"n": "1"}, ts[window], values[window]),
            sensitivity=sens, streams=streams,
        ):  # fmt: skip
            live[a.identity] = a
    assert sorted(live) == sorted(a.identity for a in batch)
    assert {a.identity: a.last_at for a in batch} == {k: a.last_at for k, a in live.items()}


# -- #4: an episode never gets less severe while it lasts ------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("restart", [False, True])
async def test_a_critical_episode_stays_critical_once_its_worst_part_leaves_the_buffer(
    tmp_path: Path, apps: list[App], restart: bool
) -> None:
    """A GPU at 85 C (CRITICAL by rule) for 15 minutes, then at 75 C for longer than the
    720-sample buffer: the list, what counts now (incidents, the fleet) and the chart mark
    the same episode CRITICAL, with its 85 C reason, also after a restart."""
    n = 1400
    ts = utcnow().timestamp() - n * STEP + np.arange(n) * STEP
    temp = np.full(n, 55.0)
    temp[300:360] = 85.0
    temp[360:] = 75.0
    labels = {"Hostname": "n1", "gpu": "0"}
    app = _open(apps, tmp_path)
    await app.store_history("gpu_temperature", labels, ts, temp)
    app.live.append("east", "gpu_temperature", labels, ts[:400], temp[:400])
    await app.svc.analyse_live(force=True)
    for end in range(440, n + 1, 40):
        if restart and end == 1200:  # the 85 C part left the buffer: a new session
            app = _open(apps, tmp_path)
            app.live.append("east", "gpu_temperature", labels, ts[end - 720 : end],
                            temp[end - 720 : end])  # fmt: skip
        else:
            app.live.append("east", "gpu_temperature", labels, ts[end - 40 : end],
                            temp[end - 40 : end])  # fmt: skip
        await app.svc.analyse_live(force=True)
    (row,) = await app.stored()
    now = await app.svc.current(timedelta(hours=1))
    marks = app.svc.for_panel("east", "gpu_temperature")
    for a in (row, *now, *marks):
        assert a.identity == row.identity
        assert (a.severity, a.actual) == (AnomalySeverity.CRITICAL, 85.0), a.explanation
        assert a.explanation.startswith("GPU at 85 C, critical") and a.open
    assert len(now) == len(marks) == 1


def test_the_store_keeps_an_episodes_most_severe_finding(tmp_path: Path) -> None:
    """A later finding of an episode with a higher score but a lower grade (a bigger z of a
    smaller move, capped by it) does not replace its stored worse one; it only extends it.
    A more severe one replaces it, whatever its score."""
    start = datetime.fromtimestamp(T0, UTC)

    def finding(score: float, severity: str, minutes: int, deviation: float) -> Anomaly:
        return Anomaly(cluster="east", metric="node_load", labels={"n": "1"}, method="CONTEXT",
                       timestamp=start + timedelta(minutes=minutes), started_at=start,
                       last_at=start + timedelta(minutes=minutes), score=score, threshold=2.5,
                       severity=severity, confidence=1.0, type="SPIKE", actual=1.0,
                       deviation_pct=deviation, explanation=f"{severity} finding")  # fmt: skip

    db = Database(tmp_path / "cache.sqlite3")
    try:
        repo = AnomalyRepository(db)
        repo.save([finding(4.0, "HIGH", 0, 40.0)]).result()
        repo.save([finding(6.0, "LOW", 5, 3.0)]).result()
        (row,) = repo.list()
        assert (row.severity.value, row.score) == ("HIGH", 4.0)
        assert row.last_at == start + timedelta(minutes=5)
        repo.save([finding(5.0, "HIGH", 6, 40.0)]).result()  # as severe, a higher score
        assert repo.list()[0].score == 5.0
    finally:
        db.close()


# -- #2: a rule's breach is graded above any excursion inside the rule's limits ---------------


def _graded(metric: str, unit: str, values: np.ndarray, labels: dict[str, str]) -> list[Anomaly]:
    """What the live path finds, a round of 40 samples at a time over a 720-sample buffer."""
    ts = T0 + np.arange(values.size) * STEP
    streams = StreamScorers()
    seen: dict[str, Anomaly] = {}
    for end in range(720, values.size + 1, 40):
        window = slice(end - 720, end)
        for a in detect_anomalies(SeriesInput("c", metric, labels, ts[window], values[window]),
                                  unit=unit, streams=streams):  # fmt: skip
            seen[a.identity] = a
    return sorted(seen.values(), key=lambda a: a.timestamp)


def test_a_ptp_offset_rule_breach_outranks_an_in_spec_excursion() -> None:
    """A locked port a few ns either side of 0: +60 ns (inside +/-100 ns) was HIGH by the
    detector (a move from a median of 0 has no percentage to cap it) while a real +150 ns
    breach of the rule was LOW; the breach is HIGH, the excursion at most MEDIUM."""
    rng = np.random.default_rng(3)
    offset = np.round(rng.normal(0, 3, 4000))
    offset[2500] = 60.0
    offset[3500] = 150.0
    found = _graded("ptp_offset", "ns", offset, CLOCK)
    (breach,) = [a for a in found if a.actual == 150.0]
    inside = [a for a in found if abs(a.actual) <= 100]
    assert breach.severity is AnomalySeverity.HIGH and "beyond +/-100 ns" in breach.explanation
    assert any(a.actual == 60.0 for a in inside)
    assert all(a.severity.rank >= AnomalySeverity.MEDIUM.rank for a in inside), [
        (a.actual, a.severity) for a in inside
    ]


def test_a_gpu_temperature_warning_breach_outranks_a_warm_gpu() -> None:
    """65 C (inside the 70 C warning limit) was HIGH by the detector, 74 C (past it) MEDIUM
    by the rule: the warning breach is HIGH, the warm GPU at most MEDIUM, and 85 C (past
    the critical limit) stays CRITICAL."""
    rng = np.random.default_rng(3)
    temp = np.round(45 + rng.normal(0, 1, 4000))
    temp[2500:2504] = 65.0
    temp[3000:3004] = 74.0
    temp[3500:3504] = 85.0
    found = {a.actual: a for a in _graded("gpu_temperature", "C", temp, {"gpu": "0"})}
    assert found[74.0].severity is AnomalySeverity.HIGH
    assert found[85.0].severity is AnomalySeverity.CRITICAL
    assert found[65.0].severity.rank >= AnomalySeverity.MEDIUM.rank
    assert all(a.severity.rank >= AnomalySeverity.MEDIUM.rank for v, a in found.items() if v < 70)


def test_a_classic_methods_in_spec_excursion_is_capped_too() -> None:
    """The cap holds for the methods a caller asks for (a z-score of +60 ns from a median of
    0 is far past HIGH's ratio), and such a finding is a valid anomaly (stored, read back)."""
    rng = np.random.default_rng(3)
    offset = np.round(rng.normal(0, 3, 600))
    offset[500] = 60.0
    offset[550] = 150.0
    ts = T0 + np.arange(offset.size) * STEP
    found = detect_anomalies(SeriesInput("c", "ptp_offset", CLOCK, ts, offset), unit="ns",
                             methods=[AnomalyMethod.DOMAIN_RULE, AnomalyMethod.ZSCORE])  # fmt: skip
    graded = {a.actual: a for a in found}
    assert graded[60.0].method is AnomalyMethod.ZSCORE
    assert graded[60.0].severity is AnomalySeverity.MEDIUM
    assert graded[150.0].severity is AnomalySeverity.HIGH
    assert Anomaly.model_validate_json(graded[60.0].model_dump_json()) == graded[60.0]


# -- related alerts (PRODUCT.md section 5) ------------------------------------------------


@pytest.mark.asyncio
async def test_the_live_path_names_the_alerts_firing_with_an_episode_and_keeps_them(
    tmp_path: Path, apps: list[App]
) -> None:
    """The clock goes FREERUN; the PTP alert fires minutes later on the same port's node: the
    stored episode names it as it goes on, and the list shows it."""
    app = _open(apps, tmp_path)
    ts = T0 + np.arange(400) * STEP
    state = np.ones(400)
    state[380:] = 0.0
    await _round(app, ts, state)
    (row,) = await app.stored()
    assert row.related_alerts == []
    fired = datetime.fromtimestamp(ts[385], UTC)
    app.bus.publish(ALERTS_CHANGED, {"east": [
        _alert("PtpClockFreerun", {"node": "n1", "iface": "ens1f0"}, starts=fired,
              severity=AlertSeverity.CRITICAL),
        _alert("Watchdog", {}, starts=fired, severity=AlertSeverity.INFO),
    ]})  # fmt: skip
    more = T0 + np.arange(400, 420) * STEP
    await _round(app, more, np.zeros(20))
    (row,) = await app.stored()
    assert row.open and row.related_alerts == ["PtpClockFreerun"]
    assert row.described.endswith("; alerts firing with it: PtpClockFreerun")
    assert row.labels == CLOCK


# -- review of the above: related alerts kept when found worse; the in-limit cap and the
# -- grades of rule breaches ------------------------------------------------------------------


def _finding(severity: str, score: float, related: list[str], minutes: int) -> Anomaly:
    start = datetime.fromtimestamp(T0, UTC)
    return Anomaly(cluster="east", metric="node_load1", labels={"instance": "w1:9100"},
                   method="DOMAIN_RULE", timestamp=start + timedelta(minutes=minutes),
                   started_at=start, last_at=start + timedelta(minutes=minutes), score=score,
                   threshold=2.5, severity=severity, confidence=1.0, type="THRESHOLD_BREACH",
                   actual=9.0, explanation="x", related_alerts=related)  # fmt: skip


def test_the_store_keeps_an_episodes_related_alerts_when_it_is_found_worse(
    tmp_path: Path,
) -> None:
    """A round names the alert firing with an episode; the alert resolves, and a later round
    finds the episode worse (naming what fires then): the stored episode names both, the
    earlier first, at most RELATED_KEPT."""
    db = Database(tmp_path / "cache.sqlite3")
    try:
        repo = AnomalyRepository(db)
        repo.save([_finding("MEDIUM", 6.0, ["NodeHighLoad"], 1)]).result()
        repo.save([_finding("HIGH", 9.0, [], 2)]).result()
        (row,) = repo.list()
        assert (row.severity, row.related_alerts) == (AnomalySeverity.HIGH, ["NodeHighLoad"])
        repo.save([_finding("CRITICAL", 9.0, ["NodeDown", "NodeHighLoad"], 3)]).result()
        (row,) = repo.list()
        assert (row.severity, row.related_alerts) == (
            AnomalySeverity.CRITICAL, ["NodeHighLoad", "NodeDown"]
        )  # fmt: skip
        many = [f"A{i:02d}" for i in range(RELATED_KEPT)]
        repo.save([_finding("CRITICAL", 12.0, many, 4)]).result()
        (row,) = repo.list()
        assert row.related_alerts == ["NodeHighLoad", "NodeDown", *many][:RELATED_KEPT]
    finally:
        db.close()


@pytest.mark.asyncio
async def test_the_live_path_keeps_an_episodes_related_alerts_when_it_is_found_worse(
    tmp_path: Path, apps: list[App]
) -> None:
    """A GPU past its 70 C warning (HIGH) while its alert fires; the alert resolves and the
    GPU goes on to 85 C (CRITICAL): the episode names the alert in the store, in what counts
    now and on the chart."""
    app = _open(apps, tmp_path)
    labels = {"Hostname": "n1", "gpu": "0"}
    ts = T0 + np.arange(420) * STEP
    temp = np.full(420, 55.0)
    temp[380:400] = 74.0
    temp[400:] = 85.0
    app.bus.publish(ALERTS_CHANGED, {"east": [
        _alert("GpuTempWarning", labels, starts=datetime.fromtimestamp(ts[382], UTC)),
    ]})  # fmt: skip
    for part in (slice(0, 400), slice(400, 420)):
        await app.store_history("gpu_temperature", labels, ts[part], temp[part])
        app.live.append("east", "gpu_temperature", labels, ts[part], temp[part])
        await app.svc.analyse_live(force=True)
        (row,) = await app.stored()
        assert row.related_alerts == ["GpuTempWarning"], row
        app.bus.publish(ALERTS_CHANGED, {"east": []})  # resolved after the first round
    assert row.severity is AnomalySeverity.CRITICAL and row.actual == 85.0
    now = await app.svc.current(timedelta(days=9999))
    marks = app.svc.for_panel("east", "gpu_temperature")
    assert [a.related_alerts for a in (*now, *marks)] == [["GpuTempWarning"]] * 2


def test_an_excursion_is_capped_only_where_the_rule_judged_it() -> None:
    """``--methods MAD`` on a PTP offset runs no rule: +5000 ns (50x past +/-100 ns) is not
    'inside the rule's limits' and keeps its HIGH; with the rule it is the rule's breach."""
    rng = np.random.default_rng(1)
    ts = T0 + np.arange(300) * STEP
    offset = rng.normal(0, 10, 300)
    offset[250:256] = 5000.0
    series = SeriesInput("c", "openshift_ptp_offset_ns", {"iface": "ens1f0"}, ts, offset)
    (alone,) = detect_anomalies(series, methods=[AnomalyMethod.MAD])
    assert (alone.method, alone.severity) == (AnomalyMethod.MAD, AnomalySeverity.HIGH)
    (ruled,) = detect_anomalies(series, methods=[AnomalyMethod.MAD, AnomalyMethod.DOMAIN_RULE])
    assert (ruled.method, ruled.severity) == (AnomalyMethod.DOMAIN_RULE, AnomalySeverity.HIGH)


@pytest.mark.parametrize(
    ("metric", "after", "grade"),
    [
        # corrected errors growing: routine on a big fleet ("corrected; watch growth")
        ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", 1.0, AnomalySeverity.MEDIUM),
        ("DCGM_FI_DEV_ECC_SBE_AGG_TOTAL", 3.0, AnomalySeverity.MEDIUM),
        ("DCGM_FI_DEV_RETIRED_SBE", 1.0, AnomalySeverity.MEDIUM),
        # uncorrectable: past a warning limit
        ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", 1.0, AnomalySeverity.HIGH),
        ("DCGM_FI_DEV_ROW_REMAP_FAILURE", 1.0, AnomalySeverity.HIGH),
        # past a critical limit
        ("DCGM_FI_DEV_XID_ERRORS", 79.0, AnomalySeverity.CRITICAL),
        ("openshift_ptp_clock_state", 0.0, AnomalySeverity.CRITICAL),
        ("gpu_temperature", 85.0, AnomalySeverity.CRITICAL),
        # past a warning limit, however little
        ("gpu_temperature", 71.0, AnomalySeverity.HIGH),
        ("openshift_ptp_offset_ns", 101.0, AnomalySeverity.HIGH),
    ],
)
def test_a_rule_breach_carries_its_own_grade(
    metric: str, after: float, grade: AnomalySeverity
) -> None:
    """A corrected single-bit ECC error is not graded as an uncorrectable double-bit one:
    each rule says how bad its breach is."""
    ts = T0 + np.arange(60) * STEP
    values = np.full(60, 1.0 if "clock_state" in metric else 50.0 if "temp" in metric else 0.0)
    values[30:] = after
    found = detect_anomalies(SeriesInput("c", metric, {"gpu": "0"}, ts, values),
                             methods=[AnomalyMethod.DOMAIN_RULE])  # fmt: skip
    assert [(a.method, a.severity) for a in found] == [(AnomalyMethod.DOMAIN_RULE, grade)], [
        a.explanation for a in found
    ]


@pytest.mark.asyncio
async def test_related_alerts_are_matched_off_the_loop_each_alert_placed_once(
    tmp_path: Path, apps: list[App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round that finds many anomalies on a cluster firing many alerts: each alert's place
    is worked out once (not once per anomaly: 300 x 3,000 held the UI 16 s), off the event
    loop (the UI thread), and each anomaly still names the alert at its own pod."""
    app = _open(apps, tmp_path)
    at = datetime.fromtimestamp(T0, UTC)
    found = [
        Anomaly(cluster="east", metric="pod_cpu", labels={"namespace": f"ns{i % 20}",
                "pod": f"web-{i}", "instance": "10.0.0.2:10250"}, method="CONTEXT",
                timestamp=at, started_at=at, last_at=at, score=9.0, threshold=2.5,
                severity="LOW", confidence=0.9, type="SPIKE", actual=1.0, explanation="x")
        for i in range(100)
    ]  # fmt: skip
    alerts = [
        _alert("KubePodNotReady", {"namespace": f"ns{i % 20}", "pod": f"web-{i}",
               "instance": "10.0.0.1:8443", "job": "kube-state-metrics"},
               starts=at - timedelta(hours=3))
        for i in range(1000)
    ]  # fmt: skip
    app.bus.publish(ALERTS_CHANGED, {"east": alerts})

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        return list(found)

    app.svc._worker.run = run  # type: ignore[method-assign]
    loop = threading.get_ident()
    placed: list[int] = []
    real = incidents.place_of

    def place_of(subject: str, labels: dict[str, str] | None = None) -> list[str]:
        placed.append(threading.get_ident())
        return real(subject, labels)

    monkeypatch.setattr(incidents, "place_of", place_of)
    named = await app.svc.analyse([], keep=False)
    assert [a.related_alerts for a in named] == [["KubePodNotReady"]] * len(found)
    assert len(placed) <= len(alerts) + len(found)
    assert loop not in placed
