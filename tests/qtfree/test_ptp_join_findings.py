"""What the PTP board's rows tell the fleet: a port whose clock state or offset is not reported
is a warning (no data is not "in sync", as an unknown GPU is a warning), and a T-GM announcing
140, 150 or 160 is out of its holdover specification (G.8275.1), not in it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, PtpBoard, PtpRow
from aiops_desktop.services.fleet.findings import ptp_findings
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from analysis.ptp_compliance import CLASS_MEANING, class_badness

W = FindingSeverity.WARNING


def tagged(labels: dict[str, Any], value: float) -> TaggedSeries:
    return TaggedSeries("c", PromSeries(dict(labels), np.array([1000.0]), np.array([value])))


def port(node: str, process: str = "ptp4l") -> dict[str, str]:
    return {"node": node, "iface": "ens2fx", "process": process}


def said(rows: list[PtpRow]) -> list[tuple[FindingSeverity, str, str]]:
    board = PtpBoard(rows, timedelta(minutes=10), DEFAULT_THRESHOLD, [])
    return [(f.severity, f.subject, f.reason) for fs in ptp_findings(board).values() for f in fs]


@pytest.mark.parametrize(("process", "state", "offset", "reason"), [
    ("ptp4l", 3, None, "PTP state unknown; no offset reported"),  # the daemon's 3: not known
    ("ptp4l", 3, 5.0, "PTP state unknown"),
    ("ts2phc", float("nan"), 5.0, "PTP state unknown"),
    ("ptp4l", 1, None, "no offset reported"),
    ("GM", 3, None, "PTP state unknown"),  # a clock type's state: no offset of its own
])  # fmt: skip
def test_a_port_not_reporting_its_state_or_offset_is_a_warning(
    process: str, state: float, offset: float | None, reason: str
) -> None:
    answers = {"clock_state": [tagged(port("gm-1", process), state)]}
    if offset is not None:
        answers["offset"] = [tagged(port("gm-1", process) | {"from": "master"}, offset)]
    assert said(board_rows(answers)) == [(W, f"gm-1/ens2fx ({process})", reason)]


def test_a_grandmasters_overall_state_needs_no_offset() -> None:
    """linuxptp-daemon names a T-GM's overall state by its clock type (process "GM") on the
    leading port's alias, with no offset: its sources report theirs."""
    answers = {
        "clock_state": [tagged(port("gm-1", p), 1) for p in ("GM", "ts2phc")],
        "offset": [tagged(port("gm-1", "ts2phc") | {"from": "master"}, 2)],
    }
    rows = board_rows(answers)
    assert said(rows) == []
    gm = next(r for r in rows if r.process == "GM")
    assert gm.notes == ["the clock's overall state: no offset of its own"]


def test_a_reported_locked_port_says_nothing() -> None:
    answers = {"clock_state": [tagged(port("du-1"), 1)],
               "offset": [tagged(port("du-1") | {"from": "master"}, 5)]}  # fmt: skip
    assert said(board_rows(answers)) == []


@pytest.mark.parametrize(("klass", "category"), [(140, 1), (150, 2), (160, 3)])
def test_a_grandmaster_class_140_150_160_is_out_of_holdover_spec(klass: int, category: int) -> None:
    answers = {
        "clock_state": [tagged(port("gm-1"), 1)],
        "offset": [tagged(port("gm-1") | {"from": "master"}, 7)],
        "clock_class": [tagged({"node": "gm-1", "process": "ptp4l"}, klass)],
    }
    (row,) = board_rows(answers)
    text = f"clock class {klass}: T-GM holdover, out of spec (category {category} frequency source)"
    assert row.class_trouble == [text] and row.needs_attention
    assert said([row]) == [(W, "gm-1/ens2fx (ptp4l)", text)]


def test_no_class_the_app_names_out_of_spec_reads_in_spec() -> None:
    out_of_spec = {52, 140, 150, 160, 165, 187}
    for klass, meaning in CLASS_MEANING.items():
        assert ("out of spec" in meaning) == (klass in out_of_spec), klass
    assert "in spec" in CLASS_MEANING[7] and "in spec" in CLASS_MEANING[135]
    ranked = sorted(CLASS_MEANING, key=class_badness)
    assert ranked[:2] == [6, 255] and ranked[-1] == 248
    assert set(ranked[2:4]) == {7, 135}  # in spec before any out of spec
