"""Reports built from what the cache holds: periods longer than the raw retention, alerts
resolved after a past period, a period given in another time zone, long tables cut to their
latest rows (and saying so), periods nothing was monitored in, and non-finite samples."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models import ClusterState, EndpointKind, HealthRecord
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.core import Core
from aiops_desktop.store.database import Database
from aiops_desktop.store.health import HealthRepository
from aiops_desktop.store.series import SeriesBatch
from analysis.reports.build import (
    DEFAULT_ROW_LIMIT,
    NO_DATA,
    ClusterFacts,
    PanelData,
    ReportInputs,
    build_report,
)
from analysis.reports.forecast import forecast, hourly_means
from analysis.reports.render_text import to_json, to_markdown

UNTIL = datetime(2026, 11, 27, 6, tzinfo=UTC)
SINCE = UNTIL - timedelta(hours=12)
PROM = {EndpointKind.PROMETHEUS: "https://127.0.0.1:9"}


def _report(kind: ReportType, *facts: ClusterFacts, since: datetime = SINCE):  # type: ignore[no-untyped-def]
    return build_report(ReportInputs(kind, since, UNTIL, UNTIL, list(facts)))


def _table(section, prefix: str):  # type: ignore[no-untyped-def]
    return next(t for t in section.tables if t.title.startswith(prefix))


# -- 1: a period longer than the raw retention ------------------------------------------------


@pytest.mark.asyncio
async def test_a_period_longer_than_the_raw_retention_holds_its_latest_samples(
    core: Core,
) -> None:
    """7 days of memory use rising 5 % a day, the hourly retention pass run: rollups hold what
    is older than 48 h, raw samples the rest. The capacity plan reads both (as the charts do):
    its series ends now at 75 %, not two days ago at 65 %."""
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls=PROM))
    now = core.now()
    start = now - timedelta(days=7)
    ts = np.arange(int(start.timestamp()), int(now.timestamp()), 60) * 1000
    memory = 40 + 5 * (ts - ts[0]) / 86_400_000
    batch = SeriesBatch("ran-east", "node_memory", {"instance": "n1"}, ts, memory)
    core.series.append([batch]).result()
    core.series.flush().result()
    core.series.apply_retention(now).result()
    inputs = await _gather(core, ReportType.CAPACITY, ["ran-east"], timedelta(days=7))
    ((stamps, values),) = inputs.clusters[0].panels["node_memory"].series.values()
    assert stamps[-1] >= (now - timedelta(minutes=10)).timestamp()
    assert values[-1] == pytest.approx(75.0, abs=0.1)
    assert stamps[0] <= (start + timedelta(minutes=10)).timestamp()  # the rollups before
    trend = dict(build_report(inputs).sections[0].facts)["Node memory used trend (n1)"]
    assert float(trend.split()[0]) == pytest.approx(75.0, abs=0.5)


async def _gather(core: Core, *args):  # type: ignore[no-untyped-def]
    from aiops_desktop.services.outputs.reports import gather

    return await gather(core, *args)  # type: ignore[arg-type]


# -- 2: an alert resolved after a past period's end --------------------------------------------


def test_an_alert_resolved_after_the_period_was_still_firing_at_its_end() -> None:
    """Fired an hour before the shift's end, resolved 3 h after it: not resolved in the period
    (nor in its table or timeline); one resolved inside it still is."""
    late = (UNTIL - timedelta(hours=1), UNTIL + timedelta(hours=3), "critical",
            "PtpClockFreerun", "clock lost")  # fmt: skip
    inside = (SINCE + timedelta(hours=1), SINCE + timedelta(hours=2), "warning", "KubeDown", "")
    facts = ClusterFacts("ran-east", "ONLINE", 100, alerts=[("critical", "PtpClockFreerun", "")],
                         alert_history=[inside, late])  # fmt: skip
    report = _report(ReportType.HANDOVER, facts)
    assert "2 alerts fired and 1 resolved in the period" in report.summary
    table = _table(report.sections[0], "Alerts in the period")
    assert table.title == "Alerts in the period (2 fired, 1 resolved)"
    assert table.rows[-1][:2] == ["2026-11-27 05:00 UTC", "still firing"]
    assert table.rows[0][1] == "2026-11-26 20:00 UTC"
    incident = _report(ReportType.INCIDENT, facts).sections[0]
    assert dict(incident.facts)["Last event"].startswith("2026-11-27 05:00 UTC")
    assert not any("09:00" in row[0] for row in incident.tables[0].rows)
    assert incident.tables[0].title == "Events (3)"  # fired, resolved, fired


# -- 3: a period given in another time zone ----------------------------------------------------


def test_a_period_in_another_time_zone_is_written_in_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    until = datetime(2026, 11, 27, 8, tzinfo=plus2)  # 06:00 UTC
    facts = [ClusterFacts("ran-east", "ONLINE", 100)]
    since = until - timedelta(hours=12)
    report = build_report(ReportInputs(ReportType.HANDOVER, since, until, until, facts))
    assert report.period == "2026-11-26 18:00 to 2026-11-27 06:00 UTC"
    assert "- Period: 2026-11-26 18:00 to 2026-11-27 06:00 UTC" in to_markdown(report)


def test_the_health_history_since_a_time_in_another_zone(tmp_path: Path) -> None:
    """Checks stored in UTC, asked from 20:00+02:00 (18:00 UTC): the three checks from 18:00
    to 20:00 UTC are in it (a text comparison across offsets left them out)."""
    db = Database(tmp_path / "c.sqlite3")
    try:
        cid = uuid.uuid4()
        db.write(lambda c: c.execute("INSERT INTO clusters VALUES (?,?,?,?)",
                                     (str(cid), "ran-east", "{}", "x"))).result()  # fmt: skip
        repo = HealthRepository(db)
        for h in range(24):  # hourly, 2026-11-26 12:00 to 2026-11-27 11:00 UTC
            at = datetime(2026, 11, 26, 12, tzinfo=UTC) + timedelta(hours=h)
            repo.record(HealthRecord(cluster_id=cid, checked_at=at, state=ClusterState.ONLINE,
                                     health_score=100, endpoint_health={})).result()  # fmt: skip
        since = datetime(2026, 11, 26, 20, tzinfo=timezone(timedelta(hours=2)))
        got = repo.history(cid, since=since)
        assert got[0].checked_at == datetime(2026, 11, 26, 18, tzinfo=UTC) and len(got) == 18
        # a check stored from another zone is kept in UTC, so it compares as the others do
        local = datetime(2026, 11, 27, 13, 30, tzinfo=timezone(timedelta(hours=2)))  # 11:30
        repo.record(HealthRecord(cluster_id=cid, checked_at=local, state=ClusterState.ONLINE,
                                 health_score=100, endpoint_health={})).result()  # fmt: skip
        after = repo.history(cid, since=datetime(2026, 11, 27, 11, 15, tzinfo=UTC))
        assert [r.checked_at for r in after] == [local]
        # 11:00 UTC written as 12:00+01:00: the checks before 11:00 UTC go, not the others
        assert repo.prune(datetime(2026, 11, 27, 12, tzinfo=timezone(timedelta(hours=1)))
                          ).result() == 23  # fmt: skip
        left = [r.checked_at for r in repo.history(cid)]
        assert left == [datetime(2026, 11, 27, 11, tzinfo=UTC), local]
    finally:
        db.close()


@pytest.mark.asyncio
async def test_a_period_asked_in_another_time_zone_is_taken_in_utc(core: Core) -> None:
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls=PROM))
    asked = (core.now() - timedelta(days=1)).astimezone(timezone(timedelta(hours=-5)))
    inputs = await _gather(core, ReportType.EXECUTIVE, ["ran-east"], timedelta(hours=12), asked)
    assert inputs.until == asked and inputs.until.utcoffset() == timedelta(0)
    assert inputs.since.utcoffset() == timedelta(0)


# -- 4, 5: long tables keep their latest rows and say they are cut -----------------------------


def test_the_alerts_of_a_long_period_are_cut_to_the_latest() -> None:
    history = [(SINCE + timedelta(seconds=30 * i), SINCE + timedelta(seconds=30 * i + 10),
                "warning", f"KubePodCrashLooping{i}", "") for i in range(1200)]  # fmt: skip
    report = _report(ReportType.DETAILED, ClusterFacts("ran-east", "ONLINE", 100,
                                                       alert_history=history))  # fmt: skip
    table = _table(report.sections[0], "Alerts in the period")
    assert len(table.rows) == DEFAULT_ROW_LIMIT
    assert table.title == (f"Alerts in the period (1200 fired, 1200 resolved; the "
                           f"{DEFAULT_ROW_LIMIT} latest of 1200)")  # fmt: skip
    assert table.rows[-1][3] == "KubePodCrashLooping1199"  # the newest kept, in time order
    assert table.rows[0][3] == f"KubePodCrashLooping{1200 - DEFAULT_ROW_LIMIT}"


def test_the_timeline_keeps_its_latest_events_and_says_it_is_cut() -> None:
    history = [(SINCE + timedelta(minutes=5 * i), SINCE + timedelta(minutes=5 * i + 2),
                "warning", f"KubePodNotReady{i}", "") for i in range(30)]  # fmt: skip
    health = [(SINCE + timedelta(minutes=1), "ONLINE", 100, ""),
              (UNTIL - timedelta(minutes=10), "OFFLINE", 50, "API down")]  # fmt: skip
    facts = ClusterFacts("ran-east", "OFFLINE", 50, health=health, alert_history=history)
    timeline = _report(ReportType.INCIDENT, facts).sections[0]
    table = timeline.tables[0]
    assert table.title == f"Events (the {DEFAULT_ROW_LIMIT} latest of 61)"
    assert len(table.rows) == DEFAULT_ROW_LIMIT
    assert table.rows[-1][:3] == ["2026-11-27 05:50 UTC", "ran-east", "ONLINE -> OFFLINE"]
    assert [r[0] for r in table.rows] == sorted(r[0] for r in table.rows)


# -- 6: a period nothing was monitored in ------------------------------------------------------


def test_a_cluster_with_no_data_in_the_period_is_not_a_quiet_one() -> None:
    quiet = ClusterFacts("ran-west", "ONLINE", 100,
                         health=[(SINCE + timedelta(hours=1), "ONLINE", 100, "")])  # fmt: skip
    unseen = ClusterFacts("ran-east", "UNKNOWN", None)
    alone = _report(ReportType.DETAILED, unseen)
    text = to_markdown(alone)
    assert "No action needed" not in text and "0 anomalies" not in text
    assert any(NO_DATA in line for line in alone.summary)
    assert dict(alone.sections[0].facts)["Data"] == NO_DATA
    assert all(t.empty == NO_DATA for t in alone.sections[0].tables)
    assert any(NO_DATA in r for r in alone.recommendations)
    both = _report(ReportType.DETAILED, quiet, unseen)
    text = to_markdown(both)
    assert "No action needed:" not in text and "ran-east" in " ".join(both.recommendations)
    assert "0 anomalies (0 CRITICAL or WARNING) and 0 state changes in the period" in text
    assert "Data" not in dict(both.sections[0].facts)  # ran-west was monitored
    assert build_report(ReportInputs(ReportType.DETAILED, SINCE, UNTIL, UNTIL, [quiet])
                        ).recommendations == ["No action needed: nothing in this period calls "
                                              "for one."]  # fmt: skip


@pytest.mark.asyncio
async def test_a_period_the_app_did_not_watch_says_so(core: Core) -> None:
    """Nothing ever polled: last week's report says there is no data, not that all was quiet;
    checks that began 2 h ago make a 12 h report say where its data begins."""
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls=PROM))
    week = await _gather(core, ReportType.DETAILED, ["ran-east"], timedelta(days=7),
                         core.now() - timedelta(days=1))  # fmt: skip
    assert week.clusters[0].observed is False
    text = to_markdown(build_report(week))
    assert NO_DATA in text and "No action needed" not in text
    now = core.now()
    for minutes in range(120, -1, -30):
        await core.registry.apply_check("ran-east", {EndpointKind.PROMETHEUS: True}, None,
                                        at=now - timedelta(minutes=minutes))  # fmt: skip
    shift = await _gather(core, ReportType.EXECUTIVE, ["ran-east"], timedelta(hours=12))
    assert shift.clusters[0].observed is True
    assert shift.known_from == now - timedelta(minutes=120)
    summary = build_report(shift).summary
    assert summary[0].endswith("the first 10 h of the 12 h asked are not known here")


def test_a_percentage_forecast_stays_within_0_and_100() -> None:
    """A steep climb's straight trend went past 100 % in the chart (130 % memory used)."""
    t = np.arange(SINCE.timestamp() - 3 * 86_400, UNTIL.timestamp(), 300.0)  # 3 days or more
    values = np.linspace(60, 95, t.size)
    panels = {"node_memory": PanelData("Node memory used", "percent", {"n1": (t, values)})}
    facts = ClusterFacts("ran-east", "ONLINE", 100, panels=panels)
    report = _report(ReportType.CAPACITY, facts, since=SINCE - timedelta(days=3))
    [chart] = report.sections[0].charts
    ahead = [v for name, (_, v) in chart.series.items() if "(" in name]
    assert ahead and all(np.nanmax(v) <= 100.0 for v in ahead)
    assert max(np.nanmax(v) for v in ahead) == 100.0  # it does reach the top
    assert forecast(t, values, limit=80.0).ahead[1].max() > 100  # unbounded, it would not stop  # type: ignore[union-attr]


# -- 7: non-finite samples ---------------------------------------------------------------------


def test_infinite_samples_give_no_nan_trend_and_valid_json() -> None:
    t = np.arange(SINCE.timestamp() - 3 * 86_400, UNTIL.timestamp(), 300.0)  # 3 days or more
    values = 40 + np.linspace(0, 10, t.size)
    values[100], values[200] = np.inf, -np.inf
    hx, hy = hourly_means(t, values)
    assert np.isfinite(hy).all() and hx.size == hy.size
    found = forecast(t, values, limit=80.0)
    assert found is not None and np.isfinite(found.last) and np.isfinite(found.slope_per_day)
    panels = {"node_memory": PanelData("Node memory used", "percent", {"n1": (t, values)})}
    facts = ClusterFacts("ran-east", "ONLINE", 100, panels=panels)
    for kind in (ReportType.CAPACITY, ReportType.DETAILED):
        report = _report(kind, facts, since=SINCE - timedelta(days=3))
        trend = " ".join(v for _, v in report.sections[0].facts)
        assert "nan" not in trend and "inf" not in trend

        def refuse(token: str) -> None:
            raise ValueError(token)

        doc = json.loads(to_json(report), parse_constant=refuse)
        points = [p for s in doc["sections"] for c in s["charts"] for series in
                  c["series"].values() for p in series]  # fmt: skip
        assert sum(p[1] is None for p in points) == 2  # the two infinite samples: null
