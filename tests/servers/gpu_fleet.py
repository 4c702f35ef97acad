"""A GPU fleet in DCGM exporter series (names and labels as the exporter writes them) with known
events, for backfilling into a real Prometheus that serves as a fleet hub (``cluster`` label).

Three clusters, eight GPU nodes of eight H100s (65 rows: one GPU split in two MIG instances).
Known events: XID 79 on ran-east/gpu-1 GPU 3; 84 C on ran-east/gpu-0 GPU 5; 2 uncorrectable
remapped rows on ai-lab/dgx-0 GPU 7; ran-west/gpu-1 GPU 2 power-throttled 40 % of the time;
12 NVLink CRC errors on ai-lab/dgx-1 GPU 4 half-way through; GPU 0 of ran-east/gpu-0 used by pod
ml/trainer-0 at 95 %; GPU 0 of ai-lab/dgx-0 split into two MIG 3g.40gb instances; ai-lab/dgx-0
left on the previous driver.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from tests.servers.prometheus import SeriesSpec

NODES = {
    ("ran-east", "gpu-0"): 8, ("ran-east", "gpu-1"): 8, ("ran-east", "gpu-2"): 8,
    ("ran-west", "gpu-0"): 8, ("ran-west", "gpu-1"): 8,
    ("ai-lab", "dgx-0"): 8, ("ai-lab", "dgx-1"): 8, ("ai-lab", "dgx-2"): 8,
}  # fmt: skip
STEP_S = 15
THROTTLED = ("ran-west", "gpu-1", 2)
NVLINK_CRC = ("ai-lab", "dgx-1", 4)
MODEL = "NVIDIA H100 80GB HBM3"
FB_TOTAL, FB_RESERVED = 81559.0, 478.0


def const(v: float) -> Callable[[int], float]:
    return lambda _i: v


def _gpu(cluster: str, node: str, gpu: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    labels = {
        "cluster": cluster,
        "Hostname": node,
        "gpu": str(gpu),
        "UUID": f"GPU-{zlib.crc32(f'{cluster}/{node}'.encode()):08x}-{gpu:04d}",
        "pci_bus_id": f"00000000:{0x18 + gpu:02X}:00.0",
        "device": f"nvidia{gpu}",
        "modelName": MODEL,
        # one node left behind at the previous driver: drift
        "DCGM_FI_DRIVER_VERSION": "535.183.01" if node == "dgx-0" else "550.90.07",
    }
    return labels | (extra or {})


def gpu_fleet_series(xid_at: int = 0) -> list[SeriesSpec]:
    """``xid_at``: the sample from which ran-east/gpu-1 GPU 3 reports XID 79 (0 before it:
    the XID window tells an XID that came from one the gauge held all along)."""
    out: list[SeriesSpec] = []
    for (cluster, node), count in NODES.items():
        for gpu in range(count):
            targets: list[dict[str, str]] = [_gpu(cluster, node, gpu)]
            if (cluster, node, gpu) == ("ai-lab", "dgx-0", 0):
                targets = [
                    _gpu(cluster, node, 0, {"GPU_I_PROFILE": "3g.40gb", "GPU_I_ID": str(i)})
                    for i in (1, 2)
                ]
            if (cluster, node, gpu) == ("ran-east", "gpu-0", 0):
                targets = [
                    _gpu(cluster, node, 0,
                         {"pod": "trainer-0", "namespace": "ml", "container": "pytorch"})
                ]  # fmt: skip
            for labels in targets:
                util = 95.0 if "pod" in labels else 10.0 + gpu
                temp = 84.0 if (cluster, node, gpu) == ("ran-east", "gpu-0", 5) else 40.0 + gpu
                xid = 79.0 if (cluster, node, gpu) == ("ran-east", "gpu-1", 3) else 0.0
                rows = 2.0 if (cluster, node, gpu) == ("ai-lab", "dgx-0", 7) else 0.0
                used = 60000.0 if "pod" in labels else 1024.0
                where = (cluster, node, gpu)
                throttled = 0.4e9 * STEP_S if where == THROTTLED else 0.0  # ns per sample
                crc = 12.0 if where == NVLINK_CRC else 0.0
                out += [
                    ("DCGM_FI_DEV_GPU_UTIL", labels, const(util)),
                    ("DCGM_FI_DEV_FB_USED", labels, const(used)),
                    ("DCGM_FI_DEV_FB_FREE", labels, const(FB_TOTAL - FB_RESERVED - used)),
                    ("DCGM_FI_DEV_FB_RESERVED", labels, const(FB_RESERVED)),
                    ("DCGM_FI_DEV_GPU_TEMP", labels, const(temp)),
                    ("DCGM_FI_DEV_POWER_USAGE", labels, const(120.0 + 5 * gpu)),
                    ("DCGM_FI_DEV_SM_CLOCK", labels, const(1980.0)),
                    ("DCGM_FI_DEV_MEM_CLOCK", labels, const(2619.0)),
                    ("DCGM_FI_DEV_XID_ERRORS", labels,
                     lambda i, x=xid: x if i >= xid_at else 0.0),
                    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", labels, const(0.0)),
                    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", labels, const(rows)),
                    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", labels, const(0.0)),
                    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", labels, const(0.0)),
                    ("DCGM_FI_DEV_POWER_VIOLATION", labels, lambda i, t=throttled: t * i),
                    ("DCGM_FI_DEV_THERMAL_VIOLATION", labels, const(0.0)),
                    ("DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", labels,
                     lambda i, c=crc: c if i >= 20 else 0.0),
                ]  # fmt: skip
    return out
