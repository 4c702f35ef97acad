"""The PTP board joins linuxptp-daemon's series as the daemon labels them: the clock state and
offset name the port a clock follows by its NIC's alias (ens2f0 -> ens2fx), the interface role
names each real port, the clock class names no port (``process``, ``node``, and since 2025
``config``). A clock announcing class 248 read fine and a FAULTY port never appeared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow
from aiops_desktop.services.fleet.findings import ptp_findings
from aiops_desktop.services.gpu_cnf.ptp import board_rows, port_aliases
from analysis.ptp_compliance import PORT_ONLY_NOTE

N = "du-node-1"


def tagged(labels: dict[str, Any], value: float, *, cluster: str = "ran-east",
           t: float = 1000.0) -> TaggedSeries:  # fmt: skip
    return TaggedSeries(cluster, PromSeries(dict(labels), np.array([t]), np.array([value])))


def port(iface: str, process: str = "ptp4l", node: str = N) -> dict[str, str]:
    return {"node": node, "iface": iface, "process": process}


def findings(rows: list[PtpRow]) -> list[tuple[FindingSeverity, str, str]]:
    board = PtpBoard(rows, timedelta(hours=1), DEFAULT_THRESHOLD, [])
    return [(f.severity, f.subject, f.reason) for fs in ptp_findings(board).values() for f in fs]


def by_iface(rows: list[PtpRow]) -> dict[tuple[str, str], PtpRow]:
    return {(r.iface, r.process): r for r in rows}


def boundary_clock(klass: float, faulty: bool = True) -> dict[str, list[TaggedSeries]]:
    """A T-BC as linuxptp-daemon labels it: its slave port ens2f0 followed (state and offset on
    the alias ens2fx), ens2f1 and ens2f2 leading or FAULTY, the class of its ptp4l."""
    return {
        "clock_state": [tagged(port("ens2fx"), 1), tagged(port("CLOCK_REALTIME", "phc2sys"), 1)],
        "offset": [tagged(port("ens2fx") | {"from": "master"}, 4),
                   tagged(port("CLOCK_REALTIME", "phc2sys") | {"from": "phc"}, 2)],
        "clock_class": [tagged({"node": N, "process": "ptp4l"}, klass)],
        "role": [tagged(port("ens2f0"), 1), tagged(port("ens2f1"), 3 if faulty else 2),
                 tagged(port("ens2f2"), 2)],
    }  # fmt: skip


def test_the_class_reaches_every_row_of_its_process_and_a_faulty_port_is_a_row() -> None:
    rows = board_rows(boundary_clock(248))
    got = by_iface(rows)
    assert set(got) == {("ens2fx", "ptp4l"), ("CLOCK_REALTIME", "phc2sys"),
                        ("ens2f1", "ptp4l"), ("ens2f2", "ptp4l")}  # fmt: skip
    slave = got["ens2fx", "ptp4l"]
    assert (slave.state, slave.role, slave.clock_class) == (ClockState.LOCKED, "SLAVE", 248)
    assert slave.class_trouble == ["clock class 248: default: free-running, no time reference"]
    assert slave.needs_attention
    assert got["CLOCK_REALTIME", "phc2sys"].clock_class is None  # not phc2sys's class
    faulty, master = got["ens2f1", "ptp4l"], got["ens2f2", "ptp4l"]
    assert (faulty.role, faulty.state, faulty.clock_class) == ("FAULTY", ClockState.UNKNOWN, 248)
    assert faulty.needs_attention and "port FAULTY" in faulty.notes
    assert master.role == "MASTER" and PORT_ONLY_NOTE in master.notes
    assert "no offset reported" not in master.notes  # a leading port has no offset of its own
    said = findings(rows)
    assert (FindingSeverity.WARNING, "du-node-1/ens2f1 (ptp4l)", "port FAULTY") in said
    classes = [s for s in said if s[2].startswith("clock class 248")]
    assert classes == [
        (
            FindingSeverity.WARNING,
            "du-node-1/ens2fx (ptp4l)",
            "clock class 248: default: free-running, no time reference",
        )
    ]
    # the node's class once, by the clock's own row: not once per port of the process
    assert not any("unknown" in s[2] or "no offset" in s[2] for s in said)


def test_a_locked_class_and_leading_ports_say_nothing() -> None:
    rows = board_rows(boundary_clock(6, faulty=False))
    assert findings(rows) == []
    assert all(r.clock_class == 6 for r in rows if r.process == "ptp4l")


@pytest.mark.parametrize(("iface", "alias"), [
    ("ens2f0", "ens2fx"),            # the last character masked (every release)
    ("ens2f0.100", "ens2fx.100"),    # a VLAN kept (2025-04)
    ("enP2s2f0np0", "enP2s2fx"),     # Mellanox: digits and np suffix masked (2025-09)
    ("eth10", "ethx"),               # the last digits masked (2025-09)
    ("eth10", "eth1x"),              # the last character masked (before)
    ("ens2f0", "ens2f0"),            # not aliased (2026: a NIC whose ports alias apart)
])  # fmt: skip
def test_a_port_aliases_as_each_daemon_release_masks_it(iface: str, alias: str) -> None:
    assert alias in port_aliases(iface)
    assert port_aliases("") == frozenset()


def test_a_mellanox_or_vlan_port_joins_its_alias_row() -> None:
    answers = {
        "clock_state": [tagged(port("enP2s2fx"), 1), tagged(port("ens1fx.100"), 1)],
        "offset": [tagged(port("enP2s2fx") | {"from": "master"}, 3),
                   tagged(port("ens1fx.100") | {"from": "master"}, 5)],
        "role": [tagged(port("enP2s2f0np0"), 1), tagged(port("ens1f0.100"), 1)],
    }  # fmt: skip
    rows = board_rows(answers)
    assert sorted((r.iface, r.role) for r in rows) == [("enP2s2fx", "SLAVE"),
                                                       ("ens1fx.100", "SLAVE")]  # fmt: skip
    assert findings(rows) == []


def test_the_slave_port_went_faulty_every_port_keeps_its_name() -> None:
    """The daemon's alias row turns FREERUN (offset 999999) when its slave port goes FAULTY:
    with no SLAVE among the NIC's ports, none of them is the row's: each is a row."""
    answers = {
        "clock_state": [tagged(port("ens2fx"), 0)],
        "offset": [tagged(port("ens2fx") | {"from": "master"}, 999999)],
        "clock_class": [tagged({"node": N, "process": "ptp4l", "config": "ptp4l.0.config"}, 165)],
        "role": [tagged(port("ens2f0"), 3), tagged(port("ens2f1"), 2)],
    }  # fmt: skip
    rows = board_rows(answers)
    got = by_iface(rows)
    assert rows[0].iface == "ens2fx" and rows[0].state is ClockState.FREERUN
    assert got["ens2fx", "ptp4l"].role == "UNKNOWN"
    assert got["ens2f0", "ptp4l"].role == "FAULTY" and got["ens2f1", "ptp4l"].role == "MASTER"
    said = findings(rows)
    assert (FindingSeverity.CRITICAL, "du-node-1/ens2fx (ptp4l)",
            "clock in FREERUN (clock class 165)") in said  # fmt: skip
    assert (FindingSeverity.WARNING, "du-node-1/ens2f0 (ptp4l)", "port FAULTY") in said
    assert not any(s[2].startswith("clock class 165") for s in said)  # FREERUN named it


def test_one_class_per_config_each_row_gets_the_worst_with_a_note() -> None:
    """A dual-NIC boundary clock: one ptp4l per config, each announcing its class; which
    config drives which port is not in the metrics."""
    cc = {"node": N, "process": "ptp4l"}
    answers = {
        "clock_state": [tagged(port("ens1fx"), 1), tagged(port("ens2fx"), 1)],
        "offset": [tagged(port(i) | {"from": "master"}, 3) for i in ("ens1fx", "ens2fx")],
        "clock_class": [tagged(cc | {"config": "ptp4l.0.config"}, 6),
                        tagged(cc | {"config": "ptp4l.1.config"}, 135),
                        tagged(cc | {"config": "ptp4l.1.config", "pod": "old"}, 248, t=900.0)],
    }  # fmt: skip
    rows = board_rows(answers)
    assert [r.clock_class for r in rows] == [135, 135]  # 248 was the restarted pod's, older
    note = "clock class per ptp4l config: ptp4l.0.config 6, ptp4l.1.config 135; the worst shown"
    assert all(note in r.notes for r in rows)


@pytest.mark.parametrize(("classes", "worst"), [
    ((6, 248), 248), ((7, 140), 140), ((135, 52), 52), ((165, 248), 248), ((255, 7), 7),
])  # fmt: skip
def test_the_worst_class_of_several(classes: tuple[int, int], worst: int) -> None:
    cc = {"node": N, "process": "ptp4l"}
    answers = {
        "clock_state": [tagged(port("ens1fx"), 1)],
        "offset": [tagged(port("ens1fx") | {"from": "master"}, 3)],
        "clock_class": [tagged(cc | {"config": f"c{k}"}, v) for k, v in enumerate(classes)],
    }
    (row,) = board_rows(answers)
    assert row.clock_class == worst


def test_a_grandmaster_without_ptp4l_rows_still_shows_its_class() -> None:
    """A T-GM whose clock state comes from its GM, ts2phc and DPLL: its ptp4l class lands on
    the node's rows rather than nowhere, and is said once."""
    gm = "gm-node-1"
    procs = ("GM", "ts2phc", "dpll")
    answers = {
        "clock_state": [tagged(port("ens2fx", p, gm), 1) for p in procs],
        "offset": [tagged(port("ens2fx", p, gm) | {"from": "master"}, 2) for p in procs],
        "clock_class": [tagged({"node": gm, "process": "ptp4l", "config": "ptp4l.0.config"},
                               140)],
    }  # fmt: skip
    rows = board_rows(answers)
    assert {r.clock_class for r in rows} == {140} and len(rows) == 3
    said = findings(rows)
    assert [s[2] for s in said] == [
        "clock class 140: T-GM holdover, out of spec (category 1 frequency source)"
    ]


def test_the_fixtures_label_sets_still_join_port_by_port() -> None:
    """tests/servers/ptp_fleet.py and the bundled sample label the class and the role with the
    clock state's own port name: they keep joining that row, and make no row of their own."""
    answers: dict[str, list[TaggedSeries]] = {"clock_state": [], "offset": [],
                                              "clock_class": [], "role": []}  # fmt: skip
    for node, iface, klass, role in (("gm-0", "ens2f0", 6, 2), ("du-0", "ens1f0", 255, 1),
                                     ("du-2", "ens1f0", 165, 1)):  # fmt: skip
        p = port(iface, node=node)
        answers["clock_state"].append(tagged(p, 1))
        answers["offset"].append(tagged(p | {"from": "master"}, 10))
        answers["clock_class"].append(tagged(p, klass))
        answers["role"].append(tagged(p, role))
    rows = {r.node: r for r in board_rows(answers)}
    assert len(rows) == 3
    assert [(rows[n].clock_class, rows[n].role) for n in ("gm-0", "du-0", "du-2")] == [
        (6, "MASTER"), (255, "SLAVE"), (165, "SLAVE")]  # fmt: skip
    assert not any(PORT_ONLY_NOTE in r.notes for r in rows.values())


def test_a_role_of_no_port_makes_no_row() -> None:
    answers = {"clock_state": [tagged(port("ens1fx"), 1)],
               "role": [tagged({"node": N, "process": "ptp4l"}, 3)]}  # fmt: skip
    assert [r.iface for r in board_rows(answers)] == ["ens1fx"]


def test_each_cluster_joins_its_own() -> None:
    answers = {
        "clock_state": [tagged(port("ens2fx"), 1, cluster=c) for c in ("a", "b")],
        "offset": [tagged(port("ens2fx") | {"from": "master"}, 1, cluster=c) for c in "ab"],
        "clock_class": [tagged({"node": N, "process": "ptp4l"}, 248, cluster="b")],
        "role": [tagged(port("ens2f0"), 1, cluster="a")],
    }
    got = {r.cluster: r for r in board_rows(answers)}
    assert (got["a"].clock_class, got["a"].role) == (None, "SLAVE")
    assert (got["b"].clock_class, got["b"].role) == (248, "UNKNOWN")
