"""A GPU or PTP answer that may not be all (a Thanos partial response: a store not read) is
said beside the figures, and the commands exit 3 (partial), as ``query`` does: they exited 0
and said nothing, the GPUs or ports of the store not read simply missing."""

from __future__ import annotations

import numpy as np
import pytest

from aiops_desktop.cli.gpu_cnf import _reader_exit
from aiops_desktop.models.errors import EXIT_OK, EXIT_PARTIAL
from aiops_desktop.models.metrics import PromSeries
from aiops_desktop.services.gpu_cnf.gpu import read_gpu_fleet
from aiops_desktop.services.gpu_cnf.ptp import read_ptp_board
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from collectors.prometheus import PromResult
from tests.qtfree.test_query_review_fixes import (
    PROMQL_INFO,
    T0,
    THANOS_PARTIAL,
    _cluster,
    _Pool,
    _Prom,
)


def _engine(warnings: list[str]) -> MultiClusterQuery:
    series = PromSeries({"Hostname": "gpu-node-0", "gpu": "0", "UUID": "GPU-5f1c"},
                        np.array([T0]), np.array([41.0]))  # fmt: skip
    return MultiClusterQuery(_Pool({"east-1": _Prom(PromResult("vector", [series], warnings))}))  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_gpu_answer_read_in_part_is_said_and_exits_partial() -> None:
    fleet = await read_gpu_fleet(_engine([THANOS_PARTIAL]), [_cluster("east-1")])
    assert fleet.in_part == [f"east-1: read in part: {THANOS_PARTIAL}"]
    assert fleet.in_part[0] in fleet.notes  # the GPU page shows its notes
    assert not fleet.outcomes  # answered: no cluster that could not be read
    code = _reader_exit([], found=True, clusters=[_cluster("east-1")], outcomes=[],
                        in_part=fleet.in_part)  # fmt: skip
    assert code == EXIT_PARTIAL  # was 0


@pytest.mark.asyncio
async def test_prometheus_own_annotation_is_no_answer_in_part() -> None:
    fleet = await read_gpu_fleet(_engine([PROMQL_INFO]), [_cluster("east-1")])
    assert fleet.in_part == []
    code = _reader_exit([], found=True, clusters=[_cluster("east-1")], outcomes=[],
                        in_part=fleet.in_part)  # fmt: skip
    assert code == EXIT_OK


@pytest.mark.asyncio
async def test_a_ptp_answer_read_in_part_is_said() -> None:
    board = await read_ptp_board(_engine([THANOS_PARTIAL]), [_cluster("east-1")])
    assert board.in_part == [f"east-1: read in part: {THANOS_PARTIAL}"]
    assert not board.outcomes
