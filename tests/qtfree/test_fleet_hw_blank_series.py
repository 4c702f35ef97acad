"""The fleet's GPU panels take the highest of a GPU's series (a restarted dcgm-exporter pod
leaves two for a while): a DCGM blank (2147483632, "not supported") in one of them must not
win that max and hide the other's reading. Asked of a real Prometheus, as the poller asks."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aiops_desktop.settings import resources_dir

BLANK = 2147483632.0  # DCGM_INT32_BLANK: dcgm-exporter prints it as it is


def _panels() -> dict[str, str]:
    doc = json.loads((resources_dir() / "queries" / "fleet_hw.json").read_text())
    return {p["id"]: p["promql"] for p in doc["panels"]}


@pytest.mark.integration
def test_a_blank_beside_a_reading_is_not_the_gpus_value(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.servers.fixtures import backfilled

    gpu = {"Hostname": "n1", "gpu": "0", "UUID": "GPU-a"}
    series: list[Any] = [
        ("DCGM_FI_DEV_GPU_TEMP", gpu | {"pod": "dcgm-old"}, lambda _i: 41.0),
        ("DCGM_FI_DEV_GPU_TEMP", gpu | {"pod": "dcgm-new"}, lambda _i: BLANK),
        ("DCGM_FI_DEV_GPU_UTIL", gpu | {"pod": "dcgm-old"}, lambda _i: 97.0),
        ("DCGM_FI_DEV_GPU_UTIL", gpu | {"pod": "dcgm-new"}, lambda _i: BLANK),
        ("DCGM_FI_DEV_XID_ERRORS", gpu | {"pod": "dcgm-old"}, lambda _i: 79.0),
        ("DCGM_FI_DEV_XID_ERRORS", gpu | {"pod": "dcgm-new"}, lambda _i: BLANK),
    ]
    server, _ = backfilled(tmp_path_factory, "prom-dcgm-blank", series, 20, 15, ahead=40)
    try:
        panels = _panels()
        found = {}
        for panel, want in (("gpu_temperature", 41.0), ("gpu_util", 97.0),
                            ("gpu_xid_errors", 79.0)):  # fmt: skip
            answer = httpx.get(f"{server.url}/api/v1/query", params={"query": panels[panel]},
                               timeout=10).json()  # fmt: skip
            (only,) = answer["data"]["result"]
            found[panel] = (float(only["value"][1]), want)
    finally:
        server.stop()
    assert all(got == want for got, want in found.values()), found
