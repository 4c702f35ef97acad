"""A days-old XID no longer marks its GPU CRITICAL: DCGM's XID gauge keeps its last code until
the exporter restarts, so the last XID alone cannot say when it happened. The XID window
(the last hour) can: a code the gauge has held at every step of it was set before it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.gpu import GpuState
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.services.gpu_cnf.gpu import join_readings, xid_table
from analysis.gpu_health import assess
from tests.qtfree.cli_runner import run_cli

GPU = {"Hostname": "n1", "gpu": "0", "UUID": "GPU-a"}
T0 = 1_000_000.0


def window(*runs: tuple[float, int], start: float = T0, step: float = 15.0) -> TaggedSeries:
    """The XID window's answer: (value, steps) runs; a value of 0 is no sample (``> 0``)."""
    ts, values, t = [], [], start
    for value, steps in runs:
        for _ in range(steps):
            if value:
                ts.append(t)
                values.append(value)
            t += step
    return TaggedSeries("c", PromSeries(dict(GPU), np.array(ts), np.array(values)))


def instant(value: float) -> TaggedSeries:
    return TaggedSeries("c", PromSeries(dict(GPU), np.array([T0 + 3600]), np.array([value])))


def health(recent: list[TaggedSeries], **fields: float) -> Any:
    answers = {"xid": [instant(79)], "recent_xids": recent}
    answers |= {name: [instant(v)] for name, v in fields.items()}
    (reading,) = join_readings(answers)
    return assess(reading, xid_table())


def test_an_xid_held_over_the_whole_window_on_a_gpu_that_answers_is_a_warning() -> None:
    found = health([window((79, 241))], temperature_c=41)  # Prometheus 2: 241 steps an hour
    assert found.state is GpuState.WARNING
    assert found.reasons[0].startswith("XID 79 GPU has fallen off the bus")
    assert "held since before the last hour" in found.reasons[0]
    left_open = health([window((79, 240), start=T0 + 15)], util_pct=3)  # Prometheus 3: 240
    assert left_open.state is GpuState.WARNING


def test_an_xid_set_inside_the_window_is_critical() -> None:
    assert health([window((0, 160), (79, 81))], temperature_c=41).state is GpuState.CRITICAL
    assert health([window((48, 100), (79, 141))], temperature_c=41).state is GpuState.CRITICAL
    gone_and_back = window((79, 100), (0, 10), (79, 131))  # a hole: it went to 0 and back
    assert health([gone_and_back], temperature_c=41).state is GpuState.CRITICAL


def test_a_gpus_series_split_by_pod_are_one_gauge() -> None:
    """The gauge is the GPU's; a new pod holding the GPU begins a series, the gauge did not
    change (review D3: a pod change read a days-old XID as new, dated the window's start).
    A missed scrape (a hole of up to 60 s) is no change either."""
    other_pod = window((0, 200), (79, 41))
    assert health([window((79, 241)), other_pod], temperature_c=41).state is GpuState.WARNING
    moved = [window((79, 120)), window((0, 120), (79, 121))]  # the pod changed half-way
    assert health(moved, temperature_c=41).state is GpuState.WARNING
    missed = window((79, 150), (0, 3), (79, 88))  # a 30 s scrape failed once: 60 s
    assert health([missed], temperature_c=41).state is GpuState.WARNING
    new = [window((0, 160), (79, 81)), window((0, 200), (79, 41))]  # it came at step 160
    assert health(new, temperature_c=41).state is GpuState.CRITICAL


def test_an_old_xid_stays_critical_while_the_gpu_answers_nothing_else() -> None:
    found = health([window((79, 241))])  # no temperature, utilisation, power or clock
    assert found.state is GpuState.CRITICAL
    assert "held since before" not in found.reasons[0]


def test_an_unread_window_says_nothing_about_age() -> None:
    assert health([], temperature_c=41).state is GpuState.CRITICAL


def test_counters_a_reset_clears_keep_their_own_finding() -> None:
    found = health([window((79, 241))], temperature_c=41, dbe_errors=2)
    assert found.state is GpuState.CRITICAL
    assert found.reasons[0] == "2 double-bit ECC errors"


@pytest.mark.integration
def test_the_gpu_command_tells_an_old_xid_from_a_new_one_on_a_real_prometheus(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, secret_service: Any
) -> None:
    """Two and a half hours backfilled: GPU 0 has held XID 79 all along, GPU 1 got it 20
    minutes ago; both report their temperature."""
    from tests.servers.fixtures import backfilled

    count, ahead = 600, 40

    def gpu(index: int) -> dict[str, str]:
        return {"Hostname": "n1", "gpu": str(index), "UUID": f"GPU-{index}", "modelName": "H100"}

    series = [
        ("DCGM_FI_DEV_XID_ERRORS", gpu(0), lambda _i: 79.0),
        ("DCGM_FI_DEV_XID_ERRORS", gpu(1), lambda i: 79.0 if i >= count - 80 else 0.0),
        ("DCGM_FI_DEV_GPU_TEMP", gpu(0), lambda _i: 41.0),
        ("DCGM_FI_DEV_GPU_TEMP", gpu(1), lambda _i: 42.0),
    ]
    server, _ = backfilled(tmp_path_factory, "prom-xid-age", series, count, 15, ahead=ahead)
    try:
        env, home = dict(secret_service.env), tmp_path / "home"
        added = run_cli(home, env, "clusters", "add", "lab", "--prometheus-url", server.url)
        assert added.returncode == 0, added.stderr
        done = run_cli(home, env, "gpu", "--json")
        assert done.returncode == 0, done.stderr
        gpus = {g["gpu"]: g for g in json.loads(done.stdout)["gpus"]}
    finally:
        server.stop()
    assert (gpus["1"]["state"], gpus["1"]["xid"]) == ("CRITICAL", 79)
    assert "held since before" not in gpus["1"]["reasons"][0]
    assert (gpus["0"]["state"], gpus["0"]["xid"]) == ("WARNING", 79)
    assert "held since before the last hour" in gpus["0"]["reasons"][0]


def test_the_finding_of_an_xid_inside_the_window_begins_when_it_came() -> None:
    """Its incident then begins with the XID (beside the anomaly the gauge's panel made of
    it), not when the app first read the finding: on a capture, its end, 20 min later."""
    from datetime import UTC, datetime

    from aiops_desktop.models.gpu import GpuFleet
    from aiops_desktop.services.fleet.findings import gpu_findings

    def since(*recent: TaggedSeries) -> datetime | None:
        (finding,) = gpu_findings(GpuFleet([health(list(recent), temperature_c=41)], []))["c"]
        return finding.since

    came = datetime.fromtimestamp(T0 + 160 * 15, UTC)
    assert since(window((0, 160), (79, 81))) == came
    assert since(window((79, 100), (0, 10), (79, 131))) == datetime.fromtimestamp(T0 + 1650, UTC)
    assert since(window((0, 200), (79, 41)), window((0, 160), (79, 81))) == came  # as one gauge
    assert since(window((0, 160), (79, 30)), window((0, 190), (79, 51))) == came  # pod changed
    assert since(window((79, 241))) is None  # held since before the window: not known
