"""A capture's export redacts every series' labels, and a series whose labels, once redacted,
are another's is dropped with its samples (found in review): three pods whose names were each
a secret became one series, yet the manifest still counted three, their samples and chunks
too, and nothing said two were gone. The counts are what the file holds, and the series
dropped so are said wherever the capture is, as those left out for their labels' length are."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.logs import register_secret
from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.errors import EXIT_PARTIAL
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import export_capture
from aiops_desktop.store.capture import read_manifest
from aiops_desktop.store.series import SeriesBatch
from tests.qtfree.cli_runner import call_main

SAID = "2 series left out: redaction made their labels those of another series"


async def _store(core: Core) -> None:
    """A cluster whose cache holds three series told apart only by a pod label whose value is
    a secret the redactor knows (a tenant's access key used as a pod's name), ten minutes of
    each."""
    await core.registry.add(ClusterSpec(
        name="east", endpoint_urls={EndpointKind.ALERTMANAGER: "http://127.0.0.1:9"}
    ))  # fmt: skip
    pods = [f"ak_{secrets.token_urlsafe(24)}" for _ in range(3)]
    for pod in pods:
        register_secret(pod)
    ts = (utcnow().timestamp() - 60 * (10 - np.arange(10))) * 1000
    await asyncio.wrap_future(core.series.append([
        SeriesBatch("east", "container_cpu", {"pod": pod, "namespace": "billing"}, ts,
                    np.ones(10))
        for pod in pods
    ]))  # fmt: skip
    await asyncio.wrap_future(core.series.flush())


#: what a manifest counts of a series: its name there, its table
COUNTED = (("series", "series"), ("samples", "samples_head"), ("chunks", "chunks"))


def _held(path: Path) -> dict[str, int]:
    """The rows of a series the capture at ``path`` holds, as its manifest names them."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            counted: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for counted, table in COUNTED
        }


@pytest.mark.asyncio
async def test_series_redaction_merged_are_taken_off_the_counts_and_said(
    core: Core, tmp_path: Path
) -> None:
    await _store(core)
    out = tmp_path / "site.aiops"
    manifest = await export_capture(core, out, clusters=["east"], since=timedelta(hours=1))
    held = _held(out)
    assert held["series"] == 1
    assert {k: manifest.counts[k] for k in held} == held
    assert manifest.series_merged == 2 and manifest.series_left_out == 0
    assert SAID in manifest.describe()
    assert read_manifest(out).series_merged == 2

    code, said, err = await asyncio.to_thread(
        call_main, tmp_path / "home", "capture", "info", str(out)
    )
    assert code == 0 and SAID in said, err

    cli = tmp_path / "cli.aiops"
    code, said, err = await asyncio.to_thread(
        call_main, tmp_path / "home", "capture", "export", "--clusters", "east", "--since", "1h",
        "--out", str(cli),
    )  # fmt: skip
    assert code == EXIT_PARTIAL and cli.exists(), err
    assert SAID in err
