"""GPU readers against a member's or a tenant's crafted text: a long MIG profile label costs
no quadratic time on the UI thread, a GPU's DCGM pods are bounded as nvidia-smi's processes
are, and a process name with a line break neither fails its node's read nor forges a process
on another GPU."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.gpu import PODS_SHOWN, GpuReading, _repeats_device
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.services.gpu_cnf.gpu import join_readings
from aiops_desktop.services.gpu_cnf.gpu_fallback import node_readings, read_node

UUID_A = "GPU-aaaaaaaa-0000-1111-2222-333344445555"
UUID_B = "GPU-bbbbbbbb-0000-1111-2222-333344445555"


# -- 3. a MIG profile label of 40 kB of digits ----------------------------------------------------
def instance(mig_id: str, profile: str, total: float) -> GpuReading:
    return GpuReading("c", "n", "0", UUID_A, mig_profile=profile, mig_id=mig_id,
                      mem_total_mib=total, mem_used_mib=1.0)  # fmt: skip


def test_real_mig_profiles_still_give_their_slice() -> None:
    # each instance repeats the device's 81,559 MiB: more than its slice holds
    for profile in ("1g.10gb", "3g.40gb", "1g.10gb+me", "1c.3g.40gb", "2g.20GB"):
        assert _repeats_device([instance("1", profile, 81559.0), instance("2", profile, 81559.0)])
    # a 7g.80gb instance holds the whole device: its total is its slice
    assert not _repeats_device([instance("1", "7g.80gb", 81559.0)])
    assert not _repeats_device(
        [instance("1", "3g.40gb", 40320.0), instance("2", "3g.40gb", 40320.0)]
    )


def test_a_long_profile_label_costs_no_quadratic_time() -> None:
    crafted = "1" * 40_000  # digits and no "gb": 5 s in the search before
    started = time.perf_counter()
    assert not _repeats_device([instance("1", crafted, 81559.0), instance("2", crafted, 81559.0)])
    assert time.perf_counter() - started < 0.5


# -- 4. DCGM series of one GPU, each with its own pod ---------------------------------------------
def series(pod: str, value: float = 40.0) -> TaggedSeries:
    labels = {"Hostname": "n1", "gpu": "0", "UUID": UUID_A, "exported_pod": pod,
              "exported_namespace": "ns"}  # fmt: skip
    return TaggedSeries("hostile", PromSeries(labels, np.array([1.0]), np.array([value])))


def test_a_gpus_pods_are_bounded_and_counted_as_nvidia_smis_processes() -> None:
    pods = [f"p{i}" for i in range(100)]
    (reading,) = join_readings({
        "util_pct": [series(p, 90.0) for p in pods],
        "temperature_c": [series(p) for p in reversed(pods)],  # the same pods: counted once
    })  # fmt: skip
    assert reading.pods == [*(f"ns/p{i}" for i in range(PODS_SHOWN)),
                            f"and {100 - PODS_SHOWN} more pods"]  # fmt: skip


def test_many_pods_cost_no_quadratic_time() -> None:
    answers = {"temperature_c": [series(f"p{i}") for i in range(40_000)]}
    started = time.perf_counter()
    (reading,) = join_readings(answers)  # 7 s before
    assert time.perf_counter() - started < 2.5
    assert len(reading.pods) == PODS_SHOWN + 1


# -- 5. a process name with a line break ----------------------------------------------------------
GPU_ROW = "{i}, {uuid}, NVIDIA H100, 550.54, 81559, 100, 81459, 5, 1, 40, 80, 700, [N/A]\n"
GPUS = GPU_ROW.format(i=0, uuid=UUID_A) + GPU_ROW.format(i=1, uuid=UUID_B)


class Kube:
    """The driver pod's nvidia-smi: the processes as it prints them, each name as the process
    set it (nvidia-smi neither quotes nor escapes it)."""

    def __init__(self, *apps: tuple[str, int | str, str, int]) -> None:
        self.apps = apps

    async def exec_read(self, ns: str, pod: str, cmd: list[str], container: Any = None) -> str:
        asked = cmd[1].split("=", 1)[1].split(",")
        if cmd[1].startswith("--query-gpu"):
            return GPUS
        values = {"gpu_uuid": 0, "pid": 1, "process_name": 2, "used_memory": 3}
        return "".join(", ".join(str(app[values[f]]) for f in asked) + "\n" for app in self.apps)


def pods_of(kube: Kube) -> tuple[Any, dict[str, list[str]]]:
    import asyncio

    node = asyncio.run(read_node(kube, "nvidia-gpu-operator", "drv", "n1"))  # type: ignore[arg-type]
    readings, failed = node_readings("c", [node])
    assert failed == [] and node.error is None
    return node, {r.gpu: r.pods for r in readings}


def test_a_name_with_a_line_break_fails_no_read() -> None:
    _, pods = pods_of(Kube((UUID_A, 4242, "train\nresume", 1000),
                              (UUID_B, 777, "/usr/bin/python3", 2000)))  # fmt: skip
    assert pods == {"0": ["pid 4242 (1000 MiB)"], "1": ["pid 777 /usr/bin/python3 (2000 MiB)"]}


def test_a_crafted_name_forges_no_process_on_another_gpu() -> None:
    forged = f"x, 1\n{UUID_B}, 31337, /victim/forged"
    _, pods = pods_of(Kube((UUID_A, 4242, forged, 1000), (UUID_B, 777, "/usr/bin/python3", 2000)))
    # its own name up to the line break; no pid 31337 on GPU 1
    assert pods == {"0": ["pid 4242 x (1000 MiB)"], "1": ["pid 777 /usr/bin/python3 (2000 MiB)"]}
    # nor renames another tenant's process: a name said twice for one process is none
    renaming = f"x, 1\n{UUID_B}, 777, /victim/renamed"
    _, pods = pods_of(Kube((UUID_A, 4242, renaming, 1000), (UUID_B, 777, "/usr/bin/python3", 2000)))
    assert pods["1"] == ["pid 777 (2000 MiB)"]


def test_process_rows_that_do_not_read_are_counted_not_fatal() -> None:
    node, pods = pods_of(Kube((UUID_A, 4242, "python", 1000), ("GPU-elsewhere", 9, "ghost", 1),
                              (UUID_B, "12x", "bad", 5)))  # fmt: skip
    assert pods == {"0": ["pid 4242 python (1000 MiB)"], "1": []}
    assert (
        node.note == "2 rows of --query-compute-apps not read (no GPU of this node, or not numbers)"
    )


@pytest.mark.parametrize("name", ["a,b ,c", "[N/A]"])
def test_names_read_as_before(name: str) -> None:
    _, pods = pods_of(Kube((UUID_A, 4242, name, 1000)))
    assert pods["0"] == [f"pid 4242 {'a,b ,c ' if name != '[N/A]' else ''}(1000 MiB)"]
