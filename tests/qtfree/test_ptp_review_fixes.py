"""Two ways a PTP port's offset was misjudged.

- A port's ptp4l row took the offset of ANOTHER process on the same interface (ts2phc, with
  no clock-state row of its own) and, on an instant query (every sample at one time), the
  last-listed series won: a ptp4l port 4000 ns off showed ts2phc's 12 ns, and no finding.
  Another process's series now fills a row only where the row's own process (or a series of
  no process) gave that field nothing: a GNSS/DPLL status still reaches the port's row.
- The fleet's truth (tiles, wall, ``fleet``, notifications) judged every node against the
  default +/-100 ns while the PTP page judges it against its PtpConfig profile's band.
- A process reported down (``process_status`` 0) on a node where it has no clock state row
  (linuxptp-daemon sets a clock state from offset log lines only: a ptp4l that fails at start
  never has one) was thrown away with its restarts: the node vanished from the board and the
  findings. Likewise a bad clock class, GNSS or DPLL status with no row to join.
- A node was judged against one profile although the operator applies every profile of the
  best matching priority (a dual-NIC boundary clock: one per NIC): each port now has its own
  profile's band, the tightest of the node's where no profile names the port; and a match
  entry succeeds by its ``nodeName`` or its ``nodeLabel``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.enums import QueryStatus
from aiops_desktop.models.fleet import Domain
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow, Threshold
from aiops_desktop.services.fleet.findings import ptp_findings
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from analysis.ptp_profiles import NodeThresholds, node_thresholds
from collectors.errors import CollectorError

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PORT = {"node": "du-1", "iface": "ens2fx"}


def tagged(labels: dict[str, Any], value: float, t: float = 1000.0) -> TaggedSeries:
    return TaggedSeries("ran-east", PromSeries(dict(labels), np.array([t]), np.array([value])))


def reasons(rows: list[PtpRow]) -> list[str]:
    board = PtpBoard(rows, timedelta(minutes=10), DEFAULT_THRESHOLD, [])
    return [f.reason for fs in ptp_findings(board).values() for f in fs]


@pytest.mark.parametrize("order", [1, -1])
def test_another_process_offset_does_not_hide_or_replace_the_ports_own(order: int) -> None:
    state = [tagged(PORT | {"process": "ptp4l"}, 1)]
    own_bad = [tagged(PORT | {"process": "ptp4l", "from": "master"}, 4000.0),
               tagged(PORT | {"process": "ts2phc", "from": "phc"}, 12.0)][::order]  # fmt: skip
    (row,) = board_rows({"clock_state": state, "offset": own_bad})
    assert (row.process, row.offset_ns, row.offset_in) == ("ptp4l", 4000.0, False)
    assert reasons([row]) == ["offset 4000 ns beyond +/-100 ns"]

    own_good = [tagged(PORT | {"process": "ptp4l", "from": "master"}, 12.0),
                tagged(PORT | {"process": "ts2phc", "from": "phc"}, 4000.0)][::order]  # fmt: skip
    (row,) = board_rows({"clock_state": state, "offset": own_good})
    assert (row.offset_ns, row.offset_in) == (12.0, True)
    assert reasons([row]) == []


def test_another_process_fills_only_what_the_row_has_none_of() -> None:
    """The GNSS status (``process="gnss"``) of the port still reaches its ptp4l row, as does
    another process's offset where ptp4l reports none; a later sample of another process
    does not replace the row's own, older one; a series of no process stays port-wide."""
    state = [tagged(PORT | {"process": "ptp4l"}, 1)]
    answers = {
        "clock_state": state,
        "offset": [tagged(PORT | {"process": "ts2phc"}, 30.0)],
        "gnss": [tagged(PORT | {"process": "gnss"}, 3)],
        "delay": [tagged(PORT | {"process": "ptp4l"}, 5.0, t=900.0),
                  tagged(PORT | {"process": "ts2phc"}, 7.0, t=1000.0)],
        "freq_adj": [tagged(PORT | {"process": "ptp4l"}, 1.0, t=900.0),
                     tagged(PORT, 2.0, t=1000.0)],
    }  # fmt: skip
    (row,) = board_rows(answers)
    assert (row.offset_ns, row.gnss, row.delay_ns) == (30.0, "3D fix", 5.0)
    assert row.freq_adj_ns == 2.0  # no process label: every process of the port, newest wins


class PtpQueries:
    """A Prometheus with one ptp4l port, locked and 60 ns off; nothing else."""

    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        values = {"openshift_ptp_clock_state": 1.0, "openshift_ptp_offset_ns": 60.0}
        series = []
        if query.promql in values:
            labels = PORT | {"process": "ptp4l"}
            stamps, value = np.array([NOW.timestamp()]), np.array([values[query.promql]])
            series = [TaggedSeries("ran-east", PromSeries(labels, stamps, value))]
        return QueryAnswer(query, QueryStatus.SUCCESS, series,
                           [ClusterOutcome(c.name, True, 1.0) for c in clusters], 1.0)  # fmt: skip


class Kube:
    """The cluster's PtpConfig profiles: du-1 runs one whose band is +/-50 ns."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[dict[str, Any]] = []

    async def ptp_thresholds(self, **kw: Any) -> tuple[dict[tuple[str, str], Threshold], list[str]]:
        self.asked.append(kw)
        if self.fail:
            raise CollectorError("ran-east: 403 forbidden")
        return {("ran-east", "du-1"): Threshold(-50, 50, 5.0, profile="du-tight")}, []

    async def gpus_by_exec(self, name: str) -> list[Any]:
        return []

    async def objects_of_each(self, path: str, **_kw: Any) -> dict[str, Any]:
        return {}


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return self._clusters

    def members(self, cluster: Cluster, seen: Any = ()) -> list[str]:
        return []


class Poller:
    status: dict[Any, Any] = {}  # noqa: RUF012
    alerts: dict[str, Any] = {}  # noqa: RUF012
    member_seen: dict[str, Any] = {}  # noqa: RUF012


class Anomalies:
    async def current(self, within: Any) -> list[Any]:
        return []


class Bus:
    def publish(self, topic: str, payload: Any) -> None:
        pass


def fleet(kube: Kube) -> FleetState:
    east = Cluster(name="ran-east", api_server_url="https://ran-east.invalid:6443",
                   endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS,
                                       url="http://ran-east.invalid:9090")])  # fmt: skip
    return FleetState(Registry([east]), Poller(), PtpQueries(), Anomalies(), Bus(),  # type: ignore[arg-type]
                      kube=kube, clock=lambda: NOW)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.asyncio
async def test_the_fleet_judges_a_port_against_its_profiles_band() -> None:
    kube = Kube()
    truth = await fleet(kube).refresh()
    east = truth.get("ran-east")
    assert east is not None
    assert [f.reason for f in east.findings if f.domain is Domain.PTP] == [
        "offset 60 ns beyond +/-50 ns"
    ]
    assert kube.asked and all(kw.get("max_age_s", 0) > 0 for kw in kube.asked)  # kept a while


@pytest.mark.asyncio
async def test_profiles_that_cannot_be_read_keep_the_default_band() -> None:
    truth = await fleet(Kube(fail=True)).refresh()
    east = truth.get("ran-east")
    assert east is not None  # read, and 60 ns is within +/-100 ns
    assert not [f for f in east.findings if f.domain is Domain.PTP]


# -- a process down with no clock state row ---------------------------------------------------


def status(node: str, process: str, value: float, config: str = "ptp4l.0.config") -> TaggedSeries:
    return tagged({"node": node, "process": process, "config": config}, value)


def test_a_process_down_that_never_reported_a_clock_state_is_a_row_in_trouble() -> None:
    answers = {
        "clock_state": [tagged(PORT | {"process": "ptp4l"}, 1)],
        "offset": [tagged(PORT | {"process": "ptp4l", "from": "master"}, 12.0)],
        "process_status": [status("du-1", "ptp4l", 1), status("du-2", "ptp4l", 0),
                           status("du-2", "phc2sys", 0), status("du-3", "gpsd", 1)],
        "restarts": [tagged({"node": "du-2", "process": "ptp4l", "config": "ptp4l.0.config"},
                            57)],
    }  # fmt: skip
    rows = board_rows(answers)
    got = {(r.node, r.iface, r.process): r for r in rows}
    # du-1's ptp4l has its row; a process up with no clock state (gpsd) makes no row
    assert set(got) == {("du-1", "ens2fx", "ptp4l"), ("du-2", "", "ptp4l"), ("du-2", "", "phc2sys")}
    down = got["du-2", "", "ptp4l"]
    assert (down.state, down.process_up, down.restarts) == (
        ClockState.UNKNOWN,
        False,
        56.0,
    )  # 57 starts
    assert down.down_configs == ["ptp4l.0.config"]
    assert down.needs_attention and got["du-2", "", "phc2sys"].needs_attention
    assert rows[-1].node == "du-1"  # the down ones first
    board = PtpBoard(rows, timedelta(hours=1), DEFAULT_THRESHOLD, [])
    du2 = [(f.subject, f.reason) for f in ptp_findings(board)["ran-east"] if "du-2" in f.subject]
    assert ("du-2/ (ptp4l)", "ptp4l is down (ptp4l.0.config)") in du2
    assert ("du-2/ (phc2sys)", "phc2sys is down (ptp4l.0.config)") in du2


def test_a_process_down_beside_another_processs_rows_is_a_row_of_its_own() -> None:
    """phc2sys reports a clock state; ptp4l, down, none: its status is not lost, nor put on
    phc2sys's row."""
    realtime = {"node": "du-2", "iface": "CLOCK_REALTIME", "process": "phc2sys"}
    answers = {
        "clock_state": [tagged(realtime, 0)],
        "offset": [tagged(realtime, 40000.0)],
        "process_status": [status("du-2", "ptp4l", 0), status("du-2", "phc2sys", 1)],
    }
    got = {(r.iface, r.process): r for r in board_rows(answers)}
    assert set(got) == {("CLOCK_REALTIME", "phc2sys"), ("", "ptp4l")}
    assert got["", "ptp4l"].process_up is False and got["", "ptp4l"].trouble
    assert got["CLOCK_REALTIME", "phc2sys"].process_up is True


def test_a_bad_class_gnss_or_dpll_with_no_row_to_join_is_a_row() -> None:
    gm = {"node": "gm-1", "iface": "ens7f0"}
    answers = {
        "clock_class": [tagged({"node": "gm-1", "process": "ptp4l"}, 248),
                        tagged({"node": "gm-2", "process": "ptp4l"}, 6)],  # locked: no row
        "gnss": [tagged(gm | {"process": "gnss"}, 0)],
        "dpll_phase": [tagged(gm | {"process": "dpll"}, 1)],
    }  # fmt: skip
    got = {(r.node, r.iface, r.process): r for r in board_rows(answers)}
    assert set(got) == {("gm-1", "", "ptp4l"), ("gm-1", "ens7f0", "gnss"),
                        ("gm-1", "ens7f0", "dpll")}  # fmt: skip
    assert got["gm-1", "", "ptp4l"].clock_class == 248
    assert got["gm-1", "ens7f0", "gnss"].signal_trouble == ["GNSS: no fix"]
    assert got["gm-1", "ens7f0", "dpll"].signal_trouble == ["DPLL phase: freerun"]
    assert all(r.needs_attention for r in got.values())


# -- one profile per NIC ----------------------------------------------------------------------


def config(name: str, profile: dict[str, Any], priority: int, **match: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"profile": [profile], "recommend": [
        {"profile": profile["name"], "priority": priority, "match": [match]}]}}  # fmt: skip


def band(name: str, ns: float, **more: Any) -> dict[str, Any]:
    limits = {"minOffsetThreshold": -ns, "maxOffsetThreshold": ns}
    return {"name": name, "ptpClockThreshold": limits, **more}


NIC1 = band("tbc-nic1", 100, interface="ens1f0")
NIC2 = band(
    "tbc-nic2",
    30,
    ptp4lConf="[global]\ndomainNumber 24\n[ens2f0]\nmasterOnly 0\n"
    "[ens2f1]\nmasterOnly 1\n[unicast_master_table]\n",
)


def test_a_node_running_two_profiles_judges_each_port_by_its_own() -> None:
    """A dual-NIC boundary clock: a PtpConfig per NIC at the same priority, both applied
    (ptp-operator controllers/recommend.go: every profile of the best matching priority).
    The first names its port in ``interface``, the second in its ptp4lConf sections."""
    configs = [config("nic1", NIC1, 4, nodeName="du-1"),
               config("nic2", NIC2, 4, nodeLabel="ptp/tbc")]  # fmt: skip
    chosen = node_thresholds(configs, {"du-1": {"ptp/tbc": ""}})
    node = chosen["du-1"]
    assert isinstance(node, NodeThresholds)
    assert (node.band, node.profile) == ("+/-30 ns", "tbc-nic2")  # the tightest, for others
    state = [
        tagged({"node": "du-1", "iface": i, "process": p}, 1)
        for i, p in (("ens1fx", "ptp4l"), ("ens2fx", "ptp4l"), ("CLOCK_REALTIME", "phc2sys"))
    ]
    offsets = [tagged(t.series.labels, 80.0) for t in state]
    roles = [
        tagged({"node": "du-1", "iface": i, "process": "ptp4l"}, r)
        for i, r in (("ens2f0", 1), ("ens2f1", 2))
    ]  # ens2f1 leads: a row of its own
    rows = board_rows({"clock_state": state, "offset": offsets, "role": roles},
                      thresholds={("ran-east", "du-1"): node})  # fmt: skip
    got = {r.iface: r for r in rows}
    assert (got["ens1fx"].threshold.profile, got["ens1fx"].offset_in) == ("tbc-nic1", True)
    assert (got["ens2fx"].threshold.profile, got["ens2fx"].offset_in) == ("tbc-nic2", False)
    assert got["ens2f1"].threshold.profile == "tbc-nic2"  # a port by its own name
    # a port no profile names: the tightest band of the node's
    assert got["CLOCK_REALTIME"].threshold == Threshold(-30, 30, 5.0, "tbc-nic2")
    assert reasons(rows).count("offset 80 ns beyond +/-30 ns") == 2


def test_only_the_best_matching_priority_applies_and_one_profile_stays_a_threshold() -> None:
    """ptp-operator pools the recommend entries of all PtpConfigs and applies the profiles of
    the best priority that matches the node (ties included), not one per PtpConfig."""
    configs = [config("nic1", NIC1, 4, nodeName="du-1"),
               config("nic2", NIC2, 10, nodeName="du-1")]  # fmt: skip
    chosen = node_thresholds(configs, {"du-1": {}})
    assert chosen["du-1"] == Threshold(-100, 100, 5.0, "tbc-nic1")


def test_a_match_entry_succeeds_by_its_node_name_or_its_node_label() -> None:
    configs = [config("tbc", NIC1, 4, nodeName="du-9", nodeLabel="ptp/tbc")]
    chosen = node_thresholds(configs, {"du-1": {"ptp/tbc": ""}, "du-2": {}})
    assert set(chosen) == {"du-1", "du-9"}
    assert chosen["du-1"].profile == "tbc-nic1"
