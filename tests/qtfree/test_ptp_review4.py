"""Three ways the PTP board misjudged a port.

- A window read at a coarser step than asked (MultiClusterQuery raises the step to stay
  under Prometheus's 11,000 points: past ~46 h at 15 s) was still laid over the asked step's
  grid: a port LOCKED the whole window read 62.5 % locked over 3 days, 27.3 % over 7. The
  compliance is now over the step the answer was read at, and `aiops-desktop ptp` asks the
  window's step, as the PTP page does.
- A row with no offset of its own took any offset series of its port for its Within % and
  chart, even one of a process with a row of its own: a T-GM's GM row ("no offset of its
  own") showed Within 0 % and the DPLL's 5000 ns chart. The history now falls back as the
  instant join does: only to processes with no row of their own, never for a clock type.
- A boundary clock's MASTER port (a role and no clock state of its own) ranked UNKNOWN: grey,
  counted unknown in the title, listed and selected before the clock it belongs to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.models.ptp import RANK_UNKNOWN, PtpBoard, PtpRow
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.gpu_cnf import ptp
from aiops_desktop.services.gpu_cnf.ptp import PTP_STEP, _attach_compliance, board_rows
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.settings import resources_dir
from collectors.prometheus import PromResult
from tests.qtfree.cli_runner import call_main

END = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LABELS = {"node": "du-1", "iface": "ens2fx", "process": "ptp4l"}
LOCKED_5NS = {"openshift_ptp_clock_state": 1.0, "openshift_ptp_offset_ns": 5.0}


class _Prometheus:
    """A port LOCKED and 5 ns off all the time, sampled at whatever step is asked."""

    async def query(self, promql: str, at: datetime, timeout_s: float | None = None) -> PromResult:
        if promql not in LOCKED_5NS:
            return PromResult("vector", [], [])
        value = np.array([LOCKED_5NS[promql]])
        return PromResult(
            "vector", [PromSeries(dict(LABELS), np.array([at.timestamp()]), value)], []
        )

    async def query_range(
        self, promql: str, start: float, end: float, step: float, timeout_s: float | None = None
    ) -> PromResult:
        if promql not in LOCKED_5NS:
            return PromResult("matrix", [], [])
        times = start + step * np.arange(round((end - start) / step) + 1)
        values = np.full(times.size, LOCKED_5NS[promql])
        return PromResult("matrix", [PromSeries(dict(LABELS), times, values)], [])


class _Pool:
    async def prometheus(self, cluster: Cluster) -> _Prometheus:
        return _Prometheus()


@pytest.mark.asyncio
@pytest.mark.parametrize("days", [1, 3, 7])
async def test_a_window_read_at_a_coarser_step_is_judged_at_that_step(days: int) -> None:
    cluster = Cluster(name="ran-east", api_server_url="https://api.example:6443")
    board = await ptp.read_ptp_board(
        MultiClusterQuery(_Pool()),  # type: ignore[arg-type]  # a stand-in client pool
        [cluster],
        window=timedelta(days=days),
        end=END,
    )
    (row,) = board.rows
    c = row.compliance
    assert c is not None
    assert (c.locked_pct, c.within_pct, c.coverage_pct, c.unknown_s) == (100, 100, 100, 0)
    assert c.resolution_s >= PTP_STEP.total_seconds()
    assert c.steps * c.resolution_s == pytest.approx(days * 86400, rel=1e-3)


def test_the_ptp_command_asks_the_windows_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the PTP page does (``TimeRange.step``): 3 days at one sample each 173 s, not 15 s
    coarsened by the query behind the figures' back."""
    asked: dict[str, Any] = {}

    async def reading(*args: Any, **kwargs: Any) -> PtpBoard:
        asked.update(kwargs)
        return PtpBoard([], kwargs["window"], kwargs["threshold"], [])

    monkeypatch.setattr(ptp, "read_ptp_board", reading)
    sample = resources_dir() / "samples" / "sample.aiops"
    call_main(tmp_path, "--capture", str(sample), "ptp", "--window", "3d")
    assert asked["step"] == TimeRange(3 * 86400).step(PTP_STEP) == timedelta(seconds=173)
    call_main(tmp_path, "--capture", str(sample), "ptp", "--window", "90d")  # past the page's
    assert asked["window"] == timedelta(days=90) and asked["step"] > timedelta(seconds=173)


STEPS = 1_700_000_100 * 15.0 - 15 * np.arange(239, -1, -1)  # an hour at 15 s, aligned
GM = {"node": "gm-1", "iface": "ens2fx"}


def _now(value: float, process: str) -> TaggedSeries:
    times, values = np.array([STEPS[-1]]), np.array([value])
    return TaggedSeries("c", PromSeries(GM | {"process": process}, times, values))


def _hour(value: float, process: str) -> TaggedSeries:
    values = np.full(STEPS.size, value)
    return TaggedSeries("c", PromSeries(GM | {"process": process}, STEPS, values))


def _with_history(
    answers: dict[str, list[TaggedSeries]], offsets: list[TaggedSeries]
) -> dict[str, PtpRow]:
    rows = board_rows(answers)
    states = [_hour(1, r.process) for r in rows]
    _attach_compliance(rows, states, offsets, 15.0, end_s=float(STEPS[-1]), window_s=3600)
    return {r.process: r for r in rows}


def test_a_clock_types_row_takes_no_other_processs_offset_history() -> None:
    """A T-GM: its GM row (the clock's overall state) has no offset of its own; the DPLL's
    phase offset (no row of its own, listed first) is neither its Within % nor its chart,
    and ts2phc keeps its own."""
    answers = {"clock_state": [_now(1, "GM"), _now(1, "ts2phc")], "offset": [_now(3, "ts2phc")]}
    rows = _with_history(answers, [_hour(5000, "dpll"), _hour(3, "ts2phc")])
    gm, ts2phc = rows["GM"], rows["ts2phc"]
    assert gm.compliance is not None and gm.compliance.within_pct is None
    assert gm.history is None and gm.offset_ns is None
    assert ts2phc.compliance is not None and ts2phc.compliance.within_pct == 100
    assert ts2phc.history is not None and set(ts2phc.history[1].tolist()) == {3.0}


def test_no_row_takes_the_offset_history_of_a_process_with_a_row_of_its_own() -> None:
    """ts2phc has a row of its own: its offset is not phc2sys's (a row without one), as the
    instant join never gives it."""
    answers = {"clock_state": [_now(1, "phc2sys"), _now(1, "ts2phc")],
               "offset": [_now(3, "ts2phc")]}  # fmt: skip
    rows = _with_history(answers, [_hour(3, "ts2phc")])
    assert rows["phc2sys"].offset_ns is None and rows["phc2sys"].history is None
    assert rows["phc2sys"].compliance is not None
    assert rows["phc2sys"].compliance.within_pct is None


def test_a_row_still_falls_back_to_a_process_without_a_row() -> None:
    """A ptp4l port whose own offset is missing shows the DPLL's (no row of its own), now and
    over the window alike; a clock type's row shows it neither now nor over the window."""
    answers = {"clock_state": [_now(1, "ptp4l"), _now(1, "GM")], "offset": [_now(40, "dpll")]}
    rows = _with_history(answers, [_hour(40, "dpll")])
    port, gm = rows["ptp4l"], rows["GM"]
    assert port.offset_ns == 40 and port.history is not None
    assert port.compliance is not None and port.compliance.within_pct == 100
    assert gm.offset_ns is None and gm.history is None
    assert gm.compliance is not None and gm.compliance.within_pct is None


def _boundary_clock(role_of_f0: float = 1) -> list[PtpRow]:
    bc = {"node": "bc-0", "process": "ptp4l"}

    def now(value: float, iface: str) -> TaggedSeries:
        labels = bc | {"iface": iface}
        return TaggedSeries("c1", PromSeries(labels, np.array([1000.0]), np.array([value])))

    return board_rows({
        "clock_state": [now(1, "ens2fx")], "offset": [now(5, "ens2fx")],
        "role": [now(role_of_f0, "ens2f0"), now(2, "ens2f1")],
    })  # fmt: skip


def test_a_healthy_master_port_is_not_unknown_nor_shown_before_its_clock() -> None:
    clock, master = _boundary_clock()
    assert (clock.iface, clock.role, master.iface, master.role) == (
        "ens2fx", "SLAVE", "ens2f1", "MASTER")  # fmt: skip
    assert master.port_only and not master.needs_attention
    assert master.rank > clock.rank > RANK_UNKNOWN


def test_a_faulty_port_only_row_still_needs_attention() -> None:
    """A FAULTY port is a warning, ranked with the faults; the clock's own row is kept."""
    rows = _boundary_clock(role_of_f0=3)
    faulty = next(r for r in rows if r.iface == "ens2f0")
    assert faulty.role == "FAULTY" and faulty.needs_attention and rows[0] is faulty
