"""The fleet's truth keeps each ptp4l port's offset band as its last refresh read it (the
wall judges live offsets by it): a cluster whose PTP read failed keeps its last bands; a
read that has the port no more drops it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.fleet import Domain
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow, Threshold
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.services.fleet.state import PTP_WINDOW
from aiops_desktop.settings import resolve_paths

PROMETHEUS = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}
WIDE = Threshold.symmetric(1500.0)


@pytest_asyncio.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    yield opened
    await opened.shutdown()


def board(*rows: PtpRow) -> PtpBoard:
    return PtpBoard(list(rows), PTP_WINDOW, DEFAULT_THRESHOLD, [])


@pytest.mark.asyncio
async def test_a_clusters_ptp_bands_are_kept_while_its_ptp_read_fails(core: Core) -> None:
    for name in ("ran-east", "ran-west"):
        await core.registry.add(ClusterSpec(name=name, endpoint_urls=PROMETHEUS))
    ptp4l = PtpRow("ran-east", "du-1", "ens1fx", "ptp4l", ClockState.LOCKED, threshold=WIDE)
    ts2phc = PtpRow("ran-west", "gm-0", "ens2fx", "ts2phc", ClockState.LOCKED, threshold=WIDE)
    core.fleet._note_ptp_bands(board(ptp4l, ts2phc), {})
    assert core.fleet.ptp_bands("ran-east") == {("du-1", "ens1fx"): WIDE}
    assert core.fleet.ptp_bands("ran-west") == {}  # ts2phc's band is not ptp4l's
    core.fleet._note_ptp_bands(board(), {"ran-east": {Domain.PTP: "timed out"}})
    assert core.fleet.ptp_bands("ran-east") == {("du-1", "ens1fx"): WIDE}
    core.fleet._note_ptp_bands(board(), {})  # read, and the port is gone
    assert core.fleet.ptp_bands("ran-east") == {}
