"""The fleet's own findings reach its health whatever part of a read is lost (review 4).

A PTP read that fails in part keeps a port's FREERUN (last known) though its offset warning is
read again; a FREERUN port whose linuxptp-daemon metrics all vanish is said no longer reported
(as a GPU gone), not OK; a corrected single-bit ECC total is a note (INFO), not a degraded
cluster until the driver reloads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models.fleet import (
    Coverage,
    Domain,
    Finding,
    FindingSeverity,
    Health,
    new_critical,
)
from aiops_desktop.models.gpu import GpuFleet, GpuReading, GpuState
from aiops_desktop.models.metrics import MetricQuery, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, PtpBoard
from aiops_desktop.services.fleet.findings import (
    GONE_FOR,
    PortsGone,
    gpu_findings,
    kept_stale,
    ptp_findings,
)
from aiops_desktop.services.fleet.state import FleetState, judge
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.runtime.bus import EventBus
from analysis.gpu_health import assess
from tests.qtfree.test_fleet_truth_failures import SAMPLE, Flaky, NoAnomalies, Poller

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
C, W, INFO = FindingSeverity.CRITICAL, FindingSeverity.WARNING, FindingSeverity.INFO
PORT = "du-2/ens1f0 (ptp4l)"


class Sample(Flaky):
    """The sample capture's answers with ran-east's GPUs left out (only PTP judges it); once
    ``daemon_gone``, every openshift_ptp_* series of ran-east/du-2 is absent (its
    linuxptp-daemon pod crashed: the query itself still answers)."""

    daemon_gone = False

    async def run(self, query: MetricQuery, clusters: list[Any]) -> QueryAnswer:
        answer = await super().run(query, clusters)
        drop: Any = lambda t: False  # noqa: E731
        if "DCGM" in query.promql:
            drop = lambda t: t.cluster == "ran-east"  # noqa: E731
        elif self.daemon_gone and "openshift_ptp" in query.promql:
            drop = lambda t: t.cluster == "ran-east" and t.series.labels.get("node") == "du-2"  # noqa: E731
        return replace(answer, series=[t for t in answer.series if not drop(t)])


@pytest_asyncio.fixture
async def sample() -> AsyncIterator[tuple[FleetState, Sample]]:
    core = await asyncio.to_thread(open_capture, SAMPLE)
    try:
        await core.registry.load()
        now = core.now()
        poller = Poller()
        for c in core.registry.clusters():
            s = poller.status[(c.name, Source.METRICS)] = SourceStatus(c.name, Source.METRICS, 15.0)
            s.polls, s.last_success = 10, now - timedelta(seconds=5)
        queries = Sample(core.queries)
        fleet = FleetState(core.registry, poller, queries, NoAnomalies(), EventBus(),
                           clock=core.now)  # fmt: skip
        yield fleet, queries
    finally:
        await core.shutdown()


def ptp_of(truth: Any) -> list[tuple[FindingSeverity, str, bool]]:
    east = truth.get("ran-east")
    return [(f.severity, f.reason, f.stale) for f in east.findings if f.domain is Domain.PTP]


# -- 1. a PTP read that fails in part keeps the FREERUN ------------------------------------
@pytest.mark.asyncio
async def test_a_freerun_whose_clock_state_query_timed_out_stays_critical_last_known(
    sample: tuple[FleetState, Sample],
) -> None:
    fleet, queries = sample
    first = await fleet.refresh()
    assert first.get("ran-east").state is Health.CRITICAL
    queries.failing = lambda q: q.promql == "openshift_ptp_clock_state"  # its offset is read
    failed = await fleet.refresh()
    east = failed.get("ran-east")
    assert east.coverage["findings"] is Coverage.UNREACHABLE
    assert east.state is Health.CRITICAL  # not STALE: the FREERUN is last known, not gone
    assert (C, "clock in FREERUN (clock class 165)", True) in ptp_of(failed)
    assert (W, "offset 350 ns beyond +/-100 ns", False) in ptp_of(failed)  # read again
    queries.failing = lambda q: False
    again = await fleet.refresh()
    assert again.get("ran-east").state is Health.CRITICAL
    assert not any(stale for *_, stale in ptp_of(again))
    assert new_critical(failed, again) == []  # known all along: not news


def test_a_kept_finding_stays_unless_its_subject_reads_as_bad_or_it_is_read_again() -> None:
    freerun = Finding(Domain.PTP, C, PORT, "clock in FREERUN (clock class 165)")
    offset = Finding(Domain.PTP, W, PORT, "offset 350 ns beyond +/-100 ns")
    klass = Finding(Domain.PTP, W, PORT, "clock class 165: T-BC holdover, out of spec")
    # the clock state not read: another warning of the port is no news of its clock state
    moved = replace(offset, reason="offset 360 ns beyond +/-100 ns")
    kept = kept_stale([freerun, offset], [moved, klass], {Domain.PTP})
    assert [(f.reason, f.stale) for f in kept] == [
        (moved.reason, False), (klass.reason, False), (freerun.reason, True)
    ]  # fmt: skip
    # the clock state read again (HOLDOVER): what it is now replaces what it was
    holdover = Finding(Domain.PTP, W, PORT, "clock in HOLDOVER (clock class 165)")
    assert kept_stale([freerun], [holdover], {Domain.PTP}) == [holdover]
    # a GPU's fresh INFO note does not stand for its unread CRITICAL temperature
    hot = Finding(Domain.GPU, C, "n1/gpu0", "temperature 86 C (critical >= 80 C)")
    note = Finding(Domain.GPU, INFO, "n1/gpu0", "3 single-bit ECC errors (corrected; watch growth)")
    assert kept_stale([hot], [note], {Domain.GPU}) == [note, replace(hot, stale=True)]


# -- 2. a port whose daemon's metrics vanish is gone, not OK --------------------------------
@pytest.mark.asyncio
async def test_a_freerun_port_whose_daemon_metrics_vanish_is_said_gone(
    sample: tuple[FleetState, Sample],
) -> None:
    fleet, queries = sample
    first = await fleet.refresh()
    queries.daemon_gone = True
    gone = await fleet.refresh()
    east = gone.get("ran-east")
    assert east.state is Health.CRITICAL and east.health_score is not None
    ((severity, reason, stale),) = ptp_of(gone)
    assert severity is C and not stale
    assert reason.startswith("no longer reported since ")
    assert reason.endswith(
        "(last: clock in FREERUN (clock class 165); offset 350 ns beyond +/-100 ns)"
    )
    assert new_critical(first, gone) == []  # the same port, the same CRITICAL


def ts(labels: dict[str, str], value: float) -> TaggedSeries:
    return TaggedSeries("prod-a", PromSeries(labels, np.array([1.7e9]), np.array([value])))


def board(answers: dict[str, list[TaggedSeries]]) -> PtpBoard:
    return PtpBoard(board_rows(answers), timedelta(minutes=10), DEFAULT_THRESHOLD, [])


PORT_LABELS = {"node": "du-1", "iface": "ens1f0", "process": "ptp4l"}
FREERUN = {"clock_state": [ts(PORT_LABELS, 0)], "offset": [ts(PORT_LABELS, 900)]}
LOCKED = {"clock_state": [ts(PORT_LABELS, 1)], "offset": [ts(PORT_LABELS, 10)]}


Said = list[tuple[FindingSeverity, str, str]]


def said(gone: PortsGone, answers: dict[str, list[TaggedSeries]], at: datetime,
         unread: frozenset[str] = frozenset()) -> Said:  # fmt: skip
    found = gone.findings(board(answers), unread, {"prod-a"}, at).get("prod-a", [])
    return [(f.severity, f.subject, f.reason) for f in found]


def test_a_port_gone_is_said_at_its_last_severity_for_a_bounded_time() -> None:
    gone = PortsGone()
    assert said(gone, FREERUN, T0) == []
    # its cluster's PTP read failed: nothing said, its time gone not begun
    assert said(gone, {}, T0 + timedelta(minutes=1), frozenset({"prod-a"})) == []
    went = T0 + timedelta(minutes=2)
    last = "(last: clock in FREERUN; offset 900 ns beyond +/-100 ns)"
    expected = [(C, "du-1/ens1f0 (ptp4l)", f"no longer reported since 06:02 UTC {last}")]
    assert said(gone, {}, went) == expected
    assert said(gone, {}, went + GONE_FOR - timedelta(minutes=1)) == expected
    assert said(gone, {}, went + GONE_FOR) == []  # the node retired: forgotten
    assert said(gone, {}, went + GONE_FOR + timedelta(minutes=1)) == []


def test_a_port_reported_again_or_one_that_was_fine_is_not_gone() -> None:
    gone = PortsGone()
    said(gone, FREERUN, T0)
    assert said(gone, LOCKED, T0 + timedelta(minutes=1)) == []
    assert said(gone, {}, T0 + timedelta(minutes=2)) == []  # gone while LOCKED: nothing


def test_a_process_down_that_recovers_is_not_a_port_gone() -> None:
    """A process reported down with no row of its own is a row of its own; it comes back
    with its ports' rows, which speak for its node now."""
    gone = PortsGone()
    down = {"process_status": [ts({"node": "du-1", "process": "ptp4l", "config": "ptp4l.0"}, 0)]}
    assert ptp_findings(board(down))  # the down process is a finding
    said(gone, down, T0)
    up = {**LOCKED, "process_status": [ts({"node": "du-1", "process": "ptp4l"}, 1)]}
    assert said(gone, up, T0 + timedelta(minutes=1)) == []


# -- 3. a corrected ECC total is a note ------------------------------------------------------
def test_a_single_corrected_ecc_error_is_info_not_a_degraded_cluster() -> None:
    reading = GpuReading("ran-east", "gpu-0", "0", "GPU-a", temperature_c=45.0,
                         sbe_errors=1.0, dbe_errors=0.0)  # fmt: skip
    health = assess(reading, xid_table())
    assert health.state is GpuState.OK
    assert health.reasons == ["1 single-bit ECC errors (corrected; watch growth)"]
    (found,) = gpu_findings(GpuFleet([health], []))["ran-east"]
    assert (found.severity, found.subject) == (INFO, "gpu-0/gpu0")  # shown
    assert judge({"metrics": Coverage.READ}, [found]) == (Health.OK, 98)  # not degrading


def test_a_corrected_ecc_total_beside_a_fault_is_said_with_it() -> None:
    reading = GpuReading("c", "n", "0", "GPU-a", temperature_c=72.0, sbe_errors=4.0)
    health = assess(reading, xid_table())
    assert health.state is GpuState.WARNING
    (found,) = gpu_findings(GpuFleet([health], []))["c"]
    assert found.severity is W
    assert found.reason == (
        "temperature 72 C (warning >= 70 C); 4 single-bit ECC errors (corrected; watch growth)"
    )


def test_mig_instances_with_only_a_corrected_ecc_total_are_info() -> None:
    """DCGM repeats the device's counters on each MIG instance: the note is said once, of
    the device, as INFO."""
    instances = [
        assess(GpuReading("c", "n", "0", "GPU-a", mig_profile="1g.10gb", mig_id=i,
                          temperature_c=40.0, sbe_errors=2.0), xid_table())
        for i in ("1", "2")
    ]  # fmt: skip
    (found,) = gpu_findings(GpuFleet(instances, []))["c"]
    assert (found.severity, found.subject) == (INFO, "n/gpu0")


# -- 4. a GPU's kept CRITICAL gives way only to a reading of what made it CRITICAL -----------
def gpu_now(**fields: Any) -> list[Finding]:
    """A GPU's findings from one reading of it (its fields each a query of their own)."""
    reading = GpuReading("c1", "n1", "3", "GPU-3", **fields)
    return gpu_findings(GpuFleet([assess(reading, xid_table())], []))["c1"]


def test_a_gpus_xid_kept_while_its_query_timed_out_stays_beside_a_fresh_warning() -> None:
    # the XID query timed out (the GPU domain unread); the temperature query answered a
    # WARNING for the same GPU: it says nothing of the XID 79, which stays CRITICAL, stale
    (before,) = gpu_now(xid=79, temperature_c=60.0)
    assert before.severity is C and before.reason.startswith("XID 79 ")
    (warm,) = gpu_now(temperature_c=75.0)
    assert warm.severity is W
    shown = kept_stale([before], [warm], {Domain.GPU})
    assert shown == [warm, replace(before, stale=True)]
    assert judge({"metrics": Coverage.READ}, shown)[0] is Health.CRITICAL
    # a CRITICAL of several reasons is kept for its worst: a temperature read again is not it
    (both,) = gpu_now(xid=79, temperature_c=75.0)
    assert kept_stale([both], [warm], {Domain.GPU}) == [warm, replace(both, stale=True)]


def test_a_gpus_kept_critical_gives_way_to_a_reading_of_its_worst_reason() -> None:
    # the XID field read again: XID 79 held since before the window on a GPU that answers is
    # a WARNING now, and it says the XID 79 itself: what it is now replaces what it was
    (before,) = gpu_now(xid=79, temperature_c=60.0)
    (held,) = gpu_now(xid=79, xid_before_window=True, temperature_c=75.0)
    assert held.severity is W and before.reason.split("; ")[0] in held.reason
    assert kept_stale([before], [held], {Domain.GPU}) == [held]
    # read whole (the domain not lost): what is read now is all there is
    (warm,) = gpu_now(temperature_c=75.0)
    assert kept_stale([before], [warm], set()) == [warm]
