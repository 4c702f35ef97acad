"""Two ways a PTP port's offset was misjudged.

- A port's ptp4l row took the offset of ANOTHER process on the same interface (ts2phc, with
  no clock-state row of its own) and, on an instant query (every sample at one time), the
  last-listed series won: a ptp4l port 4000 ns off showed ts2phc's 12 ns, and no finding.
  Another process's series now fills a row only where the row's own process (or a series of
  no process) gave that field nothing: a GNSS/DPLL status still reaches the port's row.
- The fleet's truth (tiles, wall, ``fleet``, notifications) judged every node against the
  default +/-100 ns while the PTP page judges it against its PtpConfig profile's band.
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
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, PtpBoard, PtpRow, Threshold
from aiops_desktop.services.fleet.findings import ptp_findings
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.gpu_cnf.ptp import board_rows
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
