"""The GPU, PTP and SR-IOV readers against odd and hostile answers: one member's +Inf sample,
a label that is not what the exporter writes, output nvidia-smi never prints. One cluster's
oddity must not fail the fleet's read, and what is not known must not read as healthy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.gpu import GpuReading, GpuState
from aiops_desktop.models.metrics import MetricQuery, PromSeries, TaggedSeries
from aiops_desktop.models.ptp import ClockState
from aiops_desktop.services.gpu_cnf.gpu import join_readings, read_gpu_fleet, xid_table
from aiops_desktop.services.gpu_cnf.ptp import board_rows, read_ptp_board
from aiops_desktop.services.queries.field_reads import last_value
from analysis.gpu_health import assess
from analysis.ptp_compliance import code_text, role_of
from collectors.errors import CollectorBadResponse, KubeForbidden
from collectors.prometheus import parse_query_data


def tagged(cluster: str, labels: dict[str, Any], *values: float, t0: float = 1000.0,
           step: float = 15.0) -> TaggedSeries:  # fmt: skip
    v = np.array(values, dtype=float)
    return TaggedSeries(cluster, PromSeries(dict(labels), t0 + step * np.arange(v.size), v))


def vector(*items: tuple[dict[str, Any], Any]) -> dict[str, Any]:
    result = [{"metric": m, "value": [1, v]} for m, v in items]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


HOT = {"Hostname": "n9", "gpu": "0", "UUID": "GPU-z"}


# -- defect 1: one odd sample or label breaks the fleet -----------------------------------------
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_last_value_is_unknown_when_not_finite(value: float) -> None:
    assert last_value(tagged("c", {}, 3.0, value)) is None
    assert last_value(tagged("c", {}, value, 3.0)) == 3.0


def test_an_infinite_xid_or_an_odd_gpu_label_spoils_only_its_own_gpu() -> None:
    good = tagged("good", HOT, 95)
    answers = {
        "xid": [tagged("evil", {"Hostname": "n1", "gpu": "0", "UUID": "GPU-a"}, float("inf"))],
        "temperature_c": [good, tagged("evil", {"Hostname": "n1", "gpu": "GPU-0"}, 40),
                          tagged("evil", {"Hostname": ["n2"], "gpu": "0"}, 41),
                          tagged("evil", {"Hostname": "n3", "gpu": "1e9"}, 42)],
    }  # fmt: skip
    readings = join_readings(answers)
    by_key = {r.key: r for r in readings}
    assert by_key["evil/n1/gpu0"].xid is None  # unknown, not a code
    assert by_key["evil/n1/gpuGPU-0"].index is None and by_key["evil/n3/gpu1e9"].index is None
    hot = assess(by_key["good/n9/gpu0"], xid_table())
    assert hot.state is GpuState.CRITICAL  # the rest of the fleet is still read


@pytest.mark.parametrize("value", [43.5, -1.0, 1e12])
def test_an_xid_that_is_no_code_is_unknown(value: float) -> None:
    (reading,) = join_readings({"xid": [tagged("c", HOT, value)]})
    assert reading.xid is None


def test_ptp_codes_that_are_not_codes_are_unknown() -> None:
    port = {"node": "n1", "iface": "ens1", "process": "ptp4l"}
    answers = {
        "clock_state": [tagged("evil", port, float("inf")), tagged("good", port, 0)],
        "clock_class": [tagged("evil", port, 1e300)],
        "role": [tagged("evil", port, float("-inf"))],
        "gnss": [tagged("evil", port, 2.5)],
    }
    rows = {r.cluster: r for r in board_rows(answers)}
    assert rows["good"].state is ClockState.FREERUN
    evil = rows["evil"]
    assert evil.state is ClockState.UNKNOWN and evil.clock_class is None
    assert evil.role == "UNKNOWN" and evil.gnss is None
    assert ClockState.from_metric(7.0) is ClockState.UNKNOWN
    assert code_text({0: "no fix"}, float("inf")) is None and code_text({}, 9.0) == "code 9"
    assert role_of(1e300) == "UNKNOWN"


def test_the_prometheus_parser_gives_labels_as_text_or_refuses_the_answer() -> None:
    (series,) = parse_query_data(vector(({"gpu": 0, "up": True}, "1"))).series
    assert series.labels == {"gpu": "0", "up": "True"}
    for metric in ({"Hostname": ["n1"]}, {"gpu": {"a": 1}}, {"gpu": None}, ["gpu", "0"]):
        with pytest.raises(CollectorBadResponse):
            parse_query_data(vector((metric, "1")))  # type: ignore[arg-type]
    bad_time = {"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {}, "value": ["+Inf", "1"]}]}}  # fmt: skip
    with pytest.raises(CollectorBadResponse):
        parse_query_data(bad_time)
    (inf,) = parse_query_data(vector(({"gpu": "0"}, "+Inf"))).series
    assert np.isinf(inf.values[0])  # a value Prometheus sends: kept, read as unknown


class TwoClusters:
    """``good`` answers an overheating GPU and a FREERUN port; ``evil`` answers +Inf where a
    code belongs. Both answers go through the real parser."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @staticmethod
    def answer(promql: str, cluster: str) -> list[dict[str, Any]]:
        port = {"iface": "ens1", "process": "ptp4l"}
        if cluster == "good":
            if "GPU_TEMP" in promql:
                return [{"metric": HOT, "value": [1, "95"]}]
            if promql == "openshift_ptp_clock_state":
                return [{"metric": {"node": "n9", **port}, "value": [1, "0"]}]
            return []
        if "XID" in promql:
            return [{"metric": {"Hostname": "n1", "gpu": "0", "UUID": "GPU-a"},
                     "value": [1, "+Inf"]}]  # fmt: skip
        if promql in ("openshift_ptp_clock_class", "openshift_ptp_clock_state"):
            return [{"metric": {"node": "n1", **port}, "value": [1, "+Inf"]}]
        return []

    async def run(self, query: MetricQuery, clusters: list[Any]) -> Any:
        series = []
        for cluster in ("good", "evil"):
            found = self.answer(query.promql, cluster)
            kind = "vector"
            if query.query_type.value.lower().startswith("range"):
                found = [{"metric": i["metric"], "values": [i["value"]]} for i in found]
                kind = "matrix"
            parsed = parse_query_data({"status": "success",
                                       "data": {"resultType": kind, "result": found}})  # fmt: skip
            series += [TaggedSeries(cluster, s) for s in parsed.series]
        return types.SimpleNamespace(series=series, failures=[], outcomes=[], query=query)


def test_one_members_infinite_samples_leave_the_fleets_pages_read() -> None:
    fleet = asyncio.run(read_gpu_fleet(TwoClusters(), []))  # type: ignore[arg-type]
    assert next((h.reading.key, h.state) for h in fleet.gpus) == ("good/n9/gpu0", GpuState.CRITICAL)
    board = asyncio.run(read_ptp_board(TwoClusters(), []))  # type: ignore[arg-type]
    states = {r.cluster: r.state for r in board.rows}
    assert states == {"good": ClockState.FREERUN, "evil": ClockState.UNKNOWN}


def test_a_reading_with_an_odd_gpu_label_still_has_a_key_and_no_index() -> None:
    assert GpuReading("c", "n", "-1", "u").index is None
    assert GpuReading("c", "n", "007", "u").index == 7
    assert GpuReading("c", "n", "64", "u").index is None
    assert GpuReading("c", "n", "٣", "u").index is None  # a non-ASCII digit is no index


# -- defect 3: alerts from Alertmanagers not read recently ---------------------------------------
def test_alert_reads_say_which_alertmanagers_were_not_read_and_how_old_each_is() -> None:
    from datetime import UTC, datetime, timedelta

    from aiops_desktop.models.polling import Source, SourceStatus
    from aiops_desktop.services.queries.alerts import alert_reads

    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    fresh = SourceStatus("core-1", Source.ALERTS, 10, last_success=now - timedelta(seconds=8))
    old = SourceStatus("ran-east", Source.ALERTS, 10, last_success=now - timedelta(hours=2),
                       consecutive_errors=700, last_error="503")  # fmt: skip
    never = SourceStatus("edge-7", Source.ALERTS, 10, consecutive_errors=3,
                         last_error="connection refused")  # fmt: skip
    reads = alert_reads({"core-1": fresh, "ran-east": old, "edge-7": never, "hub": None},
                        {"member-1": "ran-east"}, now)  # fmt: skip
    assert reads.managers == 4 and not reads.complete
    assert reads.unread == [
        "edge-7: connection refused (never read)",
        "hub: not read yet (never read)",
        "ran-east: 503 (last read 2.0 h ago)",
    ]
    assert reads.freshness(["core-1"]) == (8.0, False)
    assert reads.freshness(["core-1", "member-1"]) == (7200.0, True)  # through its hub
    assert reads.freshness(["nowhere"]) == (None, False)  # not known: its age is not made up
    assert alert_reads({"core-1": fresh}, now=now).complete
    assert not alert_reads({}, now=now).complete  # no Alertmanager: nothing known


# -- defect 4: unknown data is not health -------------------------------------------------------
def test_a_gpu_no_longer_reported_ranks_before_every_change() -> None:
    from analysis.gpu_health import health_changes

    table = xid_table()
    hot = assess(GpuReading("c", "n", "1", "u", temperature_c=90), table)
    ok = assess(GpuReading("c", "n", "0", "u", temperature_c=40), table)
    hot_now = assess(GpuReading("c", "n", "1", "u", temperature_c=40), table)
    changes = health_changes([ok, hot], [hot_now])
    assert [(c.key, c.after) for c in changes] == [("c/n/gpu0", None), ("c/n/gpu1", GpuState.OK)]


# -- defect 5: the PTP board ranks real problems as needing attention ----------------------------
def test_out_of_spec_classes_a_stopped_ptp4l_and_no_gnss_fix_need_attention() -> None:
    from analysis.ptp_compliance import CLASS_MEANING

    def port(node: str) -> dict[str, str]:
        return {"node": node, "iface": "ens1f0", "process": "ptp4l"}

    nodes = ("ok", "down", "c165", "c248", "c140", "c150", "c160", "c52", "gnss", "nooffset")
    answers = {
        "clock_state": [tagged("c", port(n), 1) for n in nodes],
        "offset": [tagged("c", port(n), 3) for n in nodes if n != "nooffset"],
        "process_status": [tagged("c", {"node": "down", "process": "ptp4l"}, 0)],
        "clock_class": [tagged("c", port(f"c{k}"), k) for k in (165, 248, 140, 150, 160, 52)]
        + [tagged("c", port("ok"), 6)],
        "gnss": [tagged("c", port("gnss"), 0)],
    }
    rows = {r.node: r for r in board_rows(answers)}
    attention = {n for n, r in rows.items() if r.needs_attention}
    assert attention == {"down", "c165", "c248", "c140", "c150", "c160", "c52", "gnss"}
    assert rows["nooffset"].rank == 4 and "no offset reported" in rows["nooffset"].notes
    assert rows["ok"].rank == 5 and rows["ok"].notes == []
    assert "clock class 150: T-GM holdover, out of spec (category 2 frequency source)" in (
        rows["c150"].notes
    )
    assert {140, 150, 160} <= set(CLASS_MEANING)
    assert list(board_rows(answers))[-1].node == "ok"  # worst first, the fine one last


# -- defect 6: nvidia-smi output it never prints --------------------------------------------------
SMI_ROW = ("{index}, GPU-aaa, NVIDIA A100-SXM4-80GB, 535.104.05, 81920, 100, 81820, 5, 0, {t}, "
           "60.5, 400.00, [N/A]")  # fmt: skip


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "NaN"])
def test_nvidia_smi_non_finite_numbers_are_unknown(value: str) -> None:
    from collectors.nvidia_smi import parse_gpus

    (gpu,) = parse_gpus(SMI_ROW.format(index=0, t=value))
    assert gpu.temperature_c is None


@pytest.mark.parametrize("index", ["nan", "inf", "-1", "1e3", "0x1", "1.0", ""])
def test_nvidia_smi_index_and_pid_are_digits_only(index: str) -> None:
    from collectors.nvidia_smi import NvidiaSmiFormatError, parse_compute_apps, parse_gpus

    with pytest.raises(NvidiaSmiFormatError):
        parse_gpus(SMI_ROW.format(index=index, t=40))
    if index:
        with pytest.raises(NvidiaSmiFormatError):
            parse_compute_apps(f"GPU-aaa, {index}, python, 100")


def test_one_nodes_bad_nvidia_smi_output_loses_only_that_node() -> None:
    from aiops_desktop.services.gpu_cnf import gpu_fallback

    class Kube:
        async def list(self, path: str, label_selector: str | None = None) -> Any:
            pods = [{"metadata": {"name": f"drv-{n}"}, "spec": {"nodeName": f"node-{n}"}}
                    for n in "abc"]  # fmt: skip
            return pods, None

        async def exec_read(self, ns: str, pod: str, cmd: list[str], container: str = "") -> str:
            if "--query-gpu" not in cmd[1]:
                return "GPU-aaa, inf, python, 100" if pod == "drv-c" else ""
            return SMI_ROW.format(index="nan" if pod == "drv-b" else 0, t=91)

    nodes = asyncio.run(gpu_fallback.read_fleet_gpus(Kube()))  # type: ignore[arg-type]
    by_node = {n.node: n for n in nodes}
    assert by_node["node-a"].error is None and by_node["node-a"].gpus[0].temperature_c == 91
    assert "index" in (by_node["node-b"].error or "") and by_node["node-b"].gpus == []
    # a process row that does not read is counted, not the node's failure
    assert by_node["node-c"].error is None and by_node["node-c"].gpus[0].temperature_c == 91
    assert "1 row of --query-compute-apps not read" in (by_node["node-c"].note or "")


def test_the_fallback_gives_readings_assessed_like_dcgm_ones() -> None:
    from aiops_desktop.services.gpu_cnf.gpu_fallback import NodeGpus, node_readings
    from collectors.nvidia_smi import parse_gpus

    nodes = [NodeGpus("node-a", "ns/drv-a", parse_gpus(SMI_ROW.format(index=3, t=91))),
             NodeGpus("node-b", "ns/drv-b", error="403 forbidden")]  # fmt: skip
    readings, failed = node_readings("smi-1", nodes)
    (reading,) = readings
    assert (reading.key, reading.model, reading.temperature_c) == (
        "smi-1/node-a/gpu3",
        "NVIDIA A100-SXM4-80GB",
        91.0,
    )
    assert reading.mem_total_mib == 81920 and reading.util_pct == 5
    assert assess(reading, xid_table()).state is GpuState.CRITICAL
    assert [(o.cluster, o.ok, o.error) for o in failed] == [
        ("smi-1", False, "nvidia-smi on node-b: 403 forbidden")
    ]


# -- defect 7: XIDs -------------------------------------------------------------------------------
def test_the_xid_table_knows_140_and_154_as_critical() -> None:
    table = xid_table()
    for code in (140, 154):
        assert table[code].severity is GpuState.CRITICAL and table[code].action


def test_a_critical_xid_is_not_hidden_by_a_later_mild_one() -> None:
    """xid_test.yml's story: XID 48 at 10:01, then 43 at 10:03; the gauge now says 43."""
    answers = {
        "xid": [tagged("c", HOT, 43)],
        "recent_xids": [tagged("c", HOT, 48, 48, 43, 43, 43, step=60)],
        "temperature_c": [tagged("c", HOT, 40)],
    }
    (reading,) = join_readings(answers)
    assert reading.xid == 43 and reading.recent_xids == [48, 43]
    health = assess(reading, xid_table())
    assert health.state is GpuState.CRITICAL
    assert (
        health.reasons[0].startswith("XID 48 Double-bit ECC error")
        or "XID 48" in (health.reasons[0])
    )
    assert health.reasons[0].endswith("(seen in the last hour; the last XID is 43)")
    assert any(r.startswith("XID 43 ") for r in health.reasons)


def test_the_xid_window_is_read_over_the_last_hour() -> None:
    from aiops_desktop.services.gpu_cnf.gpu import gpu_queries

    assert gpu_queries()["recent_xids"] == "(DCGM_FI_DEV_XID_ERRORS > 0)[1h:15s]"


@pytest.mark.integration
def test_prometheus_keeps_a_critical_xid_in_the_window_for_an_hour(tmp_path: Path) -> None:
    """The catalog's own query, evaluated by Prometheus' rule tester: XID 48 at 10:01, then
    43 at 10:03 (xid_test.yml): both in the window at 10:05; 48 gone an hour later."""
    from aiops_desktop.services.gpu_cnf.gpu import gpu_queries
    from tests.conftest import require_binary

    window = gpu_queries()["recent_xids"]
    gpu = {"Hostname": "n1", "gpu": "0", "UUID": "GPU-a"}
    labels = "{" + ",".join(f'{k}="{v}"' for k, v in gpu.items()) + "}"

    def expect(how: str, at: str, value: int) -> dict[str, Any]:
        return {"expr": f"{how}_over_time({window})", "eval_time": at,
                "exp_samples": [{"labels": labels, "value": value}]}  # fmt: skip

    quiet = 'DCGM_FI_DEV_XID_ERRORS{Hostname="n2"}'  # no XID: nothing in the window
    series = [{"series": f"DCGM_FI_DEV_XID_ERRORS{labels}", "values": "0 48 48 43 43 43"},
              {"series": quiet, "values": "0 0 0 0 0 0"}]  # fmt: skip
    tests = [expect("max", "5m", 48), expect("min", "5m", 43), expect("max", "64m", 43)]
    spec = tmp_path / "xid.yml"  # JSON is YAML
    spec.write_text(json.dumps({"tests": [{"interval": "1m", "input_series": series,
                                           "promql_expr_test": tests}]}))  # fmt: skip
    done = subprocess.run([require_binary("promtool"), "test", "rules", str(spec)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_capture_without_the_xid_window_is_noted_not_failed() -> None:
    from aiops_desktop.models.metrics import ClusterOutcome

    class Recorded:
        async def run(self, query: MetricQuery, clusters: list[Any]) -> Any:
            if query.promql.startswith("(DCGM_FI_DEV_XID_ERRORS"):
                why = "ran-east: this query was not recorded"
                failed = [
                    ClusterOutcome("ran-east", False, 0.0, reason="not_configured", error=why)
                ]
                return types.SimpleNamespace(
                    series=[], failures=failed, outcomes=failed, query=query
                )
            found = [tagged("ran-east", HOT, 79 if "XID" in query.promql else 40)]
            return types.SimpleNamespace(series=found, failures=[], outcomes=[], query=query)

    fleet = asyncio.run(read_gpu_fleet(Recorded(), []))  # type: ignore[arg-type]
    assert fleet.outcomes == [] and fleet.gpus[0].state is GpuState.CRITICAL  # XID 79 still
    assert fleet.notes == ["ran-east: only the last XID (the last hour's were not recorded)"]


# -- defect 8: a dual-NIC boundary clock's per-config process status ----------------------------
@pytest.mark.parametrize("reverse", [False, True])
def test_one_ptp4l_of_two_down_is_said_on_every_port_with_its_config(reverse: bool) -> None:
    def port(iface: str) -> dict[str, str]:
        return {"node": "du-1", "iface": iface, "process": "ptp4l"}

    def config(name: str) -> dict[str, str]:
        return {"node": "du-1", "process": "ptp4l", "config": name}

    status = [tagged("c", config("ptp4l.1.config"), 0), tagged("c", config("ptp4l.0.config"), 1)]
    restarts = [tagged("c", config("ptp4l.1.config"), 57),
                tagged("c", config("ptp4l.0.config"), 0)]  # fmt: skip
    if reverse:  # as Prometheus sorts them by labels: the order must not matter
        status.reverse()
        restarts.reverse()
    answers = {
        "clock_state": [tagged("c", port("ens1f0"), 1), tagged("c", port("ens2f0"), 1)],
        "offset": [tagged("c", port("ens1f0"), 4), tagged("c", port("ens2f0"), 6)],
        "process_status": status,
        "restarts": restarts,
    }
    rows = board_rows(answers)
    assert [(r.iface, r.process_up, r.restarts) for r in rows] == [
        ("ens1f0", False, 56.0), ("ens2f0", False, 56.0),
    ]  # fmt: skip
    assert all("ptp4l is down (ptp4l.1.config)" in r.notes and r.needs_attention for r in rows)
    status[0 if not reverse else 1] = tagged("c", config("ptp4l.1.config"), 1)
    assert all(r.process_up is True for r in board_rows(answers))


# -- defect 9: compliance over the window, gaps unknown, holdovers at the step's resolution -----
def test_compliance_is_over_the_window_and_missing_time_is_unknown() -> None:
    from aiops_desktop.services.gpu_cnf.ptp import _attach_compliance

    port = {"node": "n1", "iface": "ens1f0", "process": "ptp4l"}
    end = 1500.0 + 15 * 239  # a whole number of steps, as range queries align them
    states = tagged("c", port, 1, 1, 1, 1, t0=1500.0)  # the first minute, then silence
    rows = board_rows({"clock_state": [states], "offset": [tagged("c", port, 5)]})
    offsets = [tagged("c", port, 5, 5, 5, 5, t0=1500.0)]
    _attach_compliance(rows, [states], offsets, 15.0, end_s=end, window_s=3600.0)
    c = rows[0].compliance
    assert c is not None and (c.steps, c.samples) == (240, 4)
    assert c.locked_pct == pytest.approx(100 * 4 / 240)
    assert c.within_pct == pytest.approx(100 * 4 / 240)
    assert c.coverage_pct == pytest.approx(100 * 4 / 240) and c.unknown_s == 236 * 15


def test_a_board_read_over_an_hour_with_a_minute_of_samples_is_mostly_unknown() -> None:
    from datetime import UTC, datetime, timedelta

    end = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    start = end.timestamp() - 3600 + 15
    port = {"node": "n1", "iface": "ens1f0", "process": "ptp4l"}

    class Sparse:
        async def run(self, query: MetricQuery, clusters: list[Any]) -> Any:
            if query.promql not in ("openshift_ptp_clock_state", "openshift_ptp_offset_ns"):
                return types.SimpleNamespace(series=[], failures=[], outcomes=[], query=query)
            if query.query_type.value.lower().startswith("range"):
                return types.SimpleNamespace(
                    series=[tagged("c", port, 1, 1, 1, 1, t0=start)],
                    failures=[],
                    outcomes=[],
                    query=query,
                )
            return types.SimpleNamespace(
                series=[tagged("c", port, 1)], failures=[], outcomes=[], query=query
            )

    board = asyncio.run(read_ptp_board(Sparse(), [], window=timedelta(hours=1), end=end))  # type: ignore[arg-type]
    c = board.rows[0].compliance
    assert c is not None and c.steps == 240 and c.samples == 4
    assert c.locked_pct == pytest.approx(100 * 4 / 240)


def test_one_holdover_sample_is_not_called_long_but_unsure_at_the_step() -> None:
    from analysis.ptp_compliance import compliance

    one = compliance(np.array([1, 1, 2, 1, 1.0]), np.array([3, 3, 3, 3, 3.0]), 15.0)
    assert (one.long_holdovers, one.unsure_holdovers, one.resolution_s) == (0, 1, 15.0)
    three = compliance(np.array([1, 2, 2, 2, 1.0]), np.array([]), 15.0)
    assert (three.long_holdovers, three.unsure_holdovers) == (1, 0)  # 30 s at least
    gap = compliance(np.array([2, np.nan, 2.0]), np.array([]), 15.0)
    assert gap.long_holdovers == 0 and gap.unsure_holdovers == 2  # a gap ends an episode


# -- defect 10: one entity's history split across series --------------------------------------
def test_a_gpus_history_joins_the_series_of_each_pod_that_held_it() -> None:
    from datetime import UTC, datetime

    from aiops_desktop.services.gpu_cnf.gpu import read_gpu_history

    t = 1_700_000_000.0
    gpu = {"UUID": "GPU-a", "gpu": "0", "Hostname": "n1", "namespace": "ml"}
    a = tagged("c1", gpu | {"pod": "train-a"}, *[10.0] * 60, t0=t, step=30)
    b = tagged("c1", gpu | {"pod": "train-b"}, *[99.0] * 60, t0=t + 1800, step=30)

    class Both:
        async def run(self, query: MetricQuery, clusters: list[Any]) -> Any:
            return types.SimpleNamespace(series=[b, a], failures=[], outcomes=[], query=query)

    reading = GpuReading("c1", "n1", "0", "GPU-a")
    history = asyncio.run(read_gpu_history(Both(), [], reading,  # type: ignore[arg-type]
                                           end=datetime.fromtimestamp(t + 3600, UTC)))  # fmt: skip
    times, values = history.series["util_pct"]
    assert times.size == 120 and np.all(np.diff(times) > 0)
    assert set(values[:60]) == {10.0} and set(values[60:]) == {99.0}


def test_a_ports_compliance_and_state_join_the_daemons_pods() -> None:
    from aiops_desktop.services.gpu_cnf.ptp import _attach_compliance

    t = 1_700_000_100.0  # a whole number of 15 s steps, as range queries align them

    def port(pod: str) -> dict[str, str]:
        return {"node": "n1", "iface": "ens1f0", "process": "ptp4l", "pod": pod}

    old = tagged("c", port("linuxptp-daemon-old"), *[1] * 80, t0=t)  # 20 min LOCKED
    new = tagged("c", port("linuxptp-daemon-new"), *[0] * 160, t0=t + 1200)  # then FREERUN
    now_old = tagged("c", port("linuxptp-daemon-old"), 1, t0=t + 1185)
    now_new = tagged("c", port("linuxptp-daemon-new"), 0, t0=t + 3585)
    rows = board_rows({"clock_state": [now_new, now_old]})  # listed by labels: new first
    assert rows[0].state is ClockState.FREERUN  # the newest sample, not the last listed
    _attach_compliance(rows, [new, old], [], 15.0, end_s=t + 3585, window_s=3600)
    c = rows[0].compliance
    assert c is not None and c.samples == 240
    assert c.locked_pct == pytest.approx(100 / 3) and c.freerun_s == 2400


@pytest.mark.asyncio
async def test_one_malformed_alert_leaves_the_others_and_a_suppressed_one_is_left_out() -> None:
    """A non-standard Alertmanager: one malformed alert rejected the cluster's whole list, and
    a silenced one (state "suppressed") read as firing though none was asked for."""
    from collectors.alertmanager import AlertmanagerClient
    from collectors.errors import CollectorBadResponse

    def alert(name: str, state: str = "active") -> dict[str, object]:
        return {"fingerprint": name, "labels": {"alertname": name, "severity": "critical"},
                "status": {"state": state}, "startsAt": "2026-12-05T10:00:00Z"}  # fmt: skip

    class Answers:
        name = "odd-am"

        def __init__(self, payload: list[object]) -> None:
            self.payload = payload

        async def get_json(self, path: str, params: dict[str, str]) -> list[object]:
            return self.payload

    payload = [alert("PtpClockFreerun"), {"fingerprint": 7}, alert("Silenced", "suppressed")]
    found = await AlertmanagerClient(Answers(payload)).alerts("east")  # type: ignore[arg-type]
    assert [a.name for a in found] == ["PtpClockFreerun"]
    with pytest.raises(CollectorBadResponse, match="odd-am"):  # nothing readable at all
        await AlertmanagerClient(Answers([{"x": 1}])).alerts("east")  # type: ignore[arg-type]


def test_nvidia_smi_readings_are_reused_for_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fleet's truth and the GPU page both read GPUs every 30-60 s: nvidia-smi (two execs
    into every GPU node) runs once a minute per cluster, not at every read; a failed read is
    not kept."""
    from aiops_desktop.services.gpu_cnf import gpu_fallback
    from aiops_desktop.services.kube import session as session_module

    execs: list[str] = []
    failing = [True]

    async def fleet_gpus(client: object) -> list[gpu_fallback.NodeGpus]:
        execs.append(str(client))
        if failing[0]:
            raise KubeForbidden("pods/exec is forbidden")
        return [gpu_fallback.NodeGpus(node="gpu-0", pod="nvidia-gpu-operator/driver-0")]

    class Registry:
        def get(self, name: str) -> str:
            return name

    class Pool:
        async def kube(self, cluster: str) -> str:
            return f"client of {cluster}"

    now = [1000.0]
    monkeypatch.setattr(session_module, "read_fleet_gpus", fleet_gpus)
    monkeypatch.setattr(session_module.time, "monotonic", lambda: now[0])
    kube = session_module.KubeSession(Registry(), Pool(), None, None)  # type: ignore[arg-type]
    with pytest.raises(KubeForbidden):
        asyncio.run(kube.gpus_by_exec("smi-1"))
    failing[0] = False
    first = asyncio.run(kube.gpus_by_exec("smi-1"))  # the failure was not kept: asked again
    now[0] += 59.0
    assert asyncio.run(kube.gpus_by_exec("smi-1")) is first
    assert len(execs) == 2
    now[0] += 2.0
    asyncio.run(kube.gpus_by_exec("smi-1"))
    asyncio.run(kube.gpus_by_exec("smi-2"))
    assert execs == ["client of smi-1"] * 3 + ["client of smi-2"]
