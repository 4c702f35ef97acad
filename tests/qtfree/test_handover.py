"""A shift handover's live reads: GPU health at the start and the end of the period (what
changed), PTP compliance over it; real fleet hubs (backfilled Prometheus) and a pinned period,
so the figures are checked against the fixtures' own definitions. Also: which members a hub's
reports hold, when two hubs' members overlap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models import ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.gpu import GpuHealth, GpuReading, GpuState
from aiops_desktop.models.polling import Source
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.reports import gather, members
from analysis.gpu_health import health_changes
from analysis.reports.build import ReportInputs, build_report
from analysis.reports.render_text import to_markdown
from tests.qtfree.test_ptp_board import expected
from tests.servers import gpu_fleet, ptp_fleet
from tests.servers.prometheus import RunningPrometheus
from tests.site_data import build_site


def _health(key: str, state: GpuState, *reasons: str) -> GpuHealth:
    cluster, node, gpu = key.split("/")
    return GpuHealth(GpuReading(cluster, node, gpu.removeprefix("gpu"), key), state,
                     list(reasons), False)  # fmt: skip


def test_a_period_that_begins_before_the_data_says_how_much_of_it_is_not_known() -> None:
    """A 12 h handover from a capture of 2 h: "nothing in this period" is not a quiet shift."""
    until = datetime(2026, 12, 5, 19, 30, tzinfo=UTC)
    inputs = ReportInputs(ReportType.HANDOVER, until - timedelta(hours=12), until, until, [],
                          known_from=until - timedelta(hours=2))  # fmt: skip
    summary = build_report(inputs).summary
    assert summary[0] == ("The data begins 2026-12-05 17:30 UTC: the first 10 h of the 12 h "
                          "asked are not known here")  # fmt: skip
    inputs.known_from = until - timedelta(hours=12)  # all of it
    assert not any("not known" in line for line in build_report(inputs).summary)
    inputs.known_from = until + timedelta(hours=1)  # none of it
    assert "the first 12 h of the 12 h asked" in build_report(inputs).summary[0]


def test_health_changes_lists_changed_and_vanished_gpus_worst_first() -> None:
    before = [
        _health("a/n/gpu0", GpuState.OK),
        _health("a/n/gpu1", GpuState.WARNING, "temperature 72 C (warning >= 70 C)"),
        _health("a/n/gpu2", GpuState.OK),
        _health("a/n/gpu3", GpuState.WARNING, "XID 999 (not in the XID table)"),
        _health("b/m/gpu0", GpuState.OK),
    ]
    after = [
        _health("a/n/gpu0", GpuState.OK),  # unchanged: not listed
        _health("a/n/gpu1", GpuState.OK),  # recovered
        _health("a/n/gpu2", GpuState.CRITICAL, "temperature 84 C (critical >= 80 C)"),
        _health("b/m/gpu0", GpuState.WARNING, "throttled 40% of the last 5 min (power limit)"),
        _health("c/x/gpu0", GpuState.CRITICAL, "new"),  # not there before: not a change
    ]
    changes = health_changes(before, after)
    assert [(c.key, c.before, c.after) for c in changes] == [
        ("a/n/gpu3", GpuState.WARNING, None),  # gone: first
        ("a/n/gpu2", GpuState.OK, GpuState.CRITICAL),
        ("b/m/gpu0", GpuState.OK, GpuState.WARNING),
        ("a/n/gpu1", GpuState.WARNING, GpuState.OK),
    ]
    assert changes[0].reasons == ["XID 999 (not in the XID table)"]  # as last seen
    assert changes[1].reasons == ["temperature 84 C (critical >= 80 C)"]


async def _hub_polled(core: Core, name: str, url: str) -> None:
    """Register a fleet hub and poll its metrics once, so its member clusters are known."""
    await core.registry.add(
        ClusterSpec(name=name, kind=ClusterKind.FLEET,
                    endpoint_urls={EndpointKind.PROMETHEUS: url})
    )  # fmt: skip
    await core.poller.run_source(core.registry.get(name), Source.METRICS)
    await asyncio.wrap_future(core.series.flush())


@pytest.mark.integration
@pytest.mark.asyncio
async def test_handover_lists_the_gpu_that_changed_health_in_the_period(
    core: Core, gpu_hub: RunningPrometheus
) -> None:
    await _hub_polled(core, "gpu-hub", gpu_hub.url)
    assert gpu_hub.first_sample_s is not None
    # sample 39 is the fixture's "now"; 8 minutes before it is sample 7: the 12 NVLink CRC
    # errors of ai-lab/dgx-1 GPU 4 came at sample 20, between the two; everything else held
    until = datetime.fromtimestamp(gpu_hub.first_sample_s + 39 * gpu_fleet.STEP_S, UTC)
    inputs = await gather(core, ReportType.HANDOVER, ["gpu-hub"], timedelta(minutes=8), until)
    by_name = {f.name: f for f in inputs.clusters}
    assert list(by_name) == ["gpu-hub", "ai-lab", "ran-east", "ran-west"]  # the hub's own first
    changes = {n: f.hw.gpu_changes for n, f in by_name.items()}
    assert changes["ran-east"] == [] and changes["ran-west"] == []
    (change,) = changes["ai-lab"] or []
    assert (change.key, change.before, change.after) == (
        "ai-lab/dgx-1/gpu4",
        GpuState.OK,
        GpuState.WARNING,
    )
    assert change.reasons == ["12 NVLink CRC errors in the last hour"]
    not_ok = sorted(g[0] for f in by_name.values() for g in f.hw.gpu or [])
    assert not_ok == [
        "ai-lab/dgx-0/gpu7", "ai-lab/dgx-1/gpu4", "ran-east/gpu-0/gpu5", "ran-east/gpu-1/gpu3",
        "ran-west/gpu-1/gpu2",
    ]  # fmt: skip
    report = build_report(inputs)
    assert report.title == "Shift handover: gpu-hub, 8 min"  # its members are its
    assert "1 GPUs changed health in the period" in report.summary
    text = to_markdown(report)
    assert "GPU health changes in the period" in text
    assert "| ai-lab/dgx-1/gpu4 | OK | WARNING | 12 NVLink CRC errors in the last hour |" in text
    assert text.count("no GPU changed health") == 2  # ran-east and ran-west
    assert "PTP compliance in the period" in text and "not read (no live PTP metrics)" in text


@pytest.mark.integration
@pytest.mark.asyncio
async def test_handover_gives_ptp_compliance_over_the_period(
    core: Core, ptp_hub: tuple[RunningPrometheus, int]
) -> None:
    server, start = ptp_hub
    await _hub_polled(core, "ran-hub", server.url)
    until = datetime.fromtimestamp(start + (ptp_fleet.COUNT - 1) * ptp_fleet.STEP_S, UTC)
    period = timedelta(seconds=ptp_fleet.COUNT * ptp_fleet.STEP_S)
    inputs = await gather(core, ReportType.HANDOVER, ["ran-hub"], period, until)
    by_name = {f.name: f for f in inputs.clusters}
    assert {n: f.hw.ptp_ports for n, f in by_name.items()} == {
        "ran-hub": 0,
        "ran-east": 7,
        "ran-west": 7,
    }  # the hub's ports are its members'

    def row(cluster: str, node: str, state: str) -> tuple[str, ...]:
        want = expected(cluster, node)
        return (
            f"{node}/ens1f0", state, "100.0%",  # every step sampled: shares of the whole hour
            f"{want['locked_pct']:.1f}%", f"{want['within_pct']:.1f}%",
            f"{want['holdover_s']:.0f} s", f"{want['freerun_s']:.0f} s",
        )  # fmt: skip

    # only the two ports short of full compliance; the 12 others held all hour
    assert by_name["ran-east"].hw.ptp == [row("ran-east", "du-2", "FREERUN")]
    assert by_name["ran-west"].hw.ptp == [row("ran-west", "du-4", "LOCKED")]
    assert by_name["ran-east"].hw.ptp[0][3:6] == ("83.3%", "83.3%", "180 s")  # the 3 min
    report = build_report(inputs)
    assert ("2 of 14 PTP ports need attention or fell short of full compliance in the time "
            "sampled") in report.summary  # fmt: skip
    assert report.recommendations[0].startswith("Clock in FREERUN on PTP port du-2/ens1f0")
    assert "GPUs changed health" not in " ".join(report.summary)  # no GPU here: nothing read


@pytest.mark.asyncio
async def test_a_past_period_takes_states_and_firing_alerts_from_the_history(
    core: Core,
) -> None:
    """east's Prometheus was down from 180 to 120 minutes ago, its alert firing meanwhile: a
    handover for the shift that ended 140 minutes ago shows it OFFLINE with the alert firing,
    though both are over now."""
    await build_site(core)
    until = utcnow() - timedelta(minutes=140)
    inputs = await gather(core, ReportType.HANDOVER, ["east"], timedelta(hours=2), until)
    (east,) = inputs.clusters
    assert inputs.until == until and (east.state, east.score) == ("OFFLINE", 80)
    assert all(when <= until for when, *_ in east.health)
    assert east.alerts == [("CRITICAL", "PrometheusDown", "east's Prometheus is not answering")]
    now = await gather(core, ReportType.HANDOVER, ["east"], timedelta(hours=2))
    # now: the fleet's one truth (the site's CPU spike of the last hour is a warning finding);
    # the site's Prometheus does not answer now, so its findings are not read: STALE, not the
    # DEGRADED a findings read that failed used to leave (or OK, had there been no spike)
    assert (now.clusters[0].state, now.clusters[0].alerts) == ("STALE", [])
    assert [f[1] for f in now.clusters[0].findings or []] == ["anomalies"]


@pytest.mark.integration
@pytest.mark.asyncio
async def test_each_hub_keeps_its_own_members(
    core: Core, gpu_hub: RunningPrometheus, ptp_hub: tuple[RunningPrometheus, int]
) -> None:
    """Two hubs whose members overlap: each one's reports and capture hold its own members
    (found by its polls and kept with it), not every unregistered name in the cache."""
    await _hub_polled(core, "gpu-hub", gpu_hub.url)
    await _hub_polled(core, "ptp-hub", ptp_hub[0].url)
    gpus, ptps = core.registry.get("gpu-hub"), core.registry.get("ptp-hub")
    assert gpus.status.members == ["ai-lab", "ran-east", "ran-west"]
    assert ptps.status.members == ["ran-east", "ran-west"]
    assert members(core, ptps) == ["ran-east", "ran-west"]  # no ai-lab: gpu-hub's alone
    (reloaded,) = [c for c in await core.registry.load() if c.name == "ptp-hub"]
    assert reloaded.status.members == ["ran-east", "ran-west"]  # kept in the cache
    inputs = await gather(core, ReportType.EXECUTIVE, ["ptp-hub"], timedelta(hours=1))
    assert [f.name for f in inputs.clusters] == ["ptp-hub", "ran-east", "ran-west"]
