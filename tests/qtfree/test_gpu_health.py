"""GPU readers and health: DCGM series of a fleet backfilled into a real Prometheus (a fleet hub
splitting by ``cluster``), read by `aiops-desktop gpu`; the XID table and the rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiops_desktop.models.gpu import GpuReading, GpuState
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from analysis.gpu_health import assess
from tests.qtfree.cli_runner import run_cli
from tests.servers.prometheus import RunningPrometheus

COMMON_XIDS = {13, 31, 32, 43, 45, 48, 61, 62, 63, 64, 68, 69, 74, 79, 92, 94, 95, 119, 120}


def test_the_xid_table_covers_the_common_xids_with_an_action() -> None:
    table = xid_table()
    assert set(table) >= COMMON_XIDS
    assert table[79].severity is GpuState.CRITICAL and "fallen off the bus" in table[79].name
    assert all(x.action and x.meaning for x in table.values())


def test_rules_temperature_xid_and_unknowns() -> None:
    table = xid_table()
    warm = assess(GpuReading("c", "n", "0", "u", temperature_c=72), table)
    assert warm.state is GpuState.WARNING and warm.reasons == ["temperature 72 C (warning >= 70 C)"]
    odd = assess(GpuReading("c", "n", "1", "u", xid=999), table)
    # as the anomaly rule grades it (analysis.rules._xid_hit): nothing says it is mild
    assert odd.state is GpuState.CRITICAL and odd.reasons == ["XID 999 (not in the XID table)"]
    blank = assess(GpuReading("c", "n", "2", "u"), table)  # nothing known: not claimed well
    assert blank.state is GpuState.UNKNOWN and not blank.high_utilisation
    assert blank.reasons == ["no temperature and no health counter reported"]
    cool = assess(GpuReading("c", "n", "2", "u", temperature_c=40), table)
    assert cool.state is GpuState.OK and cool.reasons == []
    worn = assess(
        GpuReading("c", "n", "3", "u", sbe_errors=4, nvlink_recovery_1h=1, remap_failure=1,
                   throttle_thermal_pct=9.5, throttle_reliability_pct=12.0),
        table,
    )  # fmt: skip
    assert worn.state is GpuState.CRITICAL
    assert worn.reasons == [
        "row remapping failed: memory errors not contained",
        "1 NVLink recoveries in the last hour",
        "throttled 12% of the last 5 min (reliability limit)",  # thermal 9.5 % is under 10 %
        "4 single-bit ECC errors (corrected; watch growth)",  # a note: after the faults
    ]


@pytest.mark.integration
def test_gpu_command_finds_exactly_the_known_events(
    tmp_path: Path, secret_service, gpu_hub: RunningPrometheus
) -> None:  # type: ignore[no-untyped-def]
    env, home = dict(secret_service.env), tmp_path / "home"
    added = run_cli(home, env, "clusters", "add", "gpu-hub", "--kind", "fleet",
                    "--prometheus-url", gpu_hub.url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    done = run_cli(home, env, "gpu", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    summary = doc["summary"]
    assert (summary["gpus"], summary["nodes"], summary["clusters"]) == (64, 8, 3)  # MIG: one
    assert summary["by_state"] == {"CRITICAL": 2, "WARNING": 3, "OK": 59}
    gpus = doc["gpus"]
    first, second, third, fourth, fifth = gpus[:5]
    assert (first["cluster"], first["node"], first["gpu"]) == ("ran-east", "gpu-0", "5")
    assert first["reasons"] == ["temperature 84 C (critical >= 80 C)"]
    assert (second["node"], second["gpu"], second["xid"]) == ("gpu-1", "3", 79)
    assert second["reasons"][0].startswith("XID 79 GPU has fallen off the bus")
    assert "Drain the node" in second["reasons"][0]
    assert (third["cluster"], third["gpu"], third["state"]) == ("ai-lab", "7", "WARNING")
    assert third["reasons"] == ["2 rows remapped (uncorrectable errors)"]
    assert (fourth["node"], fourth["gpu"]) == ("dgx-1", "4")
    assert fourth["reasons"] == ["12 NVLink CRC errors in the last hour"]  # increase[1h] of +12
    assert (fifth["cluster"], fifth["node"], fifth["gpu"]) == ("ran-west", "gpu-1", "2")
    assert fifth["reasons"] == ["throttled 40% of the last 5 min (power limit)"]
    assert fifth["throttle_power_pct"] == pytest.approx(40.0)
    busy = next(g for g in gpus if g["pods"])
    assert busy["pods"] == ["ml/trainer-0 (pytorch)"] and busy["high_utilisation"]
    assert busy["mem_total_mib"] == 81559 and busy["mem_used_mib"] == 60000
    migs = sorted(g["mig_id"] for g in gpus if g["mig_profile"] == "3g.40gb")
    assert migs == ["1", "2"]
    assert {g["node"]: g["driver"] for g in gpus}["dgx-0"] == "535.183.01"
    assert doc["errors"] == []

    text = run_cli(home, env, "gpu")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0] == "64 GPUs on 8 nodes of 3 clusters: 2 CRITICAL, 59 OK, 3 WARNING"
    assert lines[1].startswith("CRITICAL ran-east/gpu-0/gpu5")
    assert "util 95% (high)" in text.stdout and "pods ml/trainer-0 (pytorch)" in text.stdout
