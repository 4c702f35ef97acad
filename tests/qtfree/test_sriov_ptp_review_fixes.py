"""Review fixes to the SR-IOV reads and the PTP board, tool and command.

- A cluster whose SriovNetworks or labelled pods could not be listed (403, a timeout), or
  whose one SriovNetwork was malformed (a VLAN "²": a digit to ``str.isdigit``, not to
  ``int``), was "not read" whole: its node states (some Failed) were thrown away while the
  fleet said the node CRITICAL. What was not read is now said, the node states kept.
- A T-GM's LOCKED GM row (a clock type: no offset of its own by design) ranked unknown.
- A capture recorded at a coarser step than asked was laid on the asked step's grid: a port
  LOCKED all hour read 50 % locked.
- ``get_ptp_status`` counted a boundary clock's MASTER ports (a role only) as UNKNOWN, which
  its description says means no data.
- ``aiops-desktop ptp`` printed no process status, restarts, GNSS or DPLL state.
"""

from __future__ import annotations

import argparse
import asyncio
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aiops_desktop.cli import gpu_cnf as cli
from aiops_desktop.models import Cluster
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.models.ptp import RANK_FINE, RANK_UNKNOWN, ClockState, PtpBoard
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.gpu_cnf import ptp
from aiops_desktop.services.gpu_cnf.cnf import PODS, SRIOV_NETWORKS, read_sriov_objects
from aiops_desktop.services.gpu_cnf.ptp import board_rows, read_ptp_board
from aiops_desktop.services.gpu_cnf.sriov import network_rows
from aiops_desktop.services.kube.session import SRIOV_STATES, KubeSession
from aiops_desktop.services.outputs.recorded import (
    RecordedQueries,
    objects_unread,
    record_objects,
    recorded_objects,
)
from collectors.errors import CollectorTimeout, KubeForbidden
from tests.qtfree.test_hw_review3 import _OneCluster

FAILED = {"metadata": {"name": "worker-7"},
          "status": {"syncStatus": "Failed", "lastSyncError": "VF config failed"}}  # fmt: skip
NET = {"metadata": {"name": "fh-net"}, "spec": {"resourceName": "fh", "vlan": 100}}
POD = {"metadata": {"name": "du-0", "namespace": "du-a",
                    "labels": {"app.kubernetes.io/component": "du"}}}  # fmt: skip


class Kube:
    """A cluster whose node states read; ``failing`` path -> the error its list raises."""

    def __init__(self, failing: dict[str, Exception] | None = None,
                 networks: list[dict[str, Any]] | None = None) -> None:  # fmt: skip
        self.failing = failing or {}
        self.networks = [NET] if networks is None else networks

    async def sriov_states(self, name: str) -> list[dict[str, Any]]:
        return [FAILED]

    async def objects(self, name: str, path: str, **_: Any) -> list[dict[str, Any]]:
        if path in self.failing:
            raise self.failing[path]
        return {SRIOV_NETWORKS: self.networks, PODS: [POD]}.get(path, [])


def _read(kube: Kube) -> Any:
    clusters = [Cluster(name="ran-east", api_server_url="https://api.ran-east:6443")]
    return asyncio.run(read_sriov_objects(kube, clusters))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "error", "what"),
    [
        (SRIOV_NETWORKS, KubeForbidden("sriovnetworks is forbidden (403)"), "SriovNetworks"),
        (PODS, CollectorTimeout("pods list timed out"), "labelled CNF pods"),
    ],
)
def test_a_list_not_read_is_said_and_the_node_states_kept(
    path: str, error: Exception, what: str
) -> None:
    objects = _read(Kube({path: error}))
    assert [(c, n.node, n.status) for c, n in objects.nodes] == [("ran-east", "worker-7", "Failed")]
    assert objects.unread == {}
    assert objects.problems == [f"ran-east: its {what} were not read: {error}"]
    other = objects.pods if path == SRIOV_NETWORKS else objects.networks
    assert len(other) == 1  # the other list still shown


class _Client:
    """A cluster's Kubernetes API: node states read, ``failing`` path -> its list's error."""

    def __init__(self, failing: dict[str, Exception]) -> None:
        self.failing = failing

    async def list(self, path: str, label_selector: Any = None, field_selector: Any = None) -> Any:
        if path in self.failing:
            raise self.failing[path]
        return ([FAILED] if path == SRIOV_STATES else []), None


class _Pool:
    offline = None

    def __init__(self, client: _Client) -> None:
        self.client = client

    async def kube(self, cluster: Cluster) -> _Client:
        return self.client


@pytest.mark.parametrize(
    ("path", "error", "what"),
    [
        (SRIOV_NETWORKS, KubeForbidden("ran-east: sriovnetworks is forbidden (403)"),
         "SriovNetworks"),
        (PODS, CollectorTimeout("ran-east: pods list timed out"), "labelled CNF pods"),
    ],
)  # fmt: skip
@pytest.mark.asyncio
async def test_a_list_not_read_at_export_fails_as_it_did_when_opened(
    path: str, error: Exception, what: str
) -> None:
    """The export recorded no failure for it (said only in the read's problems): opened, the
    list was "not recorded in the capture", not the 403 or timeout it met; the recorded node
    states are still served."""
    registry = _OneCluster()
    kube = KubeSession(registry, _Pool(_Client({path: error})), None, None)  # type: ignore[arg-type]
    into: dict[str, list[dict[str, Any]]] = {}
    await record_objects(kube, [registry.east], into)
    assert objects_unread(into) == {"ran-east": str(error)}
    opened = KubeSession(registry, _Pool(_Client({})), None, None)  # type: ignore[arg-type]
    opened.recorded = recorded_objects(into)
    objects = await read_sriov_objects(opened, [registry.east])
    assert [(c, n.node, n.status) for c, n in objects.nodes] == [("ran-east", "worker-7", "Failed")]
    assert objects.problems == [
        f"ran-east: its {what} were not read: {error} (when the capture was made)"
    ]


def test_a_malformed_sriov_network_is_said_and_the_node_states_kept() -> None:
    objects = _read(Kube(networks=[NET, {"metadata": {"name": "x"}, "spec": ["not", "a map"]}]))
    assert [n.node for _, n in objects.nodes] == ["worker-7"]
    assert objects.unread == {} and objects.networks == []
    (said,) = objects.problems
    assert said.startswith("ran-east: its SriovNetworks were not read: a SriovNetwork is not")


@pytest.mark.parametrize("vlan", ["\u00b2", "1" * 5000, "-3", "ten"])
def test_a_vlan_that_is_no_number_is_said_not_fatal(vlan: str) -> None:
    bad = {"metadata": {"name": "fh-bad"}, "spec": {"resourceName": "fh", "vlan": vlan}}
    objects = _read(Kube(networks=[NET, bad]))
    assert [n.node for _, n in objects.nodes] == ["worker-7"]
    assert sorted((n.name, n.vlan) for _, n in objects.networks) == [
        ("fh-bad", None), ("fh-net", 100),
    ]  # fmt: skip
    (said,) = objects.problems
    assert said.startswith("ran-east: SriovNetwork fh-bad: its VLAN ") and len(said) < 200
    assert said.endswith(" is not a number: shown as none")


def test_a_vlan_unset_is_none_and_unsaid() -> None:
    said: list[str] = []
    (row,) = network_rows([{"metadata": {"name": "n"}, "spec": {}}], said)
    assert row.vlan is None and said == []


# -- PTP ---------------------------------------------------------------------------------------
def _now(value: float, **labels: str) -> TaggedSeries:
    return TaggedSeries("ran-east", PromSeries(labels, np.array([1000.0]), np.array([value])))


GM = {"node": "gm-0", "iface": "ens2fx"}


def test_a_locked_clock_type_row_without_an_offset_ranks_fine() -> None:
    rows = board_rows({
        "clock_state": [_now(1, **GM, process="GM"), _now(1, **GM, process="ts2phc")],
        "offset": [_now(3, **GM, process="ts2phc")],
    })  # fmt: skip
    assert {r.process: r.rank for r in rows} == {"GM": RANK_FINE, "ts2phc": RANK_FINE}


@pytest.mark.parametrize(("state", "rank"), [(2, 1), (0, 0), (7, RANK_UNKNOWN)])
def test_a_clock_type_row_not_locked_is_ranked_by_its_state(state: float, rank: int) -> None:
    (row,) = board_rows({"clock_state": [_now(state, **GM, process="BC")]})
    assert row.rank == rank


def test_a_process_of_no_clock_type_without_an_offset_is_still_unknown() -> None:
    (row,) = board_rows({"clock_state": [_now(1, **GM, process="ptp4l")]})
    assert row.state is ClockState.LOCKED and row.rank == RANK_UNKNOWN


def test_a_capture_recorded_at_a_coarser_step_is_judged_at_that_step() -> None:
    end = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    stamps = [end.timestamp() - 30 * i for i in range(120, -1, -1)]  # an hour every 30 s
    port = {"node": "du-1", "iface": "ens2fx", "process": "ptp4l"}
    offset = port | {"from": "master"}
    doc = {
        "RANGE openshift_ptp_clock_state": [["ran-east", port, stamps, [1.0] * len(stamps)]],
        "RANGE openshift_ptp_offset_ns": [["ran-east", offset, stamps, [5.0] * len(stamps)]],
        "INSTANT openshift_ptp_clock_state": [["ran-east", port, [stamps[-1]], [1.0]]],
        "INSTANT openshift_ptp_offset_ns": [["ran-east", offset, [stamps[-1]], [5.0]]],
    }
    queries = RecordedQueries(None, doc, ends=end)  # type: ignore[arg-type]
    clusters = [Cluster(name="ran-east", api_server_url="https://api.ran-east:6443")]
    board = asyncio.run(read_ptp_board(queries, clusters, window=timedelta(hours=1),
                                       step=timedelta(seconds=15), end=end))  # fmt: skip
    (row,) = board.rows
    assert row.compliance is not None
    assert row.compliance.resolution_s == 30
    assert row.compliance.locked_pct == 100 and row.compliance.within_pct == 100
    assert row.compliance.unknown_s == 0


def _board_of(answers: dict[str, list[TaggedSeries]]) -> PtpBoard:
    return PtpBoard(board_rows(answers), timedelta(hours=1), ptp.DEFAULT_THRESHOLD, [])


@pytest.mark.asyncio
async def test_get_ptp_status_counts_role_only_ports_apart_from_unknown() -> None:
    du = {"node": "du-1", "process": "ptp4l"}
    board = _board_of({
        "clock_state": [_now(1, **du, iface="ens2fx"), _now(7, **du, iface="ens3fx")],
        "offset": [_now(4, **du, iface="ens2fx")],
        "role": [_now(1, **du, iface="ens2f0"), _now(2, **du, iface="ens2f1"),
                 _now(2, **du, iface="ens2f2")],
    })  # fmt: skip

    async def ptp_board(_range: Any) -> tuple[PtpBoard, list[str]]:
        return board, []

    core = SimpleNamespace(gpu_cnf=SimpleNamespace(ptp_board=ptp_board))
    doc = await tools.get_ptp_status(core, tools.PtpInput())  # type: ignore[arg-type]
    assert doc["by_state"] == {"LOCKED": 1, "UNKNOWN": 1, tools.PORT_ROLE_ONLY: 2}
    assert {p["iface"]: p["state"] for p in doc["ports"]} == {
        "ens2fx": "LOCKED", "ens3fx": "UNKNOWN",
        "ens2f1": tools.PORT_ROLE_ONLY, "ens2f2": tools.PORT_ROLE_ONLY,
    }  # fmt: skip
    said = tools.PtpInput.model_json_schema()["properties"]["problems_only"]["description"]
    assert tools.PORT_ROLE_ONLY in said


def _cli_text(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[TaggedSeries]]) -> str:
    board = _board_of(answers)

    async def read_board(*_: Any, **__: Any) -> PtpBoard:
        return board

    async def no_profiles() -> tuple[dict[Any, Any], list[str]]:
        return {}, []

    monkeypatch.setattr(ptp, "read_ptp_board", read_board)
    monkeypatch.setattr(
        cli, "chosen_clusters", lambda *_: ([SimpleNamespace(name="ran-east")], None)
    )
    core = SimpleNamespace(now=lambda: datetime(2026, 1, 1, tzinfo=UTC), capture=None,
                           queries=None,
                           kube=SimpleNamespace(ptp_thresholds=no_profiles))  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(until=None, clusters=None, threshold_ns=None,
                              window=timedelta(hours=1), json=False)  # fmt: skip
    asyncio.run(cli._ptp(core, args, SimpleNamespace(out=out, err=err)))  # type: ignore[arg-type]
    return out.getvalue()


def test_the_ptp_command_says_process_status_and_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"node": "du-1", "process": "ptp4l", "config": "ptp4l.0.config"}
    du = {"node": "du-1", "iface": "ens2fx", "process": "ptp4l"}
    text = _cli_text(monkeypatch, {
        "clock_state": [_now(1, **du)], "offset": [_now(4, **du)],
        "process_status": [_now(1, **config)], "restarts": [_now(7, **config)],
    })  # fmt: skip
    (line,) = [t for t in text.splitlines() if t.startswith("LOCKED")]
    assert (
        "ran-east/du-1/ens2fx (ptp4l) UNKNOWN class None offset 4 ns; ptp4l up, 6 restarts |"
        in line
    )


def test_the_ptp_command_says_a_grandmaster_s_gnss_and_dpll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _cli_text(monkeypatch, {
        "clock_state": [_now(1, **GM, process="ts2phc")],
        "offset": [_now(3, **GM, process="ts2phc")],
        "gnss": [_now(3, **GM, process="gnss")],
        "dpll_phase": [_now(2, **GM, process="dpll")],
        "dpll_frequency": [_now(2, **GM, process="dpll")],
    })  # fmt: skip
    (line,) = [t for t in text.splitlines() if t.startswith("LOCKED")]
    assert "offset 3 ns; GNSS 3D fix; DPLL phase locked; DPLL frequency locked |" in line
