"""A source still on its first poll (no answer yet, no failure) is NO DATA, not STALE: the
poller counts a poll when it starts, and a hung first read was judged STALE, scored 85."""

from __future__ import annotations

from datetime import timedelta

from aiops_desktop.models.fleet import Coverage, Health
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.runtime.bus import EventBus
from tests.qtfree.test_fleet_truth_failures import T0, NoAnomalies, Poller, Registry, cluster


def _truth_while_first_polls(*, failed: bool) -> tuple[dict[str, Coverage], Health, int | None]:
    east = cluster("ran-east")
    poller = Poller()
    fleet = FleetState(Registry([east]), poller, None, NoAnomalies(), EventBus(),
                       clock=lambda: T0 + timedelta(seconds=30))  # fmt: skip
    fleet._refreshed_at, fleet._read_at = T0, {"ran-east": T0}  # its findings were read
    for source in (Source.METRICS, Source.ALERTS):
        status = poller.status[("ran-east", source)] = SourceStatus("ran-east", source, 30.0)
        status.polls, status.last_attempt = 1, T0  # started, not answered
        if failed:
            status.consecutive_errors, status.last_error = 1, "connect: connection refused"
    truth = fleet.snapshot().get("ran-east")
    assert truth is not None
    return truth.coverage, truth.state, truth.health_score


def test_a_source_on_its_first_poll_is_no_data_not_stale() -> None:
    coverage, state, score = _truth_while_first_polls(failed=False)
    assert coverage["metrics"] is Coverage.NO_DATA and coverage["alerts"] is Coverage.NO_DATA
    assert state is Health.NO_DATA and score is None


def test_a_first_poll_that_failed_is_still_unreachable() -> None:
    coverage, state, _ = _truth_while_first_polls(failed=True)
    assert coverage["metrics"] is Coverage.UNREACHABLE
    assert state is Health.OFFLINE
