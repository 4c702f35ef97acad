"""Review fixes to the GPU health and its fleet findings: DCGM's XID gauge reads 0 on every GPU
that never had one (no evidence of health); windowed counters split by the pods a GPU had in
the window; MIG instances of one physical GPU; an SR-IOV node whose sync state is unknown."""

from __future__ import annotations

import numpy as np

from aiops_desktop.models.cnf import NodeSync
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.gpu import GpuFleet, GpuState
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.services.fleet.findings import gpu_findings, sriov_findings
from aiops_desktop.services.gpu_cnf.gpu import join_readings, xid_table
from analysis.gpu_health import assess, worst_first

GPU = {"Hostname": "gpu-node-1", "gpu": "0", "UUID": "GPU-aaaa", "modelName": "H100"}


def series(labels: dict[str, str], value: float, cluster: str = "c") -> TaggedSeries:
    return TaggedSeries(cluster, PromSeries(dict(labels), np.array([1000.0]), np.array([value])))


def fleet_of(answers: dict[str, list[TaggedSeries]]) -> GpuFleet:
    return GpuFleet(worst_first([assess(r, xid_table()) for r in join_readings(answers)]), [])


# 1. an XID of 0 says nothing about the GPU being well


def test_a_gpu_with_no_temperature_and_only_xid_0_is_unknown() -> None:
    (reading,) = join_readings({"temperature_c": [series(GPU, float("nan"))],
                                "xid": [series(GPU, 0.0)]})  # fmt: skip
    found = assess(reading, xid_table())
    assert reading.xid == 0 and reading.temperature_c is None
    assert found.state is GpuState.UNKNOWN
    (finding,) = gpu_findings(GpuFleet([found], []))["c"]
    assert finding.severity is FindingSeverity.WARNING


def test_xid_0_beside_a_health_counter_is_still_ok() -> None:
    (reading,) = join_readings({"xid": [series(GPU, 0.0)], "dbe_errors": [series(GPU, 0.0)]})
    assert assess(reading, xid_table()).state is GpuState.OK


# 2. windowed counters split by pod


OLD = GPU | {"namespace": "ml", "pod": "trainer-old", "container": "c"}
NEW = GPU | {"namespace": "ml", "pod": "trainer-new", "container": "c"}


def test_a_counter_split_by_pod_is_summed_and_the_old_pod_is_not_listed() -> None:
    answers = {
        "temperature_c": [series(NEW, 55.0)],
        "pcie_replays_1h": [series(OLD, 500.0), series(NEW, 0.0)],
        "nvlink_crc_1h": [series(OLD, 3.0), series(NEW, 4.0)],
        "throttle_thermal_pct": [series(OLD, 8.0), series(NEW, 7.0)],
    }
    (reading,) = join_readings(answers)
    assert reading.pcie_replays_1h == 500.0
    assert reading.nvlink_crc_1h == 7.0
    # rate() divides each part's increase by the whole window: the parts add up
    assert reading.throttle_thermal_pct == 15.0
    assert reading.pods == ["ml/trainer-new (c)"]
    found = assess(reading, xid_table())
    assert found.state is GpuState.WARNING
    assert "500 PCIe replays in the last hour" in found.reasons


def test_an_idle_gpu_whose_pod_left_keeps_the_replays_and_lists_no_pod() -> None:
    answers = {
        "temperature_c": [series(GPU, 40.0)],
        "pcie_replays_1h": [series(OLD, 500.0), series(GPU, 0.0)],
    }
    (reading,) = join_readings(answers)
    assert reading.pcie_replays_1h == 500.0 and reading.pods == []


def test_copies_of_a_shared_gpu_counter_are_not_added_up() -> None:
    """dcgm-exporter's ``--kubernetes-virtual-gpus`` copies each series to every pod sharing
    the GPU (label ``vgpu``): the copies hold one counter, not one each."""
    a = GPU | {"pod": "a", "namespace": "ml", "vgpu": "0"}
    b = GPU | {"pod": "b", "namespace": "ml", "vgpu": "1"}
    answers = {"temperature_c": [series(a, 50.0), series(b, 50.0)],
               "pcie_replays_1h": [series(a, 6.0), series(b, 6.0)]}  # fmt: skip
    (reading,) = join_readings(answers)
    assert reading.pcie_replays_1h == 6.0
    assert reading.pods == ["ml/a", "ml/b"]


# 3. MIG instances of one physical GPU


def mig(i: int, gpu: str = "0", uuid: str = "GPU-1") -> dict[str, str]:
    return {"Hostname": "dgx-0", "gpu": gpu, "UUID": uuid, "modelName": "A100",
            "GPU_I_PROFILE": "1g.10gb", "GPU_I_ID": str(i)}  # fmt: skip


def test_mig_instances_count_as_one_gpu_and_one_finding() -> None:
    answers = {
        "temperature_c": [series(mig(i), 85.0, "ai-lab") for i in range(7)]
        + [series(mig(0, "1", "GPU-2"), 40.0, "ai-lab")],
        "xid": [series(mig(i), 0.0, "ai-lab") for i in range(7)],
    }
    fleet = fleet_of(answers)
    assert len(fleet.gpus) == 8  # the readings (instances) themselves stay
    summary = fleet.summary()
    assert summary["gpus"] == 2
    assert summary["by_state"] == {"CRITICAL": 1, "OK": 1}
    assert summary["avg_temperature_c"] == 62.5  # (85 + 40) / 2, not weighted x7
    (finding,) = gpu_findings(fleet)["ai-lab"]
    assert finding.severity is FindingSeverity.CRITICAL
    assert finding.subject == "dgx-0/gpu0"
    assert finding.reason.startswith("temperature 85 C (critical >= 80 C)")
    assert "MIG instances 0, 1, 2, 3, 4, 5, 6" in finding.reason


def test_an_instance_only_reason_stays_with_its_instance() -> None:
    answers = {
        "temperature_c": [series(mig(i), 75.0) for i in range(3)],
        "dbe_errors": [series(mig(2), 2.0)],
    }
    findings = gpu_findings(fleet_of(answers))["c"]
    by_subject = {f.subject: f for f in findings}
    assert set(by_subject) == {"dgx-0/gpu0", "dgx-0/gpu0 MIG 2"}
    device = by_subject["dgx-0/gpu0"]
    assert device.severity is FindingSeverity.WARNING
    assert device.reason.startswith("temperature 75 C (warning >= 70 C)")
    instance = by_subject["dgx-0/gpu0 MIG 2"]
    assert instance.severity is FindingSeverity.CRITICAL
    assert instance.reason == "2 double-bit ECC errors"


def test_a_gpu_without_mig_is_one_finding_as_before() -> None:
    findings = gpu_findings(fleet_of({"temperature_c": [series(GPU, 90.0)]}))["c"]
    assert [(f.subject, f.reason) for f in findings] == [
        ("gpu-node-1/gpu0", "temperature 90 C (critical >= 80 C)")
    ]


# 4. SR-IOV sync state unknown


def test_an_sriov_node_with_an_unknown_sync_state_is_a_warning() -> None:
    rows = [NodeSync("du-1", "Unknown", ""), NodeSync("du-2", "Succeeded", ""),
            NodeSync("du-3", "Syncing?", "")]  # fmt: skip
    found = sriov_findings("ran-east", rows)["ran-east"]
    assert [(f.subject, f.severity, f.reason) for f in found] == [
        ("node du-1", FindingSeverity.WARNING, "SR-IOV sync state unknown"),
        ("node du-3", FindingSeverity.WARNING, "SR-IOV sync state unknown"),
    ]
