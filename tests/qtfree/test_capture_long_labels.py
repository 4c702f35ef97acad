"""The poller stores label values of any length, a capture holds them up to its bound (found in
review): one series with a 5,000-character label value refused the whole export ("the labels
of series 1 are not a set of names"), so one tenant's series blocked its site's capture with
no way around it. The export leaves out only the series an open would refuse, counts them in
the manifest and says so; an open still refuses a crafted capture holding one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.errors import EXIT_PARTIAL
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import CaptureError, export_capture, open_capture
from aiops_desktop.store.capture import read_manifest
from aiops_desktop.store.series import SeriesBatch
from tests.qtfree.cli_runner import call_main

NORMAL = {"instance": "db:9100", "tenant": "acme"}


async def _store(core: Core, length: int) -> None:
    """A cluster whose cache holds one normal series and one whose label value is ``length``
    characters (a tenant's annotation copied into a label), ten minutes of each."""
    # its Alertmanager alone: an export records nothing live, so all it says is of the cache
    alerts = {EndpointKind.ALERTMANAGER: "http://127.0.0.1:9"}
    await core.registry.add(ClusterSpec(name="east", endpoint_urls=alerts))
    long = {"instance": "db:9101", "tenant": "globex", "annotation": "rack-7;" * (length // 7)}
    ts = (utcnow().timestamp() - 60 * (10 - np.arange(10))) * 1000
    batches = [
        SeriesBatch("east", "node_cpu", labels, ts, np.ones(10)) for labels in (NORMAL, long)
    ]
    await asyncio.wrap_future(core.series.append(batches))
    await asyncio.wrap_future(core.series.flush())


@pytest.mark.asyncio
@pytest.mark.parametrize("length", [5_000, 20_000])  # over a label's bound; over a series row's
async def test_a_series_with_a_longer_label_is_left_out_not_the_export(
    core: Core, tmp_path: Path, length: int
) -> None:
    await _store(core, length)
    out = tmp_path / "site.aiops"
    manifest = await export_capture(core, out, clusters=["east"], since=timedelta(hours=1))
    assert manifest.series_left_out == 1 and manifest.counts["series"] == 1
    assert manifest.counts["samples"] + manifest.counts["chunks"] > 0
    assert read_manifest(out).series_left_out == 1
    assert "1 series left out" in manifest.describe()
    opened = await asyncio.to_thread(open_capture, out)
    try:
        shown = await asyncio.to_thread(opened.series.read, "node_cpu", cluster="east")
    finally:
        await opened.shutdown()
    assert [s.labels for s in shown] == [NORMAL] and shown[0].timestamps_ms.size == 10

    cli = tmp_path / "cli.aiops"
    code, said, err = await asyncio.to_thread(
        call_main, tmp_path / "home", "capture", "export", "--clusters", "east", "--since", "1h",
        "--out", str(cli), "--json",
    )  # fmt: skip
    assert code == EXIT_PARTIAL and cli.exists(), err
    assert "1 series left out: their labels are longer than a capture holds" in err
    assert json.loads(said)["series_left_out"] == 1


@pytest.mark.asyncio
async def test_a_crafted_capture_holding_a_longer_label_is_still_refused(
    core: Core, tmp_path: Path
) -> None:
    await _store(core, 5_000)
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=1))
    with contextlib.closing(sqlite3.connect(out)) as conn, conn:
        conn.execute(
            "INSERT INTO series (id, cluster, metric, labels) VALUES (999, 'east', 'node_cpu', ?)",
            (json.dumps({"annotation": "x" * 5_000}),),
        )
    with pytest.raises(CaptureError, match="the labels of series 999 are not a set of names"):
        await asyncio.to_thread(open_capture, out)


@pytest.mark.asyncio
async def test_capture_info_says_the_series_left_out(core: Core, tmp_path: Path) -> None:
    """`capture info` printed the manifest without them: a partial capture looked whole."""
    await _store(core, 5_000)
    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=1))
    code, said, err = await asyncio.to_thread(
        call_main, tmp_path / "home", "capture", "info", str(out)
    )
    assert code == 0, err
    assert "1 series left out: their labels are longer than a capture holds" in said
