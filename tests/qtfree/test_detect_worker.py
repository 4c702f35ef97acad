"""Detection in a process of its own (the window's and the wall's), and in a thread when no
process can be had: the same anomalies either way."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from aiops_desktop.models.enums import Sensitivity
from aiops_desktop.services.intelligence.detect_worker import DetectWorker
from analysis.detect import SeriesInput, detect_all


def _spike() -> list[SeriesInput]:
    rng = np.random.default_rng(7)
    ts = np.arange(1200, dtype=float) * 15  # past the detector's probation (750 samples)
    values = 40 + rng.normal(0, 1, 1200)
    values[1000:1006] += 35  # a clear episode
    return [SeriesInput("site-1", "node_cpu", {"instance": "n1"}, ts, values)]


def _pid() -> int:
    return os.getpid()


def test_an_isolated_worker_detects_in_another_process() -> None:
    async def run() -> tuple[int, list[str], list[str]]:
        worker = DetectWorker(isolated=True)
        try:
            pid = await worker.run(_pid)
            found = await worker.run(detect_all, _spike(), Sensitivity.MEDIUM, None, None)
        finally:
            worker.close()
        here = detect_all(_spike(), Sensitivity.MEDIUM, None, None)
        return pid, [a.identity for a in found], [a.identity for a in here]

    pid, there, here = asyncio.run(run())
    assert pid != os.getpid()
    assert there and there == here


def test_a_worker_whose_process_cannot_start_detects_in_a_thread(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_a: object, **_k: object) -> ProcessPoolExecutor:
        raise OSError("no processes here")

    monkeypatch.setattr(
        "aiops_desktop.services.intelligence.detect_worker.ProcessPoolExecutor", refuse
    )

    async def run() -> int:
        worker = DetectWorker(isolated=True)
        try:
            return await worker.run(_pid)
        finally:
            worker.close()

    assert asyncio.run(run()) == os.getpid()
    assert "runs in a thread" in caplog.text
