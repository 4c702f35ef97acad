"""Three ways the PTP board misread linuxptp-daemon.

- A ptp4l up but never locked (wrong domain, no grandmaster since the daemon started) has no
  clock state, offset or, before 2025, role: linuxptp-daemon publishes only its process
  status and the slave-only class 255 (and since 2025 a LISTENING role). The node had no row,
  or a role-only row ranked fine, and no finding: it read as in sync beside a LOCKED node.
- A member's 20 kB ``iface`` label took the alias regex seconds (quadratic backtracking),
  holding the GIL: the whole app froze.
- The restart count read one per config too many: the daemon counts every start, the first
  included, so a ptp4l never restarted read "1 restart" (a dual-NIC boundary clock: 2).
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest

from aiops_desktop.cli.gpu_cnf import _running_text
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard
from aiops_desktop.services.fleet.findings import ptp_findings
from aiops_desktop.services.gpu_cnf import ptp
from aiops_desktop.services.gpu_cnf.ptp import board_rows, port_aliases

SILENT = "PTP state unknown: ptp4l is up but has published no clock state"


def tagged(labels: dict[str, str], value: float) -> TaggedSeries:
    return TaggedSeries("ran", PromSeries(labels, np.array([1.0]), np.array([float(value)])))


def _never_locked(listening: bool) -> dict[str, list[TaggedSeries]]:
    """du-1 LOCKED; du-2's ptp4l and phc2sys up, class 255, no clock state or offset."""
    answers = {
        "clock_state": [tagged({"node": "du-1", "iface": "ens1fx", "process": "ptp4l"}, 1)],
        "offset": [tagged({"node": "du-1", "iface": "ens1fx", "process": "ptp4l"}, 5)],
        "process_status": [
            tagged({"node": n, "process": p, "config": f"{p}.0.config"}, 1)
            for n in ("du-1", "du-2")
            for p in ("ptp4l", "phc2sys")
        ],
        "clock_class": [tagged({"node": n, "process": "ptp4l"}, 255) for n in ("du-1", "du-2")],
    }
    if listening:  # since 2025 the daemon says LISTENING (role 5) while ptp4l listens
        answers["role"] = [tagged({"node": "du-2", "iface": "ens1f0", "process": "ptp4l"}, 5)]
    return answers


@pytest.mark.parametrize("listening", [False, True])
def test_a_ptp4l_up_that_never_locked_is_a_warning_not_fine(listening: bool) -> None:
    rows = board_rows(_never_locked(listening))
    (du2,) = [r for r in rows if r.node == "du-2"]
    assert (du2.process, du2.state, du2.process_up) == ("ptp4l", ClockState.UNKNOWN, True)
    assert du2.iface == ("ens1f0" if listening else "")
    assert du2.needs_attention and SILENT in du2.notes and not du2.port_only
    assert rows[0] is du2  # worst first: before du-1, LOCKED
    board = PtpBoard(rows, timedelta(hours=1), DEFAULT_THRESHOLD, [])
    found = [(f.subject, f.severity, f.reason) for f in ptp_findings(board)["ran"]]
    assert found == [(f"du-2/{du2.iface} (ptp4l)", FindingSeverity.WARNING, SILENT)]


def test_a_role_only_port_on_a_node_with_no_clock_is_unknown_not_fine() -> None:
    answers = _never_locked(listening=True)
    del answers["process_status"]  # nothing says ptp4l runs: its port is still not in sync
    (du2,) = [r for r in board_rows(answers) if r.node == "du-2"]
    assert not du2.port_only and du2.rank == 4  # RANK_UNKNOWN: counted unknown, not fine
    board = PtpBoard([du2], timedelta(hours=1), DEFAULT_THRESHOLD, [])
    assert [f.severity for f in ptp_findings(board)["ran"]] == [FindingSeverity.WARNING]


class _Spy:
    """The alias regex, counting the lengths of the names it is asked to match."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.asked = pattern, list[int]()

    def match(self, text: str) -> re.Match[str] | None:
        self.asked.append(len(text))
        return self.pattern.match(text)


def test_a_long_iface_label_is_its_own_alias_and_never_backtracks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = _Spy(ptp._ALIAS)
    monkeypatch.setattr(ptp, "_ALIAS", spy)
    hostile = "1" * 20000 + "x"  # the old regex: 15 s, holding the GIL
    assert port_aliases(hostile) == frozenset({hostile})
    answers = {
        "clock_state": [tagged({"node": "n1", "iface": "ens1fx", "process": "ptp4l"}, 1)],
        "role": [tagged({"node": "n1", "iface": hostile, "process": "ptp4l"}, 1)],
    }
    assert {r.iface for r in board_rows(answers)} == {"ens1fx", hostile}
    assert port_aliases("enP2s2f0np0") >= {"enP2s2fx"}
    assert spy.asked == [len("enP2s2f0np0")]  # real names still aliased, long ones never


@pytest.mark.parametrize(("counts", "said"), [([1], 0), ([1, 1], 0), ([3, 1], 2), ([0], 0)])
def test_restarts_leave_out_each_config_s_first_start(counts: list[int], said: int) -> None:
    configs = [{"node": "bc-1", "process": "ptp4l", "config": f"ptp4l.{i}.config"}
               for i in range(len(counts))]  # fmt: skip
    answers = {
        "clock_state": [tagged({"node": "bc-1", "iface": "ens1fx", "process": "ptp4l"}, 1)],
        "process_status": [tagged(c, 1) for c in configs],
        "restarts": [tagged(c, n) for c, n in zip(configs, counts, strict=True)],
    }
    (row,) = board_rows(answers)
    assert row.restarts == said
    assert f"ptp4l up, {said} restart{'' if said == 1 else 's'}" in _running_text(row)
